package tabular

import (
	"context"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Schema is the profile of one tabular file, as the catalog stores it with
// the dataset version. Marshalled with encoding/json it is deterministic:
// the same file and options give byte-identical JSON.
type Schema struct {
	Format Format `json:"format"`
	// Delimiter is the CSV field separator that was used.
	Delimiter string `json:"delimiter,omitempty"`
	// Rows counts data rows (the CSV header excluded).
	Rows    int64    `json:"rows"`
	Columns []Column `json:"columns"`
}

// Column is the profile of one column. Which statistics are present
// depends on the type:
//
//   - integer, float: min, max, mean, stddev, non_finite_count
//   - boolean, date, timestamp: min, max
//   - string: min_length, max_length (in characters); min and max only
//     when Options.StringMinMax asked for them
//   - binary: min_length, max_length (in bytes)
//
// Statistics over no values (a column of nulls) are absent.
type Column struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Physical is the type the file declares, for formats that declare
	// one (Parquet).
	Physical  string `json:"physical_type,omitempty"`
	NullCount int64  `json:"null_count"`
	// DistinctCount counts distinct non-null values: exactly up to
	// Options.DistinctExactLimit, then estimated (DistinctApproximate),
	// with a typical error under 1%.
	DistinctCount       int64 `json:"distinct_count"`
	DistinctApproximate bool  `json:"distinct_approximate,omitempty"`
	// Min and Max are the extremes in the type's order, written as the
	// value's canonical text: integers and floats in Go's shortest form
	// ("+Inf" included), dates as YYYY-MM-DD, timestamps as RFC 3339 in
	// UTC, strings cut to Options.StringTruncate characters.
	Min *string `json:"min,omitempty"`
	Max *string `json:"max,omitempty"`
	// Mean and StdDev (the sample standard deviation) are over the finite
	// values; NonFiniteCount counts the others (±Inf, NaN).
	Mean           *float64 `json:"mean,omitempty"`
	StdDev         *float64 `json:"stddev,omitempty"`
	NonFiniteCount int64    `json:"non_finite_count,omitempty"`
	MinLength      *int64   `json:"min_length,omitempty"`
	MaxLength      *int64   `json:"max_length,omitempty"`
	// Repeated marks a Parquet column inside a list or map: its counts are
	// over the elements, not the rows.
	Repeated bool `json:"repeated,omitempty"`
}

// Options configure profiling.
type Options struct {
	ReaderOptions
	// DistinctExactLimit is how many distinct values per column are
	// counted exactly before the count becomes an estimate. Default
	// 10,000. Columns read together share a budget of exactHashBudget
	// hashes, so in a very wide CSV file the limit shrinks (to no less
	// than 256): a file of 2,000 columns of distinct numbers would
	// otherwise hold 40 million hashes (1.4 GB) at once.
	DistinctExactLimit int
	// StringMinMax records the smallest and largest value of string
	// columns. It is off by default because those are real values of
	// single records — in a patient table, the first and last name in
	// alphabetical order — and the catalog shows profiles to people who may
	// not read the data itself. Numeric and date extremes are kept: ranges
	// are what catalog users need, though an extreme can single a person
	// out too (the oldest patient), so profiles are as sensitive as the
	// dataset's classification says.
	StringMinMax bool
	// StringTruncate is how many characters of a string min or max are
	// kept. Default 64.
	StringTruncate int
	// Parallelism is how many goroutines profiling keeps busy. Zero means
	// GOMAXPROCS, at most 4; one does all the work in the calling
	// goroutine. A CSV file is read by one goroutine while the others
	// profile its columns; a Parquet file's columns are read and profiled
	// independently, one per goroutine at a time. The profile is the same
	// whatever the parallelism.
	Parallelism int
}

func (o Options) parallelism() int {
	if o.Parallelism > 0 {
		return o.Parallelism
	}
	return max(1, min(runtime.GOMAXPROCS(0), 4))
}

func (o Options) withDefaults() Options {
	if o.DistinctExactLimit <= 0 {
		o.DistinctExactLimit = 10000
	}
	if o.StringTruncate <= 0 {
		o.StringTruncate = 64
	}
	return o
}

// Profile reads a whole tabular file from r and returns its profile. CSV is
// streamed; Parquet needs random access, so r must also be an io.ReaderAt
// and an io.Seeker (an *os.File, a *bytes.Reader) — otherwise call
// [ProfileParquet].
func Profile(ctx context.Context, r io.Reader, format Format, opts Options) (*Schema, error) {
	switch format {
	case FormatCSV:
		rows, err := NewCSVRows(r, opts.ReaderOptions)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return ProfileRows(ctx, rows, opts)
	case FormatParquet:
		ra, okAt := r.(io.ReaderAt)
		sk, okSeek := r.(io.Seeker)
		if !okAt || !okSeek {
			return nil, enclave.Errorf(enclave.CodeInvalidArgument, "a Parquet file needs random access: use ProfileParquet with an io.ReaderAt and its size")
		}
		pos, err := sk.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, internalError(err, "finding the size of the Parquet file")
		}
		size, err := sk.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, internalError(err, "finding the size of the Parquet file")
		}
		if _, err := sk.Seek(pos, io.SeekStart); err != nil {
			return nil, internalError(err, "finding the size of the Parquet file")
		}
		return ProfileParquet(ctx, ra, size, opts)
	}
	return nil, enclave.Errorf(enclave.CodeInvalidArgument, "format %q cannot be profiled (csv or parquet)", format)
}

// ProfileRows profiles any stream of rows. Columns whose Field.Type is
// empty (CSV) get a type inferred from their text; the others keep the
// type the reader declares.
func ProfileRows(ctx context.Context, rows Rows, opts Options) (*Schema, error) {
	opts = opts.withDefaults()
	fields := rows.Columns()
	sets := 0 // exact sets the columns keep at once: two while a type is inferred
	for _, f := range fields {
		sets++
		if f.Type == "" {
			sets++
		}
	}
	if sets > 0 {
		opts.DistinctExactLimit = min(opts.DistinctExactLimit, max(256, exactHashBudget/sets))
	}
	states := make([]columnState, len(fields))
	for i, f := range fields {
		states[i].init(f, opts)
	}
	workers := min(opts.parallelism()-1, len(states))
	var n int64
	var err error
	if workers > 0 {
		n, err = profileConcurrently(ctx, rows, states, workers)
	} else {
		n, err = profileSequentially(ctx, rows, states)
	}
	if err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Schema{Rows: n, Columns: make([]Column, len(states))}
	switch r := rows.(type) {
	case *CSVRows:
		s.Format, s.Delimiter = FormatCSV, string(r.Delimiter())
	case *ParquetRows:
		s.Format = FormatParquet
	}
	for i := range states {
		s.Columns[i] = states[i].column()
	}
	return s, nil
}

// exactHashBudget bounds the hashes all columns read together keep for
// exact distinct counts: 2 Mi hashes, about 75 MB in Go maps (~36 bytes
// a hash).
const exactHashBudget = 1 << 21

func profileSequentially(ctx context.Context, rows Rows, states []columnState) (int64, error) {
	var n int64
	for rows.Next() {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		row := rows.Row()
		if len(row) != len(states) {
			return 0, errRowWidth(len(row), len(states))
		}
		for i := range states {
			states[i].add(&row[i])
		}
		n++
	}
	return n, nil
}

func errRowWidth(got, want int) error {
	return enclave.Errorf(enclave.CodeInternal, "tabular: a row of %d values for %d columns", got, want)
}

// profileBatch is a run of rows, copied out of the reader, that every
// worker profiles its own columns of.
type profileBatch struct {
	values  []Value // rows × columns, row-major
	rows    int
	pending atomic.Int32 // workers yet to finish with it
}

// profileConcurrently reads rows in the calling goroutine while workers
// profile the columns, column j by worker j mod workers. Each column is
// still fed its values in file order by one goroutine, so the profile is
// the same as a sequential one, byte for byte.
func profileConcurrently(ctx context.Context, rows Rows, states []columnState, workers int) (int64, error) {
	const batches = 4
	ncols := len(states)
	per := max(16, min(512, 16384/ncols)) // rows per batch: ≤ 16K values, 1 MiB
	free := make(chan *profileBatch, batches)
	for range batches {
		free <- &profileBatch{values: make([]Value, per*ncols)}
	}
	queues := make([]chan *profileBatch, workers)
	var wg sync.WaitGroup
	for w := range workers {
		queue := make(chan *profileBatch, batches)
		queues[w] = queue
		wg.Go(func() {
			for b := range queue {
				for j := w; j < ncols; j += workers {
					st := &states[j]
					for i := range b.rows {
						st.add(&b.values[i*ncols+j])
					}
				}
				if b.pending.Add(-1) == 0 {
					free <- b
				}
			}
		})
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		b := <-free
		b.rows = 0
		for b.rows < per && rows.Next() {
			row := rows.Row()
			if len(row) != ncols {
				return 0, errRowWidth(len(row), ncols)
			}
			copy(b.values[b.rows*ncols:], row)
			b.rows++
		}
		if b.rows == 0 {
			return n, nil
		}
		n += int64(b.rows)
		b.pending.Store(int32(workers))
		for _, q := range queues {
			q <- b
		}
		if b.rows < per {
			return n, nil
		}
	}
}

// Value families CSV inference tells apart. No text parses as two of them,
// so after the first value at most one remains possible.
const (
	famNumber uint8 = 1 << iota
	famBool
	famTime
	famAll = famNumber | famBool | famTime
)

// columnState accumulates one column's statistics in constant memory.
type columnState struct {
	field Field
	opts  *Options
	infer bool  // the type is inferred from text
	mask  uint8 // families still possible (inference)

	sawFraction  bool // a number with a fraction, exponent or non-finite spelling
	sawBigInt    bool // an integer beyond int64
	sawTimestamp bool // a temporal value with a time of day

	nulls, values int64

	haveI      bool
	minI, maxI int64
	haveF      bool
	minF, maxF float64
	nFinite    int64
	mean, m2   float64 // Welford's running mean and sum of squared deviations
	nonFinite  int64

	trues, falses int64

	haveDay        bool
	minDay, maxDay int64
	haveT          bool
	minT, maxT     time.Time

	haveLen        bool
	minLen, maxLen int64
	haveS          bool
	minS, maxS     string

	distinct *distinctCounter // the values (text, for inferred columns)
	typed    *distinctCounter // inferred columns: the typed values while a family remains
}

func (s *columnState) init(f Field, opts Options) {
	s.field = f
	s.opts = &opts
	s.distinct = newDistinctCounter(opts.DistinctExactLimit)
	if f.Type == "" {
		s.infer = true
		s.mask = famAll
		s.typed = newDistinctCounter(opts.DistinctExactLimit)
	}
}

// valueCounter is where the hash of a typed value goes.
func (s *columnState) valueCounter() *distinctCounter {
	if s.infer {
		return s.typed
	}
	return s.distinct
}

func (s *columnState) add(v *Value) {
	switch v.Kind {
	case KindNull:
		s.nulls++
		return
	case KindString:
		if s.infer {
			s.addText(v.Str)
			return
		}
		s.values++
		s.addString(v.Str, true)
		return
	}
	if s.infer {
		// A reader that declares no type but yields typed values: infer
		// from their canonical text.
		s.addText(v.String())
		return
	}
	s.values++
	switch v.Kind {
	case KindInt:
		s.addInt(v.Int)
	case KindFloat:
		s.addFloat(v.Float)
	case KindBool:
		s.addBool(v.Int != 0)
	case KindDate:
		s.addDay(v.Int)
	case KindTimestamp:
		s.addTime(v.Time)
	case KindBytes:
		s.addBytes(v.Str)
	}
}

// addText takes one CSV value: as a string in case the column ends up
// text, and as a typed value while a type family remains possible.
func (s *columnState) addText(text string) {
	s.values++
	s.addString(text, true)
	if s.mask == 0 {
		return
	}
	t := trimBlanks(text)
	if s.mask&famNumber != 0 {
		switch c, i, f := parseNumber(t); c {
		case numInt:
			s.mask = famNumber
			s.addInt(i)
			return
		case numBigInt:
			s.mask = famNumber
			s.sawBigInt = true
			s.addFloat(f)
			return
		case numFloat:
			s.mask = famNumber
			s.sawFraction = true
			s.addFloat(f)
			return
		}
		s.mask &^= famNumber
	}
	if s.mask&famBool != 0 {
		if b, ok := parseBool(t); ok {
			s.mask = famBool
			s.addBool(b)
			return
		}
		s.mask &^= famBool
	}
	if s.mask&famTime != 0 {
		if d, ok := parseDate(t); ok {
			s.mask = famTime
			s.addDay(d)
			return
		}
		if ts, ok := parseTimestamp(t); ok {
			s.mask = famTime
			s.sawTimestamp = true
			s.addTime(ts)
			return
		}
		s.mask &^= famTime
	}
	// Text after all: the typed statistics are moot, free their memory.
	s.typed = nil
}

func (s *columnState) addInt(i int64) {
	if !s.haveI {
		s.minI, s.maxI, s.haveI = i, i, true
	} else if i < s.minI {
		s.minI = i
	} else if i > s.maxI {
		s.maxI = i
	}
	s.welford(float64(i))
	s.valueCounter().add(hashInt(i))
}

func (s *columnState) addFloat(f float64) {
	s.valueCounter().add(hashFloat(f))
	if math.IsNaN(f) {
		s.nonFinite++
		return
	}
	if !s.haveF {
		s.minF, s.maxF, s.haveF = f, f, true
	} else if f < s.minF {
		s.minF = f
	} else if f > s.maxF {
		s.maxF = f
	}
	if math.IsInf(f, 0) {
		s.nonFinite++
		return
	}
	s.welford(f)
}

// welford adds x to the running mean and variance (Welford 1962): one
// pass, and no catastrophic cancellation as with Σx² − (Σx)²/n.
func (s *columnState) welford(x float64) {
	s.nFinite++
	d := x - s.mean
	s.mean += d / float64(s.nFinite)
	s.m2 += d * (x - s.mean)
}

func (s *columnState) addBool(b bool) {
	var bit uint64
	if b {
		s.trues++
		bit = 1
	} else {
		s.falses++
	}
	s.valueCounter().add(hashUint64(bit, saltBool))
}

func (s *columnState) addDay(d int64) {
	if !s.haveDay {
		s.minDay, s.maxDay, s.haveDay = d, d, true
	} else if d < s.minDay {
		s.minDay = d
	} else if d > s.maxDay {
		s.maxDay = d
	}
	// A date hashes as its midnight, so that in a column of dates and
	// timestamps 2024-01-02 and 2024-01-02T00:00:00Z are one value.
	s.valueCounter().add(hashTime(d*86400, 0))
}

func (s *columnState) addTime(t time.Time) {
	if !s.haveT {
		s.minT, s.maxT, s.haveT = t, t, true
	} else if t.Before(s.minT) {
		s.minT = t
	} else if t.After(s.maxT) {
		s.maxT = t
	}
	s.valueCounter().add(hashTime(t.Unix(), int64(t.Nanosecond())))
}

// addString takes a string's length, hash and, if asked, its rank.
func (s *columnState) addString(str string, hash bool) {
	n := int64(utf8.RuneCountInString(str))
	s.noteLength(n)
	if hash {
		s.distinct.add(hashString(str))
	}
	if !s.opts.StringMinMax {
		return
	}
	// Compare whole values, keep copies: the reader's memory is reused,
	// and a kept substring would pin a whole record.
	if !s.haveS {
		s.minS, s.maxS, s.haveS = strings.Clone(str), strings.Clone(str), true
	} else if str < s.minS {
		s.minS = strings.Clone(str)
	} else if str > s.maxS {
		s.maxS = strings.Clone(str)
	}
}

func (s *columnState) addBytes(b string) {
	s.noteLength(int64(len(b)))
	s.distinct.add(hashString(b))
}

func (s *columnState) noteLength(n int64) {
	if !s.haveLen {
		s.minLen, s.maxLen, s.haveLen = n, n, true
	} else if n < s.minLen {
		s.minLen = n
	} else if n > s.maxLen {
		s.maxLen = n
	}
}

// finalType decides an inferred column's type; see parseNumber and the
// design note for the rules.
func (s *columnState) finalType() Type {
	if !s.infer {
		return s.field.Type
	}
	if s.values == 0 {
		return TypeString
	}
	switch s.mask {
	case famNumber:
		switch {
		case s.sawFraction:
			return TypeFloat
		case s.sawBigInt:
			// Integers too long for int64 and nothing with a fraction:
			// account or record numbers, which a float would round.
			return TypeString
		}
		return TypeInteger
	case famBool:
		return TypeBoolean
	case famTime:
		if s.sawTimestamp {
			return TypeTimestamp
		}
		return TypeDate
	}
	return TypeString
}

func (s *columnState) column() Column {
	typ := s.finalType()
	c := Column{Name: s.field.Name, Type: typ, Physical: s.field.Physical, NullCount: s.nulls}
	counter := s.distinct
	if s.infer && typ != TypeString {
		counter = s.typed
	}
	c.DistinctCount, c.DistinctApproximate = counter.count()
	switch typ {
	case TypeInteger, TypeFloat:
		s.numericExtremes(&c, typ)
		if s.nFinite > 0 && finite(s.mean) {
			c.Mean = ptr(s.mean)
		}
		if s.nFinite > 1 {
			if sd := math.Sqrt(s.m2 / float64(s.nFinite-1)); finite(sd) {
				c.StdDev = ptr(sd)
			}
		}
		c.NonFiniteCount = s.nonFinite
	case TypeBoolean:
		if s.trues+s.falses > 0 {
			c.Min, c.Max = ptr(strconv.FormatBool(s.falses == 0)), ptr(strconv.FormatBool(s.trues > 0))
		}
	case TypeDate:
		if s.haveDay {
			c.Min, c.Max = ptr(dateString(s.minDay)), ptr(dateString(s.maxDay))
		}
	case TypeTimestamp:
		lo, hi, ok := s.minT, s.maxT, s.haveT
		if s.haveDay {
			dlo, dhi := time.Unix(s.minDay*86400, 0).UTC(), time.Unix(s.maxDay*86400, 0).UTC()
			if !ok || dlo.Before(lo) {
				lo = dlo
			}
			if !ok || dhi.After(hi) {
				hi = dhi
			}
			ok = true
		}
		if ok {
			c.Min, c.Max = ptr(timestampString(lo)), ptr(timestampString(hi))
		}
	case TypeString, TypeBinary:
		if s.haveLen {
			c.MinLength, c.MaxLength = ptr(s.minLen), ptr(s.maxLen)
		}
		if typ == TypeString && s.haveS {
			n := s.opts.StringTruncate
			c.Min, c.Max = ptr(truncateRunes(s.minS, n)), ptr(truncateRunes(s.maxS, n))
		}
	}
	return c
}

// numericExtremes combines the integer and float extremes.
func (s *columnState) numericExtremes(c *Column, typ Type) {
	if !s.haveI && !s.haveF {
		return
	}
	if s.haveI && !s.haveF {
		c.Min, c.Max = ptr(strconv.FormatInt(s.minI, 10)), ptr(strconv.FormatInt(s.maxI, 10))
		return
	}
	lo, hi := s.minF, s.maxF
	if s.haveI {
		lo, hi = min(lo, float64(s.minI)), max(hi, float64(s.maxI))
	}
	format, prec := byte('g'), -1
	if typ == TypeInteger {
		// An integer column holds a float only for unsigned 64-bit values
		// beyond int64; write them as the integers they round to.
		format, prec = 'f', 0
	}
	c.Min, c.Max = ptr(strconv.FormatFloat(lo, format, prec, 64)), ptr(strconv.FormatFloat(hi, format, prec, 64))
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

func ptr[T any](v T) *T { return &v }

// String returns the value's canonical text: what a CSV file would hold.
func (v Value) String() string {
	switch v.Kind {
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.Int != 0)
	case KindDate:
		return dateString(v.Int)
	case KindTimestamp:
		return timestampString(v.Time)
	case KindString, KindBytes:
		return v.Str
	}
	return ""
}
