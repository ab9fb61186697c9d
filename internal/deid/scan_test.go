package deid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/enclave-ml/enclave/internal/deid/synth"
	"github.com/enclave-ml/enclave/internal/enclave"
)

func scanString(t *testing.T, data string, opts ScanOptions) *Report {
	t.Helper()
	r, err := ScanCSV(context.Background(), strings.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func column(t *testing.T, r *Report, name string) ColumnReport {
	t.Helper()
	for _, c := range r.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %q", name)
	return ColumnReport{}
}

// kinds returns a column's findings as kind → cells, direct ones marked
// with a '!'.
func kinds(c ColumnReport) map[string]int64 {
	out := map[string]int64{}
	for _, f := range c.Findings {
		k := string(f.Kind)
		if f.Direct {
			k += "!"
		}
		out[k] = f.Cells
	}
	return out
}

const scanTable = `name,email,nhs,ssn_plain,code,zip,amount,dob,patient_id,postcode,contact,notes
John Smith,john@x.org,943 476 5919,078051120,078051120,02134,12345,1980-03-12,P-000123,SW1A 1AA,call 07700 900123,Reviewed in clinic today; NHS 943 476 5919 confirmed and discussed with the patient.
Zyxa Qwerty,zq@example.com,401 023 2137,123456789,123456789,90210,54321,12/03/1981,P-000124,EC1A 1BB,none,Patient reports intermittent chest pain on exertion and some breathlessness.
Mary Jones,mj@example.co.uk,NA,219099999,12345,10001,11111,NA,P-000125,M1 1AE,,Email the daughter at daughter@example.com about the appointment next week.
`

func TestScanColumns(t *testing.T) {
	r := scanString(t, scanTable, ScanOptions{})
	if r.Rows != 3 || len(r.Columns) != 12 || r.Format != "csv" {
		t.Fatalf("rows %d, columns %d, format %s", r.Rows, len(r.Columns), r.Format)
	}
	for _, tc := range []struct {
		col     string
		verdict Verdict
		free    bool
		kinds   map[string]int64
	}{
		// Zyxa Qwerty is in no dictionary, but the header says name.
		{"name", VerdictDirect, false, map[string]int64{"name!": 3}},
		{"email", VerdictDirect, false, map[string]int64{"email!": 3}},
		{"nhs", VerdictDirect, false, map[string]int64{"uk-nhs!": 2}},
		// Every value nine digits: bare SSNs count.
		{"ssn_plain", VerdictDirect, false, map[string]int64{"us-ssn!": 3}},
		// One value is not nine digits: they do not.
		{"code", VerdictClean, false, map[string]int64{}},
		// ZIP codes, because of the header; the same shape elsewhere is clean.
		{"zip", VerdictDirect, false, map[string]int64{"postcode!": 3}},
		{"amount", VerdictClean, false, map[string]int64{}},
		{"dob", VerdictDirect, false, map[string]int64{"date-of-birth!": 2}},
		{"patient_id", VerdictDirect, false, map[string]int64{"mrn!": 3}},
		{"postcode", VerdictDirect, false, map[string]int64{"postcode!": 3}},
		// A phone inside short text: a possible identifier.
		{"contact", VerdictPossible, false, map[string]int64{"phone": 0}},
		{"notes", VerdictDirect, true, map[string]int64{"uk-nhs!": 1, "email!": 1}},
	} {
		c := column(t, r, tc.col)
		got := kinds(c)
		if c.Verdict != tc.verdict || c.FreeText != tc.free || len(got) != len(tc.kinds) {
			t.Errorf("%s: verdict %s, free text %v, findings %v; want %s, %v, %v", tc.col, c.Verdict, c.FreeText, got, tc.verdict, tc.free, tc.kinds)
			continue
		}
		for k, n := range tc.kinds {
			if got[k] != n {
				t.Errorf("%s: findings %v, want %v", tc.col, got, tc.kinds)
			}
		}
	}
	contact := column(t, r, "contact")
	if f := contact.Findings[0]; f.EmbeddedCells != 1 || f.ExampleRows[0] != 1 {
		t.Errorf("contact: %+v", f)
	}
	nhs := column(t, r, "nhs")
	if f := nhs.Findings[0]; f.Share != 1 || !slicesEqual(f.ExampleRows, []int64{1, 2}) || nhs.NonNull != 2 {
		t.Errorf("nhs: %+v, non-null %d (NA is null)", f, nhs.NonNull)
	}
	if !r.IdentifiersFound || len(r.DirectIdentifiers) != 10 {
		t.Errorf("direct identifiers %v", r.DirectIdentifiers)
	}
	if !slicesEqual(column(t, r, "name").HeaderHint, []Kind{KindName}) {
		t.Errorf("name's hint: %v", column(t, r, "name").HeaderHint)
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScanThreshold(t *testing.T) {
	data := "ref\n943 476 5919\nabc\ndef\n"
	c := column(t, scanString(t, data, ScanOptions{}), "ref")
	if c.Verdict != VerdictPossible {
		t.Errorf("one NHS number in three: %s", c.Verdict)
	}
	c = column(t, scanString(t, data, ScanOptions{Config: &Config{ColumnThreshold: 0.3}}), "ref")
	if c.Verdict != VerdictDirect {
		t.Errorf("one NHS number in three at threshold 0.3: %s", c.Verdict)
	}
	c = column(t, scanString(t, "ref\nabc\n", ScanOptions{}), "ref")
	if c.Verdict != VerdictClean || len(c.Findings) != 0 {
		t.Errorf("clean column: %+v", c)
	}
}

// TestScanReportHasNoValues scans a synthetic table and checks that no
// value of it appears in the report, as JSON or as text.
func TestScanReportHasNoValues(t *testing.T) {
	var buf bytes.Buffer
	var values []string
	if _, err := synth.WriteCSVLabels(&buf, 300, 11, nil); err != nil {
		t.Fatal(err)
	}
	g := synth.New(11)
	for range 300 {
		cells, _ := g.Next()
		for _, c := range cells {
			if len(c) >= 5 {
				values = append(values, string(c))
			}
		}
	}
	r, err := ScanCSV(context.Background(), bytes.NewReader(buf.Bytes()), ScanOptions{
		QuasiIdentifiers: []string{"age", "sex", "zip"}, SensitiveAttributes: []string{"diagnosis"}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	text := r.Text()
	for _, v := range values {
		if bytes.Contains(j, []byte(v)) || strings.Contains(text, v) {
			t.Fatalf("the report contains the value %q", v)
		}
	}
	for _, want := range []string{`"direct_identifiers":`, `"k_anonymity":`, `"l_diversity":`, `"example_rows":`} {
		if !bytes.Contains(j, []byte(want)) {
			t.Errorf("the JSON lacks %s", want)
		}
	}
	if !strings.Contains(text, "nhs_number") || !strings.Contains(text, "k-anonymity over age, sex, zip") {
		t.Errorf("text report:\n%s", text)
	}
}

func TestKAnonymityAndLDiversity(t *testing.T) {
	data := `age,sex,diagnosis,smoker
30,M,asthma,yes
30,M,diabetes,yes
30,M,asthma,no
30,F,flu,no
40,M,asthma,
40,M,asthma,yes
,M,flu,no
,M,flu,no
`
	r := scanString(t, data, ScanOptions{QuasiIdentifiers: []string{"age", "sex"}, SensitiveAttributes: []string{"diagnosis", "smoker"}})
	k := r.KAnonymity
	// Classes: (30,M) 3 rows, (30,F) 1, (40,M) 2, (null,M) 2.
	want := KAnonymityReport{QuasiIdentifiers: []string{"age", "sex"}, K: 1, Classes: 4, SmallClassSize: 5, ClassesBelow: 4, RowsInSmallClasses: 8}
	if k == nil || k.K != want.K || k.Classes != want.Classes || k.ClassesBelow != want.ClassesBelow ||
		k.RowsInSmallClasses != want.RowsInSmallClasses || k.SmallClassSize != 5 || k.Truncated {
		t.Fatalf("k-anonymity %+v, want %+v", k, want)
	}
	// diagnosis: {asthma, diabetes}, {flu}, {asthma}, {flu}: l = 1.
	// smoker: {yes, no}, {no}, {null, yes}, {no}: l = 1.
	if len(r.LDiversity) != 2 || r.LDiversity[0].L != 1 || r.LDiversity[1].L != 1 {
		t.Fatalf("l-diversity %+v", r.LDiversity)
	}

	// Without the singletons: (30,M) and (40,M) and (null,M).
	data2 := strings.ReplaceAll(data, "30,F,flu,no\n", "")
	data2 = strings.ReplaceAll(data2, ",M,flu,no\n,M,flu,no\n", ",M,flu,no\n,M,cold,yes\n")
	r = scanString(t, data2, ScanOptions{QuasiIdentifiers: []string{"sex", "age"}, SensitiveAttributes: []string{"diagnosis", "smoker"},
		Config: &Config{SmallClassSize: 3}})
	k = r.KAnonymity
	if k.K != 2 || k.Classes != 3 || k.ClassesBelow != 2 || k.RowsInSmallClasses != 4 || k.SmallClassSize != 3 {
		t.Fatalf("k-anonymity %+v", k)
	}
	// diagnosis: {asthma, diabetes} 2, {asthma} 1, {flu, cold} 2 → 1.
	// smoker: {yes, no} 2, {null, yes} 2, {no, yes} 2 → 2.
	if r.LDiversity[0].L != 1 || r.LDiversity[1].L != 2 {
		t.Fatalf("l-diversity %+v", r.LDiversity)
	}
}

func TestKAnonymityTruncated(t *testing.T) {
	data := "id,v\n1,a\n2,a\n3,a\n3,b\n4,a\n"
	r := scanString(t, data, ScanOptions{QuasiIdentifiers: []string{"id"}, SensitiveAttributes: []string{"v"},
		Config: &Config{MaxClasses: 2}})
	k := r.KAnonymity
	if !k.Truncated || k.Classes != 2 || k.UntrackedRows != 3 || !r.LDiversity[0].Truncated {
		t.Fatalf("%+v %+v", k, r.LDiversity)
	}
}

func TestScanErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		opts ScanOptions
		want string
	}{
		{ScanOptions{QuasiIdentifiers: []string{"nope"}}, `no column "nope"`},
		{ScanOptions{QuasiIdentifiers: []string{"a", "a"}}, `listed twice`},
		{ScanOptions{SensitiveAttributes: []string{"a"}}, `needs quasi-identifiers`},
		{ScanOptions{Config: &Config{MRNPatterns: []string{"("}}}, `does not compile`},
	} {
		_, err := ScanCSV(ctx, strings.NewReader("a,b\n1,2\n"), tc.opts)
		if err == nil || enclave.ErrorCode(err) != enclave.CodeInvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ScanCSV(cancelled, strings.NewReader("a\n1\n"), ScanOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled scan: %v", err)
	}
	if _, err := ScanCSV(ctx, strings.NewReader("a,b\n1\n"), ScanOptions{}); enclave.ErrorCode(err) != enclave.CodeInvalidArgument {
		t.Errorf("ragged file: %v", err)
	}
}

type patientRow struct {
	Name      string     `parquet:"name,optional"`
	NHS       int64      `parquet:"nhs_number"`
	DOB       int32      `parquet:"date_of_birth,date"` // days: parquet-go v0.32.0 writes time.Time dates wrongly
	Zip       int32      `parquet:"zip"`
	Amount    int32      `parquet:"amount"`
	Notes     *string    `parquet:"notes,optional"`
	Admission *time.Time `parquet:"admitted,optional,timestamp"`
}

func writeParquetRows[T any](t *testing.T, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestScanParquet(t *testing.T) {
	note := "Seen in clinic with the patient's daughter, contact daughter@example.com for follow-up"
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := []patientRow{
		{Name: "John Smith", NHS: 9434765919, DOB: 3723, Zip: 2134, Amount: 2134, Notes: &note, Admission: &now},
		{Name: "Mary Jones", NHS: 4010232137, DOB: 1827, Zip: 90210, Amount: 90210, Admission: &now},
	}
	data := writeParquetRows(t, rows)
	r, err := ScanParquet(context.Background(), bytes.NewReader(data), int64(len(data)), ScanOptions{QuasiIdentifiers: []string{"zip"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != "parquet" || r.Rows != 2 {
		t.Fatalf("%s, %d rows", r.Format, r.Rows)
	}
	for col, want := range map[string]string{
		"name": "name!", "nhs_number": "uk-nhs!", "date_of_birth": "date-of-birth!", "zip": "postcode!", "notes": "email!",
	} {
		if got := kinds(column(t, r, col)); got[want] == 0 {
			t.Errorf("%s: %v, want %s", col, got, want)
		}
	}
	for _, col := range []string{"amount", "admitted"} {
		if c := column(t, r, col); c.Verdict != VerdictClean {
			t.Errorf("%s: %+v", col, c)
		}
	}
	if r.KAnonymity.K != 1 || r.KAnonymity.Classes != 2 {
		t.Errorf("k-anonymity %+v", r.KAnonymity)
	}
	// Scan dispatches on the content.
	r2, err := Scan(context.Background(), bytes.NewReader(data), int64(len(data)), ScanOptions{})
	if err != nil || r2.Format != "parquet" {
		t.Fatalf("Scan: %v", err)
	}
	csvData := []byte(scanTable)
	r3, err := Scan(context.Background(), bytes.NewReader(csvData), int64(len(csvData)), ScanOptions{})
	if err != nil || r3.Format != "csv" || r3.Rows != 3 {
		t.Fatalf("Scan of CSV: %v", err)
	}
}

func TestDetectFormat(t *testing.T) {
	for _, tc := range []struct {
		name, head, want string
	}{
		{"x.parquet", "PAR1\x00\x01", "parquet"},
		{"x.csv", "a,b\n1,2\n", "csv"},
		{"x", "a;b\n1;2\n3;4\n", "csv"},
		{"x.bin", "\x00\x01\x02", ""},
		{"x.json", `{"a":1}`, ""},
		{"notes.txt", "Dear Dr Smith, thank you for seeing this patient", ""},
	} {
		if got := DetectFormat(tc.name, []byte(tc.head)); got != tc.want {
			t.Errorf("DetectFormat(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestClassCounterAgainstNaive compares k and l with a direct count on
// random classes and values.
func TestClassCounterAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for trial := range 50 {
		c := newClassCounter(1000, 1)
		sizes := map[uint64]int64{}
		values := map[uint64]map[uint64]bool{}
		for range 1 + r.IntN(400) {
			cls, v := uint64(r.IntN(1+trial)), uint64(r.IntN(4))
			i, _ := c.add(cls*7919 + 13)
			c.addSensitive(i, 0, v*104729+1)
			sizes[cls]++
			if values[cls] == nil {
				values[cls] = map[uint64]bool{}
			}
			values[cls][v] = true
		}
		var k, l int64
		for cls, n := range sizes {
			if k == 0 || n < k {
				k = n
			}
			if d := int64(len(values[cls])); l == 0 || d < l {
				l = d
			}
		}
		gotK, classes, _, _ := c.kAnonymity(5)
		if gotK != k || classes != int64(len(sizes)) || c.l(0) != l {
			t.Fatalf("trial %d: k %d, l %d, %d classes; want %d, %d, %d", trial, gotK, c.l(0), classes, k, l, len(sizes))
		}
	}
}
