package deid

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Config tunes the detectors. Use [DefaultConfig] and change what you
// need; a zero field takes its default.
type Config struct {
	// MRNPatterns are RE2 regular expressions (Go's regexp syntax) that
	// match medical record numbers in any cell or text. A pattern is only
	// run on text that contains its literal prefix, if it has one; a
	// pattern without one ("(?i)mrn...") runs on every cell, which costs.
	// Nil means the default, `MRN[-: ]?\d{6,10}`; an empty non-nil slice
	// means none.
	MRNPatterns []string
	// ColumnThreshold is the share of a structured column's non-null cells
	// that must be an identifier of one kind for the column to be reported
	// as holding that kind (default 0.5).
	ColumnThreshold float64
	// RestrictedZIP3 are the three-digit ZIP prefixes that HIPAA's Safe
	// Harbor method requires to be written 000 because fewer than 20,000
	// people live in them. Nil means [DefaultRestrictedZIP3].
	RestrictedZIP3 []string
	// SmallClassSize is the equivalence-class size below which the
	// k-anonymity report counts a class as small (default 5).
	SmallClassSize int
	// MaxClasses bounds the distinct quasi-identifier combinations tracked
	// for k-anonymity and l-diversity, and so their memory (default 5
	// million, about 100 bytes each). A scan that meets more reports
	// itself truncated; a recipe refuses the file.
	MaxClasses int
}

// DefaultRestrictedZIP3 are the 17 three-digit ZIP prefixes restricted
// under HIPAA Safe Harbor according to the 2000 census.
var DefaultRestrictedZIP3 = []string{
	"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884", "890", "893",
}

// Defaults of the Config fields.
const (
	DefaultColumnThreshold = 0.5
	DefaultSmallClassSize  = 5
	DefaultMaxClasses      = 5_000_000
)

// DefaultConfig returns the default configuration.
func DefaultConfig() *Config {
	return &Config{
		MRNPatterns:     []string{defaultMRNPattern},
		ColumnThreshold: DefaultColumnThreshold,
		RestrictedZIP3:  append([]string(nil), DefaultRestrictedZIP3...),
		SmallClassSize:  DefaultSmallClassSize,
		MaxClasses:      DefaultMaxClasses,
	}
}

// Validate reports the first problem with c: a pattern that does not
// compile or matches the empty string, a threshold outside (0, 1], a ZIP
// prefix that is not three digits, a negative size.
func (c *Config) Validate() error {
	_, err := c.compile()
	return err
}

// compiled is a Config checked and ready for the scanners.
type compiled struct {
	threshold float64
	mrn       []mrnMatcher
	features  *[256]uint8
	// minLen is the length of the shortest text any detector can match
	// (see minMatchLen): shorter cells need no search.
	minLen     int
	restricted [1000]bool
	smallClass int
	maxClasses int
	finders    sync.Pool
}

func (c *Config) compile() (*compiled, error) {
	if c == nil {
		c = &Config{}
	}
	out := &compiled{threshold: c.ColumnThreshold, smallClass: c.SmallClassSize, maxClasses: c.MaxClasses}
	if out.threshold == 0 {
		out.threshold = DefaultColumnThreshold
	}
	if out.threshold < 0 || out.threshold > 1 {
		return nil, enclave.FieldError("column_threshold", "the column threshold must be between 0 and 1, not %g", c.ColumnThreshold)
	}
	if out.smallClass == 0 {
		out.smallClass = DefaultSmallClassSize
	}
	if out.maxClasses == 0 {
		out.maxClasses = DefaultMaxClasses
	}
	if out.smallClass < 0 || out.maxClasses < 0 {
		return nil, enclave.Errorf(enclave.CodeInvalidArgument, "class sizes and limits cannot be negative")
	}
	patterns := c.MRNPatterns
	if patterns == nil {
		patterns = []string{defaultMRNPattern}
	}
	mrn, err := compileMRN(patterns)
	if err != nil {
		return nil, err
	}
	out.mrn = mrn
	out.features = mrnFeatures(mrn)
	out.minLen = minMatchLen(mrn)
	zips := c.RestrictedZIP3
	if zips == nil {
		zips = DefaultRestrictedZIP3
	}
	for _, z := range zips {
		if len(z) != 3 || !allDigits([]byte(z)) {
			return nil, enclave.FieldError("restricted_zip3", "restricted ZIP prefix %q is not three digits", z)
		}
		out.restricted[atoi([]byte(z))] = true
	}
	return out, nil
}

func compileMRN(patterns []string) ([]mrnMatcher, error) {
	var out []mrnMatcher
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, enclave.FieldError(fmt.Sprintf("mrn_patterns[%d]", i), "the MRN pattern does not compile: %v", err)
		}
		if re.MatchString("") {
			return nil, enclave.FieldError(fmt.Sprintf("mrn_patterns[%d]", i), "the MRN pattern matches the empty string")
		}
		m := mrnMatcher{re: re, defaultShape: p == defaultMRNPattern}
		if prefix := literalPrefix(p); prefix != "" {
			m.prefix = []byte(prefix)
		}
		out = append(out, m)
	}
	return out, nil
}

// newFinder returns a finder for a scan that owns it.
func (cc *compiled) newFinder() *finder {
	return &finder{mrn: cc.mrn, features: cc.features}
}

// finderCache holds the compiled MRN patterns FindAll has seen, keyed by
// the patterns, so that FindAll compiles each set once. It is small: a
// process uses one or two configurations.
var finderCache struct {
	sync.Mutex
	m map[string]*compiled
}

const finderCacheMax = 64

// finderFor returns a pooled finder for cfg's patterns; release returns it.
func finderFor(cfg *Config) *finder {
	var patterns []string
	if cfg == nil || cfg.MRNPatterns == nil {
		patterns = []string{defaultMRNPattern}
	} else {
		patterns = cfg.MRNPatterns
	}
	var key string
	if len(patterns) == 1 {
		key = patterns[0]
	} else {
		key = "\x00" + strings.Join(patterns, "\x00")
	}
	finderCache.Lock()
	cc := finderCache.m[key]
	if cc == nil {
		cc = &compiled{}
		var valid []string
		for _, p := range patterns {
			if _, err := compileMRN([]string{p}); err == nil {
				valid = append(valid, p)
			}
		}
		cc.mrn, _ = compileMRN(valid)
		cc.features = mrnFeatures(cc.mrn)
		if finderCache.m == nil || len(finderCache.m) >= finderCacheMax {
			finderCache.m = map[string]*compiled{}
		}
		finderCache.m[key] = cc
	}
	finderCache.Unlock()
	if f, ok := cc.finders.Get().(*finder); ok {
		return f
	}
	f := cc.newFinder()
	f.pool = cc
	return f
}

// release returns a pooled finder.
func (f *finder) release() {
	if f.pool != nil {
		f.pool.finders.Put(f)
	}
}

// literalPrefix returns a literal every match of the pattern starts with,
// looking past leading assertions (\b, ^) that regexp.LiteralPrefix stops
// at, or "".
func literalPrefix(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	for _, sub := range subs {
		switch sub.Op {
		case syntax.OpWordBoundary, syntax.OpBeginText, syntax.OpBeginLine, syntax.OpEmptyMatch:
			continue
		case syntax.OpLiteral:
			if sub.Flags&syntax.FoldCase != 0 {
				return ""
			}
			return string(sub.Rune)
		}
		return ""
	}
	return ""
}

// shortestBuiltIn is the length of the shortest identifier the built-in
// detectors match: an IPv6 address such as "::1".
const shortestBuiltIn = 3

// minMatchLen returns the length of the shortest text any detector can
// match: shortestBuiltIn, or less if an MRN pattern can match less.
func minMatchLen(mrn []mrnMatcher) int {
	n := shortestBuiltIn
	for _, m := range mrn {
		re, err := syntax.Parse(m.re.String(), syntax.Perl)
		if err != nil {
			return 0
		}
		n = min(n, minLen(re.Simplify()))
	}
	return n
}

// minLen returns the fewest bytes a match of re can have.
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			n += utf8.RuneLen(r)
		}
		if re.Flags&syntax.FoldCase != 0 {
			return len(re.Rune) // a folded rune may be shorter
		}
		return n
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture:
		return minLen(re.Sub[0])
	case syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minLen(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minLen(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0 // star, quest, empty-width assertions, empty match
}
