package tabular

import (
	"math"
	"strconv"
	"time"
)

// This file holds the parsers CSV type inference tries on each text. They
// accept deliberately little: a value that is not unambiguously of a type
// is text. See docs/design/0011-tabular-profiling.md for the reasons.

// numClass says what a numeric text is.
type numClass uint8

const (
	notNumber numClass = iota
	numInt             // fits int64
	numBigInt          // integer syntax beyond int64: an identifier unless the column has fractions
	numFloat           // decimal point, exponent, or a non-finite spelling
)

// trimBlanks drops spaces and tabs around s; typed values may be padded
// ("1, 2, 3" after a comma delimiter).
func trimBlanks(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseNumber classifies s and returns its value. An integer is
// -?(0|[1-9][0-9]*): a leading zero ("007", a zip code, an ID) or a plus
// sign ("+4420...", a phone number) makes s text, because a value written
// that way is an identifier, and reading it as a number would lose the
// zeros. A float is an integer part (same rule, may be empty), an optional
// fraction and an optional exponent, or inf, infinity (signed) or nan in
// any case.
func parseNumber(s string) (numClass, int64, float64) {
	if len(s) == 0 {
		return notNumber, 0, 0
	}
	i := 0
	if s[0] == '-' {
		i++
	}
	if c, f, ok := nonFinite(s); ok {
		return c, 0, f
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := i - intStart
	if intDigits > 1 && s[intStart] == '0' {
		return notNumber, 0, 0
	}
	fraction := false
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		fraction = true
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			fracDigits++
		}
	}
	if intDigits+fracDigits == 0 {
		return notNumber, 0, 0
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		fraction = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		expStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == expStart {
			return notNumber, 0, 0
		}
	}
	if i != len(s) {
		return notNumber, 0, 0
	}
	if !fraction {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return numInt, n, float64(n)
		}
		f, _ := strconv.ParseFloat(s, 64)
		return numBigInt, 0, f
	}
	// The syntax is checked; ParseFloat only fails with ErrRange, and then
	// returns the infinity the value rounds to.
	f, _ := strconv.ParseFloat(s, 64)
	return numFloat, 0, f
}

// nonFinite recognizes the spellings of infinity and NaN.
func nonFinite(s string) (numClass, float64, bool) {
	if len(s) < 3 || len(s) > 9 {
		return notNumber, 0, false
	}
	sign := 1.0
	body := s
	switch s[0] {
	case '-':
		sign, body = -1, s[1:]
	case '+':
		body = s[1:]
	}
	switch {
	case equalFoldASCII(body, "inf"), equalFoldASCII(body, "infinity"):
		return numFloat, math.Inf(int(sign)), true
	case body == s && equalFoldASCII(body, "nan"):
		return numFloat, math.NaN(), true
	}
	return notNumber, 0, false
}

func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseBool accepts true and false in lower, title and upper case, as
// pandas and Spark do. yes/no, y/n and 0/1 stay text and integers: they are
// survey answers and codes whose next version often gains a third value.
func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// parseDate accepts an ISO 8601 calendar date, YYYY-MM-DD, and returns the
// days since 1970-01-01. Other layouts (01/02/2024) are ambiguous between
// countries and stay text.
func parseDate(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseTimestamp accepts an ISO 8601 / RFC 3339 date and time: the date, T
// or a space, hh:mm with optional :ss and a fraction of up to nine digits,
// and an optional zone (Z, ±hh, ±hhmm or ±hh:mm). A time without a zone is
// taken as UTC. It returns the instant in UTC.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 16 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return time.Time{}, false
	}
	days, ok := parseDate(s[:10])
	if !ok {
		return time.Time{}, false
	}
	rest := s[11:]
	hh, ok1 := digits(rest[0:2])
	mm, ok2 := digits(rest[3:5])
	if !ok1 || !ok2 || rest[2] != ':' || hh > 23 || mm > 59 {
		return time.Time{}, false
	}
	rest = rest[5:]
	ss, ns := 0, 0
	if len(rest) >= 3 && rest[0] == ':' {
		var ok bool
		if ss, ok = digits(rest[1:3]); !ok || ss > 59 {
			return time.Time{}, false
		}
		rest = rest[3:]
		if len(rest) > 0 && rest[0] == '.' {
			n := 1
			for n < len(rest) && isDigit(rest[n]) {
				n++
			}
			if n == 1 || n > 10 {
				return time.Time{}, false
			}
			frac, _ := digits(rest[1:n])
			for k := n - 1; k < 9; k++ {
				frac *= 10
			}
			ns = frac
			rest = rest[n:]
		}
	}
	offset := 0
	switch {
	case rest == "":
	case rest == "Z" || rest == "z":
	case rest[0] == '+' || rest[0] == '-':
		var oh, om int
		var ok bool
		switch len(rest) {
		case 3: // ±hh
			oh, ok = digits(rest[1:3])
		case 5: // ±hhmm
			oh, ok = digits(rest[1:3])
			if ok {
				om, ok = digits(rest[3:5])
			}
		case 6: // ±hh:mm
			oh, ok = digits(rest[1:3])
			if ok && rest[3] == ':' {
				om, ok = digits(rest[4:6])
			} else {
				ok = false
			}
		}
		if !ok || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	sec := days*86400 + int64(hh*3600+mm*60+ss) - int64(offset)
	return time.Unix(sec, int64(ns)).UTC(), true
}

// digits parses a short run of ASCII digits.
func digits(s string) (int, bool) {
	if len(s) == 0 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// dateString formats days since 1970-01-01 as YYYY-MM-DD.
func dateString(days int64) string {
	return time.Unix(days*86400, 0).UTC().Format(time.DateOnly)
}

// timestampString formats an instant as RFC 3339 in UTC with the fraction
// it needs.
func timestampString(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
