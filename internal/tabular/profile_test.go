package tabular

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

func profileCSV(t *testing.T, text string, opts Options) *Schema {
	t.Helper()
	s, err := Profile(context.Background(), strings.NewReader(text), FormatCSV, opts)
	if err != nil {
		t.Fatalf("Profile: %v", err)
	}
	return s
}

func column(t *testing.T, s *Schema, name string) Column {
	t.Helper()
	for _, c := range s.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %q in %+v", name, s.Columns)
	return Column{}
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// csvOf builds a one-column CSV of the given values.
func csvOf(values ...string) string {
	return "v\n" + strings.Join(values, "\n") + "\n"
}

func TestInferTypes(t *testing.T) {
	tests := []struct {
		name     string
		values   []string
		want     Type
		min, max string
	}{
		{"integers", []string{"3", "-1", "10"}, TypeInteger, "-1", "10"},
		{"padded integers", []string{" 3", "4 ", "\t5"}, TypeInteger, "3", "5"},
		{"integers and floats widen", []string{"1", "2.5", "3"}, TypeFloat, "1", "3"},
		{"floats then integers widen the same", []string{"2.5", "1", "3"}, TypeFloat, "1", "3"},
		{"exponent", []string{"1e3", "2"}, TypeFloat, "2", "1000"},
		{"leading zeros are identifiers", []string{"007", "123", "042"}, TypeString, "", ""},
		{"one leading zero spoils the column", []string{"1", "2", "01"}, TypeString, "", ""},
		{"zero alone is a number", []string{"0", "10"}, TypeInteger, "0", "10"},
		{"plus sign is an identifier", []string{"+4420", "1"}, TypeString, "", ""},
		{"beyond int64 is an identifier", []string{"12345678901234567890123", "1"}, TypeString, "", ""},
		{"beyond int64 with fractions is a float", []string{"12345678901234567890123", "1.5"}, TypeFloat, "1.5", "1.2345678901234568e+22"},
		{"int64 extremes", []string{"9223372036854775807", "-9223372036854775808"}, TypeInteger, "-9223372036854775808", "9223372036854775807"},
		{"booleans", []string{"true", "FALSE", "True"}, TypeBoolean, "false", "true"},
		{"all true", []string{"true", "TRUE"}, TypeBoolean, "true", "true"},
		{"yes/no stay text", []string{"yes", "no"}, TypeString, "", ""},
		{"0/1 are integers", []string{"0", "1"}, TypeInteger, "0", "1"},
		{"booleans and numbers are text", []string{"true", "1"}, TypeString, "", ""},
		{"dates", []string{"2024-03-01", "1999-12-31"}, TypeDate, "1999-12-31", "2024-03-01"},
		{"invalid date is text", []string{"2024-03-01", "2024-02-30"}, TypeString, "", ""},
		{"other date layouts are text", []string{"03/01/2024"}, TypeString, "", ""},
		{"timestamps with zones compare as instants", []string{"2024-01-01T01:00:00+02:00", "2023-12-31T23:30:00Z"}, TypeTimestamp, "2023-12-31T23:00:00Z", "2023-12-31T23:30:00Z"},
		{"dates and timestamps widen", []string{"2024-01-02", "2024-01-01T12:00:00Z"}, TypeTimestamp, "2024-01-01T12:00:00Z", "2024-01-02T00:00:00Z"},
		{"dates and numbers are text", []string{"2024-01-02", "5"}, TypeString, "", ""},
		{"non-finite floats", []string{"1.5", "inf", "-Infinity"}, TypeFloat, "-Inf", "+Inf"},
		{"all null", []string{"NA", "NULL"}, TypeString, "", ""},
		{"text", []string{"alpha", "beta"}, TypeString, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := column(t, profileCSV(t, csvOf(tt.values...), Options{}), "v")
			if c.Type != tt.want {
				t.Fatalf("type = %s, want %s", c.Type, tt.want)
			}
			if tt.want == TypeString {
				if c.Min != nil || c.Max != nil {
					t.Errorf("string min/max present by default: %s %s", str(c.Min), str(c.Max))
				}
				return
			}
			if str(c.Min) != tt.min || str(c.Max) != tt.max {
				t.Errorf("min, max = %s, %s; want %s, %s", str(c.Min), str(c.Max), tt.min, tt.max)
			}
		})
	}
}

// Inference must not depend on the order of the rows.
func TestInferOrderIndependent(t *testing.T) {
	sets := [][]string{
		{"1", "2.5", "12345678901234567890123"},
		{"2024-01-02", "2024-01-01T12:00:00Z", "2024-01-03"},
		{"1", "2", "x"},
		{"007", "1"},
	}
	for _, set := range sets {
		var want Type
		for i := range set {
			rotated := append(append([]string{}, set[i:]...), set[:i]...)
			got := column(t, profileCSV(t, csvOf(rotated...), Options{}), "v").Type
			if i == 0 {
				want = got
			} else if got != want {
				t.Errorf("%v: type %s, but %s for %v", set, got, want, rotated)
			}
		}
	}
}

func TestNullTokens(t *testing.T) {
	// Two columns: encoding/csv skips blank lines, as pandas does, so a
	// one-column file cannot hold an empty field.
	s := profileCSV(t, "v,k\n1,k\n,k\nNA,k\nN/A,k\nNULL,k\nnull,k\nNaN,k\n2,k\nna,k\n", Options{})
	c := column(t, s, "v")
	if c.NullCount != 6 || c.Type != TypeString { // "na" is text: matching is exact
		t.Errorf("null_count %d type %s, want 6 string", c.NullCount, c.Type)
	}

	// With NaN read as a value it is a non-finite float.
	s = profileCSV(t, "v,k\n1,k\nNaN,k\n,k\n2.5,k\n", Options{ReaderOptions: ReaderOptions{NullTokens: []string{""}}})
	c = column(t, s, "v")
	if c.Type != TypeFloat || c.NullCount != 1 || c.NonFiniteCount != 1 || c.Mean == nil || *c.Mean != 1.75 {
		t.Errorf("NaN as value: %+v", c)
	}

	// No null tokens at all: the empty field is an empty string.
	s = profileCSV(t, "a,b\n,x\n", Options{ReaderOptions: ReaderOptions{NullTokens: []string{}}})
	if c := column(t, s, "a"); c.NullCount != 0 || c.Type != TypeString || *c.MinLength != 0 {
		t.Errorf("empty token not null: %+v", c)
	}
}

func TestNumericStatistics(t *testing.T) {
	// Welford keeps the variance exact where the textbook formula
	// cancels catastrophically: 1e9 + {4, 7, 13, 16} has variance 30.
	s := profileCSV(t, csvOf("1000000004", "1000000007", "1000000013", "1000000016"), Options{})
	c := column(t, s, "v")
	if c.Mean == nil || *c.Mean != 1000000010 {
		t.Errorf("mean = %v", c.Mean)
	}
	if c.StdDev == nil || math.Abs(*c.StdDev-math.Sqrt(30)) > 1e-9 {
		t.Errorf("stddev = %v, want %v", *c.StdDev, math.Sqrt(30))
	}

	// One value: a mean, no sample standard deviation.
	c = column(t, profileCSV(t, csvOf("5"), Options{}), "v")
	if c.Mean == nil || *c.Mean != 5 || c.StdDev != nil {
		t.Errorf("one value: mean %v stddev %v", c.Mean, c.StdDev)
	}

	// Infinities are extremes but not in the mean.
	c = column(t, profileCSV(t, csvOf("1", "3", "inf"), Options{}), "v")
	if *c.Mean != 2 || c.NonFiniteCount != 1 || str(c.Max) != "+Inf" {
		t.Errorf("with inf: %+v", c)
	}

	// Overflowing sums leave the mean out rather than store Inf, which JSON
	// cannot carry.
	c = column(t, profileCSV(t, csvOf("1e308", "1.7e308", "-1e308"), Options{}), "v")
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("marshal: %v", err)
	}
}

func TestDistinctCount(t *testing.T) {
	// Numbers compare as numbers: 1, 1.0 and 1e0 are one value.
	c := column(t, profileCSV(t, csvOf("1", "1.0", "1e0", "2"), Options{}), "v")
	if c.Type != TypeFloat || c.DistinctCount != 2 {
		t.Errorf("numbers: %s distinct %d, want float 2", c.Type, c.DistinctCount)
	}
	// Text compares as text.
	c = column(t, profileCSV(t, csvOf("1", "1.0", "x", "x"), Options{}), "v")
	if c.Type != TypeString || c.DistinctCount != 3 {
		t.Errorf("text: %s distinct %d, want string 3", c.Type, c.DistinctCount)
	}
	// Booleans in any case are two values.
	c = column(t, profileCSV(t, csvOf("true", "TRUE", "False"), Options{}), "v")
	if c.DistinctCount != 2 {
		t.Errorf("booleans: distinct %d", c.DistinctCount)
	}

	// Exact up to the limit, estimated beyond it.
	for _, n := range []int{1000, 10000, 10001, 50000, 300000} {
		var b strings.Builder
		b.WriteString("id,code\n")
		for i := range n {
			fmt.Fprintf(&b, "%d,c%d\n", i, i%(n/2+1))
		}
		s := profileCSV(t, b.String(), Options{})
		for _, col := range s.Columns {
			want := int64(n)
			if col.Name == "code" {
				want = int64(min(n, n/2+1))
			}
			exact := want <= 10000
			if col.DistinctApproximate == exact {
				t.Errorf("n=%d %s: approximate=%v", n, col.Name, col.DistinctApproximate)
			}
			if exact && col.DistinctCount != want {
				t.Errorf("n=%d %s: distinct %d, want exactly %d", n, col.Name, col.DistinctCount, want)
			}
			if rel := math.Abs(float64(col.DistinctCount-want)) / float64(want); rel > 0.03 {
				t.Errorf("n=%d %s: distinct %d, want %d ± 3%%", n, col.Name, col.DistinctCount, want)
			}
		}
	}
}

func TestStringStatistics(t *testing.T) {
	long := strings.Repeat("é", 100)
	text := csvOf("Zoe", "adam", "Émile", long)
	c := column(t, profileCSV(t, text, Options{}), "v")
	if c.Min != nil || c.Max != nil {
		t.Errorf("string min/max recorded without being asked: %s %s", str(c.Min), str(c.Max))
	}
	if *c.MinLength != 3 || *c.MaxLength != 100 {
		t.Errorf("lengths %d..%d, want 3..100 (characters, not bytes)", *c.MinLength, *c.MaxLength)
	}

	c = column(t, profileCSV(t, text, Options{StringMinMax: true}), "v")
	if str(c.Min) != "Zoe" || str(c.Max) != strings.Repeat("é", 64) {
		t.Errorf("min %q max %q; want Zoe and 64 é", str(c.Min), str(c.Max))
	}
	c = column(t, profileCSV(t, text, Options{StringMinMax: true, StringTruncate: 2}), "v")
	if str(c.Min) != "Zo" || str(c.Max) != "éé" {
		t.Errorf("truncated to 2: %q %q", str(c.Min), str(c.Max))
	}
	// Numeric columns are unaffected by the option.
	c = column(t, profileCSV(t, csvOf("10", "9"), Options{StringMinMax: true}), "v")
	if str(c.Min) != "9" {
		t.Errorf("numeric min %s", str(c.Min))
	}
}

func TestProfileShapes(t *testing.T) {
	s := profileCSV(t, "a,b,c\n", Options{})
	if s.Rows != 0 || len(s.Columns) != 3 {
		t.Fatalf("header only: %+v", s)
	}
	for _, c := range s.Columns {
		if c.Type != TypeString || c.NullCount != 0 || c.DistinctCount != 0 || c.MinLength != nil {
			t.Errorf("header-only column %+v", c)
		}
	}

	s = profileCSV(t, "name;note\nann;\"two\nlines; here\"\nbob;x\n", Options{})
	if s.Delimiter != ";" || s.Rows != 2 || len(s.Columns) != 2 {
		t.Errorf("quoted newline: %+v", s)
	}
	if c := column(t, s, "note"); *c.MaxLength != int64(len("two\nlines; here")) {
		t.Errorf("quoted newline length %d", *c.MaxLength)
	}

	// A BOM is not part of the first column's name.
	s = profileCSV(t, "\ufeffid,x\n1,2\n", Options{})
	if s.Columns[0].Name != "id" || s.Columns[0].Type != TypeInteger {
		t.Errorf("BOM: %+v", s.Columns[0])
	}
	// CRLF line ends.
	s = profileCSV(t, "id,x\r\n1,2\r\n3,4\r\n", Options{})
	if s.Rows != 2 || column(t, s, "x").Type != TypeInteger {
		t.Errorf("CRLF: %+v", s)
	}
}

// Profiling the same input twice gives byte-identical JSON.
func TestProfileDeterministic(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name,score,when\n")
	for i := range 40000 {
		fmt.Fprintf(&b, "%d,name%d,%g,2024-01-%02d\n", i, i%15000, float64(i)*0.37, i%28+1)
	}
	var first []byte
	for range 3 {
		s := profileCSV(t, b.String(), Options{StringMinMax: true})
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
		} else if !bytes.Equal(first, out) {
			t.Fatalf("profiles differ:\n%s\n%s", first, out)
		}
	}
}

func TestProfileCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Profile(ctx, strings.NewReader(csvOf("1", "2")), FormatCSV, Options{})
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestProfileFormats(t *testing.T) {
	if _, err := Profile(context.Background(), strings.NewReader("x"), FormatUnknown, Options{}); err == nil {
		t.Error("unknown format accepted")
	}
	// Parquet through Profile needs random access.
	if _, err := Profile(context.Background(), struct{ *strings.Reader }{strings.NewReader("PAR1")}, FormatParquet, Options{}); err == nil {
		t.Error("Parquet from a plain reader accepted")
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name string
		head string
		want Format
	}{
		{"data.parquet", "PAR1\x15\x04", FormatParquet},
		{"data.bin", "PAR1\x15\x04", FormatParquet},
		{"data.csv", "PAR1\x15\x04", FormatParquet},
		{"secret.parquet", "PARE\x15\x04", FormatParquet},
		{"data.parquet", "a,b\n1,2\n", FormatUnknown},
		{"data.csv", "a,b\n1,2\n", FormatCSV},
		{"DATA.CSV", "a\n1\n", FormatCSV},
		{"data.tsv", "a\tb\n", FormatCSV},
		{"data.csv", "a,b\x00\n", FormatUnknown},
		{"data.csv", "a,\xff\n", FormatUnknown},
		{"data.csv", "", FormatUnknown},
		{"data.csv", "a,é", FormatCSV},
		{"data.csv", "a,\xc3", FormatCSV}, // a rune cut by the head's end
		{"export", "a;b;c\n1;2;3\n4;5;6\n", FormatCSV},
		{"export.txt", "a|b\n1|2\n", FormatCSV},
		{"notes.txt", "Dear reader, hello.\nThis is prose; not a table.\n", FormatUnknown},
		{"notes.txt", "one line, only\n", FormatUnknown},
		{"data.csv.gz", "\x1f\x8b\x08", FormatUnknown},
		{"data.json", "{\"a\":1,\"b\":2}\n{\"a\":1,\"b\":2}\n", FormatUnknown},
	}
	for _, tt := range tests {
		if got := DetectFormat(tt.name, []byte(tt.head)); got != tt.want {
			t.Errorf("DetectFormat(%q, %q) = %q, want %q", tt.name, tt.head, got, tt.want)
		}
	}
}

// The profile does not depend on how many goroutines compute it.
func TestParallelismSameProfile(t *testing.T) {
	rows := patients(4000, 11)
	csvText := patientsCSV(rows)
	pq := writeParquet(t, rows, 900)
	var wantCSV, wantPQ []byte
	for _, p := range []int{1, 2, 3, 8} {
		opts := Options{Parallelism: p, StringMinMax: true, DistinctExactLimit: 500}
		c, _ := json.Marshal(profileCSV(t, csvText, opts))
		q, _ := json.Marshal(profileParquet(t, pq, opts))
		if wantCSV == nil {
			wantCSV, wantPQ = c, q
			continue
		}
		if !bytes.Equal(c, wantCSV) {
			t.Errorf("CSV profile with parallelism %d differs", p)
		}
		if !bytes.Equal(q, wantPQ) {
			t.Errorf("Parquet profile with parallelism %d differs", p)
		}
	}
}

// In a wide CSV file all columns count distinct values at once, so they
// share a budget of exact hashes.
func TestDistinctBudgetWideFile(t *testing.T) {
	const cols = 2048
	var b strings.Builder
	for j := range cols {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "c%d", j)
	}
	b.WriteByte('\n')
	for i := range 600 {
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", i)
		}
		b.WriteByte('\n')
	}
	s := profileCSV(t, b.String(), Options{ReaderOptions: ReaderOptions{Limits: Limits{MaxRecordBytes: 1 << 20}}})
	// 2 Mi hashes over 2 × 2048 sets: 512 exact per set; 600 values are
	// estimated.
	c := s.Columns[cols-1]
	if !c.DistinctApproximate || math.Abs(float64(c.DistinctCount)-600) > 18 {
		t.Errorf("wide file: distinct %d approximate %v", c.DistinctCount, c.DistinctApproximate)
	}
	// A narrow file keeps the full limit.
	var values []string
	for i := range 600 {
		values = append(values, strconv.Itoa(i))
	}
	c = column(t, profileCSV(t, csvOf(values...), Options{}), "v")
	if c.DistinctApproximate || c.DistinctCount != 600 {
		t.Errorf("narrow file: distinct %d approximate %v", c.DistinctCount, c.DistinctApproximate)
	}
}
