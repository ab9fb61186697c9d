package deid

import (
	"strconv"
	"strings"
	"testing"
)

func TestNHSValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"9434765919", true},
		{"4010232137", true},
		{"9434765918", false}, // wrong check digit
		{"9434765910", false},
		{"1000000001", true}, // 1×10 = 10; 11 − 10 = 1
		{"943476591", false}, // nine digits
		{"94347659190", false},
		{"94347a5919", false},
		{"0000000000", true}, // sum 0 → check 11 → 0
	} {
		if got := nhsValid([]byte(tc.in)); got != tc.want {
			t.Errorf("nhsValid(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// A number whose check digit works out as 10 is never valid, whatever
	// its last digit: find one and try all ten.
	found := false
	for n := 100000000; n < 100001000 && !found; n++ {
		d := []byte(strings.Repeat("0", 9))
		copy(d, strconv.Itoa(n))
		sum := 0
		for i := range 9 {
			sum += int(d[i]-'0') * (10 - i)
		}
		if 11-sum%11 != 10 {
			continue
		}
		found = true
		for last := byte('0'); last <= '9'; last++ {
			if nhsValid(append(append([]byte{}, d...), last)) {
				t.Errorf("%s%c accepted although its check digit is 10", d, last)
			}
		}
	}
	if !found {
		t.Fatal("no number with check digit 10 in the range searched")
	}
}

func TestLuhnAndIIN(t *testing.T) {
	for _, tc := range []struct {
		in         string
		luhn, card bool
	}{
		{"4111111111111111", true, true},  // Visa test number
		{"4111111111111112", false, true}, // Luhn fails
		{"5555555555554444", true, true},  // Mastercard
		{"2223003122003222", true, true},  // Mastercard 2-series
		{"378282246310005", true, true},   // Amex
		{"6011111111111117", true, true},  // Discover
		{"3530111333300000", true, true},  // JCB
		{"4222222222222", true, true},     // Visa, 13 digits
		{"1234567812345670", true, false}, // Luhn-valid, no network
		{"378282246310005", true, true},
		{"37828224631000", false, false}, // Amex with 14 digits
	} {
		if got := luhnValid([]byte(tc.in)); got != tc.luhn {
			t.Errorf("luhnValid(%s) = %v, want %v", tc.in, got, tc.luhn)
		}
		if got := cardIINValid([]byte(tc.in)); got != tc.card {
			t.Errorf("cardIINValid(%s) = %v, want %v", tc.in, got, tc.card)
		}
	}
}

func TestIBANValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"GB82WEST12345698765432", true},
		{"DE89370400440532013000", true},
		{"FR1420041010050500013M02606", true},
		{"NL91ABNA0417164300", true},
		{"BE68539007547034", true},
		{"NO9386011117947", true},
		{"MT84MALT011000012345MTLCAST001S", true},
		{"GB82WEST12345698765433", false}, // checksum
		{"GB83WEST12345698765432", false}, // check digits
		{"GB82WEST1234569876543", false},  // length
		{"US82WEST12345698765432", false}, // no IBANs in the US
		{"gb82WEST12345698765432", false},
	} {
		if got := ibanValid([]byte(tc.in)); got != tc.want {
			t.Errorf("ibanValid(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSSNValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"078051120", true}, // the Woolworth wallet number: valid format
		{"123456789", true},
		{"899999999", true},
		{"000123456", false},
		{"666123456", false},
		{"900123456", false},
		{"999123456", false},
		{"123006789", false},
		{"123450000", false},
		{"12345678", false},
	} {
		if got := ssnValid([]byte(tc.in)); got != tc.want {
			t.Errorf("ssnValid(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestUKPostcode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"SW1A 1AA", true}, {"SW1A1AA", true}, {"EC1A 1BB", true}, {"W1A 0AX", true}, {"M1 1AE", true},
		{"B33 8TH", true}, {"CR2 6XH", true}, {"DN55 1PT", true}, {"GIR 0AA", true}, {"EH1 1YZ", true},
		{"QA1 1AA", false},  // Q never first
		{"AI1 1AA", false},  // I never second
		{"SW1A 1AC", false}, // C never in the inward code
		{"SW1A 1A", false},
		{"SW1AA 1AA", false},
		{"W1I 1AA", false}, // I not third in A9A
		{"12345", false},
	} {
		got := ukFullPostcode([]byte(tc.in))
		if got != tc.want {
			t.Errorf("UK postcode %q = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseDateCell(t *testing.T) {
	for _, tc := range []struct {
		in   string
		year int
		ok   bool
	}{
		{"1980-03-12", 1980, true},
		{"12/03/1980", 1980, true},
		{"03/31/1980", 1980, true},
		{"31.03.1980", 1980, true},
		{"12/03/80", 1980, true},
		{"12/03/05", 2005, true},
		{"19800312", 1980, true},
		{"12 March 1980", 1980, true},
		{"12-Mar-1980", 1980, true},
		{"March 12, 1980", 1980, true},
		{"1980-03-12T10:00:00Z", 1980, true},
		{"12/03/1980 09:30", 1980, true},
		{" 1980-03-12 ", 1980, true},
		{"1980-02-30", 0, false},
		{"31/31/1980", 0, false},
		{"1980", 0, false},
		{"12345678", 0, false},
		{"1980-03-12 banana", 0, false},
		{"Smith", 0, false},
	} {
		year, ok := parseDateCell([]byte(tc.in))
		if ok != tc.ok || ok && year != tc.year {
			t.Errorf("parseDateCell(%q) = %d, %v; want %d, %v", tc.in, year, ok, tc.year, tc.ok)
		}
	}
}

func TestHeaderHint(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   hint
	}{
		{"name", hintName}, {"first_name", hintName}, {"FirstName", hintName}, {"Given Name", hintName},
		{"surname", hintName}, {"last-name", hintName}, {"patient_name", hintName}, {"FULL_NAME", hintName},
		{"drug_name", 0}, {"file_name", 0}, {"hospital_name", 0},
		{"dob", hintDOB}, {"DOB", hintDOB}, {"birth_date", hintDOB}, {"date_of_birth", hintDOB},
		{"BirthDate", hintDOB}, {"born", hintDOB}, {"d_o_b", hintDOB}, {"birth_name", hintName},
		{"zip", hintPostcode}, {"zipcode", hintPostcode}, {"zip_code", hintPostcode}, {"postcode", hintPostcode},
		{"postal_code", hintPostcode}, {"PostCode", hintPostcode},
		{"mrn", hintMRN}, {"medical_record_number", hintMRN}, {"patient_id", hintMRN}, {"PatientID", hintMRN},
		{"age", 0}, {"diagnosis", 0}, {"admission_date", 0},
	} {
		if got := headerHint(tc.header); got != tc.want {
			t.Errorf("headerHint(%q) = %b, want %b", tc.header, got, tc.want)
		}
	}
}

func TestWordTable(t *testing.T) {
	for w, f := range nameDict {
		if got := wordFlags([]byte(w)); got != f && filterable(w) {
			t.Errorf("wordFlags(%q) = %d, want %d", w, got, f)
		}
	}
	for _, w := range []string{"Smit", "Smiths", "smith", "SMITH", "Zzz", "", "A", "Patient", "Metformin"} {
		if got := wordFlags([]byte(w)); got != 0 {
			t.Errorf("wordFlags(%q) = %d, want 0", w, got)
		}
	}
	if lookupName([]byte("SMITH")) != nameSurname || lookupName([]byte("O'BRIEN")) != nameSurname {
		t.Error("capitals are not looked up in their capitalised form")
	}
}

// filterable reports whether a dictionary word has the shape wordFlags
// looks up: a capital, lower-case last letter, 2–15 bytes.
func filterable(w string) bool {
	_, ok := filterSlot(w)
	return ok
}
