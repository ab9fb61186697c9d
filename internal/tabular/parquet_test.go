package tabular

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// patient is a row of the Parquet files the tests write: every logical
// type, nullable columns, a struct and a list.
type patient struct {
	ID      int64      `parquet:"id"`
	Age     *int32     `parquet:"age,optional"`
	Score   *float64   `parquet:"score,optional"`
	Smoker  *bool      `parquet:"smoker,optional"`
	Name    *string    `parquet:"name,optional"`
	Born    *int32     `parquet:"born,optional,date"` // days; parquet-go v0.32.0 writes *time.Time dates wrongly
	Seen    *time.Time `parquet:"seen,optional,timestamp(microsecond)"`
	Address struct {
		City string `parquet:"city"`
	} `parquet:"address"`
	Codes []string `parquet:"codes,list"`
}

// patients generates n rows deterministically, with nulls.
func patients(n int, seed uint64) []patient {
	r := rand.New(rand.NewPCG(seed, 1))
	cities := []string{"Basel", "Bern", "Zürich", "Genève"}
	out := make([]patient, n)
	for i := range out {
		p := &out[i]
		p.ID = int64(i) - 10
		if r.IntN(10) > 0 {
			p.Age = ptr(int32(r.IntN(100)))
		}
		if r.IntN(5) > 0 {
			p.Score = ptr(math.Round(r.NormFloat64()*1000) / 8)
		}
		if r.IntN(3) > 0 {
			p.Smoker = ptr(r.IntN(4) == 0)
		}
		if r.IntN(7) > 0 {
			p.Name = ptr(fmt.Sprintf("patient-%d-é", r.IntN(n)))
		}
		if r.IntN(8) > 0 {
			p.Born = ptr(int32(time.Date(1920+r.IntN(100), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Unix() / 86400))
		}
		if r.IntN(9) > 0 {
			p.Seen = ptr(time.Unix(1.6e9+r.Int64N(1e8), r.Int64N(1e6)*1000).UTC())
		}
		p.Address.City = cities[r.IntN(len(cities))]
		for range r.IntN(4) {
			p.Codes = append(p.Codes, fmt.Sprintf("C%02d", r.IntN(30)))
		}
	}
	return out
}

// writeParquet writes rows in row groups of rowGroup rows and small pages.
func writeParquet[T any](t testing.TB, rows []T, rowGroup int64, options ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	options = append([]parquet.WriterOption{parquet.MaxRowsPerRowGroup(rowGroup), parquet.PageBufferSize(2048)}, options...)
	w := parquet.NewGenericWriter[T](&buf, options...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// patientsCSV writes the same rows as CSV.
func patientsCSV(rows []patient) string {
	var b strings.Builder
	b.WriteString("id,age,score,smoker,name,born,seen,address.city\n")
	opt := func(ok bool, s func() string) string {
		if !ok {
			return ""
		}
		return s()
	}
	for _, p := range rows {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s,%s,%s\n", p.ID,
			opt(p.Age != nil, func() string { return strconv.Itoa(int(*p.Age)) }),
			opt(p.Score != nil, func() string { return strconv.FormatFloat(*p.Score, 'g', -1, 64) }),
			opt(p.Smoker != nil, func() string { return strconv.FormatBool(*p.Smoker) }),
			opt(p.Name != nil, func() string { return *p.Name }),
			opt(p.Born != nil, func() string { return dateString(int64(*p.Born)) }),
			opt(p.Seen != nil, func() string { return p.Seen.Format(time.RFC3339Nano) }),
			p.Address.City)
	}
	return b.String()
}

func profileParquet(t *testing.T, data []byte, opts Options) *Schema {
	t.Helper()
	s, err := ProfileParquet(context.Background(), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatalf("ProfileParquet: %v", err)
	}
	return s
}

// The same data profiled from Parquet (declared types, several row groups
// and pages, nulls) and from CSV (inferred types) gives the same profile.
func TestParquetMatchesCSV(t *testing.T) {
	rows := patients(5000, 1)
	data := writeParquet(t, rows, 700)
	opts := Options{StringMinMax: true, DistinctExactLimit: 1000}
	pq := profileParquet(t, data, opts)
	cs := profileCSV(t, patientsCSV(rows), opts)

	if pq.Format != FormatParquet || pq.Rows != 5000 || cs.Rows != 5000 {
		t.Fatalf("rows: parquet %d csv %d", pq.Rows, cs.Rows)
	}
	if n := len(openTestParquet(t, data).RowGroups()); n < 7 {
		t.Fatalf("only %d row groups", n)
	}
	wantTypes := map[string]Type{"id": TypeInteger, "age": TypeInteger, "score": TypeFloat, "smoker": TypeBoolean,
		"name": TypeString, "born": TypeDate, "seen": TypeTimestamp, "address.city": TypeString}
	for _, c := range cs.Columns {
		p := column(t, pq, c.Name)
		if p.Type != wantTypes[c.Name] {
			t.Errorf("%s: parquet type %s, want %s", c.Name, p.Type, wantTypes[c.Name])
		}
		p.Physical = ""
		pj, _ := json.Marshal(p)
		cj, _ := json.Marshal(c)
		if !bytes.Equal(pj, cj) {
			t.Errorf("%s differs:\nparquet %s\ncsv     %s", c.Name, pj, cj)
		}
	}
	if got := column(t, pq, "seen").Physical; got != "INT64 TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)" {
		t.Errorf("physical type %q", got)
	}

	// The list column is profiled element by element, in file order.
	if len(pq.Columns) != 9 || pq.Columns[8].Name != "codes.list.element" {
		t.Fatalf("columns %v", names(pq))
	}
	codes := pq.Columns[8]
	var elems, distinct = 0, map[string]bool{}
	for _, p := range rows {
		elems += len(p.Codes)
		for _, c := range p.Codes {
			distinct[c] = true
		}
	}
	if !codes.Repeated || codes.Type != TypeString || codes.DistinctCount != int64(len(distinct)) || str(codes.Min) != "C00" {
		t.Errorf("codes: %+v (want %d distinct)", codes, len(distinct))
	}
	// Rows without codes are one null (an empty list) each.
	empty := 0
	for _, p := range rows {
		if len(p.Codes) == 0 {
			empty++
		}
	}
	if codes.NullCount != int64(empty) {
		t.Errorf("codes nulls %d, want %d empty lists", codes.NullCount, empty)
	}
}

func names(s *Schema) []string {
	var out []string
	for _, c := range s.Columns {
		out = append(out, c.Name)
	}
	return out
}

func openTestParquet(t *testing.T, data []byte) *parquet.File {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Statistics are computed from the values, whether or not the writer put
// statistics in the footer.
func TestParquetWithoutFooterStatistics(t *testing.T) {
	rows := patients(3000, 2)
	with := profileParquet(t, writeParquet(t, rows, 500), Options{})
	without := profileParquet(t, writeParquet(t, rows, 500,
		parquet.SkipPageBounds("age"), parquet.SkipPageBounds("score"), parquet.SkipPageBounds("name"),
		parquet.DataPageStatistics(false)), Options{})
	a, _ := json.Marshal(with)
	b, _ := json.Marshal(without)
	if !bytes.Equal(a, b) {
		t.Errorf("profiles differ:\n%s\n%s", a, b)
	}
}

type otherTypes struct {
	Ratio   float32  `parquet:"ratio"`
	Price   int64    `parquet:"price,decimal(2:12)"`
	Small   int32    `parquet:"small,decimal(1:5)"`
	UID     [16]byte `parquet:"uid,uuid"`
	Big     uint64   `parquet:"big"`
	Unsig   uint32   `parquet:"unsig"`
	Blob    []byte   `parquet:"blob"`
	Kind    string   `parquet:"kind,enum"`
	Raw     string   `parquet:"raw,bytes"`
	AtMilli int64    `parquet:"at_milli,timestamp(millisecond)"`
	AtNano  int64    `parquet:"at_nano,timestamp(nanosecond)"`
	Clock   int64    `parquet:"clock,time(microsecond)"`
	Nothing *int64   `parquet:"nothing,optional"`
}

func TestParquetTypes(t *testing.T) {
	rows := []otherTypes{
		{Ratio: 0.5, Price: 12345, Small: -15, UID: [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8},
			Big: math.MaxUint64, Unsig: math.MaxUint32, Blob: []byte{0, 1, 2}, Kind: "a", Raw: "x",
			AtMilli: 1700000000123, AtNano: 1700000000123456789, Clock: (13*3600 + 5) * 1e6},
		{Ratio: -2.25, Price: -5, Small: 7, Big: 3, Unsig: 0, Blob: []byte{}, Kind: "b", Raw: "yy",
			AtMilli: -1, AtNano: 0, Clock: 999},
	}
	s := profileParquet(t, writeParquet(t, rows, 10), Options{StringMinMax: true})
	check := func(name string, typ Type, min, max string) {
		t.Helper()
		c := column(t, s, name)
		if c.Type != typ || str(c.Min) != min || str(c.Max) != max {
			t.Errorf("%s: %s %s..%s, want %s %s..%s (%s)", name, c.Type, str(c.Min), str(c.Max), typ, min, max, c.Physical)
		}
	}
	check("ratio", TypeFloat, "-2.25", "0.5")
	check("price", TypeFloat, "-0.05", "123.45")
	check("small", TypeFloat, "-1.5", "0.7")
	check("uid", TypeString, "00000000-0000-0000-0000-000000000000", "12345678-9abc-def0-0102-030405060708")
	// Unsigned values beyond int64 are read as floats: 2⁶⁴−1 rounds to 2⁶⁴.
	check("big", TypeInteger, "3", "18446744073709551616")
	check("unsig", TypeInteger, "0", "4294967295")
	check("blob", TypeBinary, "<nil>", "<nil>")
	check("kind", TypeString, "a", "b")
	check("raw", TypeBinary, "<nil>", "<nil>")
	check("at_milli", TypeTimestamp, "1969-12-31T23:59:59.999Z", "2023-11-14T22:13:20.123Z")
	check("at_nano", TypeTimestamp, "1970-01-01T00:00:00Z", "2023-11-14T22:13:20.123456789Z")
	check("clock", TypeString, "00:00:00.000999", "13:00:05")
	if c := column(t, s, "blob"); *c.MinLength != 0 || *c.MaxLength != 3 {
		t.Errorf("blob lengths %d..%d", *c.MinLength, *c.MaxLength)
	}
	if c := column(t, s, "nothing"); c.Type != TypeInteger || c.NullCount != 2 || c.Min != nil || c.Mean != nil {
		t.Errorf("all-null column: %+v", c)
	}
}

func TestParquetEmpty(t *testing.T) {
	s := profileParquet(t, writeParquet(t, []patient{}, 10), Options{})
	if s.Rows != 0 || len(s.Columns) != 9 {
		t.Errorf("empty file: %+v", s)
	}
}

func TestParquetRows(t *testing.T) {
	rows := patients(2500, 3)
	data := writeParquet(t, rows, 1000)
	r, err := NewParquetRows(bytes.NewReader(data), int64(len(data)), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := len(r.Columns()); got != 8 {
		t.Fatalf("%d flat columns", got)
	}
	i := 0
	for r.Next() {
		row, want := r.Row(), rows[i]
		if row[0] != (Value{Kind: KindInt, Int: want.ID}) {
			t.Fatalf("row %d id %+v", i, row[0])
		}
		if (want.Name == nil) != row[4].IsNull() || (want.Name != nil && row[4].Str != *want.Name) {
			t.Fatalf("row %d name %+v", i, row[4])
		}
		if want.Seen != nil && !row[6].Time.Equal(*want.Seen) {
			t.Fatalf("row %d seen %v, want %v", i, row[6].Time, *want.Seen)
		}
		if row[7].Str != want.Address.City {
			t.Fatalf("row %d city %+v", i, row[7])
		}
		i++
	}
	if err := r.Err(); err != nil || i != len(rows) {
		t.Fatalf("read %d rows: %v", i, err)
	}
}

// parquetWith builds a file around the given footer bytes.
func parquetWith(footer []byte) []byte {
	out := []byte("PAR1")
	out = append(out, footer...)
	out = append(out, byte(len(footer)), byte(len(footer)>>8), byte(len(footer)>>16), byte(len(footer)>>24))
	return append(out, "PAR1"...)
}

func TestParquetHostile(t *testing.T) {
	valid := writeParquet(t, patients(200, 4), 100)
	tests := []struct {
		name string
		data []byte
		opts ReaderOptions
		code enclave.Code
		msg  string
	}{
		{"too short", []byte("PAR1PAR1"), ReaderOptions{}, enclave.CodeInvalidArgument, "shorter than the smallest"},
		{"no magic", append([]byte("PAR0"), valid[4:]...), ReaderOptions{}, enclave.CodeInvalidArgument, "magic"},
		{"truncated", valid[:len(valid)/2], ReaderOptions{}, enclave.CodeInvalidArgument, "magic"},
		{"encrypted", append([]byte("PARE"), valid[4:]...), ReaderOptions{}, enclave.CodeInvalidArgument, "encrypted"},
		{"footer longer than the file", []byte("PAR1\x00\x00\x00\x00\xff\xff\x00\x00PAR1"), ReaderOptions{}, enclave.CodeInvalidArgument, "more than the file holds"},
		{"footer over the limit", valid, ReaderOptions{Limits: Limits{MaxFooterBytes: 64}}, enclave.CodeTooLarge, "footer is"},
		// A list of 2³¹−1 schema elements in six bytes: parquet-go would
		// allocate them before noticing the bytes are missing.
		{"list bomb", parquetWith([]byte{0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}), ReaderOptions{}, enclave.CodeInvalidArgument, "footer is corrupt"},
		{"string bomb", parquetWith([]byte{0x18, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}), ReaderOptions{}, enclave.CodeInvalidArgument, "footer is corrupt"},
		// A thousand empty structs cost a thousand bytes encoded, 560 KB
		// decoded.
		{"struct flood", parquetWith(append([]byte{0x19, 0xfc, 0xe8, 0x07}, append(make([]byte, 1000), 0)...)), ReaderOptions{Limits: Limits{MaxFooterStructs: 999}}, enclave.CodeTooLarge, "more than 999 structures"},
		{"deep nesting", parquetWith(bytes.Repeat([]byte{0x1c}, 1000)), ReaderOptions{}, enclave.CodeInvalidArgument, "footer is corrupt"},
		{"garbage footer", parquetWith([]byte("not thrift at all")), ReaderOptions{}, enclave.CodeInvalidArgument, "corrupt"},
		{"too many columns", valid, ReaderOptions{Limits: Limits{MaxColumns: 3}}, enclave.CodeTooLarge, "more than 3 leaf columns"},
		{"page over the limit", valid, ReaderOptions{Limits: Limits{MaxPageBytes: 100}}, enclave.CodeTooLarge, "exceeds the limit of 100"},
		{"page values over the limit", valid, ReaderOptions{Limits: Limits{MaxPageValues: 10}}, enclave.CodeTooLarge, "values exceeds the limit of 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ProfileParquet(context.Background(), bytes.NewReader(tt.data), int64(len(tt.data)), Options{ReaderOptions: tt.opts})
			if err == nil {
				t.Fatal("no error")
			}
			if code := enclave.ErrorCode(err); code != tt.code {
				t.Errorf("code %s, want %s (%v)", code, tt.code, err)
			}
			if msg := enclave.ErrorMessage(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not contain %q", msg, tt.msg)
			}
		})
	}
}

// Corrupting any byte of a file yields an error or a profile, never a
// panic or a hang.
func TestParquetCorruptBytes(t *testing.T) {
	valid := writeParquet(t, patients(300, 5), 100, parquet.Compression(&parquet.Snappy))
	r := rand.New(rand.NewPCG(5, 5))
	for i := range 400 {
		data := bytes.Clone(valid)
		for range 1 + r.IntN(4) {
			data[r.IntN(len(data))] ^= byte(1 + r.IntN(255))
		}
		_, err := ProfileParquet(context.Background(), bytes.NewReader(data), int64(len(data)), Options{})
		if err != nil && enclave.ErrorCode(err) == enclave.CodeInternal {
			t.Errorf("case %d: internal error for a corrupt file: %v", i, err)
		}
	}
}

// Profile takes a Parquet file from a reader with random access and leaves
// its position alone.
func TestProfileParquetThroughProfile(t *testing.T) {
	data := writeParquet(t, patients(100, 6), 50)
	r := bytes.NewReader(data)
	r.Seek(10, io.SeekStart)
	s, err := Profile(context.Background(), r, DetectFormat("x.parquet", data[:64]), Options{})
	if err != nil || s.Rows != 100 {
		t.Fatalf("Profile: %v %+v", err, s)
	}
	if pos, _ := r.Seek(0, io.SeekCurrent); pos != 10 {
		t.Errorf("position moved to %d", pos)
	}
}
