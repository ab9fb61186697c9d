package deid

import "strings"

// Kind names a kind of identifier the detectors find.
type Kind string

// The kinds of identifiers. The values are stable: reports stored in the
// database and recipes name them.
const (
	KindName        Kind = "name"
	KindEmail       Kind = "email"
	KindPhone       Kind = "phone"
	KindUSSSN       Kind = "us-ssn"
	KindUKNHS       Kind = "uk-nhs"
	KindPaymentCard Kind = "payment-card"
	KindIBAN        Kind = "iban"
	KindIPAddress   Kind = "ip-address"
	KindDateOfBirth Kind = "date-of-birth"
	KindPostcode    Kind = "postcode"
	KindMRN         Kind = "mrn"
)

// numKinds is the number of kinds.
const numKinds = 11

// Kinds lists every kind, in the order reports list them.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range numKinds {
		out[i] = kindByIndex[i]
	}
	return out
}

// kindIdx is a kind's position in kindByIndex; the hot paths carry it
// instead of the string.
type kindIdx uint8

const (
	kName kindIdx = iota
	kEmail
	kPhone
	kSSN
	kNHS
	kCard
	kIBAN
	kIP
	kDOB
	kPostcode
	kMRN
)

var kindByIndex = [numKinds]Kind{
	kName: KindName, kEmail: KindEmail, kPhone: KindPhone, kSSN: KindUSSSN, kNHS: KindUKNHS,
	kCard: KindPaymentCard, kIBAN: KindIBAN, kIP: KindIPAddress, kDOB: KindDateOfBirth,
	kPostcode: KindPostcode, kMRN: KindMRN,
}

// redactionTokens are the texts redaction puts in place of a match.
var redactionTokens = func() (t [numKinds]string) {
	for i, k := range kindByIndex {
		t[i] = "[" + strings.ToUpper(string(k)) + "]"
	}
	return t
}()

// kindSet is a set of kinds, one bit per kindIdx.
type kindSet uint16

func (s kindSet) has(k kindIdx) bool { return s&(1<<k) != 0 }
func (s *kindSet) add(k kindIdx)     { *s |= 1 << k }

// Match is an identifier found in a string: its kind and its byte offsets,
// s[Start:End].
type Match struct {
	Kind  Kind `json:"kind"`
	Start int  `json:"start"`
	End   int  `json:"end"`
}

// match is the scanners' compact form of a Match.
type match struct {
	kind       kindIdx
	start, end int32
	// alt is another kind the same text may be (alt != kind): a dashed
	// 3-3-4 number that is both a valid NHS number and a plausible US
	// phone number. Free text takes kind, chosen by context; a whole cell
	// counts as both, and the column's majority decides.
	alt kindIdx
}
