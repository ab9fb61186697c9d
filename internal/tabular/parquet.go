package tabular

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// ParquetRows reads the rows of a Parquet file, a batch of rows at a time,
// holding one page per column. It implements [Rows] with typed values. Its
// columns are the file's leaf columns outside lists and maps (a struct's
// fields are columns named "struct.field"); columns inside lists and maps
// have a variable number of values per row, and [ProfileParquet] reads them
// element by element.
type ParquetRows struct {
	file   *parquetFile
	flat   []*leaf
	fields []Field

	rowGroup  int   // index of the row group being read; -1 before the first
	remaining int64 // rows of the current row group not yet batched
	batch     []Value
	batchRows int // rows in batch
	pos       int // current row within batch, -1 before the first
	capRows   int // rows per batch
	err       error
	closed    bool
}

// parquetFile is an opened Parquet file and the description of its leaf
// columns. Readers of different columns may share it concurrently.
type parquetFile struct {
	ra     io.ReaderAt
	size   int64
	limits Limits
	file   *parquet.File
	leaves []leafInfo
}

// leafInfo describes one leaf column.
type leafInfo struct {
	col      *parquet.Column
	order    int // position among all leaves
	repeated bool
	field    Field
	convert  func(parquet.Value) Value // nil for byte arrays, converted in bulk
	text     bool                      // byte arrays as KindString (else KindBytes)
}

// leaf reads the pages of one column, row group by row group.
type leaf struct {
	leafInfo
	pages  parquet.Pages
	page   parquet.Page
	values parquet.ValueReader
	buf    []parquet.Value
}

// NewParquetRows opens the Parquet file ra of size bytes. Only the footer is
// read here; pages are read as rows are. The footer and each page header
// are checked against opts.Limits before they are decoded.
func NewParquetRows(ra io.ReaderAt, size int64, opts ReaderOptions) (*ParquetRows, error) {
	pf, err := openParquet(ra, size, opts.Limits.withDefaults())
	if err != nil {
		return nil, err
	}
	var flat []leafInfo
	for _, l := range pf.leaves {
		if !l.repeated {
			flat = append(flat, l)
		}
	}
	return pf.rows(flat), nil
}

// openParquet checks the footer, opens the file and describes its leaves.
func openParquet(ra io.ReaderAt, size int64, limits Limits) (pf *parquetFile, err error) {
	if err := checkFooter(ra, size, limits); err != nil {
		return nil, err
	}
	defer recoverCorrupt(&err, "opening the Parquet file")
	// A larger read buffer than parquet-go's 4 KiB: a ReaderAt over
	// encrypted object storage pays per call.
	f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(64<<10))
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInvalidArgument, err, "the Parquet file cannot be opened (corrupt file?)")
	}
	pf = &parquetFile{ra: ra, size: size, limits: limits, file: f}
	var walk func(c *parquet.Column) error
	walk = func(c *parquet.Column) error {
		if c.Leaf() {
			if len(pf.leaves) == limits.MaxColumns {
				return limitError("the Parquet file has more than %d leaf columns", limits.MaxColumns)
			}
			l := leafInfo{col: c, order: len(pf.leaves), repeated: c.MaxRepetitionLevel() > 0}
			l.field, l.convert, l.text = mapParquetType(c)
			pf.leaves = append(pf.leaves, l)
			return nil
		}
		for _, child := range c.Columns() {
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(f.Root()); err != nil {
		return nil, err
	}
	for i, rg := range f.RowGroups() {
		if rg.NumRows() < 0 {
			return nil, inputError("row group %d declares a negative number of rows (corrupt file)", i)
		}
	}
	return pf, nil
}

// numRows is the sum of the row groups' rows, which every column outside
// lists must match.
func (pf *parquetFile) numRows() int64 {
	var n int64
	for _, rg := range pf.file.RowGroups() {
		n += rg.NumRows()
	}
	return n
}

// rows returns a reader of the given columns, none of them repeated.
func (pf *parquetFile) rows(cols []leafInfo) *ParquetRows {
	p := &ParquetRows{file: pf, rowGroup: -1, pos: -1}
	for _, c := range cols {
		p.flat = append(p.flat, &leaf{leafInfo: c})
		p.fields = append(p.fields, c.field)
	}
	p.capRows = max(16, min(1024, 65536/max(1, len(p.flat))))
	p.batch = make([]Value, p.capRows*len(p.flat))
	return p
}

// recoverCorrupt turns a panic inside parquet-go, which hostile input can
// still provoke, into an invalid_argument error.
func recoverCorrupt(err *error, doing string) {
	if r := recover(); r != nil {
		*err = enclave.Wrap(enclave.CodeInvalidArgument, fmt.Errorf("panic: %v", r), "the Parquet file is corrupt (%s failed)", doing)
	}
}

// Columns returns the columns outside lists and maps.
func (p *ParquetRows) Columns() []Field { return p.fields }

// Row returns the current row.
func (p *ParquetRows) Row() []Value {
	n := len(p.flat)
	return p.batch[p.pos*n : (p.pos+1)*n]
}

// Err returns the error that ended the stream, if any.
func (p *ParquetRows) Err() error { return p.err }

// Close releases the pages being read.
func (p *ParquetRows) Close() error {
	if !p.closed {
		p.closed = true
		for _, l := range p.flat {
			l.close()
		}
	}
	return nil
}

// Next advances to the next row, reading a batch when the last is used up.
func (p *ParquetRows) Next() bool {
	if p.err != nil || p.closed {
		return false
	}
	if p.pos+1 < p.batchRows {
		p.pos++
		return true
	}
	if err := p.nextBatch(); err != nil {
		p.err = err
		return false
	}
	if p.batchRows == 0 {
		return false
	}
	p.pos = 0
	return true
}

func (p *ParquetRows) nextBatch() (err error) {
	defer recoverCorrupt(&err, "decoding a page")
	groups := p.file.file.RowGroups()
	for p.remaining == 0 {
		if p.rowGroup >= 0 {
			for _, l := range p.flat {
				if err := l.finish(); err != nil {
					return p.columnError(l, err)
				}
			}
		}
		p.rowGroup++
		if p.rowGroup >= len(groups) {
			p.batchRows = 0
			return nil
		}
		p.remaining = groups[p.rowGroup].NumRows()
		if p.remaining == 0 {
			continue
		}
		chunks := groups[p.rowGroup].ColumnChunks()
		for _, l := range p.flat {
			if err := p.file.openChunk(l, chunks, p.rowGroup); err != nil {
				return err
			}
		}
	}
	n := int(min(int64(p.capRows), p.remaining))
	stride := len(p.flat)
	for j, l := range p.flat {
		if err := l.fill(p.batch, stride, j, n); err != nil {
			return p.columnError(l, err)
		}
	}
	p.remaining -= int64(n)
	p.batchRows = n
	return nil
}

// openChunk checks the page headers of l's chunk in row group rg and
// starts reading its pages.
func (pf *parquetFile) openChunk(l *leaf, chunks []parquet.ColumnChunk, rg int) error {
	idx := l.col.Index()
	meta := pf.file.Metadata().RowGroups[rg]
	if idx < 0 || idx >= len(chunks) || idx >= len(meta.Columns) {
		return inputError("row group %d has no chunk for column %q (corrupt file)", rg, l.field.Name)
	}
	cc := &meta.Columns[idx]
	if cc.FilePath != "" {
		return inputError("column %q, row group %d: the data is in another file, which is not supported", l.field.Name, rg)
	}
	err := checkChunkPages(pf.ra, pf.size, &cc.MetaData, pf.limits)
	var e *enclave.Error
	switch {
	case err == nil:
	case errors.As(err, &e):
		return enclave.Errorf(e.Code, "column %q, row group %d: %s", l.field.Name, rg, e.Message)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return inputError("column %q, row group %d: the file ends inside the column's data (truncated file?)", l.field.Name, rg)
	default:
		return enclave.Wrap(enclave.CodeInvalidArgument, err, "column %q, row group %d: corrupt column data", l.field.Name, rg)
	}
	l.close()
	l.pages = chunks[idx].Pages()
	return nil
}

func (p *ParquetRows) columnError(l *leaf, err error) error {
	return columnError(l, p.rowGroup, err)
}

func columnError(l *leaf, rg int, err error) error {
	var e *enclave.Error
	if errors.As(err, &e) {
		return err
	}
	return enclave.Wrap(enclave.CodeInvalidArgument, err, "column %q, row group %d: the data cannot be decoded (corrupt file?)", l.field.Name, rg)
}

// errShortColumn says a column chunk holds fewer values than its row group
// has rows.
var errShortColumn = errors.New("the column chunk has fewer values than the row group has rows")

// fill reads the next n values of a column outside lists into
// dst[j], dst[j+stride], ... converting each page's values before the page
// is released.
func (l *leaf) fill(dst []Value, stride, j, n int) error {
	if len(l.buf) < n {
		l.buf = make([]parquet.Value, n)
	}
	filled := 0
	for filled < n {
		if l.values == nil {
			if err := l.nextPage(); err != nil {
				if err == io.EOF {
					return errShortColumn
				}
				return err
			}
		}
		k, err := l.values.ReadValues(l.buf[:n-filled])
		l.store(l.buf[:k], dst, stride, j+filled*stride)
		filled += k
		switch {
		case err == io.EOF:
			l.releasePage()
		case err != nil:
			return err
		case k == 0:
			return errors.New("a page yields no values")
		}
	}
	return nil
}

// store converts values into dst at index at, at+stride, ...
func (l *leaf) store(values []parquet.Value, dst []Value, stride, at int) {
	if l.convert != nil {
		for i, v := range values {
			if v.IsNull() {
				dst[at+i*stride] = Value{}
			} else {
				dst[at+i*stride] = l.convert(v)
			}
		}
		return
	}
	// Byte arrays: copy them out of the page into one string per call, so
	// that a page's worth of values costs one allocation, not one each.
	total := 0
	for _, v := range values {
		total += len(v.ByteArray())
	}
	var sb strings.Builder
	sb.Grow(total)
	for _, v := range values {
		sb.Write(v.ByteArray())
	}
	all := sb.String()
	kind := KindBytes
	if l.text {
		kind = KindString
	}
	off := 0
	for i, v := range values {
		if v.IsNull() {
			dst[at+i*stride] = Value{}
			continue
		}
		n := len(v.ByteArray())
		dst[at+i*stride] = Value{Kind: kind, Str: all[off : off+n]}
		off += n
	}
}

func (l *leaf) nextPage() error {
	page, err := l.pages.ReadPage()
	if err != nil {
		return err
	}
	l.page, l.values = page, page.Values()
	return nil
}

func (l *leaf) releasePage() {
	if l.page != nil {
		parquet.Release(l.page)
	}
	l.page, l.values = nil, nil
}

// finish checks that the chunk holds no values beyond its row group's rows.
func (l *leaf) finish() error {
	if l.values != nil {
		var one [1]parquet.Value
		k, err := l.values.ReadValues(one[:])
		if k > 0 {
			return errors.New("the column chunk has more values than the row group has rows")
		}
		if err != nil && err != io.EOF {
			return err
		}
		l.releasePage()
	}
	if l.pages != nil {
		if page, err := l.pages.ReadPage(); err == nil {
			n := page.NumValues()
			parquet.Release(page)
			if n > 0 {
				return errors.New("the column chunk has more values than the row group has rows")
			}
		} else if err != io.EOF {
			return err
		}
	}
	l.close()
	return nil
}

func (l *leaf) close() {
	l.releasePage()
	if l.pages != nil {
		l.pages.Close()
		l.pages = nil
	}
}

// eachValue calls fn with every value of a column, row group by row
// group, however many values each row has; used to profile the columns
// inside lists and maps element by element.
func (pf *parquetFile) eachValue(ctx context.Context, info leafInfo, fn func(*Value)) (err error) {
	defer recoverCorrupt(&err, "decoding a page")
	l := &leaf{leafInfo: info}
	defer l.close()
	var conv [256]Value
	l.buf = make([]parquet.Value, len(conv))
	for rg, group := range pf.file.RowGroups() {
		if err := pf.openChunk(l, group.ColumnChunks(), rg); err != nil {
			return err
		}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			if l.values == nil {
				if err := l.nextPage(); err == io.EOF {
					break
				} else if err != nil {
					return columnError(l, rg, err)
				}
			}
			k, err := l.values.ReadValues(l.buf)
			l.store(l.buf[:k], conv[:], 1, 0)
			for i := range k {
				fn(&conv[i])
			}
			switch {
			case err == io.EOF:
				l.releasePage()
			case err != nil:
				return columnError(l, rg, err)
			case k == 0:
				return columnError(l, rg, errors.New("a page yields no values"))
			}
		}
		l.close()
	}
	return nil
}

// mapParquetType maps a leaf column's declared type to a logical type and
// picks the conversion of its values.
func mapParquetType(c *parquet.Column) (f Field, convert func(parquet.Value) Value, text bool) {
	t := c.Type()
	kind := t.Kind()
	f = Field{Name: strings.Join(c.Path(), "."), Physical: kind.String()}
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil && l.Value != nil {
		lt = l.Value
		f.Physical += " " + l.String()
	}
	intValue := func(v parquet.Value) Value { return Value{Kind: KindInt, Int: v.Int64()} }
	if kind == parquet.Int32 {
		intValue = func(v parquet.Value) Value { return Value{Kind: KindInt, Int: int64(v.Int32())} }
	}
	switch lt := lt.(type) {
	case *format.DateType:
		f.Type = TypeDate
		return f, func(v parquet.Value) Value { return Value{Kind: KindDate, Int: int64(v.Int32())} }, false
	case *format.TimestampType:
		f.Type = TypeTimestamp
		unit := timeUnit(lt.Unit)
		return f, func(v parquet.Value) Value { return Value{Kind: KindTimestamp, Time: unixIn(v.Int64(), unit)} }, false
	case *format.TimeType:
		// A time of day: text, HH:MM:SS.ffffff, which sorts as it should.
		f.Type = TypeString
		unit := timeUnit(lt.Unit)
		return f, func(v parquet.Value) Value {
			n := v.Int64()
			if kind == parquet.Int32 {
				n = int64(v.Int32())
			}
			d := time.Duration(n) * unit
			return Value{Kind: KindString, Str: time.Unix(0, int64(d)).UTC().Format("15:04:05.999999999")}
		}, false
	case *format.DecimalType:
		// Decimals become floats: the catalog's statistics need no more
		// than float precision.
		f.Type = TypeFloat
		scale := math.Pow10(int(lt.Scale))
		switch kind {
		case parquet.Int32, parquet.Int64:
			return f, func(v parquet.Value) Value { return Value{Kind: KindFloat, Float: float64(intValue(v).Int) / scale} }, false
		default:
			return f, func(v parquet.Value) Value {
				return Value{Kind: KindFloat, Float: bigEndianFloat(v.ByteArray()) / scale}
			}, false
		}
	case *format.IntType:
		f.Type = TypeInteger
		if !lt.IsSigned && lt.BitWidth == 64 {
			return f, func(v parquet.Value) Value {
				if u := v.Uint64(); u > math.MaxInt64 {
					return Value{Kind: KindFloat, Float: float64(u)}
				}
				return intValue(v)
			}, false
		}
		if !lt.IsSigned && lt.BitWidth == 32 {
			return f, func(v parquet.Value) Value { return Value{Kind: KindInt, Int: int64(v.Uint32())} }, false
		}
		return f, intValue, false
	case *format.UUIDType:
		f.Type = TypeString
		return f, func(v parquet.Value) Value { return Value{Kind: KindString, Str: uuidString(v.ByteArray())} }, false
	case *format.Float16Type:
		f.Type = TypeFloat
		return f, func(v parquet.Value) Value { return Value{Kind: KindFloat, Float: float16(v.ByteArray())} }, false
	case *format.StringType, *format.EnumType, *format.JsonType:
		f.Type = TypeString
		return f, nil, true
	}
	switch kind {
	case parquet.Boolean:
		f.Type = TypeBoolean
		return f, func(v parquet.Value) Value {
			var b int64
			if v.Boolean() {
				b = 1
			}
			return Value{Kind: KindBool, Int: b}
		}, false
	case parquet.Int32, parquet.Int64:
		f.Type = TypeInteger
		return f, intValue, false
	case parquet.Int96:
		// The legacy Impala/Spark timestamp: nanoseconds of the day, then
		// the Julian day.
		f.Type = TypeTimestamp
		return f, func(v parquet.Value) Value {
			i := v.Int96()
			nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
			days := int64(i[2]) - 2440588
			return Value{Kind: KindTimestamp, Time: time.Unix(days*86400, 0).Add(time.Duration(nanos)).UTC()}
		}, false
	case parquet.Float:
		f.Type = TypeFloat
		return f, func(v parquet.Value) Value { return Value{Kind: KindFloat, Float: float64(v.Float())} }, false
	case parquet.Double:
		f.Type = TypeFloat
		return f, func(v parquet.Value) Value { return Value{Kind: KindFloat, Float: v.Double()} }, false
	}
	// Byte arrays without a string annotation: bytes.
	f.Type = TypeBinary
	return f, nil, false
}

func timeUnit(u format.TimeUnit) time.Duration {
	if u.Value == nil {
		return time.Millisecond
	}
	return u.Value.Duration()
}

// unixIn returns the instant n units after the epoch, without overflowing
// for units coarser than nanoseconds.
func unixIn(n int64, unit time.Duration) time.Time {
	per := int64(time.Second / unit)
	sec, frac := n/per, n%per
	if frac < 0 {
		sec, frac = sec-1, frac+per
	}
	return time.Unix(sec, frac*int64(unit)).UTC()
}

// bigEndianFloat reads a big-endian two's-complement integer of any length.
func bigEndianFloat(b []byte) float64 {
	if len(b) <= 8 {
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		if len(b) > 0 && len(b) < 8 && b[0]&0x80 != 0 {
			v -= 1 << (8 * len(b))
		}
		return float64(v)
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	return f
}

func uuidString(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// float16 decodes an IEEE 754 half-precision number (little-endian).
func float16(b []byte) float64 {
	if len(b) != 2 {
		return math.NaN()
	}
	h := binary.LittleEndian.Uint16(b)
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// ProfileParquet profiles the Parquet file ra of size bytes, reading each
// column on its own: a column outside lists and maps through a one-column
// [ParquetRows], a column inside a list or map element by element (its
// Column is marked Repeated). Memory is a page and a batch per goroutine,
// however wide the file. Types come from the file's declarations, not from
// inference. Statistics are computed from the values; the footer's
// statistics are not trusted (see docs/design/0011-tabular-profiling.md).
func ProfileParquet(ctx context.Context, ra io.ReaderAt, size int64, opts Options) (*Schema, error) {
	opts = opts.withDefaults()
	pf, err := openParquet(ra, size, opts.Limits.withDefaults())
	if err != nil {
		return nil, err
	}
	s := &Schema{Format: FormatParquet, Rows: pf.numRows(), Columns: make([]Column, len(pf.leaves))}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for range min(opts.parallelism(), len(pf.leaves)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pf.leaves) || ctx.Err() != nil {
					return
				}
				c, err := pf.profileColumn(ctx, pf.leaves[i], opts)
				if err != nil {
					fail(err)
					return
				}
				s.Columns[i] = c
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	// A cancellation from the caller that stopped the workers before any
	// of them failed.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// profileColumn profiles one leaf column.
func (pf *parquetFile) profileColumn(ctx context.Context, info leafInfo, opts Options) (Column, error) {
	var st columnState
	st.init(info.field, opts)
	if info.repeated {
		if err := pf.eachValue(ctx, info, st.add); err != nil {
			return Column{}, err
		}
		c := st.column()
		c.Repeated = true
		return c, nil
	}
	rows := pf.rows([]leafInfo{info})
	defer rows.Close()
	states := []columnState{st}
	if _, err := profileSequentially(ctx, rows, states); err != nil {
		return Column{}, err
	}
	if err := rows.Err(); err != nil {
		return Column{}, err
	}
	return states[0].column(), nil
}
