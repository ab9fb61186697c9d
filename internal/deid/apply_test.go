package deid

import (
	"bytes"
	"context"
	"encoding/csv"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/deid/synth"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tabular"
)

var testKey = []byte("a project key of at least 16 bytes")

func mustRecipe(t testing.TB, y string) *Recipe {
	t.Helper()
	r, err := ParseRecipe([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func applyString(t testing.TB, in string, recipe *Recipe, opts ApplyOptions) (string, *ApplyReport) {
	t.Helper()
	var out bytes.Buffer
	rep, err := ApplyCSV(context.Background(), strings.NewReader(in), &out, recipe, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), rep
}

func readCSV(t testing.TB, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("the output is not valid CSV: %v", err)
	}
	return recs
}

func TestApplyActions(t *testing.T) {
	in := `patient_id,name,email,dob,age,zip,postcode,notes,sex
P1,John Smith,john@x.org,1980-03-12,34,02134,SW1A 1AA,"Call John Smith on 07700 900123, or ""mail"" john@x.org",M
P2,Mary Jones,NA,12/03/1931,92,03601-1234,ec1a1bb,No identifiers here.,F
P3,,,,,,,,
P4,Zed,x@y.com,not a date,abc,hello,M1,NHS 943 476 5919 seen,M
P5,Ann Lee,a@b.org,19991231,89.5,90210,GIR 0AA,,F
`
	recipe := mustRecipe(t, `version: 1
columns:
  name: drop
  email: mask
  patient_id: pseudonymise
  dob: generalise-date
  age: generalise-age
  zip: generalise-postcode
  postcode: generalise-postcode
  notes: redact
`)
	ps := NewHMACPseudonymiser(testKey)
	psn := func(v string) string { return string(ps.Pseudonym(nil, []byte(v))) }
	out, rep := applyString(t, in, recipe, ApplyOptions{Pseudonymiser: ps})
	want := [][]string{
		{"patient_id", "email", "dob", "age", "zip", "postcode", "notes", "sex"},
		{psn("P1"), "****", "1980", "34", "021**", "SW1A", `Call [NAME] on [PHONE], or "mail" [EMAIL]`, "M"},
		{psn("P2"), "NA", "1931", "90+", "000**", "EC1A", "No identifiers here.", "F"},
		{psn("P3"), "", "", "", "", "", "", ""},
		{psn("P4"), "****", "", "", "", "M1", "NHS [UK-NHS] seen", "M"},
		{psn("P5"), "****", "1999", "90+", "902**", "GIR", "", "F"},
	}
	got := readCSV(t, out)
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if rep.RowsIn != 5 || rep.RowsOut != 5 || rep.RowsSuppressed != 0 || rep.RowsDropped != 0 || rep.KAnonymity != nil {
		t.Fatalf("report %+v", rep)
	}
	changed := map[string]int64{}
	for _, c := range rep.Columns {
		changed[c.Name+":"+string(c.Action)] = c.CellsChanged
	}
	wantChanged := map[string]int64{
		"patient_id:pseudonymise": 5, "name:drop": 4, "email:mask": 3, "dob:generalise-date": 4,
		"age:generalise-age": 3, "zip:generalise-postcode": 4, "postcode:generalise-postcode": 3, // M1 stays M1
		"notes:redact": 2, "sex:keep": 0,
	}
	if len(changed) != len(wantChanged) {
		t.Fatalf("columns %v", changed)
	}
	for k, v := range wantChanged {
		if changed[k] != v {
			t.Errorf("cells changed %v, want %v", changed, wantChanged)
			break
		}
	}
	// The delimiter is kept.
	semi := strings.ReplaceAll(strings.ReplaceAll(in, ",", ";"), `"Call John Smith on 07700 900123; or ""mail"" john@x.org"`, "x")
	out, _ = applyString(t, semi, recipe, ApplyOptions{Pseudonymiser: ps})
	if !strings.HasPrefix(out, "patient_id;email;dob;age;zip;postcode;notes;sex\n") {
		t.Fatalf("semicolons: %q", out[:60])
	}
}

func TestApplyDefaultDrop(t *testing.T) {
	out, rep := applyString(t, "a,b,c\n1,2,3\n", mustRecipe(t, "version: 1\ncolumns:\n  c: keep\n  a: mask\ndefault: drop\n"), ApplyOptions{})
	if out != "a,c\n****,3\n" {
		t.Fatalf("%q", out)
	}
	if rep.Columns[1].Action != ActionDrop || rep.Columns[1].CellsChanged != 1 {
		t.Fatalf("%+v", rep.Columns)
	}
}

func TestPseudonyms(t *testing.T) {
	in := "id,n\nalice,1\nbob,2\nalice,3\n"
	recipe := mustRecipe(t, "version: 1\ncolumns:\n  id: pseudonymise\n")
	a, _ := applyString(t, in, recipe, ApplyOptions{Pseudonymiser: NewHMACPseudonymiser(testKey)})
	b, _ := applyString(t, in, recipe, ApplyOptions{Pseudonymiser: NewHMACPseudonymiser(testKey)})
	c, _ := applyString(t, in, recipe, ApplyOptions{Pseudonymiser: NewHMACPseudonymiser([]byte("another project's key, 16+ bytes"))})
	if a != b {
		t.Fatal("the same key gave different pseudonyms")
	}
	ra, rc := readCSV(t, a), readCSV(t, c)
	format := regexp.MustCompile(`^psn_[a-z2-7]{26}$`)
	for i := 1; i < len(ra); i++ {
		if !format.MatchString(ra[i][0]) {
			t.Fatalf("pseudonym %q", ra[i][0])
		}
		if ra[i][0] == rc[i][0] {
			t.Fatal("another key gave the same pseudonym")
		}
	}
	if ra[1][0] != ra[3][0] || ra[1][0] == ra[2][0] {
		t.Fatalf("alice, bob, alice: %q", ra)
	}
	// Concurrent use is safe (run with -race) and stable.
	ps := NewHMACPseudonymiser(testKey)
	want := string(ps.Pseudonym(nil, []byte("alice")))
	done := make(chan string)
	for range 8 {
		go func() { done <- string(ps.Pseudonym(nil, []byte("alice"))) }()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Fatal("unstable under concurrency")
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a short key was accepted")
		}
	}()
	NewHMACPseudonymiser([]byte("short"))
}

// kClasses recomputes, from a CSV output, the size of each class of the
// given columns' values.
func kClasses(t *testing.T, recs [][]string, cols []string) map[string]int {
	t.Helper()
	var idx []int
	for _, c := range cols {
		i := slices.Index(recs[0], c)
		if i < 0 {
			t.Fatalf("no column %s in the output", c)
		}
		idx = append(idx, i)
	}
	classes := map[string]int{}
	for _, r := range recs[1:] {
		var key []string
		for _, i := range idx {
			key = append(key, r[i])
		}
		classes[strings.Join(key, "\x00")]++
	}
	return classes
}

func TestApplyKAnonymity(t *testing.T) {
	var buf bytes.Buffer
	if _, err := synth.WriteCSV(&buf, 3000, 5); err != nil {
		t.Fatal(err)
	}
	recipe := mustRecipe(t, `version: 1
columns:
  name: drop
  notes: redact
  zip: generalise-postcode
  age: generalise-age
k_anonymity: {k: 4, quasi_identifiers: [zip, age, sex]}
`)
	out, rep := applyString(t, buf.String(), recipe, ApplyOptions{})
	recs := readCSV(t, out)
	classes := kClasses(t, recs, []string{"zip", "age", "sex"})
	minK := len(recs)
	for _, n := range classes {
		minK = min(minK, n)
	}
	if minK < 4 {
		t.Fatalf("the output has a class of %d rows", minK)
	}
	suppressed := classes["*\x00*\x00*"]
	if rep.RowsSuppressed == 0 || int64(suppressed) != rep.RowsSuppressed || rep.RowsDropped != 0 {
		t.Fatalf("suppressed %d rows, report %+v", suppressed, rep)
	}
	if rep.RowsIn != 3000 || rep.RowsOut != int64(len(recs)-1) || rep.RowsOut != 3000 {
		t.Fatalf("rows in %d, out %d (%d written)", rep.RowsIn, rep.RowsOut, len(recs)-1)
	}
	if rep.KAnonymity == nil || rep.KAnonymity.K != 4 || rep.KAnonymity.KAchieved != int64(minK) || rep.KAnonymity.Classes != int64(len(classes)) {
		t.Fatalf("k-anonymity %+v, recomputed k %d over %d classes", rep.KAnonymity, minK, len(classes))
	}
	for _, c := range rep.Columns {
		if c.Name == "zip" && c.CellsSuppressed != rep.RowsSuppressed {
			t.Fatalf("zip: %+v", c)
		}
	}

	// Fewer rows to suppress than k: they are dropped.
	in := "g,v\na,1\na,2\na,3\nb,4\nc,5\n"
	out, rep = applyString(t, in, mustRecipe(t, "version: 1\nk_anonymity: {k: 3, quasi_identifiers: [g]}\n"), ApplyOptions{})
	if out != "g,v\na,1\na,2\na,3\n" || rep.RowsDropped != 2 || rep.RowsSuppressed != 0 || rep.KAnonymity.KAchieved != 3 {
		t.Fatalf("%q %+v", out, rep)
	}
	// Enough to suppress: written with "*", after the others.
	in = "g,v\nb,1\na,1\na,2\nc,2\nd,3\na,3\n"
	out, rep = applyString(t, in, mustRecipe(t, "version: 1\nk_anonymity: {k: 3, quasi_identifiers: [g]}\n"), ApplyOptions{})
	if out != "g,v\na,1\na,2\na,3\n*,1\n*,2\n*,3\n" || rep.RowsSuppressed != 3 || rep.KAnonymity.KAchieved != 3 {
		t.Fatalf("%q %+v", out, rep)
	}
}

func TestApplySpill(t *testing.T) {
	// Every row is its own class until the end, where rows come in
	// pairs: with k = 2 all rows are held, far beyond the memory limit.
	const marker = "SECRET-MARKER-"
	var b strings.Builder
	b.WriteString("id,secret\n")
	for i := range 4000 {
		b.WriteString("c" + strconv.Itoa(i) + "," + marker + strconv.Itoa(i) + "\n")
	}
	for i := range 4000 {
		if i%3 != 0 { // a third never reaches k: suppressed
			b.WriteString("c" + strconv.Itoa(i) + "," + marker + "again-" + strconv.Itoa(i) + "\n")
		}
	}
	recipe := mustRecipe(t, "version: 1\nk_anonymity: {k: 2, quasi_identifiers: [id]}\n")
	dir := t.TempDir()
	var spilled []byte
	var spillPath string
	opts := ApplyOptions{TempDir: dir, MemoryLimit: 4 << 10, spillHook: func(path string) {
		spillPath = path
		var err error
		if spilled, err = os.ReadFile(path); err != nil {
			t.Error(err)
		}
	}}
	out, rep := applyString(t, b.String(), recipe, opts)
	if rep.SpilledBytes == 0 || len(spilled) == 0 || int64(len(spilled)) != rep.SpilledBytes {
		t.Fatalf("spilled %d bytes, report %d", len(spilled), rep.SpilledBytes)
	}
	if bytes.Contains(spilled, []byte(marker)) || bytes.Contains(spilled, []byte("c100,")) {
		t.Fatal("the spill file holds plaintext")
	}
	if _, err := os.Stat(spillPath); !os.IsNotExist(err) {
		t.Fatalf("the spill file is still there: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	// The same output, in some order, as without spilling.
	ref, refRep := applyString(t, b.String(), recipe, ApplyOptions{})
	if refRep.SpilledBytes != 0 {
		t.Fatal("spilled under the default limit")
	}
	sorted := func(s string) []string {
		lines := strings.Split(s, "\n")
		slices.Sort(lines)
		return lines
	}
	if !slices.Equal(sorted(out), sorted(ref)) {
		t.Fatal("spilling changed the output")
	}
	if rep.RowsSuppressed != 1334 || rep.RowsOut != 6666 || rep.KAnonymity.KAchieved != 2 {
		t.Fatalf("%+v %+v", rep, rep.KAnonymity)
	}
}

type typedRow struct {
	ID      int64     `parquet:"id"`
	Name    *string   `parquet:"name,optional"`
	Age     int32     `parquet:"age"`
	Score   float64   `parquet:"score"`
	DOB     int32     `parquet:"dob,date"` // days: parquet-go v0.32.0 writes time.Time dates wrongly
	Zip     int32     `parquet:"zip"`
	Smoker  bool      `parquet:"smoker"`
	Notes   *string   `parquet:"notes,optional"`
	Visited time.Time `parquet:"visited,timestamp(microsecond)"`
}

func TestApplyParquet(t *testing.T) {
	str := func(s string) *string { return &s }
	days := func(y int, m time.Month, d int) int32 {
		return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}
	visit := time.Date(2024, 5, 6, 7, 8, 9, 123000, time.UTC)
	rows := []typedRow{
		{1, str("John Smith"), 34, 1.5, days(1980, 3, 12), 2134, true, str("mail john@x.org"), visit},
		{2, nil, 95, -2, days(1929, 1, 2), 3601, false, nil, visit},
		{3, str("Mary Jones"), 40, 0, days(1984, 7, 1), 90210, true, str("nothing"), visit},
	}
	data := writeParquetRows(t, rows)
	recipe := mustRecipe(t, `version: 1
columns:
  name: pseudonymise
  dob: generalise-date
  age: generalise-age
  zip: generalise-postcode
  notes: redact
`)
	var out bytes.Buffer
	rep, err := ApplyParquet(context.Background(), bytes.NewReader(data), int64(len(data)), &out, recipe,
		ApplyOptions{Pseudonymiser: NewHMACPseudonymiser(testKey)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsOut != 3 {
		t.Fatalf("%+v", rep)
	}
	pr, err := tabular.NewParquetRows(bytes.NewReader(out.Bytes()), int64(out.Len()), tabular.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var names []string
	types := map[string]tabular.Type{}
	for _, f := range pr.Columns() {
		names = append(names, f.Name)
		types[f.Name] = f.Type
	}
	if !slices.Equal(names, []string{"id", "name", "age", "score", "dob", "zip", "smoker", "notes", "visited"}) {
		t.Fatalf("columns %v", names)
	}
	for col, typ := range map[string]tabular.Type{
		"id": tabular.TypeInteger, "score": tabular.TypeFloat, "smoker": tabular.TypeBoolean, "visited": tabular.TypeTimestamp,
		"name": tabular.TypeString, "age": tabular.TypeString, "dob": tabular.TypeString, "zip": tabular.TypeString, "notes": tabular.TypeString,
	} {
		if types[col] != typ {
			t.Errorf("%s is %s, want %s", col, types[col], typ)
		}
	}
	var got [][]string
	for pr.Next() {
		var r []string
		for _, v := range pr.Row() {
			c := cellOf(&v)
			if v.IsNull() {
				r = append(r, "<null>")
			} else {
				r = append(r, string(c.appendText(nil)))
			}
		}
		got = append(got, r)
	}
	if err := pr.Err(); err != nil {
		t.Fatal(err)
	}
	ps := NewHMACPseudonymiser(testKey)
	psn := func(v string) string { return string(ps.Pseudonym(nil, []byte(v))) }
	vt := visit.Format(time.RFC3339Nano)
	want := [][]string{
		{"1", psn("John Smith"), "34", "1.5", "1980", "021**", "true", "mail [EMAIL]", vt},
		{"2", "<null>", "90+", "-2", "1929", "000**", "false", "<null>", vt},
		{"3", psn("Mary Jones"), "40", "0", "1984", "902**", "true", "nothing", vt},
	}
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}

	// k-anonymity makes the quasi-identifiers text, for the "*".
	out.Reset()
	recipe = mustRecipe(t, "version: 1\ncolumns:\n  name: drop\n  notes: drop\nk_anonymity: {k: 2, quasi_identifiers: [smoker]}\n")
	rep, err = ApplyParquet(context.Background(), bytes.NewReader(data), int64(len(data)), &out, recipe, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsOut != 2 || rep.RowsDropped != 1 || rep.KAnonymity.KAchieved != 2 {
		t.Fatalf("%+v %+v", rep, rep.KAnonymity)
	}
	pr2, err := tabular.NewParquetRows(bytes.NewReader(out.Bytes()), int64(out.Len()), tabular.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pr2.Columns() {
		if f.Name == "smoker" && f.Type != tabular.TypeString || f.Name == "id" && f.Type != tabular.TypeInteger {
			t.Errorf("%s is %s", f.Name, f.Type)
		}
	}
}

func TestApplyErrors(t *testing.T) {
	ctx := context.Background()
	in := "a,b\n1,2\n3,4\n5,6\n"
	for _, tc := range []struct {
		recipe string
		opts   ApplyOptions
		code   enclave.Code
		want   string
	}{
		{"version: 1\ncolumns:\n  c: mask\n", ApplyOptions{}, enclave.CodeInvalidArgument, `line 3: column "c" is not in the file`},
		{"version: 1\ncolumns:\n  a: pseudonymise\n", ApplyOptions{}, enclave.CodeFailedPrecondition, `pseudonymises column "a"`},
		{"version: 1\nk_anonymity: {k: 2, quasi_identifiers: [a]}\n", ApplyOptions{Config: &Config{MaxClasses: 2}}, enclave.CodeTooLarge, "more than 2 distinct combinations"},
	} {
		_, err := ApplyCSV(ctx, strings.NewReader(in), &bytes.Buffer{}, mustRecipe(t, tc.recipe), tc.opts)
		if enclave.ErrorCode(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %s %q", tc.recipe, err, tc.code, tc.want)
		}
	}
	if _, err := ApplyCSV(ctx, strings.NewReader(in), &bytes.Buffer{}, nil, ApplyOptions{}); err == nil {
		t.Error("no recipe accepted")
	}
}

func FuzzApplyCSV(f *testing.F) {
	for _, s := range []string{
		"a,b,c,d,e,f,g\n1,2,3,4,5,6,7\n",
		"a,b,c,d,e,f,g\nJohn Smith,x@y.org,1980-01-02,95,02134,SW1A 1AA,\"NHS 943 476 5919\"\n",
		"a;b;c;d;e;f;g\n;;;;;;\n",
		"a,b,c,d,e,f,g\n\"\",NA,\"x\ny\",-1,1e400,GIR 0AA,+44 7700 900123\n",
	} {
		f.Add([]byte(s))
	}
	recipe := mustRecipe(f, `version: 1
columns:
  a: pseudonymise
  b: mask
  c: generalise-date
  d: generalise-age
  e: generalise-postcode
  f: generalise-postcode
  g: redact
k_anonymity: {k: 2, quasi_identifiers: [d, e]}
`)
	ps := NewHMACPseudonymiser(testKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		rep, err := ApplyCSV(context.Background(), bytes.NewReader(data), &out, recipe, ApplyOptions{Pseudonymiser: ps, MemoryLimit: 256, TempDir: t.TempDir()})
		if err != nil {
			return
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatalf("invalid output CSV: %v", err)
		}
		if int64(len(recs)-1) != rep.RowsOut || rep.RowsIn != rep.RowsOut+rep.RowsDropped {
			t.Fatalf("%d records written, report %+v", len(recs)-1, rep)
		}
	})
}

// TestApplyRandom applies a recipe with k-anonymity to random tables,
// spilling early, and checks the invariants: valid CSV, every input row
// written or dropped, every output class at least k rows, nulls kept.
func TestApplyRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	values := []string{"", "NA", "a", "b", "John Smith", "02134", "90210", "SW1A 1AA", "34", "95", "1980-03-12", "x,y", `q"q`}
	recipe := mustRecipe(t, `version: 1
columns:
  a: generalise-postcode
  b: generalise-age
  c: redact
  d: mask
k_anonymity: {k: 3, quasi_identifiers: [a, b]}
`)
	for trial := range 200 {
		var in strings.Builder
		in.WriteString("a,b,c,d\n")
		rows := r.IntN(60)
		for range rows {
			for j := range 4 {
				if j > 0 {
					in.WriteByte(',')
				}
				v := values[r.IntN(len(values))]
				if strings.ContainsAny(v, ",\"") {
					v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
				}
				in.WriteString(v)
			}
			in.WriteByte('\n')
		}
		out, rep := applyString(t, in.String(), recipe, ApplyOptions{MemoryLimit: int64(r.IntN(300)), TempDir: t.TempDir()})
		recs := readCSV(t, out)
		if rep.RowsIn != int64(rows) || rep.RowsOut != int64(len(recs)-1) || rep.RowsIn != rep.RowsOut+rep.RowsDropped {
			t.Fatalf("trial %d: %d rows in, %d records out, report %+v", trial, rows, len(recs)-1, rep)
		}
		for key, n := range kClasses(t, recs, []string{"a", "b"}) {
			if n < 3 {
				t.Fatalf("trial %d: class %q has %d rows", trial, key, n)
			}
		}
		if rep.RowsOut > 0 && rep.KAnonymity.KAchieved < 3 {
			t.Fatalf("trial %d: k achieved %d", trial, rep.KAnonymity.KAchieved)
		}
	}
}
