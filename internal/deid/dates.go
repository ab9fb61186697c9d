package deid

import "bytes"

// This file reads dates: numeric (1980-03-12, 12/03/1980, 12.03.80,
// 19800312) and with month names (12 March 1980, 12-Mar-1980, March 12,
// 1980), for dates of birth and the generalise-date action.

// Years outside this range are not taken for dates of birth.
const (
	minYear = 1850
	maxYear = 2100
)

var monthNames = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
	"january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7, "august": 8, "september": 9,
	"october": 10, "november": 11, "december": 12,
}

// monthNumber returns the month a word names (any case), or 0.
func monthNumber(w []byte) int {
	if len(w) < 3 || len(w) > 9 {
		return 0
	}
	var buf [9]byte
	for i, c := range w {
		if isUpper(c) {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return monthNames[string(buf[:len(w)])]
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year == 0 || year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func validYMD(y, m, d int) bool {
	return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(m, y)
}

// expandYear turns a two-digit year into four digits the way POSIX
// strptime does: 69–99 are 1969–1999, 00–68 are 2000–2068.
func expandYear(yy int) int {
	if yy >= 69 {
		return 1900 + yy
	}
	return 2000 + yy
}

// numericDate checks three numeric parts as a date (year first, or day and
// month in either order then a four- or two-digit year) and returns the
// year.
func numericDate(a, b, c []byte) (int, bool) {
	switch {
	case len(a) == 4 && len(b) <= 2 && len(c) <= 2:
		y := atoi(a)
		return y, y >= minYear && y <= maxYear && validYMD(y, atoi(b), atoi(c))
	case len(a) <= 2 && len(b) <= 2 && (len(c) == 4 || len(c) == 2):
		y := atoi(c)
		if len(c) == 2 {
			y = expandYear(y)
		} else if y < minYear || y > maxYear {
			return 0, false
		}
		p, q := atoi(a), atoi(b)
		return y, validYMD(y, q, p) || validYMD(y, p, q)
	}
	return 0, false
}

// digitRun returns the end of the digits at i.
func digitRun(s []byte, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// letterRun returns the end of the ASCII letters at i.
func letterRun(s []byte, i int) int {
	for i < len(s) && isLetter(s[i]) {
		i++
	}
	return i
}

// parseDate reads a date at the start of s and returns its year and end.
func parseDate(s []byte) (year, end int, ok bool) {
	if len(s) == 0 {
		return 0, 0, false
	}
	if isLetter(s[0]) {
		return monthFirst(s)
	}
	d1 := digitRun(s, 0)
	switch {
	case d1 == 0:
		return 0, 0, false
	case d1 == 8:
		y, m, d := atoi(s[0:4]), atoi(s[4:6]), atoi(s[6:8])
		return y, 8, y >= minYear && y <= maxYear && validYMD(y, m, d)
	case d1 > 4 || d1 >= len(s):
		return 0, 0, false
	}
	sep := s[d1]
	switch sep {
	case '/', '-', '.':
		i := d1 + 1
		if i < len(s) && isLetter(s[i]) { // 12-Mar-1980
			e := letterRun(s, i)
			m := monthNumber(s[i:e])
			if d1 > 2 || m == 0 || e >= len(s) || s[e] != sep {
				return 0, 0, false
			}
			ye := digitRun(s, e+1)
			if ye-(e+1) != 4 {
				return 0, 0, false
			}
			y := atoi(s[e+1 : ye])
			return y, ye, y >= minYear && y <= maxYear && validYMD(y, m, atoi(s[:d1]))
		}
		e2 := digitRun(s, i)
		if e2 == i || e2 >= len(s) || s[e2] != sep {
			return 0, 0, false
		}
		e3 := digitRun(s, e2+1)
		y, ok := numericDate(s[:d1], s[i:e2], s[e2+1:e3])
		return y, e3, ok
	case ' ':
		if d1 > 2 {
			return 0, 0, false
		}
		i := d1 + 1
		e := letterRun(s, i)
		m := monthNumber(s[i:e])
		if m == 0 || e+1 >= len(s) || s[e] != ' ' {
			return 0, 0, false
		}
		ye := digitRun(s, e+1)
		if ye-(e+1) != 4 {
			return 0, 0, false
		}
		y := atoi(s[e+1 : ye])
		return y, ye, y >= minYear && y <= maxYear && validYMD(y, m, atoi(s[:d1]))
	}
	return 0, 0, false
}

// monthFirst reads "March 12, 1980" or "Mar 12 1980".
func monthFirst(s []byte) (int, int, bool) {
	e := letterRun(s, 0)
	m := monthNumber(s[:e])
	if m == 0 || e+1 >= len(s) || s[e] != ' ' {
		return 0, 0, false
	}
	de := digitRun(s, e+1)
	if de == e+1 || de-(e+1) > 2 {
		return 0, 0, false
	}
	d := atoi(s[e+1 : de])
	i := de
	if i < len(s) && s[i] == ',' {
		i++
	}
	if i >= len(s) || s[i] != ' ' {
		return 0, 0, false
	}
	ye := digitRun(s, i+1)
	if ye-(i+1) != 4 {
		return 0, 0, false
	}
	y := atoi(s[i+1 : ye])
	return y, ye, y >= minYear && y <= maxYear && validYMD(y, m, d)
}

// dayMonthYear matches "12 March 1980" (or 12-Mar-1980) at i in free text
// and returns its end.
func dayMonthYear(s []byte, i int) (int, bool) {
	_, e, ok := parseDate(s[i:])
	if !ok || gluedAfter(s, i+e) {
		return 0, false
	}
	return i + e, true
}

// monthDayYear matches "March 12, 1980" at i in free text.
func monthDayYear(s []byte, i int) (int, bool) {
	_, e, ok := monthFirst(s[i:])
	if !ok || gluedAfter(s, i+e) {
		return 0, false
	}
	return i + e, true
}

// parseDateCell reads a whole cell as a date, perhaps followed by a time
// of day ("1980-03-12T00:00:00Z", "12/03/1980 09:30"), and returns the
// year.
func parseDateCell(b []byte) (int, bool) {
	b = bytes.TrimSpace(b)
	y, end, ok := parseDate(b)
	if !ok {
		return 0, false
	}
	rest := b[end:]
	if len(rest) == 0 {
		return y, true
	}
	if rest[0] != 'T' && rest[0] != ' ' || len(rest) < 2 || !isDigit(rest[1]) {
		return 0, false
	}
	for _, c := range rest[1:] {
		if !isDigit(c) && c != ':' && c != '.' && c != '+' && c != '-' && c != 'Z' {
			return 0, false
		}
	}
	return y, true
}
