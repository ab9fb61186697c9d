package deid

import (
	"bytes"
	"net/netip"
	"unsafe"
)

// This file recognises the identifiers written with letters: emails, IPv6
// addresses, IBANs, UK postcodes, names and dates with month names.

// isLocalChar reports whether c may appear in the local part of an email
// address (RFC 5322's dot-atom: letters, digits and !#$%&'*+/=?^_`{|}~.-).
func isLocalChar(c byte) bool {
	switch {
	case isLetter(c), isDigit(c):
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~', '.', '-':
		return true
	}
	return false
}

func isDomainChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '-' || c == '.' }

// findEmails appends the email addresses in s: a dot-atom local part of up
// to 64 characters, '@', and a domain of at least two labels (letters,
// digits, inner hyphens) whose last label, the TLD, is two or more
// letters. Quoted local parts and IP-literal domains are not recognised.
func findEmails(s []byte, out []match) []match {
	off := 0
	for off < len(s) {
		k := bytes.IndexByte(s[off:], '@')
		if k < 0 {
			break
		}
		at := off + k
		off = at + 1
		// The local part, without dots at its ends.
		l := at
		for l > 0 && isLocalChar(s[l-1]) {
			l--
		}
		for l < at && s[l] == '.' {
			l++
		}
		local := s[l:at]
		if len(local) == 0 || len(local) > 64 || local[len(local)-1] == '.' || bytes.Contains(local, []byte("..")) {
			continue
		}
		// The domain, without a sentence's full stop.
		r := at + 1
		for r < len(s) && isDomainChar(s[r]) {
			r++
		}
		for r > at+1 && (s[r-1] == '.' || s[r-1] == '-') {
			r--
		}
		end, ok := validDomain(s[at+1 : r])
		if !ok {
			continue
		}
		r = at + 1 + end
		out = append(out, mk(kEmail, l, r))
		off = r
	}
	return out
}

// validDomain checks d as a dotted domain and returns its length.
func validDomain(d []byte) (int, bool) {
	if len(d) == 0 || len(d) > 253 {
		return 0, false
	}
	labels := 0
	start := 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			continue
		}
		label := d[start:i]
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return 0, false
		}
		labels++
		start = i + 1
	}
	if labels < 2 {
		return 0, false
	}
	tld := d[bytes.LastIndexByte(d, '.')+1:]
	if len(tld) < 2 {
		return 0, false
	}
	for _, c := range tld {
		if !isLetter(c) {
			return 0, false
		}
	}
	return len(d), true
}

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

// findIPv6 appends the IPv6 addresses in s: runs of hex digits, colons and
// dots (for an embedded IPv4 address) with at least two colons, standing
// alone, that net/netip parses.
func findIPv6(s []byte, out []match) []match {
	off := 0
	for off < len(s) {
		k := bytes.IndexByte(s[off:], ':')
		if k < 0 {
			break
		}
		p := off + k
		l, r := p, p
		for l > 0 && (isHex(s[l-1]) || s[l-1] == ':') {
			l--
		}
		for r < len(s) && (isHex(s[r]) || s[r] == ':' || s[r] == '.') {
			r++
		}
		for r > p && s[r-1] == '.' {
			r--
		}
		off = max(r, p+1)
		cand := s[l:r]
		if len(cand) < 3 || bytes.Count(cand, []byte(":")) < 2 {
			continue
		}
		if (l > 0 && isWordByte(s[l-1])) || (r < len(s) && isWordByte(s[r])) {
			continue
		}
		// ParseAddr keeps nothing of its argument when it succeeds (the
		// candidate has no zone) and the error is dropped, so it may read
		// the candidate in place.
		if addr, err := netip.ParseAddr(unsafe.String(&cand[0], len(cand))); err == nil && addr.Is6() {
			out = append(out, mk(kIP, l, r))
		}
	}
	return out
}

// upperWord finds an identifier starting with the capital letter at i: an
// IBAN, a UK postcode, a name, or a date of birth such as "March 12, 1980".
func (f *finder) upperWord(s []byte, i int) (match, bool, int) {
	n := len(s)
	if i+4 <= n && isUpper(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
		if l := ibanLength(s[i], s[i+1]); l > 0 {
			end, shaped, ok := f.iban(s, i, l)
			if ok {
				return mk(kIBAN, i, end), true, 0
			}
			if shaped {
				// An IBAN with wrong check digits: none of its groups
				// is anything else.
				return match{}, false, end
			}
		}
	}
	if i+5 <= n && (isDigit(s[i+1]) || isDigit(s[i+2])) {
		if end, ok := ukPostcodeAt(s, i); ok {
			return mk(kPostcode, i, end), true, 0
		}
	} else if s[i] == 'G' {
		if end, ok := ukPostcodeAt(s, i); ok { // GIR 0AA
			return mk(kPostcode, i, end), true, 0
		}
	}
	wend, word := nameToken(s, i)
	if !word {
		return match{}, false, skipWord(s, i)
	}
	flags := wordFlags(s[i:wend])
	switch {
	case flags == 0:
	case flags&nameGiven != 0:
		if end, ok := nameAfterGiven(s, wend); ok {
			return mk(kName, i, end), true, 0
		}
	case flags&wordTitle != 0:
		j := wend
		if j < n && s[j] == '.' {
			j++
		}
		if st, e, ok := nextCapToken(s, j); ok {
			f2 := wordFlags(s[st:e])
			if f2&nameGiven != 0 {
				if end, ok := nameAfterGiven(s, e); ok {
					return mk(kName, st, end), true, 0
				}
			}
			if f2&nameSurname != 0 {
				return mk(kName, st, e), true, 0
			}
		}
	case flags&wordMonth != 0:
		if end, ok := monthDayYear(s, i); ok && dobContext(s, i) {
			return mk(kDOB, i, end), true, 0
		}
	}
	return match{}, false, wend
}

// nameToken returns the end of the capitalised word at i (letters, with
// inner apostrophes and hyphens: O'Brien, Smith-Jones) and whether it is
// one: a word that runs into digits or non-ASCII letters is not.
func nameToken(s []byte, i int) (int, bool) {
	j := i + 1
	for j < len(s) {
		c := s[j]
		if isLetter(c) {
			j++
			continue
		}
		if (c == '\'' || c == '-') && j+1 < len(s) && isLetter(s[j+1]) {
			j += 2
			continue
		}
		break
	}
	return j, !(j < len(s) && isWordByte(s[j]))
}

// nextCapToken reads the capitalised word after the single space at j; an
// initial ("F." or "F") counts as one.
func nextCapToken(s []byte, j int) (start, end int, ok bool) {
	if j+1 >= len(s) || s[j] != ' ' || !isUpper(s[j+1]) {
		return 0, 0, false
	}
	start = j + 1
	end, ok = nameToken(s, start)
	return start, end, ok
}

// nameAfterGiven extends a given name ending at j into a full name: a
// surname next, optionally a second surname after it; or a middle name or
// initial and then a surname. It returns the end of the name.
func nameAfterGiven(s []byte, j int) (int, bool) {
	st2, e2, ok := nextCapToken(s, j)
	if !ok {
		return 0, false
	}
	f2 := wordFlags(s[st2:e2])
	if f2&nameSurname != 0 {
		if st3, e3, ok := nextCapToken(s, e2); ok && wordFlags(s[st3:e3])&nameSurname != 0 {
			return e3, true
		}
		return e2, true
	}
	after := e2
	initial := e2-st2 == 1
	if initial && after < len(s) && s[after] == '.' {
		after++
	}
	if initial || f2&nameGiven != 0 {
		if st3, e3, ok := nextCapToken(s, after); ok && wordFlags(s[st3:e3])&nameSurname != 0 {
			return e3, true
		}
	}
	return 0, false
}

// iban reads an IBAN of length l at i: compact, or in groups of four
// separated by single spaces (the last group shorter). It reports where it
// ends, whether it has the shape and whether it passes the checksum.
func (f *finder) iban(s []byte, i, l int) (end int, shaped, valid bool) {
	if l > len(f.dig) {
		return 0, false, false
	}
	buf := f.dig[:0]
	j := i
	for j < len(s) && len(buf) < l {
		c := s[j]
		if isUpper(c) || isDigit(c) {
			buf = append(buf, c)
			j++
			continue
		}
		// A space may only separate groups of four.
		if c == ' ' && len(buf)%4 == 0 && j+1 < len(s) && (isUpper(s[j+1]) || isDigit(s[j+1])) {
			j++
			continue
		}
		break
	}
	if len(buf) != l || gluedAfter(s, j) {
		return 0, false, false
	}
	return j, true, ibanValid(buf)
}

// ukPostcodeAt matches a full UK postcode at i: an outward code (A9, A99,
// A9A, AA9, AA99 or AA9A, with the Royal Mail's letter rules for each
// position), an optional space and an inward code (a digit and two letters
// other than C, I, K, M, O and V); or GIR 0AA.
func ukPostcodeAt(s []byte, i int) (int, bool) {
	// The token: upper-case letters and digits, perhaps one space.
	j := i
	for j < len(s) && j-i < 8 && (isUpper(s[j]) || isDigit(s[j])) {
		j++
	}
	var outward, inward []byte
	if j < len(s) && s[j] == ' ' && j-i <= 4 {
		outward = s[i:j]
		k := j + 1
		if k+3 > len(s) {
			return 0, false
		}
		inward = s[k : k+3]
		j = k + 3
	} else {
		tok := s[i:j]
		if len(tok) < 5 || len(tok) > 7 {
			return 0, false
		}
		outward, inward = tok[:len(tok)-3], tok[len(tok)-3:]
	}
	if gluedAfter(s, j) {
		return 0, false
	}
	if string(outward) == "GIR" && string(inward) == "0AA" {
		return j, true
	}
	if !ukOutward(outward) || !ukInward(inward) {
		return 0, false
	}
	return j, true
}

// ukInward checks an inward code: 9AA.
func ukInward(in []byte) bool {
	if len(in) != 3 || !isDigit(in[0]) {
		return false
	}
	for _, c := range in[1:] {
		if !isUpper(c) {
			return false
		}
		switch c {
		case 'C', 'I', 'K', 'M', 'O', 'V':
			return false
		}
	}
	return true
}

// ukOutward checks an outward code.
func ukOutward(out []byte) bool {
	if len(out) < 2 || len(out) > 4 || !isUpper(out[0]) {
		return false
	}
	switch out[0] {
	case 'Q', 'V', 'X':
		return false
	}
	in := func(c byte, set string) bool { return bytes.IndexByte([]byte(set), c) >= 0 }
	if isDigit(out[1]) {
		// A9, A99, A9A
		switch len(out) {
		case 2:
			return true
		case 3:
			return isDigit(out[2]) || in(out[2], "ABCDEFGHJKPSTUW")
		}
		return false
	}
	// AA9, AA99, AA9A
	if !isUpper(out[1]) || in(out[1], "IJZ") || len(out) < 3 || !isDigit(out[2]) {
		return false
	}
	switch len(out) {
	case 3:
		return true
	case 4:
		return isDigit(out[3]) || in(out[3], "ABEHMNPRVWXY")
	}
	return false
}

// dobKeywords introduce a date of birth in free text; nhsKeywords an NHS
// number.
var (
	dobKeywords = [][]byte{[]byte("born"), []byte("dob"), []byte("d.o.b"), []byte("birth")}
	nhsKeywords = [][]byte{[]byte("nhs")}
)

// contextWindow is how far before an identifier its keyword may be: a few
// words.
const contextWindow = 40

// dobContext reports whether a birth keyword comes a few words before i.
func dobContext(s []byte, i int) bool { return keywordBefore(s, i, dobKeywords) }

// keywordBefore reports whether one of the keywords (lower case), starting
// a word, appears in the few words before position i, with nothing but a
// few words between them (see closeBefore).
func keywordBefore(s []byte, i int, keywords [][]byte) bool {
	lo := max(0, i-contextWindow)
	var buf [contextWindow]byte
	w := buf[:i-lo]
	for k, c := range s[lo:i] {
		if isUpper(c) {
			c += 'a' - 'A'
		}
		w[k] = c
	}
	for _, kw := range keywords {
		off := 0
		for {
			p := bytes.Index(w[off:], kw)
			if p < 0 {
				break
			}
			p += off
			starts := p == 0 && lo == 0 || p > 0 && !isLetter(w[p-1]) || p == 0 && !isLetter(s[lo-1])
			if starts && closeBefore(w[p+len(kw):]) {
				return true
			}
			off = p + 1
		}
	}
	return false
}

// closeBefore reports whether the text between a keyword and what it
// introduces is a few words at most ("born on", "DOB:", "date of birth
// is", "NHS no."), with no digits and no end of a clause (a semicolon, a
// line break, or a full stop after a word longer than an abbreviation).
func closeBefore(between []byte) bool {
	between = bytes.TrimPrefix(between, []byte(".")) // "D.O.B. 12/03/1980"
	words, wordLen := 0, 0
	for i, c := range between {
		switch {
		case isDigit(c), c == ';', c == '\n':
			return false
		case c == '.' && i+1 < len(between) && between[i+1] == ' ' && wordLen > 3:
			return false
		case isLetter(c):
			if wordLen == 0 {
				words++
			}
			wordLen++
			continue
		}
		wordLen = 0
	}
	return words <= 3
}
