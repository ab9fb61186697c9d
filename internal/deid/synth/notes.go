package synth

import "slices"

// fillers are sentences without identifiers. Some hold numbers, dates and
// capitalised words that look like what the detectors look for.
var fillers = []string{
	"Patient reports intermittent chest pain on exertion.",
	"Reviewed in the outpatient clinic today.",
	"No known drug allergies.",
	"Blood pressure 128/82, heart rate 72, saturations 97% on air.",
	"Plan: repeat bloods in 6 weeks and review.",
	"Weight 72.5 kg, BMI 24.1, HbA1c 53 mmol/mol.",
	"Follow-up appointment booked for 3 months.",
	"Seen on 2023-04-01 for medication review.",
	"Referred to Cardiology, ward 7B, bed 12.",
	"Metformin 500 mg twice daily, ramipril 5 mg once daily.",
	"Discussed risks and benefits; consent obtained.",
	"Lab sample 20230401-0042 sent to Haematology.",
	"Mobility improving with Physiotherapy input.",
	"Smoking cessation advice given, 20 pack years.",
}

// note returns a free-text note of one to three sentences, some embedding
// an identifier or a near miss, and its label.
func (g *Generator) note() Label {
	var l Label
	n := 1 + g.r.IntN(3)
	for s := range n {
		if s > 0 {
			g.buf = append(g.buf, ' ')
		}
		kind, miss := g.sentence()
		if kind != "" && !slices.Contains(l.Kinds, kind) {
			l.Kinds = append(l.Kinds, kind)
		}
		l.NearMiss = l.NearMiss || miss
	}
	return l
}

// sentence appends one sentence and returns the kind it embeds, if any,
// and whether it embeds a near miss.
func (g *Generator) sentence() (string, bool) {
	b := g.buf
	defer func() { g.buf = b }()
	given, surname := g.name()
	switch g.r.IntN(30) {
	case 0:
		b = append(b, "NHS number "...)
		b = g.nhs(b)
		b = append(b, " confirmed at reception."...)
		return NHS, false
	case 1:
		b = append(b, "Paid the parking charge with card "...)
		b = g.card(b)
		b = append(b, '.')
		return Card, false
	case 2:
		b = append(b, "Refund to be sent to IBAN "...)
		b = g.iban(b, true)
		b = append(b, " by finance."...)
		return IBAN, false
	case 3:
		b = append(b, "US insurance record lists SSN "...)
		b = g.ssn(b)
		b = append(b, '.')
		return SSN, false
	case 4:
		b = append(b, "Contact by email at "...)
		b = g.email(b, given, surname)
		b = append(b, " please."...)
		return Email, false
	case 5:
		b = append(b, "Daughter can be reached on "...)
		b = g.phone(b)
		b = append(b, " after 5pm."...)
		return Phone, false
	case 6:
		b = append(b, []string{"Patient born ", "DOB: ", "Date of birth "}[g.r.IntN(3)]...)
		b = g.date(b, 1930+g.r.IntN(80), 1+g.r.IntN(12), 1+g.r.IntN(28))
		b = append(b, '.')
		return DateOfBirth, false
	case 7:
		b = append(b, "Discussed with "...)
		b = append(b, given...)
		b = append(b, ' ')
		b = append(b, surname...)
		b = append(b, " (next of kin)."...)
		return Name, false
	case 8:
		b = append(b, "Lives at "...)
		b = g.ukPostcode(b)
		b = append(b, " with partner."...)
		return Postcode, false
	case 9:
		b = append(b, "Portal login from "...)
		b = g.ip(b)
		b = append(b, " flagged."...)
		return IP, false
	case 10:
		b = append(b, "Previous admission under "...)
		b = g.mrn(b)
		b = append(b, '.')
		return MRN, false
	// Near misses.
	case 11:
		b = append(b, "Reference "...)
		b = g.nhsMiss(b)
		b = append(b, " on the referral letter."...)
		return "", true
	case 12:
		b = append(b, "Order number "...)
		b = g.cardMiss(b)
		b = append(b, " for the equipment."...)
		return "", true
	case 13:
		b = append(b, "Old account "...)
		b = g.ibanMiss(b)
		b = append(b, " closed."...)
		return "", true
	case 14:
		b = append(b, "Form shows "...)
		b = g.ssnMiss(b)
		b = append(b, " (invalid)."...)
		return "", true
	case 15:
		b = append(b, "Device firmware "...)
		b = g.ipMiss(b)
		b = append(b, " installed."...)
		return "", true
	}
	b = append(b, fillers[g.r.IntN(len(fillers))]...)
	return "", false
}
