package synth

import (
	"strconv"
	"strings"
)

// Names: common ones and, so that a dictionary cannot know them all, some
// less common.
var (
	givenNames = []string{
		"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
		"David", "Susan", "Richard", "Jessica", "Joseph", "Sarah", "Thomas", "Karen", "Charles", "Emma",
		"Oliver", "Amelia", "George", "Olivia", "Harry", "Isla", "Jack", "Ava", "Noah", "Sophia",
		"Mohammed", "Fatima", "Arjun", "Priya", "Liam", "Niamh", "Callum", "Chloe", "Daniel", "Grace",
		"Oluwaseun", "Siobhan", "Tariq", "Anjali", "Kwame", "Ingrid", "Bartholomew", "Xanthe", "Yusuf", "Marisol",
	}
	surnames = []string{
		"Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
		"Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
		"Patel", "Khan", "Singh", "Ali", "Begum", "Murphy", "Kelly", "O'Brien", "Campbell", "Stewart",
		"Garcia", "Martinez", "Nguyen", "Chen", "Kim", "Lee", "Clarke", "Harris", "Lewis", "Wood",
		"Okafor", "Nakamura", "Kowalski", "Lindqvist", "Fitzpatrick", "Abernathy", "Oyelaran", "Castellanos", "Haddad", "Petrov",
	}
	domains   = []string{"nhs.net", "example.com", "mail.co.uk", "gmail.com", "outlook.com", "hospital.org", "uni.ac.uk"}
	diagnoses = []string{
		"Type 2 diabetes mellitus", "Essential hypertension", "Asthma", "Chronic obstructive pulmonary disease",
		"Atrial fibrillation", "Major depressive disorder", "Osteoarthritis of knee", "Hypothyroidism",
		"Chronic kidney disease stage 3", "Migraine", "Heart failure", "Iron deficiency anaemia",
	}
	outwardCodes = []string{"SW1A", "EC1A", "W1A", "M1", "M60", "B33", "CR2", "DN55", "LS1", "G1", "EH1", "CF10",
		"BS8", "NE1", "L1", "OX1", "CB2", "BT1", "N1C", "SE1", "E14", "NW1", "PL1", "AB10"}
	inwardLetters = "ABDEFGHJLNPQRSTUWXYZ"
)

func (g *Generator) name() (string, string) {
	return givenNames[g.r.IntN(len(givenNames))], surnames[g.r.IntN(len(surnames))]
}

func (g *Generator) email(b []byte, given, surname string) []byte {
	b = append(b, strings.ToLower(given)...)
	b = append(b, '.')
	for _, c := range []byte(strings.ToLower(surname)) {
		if c != '\'' {
			b = append(b, c)
		}
	}
	if g.r.IntN(2) == 0 {
		b = g.digits(b, 2)
	}
	b = append(b, '@')
	return append(b, domains[g.r.IntN(len(domains))]...)
}

func (g *Generator) date(b []byte, y, m, d int) []byte {
	if g.r.IntN(5) < 3 {
		b = g.pad(b, y, 4)
		b = append(b, '-')
		b = g.pad(b, m, 2)
		b = append(b, '-')
		return g.pad(b, d, 2)
	}
	b = g.pad(b, d, 2)
	b = append(b, '/')
	b = g.pad(b, m, 2)
	b = append(b, '/')
	return g.pad(b, y, 4)
}

func (g *Generator) mrn(b []byte) []byte {
	b = append(b, "MRN"...)
	b = append(b, []string{"", "-", ":"}[g.r.IntN(3)]...)
	return g.digits(b, 8)
}

// nanp appends a US area code or exchange: three digits, the first 2–9.
func (g *Generator) nanp(b []byte) []byte {
	b = append(b, byte('2'+g.r.IntN(8)))
	return g.digits(b, 2)
}

func (g *Generator) phone(b []byte) []byte {
	switch p := g.r.IntN(20); {
	case p < 6: // UK mobile
		b = append(b, "07"...)
		b = g.digits(b, 3)
		b = append(b, ' ')
		return g.digits(b, 6)
	case p < 9: // London
		b = append(b, "020 "...)
		b = append(b, byte('3'+g.r.IntN(6)))
		b = g.digits(b, 3)
		b = append(b, ' ')
		return g.digits(b, 4)
	case p < 13: // E.164
		b = append(b, "+44 7"...)
		b = g.digits(b, 3)
		b = append(b, ' ')
		return g.digits(b, 6)
	case p < 16:
		b = append(b, '(')
		b = g.nanp(b)
		b = append(b, ") "...)
		b = g.nanp(b)
		b = append(b, '-')
		return g.digits(b, 4)
	default:
		b = g.nanp(b)
		b = append(b, '-')
		b = g.nanp(b)
		b = append(b, '-')
		return g.digits(b, 4)
	}
}

// nhsDigits returns nine digits and their modulus-11 check digit, which
// is 10 (no valid number) about one time in eleven.
func (g *Generator) nhsDigits() ([10]byte, int) {
	var d [10]byte
	d[0] = "4679"[g.r.IntN(4)]
	for i := 1; i < 9; i++ {
		d[i] = g.digit()
	}
	sum := 0
	for i := range 9 {
		sum += int(d[i]-'0') * (10 - i)
	}
	check := (11 - sum%11) % 11
	return d, check
}

func (g *Generator) nhs(b []byte) []byte {
	for {
		d, check := g.nhsDigits()
		if check == 10 {
			continue
		}
		d[9] = byte('0' + check)
		return g.groupNHS(b, d[:])
	}
}

func (g *Generator) groupNHS(b []byte, d []byte) []byte {
	switch p := g.r.IntN(10); {
	case p < 6:
		return append(append(append(append(append(b, d[:3]...), ' '), d[3:6]...), ' '), d[6:]...)
	case p < 9:
		return append(b, d...)
	default:
		return append(append(append(append(append(b, d[:3]...), '-'), d[3:6]...), '-'), d[6:]...)
	}
}

func (g *Generator) nhsMiss(b []byte) []byte {
	switch g.r.IntN(4) {
	case 0, 1: // a wrong check digit
		d, check := g.nhsDigits()
		wrong := (check + 1 + g.r.IntN(9)) % 10
		if check == 10 {
			wrong = g.r.IntN(10)
		}
		d[9] = byte('0' + wrong)
		return g.groupNHS(b, d[:])
	case 2: // random digits
		b = append(b, byte('1'+g.r.IntN(9)))
		return g.digits(b, 9)
	default: // the wrong length
		b = append(b, byte('1'+g.r.IntN(9)))
		return g.digits(b, 8+2*g.r.IntN(2))
	}
}

func (g *Generator) ssn(b []byte) []byte {
	area := 1 + g.r.IntN(899)
	if area == 666 {
		area = 667
	}
	b = g.pad(b, area, 3)
	b = append(b, '-')
	b = g.pad(b, 1+g.r.IntN(99), 2)
	b = append(b, '-')
	return g.pad(b, 1+g.r.IntN(9999), 4)
}

func (g *Generator) ssnMiss(b []byte) []byte {
	area, group, serial := 1+g.r.IntN(899), 1+g.r.IntN(99), 1+g.r.IntN(9999)
	if area == 666 {
		area = 665
	}
	switch g.r.IntN(5) {
	case 0:
		area = 0
	case 1:
		area = 666
	case 2:
		area = 900 + g.r.IntN(100)
	case 3:
		group = 0
	default:
		serial = 0
	}
	b = g.pad(b, area, 3)
	b = append(b, '-')
	b = g.pad(b, group, 2)
	b = append(b, '-')
	return g.pad(b, serial, 4)
}

// luhnCheck returns the digit that makes d plus it pass the Luhn check.
func luhnCheck(d []byte) byte {
	sum := 0
	double := true
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

func (g *Generator) cardDigits() []byte {
	var prefix string
	n := 16
	switch g.r.IntN(6) {
	case 0, 1:
		prefix = "4"
	case 2:
		prefix = "5" + string(byte('1'+g.r.IntN(5)))
	case 3: // Mastercard's 2-series: 2221–2720
		prefix = strconv.Itoa(2221 + g.r.IntN(500))
	case 4:
		prefix, n = []string{"34", "37"}[g.r.IntN(2)], 15
	default:
		prefix = "6011"
	}
	d := append([]byte(nil), prefix...)
	d = g.digits(d, n-1-len(prefix))
	return append(d, luhnCheck(d))
}

func (g *Generator) groupCard(b, d []byte) []byte {
	p := g.r.IntN(10)
	if p < 3 {
		return append(b, d...)
	}
	sep := byte(' ')
	if p < 5 {
		sep = '-'
	}
	if len(d) == 15 {
		return append(append(append(append(append(b, d[:4]...), sep), d[4:10]...), sep), d[10:]...)
	}
	for i := 0; i < len(d); i += 4 {
		if i > 0 {
			b = append(b, sep)
		}
		b = append(b, d[i:min(i+4, len(d))]...)
	}
	return b
}

func (g *Generator) card(b []byte) []byte { return g.groupCard(b, g.cardDigits()) }

func (g *Generator) cardMiss(b []byte) []byte {
	if g.r.IntN(2) == 0 {
		d := g.cardDigits()
		d[len(d)-1] = byte('0' + (int(d[len(d)-1]-'0')+1+g.r.IntN(9))%10)
		return g.groupCard(b, d)
	}
	d := []byte{byte('1' + g.r.IntN(9))}
	return g.groupCard(b, g.digits(d, 15))
}

// ibanShapes are BBAN shapes: 'a' a letter, 'n' a digit.
var ibanShapes = []struct{ cc, shape string }{
	{"GB", "aaaannnnnnnnnnnnnn"}, {"DE", "nnnnnnnnnnnnnnnnnn"}, {"FR", "nnnnnnnnnnnnnnnnnnnnnnn"},
	{"NL", "aaaannnnnnnnnn"}, {"ES", "nnnnnnnnnnnnnnnnnnnn"}, {"IT", "annnnnnnnnnnnnnnnnnnnnn"},
	{"IE", "aaaannnnnnnnnnnnnn"}, {"BE", "nnnnnnnnnnnn"},
}

// ibanCheck returns the two check digits of cc and bban.
func ibanCheck(cc string, bban []byte) int {
	rem := 0
	for _, c := range string(bban) + cc + "00" {
		if c >= 'A' && c <= 'Z' {
			rem = (rem*100 + int(c-'A'+10)) % 97
		} else {
			rem = (rem*10 + int(c-'0')) % 97
		}
	}
	return 98 - rem
}

func (g *Generator) iban(b []byte, valid bool) []byte {
	s := ibanShapes[g.r.IntN(len(ibanShapes))]
	bban := make([]byte, 0, 30)
	for _, c := range []byte(s.shape) {
		if c == 'a' {
			bban = append(bban, byte('A'+g.r.IntN(26)))
		} else {
			bban = append(bban, g.digit())
		}
	}
	check := ibanCheck(s.cc, bban)
	if !valid {
		check = (check-2+1+g.r.IntN(96))%97 + 2
		if check == ibanCheck(s.cc, bban) {
			check = (check-2+1)%97 + 2
		}
	}
	full := append([]byte(s.cc), byte('0'+check/10), byte('0'+check%10))
	full = append(full, bban...)
	if g.r.IntN(5) < 2 {
		return append(b, full...)
	}
	for i := 0; i < len(full); i += 4 {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, full[i:min(i+4, len(full))]...)
	}
	return b
}

func (g *Generator) ibanMiss(b []byte) []byte { return g.iban(b, false) }

func (g *Generator) ip(b []byte) []byte {
	if g.r.IntN(7) == 0 {
		b = append(b, "2001:db8"...)
		for range 6 {
			b = append(b, ':')
			b = append(b, "0123456789abcdef"[1+g.r.IntN(15)])
			for range 3 {
				b = append(b, "0123456789abcdef"[g.r.IntN(16)])
			}
		}
		return b
	}
	b = g.pad(b, 1+g.r.IntN(223), 0)
	for range 3 {
		b = append(b, '.')
		b = g.pad(b, g.r.IntN(256), 0)
	}
	return b
}

func (g *Generator) ipMiss(b []byte) []byte {
	bad := g.r.IntN(4)
	for i := range 4 {
		if i > 0 {
			b = append(b, '.')
		}
		if i == bad {
			b = g.pad(b, 256+g.r.IntN(700), 0)
		} else {
			b = g.pad(b, 1+g.r.IntN(254), 0)
		}
	}
	return b
}

func (g *Generator) zip(b []byte) []byte {
	if g.r.IntN(20) == 0 {
		b = append(b, []string{"036", "059", "102", "203", "692", "893"}[g.r.IntN(6)]...)
		b = g.digits(b, 2)
	} else {
		b = g.pad(b, 1000+g.r.IntN(98000), 5)
	}
	if g.r.IntN(10) == 0 {
		b = append(b, '-')
		b = g.digits(b, 4)
	}
	return b
}

func (g *Generator) ukPostcode(b []byte) []byte {
	b = append(b, outwardCodes[g.r.IntN(len(outwardCodes))]...)
	b = append(b, ' ')
	b = append(b, g.digit())
	b = append(b, inwardLetters[g.r.IntN(len(inwardLetters))])
	return append(b, inwardLetters[g.r.IntN(len(inwardLetters))])
}
