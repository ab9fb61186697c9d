package deid

// This file recognises the identifiers written with digits: payment cards,
// NHS numbers, SSNs, IPv4 addresses, dates of birth and phone numbers.

// group is one run of digits in a chunk, s[start:end], and the separator
// written before it.
type group struct {
	start, end int
	sep        byte // 0 for the first group; ' ', '-', '.', '/', '(' or ')'
}

func (g group) len() int { return g.end - g.start }

// maxGroups bounds the groups of a chunk: no identifier has more than six.
const maxGroups = 8

// chunk is a run of digit groups joined by single separators, such as
// "+44 (0)20 7946 0958" or "4111-1111-1111-1111".
type chunk struct {
	s      []byte
	g      [maxGroups]group
	n      int
	plus   bool // starts with '+'
	paren  bool // starts with '('
	start  int  // where the chunk starts, '+' or '(' included
	glued  bool // the chunk runs into a word after its last group
	digits int  // digits in all groups
}

// parseChunk reads the chunk that starts at i (a digit, '+' or '(').
func parseChunk(s []byte, i int, c *chunk) bool {
	n := len(s)
	// Not *c = chunk{...}: the groups beyond n need no zeroing.
	c.s, c.start, c.plus, c.paren = s, i, false, false
	j := i
	switch s[j] {
	case '+':
		if j+1 >= n || !isDigit(s[j+1]) {
			return false
		}
		c.plus = true
		j++
	case '(':
		if j+1 >= n || !isDigit(s[j+1]) {
			return false
		}
		c.paren = true
		j++
	}
	open := c.paren
	parenUsed := c.paren
	var sep byte
	ng, digits := 0, 0
	for {
		st := j
		for j < n && s[j]-'0' < 10 {
			j++
		}
		c.g[ng] = group{start: st, end: j, sep: sep}
		ng++
		digits += j - st
		if ng == maxGroups || j+1 >= n {
			break
		}
		ch, next := s[j], s[j+1]
		if next-'0' < 10 {
			// The common case: one separator, then digits.
			switch ch {
			case ' ', '-', '.', '/':
				sep = ch
				j++
				continue
			case ')':
				if open {
					sep, open = ')', false
					j++
					continue
				}
			case '(':
				if !parenUsed {
					sep, open, parenUsed = '(', true, true
					j++
					continue
				}
			}
			break
		}
		if ch == ')' && open && next == ' ' && j+2 < n && isDigit(s[j+2]) {
			sep, open = ')', false
			j += 2
			continue
		}
		if ch == ' ' && next == '(' && !parenUsed && j+2 < n && isDigit(s[j+2]) {
			sep, open, parenUsed = '(', true, true
			j += 2
			continue
		}
		break
	}
	c.n, c.digits = ng, digits
	last := c.g[ng-1].end
	c.glued = gluedAfter(s, last) && !(last < n && s[last] == ')')
	return true
}

// endOK reports whether a match may end after group e: at the end of the
// chunk (unless the chunk runs into a word) or before a space.
func (c *chunk) endOK(e int) bool {
	if e == c.n-1 {
		return !c.glued
	}
	sep := c.g[e+1].sep
	return sep == ' ' || sep == '('
}

// startOf returns where a match starting at group a starts.
func (c *chunk) startOf(a int) int {
	if a == 0 {
		return c.start
	}
	return c.g[a].start
}

// collect copies the digits of groups a..e into buf and returns them, or
// nil if there are more than len(buf).
func (c *chunk) collect(a, e int, buf []byte) []byte {
	out := buf[:0]
	for k := a; k <= e; k++ {
		g := c.g[k]
		if len(out)+g.len() > len(buf) {
			return nil
		}
		out = append(out, c.s[g.start:g.end]...)
	}
	return out
}

// sameSeps reports whether groups a+1..e are all separated by sep.
func (c *chunk) sameSeps(a, e int, sep byte) bool {
	for k := a + 1; k <= e; k++ {
		if c.g[k].sep != sep {
			return false
		}
	}
	return true
}

// lens reports whether groups a, a+1, ... have the given lengths.
func (c *chunk) lens(a int, want ...int) bool {
	if a+len(want) > c.n {
		return false
	}
	for k, w := range want {
		if c.g[a+k].len() != w {
			return false
		}
	}
	return true
}

// numeric finds an identifier in the chunk starting at i. It returns the
// first match (trying each group in turn as its start) or where to resume.
func (f *finder) numeric(s []byte, i int) (match, bool, int) {
	c := &f.chunk // reused: zeroing one per call would cost
	if !parseChunk(s, i, c) {
		return match{}, false, i + 1
	}
	end := c.g[c.n-1].end
	next := end
	if c.glued {
		next = skipWord(s, end)
	}
	// The shortest identifiers here have seven digits (an IPv4 address
	// such as 1.2.3.4 has four, a date five); a day of the month may open
	// a date written with the month's name.
	if c.digits < 4 && !(c.n == 1 && c.g[0].len() <= 2) {
		return match{}, false, next
	}
	rem := c.digits // digits in groups a.. on
	for a := 0; a < c.n; a++ {
		if a > 0 {
			rem -= c.g[a-1].len()
			if c.g[a].sep != ' ' {
				continue
			}
		}
		if a == 0 && (c.plus || c.paren) {
			if m, ok := f.phone(c, a); ok {
				return m, true, 0
			}
			continue
		}
		// Each kind is tried only when the groups from a have its shape.
		la := c.g[a].len()
		more := c.n - 1 - a // groups after a
		if rem >= 13 {
			if m, ok := f.card(c, a); ok {
				return m, true, 0
			}
		}
		if la == 10 || la == 3 && more >= 2 {
			if m, ok := f.nhs(c, a); ok {
				return m, true, 0
			}
			if m, ok := f.ssn(c, a); ok {
				return m, true, 0
			}
		}
		if more >= 2 && la <= 4 {
			if m, ok := ipv4(c, a); ok {
				return m, true, 0
			}
			if m, ok := numericDOB(c, a); ok {
				return m, true, 0
			}
		}
		if rem >= 10 && s[c.g[a].start] != '0' && !(la == 1 && more >= 3) && !(la == 3 && more >= 2) {
			continue // not a phone: US numbers have groups, UK ones start with 0
		}
		if rem >= 10 {
			if m, ok := f.phone(c, a); ok {
				return m, true, 0
			}
		}
	}
	// "12 March 1980" after "born".
	if e := c.g[0].end; c.n == 1 && c.g[0].len() <= 2 && !c.plus && !c.paren &&
		e+1 < len(s) && (s[e] == ' ' || s[e] == '-') && isLetter(s[e+1]) {
		if e, ok := dayMonthYear(s, c.g[0].start); ok && dobContext(s, c.g[0].start) {
			return mk(kDOB, c.g[0].start, e), true, 0
		}
	}
	return match{}, false, next
}

func mk(k kindIdx, start, end int) match {
	return match{kind: k, start: int32(start), end: int32(end), alt: k}
}

// card matches 13–19 digits, contiguous or in groups of four (the last
// shorter) or Amex's 4-6-5, with one kind of separator (space or dash),
// that pass the Luhn check and start with a known network's IIN.
func (f *finder) card(c *chunk, a int) (match, bool) {
	for e := min(a+4, c.n-1); e >= a; e-- {
		if !c.endOK(e) {
			continue
		}
		total := 0
		for k := a; k <= e; k++ {
			total += c.g[k].len()
		}
		if total < 13 || total > 19 {
			continue
		}
		if e > a {
			sep := c.g[a+1].sep
			if (sep != ' ' && sep != '-') || !c.sameSeps(a, e, sep) {
				continue
			}
			fours := true
			for k := a; k < e; k++ {
				if c.g[k].len() != 4 {
					fours = false
					break
				}
			}
			amex := e == a+2 && c.g[a].len() == 4 && c.g[a+1].len() == 6 && (c.g[e].len() == 5 || c.g[e].len() == 4)
			if !(fours && c.g[e].len() <= 4) && !amex {
				continue
			}
		}
		d := c.collect(a, e, f.dig[:])
		if d != nil && luhnValid(d) && cardIINValid(d) {
			return mk(kCard, c.startOf(a), c.g[e].end), true
		}
	}
	return match{}, false
}

// nhs matches ten digits, contiguous or 3-3-4 with spaces or dashes, whose
// modulus-11 check digit is right.
func (f *finder) nhs(c *chunk, a int) (match, bool) {
	e := -1
	switch {
	case c.g[a].len() == 10:
		e = a
	case c.lens(a, 3, 3, 4):
		sep := c.g[a+1].sep
		if (sep == ' ' || sep == '-') && c.g[a+2].sep == sep {
			e = a + 2
		}
	}
	if e < 0 || !c.endOK(e) {
		return match{}, false
	}
	if !nhsValid(c.collect(a, e, f.dig[:])) {
		return match{}, false
	}
	m := mk(kNHS, c.startOf(a), c.g[e].end)
	if e > a && c.g[a+1].sep == '-' && c.s[c.g[a].start] >= '2' && c.s[c.g[a+1].start] >= '2' {
		// Also a plausible US phone number: NHS only after "NHS".
		if keywordBefore(c.s, int(m.start), nhsKeywords) {
			m.alt = kPhone
		} else {
			m.kind, m.alt = kPhone, kNHS
		}
	}
	return m, true
}

// ssn matches AAA-GG-SSSS within the SSA's rules. Nine bare digits are an
// SSN only in a column of them (see the column scan), never in free text.
func (f *finder) ssn(c *chunk, a int) (match, bool) {
	if !c.lens(a, 3, 2, 4) || c.g[a+1].sep != '-' || c.g[a+2].sep != '-' || !c.endOK(a+2) {
		return match{}, false
	}
	if ssnValid(c.collect(a, a+2, f.dig[:])) {
		return mk(kSSN, c.startOf(a), c.g[a+2].end), true
	}
	return match{}, false
}

// ipv4 matches a dotted quad whose octets are 0–255 without leading zeros.
func ipv4(c *chunk, a int) (match, bool) {
	e := a + 3
	if e >= c.n || !c.sameSeps(a, e, '.') || !c.endOK(e) {
		return match{}, false
	}
	for k := a; k <= e; k++ {
		g := c.g[k]
		if !ipv4Octet(c.s[g.start:g.end]) {
			return match{}, false
		}
	}
	return mk(kIP, c.startOf(a), c.g[e].end), true
}

// numericDOB matches a numeric date that follows a birth keyword.
func numericDOB(c *chunk, a int) (match, bool) {
	e := a + 2
	if e >= c.n || !c.endOK(e) {
		return match{}, false
	}
	sep := c.g[a+1].sep
	if (sep != '/' && sep != '-' && sep != '.') || c.g[e].sep != sep {
		return match{}, false
	}
	g0, g1, g2 := c.g[a], c.g[a+1], c.g[e]
	if g0.start < 3 {
		return match{}, false // no room for a keyword before it
	}
	if _, ok := numericDate(c.s[g0.start:g0.end], c.s[g1.start:g1.end], c.s[g2.start:g2.end]); !ok {
		return match{}, false
	}
	if !dobContext(c.s, g0.start) {
		return match{}, false
	}
	return mk(kDOB, g0.start, g2.end), true
}

// phone matches E.164 numbers ("+" and 8–15 digits, in any grouping), US
// numbers ((xxx) xxx-xxxx, xxx-xxx-xxxx, xxx.xxx.xxxx, with area code and
// exchange starting 2–9) and UK national numbers (0 then 1, 2, 3, 7 or 8;
// ten or eleven digits; contiguous or in two or three groups separated by
// spaces, the first of three to five digits, or with the area code in
// parentheses). Numbers that are valid NHS numbers or cards were taken
// before this is tried: they are not phones.
func (f *finder) phone(c *chunk, a int) (match, bool) {
	g := c.g[:c.n]
	digitAt := func(k, off int) byte { return c.s[g[k].start+off] }
	if a == 0 && c.plus {
		total := 0
		best := -1
		for e := 0; e < c.n; e++ {
			total += g[e].len()
			if total > 15 {
				break
			}
			if total >= 8 && c.endOK(e) {
				best = e
			}
		}
		if best >= 0 && digitAt(0, 0) != '0' {
			return mk(kPhone, c.start, g[best].end), true
		}
		return match{}, false
	}
	// US.
	nanp := func(k int) bool {
		return c.lens(k, 3, 3, 4) && digitAt(k, 0) >= '2' && digitAt(k+1, 0) >= '2' && c.endOK(k+2)
	}
	if a == 0 && c.paren && nanp(0) && g[1].sep == ')' && (g[2].sep == '-' || g[2].sep == ' ' || g[2].sep == '.') {
		return mk(kPhone, c.start, g[2].end), true
	}
	if !c.paren || a > 0 {
		k := a
		if g[a].len() == 1 && digitAt(a, 0) == '1' && a+1 < c.n && g[a+1].sep == '-' {
			k = a + 1 // 1-xxx-xxx-xxxx
		}
		if nanp(k) {
			sep := g[k+1].sep
			if (sep == '-' || sep == '.') && g[k+2].sep == sep && (k == a || sep == '-') {
				return mk(kPhone, c.startOf(a), g[k+2].end), true
			}
		}
	}
	// UK.
	if digitAt(a, 0) != '0' || g[a].len() < 2 {
		return match{}, false
	}
	switch digitAt(a, 1) {
	case '1', '2', '3', '7', '8':
	default:
		return match{}, false
	}
	if c.paren && a == 0 {
		total := 0
		for e := 0; e < c.n && e <= 3; e++ {
			if e == 1 && g[e].sep != ')' || e > 1 && g[e].sep != ' ' {
				break
			}
			total += g[e].len()
			if e > 0 && (total == 10 || total == 11) && c.endOK(e) {
				return mk(kPhone, c.start, g[e].end), true
			}
		}
		return match{}, false
	}
	if l := g[a].len(); (l == 10 || l == 11) && c.endOK(a) {
		return mk(kPhone, c.startOf(a), g[a].end), true
	}
	if l := g[a].len(); l < 3 || l > 5 {
		return match{}, false
	}
	for e := min(a+2, c.n-1); e > a; e-- {
		sep := g[a+1].sep
		if (sep != ' ' && sep != '-') || !c.sameSeps(a, e, sep) || !c.endOK(e) {
			continue
		}
		total := 0
		for k := a; k <= e; k++ {
			total += g[k].len()
		}
		if total == 10 || total == 11 {
			return mk(kPhone, c.startOf(a), g[e].end), true
		}
	}
	return match{}, false
}
