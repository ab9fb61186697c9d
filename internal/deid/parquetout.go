package deid

import (
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tabular"
)

// orderedGroup is a Parquet group whose fields keep the order given:
// parquet.Group is a map and sorts its fields by name, which would
// reorder the table's columns.
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                                { return 0 }
func (g orderedGroup) String() string                         { return fmt.Sprintf("group of %d fields", len(g)) }
func (g orderedGroup) Type() parquet.Type                     { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool                         { return false }
func (g orderedGroup) Repeated() bool                         { return false }
func (g orderedGroup) Required() bool                         { return true }
func (g orderedGroup) Leaf() bool                             { return false }
func (g orderedGroup) Fields() []parquet.Field                { return g }
func (g orderedGroup) Encoding() encoding.Encoding            { return nil }
func (g orderedGroup) Compression() compress.Codec            { return nil }
func (g orderedGroup) GoType() reflect.Type                   { return reflect.TypeFor[map[string]any]() }
func (g orderedGroup) Value(base reflect.Value) reflect.Value { return reflect.Value{} }

// namedField names a node in its group. Rows are written as parquet.Row
// values, never reflected from Go values, so Value is not used.
type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string                           { return f.name }
func (f namedField) Value(base reflect.Value) reflect.Value { return reflect.Value{} }

// parquetColumn is how one output column is written.
type parquetColumn struct {
	kind tabular.Kind // the kind of value written; KindString for text
	unit int64        // nanoseconds per unit of a timestamp column
}

// parquetSink writes rows to a Parquet file, a batch at a time.
type parquetSink struct {
	w     *parquet.Writer
	cols  []parquetColumn
	batch []parquet.Row
	n     int
	arena []byte
	text  []byte
}

const (
	parquetBatchRows  = 1024
	parquetBatchBytes = 4 << 20
)

func newParquetSink(w io.Writer, fields []tabular.Field, asString []bool) (*parquetSink, error) {
	s := &parquetSink{cols: make([]parquetColumn, len(fields))}
	group := make(orderedGroup, len(fields))
	seen := map[string]bool{}
	for i, f := range fields {
		if seen[f.Name] {
			return nil, enclave.Errorf(enclave.CodeInvalidArgument, "the output would have two columns named %s", quoteName(f.Name))
		}
		seen[f.Name] = true
		if strings.Contains(f.Name, ",") {
			// parquet-go's schema code refuses commas in names.
			return nil, enclave.Errorf(enclave.CodeInvalidArgument, "column %s: Parquet output cannot name a column with a comma", quoteName(f.Name))
		}
		var node parquet.Node
		col := parquetColumn{kind: tabular.KindString}
		switch {
		case asString[i] || f.Type == tabular.TypeString:
			node = parquet.String()
		case f.Type == tabular.TypeInteger:
			node, col.kind = parquet.Int(64), tabular.KindInt
		case f.Type == tabular.TypeFloat:
			node, col.kind = parquet.Leaf(parquet.DoubleType), tabular.KindFloat
		case f.Type == tabular.TypeBoolean:
			node, col.kind = parquet.Leaf(parquet.BooleanType), tabular.KindBool
		case f.Type == tabular.TypeDate:
			node, col.kind = parquet.Date(), tabular.KindDate
		case f.Type == tabular.TypeTimestamp:
			col.kind = tabular.KindTimestamp
			switch {
			case strings.Contains(f.Physical, "NANOS"):
				node, col.unit = parquet.Timestamp(parquet.Nanosecond), 1
			case strings.Contains(f.Physical, "MILLIS"):
				node, col.unit = parquet.Timestamp(parquet.Millisecond), 1e6
			default:
				node, col.unit = parquet.Timestamp(parquet.Microsecond), 1e3
			}
		default:
			node, col.kind = parquet.Leaf(parquet.ByteArrayType), tabular.KindBytes
		}
		group[i] = namedField{Node: parquet.Optional(node), name: f.Name}
		s.cols[i] = col
	}
	schema := parquet.NewSchema("deidentified", group)
	s.w = parquet.NewWriter(w, schema, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(128<<10))
	s.batch = make([]parquet.Row, parquetBatchRows)
	for i := range s.batch {
		s.batch[i] = make(parquet.Row, len(fields))
	}
	s.arena = make([]byte, 0, parquetBatchBytes)
	return s, nil
}

func (s *parquetSink) write(row []cell) error {
	// Text is copied into the batch's arena; when it would not fit, the
	// batch is written first, so that the arena never moves under the
	// values that point into it.
	need := 0
	for i := range row {
		need += len(row[i].b) + 32
	}
	if s.n == len(s.batch) || s.n > 0 && len(s.arena)+need > cap(s.arena) {
		if err := s.flush(); err != nil {
			return err
		}
	}
	out := s.batch[s.n]
	for i := range row {
		c := &row[i]
		col := s.cols[i]
		var v parquet.Value
		switch {
		case c.null():
		case col.kind == tabular.KindString || col.kind == tabular.KindBytes:
			b := c.b
			if c.kind != tabular.KindString && c.kind != tabular.KindBytes {
				s.text = c.appendText(s.text[:0])
				b = s.text
			}
			if len(s.arena)+len(b) > cap(s.arena) {
				// A value larger than the arena: give it its own memory.
				v = parquet.ByteArrayValue(append([]byte(nil), b...))
			} else {
				start := len(s.arena)
				s.arena = append(s.arena, b...)
				v = parquet.ByteArrayValue(s.arena[start:len(s.arena):len(s.arena)])
			}
		case col.kind == tabular.KindInt:
			v = parquet.Int64Value(c.n)
		case col.kind == tabular.KindFloat:
			v = parquet.DoubleValue(math.Float64frombits(uint64(c.n)))
		case col.kind == tabular.KindBool:
			v = parquet.BooleanValue(c.n != 0)
		case col.kind == tabular.KindDate:
			v = parquet.Int32Value(int32(c.n))
		case col.kind == tabular.KindTimestamp:
			v = parquet.Int64Value(c.n*(1e9/col.unit) + int64(c.nanos)/col.unit)
		}
		def := 0
		if !c.null() {
			def = 1
		}
		out[i] = v.Level(0, def, i)
	}
	s.n++
	return nil
}

func (s *parquetSink) flush() error {
	if s.n == 0 {
		return nil
	}
	if _, err := s.w.WriteRows(s.batch[:s.n]); err != nil {
		return enclave.Wrap(enclave.CodeInternal, err, "writing the Parquet output")
	}
	s.n = 0
	s.arena = s.arena[:0]
	return nil
}

func (s *parquetSink) close() error {
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.w.Close(); err != nil {
		return enclave.Wrap(enclave.CodeInternal, err, "writing the Parquet output")
	}
	return nil
}
