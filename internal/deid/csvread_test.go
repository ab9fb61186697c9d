package deid

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tabular"
)

// readAll reads every record with the package's reader, the header first.
func readAll(data []byte, limits tabular.Limits) ([][]string, error) {
	cr, names, err := newCSVReader(bytes.NewReader(data), limits)
	if err != nil {
		return nil, err
	}
	out := [][]string{names}
	for cr.Next() {
		rec := make([]string, len(cr.Record()))
		for i, f := range cr.Record() {
			rec[i] = string(f)
		}
		out = append(out, rec)
	}
	return out, cr.Err()
}

// readStd reads data with encoding/csv as tabular.NewCSVRows configures it.
func readStd(data []byte, delim byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = rune(delim)
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

// compareWithStd checks the reader against encoding/csv: the same records,
// and an error exactly when encoding/csv has one, after the same records.
func compareWithStd(t *testing.T, data []byte) {
	t.Helper()
	compareWithStdLimits(t, data, tabular.Limits{})
}

// short cuts data for a failure message.
func short(data []byte) string {
	if len(data) > 200 {
		return fmt.Sprintf("%q... (%d bytes)", data[:200], len(data))
	}
	return fmt.Sprintf("%q", data)
}

func compareWithStdLimits(t *testing.T, data []byte, limits tabular.Limits) {
	t.Helper()
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 || bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) {
		return // refused by this reader, accepted by encoding/csv: compared elsewhere
	}
	head := data[:min(len(data), 64<<10)]
	delim := detectDelimiter(head, len(data) > 64<<10)
	want, wantErr := readStd(data, delim)
	got, gotErr := readAll(data, limits)
	if len(want) == 0 && wantErr == nil {
		if gotErr == nil {
			t.Fatalf("%s: an empty file was accepted", short(data))
		}
		return
	}
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s: error %v, encoding/csv's %v", short(data), gotErr, wantErr)
	}
	if wantErr != nil {
		// Compare the records read before the error.
		if len(got) > len(want) {
			got = got[:len(want)]
		}
		want = want[:len(got)]
	}
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("%s:\n got %.300q\nwant %.300q", short(data), got, want)
	}
}

func TestCSVReaderMatchesEncodingCSV(t *testing.T) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,b\r\n1,2\r\n",
		"a,b\n1,2",
		"a,b\n1,2\r",
		"a,b\n\n1,2\n\n\n3,4\n",
		"a,b\r\n\r\n1,2\r\n",
		"a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n",
		"a,b\n\"multi\nline\",2\n",
		"a,b\n\"multi\r\nline\",2\n",
		"a,b\n\"\",\n",
		"a;b;c\n1;2;3\n",
		"a\tb\n1\t2\n",
		"a|b\n1|2\n",
		"a\n\"\"\n",
		"a,b\n1,2,3\n",        // ragged
		"a,b\n1\n",            // ragged
		"a,b\nx\"y,2\n",       // bare quote
		"a,b\n\"x\"y,2\n",     // text after a closing quote
		"a,b\n\"unclosed,2\n", // unclosed
		"a,b\n \"x\",2\n",     // a space before a quote
		"\"a\",\"b\"\n\"1\",\"2\"",
		"a,b\n\"1\"\r\n",
		"a,b\n1,\"2\"\r",
		"a,b\n\r\n",
		"a\r\nb\rc\r\n",
		"only-header\n",
		"",
		"\n\n",
	} {
		compareWithStd(t, []byte(s))
	}
}

func TestCSVReaderBuffering(t *testing.T) {
	// Records that straddle the buffer's refills, quoted and not.
	var b strings.Builder
	b.WriteString("id,text,n\n")
	for i := range 40000 {
		switch i % 3 {
		case 0:
			b.WriteString("1,plain text here,3\n")
		case 1:
			b.WriteString("2,\"quoted, with \"\"quotes\"\"\nand a newline\",4\r\n")
		default:
			b.WriteString("3," + strings.Repeat("x", i%997) + ",5\n")
		}
	}
	compareWithStd(t, []byte(b.String()))
	// A field larger than the initial buffer.
	big := "a,b\n\"" + strings.Repeat("y", 3*csvBufSize) + "\",1\n2,3\n"
	compareWithStdLimits(t, []byte(big), tabular.Limits{MaxFieldBytes: 4 * csvBufSize})
}

func TestCSVReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		limits tabular.Limits
		code   enclave.Code
		want   string
	}{
		{"empty", "", tabular.Limits{}, enclave.CodeInvalidArgument, "empty"},
		{"ragged", "a,b\n1,2\n3\n", tabular.Limits{}, enclave.CodeInvalidArgument, "line 3: 1 fields, but the header has 2"},
		{"bare quote", "a,b\n1,x\"y\n", tabular.Limits{}, enclave.CodeInvalidArgument, "line 2, field 2: a quote in an unquoted field"},
		{"unclosed", "a,b\n1,\"open\n2,3\n", tabular.Limits{}, enclave.CodeInvalidArgument, "line 2, field 2: a quoted field is not closed"},
		{"utf8", "a,b\n1,\xff\n", tabular.Limits{}, enclave.CodeInvalidArgument, "line 2, field 2: invalid UTF-8"},
		{"nul", "a,b\n1,\x00\n", tabular.Limits{}, enclave.CodeInvalidArgument, "line 2, field 2: a NUL byte"},
		{"field", "a,b\n1,123456789\n", tabular.Limits{MaxFieldBytes: 8}, enclave.CodeTooLarge, "line 2, field 2: longer than the limit of 8 bytes"},
		{"columns", "a,b,c\n1,2,3\n", tabular.Limits{MaxColumns: 2}, enclave.CodeTooLarge, "3 columns"},
		{"record", "a,b\n1,\"" + strings.Repeat("z", 3<<20), tabular.Limits{MaxRecordBytes: 1 << 20}, enclave.CodeTooLarge, "longer than the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll([]byte(tc.in), tc.limits)
			if err == nil {
				t.Fatal("no error")
			}
			if enclave.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %s containing %q", err, tc.code, tc.want)
			}
			// Errors never quote the data.
			for _, secret := range []string{"123456789", "open", "\xff"} {
				if strings.Contains(tc.in, secret) && strings.Contains(err.Error(), secret) {
					t.Fatalf("the error quotes the data: %v", err)
				}
			}
		})
	}
}

func TestCSVReaderBOM(t *testing.T) {
	got, err := readAll([]byte("\xEF\xBB\xBFa,b\n1,2\n"), tabular.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0][0] != "a" {
		t.Fatalf("the byte order mark was kept: %q", got[0])
	}
}

// errReader fails after its data.
type errReader struct{ data []byte }

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestCSVReaderIOError(t *testing.T) {
	_, err := func() ([][]string, error) {
		cr, _, err := newCSVReader(&errReader{data: []byte("a,b\n1,2\n3,")}, tabular.Limits{})
		if err != nil {
			return nil, err
		}
		for cr.Next() {
		}
		return nil, cr.Err()
	}()
	if enclave.ErrorCode(err) != enclave.CodeInternal || strings.Contains(enclave.ErrorMessage(err), "fire") {
		t.Fatalf("an I/O error became %v", err)
	}
}

func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,b\n\"x\n\"\"y\",2\r\n", "a;b\n1;2", "a\n\n\"\"\n", "a,b\n\"1\"x,2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareWithStd(t, data)
	})
}

// TestCSVReaderRandom compares the reader with encoding/csv on random
// inputs built from the characters that matter to CSV.
func TestCSVReaderRandom(t *testing.T) {
	alphabet := []string{"a", "b", ",", ";", "\t", "\"", "\"\"", "\n", "\r", "\r\n", " ", "é"}
	r := rand.New(rand.NewPCG(7, 8))
	for range 30000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		compareWithStd(t, []byte(b.String()))
	}
}

func TestCSVReaderSmallRecordLimit(t *testing.T) {
	// Many short records under a small record limit: the limit is per
	// record, not per buffer.
	var b strings.Builder
	b.WriteString("a,b\n")
	for range 50000 {
		b.WriteString("12345,67890\n")
	}
	got, err := readAll([]byte(b.String()), tabular.Limits{MaxRecordBytes: 100})
	if err != nil || len(got) != 50001 {
		t.Fatalf("%d records, %v", len(got), err)
	}
}
