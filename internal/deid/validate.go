package deid

// This file holds the check-digit and range validators. They take ASCII
// digits (or, for IBAN, the compact upper-case form) and allocate nothing.

// ssnValid applies the Social Security Administration's rules to the nine
// digits of an SSN: the area (first three) is not 000, 666 or 900–999, the
// group (next two) is not 00 and the serial (last four) is not 0000.
func ssnValid(d []byte) bool {
	if len(d) != 9 || !allDigits(d) {
		return false
	}
	area := atoi(d[0:3])
	group := atoi(d[3:5])
	serial := atoi(d[5:9])
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// nhsValid checks the modulus-11 check digit of a ten-digit NHS number: the
// first nine digits are weighted 10 down to 2, the check digit is 11 minus
// the sum modulo 11, where 11 means 0 and 10 means the number is invalid.
func nhsValid(d []byte) bool {
	if len(d) != 10 || !allDigits(d) {
		return false
	}
	sum := 0
	for i := range 9 {
		sum += int(d[i]-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		check = 0
	case 10:
		return false
	}
	return int(d[9]-'0') == check
}

// luhnValid checks the Luhn (mod 10) checksum of a digit string.
func luhnValid(d []byte) bool {
	if len(d) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		c := d[i]
		if c < '0' || c > '9' {
			return false
		}
		v := int(c - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// cardIINValid reports whether a card number of len(d) digits starts with
// an issuer identification number of a major network that issues numbers
// of that length: Visa, Mastercard, American Express, Discover, JCB, Diners
// Club, UnionPay and Maestro.
func cardIINValid(d []byte) bool {
	n := len(d)
	if n < 13 || n > 19 {
		return false
	}
	p2 := atoi(d[:2])
	p3 := atoi(d[:3])
	p4 := atoi(d[:4])
	p6 := atoi(d[:6])
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65, p6 >= 622126 && p6 <= 622925: // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p2 == 36: // Diners Club International
		return n >= 14
	case p3 >= 300 && p3 <= 305, p2 == 38, p2 == 39: // Diners Club
		return n >= 16
	case p2 == 62: // UnionPay
		return n >= 16
	case p4 == 5018, p4 == 5020, p4 == 5038, p4 == 5893, p4 == 6304, p4 == 6759, p4 == 6761, p4 == 6762, p4 == 6763: // Maestro
		return true
	}
	return false
}

// ibanLengths is the length of an IBAN per country, indexed by
// ibanCountryIndex: every SEPA country, the United Kingdom and the other
// countries of the SWIFT IBAN registry. Zero means no IBAN.
var ibanLengths = func() (t [26 * 26]uint8) {
	for cc, n := range map[string]uint8{
		// SEPA
		"AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
		"EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
		"IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
		"NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
		"VA": 22,
		// Elsewhere
		"AE": 23, "AL": 28, "AZ": 28, "BA": 20, "BH": 22, "BR": 29, "BY": 28, "CR": 22, "DO": 28,
		"EG": 29, "FO": 18, "GE": 22, "GL": 18, "GT": 28, "IL": 23, "IQ": 23, "JO": 30, "KW": 30,
		"KZ": 20, "LB": 28, "LC": 32, "LY": 25, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MU": 30,
		"PK": 24, "PS": 29, "QA": 29, "RS": 22, "SA": 24, "SC": 31, "SD": 18, "ST": 25, "SV": 28,
		"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
	} {
		t[ibanCountryIndex(cc[0], cc[1])] = n
	}
	return t
}()

// ibanCountryIndex maps two upper-case letters to an index of ibanLengths.
func ibanCountryIndex(a, b byte) int { return int(a-'A')*26 + int(b-'A') }

// ibanLength returns the IBAN length of the country whose code is a, b
// (upper-case letters), or 0.
func ibanLength(a, b byte) int {
	if !isUpper(a) || !isUpper(b) {
		return 0
	}
	return int(ibanLengths[ibanCountryIndex(a, b)])
}

// ibanValid checks a compact IBAN (upper-case letters and digits, no
// spaces): a known country code, that country's length, two check digits
// and the ISO 7064 mod-97 checksum (the number formed by moving the first
// four characters to the end and reading letters as 10–35 is 1 modulo 97).
func ibanValid(s []byte) bool {
	if len(s) < 15 || len(s) != ibanLength(s[0], s[1]) || !isDigit(s[2]) || !isDigit(s[3]) {
		return false
	}
	// The remainder is reduced only when it grows large, not per digit.
	var rem uint64
	add := func(c byte) bool {
		switch {
		case isDigit(c):
			rem = rem*10 + uint64(c-'0')
		case isUpper(c):
			rem = rem*100 + uint64(c-'A'+10)
		default:
			return false
		}
		if rem >= 1e15 {
			rem %= 97
		}
		return true
	}
	for _, c := range s[4:] {
		if !add(c) {
			return false
		}
	}
	for _, c := range s[:4] {
		add(c)
	}
	return rem%97 == 1
}

// ipv4Octet parses one dotted-quad octet: 0–255 without a leading zero.
func ipv4Octet(d []byte) bool {
	switch {
	case len(d) == 0 || len(d) > 3:
		return false
	case len(d) > 1 && d[0] == '0':
		return false
	}
	return atoi(d) <= 255
}

// atoi reads a short run of ASCII digits.
func atoi(d []byte) int {
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return n
}

func allDigits(d []byte) bool {
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(d) > 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isLetter(c byte) bool {
	return isUpper(c) || isLower(c)
}
