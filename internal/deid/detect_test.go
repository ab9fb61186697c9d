package deid

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// found renders FindAll's matches as "kind:text" for comparison.
func found(s string, cfg *Config) []string {
	var out []string
	for _, m := range FindAll(s, cfg) {
		out = append(out, string(m.Kind)+":"+s[m.Start:m.End])
	}
	return out
}

func TestFindAll(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		// NHS numbers: valid check digits only, in their groupings.
		{"NHS 943 476 5919.", []string{"uk-nhs:943 476 5919"}},
		{"nhs no 9434765919", []string{"uk-nhs:9434765919"}},
		{"NHS number 943-476-5919", []string{"uk-nhs:943-476-5919"}},
		{"ref 943 476 5918", nil},
		{"ref 94347659190", nil},
		// Cards: Luhn and a network's IIN, grouped by four.
		{"card 4111 1111 1111 1111 exp", []string{"payment-card:4111 1111 1111 1111"}},
		{"card 4111-1111-1111-1111", []string{"payment-card:4111-1111-1111-1111"}},
		{"card 4111111111111111", []string{"payment-card:4111111111111111"}},
		{"amex 3782 822463 10005", []string{"payment-card:3782 822463 10005"}},
		{"card 4111 1111 1111 1112", nil},
		{"id 1234 5678 1234 5670", nil}, // Luhn-valid, no network
		{"card 4111-1111 1111-1111", nil},
		// SSNs.
		{"SSN 078-05-1120", []string{"us-ssn:078-05-1120"}},
		{"SSN 666-12-3456", nil},
		{"SSN 900-12-3456", nil},
		{"SSN 123-00-4567", nil},
		{"SSN 123-45-0000", nil},
		{"SSN 123456789", nil}, // bare digits: not in text
		{"code ABC-123-45-6789", nil},
		// IBANs.
		{"IBAN GB82 WEST 1234 5698 7654 32 paid", []string{"iban:GB82 WEST 1234 5698 7654 32"}},
		{"IBAN GB82WEST12345698765432.", []string{"iban:GB82WEST12345698765432"}},
		{"IBAN DE89 3704 0044 0532 0130 00", []string{"iban:DE89 3704 0044 0532 0130 00"}},
		{"IBAN GB83 WEST 1234 5698 7654 32", nil}, // its digit groups are not a card or phone either
		// IP addresses.
		{"from 192.168.0.1, then", []string{"ip-address:192.168.0.1"}},
		{"from 10.0.0.255", []string{"ip-address:10.0.0.255"}},
		{"from 256.1.1.1", nil},
		{"from 192.168.01.1", nil},
		{"version 1.2.3.4.5", nil},
		{"v1.2.3.4", nil},
		{"host 2001:db8::1 up", []string{"ip-address:2001:db8::1"}},
		{"host fe80::1ff:fe23:4567:890a", []string{"ip-address:fe80::1ff:fe23:4567:890a"}},
		{"at 10:30:00 today", nil},
		{"mac 00:1a:2b:3c:4d:5e", nil},
		// Emails.
		{"mail john.smith@nhs.net.", []string{"email:john.smith@nhs.net"}},
		{"<a.b+tag@mail.example.co.uk>", []string{"email:a.b+tag@mail.example.co.uk"}},
		{"not@localhost or @example.com or x@y.1", nil},
		{"a..b@example.com", nil},
		// Phones.
		{"call +44 7700 900123", []string{"phone:+44 7700 900123"}},
		{"call +447700900123", []string{"phone:+447700900123"}},
		{"call +44 (0)20 7946 0958", []string{"phone:+44 (0)20 7946 0958"}},
		{"call (415) 555-0132", []string{"phone:(415) 555-0132"}},
		{"call 415-555-0132", []string{"phone:415-555-0132"}},
		{"call 1-415-555-0132", []string{"phone:1-415-555-0132"}},
		{"call 020 7946 0958", []string{"phone:020 7946 0958"}},
		{"call 07700 900123", []string{"phone:07700 900123"}},
		{"call 07700900123", []string{"phone:07700900123"}},
		{"call (01632) 960 001", []string{"phone:(01632) 960 001"}},
		{"call 115-555-0132", nil}, // area code cannot start with 1
		{"call 415 555 0132", nil}, // US numbers are not written with spaces
		{"order 12345678901", nil},
		{"+12", nil},
		// Dashed 3-3-4 that is a valid NHS number and a plausible US number.
		{"phone 943-476-5919", []string{"phone:943-476-5919"}},
		// UK postcodes.
		{"lives at SW1A 1AA.", []string{"postcode:SW1A 1AA"}},
		{"lives at EC1A1BB", []string{"postcode:EC1A1BB"}},
		{"lives at M1 1AE", []string{"postcode:M1 1AE"}},
		{"code QA1 1AA", nil},
		{"zip 90210", nil}, // US ZIPs only by a column's header
		// Dates of birth.
		{"born 12/03/1980", []string{"date-of-birth:12/03/1980"}},
		{"DOB: 1980-03-12", []string{"date-of-birth:1980-03-12"}},
		{"D.O.B. 12.03.1980", []string{"date-of-birth:12.03.1980"}},
		{"date of birth is 12 March 1980", []string{"date-of-birth:12 March 1980"}},
		{"born on March 12, 1980", []string{"date-of-birth:March 12, 1980"}},
		{"seen 2023-04-01", nil},
		{"DOB: 1980-03-12; seen 2023-04-01", []string{"date-of-birth:1980-03-12"}},
		{"born in Leeds and seen much later on 2023-04-01", nil},
		{"stubborn 12/03/1980", nil},
		{"born 1980-02-30", nil},
		// Names.
		{"Discussed with John Smith today", []string{"name:John Smith"}},
		{"Discussed with Mary Ann Taylor", []string{"name:Mary Ann Taylor"}},
		{"Discussed with John F. Kennedy", []string{"name:John F. Kennedy"}},
		{"Seen by Dr Patel and Mrs. Jones", []string{"name:Patel", "name:Jones"}},
		{"Sarah O'Brien", []string{"name:Sarah O'Brien"}},
		{"John went home", nil},
		{"Smith reviewed", nil},
		{"JOHN SMITH", nil}, // capitals: only as a whole cell
		// MRNs.
		{"under MRN-12345678.", []string{"mrn:MRN-12345678"}},
		{"under MRN12345678", []string{"mrn:MRN12345678"}},
		{"under MRN 123", nil},
		{"under XMRN12345678", nil},
		{"under MRN12345678901", nil},
		// Several, in order.
		{"John Smith (NHS 943 476 5919) john@x.org",
			[]string{"name:John Smith", "uk-nhs:943 476 5919", "email:john@x.org"}},
		{"", nil},
		{"   ", nil},
	} {
		got := found(tc.in, nil)
		if !slices.Equal(got, tc.want) {
			t.Errorf("FindAll(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFindAllCustomMRN(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MRNPatterns = []string{`(?i)\bhosp[0-9]{5}\b`, `RX-\d{4}`}
	got := found("ids HOSP12345 and hosp54321 and RX-0042 and MRN-12345678", cfg)
	want := []string{"mrn:HOSP12345", "mrn:hosp54321", "mrn:RX-0042"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := (&Config{MRNPatterns: []string{"("}}).Validate(); err == nil {
		t.Error("a pattern that does not compile was accepted")
	}
	if err := (&Config{MRNPatterns: []string{"x*"}}).Validate(); err == nil {
		t.Error("a pattern matching the empty string was accepted")
	}
	if err := (&Config{RestrictedZIP3: []string{"12"}}).Validate(); err == nil {
		t.Error("a two-digit ZIP prefix was accepted")
	}
	if err := (&Config{ColumnThreshold: 1.5}).Validate(); err == nil {
		t.Error("a threshold above 1 was accepted")
	}
}

func TestLiteralPrefix(t *testing.T) {
	for p, want := range map[string]string{
		defaultMRNPattern: "MRN",
		`MRN\d+`:          "MRN",
		`^RX-\d+`:         "RX-",
		`(?i)mrn\d+`:      "",
		`[A-Z]{3}\d+`:     "",
		`(?:MRN|HOSP)\d+`: "",
	} {
		if got := literalPrefix(p); got != want {
			t.Errorf("literalPrefix(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestDefaultMRNMatchesRegexp checks the hand-written matcher against the
// regexp it stands for, on random strings built from the pattern's parts.
func TestDefaultMRNMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(defaultMRNPattern)
	parts := []string{"MRN", "MR", "N", "-", ":", " ", "1", "12", "123456", "1234567890", "x", "_", ".", "MRNMRN"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range 1 + r.IntN(8) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		checkMRNEquivalent(t, re, b.String())
	}
}

func checkMRNEquivalent(t *testing.T, re *regexp.Regexp, s string) {
	t.Helper()
	var want [][2]int
	for _, loc := range re.FindAllStringIndex(s, -1) {
		want = append(want, [2]int{loc[0], loc[1]})
	}
	var got [][2]int
	for _, m := range findDefaultMRN([]byte(s), nil) {
		got = append(got, [2]int{int(m.start), int(m.end)})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%q: hand matcher %v, regexp %v", s, got, want)
	}
}

func FuzzDefaultMRN(f *testing.F) {
	re := regexp.MustCompile(defaultMRNPattern)
	for _, s := range []string{"MRN-12345678", "xMRN123456", "MRN 1234567890123", "MRN:123456_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkMRNEquivalent(t, re, s)
	})
}

// FuzzFindAll checks that FindAll never panics and that its matches are in
// order, do not overlap, lie within the input, and are each found again
// when the matched text stands alone (for the kinds that need no
// context).
func FuzzFindAll(f *testing.F) {
	for _, s := range []string{
		"John Smith (NHS 943 476 5919) john@x.org", "+44 (0)20 7946 0958", "GB82 WEST 1234 5698 7654 32",
		"born 12 March 1980", "2001:db8::1", "MRN-12345678", "4111 1111 1111 1111", "(", "+", "1-", "Dr.",
		"\xff\xfe", "SW1A 1AA", "a@b.cd", ":::", "12-Mar-1980",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms := FindAll(s, nil)
		prev := 0
		for _, m := range ms {
			if m.Start < prev || m.End <= m.Start || m.End > len(s) {
				t.Fatalf("%q: bad match %+v after %d", s, m, prev)
			}
			prev = m.End
			switch m.Kind {
			case KindDateOfBirth, KindName, KindPhone, KindUKNHS:
				continue // these depend on the words around them
			}
			alone := s[m.Start:m.End]
			again := FindAll(alone, nil)
			if len(again) != 1 || again[0].Kind != m.Kind || again[0].End != len(alone) {
				t.Fatalf("%q: %s %q is not found again alone: %+v", s, m.Kind, alone, again)
			}
		}
		if utf8.ValidString(s) {
			_ = fmt.Sprint(ms)
		}
	})
}
