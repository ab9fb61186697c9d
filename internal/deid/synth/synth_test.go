package synth

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

func TestDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	ta, err := WriteCSV(&a, 500, 7)
	if err != nil {
		t.Fatal(err)
	}
	WriteCSV(&b, 500, 7)
	WriteCSV(&c, 500, 8)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed gave different tables")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("different seeds gave the same table")
	}
	if ta.Bytes != int64(a.Len()) || ta.Rows != 500 {
		t.Fatalf("truth %+v for %d bytes", ta, a.Len())
	}
	recs, err := csv.NewReader(&a).ReadAll()
	if err != nil {
		t.Fatalf("not valid CSV: %v", err)
	}
	if len(recs) != 501 || len(recs[0]) != len(Columns) || recs[0][NotesColumn] != "notes" {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
}

// TestLabels checks the labels against independent checks of the values:
// labelled NHS numbers, cards and IBANs pass their checksums, near misses
// of the check-digit kinds with a wrong check digit fail them.
func TestLabels(t *testing.T) {
	g := New(3)
	col := map[string]int{}
	for i, c := range Columns {
		col[c.Name] = i
	}
	var nearMisses, notes int
	for range 5000 {
		cells, labels := g.Next()
		nhs := strings.NewReplacer(" ", "", "-", "").Replace(string(cells[col["nhs_number"]]))
		switch l := labels[col["nhs_number"]]; {
		case len(l.Kinds) == 1:
			if !nhsOK(nhs) {
				t.Fatalf("labelled NHS number %q fails the check", nhs)
			}
		case l.NearMiss:
			nearMisses++
		}
		card := strings.NewReplacer(" ", "", "-", "").Replace(string(cells[col["card_number"]]))
		if l := labels[col["card_number"]]; len(l.Kinds) == 1 && luhnCheck([]byte(card[:len(card)-1])) != card[len(card)-1] {
			t.Fatalf("labelled card %q fails the Luhn check", card)
		}
		iban := strings.ReplaceAll(string(cells[col["iban"]]), " ", "")
		if l := labels[col["iban"]]; len(l.Kinds) == 1 && ibanCheck(iban[:2], []byte(iban[4:])) != int(iban[2]-'0')*10+int(iban[3]-'0') {
			t.Fatalf("labelled IBAN %q has wrong check digits", iban)
		} else if l.NearMiss && ibanCheck(iban[:2], []byte(iban[4:])) == int(iban[2]-'0')*10+int(iban[3]-'0') {
			t.Fatalf("near-miss IBAN %q has right check digits", iban)
		}
		if len(labels[NotesColumn].Kinds) > 0 {
			notes++
		}
	}
	if nearMisses < 200 || notes < 1000 {
		t.Fatalf("%d NHS near misses, %d notes with identifiers in 5000 rows", nearMisses, notes)
	}
}

func nhsOK(d string) bool {
	if len(d) != 10 {
		return false
	}
	sum := 0
	for i := range 9 {
		sum += int(d[i]-'0') * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && int(d[9]-'0') == check
}
