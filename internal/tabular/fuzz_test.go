package tabular

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// fuzzLimits are small, so that the fuzzer reaches them.
var fuzzLimits = Limits{MaxColumns: 16, MaxFieldBytes: 256, MaxRecordBytes: 4096,
	MaxFooterBytes: 1 << 16, MaxFooterStructs: 512, MaxPageBytes: 1 << 16, MaxPageValues: 1 << 12}

var csvSeeds = []string{
	"",
	"a\n",
	"a,b,c\n",
	"id,name,score\n1,ann,1.5\n2,bob,NA\n",
	"\ufeffid;when\n1;2024-01-02\n2;2024-01-02T03:04:05+01:00\n",
	"a\tb\n\"x\ny\"\t2\n",
	"a|b\n007|true\n8|FALSE\n",
	"a,b\n1,2\n3\n",
	"a,b\n1,x\"y\n",
	"a,b\n1,\"unclosed\n",
	"a,b\n1,caf\xe9\n",
	"a,b\n1,\x00\n",
	"n\n9223372036854775808\n1.5\ninf\n-Infinity\nNaN\n",
	"n\n1e308\n1.7e308\n-1e308\n",
	"a,a,\n,,\r\n1,2,3\r\n",
	"x\n" + strings.Repeat("v,", 20) + "\n",
	"x\n\"" + strings.Repeat("z", 300) + "\"\n",
}

// FuzzProfileCSV: whatever the bytes, Profile never panics, refuses with
// an input error (never an internal one) or returns a profile that keeps
// the limits, marshals, and is the same when computed again.
func FuzzProfileCSV(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("name\nann\nbob\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, stringMinMax bool) {
		opts := Options{ReaderOptions: ReaderOptions{Limits: fuzzLimits}, DistinctExactLimit: 8, StringMinMax: stringMinMax}
		s, err := Profile(context.Background(), bytes.NewReader(data), FormatCSV, opts)
		if err != nil {
			checkInputError(t, err)
			return
		}
		if len(s.Columns) == 0 || len(s.Columns) > fuzzLimits.MaxColumns {
			t.Fatalf("%d columns", len(s.Columns))
		}
		for _, c := range s.Columns {
			if !slices.Contains([]Type{TypeInteger, TypeFloat, TypeBoolean, TypeDate, TypeTimestamp, TypeString}, c.Type) {
				t.Fatalf("column %q: type %q", c.Name, c.Type)
			}
			if c.NullCount < 0 || c.NullCount > s.Rows || c.DistinctCount < 0 {
				t.Fatalf("column %q: %d nulls, %d distinct, %d rows", c.Name, c.NullCount, c.DistinctCount, s.Rows)
			}
			if !c.DistinctApproximate && c.DistinctCount > s.Rows-c.NullCount {
				t.Fatalf("column %q: %d distinct of %d values", c.Name, c.DistinctCount, s.Rows-c.NullCount)
			}
			if c.MaxLength != nil && *c.MaxLength > int64(fuzzLimits.MaxFieldBytes) {
				t.Fatalf("column %q: a value of %d characters passed the limit", c.Name, *c.MaxLength)
			}
			if c.Type == TypeString && !stringMinMax && (c.Min != nil || c.Max != nil) {
				t.Fatalf("column %q: string extremes without the option", c.Name)
			}
			if c.Min != nil && len([]rune(*c.Min)) > 64 {
				t.Fatalf("column %q: min of %d characters", c.Name, len([]rune(*c.Min)))
			}
		}
		first, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Profile(context.Background(), bytes.NewReader(data), FormatCSV, opts)
		if err != nil {
			t.Fatalf("second profile failed: %v", err)
		}
		if second, _ := json.Marshal(again); !bytes.Equal(first, second) {
			t.Fatalf("profiles differ:\n%s\n%s", first, second)
		}
	})
}

// FuzzProfileParquet: a mutated Parquet file is refused with an input
// error or profiled; it never panics, and never allocates what a length
// field claims before the bytes are there.
func FuzzProfileParquet(f *testing.F) {
	f.Add(writeParquet(f, patients(50, 9), 20))
	f.Add(writeParquet(f, patients(30, 8), 10, parquet.Compression(&parquet.Snappy)))
	f.Add(writeParquet(f, patients(30, 7), 10, parquet.Compression(&parquet.Zstd)))
	f.Add(writeParquet(f, []otherTypes{{Kind: "a"}, {Kind: "b"}}, 1))
	f.Add(parquetWith([]byte{0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{ReaderOptions: ReaderOptions{Limits: fuzzLimits}, DistinctExactLimit: 8}
		s, err := ProfileParquet(context.Background(), bytes.NewReader(data), int64(len(data)), opts)
		if err != nil {
			checkInputError(t, err)
			return
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}

func checkInputError(t *testing.T, err error) {
	t.Helper()
	switch code := enclave.ErrorCode(err); code {
	case enclave.CodeInvalidArgument, enclave.CodeTooLarge:
	default:
		t.Fatalf("error of kind %s: %v", code, err)
	}
	if enclave.ErrorMessage(err) == "" {
		t.Fatal("empty message")
	}
}
