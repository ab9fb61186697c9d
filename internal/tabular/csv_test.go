package tabular

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/enclave-ml/enclave/internal/enclave"
)

func TestCSVErrors(t *testing.T) {
	small := ReaderOptions{Limits: Limits{MaxFieldBytes: 16, MaxRecordBytes: 1024, MaxColumns: 3}}
	tests := []struct {
		name string
		in   string
		opts ReaderOptions
		code enclave.Code
		msg  string // a substring of the message
	}{
		{"empty file", "", ReaderOptions{}, enclave.CodeInvalidArgument, "needs a header row"},
		{"only a BOM", "\ufeff", ReaderOptions{}, enclave.CodeInvalidArgument, "needs a header row"},
		{"only blank lines", "\n\n\r\n", ReaderOptions{}, enclave.CodeInvalidArgument, "needs a header row"},
		{"ragged short", "a,b,c\n1,2,3\n4,5\n", ReaderOptions{}, enclave.CodeInvalidArgument, "line 3: 2 fields, but the header has 3"},
		{"ragged long", "a,b\n1,2\n3,4\n5,6,7\n", ReaderOptions{}, enclave.CodeInvalidArgument, "line 4: 3 fields, but the header has 2"},
		{"ragged after a quoted newline", "a,b\n\"x\ny\",2\n3\n", ReaderOptions{}, enclave.CodeInvalidArgument, "line 4: 1 fields"},
		{"bare quote", "a,b\n1,x\"y\n", ReaderOptions{}, enclave.CodeInvalidArgument, "line 2, column 4: a quote in an unquoted field"},
		{"unclosed quote", "a,b\n1,\"xy\n", ReaderOptions{}, enclave.CodeInvalidArgument, "not closed properly"},
		{"text after a closing quote", "a,b\n1,\"x\"y\n", ReaderOptions{}, enclave.CodeInvalidArgument, "line 2"},
		{"invalid UTF-8", "a,b\n1,2\n3,caf\xe9\n", ReaderOptions{}, enclave.CodeInvalidArgument, `line 3, field 2 ("b"): invalid UTF-8`},
		{"invalid UTF-8 in the header", "a,\xff\n1,2\n", ReaderOptions{}, enclave.CodeInvalidArgument, "line 1, field 2: invalid UTF-8"},
		{"Latin-1 file", "name\nJos\xe9\n", ReaderOptions{}, enclave.CodeInvalidArgument, "line 2, field 1"},
		{"NUL byte", "a,b\n1,2\x00\n", ReaderOptions{}, enclave.CodeInvalidArgument, `line 2, field 2 ("b"): a NUL byte`},
		{"UTF-16", "\xff\xfea\x00,\x00b\x00\n\x00", ReaderOptions{}, enclave.CodeInvalidArgument, "line 1"},
		{"field too long", "a,b\n1," + strings.Repeat("x", 17) + "\n", small, enclave.CodeTooLarge, `line 2, field 2 ("b"): longer than the limit of 16 bytes`},
		{"too many columns", "a,b,c,d\n", small, enclave.CodeTooLarge, "4 columns, more than the limit of 3"},
		{"endless quoted field", "a,b\n1,\"" + strings.Repeat("x\n", 100000), small, enclave.CodeTooLarge, "the record after line 1 is longer than the limit of 1024 bytes"},
		{"endless line", "a\n" + strings.Repeat("x", 200000), small, enclave.CodeTooLarge, "longer than the limit of 1024 bytes"},
		{"endless header", strings.Repeat("x", 200000), small, enclave.CodeTooLarge, "line 1: the header is longer than the limit of 1024 bytes"},
		{"delimiter option", "a,b\n", ReaderOptions{Delimiter: '"'}, enclave.CodeInvalidArgument, "cannot separate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Profile(context.Background(), strings.NewReader(tt.in), FormatCSV, Options{ReaderOptions: tt.opts})
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

// Error messages name places, never the data: a refused file's content
// must not reach logs or API responses.
func TestCSVErrorsDoNotQuoteData(t *testing.T) {
	secret := "SSN-078-05-1120"
	for _, in := range []string{
		"a,b\n" + secret + "\n",
		"a,b\n" + secret + ",x\"y\n",
		"a,b\n" + secret + ",\xff\n",
		"a,b\n" + secret + ",\x00\n",
		"a,b\n\"" + secret + "\",\"" + strings.Repeat("z", 40),
	} {
		_, err := Profile(context.Background(), strings.NewReader(in), FormatCSV, Options{ReaderOptions: ReaderOptions{Limits: Limits{MaxFieldBytes: 32}}})
		if err == nil {
			t.Fatalf("%q accepted", in)
		}
		if strings.Contains(err.Error(), "078") {
			t.Errorf("error quotes the data: %v", err)
		}
	}
}

func TestCSVDelimiters(t *testing.T) {
	tests := []struct {
		in   string
		want rune
	}{
		{"a,b,c\n1,2,3\n", ','},
		{"a;b;c\n1;2;3\n", ';'},
		{"a\tb\n1\t2\n", '\t'},
		{"a|b\n1|2\n", '|'},
		{"single\n1\n2\n", ','},
		// European CSV: decimal commas, semicolon separators.
		{"price;qty\n1,5;2\n2,25;3\n", ';'},
		// The consistent separator wins over a more frequent ragged one.
		{"name,note\nann,\"a;b;c\"\nbob,x;y\n", ','},
		// Quoted delimiters do not count.
		{"a|b\n\"1,2,3\"|4\n", '|'},
		// Quoted newlines do not split records.
		{"a;b\n\"x\ny,z\";2\n", ';'},
	}
	for _, tt := range tests {
		rows, err := NewCSVRows(strings.NewReader(tt.in), ReaderOptions{})
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if rows.Delimiter() != tt.want {
			t.Errorf("%q: delimiter %q, want %q", tt.in, rows.Delimiter(), tt.want)
		}
	}
	// An explicit delimiter wins.
	rows, err := NewCSVRows(strings.NewReader("a;b,c\n1;2,3\n"), ReaderOptions{Delimiter: ';'})
	if err != nil || len(rows.Columns()) != 2 {
		t.Errorf("explicit ';': %v %v", rows, err)
	}
}

func TestCSVRowsValues(t *testing.T) {
	in := "id,name,note\n1,ann,\n2,\"bob, jr\",\"said \"\"hi\"\"\nthen left\"\n"
	rows, err := NewCSVRows(iotest.OneByteReader(strings.NewReader(in)), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if got := rows.Columns(); len(got) != 3 || got[1].Name != "name" || got[1].Type != "" {
		t.Fatalf("columns %+v", got)
	}
	var got [][]Value
	for rows.Next() {
		got = append(got, append([]Value(nil), rows.Row()...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][]Value{
		{{Kind: KindString, Str: "1"}, {Kind: KindString, Str: "ann"}, {}},
		{{Kind: KindString, Str: "2"}, {Kind: KindString, Str: "bob, jr"}, {Kind: KindString, Str: "said \"hi\"\nthen left"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows", len(got))
	}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("row %d col %d = %+v, want %+v", i, j, got[i][j], want[i][j])
			}
		}
	}
	if rows.Line() != 4 {
		t.Errorf("last line %d, want 4", rows.Line())
	}
	if rows.Next() {
		t.Error("Next after the end")
	}
}

// A failing underlying reader is an internal error, not the file's fault.
func TestCSVReadFailure(t *testing.T) {
	broken := io.MultiReader(strings.NewReader("a,b\n1,2\n"), iotest.ErrReader(errors.New("disk on fire")))
	_, err := Profile(context.Background(), broken, FormatCSV, Options{})
	if enclave.ErrorCode(err) != enclave.CodeInternal {
		t.Errorf("err = %v, want internal", err)
	}
	if strings.Contains(enclave.ErrorMessage(err), "fire") {
		t.Errorf("internal detail in the message: %q", enclave.ErrorMessage(err))
	}
}
