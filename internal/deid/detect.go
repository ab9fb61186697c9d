package deid

import (
	"bytes"
	"cmp"
	"regexp"
	"slices"
	"unsafe"
)

// FindAll returns the identifiers found in s, in order, without overlaps:
// every match of the kinds the package detects in free text (see the
// package documentation for the rules). A nil cfg means [DefaultConfig].
// Patterns in cfg.MRNPatterns that do not compile are ignored here; use
// [Config.Validate] to report them.
//
// FindAll compiles cfg's patterns once and caches them; the scans and
// recipes use the same matcher without the cache lookup.
func FindAll(s string, cfg *Config) []Match {
	if len(s) == 0 {
		return nil
	}
	f := finderFor(cfg)
	defer f.release()
	// The finder only reads its input, so it may read the string's bytes.
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	ms := f.find(b, f.out[:0])
	f.out = ms
	if len(ms) == 0 {
		return nil
	}
	out := make([]Match, len(ms))
	for i, m := range ms {
		out[i] = Match{Kind: kindByIndex[m.kind], Start: int(m.start), End: int(m.end)}
	}
	return out
}

// mrnMatcher is one compiled MRN pattern. prefix, when set, is a literal
// every match starts with: a cell without it is not searched, which keeps
// the regexp engine out of the hot path.
type mrnMatcher struct {
	re     *regexp.Regexp
	prefix []byte
	// defaultShape marks the default pattern, matched by hand.
	defaultShape bool
}

// find appends the matches of m in s to out.
func (m *mrnMatcher) find(s []byte, out []match) []match {
	if len(m.prefix) > 0 && bytes.Index(s, m.prefix) < 0 {
		return out
	}
	if m.defaultShape {
		return findDefaultMRN(s, out)
	}
	off := 0
	for off <= len(s) {
		loc := m.re.FindIndex(s[off:])
		if loc == nil {
			break
		}
		start, end := off+loc[0], off+loc[1]
		if end > start {
			out = append(out, mk(kMRN, start, end))
			off = end
		} else {
			off = end + 1
		}
	}
	return out
}

// defaultMRNPattern is the MRN pattern of [DefaultConfig].
const defaultMRNPattern = `\bMRN[-: ]?\d{6,10}\b`

// isASCIIWord is RE2's \w: [0-9A-Za-z_].
func isASCIIWord(c byte) bool { return isDigit(c) || isLetter(c) || c == '_' }

// findDefaultMRN matches defaultMRNPattern exactly as the regexp engine
// would, without it: "MRN" not preceded by a word character, an optional
// '-', ':' or ' ', then a run of six to ten digits not followed by a word
// character (a longer run cannot end at a word boundary).
func findDefaultMRN(s []byte, out []match) []match {
	off := 0
	for {
		k := bytes.Index(s[off:], []byte("MRN"))
		if k < 0 {
			return out
		}
		start := off + k
		off = start + 1
		if start > 0 && isASCIIWord(s[start-1]) {
			continue
		}
		j := start + 3
		if j < len(s) && (s[j] == '-' || s[j] == ':' || s[j] == ' ') {
			j++
		}
		e := j
		for e < len(s) && isDigit(s[e]) {
			e++
		}
		if n := e - j; n < 6 || n > 10 || e < len(s) && isASCIIWord(s[e]) {
			continue
		}
		out = append(out, mk(kMRN, start, e))
		off = e
	}
}

// Byte classes for the scanner.
const (
	cOther uint8 = iota
	cSpace
	cDigit
	cUpper
	cLower
	cHigh // a byte of a multi-byte UTF-8 sequence: part of a word
	cPlus
	cParen
	cUnderscore
)

var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= '0' && c <= '9':
			t[c] = cDigit
		case c >= 'A' && c <= 'Z':
			t[c] = cUpper
		case c >= 'a' && c <= 'z':
			t[c] = cLower
		case c >= 0x80:
			t[c] = cHigh
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			t[c] = cSpace
		case c == '+':
			t[c] = cPlus
		case c == '(':
			t[c] = cParen
		case c == '_':
			t[c] = cUnderscore
		}
	}
	return t
}()

// isWordByte reports whether c continues a word: a letter, a digit, an
// underscore or part of a non-ASCII character.
func isWordByte(c byte) bool {
	switch byteClass[c] {
	case cDigit, cUpper, cLower, cHigh, cUnderscore:
		return true
	}
	return false
}

// skipWord returns the end of the word that starts at i.
func skipWord(s []byte, i int) int {
	for i < len(s) && isWordByte(s[i]) {
		i++
	}
	return i
}

// Features of a text that decide which searches run.
const (
	fAt    uint8 = 1 << iota // '@': perhaps an email
	fColon                   // ':': perhaps an IPv6 address
	fMRN                     // the first byte of an MRN pattern's literal prefix
	fStart                   // a digit, capital, '+' or '(': the main pass has work
	fSpace                   // a space
)

// shortText is the length up to which find reads a text byte by byte for
// its features rather than search it.
const shortText = 48

// featureOf maps a byte to its features but fMRN, which depends on the
// MRN patterns (see mrnFeatures).
var featureOf = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c == '+', c == '(':
			t[c] |= fStart
		case c == '@':
			t[c] |= fAt
		case c == ':':
			t[c] |= fColon
		case c == ' ':
			t[c] |= fSpace
		}
	}
	return t
}()

// mrnFeatures returns featureOf with fMRN for the bytes that may start an
// MRN match.
func mrnFeatures(mrn []mrnMatcher) *[256]uint8 {
	t := featureOf
	for _, m := range mrn {
		for c := range 256 {
			if len(m.prefix) == 0 || m.prefix[0] == byte(c) {
				t[c] |= fMRN
			}
		}
	}
	return &t
}

// finder finds identifiers in text. It keeps scratch space between calls
// and is not safe for concurrent use.
type finder struct {
	mrn []mrnMatcher
	// features is featureOf with fMRN added for the first bytes of the
	// MRN patterns' literal prefixes, or for every byte if a pattern has
	// none.
	features *[256]uint8
	feat     uint8
	pre      []match
	out      []match
	dig      [40]byte
	chunk    chunk
	pool     *compiled // where release returns it; nil for a finder owned by a scan
}

// find appends to out the identifiers in s, in order and without overlaps.
//
// Kinds that are rare and have an unmistakable marker are found first, each
// by a search for the marker: emails ('@'), IPv6 addresses (':') and MRN
// patterns (their literal prefix). Then one pass over the bytes visits the
// start of each word: digit runs (with '+' or '(' before them) are split
// into groups and tried as cards, NHS numbers, SSNs, IPv4 addresses, dates
// of birth and phone numbers; words starting with a capital as IBANs,
// postcodes and names. Everything else is skipped a word at a time.
func (f *finder) find(s []byte, out []match) []match {
	// A short text is read once for the bytes that call for a closer
	// look; a long one is searched for each, which is vectorised.
	var feat uint8
	if len(s) <= shortText {
		table := f.features
		for _, c := range s {
			feat |= table[c]
		}
	} else {
		feat = fStart | fMRN | fSpace
		if bytes.IndexByte(s, '@') >= 0 {
			feat |= fAt
		}
		if bytes.IndexByte(s, ':') >= 0 {
			feat |= fColon
		}
	}
	f.feat = feat
	pre := f.pre[:0]
	if feat&fAt != 0 {
		pre = findEmails(s, pre)
	}
	if feat&fColon != 0 {
		pre = findIPv6(s, pre)
	}
	if feat&fMRN != 0 {
		for i := range f.mrn {
			pre = f.mrn[i].find(s, pre)
		}
	}
	if len(pre) == 0 && feat&fStart == 0 {
		return out
	}
	if len(pre) > 1 {
		pre = sortMatches(pre)
	}
	f.pre = pre

	n := len(s)
	pi := 0
	i := 0
	for i < n {
		if pi < len(pre) && i >= int(pre[pi].start) {
			if i == int(pre[pi].start) || int(pre[pi].end) > i {
				out = append(out, pre[pi])
				i = max(i, int(pre[pi].end))
			}
			pi++
			continue
		}
		c := s[i]
		cls := byteClass[c]
		switch cls {
		case cSpace, cOther:
			i++
			continue
		case cLower, cHigh, cUnderscore:
			i = skipWord(s, i)
			continue
		}
		if i > 0 && (isWordByte(s[i-1]) || glued(s, i)) {
			i = max(i+1, skipWord(s, i))
			continue
		}
		limit := n
		if pi < len(pre) {
			limit = int(pre[pi].start)
		}
		var (
			m    match
			ok   bool
			next int
		)
		if cls == cUpper {
			m, ok, next = f.upperWord(s[:limit], i)
		} else {
			m, ok, next = f.numeric(s[:limit], i)
		}
		if ok {
			out = append(out, m)
			i = int(m.end)
		} else {
			i = max(next, i+1)
		}
	}
	return out
}

// glued reports whether position i follows a '-', '.' or '/' that follows
// a word ("v1.2", "AB-123"): a number there is part of a larger token.
func glued(s []byte, i int) bool {
	if i < 2 {
		return false
	}
	switch s[i-1] {
	case '-', '.', '/':
		return isWordByte(s[i-2])
	}
	return false
}

// gluedAfter reports whether a token ending at end continues into a word.
func gluedAfter(s []byte, end int) bool {
	if end >= len(s) {
		return false
	}
	c := s[end]
	if isWordByte(c) {
		return true
	}
	if (c == '-' || c == '/') && end+1 < len(s) {
		return isWordByte(s[end+1])
	}
	return false
}

// sortMatches sorts matches by start and drops any that overlap an
// earlier one.
func sortMatches(ms []match) []match {
	slices.SortStableFunc(ms, func(a, b match) int { return cmp.Compare(a.start, b.start) })
	out := ms[:0]
	for _, m := range ms {
		if len(out) > 0 && m.start < out[len(out)-1].end {
			continue
		}
		out = append(out, m)
	}
	return out
}
