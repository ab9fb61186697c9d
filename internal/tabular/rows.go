package tabular

import (
	"github.com/enclave-ml/enclave/internal/enclave"
)

// Rows is a stream of rows read from a tabular file, one at a time, in
// memory bounded by the reader's [Limits]:
//
//	for rows.Next() {
//		row := rows.Row()
//		...
//	}
//	if err := rows.Err(); err != nil { ... }
//
// The slice Row returns and the values in it belong to the reader and are
// overwritten by the next call to Next; strings in it stay valid (Go strings
// are immutable) but may pin reader memory, so clone one before keeping it
// for long.
type Rows interface {
	// Columns describes the columns; Row has one value per column, in this
	// order. It is valid before the first call to Next.
	Columns() []Field
	// Next advances to the next row and reports whether there is one. It
	// returns false at the end of the input or on the first error.
	Next() bool
	// Row returns the current row.
	Row() []Value
	// Err returns the error that stopped Next, or nil at a clean end.
	Err() error
	// Close releases the reader's buffers. It does not close the
	// underlying file, which the caller owns.
	Close() error
}

// Limits bound what a reader accepts, so that a hostile file cannot make it
// hold unbounded memory. A zero field takes its default from
// [DefaultLimits].
type Limits struct {
	// MaxColumns bounds the number of columns (CSV header fields, Parquet
	// leaf columns), and with them the profiler's per-column state.
	MaxColumns int
	// MaxFieldBytes bounds one CSV field.
	MaxFieldBytes int
	// MaxRecordBytes bounds one CSV record, quoted newlines included.
	MaxRecordBytes int
	// MaxFooterBytes bounds the Parquet footer (the file's metadata).
	MaxFooterBytes int
	// MaxFooterStructs bounds the structures the Parquet footer lists
	// (schema elements, row groups, column chunks, ...): decoded, each
	// takes up to ~560 bytes however few bytes encode it.
	MaxFooterStructs int
	// MaxPageBytes bounds a Parquet page, compressed or not.
	MaxPageBytes int
	// MaxPageValues bounds the values one Parquet page declares.
	MaxPageValues int
}

// DefaultLimits are the limits applied where a [Limits] field is zero.
var DefaultLimits = Limits{
	MaxColumns:       2048,
	MaxFieldBytes:    1 << 20,
	MaxRecordBytes:   8 << 20,
	MaxFooterBytes:   16 << 20,
	MaxFooterStructs: 1 << 18,
	MaxPageBytes:     128 << 20,
	MaxPageValues:    1 << 24,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return Limits{
		MaxColumns:       pick(l.MaxColumns, d.MaxColumns),
		MaxFieldBytes:    pick(l.MaxFieldBytes, d.MaxFieldBytes),
		MaxRecordBytes:   pick(l.MaxRecordBytes, d.MaxRecordBytes),
		MaxFooterBytes:   pick(l.MaxFooterBytes, d.MaxFooterBytes),
		MaxFooterStructs: pick(l.MaxFooterStructs, d.MaxFooterStructs),
		MaxPageBytes:     pick(l.MaxPageBytes, d.MaxPageBytes),
		MaxPageValues:    pick(l.MaxPageValues, d.MaxPageValues),
	}
}

// ReaderOptions configure the row readers.
type ReaderOptions struct {
	// Delimiter separates CSV fields. Zero detects one of , ; TAB | from the
	// first lines.
	Delimiter rune
	// NullTokens are the CSV field texts read as a missing value, matched
	// exactly. Nil means [DefaultNullTokens]; an empty, non-nil slice means
	// no text is null, not even the empty field.
	NullTokens []string
	// Limits bound what the readers accept.
	Limits Limits
}

// DefaultNullTokens are the texts a CSV reader takes for a missing value
// unless told otherwise: the empty field and the markers R, pandas, SQL
// exports and spreadsheets write. Matching is exact ("na" is a value).
var DefaultNullTokens = []string{"", "NA", "N/A", "NULL", "null", "NaN"}

// inputError returns an invalid_argument error about the file's content.
func inputError(format string, args ...any) error {
	return enclave.Errorf(enclave.CodeInvalidArgument, format, args...)
}

// limitError returns a too_large error naming the limit exceeded.
func limitError(format string, args ...any) error {
	return enclave.Errorf(enclave.CodeTooLarge, format, args...)
}

// internalError wraps a failure that is not about the content (an I/O
// error from the underlying reader); its detail is logged, not returned.
func internalError(err error, what string) error {
	return enclave.Wrap(enclave.CodeInternal, err, "%s", what)
}
