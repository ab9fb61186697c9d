package deid

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// hint is what a column's header says it holds.
type hint uint8

const (
	hintName hint = 1 << iota
	hintDOB
	hintPostcode
	hintMRN
)

// headerTokens splits a header into lower-case words: at '_', '-', '.',
// spaces and camelCase boundaries ("firstName" is first, name).
func headerTokens(h string) []string {
	var toks []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			toks = append(toks, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range h {
		switch {
		case r == '_' || r == '-' || r == '.' || r == '/' || unicode.IsSpace(r):
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		cur = append(cur, r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	flush()
	return toks
}

// nameWords are the words that, before "name", make a header a personal
// name column: first_name, patient_name, next_of_kin_name, ...
var nameWords = map[string]bool{
	"first": true, "given": true, "fore": true, "sur": true, "last": true, "family": true, "full": true,
	"patient": true, "person": true, "middle": true, "maiden": true, "contact": true, "client": true,
	"customer": true, "member": true, "kin": true, "mother": true, "father": true, "parent": true,
	"guardian": true, "subject": true, "participant": true, "respondent": true, "donor": true,
	"pt": true, "birth": true, "legal": true, "preferred": true, "display": true,
}

// singleNameHeaders are one-word name headers.
var singleNameHeaders = map[string]bool{
	"name": true, "forename": true, "forenames": true, "surname": true, "firstname": true, "lastname": true,
	"fullname": true, "givenname": true, "familyname": true, "patientname": true, "middlename": true,
	"maidenname": true, "fname": true, "lname": true,
}

// headerHint reads a column header (case-insensitive, with _ - . and space
// separators or camelCase) for what it says the column holds:
//
//   - a personal name: name, first_name, given_name, forename, surname,
//     last_name, family_name, full_name, patient_name, ... (a word like
//     first, given, last, full, patient or kin before "name");
//   - a date of birth: dob, d_o_b, born, birth_date, date_of_birth,
//     birthdate, birth_dt, ... (any word dob or born, or one containing
//     "birth");
//   - a postcode: zip, zipcode, zip_code, zip5, postcode, post_code,
//     postal_code, postalcode;
//   - a medical record number: mrn, medical_record_number, patient_id,
//     patient_number, hospital_number, nhs_id, ...
func headerHint(h string) hint {
	toks := headerTokens(h)
	if len(toks) == 0 {
		return 0
	}
	joined := strings.Join(toks, "_")
	var out hint
	last := toks[len(toks)-1]
	switch {
	case len(toks) == 1 && singleNameHeaders[joined]:
		out |= hintName
	case last == "name" && len(toks) >= 2 && nameWords[toks[len(toks)-2]]:
		out |= hintName // birth_name too
	case last == "names" || last == "surname" || last == "forename" || last == "forenames":
		out |= hintName
	default:
		for _, t := range toks {
			if t == "dob" || t == "born" || strings.Contains(t, "birth") {
				out |= hintDOB // place_of_birth too: its values are not dates
			}
		}
		if joined == "d_o_b" {
			out |= hintDOB
		}
	}
	for _, t := range toks {
		switch t {
		case "zip", "zipcode", "zip5", "zip4", "postcode", "postalcode", "zcta":
			out |= hintPostcode
		}
	}
	if strings.Contains(joined, "post_code") || strings.Contains(joined, "postal_code") || strings.Contains(joined, "zip_code") {
		out |= hintPostcode
	}
	switch {
	case joined == "mrn" || strings.HasSuffix(joined, "_mrn") || strings.HasPrefix(joined, "mrn_"):
		out |= hintMRN
	case strings.Contains(joined, "medical_record"), strings.Contains(joined, "hospital_number"), strings.Contains(joined, "hospital_no"),
		strings.Contains(joined, "case_number"), strings.Contains(joined, "record_number"), joined == "nhs_id", joined == "chi_number":
		out |= hintMRN
	case len(toks) >= 2 && (toks[0] == "patient" || toks[0] == "pt" || toks[0] == "subject" || toks[0] == "person"):
		switch last {
		case "id", "number", "no", "num", "ref", "identifier", "key":
			out |= hintMRN
		}
	case joined == "patientid" || joined == "patient_no":
		out |= hintMRN
	}
	return out
}

// capWords reports whether b is one to four capitalised words, as a name
// column's values are: each word starts with an upper-case letter and
// holds letters, apostrophes, hyphens and full stops ("Mary-Ann",
// "O'Neill", "J."), separated by single spaces or a comma and a space.
func capWords(b []byte) bool {
	words := 0
	i := 0
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if !unicode.IsUpper(r) {
			return false
		}
		i += size
		for i < len(b) {
			r, size = utf8.DecodeRune(b[i:])
			if r == ' ' || r == ',' {
				break
			}
			if !unicode.IsLetter(r) && r != '\'' && r != '-' && r != '.' && r != '’' {
				return false
			}
			i += size
		}
		words++
		if words > 4 {
			return false
		}
		if i < len(b) && b[i] == ',' {
			i++
		}
		if i < len(b) {
			if b[i] != ' ' || i+1 == len(b) {
				return false
			}
			i++
		}
	}
	return words > 0
}

// nameCell reports whether b is a personal name by the dictionary: two or
// three capitalised (or all-capital) words, separated by spaces or a
// comma ("Smith, John"), among them a given name and a surname (different
// words).
func nameCell(b []byte) bool {
	if len(b) < 4 || len(b) > 64 || !isUpper(b[0]) {
		return false
	}
	// The shape first, which is cheaper than the lookups: one or two
	// separators, each before a capital.
	seps := 0
	for i, c := range b {
		if c == ' ' {
			if i+1 == len(b) || !isUpper(b[i+1]) {
				return false
			}
			seps++
		}
	}
	if seps == 0 || seps > 2 {
		return false
	}
	var flags [3]uint8
	n := 0
	i := 0
	for i < len(b) {
		if n == 3 || !isUpper(b[i]) {
			return false
		}
		end, ok := nameToken(b, i)
		if !ok {
			return false
		}
		flags[n] = lookupName(b[i:end])
		n++
		i = end
		if i < len(b) && b[i] == ',' && n == 1 {
			i++
		}
		if i < len(b) {
			if b[i] != ' ' || i+1 == len(b) {
				return false
			}
			i++
		}
	}
	if n < 2 {
		return false
	}
	for a := range n {
		for c := range n {
			if a != c && flags[a]&nameGiven != 0 && flags[c]&nameSurname != 0 {
				return true
			}
		}
	}
	return false
}

// zipCell reports whether b is a US ZIP code: five digits, or ZIP+4.
func zipCell(b []byte) bool {
	switch len(b) {
	case 5:
		return allDigits(b)
	case 10:
		return allDigits(b[:5]) && b[5] == '-' && allDigits(b[6:])
	}
	return false
}

// idCell reports whether b looks like a record identifier: 4 to 24
// letters, digits and - _ / . : with at least two digits and no spaces.
func idCell(b []byte) bool {
	if len(b) < 4 || len(b) > 24 {
		return false
	}
	digits := 0
	for _, c := range b {
		switch {
		case isDigit(c):
			digits++
		case isLetter(c), c == '-', c == '_', c == '/', c == '.', c == ':':
		default:
			return false
		}
	}
	return digits >= 2
}
