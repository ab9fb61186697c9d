package deid

import (
	"bufio"
	"context"
	"hash/maphash"
	"io"
	"os"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tabular"
)

// ApplyOptions configure how a recipe is applied.
type ApplyOptions struct {
	// Config tunes the detectors redaction uses and the restricted ZIP
	// prefixes; nil means DefaultConfig.
	Config *Config
	// Pseudonymiser makes the pseudonyms; required when the recipe
	// pseudonymises a column.
	Pseudonymiser Pseudonymiser
	// TempDir is where rows held back for k-anonymity spill when they
	// outgrow MemoryLimit; empty means os.TempDir(). The spill file is
	// encrypted and removed before the call returns.
	TempDir string
	// MemoryLimit bounds the bytes of rows held back for k-anonymity
	// (default 64 MiB). It does not count the classes' own bookkeeping,
	// which Config.MaxClasses bounds.
	MemoryLimit int64
	// Limits bound what the readers accept.
	Limits tabular.Limits

	// spillHook, set by tests, is called with the spill file's path once
	// it is complete, before it is read back.
	spillHook func(path string)
}

// DefaultMemoryLimit is ApplyOptions.MemoryLimit's default.
const DefaultMemoryLimit = 64 << 20

// ApplyReport describes what a recipe did. Like the scan's Report, it
// holds no values.
type ApplyReport struct {
	RowsIn  int64 `json:"rows_in"`
	RowsOut int64 `json:"rows_out"`
	// RowsSuppressed counts the rows written with their quasi-
	// identifiers replaced by "*", RowsDropped those not written because
	// even together they were fewer than k.
	RowsSuppressed int64 `json:"rows_suppressed"`
	RowsDropped    int64 `json:"rows_dropped"`
	// Columns lists every input column and what was done to it.
	Columns    []AppliedColumn    `json:"columns"`
	KAnonymity *AppliedKAnonymity `json:"k_anonymity,omitempty"`
	// SpilledBytes is the size of the encrypted spill file, if rows held
	// back outgrew the memory limit.
	SpilledBytes int64 `json:"spilled_bytes,omitempty"`
}

// AppliedColumn is what a recipe did to one column.
type AppliedColumn struct {
	Name   string `json:"name"`
	Action Action `json:"action"`
	// CellsChanged counts the cells whose value the action changed (for
	// a dropped column, the non-null cells removed).
	CellsChanged int64 `json:"cells_changed"`
	// CellsSuppressed counts a quasi-identifier's cells written as "*".
	CellsSuppressed int64 `json:"cells_suppressed,omitempty"`
}

// AppliedKAnonymity is the k-anonymity asked for and achieved.
type AppliedKAnonymity struct {
	QuasiIdentifiers []string `json:"quasi_identifiers"`
	K                int      `json:"k"`
	// KAchieved is the size of the smallest class in the output,
	// recomputed from the rows as they were written (0 for no rows).
	KAchieved int64 `json:"k_achieved"`
	Classes   int64 `json:"classes"`
}

// rowSink writes output rows.
type rowSink interface {
	write(row []cell) error
	close() error
}

// applier runs a recipe over rows.
type applier struct {
	p       *plan
	t       transformer
	sink    rowSink
	row     []cell
	arena   []byte
	changed []int64
	asText  []bool // per input column: make it a string (Parquet quasi-identifiers)
	hold    *holdback
	key     *classKey
	outKey  *classKey
	outCls  *classCounter
	report  *ApplyReport
}

func newApplier(p *plan, cc *compiled, opts ApplyOptions, sink rowSink, parquetOut bool) (*applier, error) {
	a := &applier{p: p, sink: sink, row: make([]cell, len(p.out)), changed: make([]int64, len(p.names)),
		asText: make([]bool, len(p.names)), report: &ApplyReport{}}
	a.t = transformer{cc: cc, f: cc.newFinder(), ps: opts.Pseudonymiser}
	for i, act := range p.actions {
		if act == ActionPseudonymise && opts.Pseudonymiser == nil {
			return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the recipe pseudonymises column %s but no pseudonymisation key is configured", quoteName(p.names[i]))
		}
		a.asText[i] = parquetOut && p.qiIn[i]
	}
	if p.k > 0 {
		limit := opts.MemoryLimit
		if limit <= 0 {
			limit = DefaultMemoryLimit
		}
		dir := opts.TempDir
		if dir == "" {
			dir = os.TempDir()
		}
		a.hold = newHoldback(p.k, p.qi, cc.maxClasses, limit, dir)
		a.hold.hook = opts.spillHook
		seed := maphash.MakeSeed()
		a.key, a.outKey = newClassKey(seed), newClassKey(seed)
		a.outCls = newClassCounter(cc.maxClasses+1, 0)
	}
	return a, nil
}

// process transforms one input row and writes or holds it.
func (a *applier) process(in []cell) error {
	a.report.RowsIn++
	a.arena = a.arena[:0]
	for i, act := range a.p.actions {
		if act == ActionDrop && !in[i].null() {
			a.changed[i]++
		}
	}
	for o, i := range a.p.out {
		c, changed := a.t.apply(a.p.actions[i], in[i], a.asText[i], &a.arena)
		if changed {
			a.changed[i]++
		}
		a.row[o] = c
	}
	if a.hold == nil {
		return a.emit(a.row)
	}
	a.key.reset()
	for _, q := range a.p.qi {
		if a.row[q].null() {
			// One way to write a null, so that the output is k-anonymous
			// to a reader that tells "NA" from "" too.
			a.row[q].b = nil
		}
		a.key.text(a.row[q].b, a.row[q].null())
	}
	return a.hold.add(a.key.sum(), a.row, a.emit)
}

// emit writes a row, counting its class in the output.
func (a *applier) emit(row []cell) error {
	if a.outCls != nil {
		a.outKey.reset()
		for _, q := range a.p.qi {
			a.outKey.text(row[q].b, row[q].null())
		}
		a.outCls.add(a.outKey.sum())
	}
	a.report.RowsOut++
	return a.sink.write(row)
}

// finish writes the held rows and completes the report.
func (a *applier) finish(rc *Recipe) (*ApplyReport, error) {
	r := a.report
	if a.hold != nil {
		suppressed, dropped, err := a.hold.finish(a.emit)
		if err != nil {
			return nil, err
		}
		r.RowsSuppressed, r.RowsDropped = suppressed, dropped
		r.SpilledBytes = a.hold.spilledBytes()
		k, classes, _, _ := a.outCls.kAnonymity(0)
		r.KAnonymity = &AppliedKAnonymity{QuasiIdentifiers: rc.KAnonymity.QuasiIdentifiers, K: a.p.k, KAchieved: k, Classes: classes}
	}
	if err := a.sink.close(); err != nil {
		return nil, err
	}
	for i, n := range a.p.names {
		col := AppliedColumn{Name: n, Action: a.p.actions[i], CellsChanged: a.changed[i]}
		if a.p.qiIn[i] {
			col.CellsSuppressed = r.RowsSuppressed
		}
		r.Columns = append(r.Columns, col)
	}
	return r, nil
}

// ApplyCSV applies the recipe to the CSV file r and writes the result to
// w as CSV: the header first, the same delimiter as the input, RFC 4180
// quoting. It reads r once, whatever its size, in bounded memory.
//
// Without k-anonymity, rows come out in input order. With it, a row whose
// class has not yet reached k rows is held back and comes out later (see
// the package documentation), so the order differs; held rows beyond
// opts.MemoryLimit spill to an encrypted temporary file in opts.TempDir,
// removed before ApplyCSV returns. A null keeps the token the input wrote
// for it ("NA" stays "NA"), except in a quasi-identifier under
// k-anonymity, where every null is written as an empty field so that the
// output's classes are the same to any reader.
func ApplyCSV(ctx context.Context, r io.Reader, w io.Writer, rc *Recipe, opts ApplyOptions) (*ApplyReport, error) {
	cc, err := opts.Config.compile()
	if err != nil {
		return nil, err
	}
	if rc == nil {
		return nil, recipeError("no recipe")
	}
	cr, names, err := newCSVReader(r, opts.Limits)
	if err != nil {
		return nil, err
	}
	p, err := rc.plan(names)
	if err != nil {
		return nil, err
	}
	sink := newCSVSink(w, cr.Delimiter())
	a, err := newApplier(p, cc, opts, sink, false)
	if err != nil {
		return nil, err
	}
	if a.hold != nil {
		defer a.hold.close()
	}
	header := make([]cell, len(p.out))
	for o, i := range p.out {
		header[o] = cell{kind: tabular.KindString, b: []byte(names[i])}
	}
	if err := sink.write(header); err != nil {
		return nil, err
	}
	nulls := newNullSet(nil)
	in := make([]cell, len(names))
	for cr.Next() {
		if a.report.RowsIn%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for i, f := range cr.Record() {
			if nulls.has(f) {
				in[i] = cell{kind: tabular.KindNull, b: f}
			} else {
				in[i] = cell{kind: tabular.KindString, b: f}
			}
		}
		if err := a.process(in); err != nil {
			return nil, err
		}
	}
	if err := cr.Err(); err != nil {
		return nil, err
	}
	return a.finish(rc)
}

// ApplyParquet applies the recipe to the Parquet file ra of size bytes
// and writes the result to w as a Parquet file. Kept columns keep their
// logical type (integers as INT64, floats and decimals as DOUBLE, dates,
// timestamps, booleans, strings, binary); a column an action transforms,
// and a quasi-identifier under k-anonymity (which suppression may write
// as "*"), becomes an optional UTF-8 string, since "90+", "021**" and
// pseudonyms are text whatever the input's type. Every output column is
// optional, so nulls stay null. Columns inside lists and maps are not
// read (see tabular.NewParquetRows) and so not written. Row order is as
// for ApplyCSV.
func ApplyParquet(ctx context.Context, ra io.ReaderAt, size int64, w io.Writer, rc *Recipe, opts ApplyOptions) (*ApplyReport, error) {
	cc, err := opts.Config.compile()
	if err != nil {
		return nil, err
	}
	if rc == nil {
		return nil, recipeError("no recipe")
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
	p, err := rc.plan(names)
	if err != nil {
		return nil, err
	}
	outFields := make([]tabular.Field, len(p.out))
	asString := make([]bool, len(p.out))
	for o, i := range p.out {
		outFields[o] = fields[i]
		asString[o] = p.actions[i] != ActionKeep || p.qiIn[i]
	}
	sink, err := newParquetSink(w, outFields, asString)
	if err != nil {
		return nil, err
	}
	a, err := newApplier(p, cc, opts, sink, true)
	if err != nil {
		return nil, err
	}
	if a.hold != nil {
		defer a.hold.close()
	}
	in := make([]cell, len(names))
	for rows.Next() {
		if a.report.RowsIn%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		row := rows.Row()
		for i := range row {
			in[i] = cellOf(&row[i])
		}
		if err := a.process(in); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return a.finish(rc)
}

// csvSink writes RFC 4180 CSV.
type csvSink struct {
	w     *bufio.Writer
	delim byte
	quote [256]bool // bytes that make a field need quotes
	text  []byte
}

func newCSVSink(w io.Writer, delim byte) *csvSink {
	s := &csvSink{w: bufio.NewWriterSize(w, 1<<20), delim: delim}
	for _, c := range []byte{delim, '"', '\r', '\n'} {
		s.quote[c] = true
	}
	return s
}

func (s *csvSink) write(row []cell) error {
	for i := range row {
		if i > 0 {
			s.w.WriteByte(s.delim)
		}
		f := row[i].b
		if k := row[i].kind; k != tabular.KindString && k != tabular.KindBytes && k != tabular.KindNull {
			s.text = row[i].appendText(s.text[:0])
			f = s.text
		}
		s.field(f)
	}
	if len(row) == 1 && len(row[0].b) == 0 {
		s.w.WriteString(`""`) // a blank line would be skipped
	}
	return s.w.WriteByte('\n')
}

func (s *csvSink) field(f []byte) {
	needs := false
	for _, c := range f {
		if s.quote[c] {
			needs = true
			break
		}
	}
	if !needs {
		s.w.Write(f)
		return
	}
	s.w.WriteByte('"')
	for {
		k := -1
		for j, c := range f {
			if c == '"' {
				k = j
				break
			}
		}
		if k < 0 {
			s.w.Write(f)
			break
		}
		s.w.Write(f[:k+1])
		s.w.WriteByte('"')
		f = f[k+1:]
	}
	s.w.WriteByte('"')
}

func (s *csvSink) close() error {
	if err := s.w.Flush(); err != nil {
		return enclave.Wrap(enclave.CodeInternal, err, "writing the CSV output")
	}
	return nil
}
