package deid

import (
	"bytes"
	"context"
	"hash/maphash"
	"io"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tabular"
)

// ScanOptions configure a scan.
type ScanOptions struct {
	// Config tunes the detectors; nil means DefaultConfig.
	Config *Config
	// QuasiIdentifiers name the columns whose combination k-anonymity is
	// measured over (age, sex, ZIP code, ...). None means no measure.
	QuasiIdentifiers []string
	// SensitiveAttributes name the columns whose l-diversity within the
	// quasi-identifiers' classes is measured (a diagnosis, say).
	SensitiveAttributes []string
	// Format is "csv" or "parquet" for [Scan]; empty means detect it.
	// ScanCSV and ScanParquet ignore it.
	Format string
	// Limits bound what the readers accept.
	Limits tabular.Limits
}

// Scan scans the file ra of size bytes, in opts.Format or, if that is
// empty, in the format DetectFormat finds from its first bytes.
func Scan(ctx context.Context, ra io.ReaderAt, size int64, opts ScanOptions) (*Report, error) {
	format := opts.Format
	if format == "" {
		head := make([]byte, min(size, 64<<10))
		if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
			return nil, enclave.Wrap(enclave.CodeInternal, err, "reading the file")
		}
		format = DetectFormat("", head)
	}
	switch format {
	case "csv":
		return ScanCSV(ctx, io.NewSectionReader(ra, 0, size), opts)
	case "parquet":
		return ScanParquet(ctx, ra, size, opts)
	}
	return nil, enclave.Errorf(enclave.CodeInvalidArgument, "the file is neither CSV nor Parquet")
}

// ScanCSV scans a CSV file (RFC 4180, header first, delimiter detected)
// for identifiers, in one pass over r.
func ScanCSV(ctx context.Context, r io.Reader, opts ScanOptions) (*Report, error) {
	cc, err := opts.Config.compile()
	if err != nil {
		return nil, err
	}
	cr, names, err := newCSVReader(r, opts.Limits)
	if err != nil {
		return nil, err
	}
	s, err := newScanner(cc, names, opts)
	if err != nil {
		return nil, err
	}
	return s.scanCSV(ctx, cr)
}

// ScanParquet scans the Parquet file ra of size bytes for identifiers, a
// row at a time. Columns inside lists and maps are not scanned (see
// tabular.NewParquetRows).
func ScanParquet(ctx context.Context, ra io.ReaderAt, size int64, opts ScanOptions) (*Report, error) {
	cc, err := opts.Config.compile()
	if err != nil {
		return nil, err
	}
	rows, err := tabular.NewParquetRows(ra, size, tabular.ReaderOptions{Limits: opts.Limits})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fields := rows.Columns()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	s, err := newScanner(cc, names, opts)
	if err != nil {
		return nil, err
	}
	s.format = "parquet"
	return s.scanRows(ctx, rows)
}

// tally counts cells and keeps the first few rows' numbers.
type tally struct {
	cells    int64
	examples [maxExamples]int64
}

const maxExamples = 5

func (t *tally) add(row int64) {
	if t.cells < maxExamples {
		t.examples[t.cells] = row
	}
	t.cells++
}

func (t *tally) rows() []int64 {
	return append([]int64{}, t.examples[:min(t.cells, maxExamples)]...)
}

// columnScan accumulates what the scan finds in one column.
type columnScan struct {
	name    string
	hint    hint
	nonNull int64
	bytes   int64
	spaced  int64 // cells containing a space
	whole   [numKinds]tally
	inside  [numKinds]tally // cells with the kind inside, not as the whole
	any     [numKinds]tally
	// ssnShaped counts cells shaped like an SSN (nine digits, dashed or
	// not); bareSSN the nine-digit ones that pass the SSA rules, which are
	// SSNs only if every cell is SSN-shaped.
	ssnShaped int64
	bareSSN   tally
	cache     resultCache
}

// scanner holds a scan's state.
type scanner struct {
	cc      *compiled
	f       *finder
	format  string
	cols    []columnScan
	ms      []match
	rows    int64
	nulls   nullSet
	num     []byte
	qi      []int
	sens    []int
	qiNames []string
	classes *classCounter
	key     *classKey
	skey    *classKey
	// onCell, when set (by tests), is called with each non-null cell's
	// findings: kinds matching the whole cell (contextual rules included),
	// kinds anywhere in it, and whether it is a bare nine-digit SSN.
	onCell func(row int64, col int, whole, anywhere kindSet, bareSSN bool)
}

func newScanner(cc *compiled, names []string, opts ScanOptions) (*scanner, error) {
	s := &scanner{cc: cc, f: cc.newFinder(), format: "csv", nulls: newNullSet(nil)}
	s.cols = make([]columnScan, len(names))
	index := map[string]int{}
	for i, n := range names {
		s.cols[i] = columnScan{name: n, hint: headerHint(n)}
		if _, dup := index[n]; !dup {
			index[n] = i
		}
	}
	lookup := func(what string, list []string) ([]int, error) {
		var out []int
		seen := map[string]bool{}
		for _, n := range list {
			i, ok := index[n]
			if !ok {
				return nil, enclave.FieldError(what, "the file has no column %s", quoteName(n))
			}
			if seen[n] {
				return nil, enclave.FieldError(what, "column %s is listed twice", quoteName(n))
			}
			seen[n] = true
			out = append(out, i)
		}
		return out, nil
	}
	var err error
	if s.qi, err = lookup("quasi_identifiers", opts.QuasiIdentifiers); err != nil {
		return nil, err
	}
	if s.sens, err = lookup("sensitive_attributes", opts.SensitiveAttributes); err != nil {
		return nil, err
	}
	if len(s.sens) > 0 && len(s.qi) == 0 {
		return nil, enclave.FieldError("sensitive_attributes", "l-diversity needs quasi-identifiers to form the classes")
	}
	if len(s.qi) > 0 {
		s.qiNames = append([]string(nil), opts.QuasiIdentifiers...)
		s.classes = newClassCounter(cc.maxClasses, len(s.sens))
		seed := maphash.MakeSeed()
		s.key, s.skey = newClassKey(seed), newClassKey(seed)
	}
	return s, nil
}

// checkEvery is how many rows pass between checks of the context.
const checkEvery = 4096

func (s *scanner) scanCSV(ctx context.Context, cr *csvReader) (*Report, error) {
	for cr.Next() {
		if s.rows%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s.rows++
		rec := cr.Record()
		for j, f := range rec {
			if !s.nulls.has(f) {
				s.cell(j, f)
			}
		}
		if s.classes != nil {
			s.key.reset()
			for _, j := range s.qi {
				s.key.text(rec[j], s.nulls.has(rec[j]))
			}
			cls, _ := s.classes.add(s.key.sum())
			for a, j := range s.sens {
				s.skey.reset()
				s.skey.text(rec[j], s.nulls.has(rec[j]))
				s.classes.addSensitive(cls, a, s.skey.sum())
			}
		}
	}
	if err := cr.Err(); err != nil {
		return nil, err
	}
	return s.report(), nil
}

func (s *scanner) scanRows(ctx context.Context, rows tabular.Rows) (*Report, error) {
	for rows.Next() {
		if s.rows%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s.rows++
		row := rows.Row()
		for j := range row {
			s.value(j, &row[j])
		}
		if s.classes != nil {
			s.key.reset()
			for _, j := range s.qi {
				s.key.value(&row[j])
			}
			cls, _ := s.classes.add(s.key.sum())
			for a, j := range s.sens {
				s.skey.reset()
				s.skey.value(&row[j])
				s.classes.addSensitive(cls, a, s.skey.sum())
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return s.report(), nil
}

// stringBytes returns the bytes of s without copying; they are only read.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// value scans one typed cell: text as text, integers as their digits
// (identifiers are often stored as numbers), dates and timestamps as
// dates of birth in a column whose header says so.
func (s *scanner) value(j int, v *tabular.Value) {
	switch v.Kind {
	case tabular.KindNull:
	case tabular.KindString:
		s.cell(j, stringBytes(v.Str))
	case tabular.KindBytes:
		if utf8.ValidString(v.Str) {
			s.cell(j, stringBytes(v.Str))
		} else {
			s.cols[j].nonNull++
		}
	case tabular.KindInt:
		s.num = strconv.AppendInt(s.num[:0], v.Int, 10)
		if s.cols[j].hint&hintPostcode != 0 && v.Int >= 0 && v.Int <= 99999 && len(s.num) < 5 {
			// A ZIP code stored as a number has lost its leading zeros.
			s.num = append(bytes.Repeat([]byte{'0'}, 5-len(s.num)), s.num...)
		}
		s.cell(j, s.num)
	case tabular.KindDate, tabular.KindTimestamp:
		c := &s.cols[j]
		c.nonNull++
		if c.hint&hintDOB != 0 {
			c.whole[kDOB].add(s.rows)
			c.any[kDOB].add(s.rows)
			if s.onCell != nil {
				s.onCell(s.rows, j, 1<<kDOB, 1<<kDOB, false)
			}
		}
	default:
		s.cols[j].nonNull++
	}
}

// trimSpace trims ASCII white space.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && byteClass[b[0]] == cSpace {
		b = b[1:]
	}
	for len(b) > 0 && byteClass[b[len(b)-1]] == cSpace {
		b = b[:len(b)-1]
	}
	return b
}

// cell scans one non-null text cell of column j.
func (s *scanner) cell(j int, b []byte) {
	c := &s.cols[j]
	b = trimSpace(b)
	c.nonNull++
	c.bytes += int64(len(b))
	if len(b) == 0 {
		return
	}
	var r cellResult
	switch {
	case len(b) < s.cc.minLen && c.hint == 0:
		// Too short to be anything.
		r.spaced = bytes.IndexByte(b, ' ') >= 0
	case len(b) <= cacheKeyMax && !c.cache.off:
		r = c.cache.lookup(b, func() cellResult { return s.classify(c, b) })
	default:
		r = s.classify(c, b)
	}
	if r.spaced {
		c.spaced++
	}
	bare := false
	switch {
	case len(b) == 9 && allDigits(b):
		c.ssnShaped++
		if ssnValid(b) {
			bare = true
			c.bareSSN.add(s.rows)
		}
	case len(b) == 11 && b[3] == '-' && b[6] == '-' && allDigits(b[:3]) && allDigits(b[4:6]) && allDigits(b[7:]):
		c.ssnShaped++
	}
	for set := r.anywhere | r.whole; set != 0; set &= set - 1 {
		k := bits.TrailingZeros16(uint16(set))
		if r.whole.has(kindIdx(k)) {
			c.whole[k].add(s.rows)
		} else {
			c.inside[k].add(s.rows)
		}
		c.any[k].add(s.rows)
	}
	if s.onCell != nil {
		s.onCell(s.rows, j, r.whole, r.anywhere|r.whole, bare)
	}
}

// cellResult is what a cell's text matched: kinds as the whole cell
// (contextual rules included) and anywhere in it, and whether it holds a
// space.
type cellResult struct {
	whole, anywhere kindSet
	spaced          bool
}

// classify runs the detectors on a cell of column c. The result depends
// only on the text and the column's header, which is what lets
// resultCache reuse it.
func (s *scanner) classify(c *columnScan, b []byte) cellResult {
	var r cellResult
	ms := s.f.find(b, s.ms[:0])
	s.ms = ms
	r.spaced = s.f.feat&fSpace != 0 && (len(b) <= shortText || bytes.IndexByte(b, ' ') >= 0)
	for _, m := range ms {
		r.anywhere.add(m.kind)
	}
	if len(ms) == 1 && ms[0].start == 0 && int(ms[0].end) == len(b) {
		r.whole.add(ms[0].kind)
		r.whole.add(ms[0].alt)
	}
	if isUpper(b[0]) && !r.whole.has(kName) && nameCell(b) {
		r.whole.add(kName)
	}
	if c.hint != 0 {
		if c.hint&hintName != 0 && !r.whole.has(kName) && capWords(b) {
			r.whole.add(kName)
		}
		if c.hint&hintDOB != 0 {
			if _, ok := parseDateCell(b); ok {
				r.whole.add(kDOB)
			}
		}
		if c.hint&hintPostcode != 0 && zipCell(b) {
			r.whole.add(kPostcode)
		}
		if c.hint&hintMRN != 0 && idCell(b) {
			r.whole.add(kMRN)
		}
	}
	return r
}

// resultCache remembers the results of a column's recent short values, so
// that a column of few distinct values (sex, a diagnosis code, a ward) is
// searched once per value, not once per row. It is direct-mapped by a hash
// of the text and exact (a hit compares the text). A column whose values
// rarely repeat turns it off after cacheTrial lookups, to save the hashing.
type resultCache struct {
	off     bool
	lookups int
	hits    int
	slots   [cacheSlots]cacheSlot
}

type cacheSlot struct {
	n   uint8 // the text's length; 0 for an empty slot
	key [cacheKeyMax]byte
	r   cellResult
}

const (
	cacheSlots  = 64
	cacheKeyMax = 40
	cacheTrial  = 2048
)

func (rc *resultCache) lookup(b []byte, compute func() cellResult) cellResult {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &rc.slots[h%cacheSlots]
	rc.lookups++
	if int(slot.n) == len(b) && string(slot.key[:slot.n]) == string(b) {
		rc.hits++
		return slot.r
	}
	if rc.lookups == cacheTrial && rc.hits*4 < rc.lookups {
		rc.off = true
	}
	r := compute()
	slot.n = uint8(len(b))
	copy(slot.key[:], b)
	slot.r = r
	return r
}

// Free text is recognised by the values' average length and spaces.
const (
	freeTextMinAverage = 30
	freeTextSpaced     = 0.5
)

func (c *columnScan) freeText() bool {
	return c.nonNull > 0 && float64(c.bytes)/float64(c.nonNull) > freeTextMinAverage &&
		float64(c.spaced) >= freeTextSpaced*float64(c.nonNull)
}

// report turns the columns' counts into the report.
func (s *scanner) report() *Report {
	r := &Report{Format: s.format, Rows: s.rows, ColumnThreshold: s.cc.threshold, DirectIdentifiers: []DirectIdentifier{}}
	for i := range s.cols {
		c := &s.cols[i]
		cr := ColumnReport{Name: c.name, NonNull: c.nonNull, FreeText: c.freeText(), Findings: []Finding{}, Verdict: VerdictClean}
		for _, h := range []struct {
			h hint
			k Kind
		}{{hintName, KindName}, {hintDOB, KindDateOfBirth}, {hintPostcode, KindPostcode}, {hintMRN, KindMRN}} {
			if c.hint&h.h != 0 {
				cr.HeaderHint = append(cr.HeaderHint, h.k)
			}
		}
		whole := c.whole
		if c.ssnShaped == c.nonNull && c.bareSSN.cells > 0 {
			whole[kSSN] = mergeTallies(whole[kSSN], c.bareSSN)
		}
		for k := range kindIdx(numKinds) {
			var f Finding
			if cr.FreeText {
				t := c.any[k]
				if t.cells == 0 {
					continue
				}
				f = Finding{Kind: kindByIndex[k], Cells: t.cells, ExampleRows: t.rows(), Direct: true}
			} else {
				t, in := whole[k], c.inside[k]
				if t.cells == 0 && in.cells == 0 {
					continue
				}
				f = Finding{Kind: kindByIndex[k], Cells: t.cells, EmbeddedCells: in.cells, ExampleRows: t.rows()}
				if t.cells == 0 {
					f.ExampleRows = in.rows()
				}
				f.Direct = t.cells > 0 && float64(t.cells) >= s.cc.threshold*float64(c.nonNull)
			}
			if c.nonNull > 0 {
				f.Share = float64(f.Cells) / float64(c.nonNull)
			}
			cr.Findings = append(cr.Findings, f)
			if f.Direct {
				cr.Verdict = VerdictDirect
				r.DirectIdentifiers = append(r.DirectIdentifiers, DirectIdentifier{Column: c.name, Kind: f.Kind})
			} else if cr.Verdict == VerdictClean {
				cr.Verdict = VerdictPossible
			}
		}
		r.Columns = append(r.Columns, cr)
	}
	r.IdentifiersFound = len(r.DirectIdentifiers) > 0
	if s.classes != nil {
		k, classes, small, smallRows := s.classes.kAnonymity(s.cc.smallClass)
		r.KAnonymity = &KAnonymityReport{QuasiIdentifiers: s.qiNames, K: k, Classes: classes, SmallClassSize: s.cc.smallClass,
			ClassesBelow: small, RowsInSmallClasses: smallRows, Truncated: s.classes.truncated, UntrackedRows: s.classes.untracked}
		for a, j := range s.sens {
			r.LDiversity = append(r.LDiversity, LDiversityReport{Attribute: s.cols[j].name, L: s.classes.l(a),
				Truncated: s.classes.truncated || s.classes.sensitive[a].truncated})
		}
	}
	return r
}

// mergeTallies adds b's cells to a and keeps the smallest example rows.
func mergeTallies(a, b tally) tally {
	out := tally{cells: a.cells + b.cells}
	ea, eb := a.examples[:min(a.cells, maxExamples)], b.examples[:min(b.cells, maxExamples)]
	n := 0
	for n < maxExamples && (len(ea) > 0 || len(eb) > 0) {
		if len(eb) == 0 || len(ea) > 0 && ea[0] < eb[0] {
			out.examples[n], ea = ea[0], ea[1:]
		} else {
			out.examples[n], eb = eb[0], eb[1:]
		}
		n++
	}
	return out
}
