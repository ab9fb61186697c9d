package tabular

import (
	"bytes"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// Format names a tabular file format.
type Format string

// The formats the package reads. FormatUnknown is what [DetectFormat]
// returns for anything else (compressed, binary or free text files).
const (
	FormatUnknown Format = ""
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
)

// Type is the logical type of a column as the catalog records it. The same
// names serve CSV, where they are inferred from the text, and Parquet, where
// they are mapped from the file's declared types.
type Type string

// The logical types. TypeBinary appears only for Parquet byte arrays that
// carry no string annotation (images, embeddings, serialized objects).
const (
	TypeInteger   Type = "integer"
	TypeFloat     Type = "float"
	TypeBoolean   Type = "boolean"
	TypeDate      Type = "date"
	TypeTimestamp Type = "timestamp"
	TypeString    Type = "string"
	TypeBinary    Type = "binary"
)

// Kind says which field of a [Value] holds its payload.
type Kind uint8

// The kinds of values rows hold. A CSV reader yields only KindNull and
// KindString (the raw text); a Parquet reader yields typed values.
const (
	KindNull      Kind = iota
	KindInt            // Value.Int
	KindFloat          // Value.Float
	KindBool           // Value.Int: 0 or 1
	KindDate           // Value.Int: days since 1970-01-01
	KindTimestamp      // Value.Time, in UTC
	KindString         // Value.Str, UTF-8 text
	KindBytes          // Value.Str, arbitrary bytes
)

// Value is one cell of a row. Kind says which of the other fields holds it;
// the rest are zero.
type Value struct {
	Kind  Kind
	Int   int64
	Float float64
	Time  time.Time
	Str   string
}

// IsNull reports whether the cell is missing.
func (v Value) IsNull() bool { return v.Kind == KindNull }

// Field describes one column of a [Rows] stream.
type Field struct {
	// Name is the column's name: the CSV header cell, or the Parquet leaf
	// column's path joined with dots ("address.city").
	Name string
	// Type is the logical type of the values the reader yields for the
	// column, or "" for untyped text (every CSV column) whose type the
	// profiler infers.
	Type Type
	// Physical describes the column's type as the file declares it, for
	// formats that declare one (Parquet: "INT64 TIMESTAMP(MICROS)"); empty
	// for CSV.
	Physical string
}

// parquetMagic opens and closes every Parquet file; "PARE" marks one whose
// footer is encrypted.
const parquetMagic = "PAR1"

// DetectFormat names the format of a file from its name and its first bytes
// (any prefix; 64 KiB is plenty). Content wins over the name: the Parquet
// magic number makes a file Parquet whatever it is called, and a file named
// .csv that holds NUL bytes or invalid UTF-8 is not CSV. A file with a CSV,
// TSV or PSV extension whose head is text is CSV; a file with another name is
// CSV when its first lines split consistently on one of the delimiters the
// reader detects.
func DetectFormat(name string, head []byte) Format {
	if bytes.HasPrefix(head, []byte(parquetMagic)) || bytes.HasPrefix(head, []byte("PARE")) {
		return FormatParquet
	}
	if !looksLikeText(head) {
		return FormatUnknown
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".csv", ".tsv", ".tab", ".psv":
		return FormatCSV
	case ".parquet", ".pq", ".gz", ".zip", ".bz2", ".xz", ".zst", ".json", ".jsonl", ".xml":
		// A .parquet without magic is corrupt; the others are formats the
		// profiler does not read, even when the head happens to be text.
		return FormatUnknown
	}
	if _, consistent := detectDelimiter(bytes.TrimPrefix(head, utf8BOM)); consistent {
		return FormatCSV
	}
	return FormatUnknown
}

// looksLikeText reports whether head is non-empty UTF-8 without NUL bytes,
// allowing a rune cut off at its end.
func looksLikeText(head []byte) bool {
	if len(head) == 0 || bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	if utf8.Valid(head) {
		return true
	}
	// The head may end in the middle of a multi-byte rune: allow an
	// incomplete (not an invalid) sequence at the very end.
	for cut := 1; cut < utf8.UTFMax && cut < len(head); cut++ {
		tail := head[len(head)-cut:]
		if utf8.RuneStart(tail[0]) && !utf8.FullRune(tail) && utf8.Valid(head[:len(head)-cut]) {
			return true
		}
	}
	return false
}
