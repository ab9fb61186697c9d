package tabular

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// utf8BOM is the byte order mark some Windows tools put before UTF-8 text.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// sniffBytes is how much of a CSV file delimiter detection looks at.
const sniffBytes = 64 << 10

// sniffRecords is how many records delimiter detection compares.
const sniffRecords = 20

// delimiters are the separators detection chooses from, in order of
// preference when two fit equally well.
var delimiters = []rune{',', ';', '\t', '|'}

// CSVRows reads an RFC 4180 CSV file whose first record is the header. It
// implements [Rows]; every value it yields is KindString (the field's text)
// or KindNull (a null token).
type CSVRows struct {
	r        *csv.Reader
	guard    *guardReader
	fields   []Field
	row      []Value
	delim    rune
	bom      bool
	nulls    nullSet
	limits   Limits
	lastLine int // line on which the last record read ended
	err      error
	done     bool
}

// NewCSVRows reads the header of the CSV file r and returns a reader of the
// rows after it. The delimiter is opts.Delimiter or, if zero, detected from
// the first lines. A UTF-8 byte order mark is skipped. Quotes are strict
// (RFC 4180: a quote inside a field must be doubled and the field quoted);
// every record must have as many fields as the header; fields must be UTF-8
// without NUL bytes; and the limits in opts bound fields, records and
// columns. Errors name the line and the field, never the content.
func NewCSVRows(r io.Reader, opts ReaderOptions) (*CSVRows, error) {
	limits := opts.Limits.withDefaults()
	g := &guardReader{r: r, max: int64(limits.MaxRecordBytes)}
	br := bufio.NewReaderSize(g, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, g.translate(err, 0)
	}
	bom := bytes.HasPrefix(head, utf8BOM)
	if bom {
		head = head[len(utf8BOM):]
	}
	delim := opts.Delimiter
	if delim == 0 {
		delim, _ = detectDelimiter(head)
	} else if !validDelimiter(delim) {
		return nil, inputError("delimiter %q cannot separate CSV fields", delim)
	}
	if bom {
		if _, err := br.Discard(len(utf8BOM)); err != nil {
			return nil, g.translate(err, 0)
		}
		g.recordStart = int64(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.LazyQuotes = false
	cr.ReuseRecord = true
	c := &CSVRows{r: cr, guard: g, delim: delim, bom: bom, limits: limits}
	c.nulls = newNullSet(opts.NullTokens)

	header, err := cr.Read()
	if err == io.EOF {
		return nil, inputError("the file is empty: a CSV file needs a header row naming its columns")
	}
	if err != nil {
		return nil, c.readError(err, header)
	}
	if len(header) > limits.MaxColumns {
		return nil, limitError("line 1: %d columns, more than the limit of %d", len(header), limits.MaxColumns)
	}
	if err := c.checkFields(header, nil); err != nil {
		return nil, err
	}
	c.fields = make([]Field, len(header))
	for i, name := range header {
		c.fields[i] = Field{Name: strings.Clone(name)}
	}
	c.row = make([]Value, len(header))
	c.noteEnd(header)
	return c, nil
}

// Columns returns the header's columns, all untyped text.
func (c *CSVRows) Columns() []Field { return c.fields }

// Delimiter returns the field separator in use.
func (c *CSVRows) Delimiter() rune { return c.delim }

// Line returns the line on which the last record read ends (1 is the
// header's first line).
func (c *CSVRows) Line() int { return c.lastLine }

// Next reads the next record.
func (c *CSVRows) Next() bool {
	if c.done {
		return false
	}
	c.guard.recordStart = c.r.InputOffset()
	if c.bom {
		c.guard.recordStart += int64(len(utf8BOM))
	}
	rec, err := c.r.Read()
	if err != nil {
		c.done = true
		if err != io.EOF {
			c.err = c.readError(err, rec)
		}
		return false
	}
	if err := c.checkFields(rec, c.fields); err != nil {
		c.done, c.err = true, err
		return false
	}
	for i, f := range rec {
		if c.nulls.has(f) {
			c.row[i] = Value{}
		} else {
			c.row[i] = Value{Kind: KindString, Str: f}
		}
	}
	c.noteEnd(rec)
	return true
}

// Row returns the current record's values.
func (c *CSVRows) Row() []Value { return c.row }

// Err returns the error that ended the stream, if any.
func (c *CSVRows) Err() error { return c.err }

// Close ends the stream; it does not close the underlying reader.
func (c *CSVRows) Close() error {
	c.done = true
	return nil
}

// noteEnd records the line on which rec ends, for errors about the next.
func (c *CSVRows) noteEnd(rec []string) {
	if len(rec) == 0 {
		return
	}
	last := len(rec) - 1
	line, _ := c.r.FieldPos(last)
	c.lastLine = line + strings.Count(rec[last], "\n")
}

// checkFields refuses oversized fields, invalid UTF-8 and NUL bytes.
func (c *CSVRows) checkFields(rec []string, fields []Field) error {
	for i, f := range rec {
		var problem string
		switch {
		case len(f) > c.limits.MaxFieldBytes:
			line, _ := c.r.FieldPos(i)
			return limitError("line %d, field %d%s: longer than the limit of %d bytes", line, i+1, fieldName(fields, i), c.limits.MaxFieldBytes)
		case !utf8.ValidString(f):
			problem = "invalid UTF-8 (the file must be UTF-8 encoded)"
		case strings.IndexByte(f, 0) >= 0:
			problem = "a NUL byte (the file looks binary)"
		default:
			continue
		}
		line, _ := c.r.FieldPos(i)
		return inputError("line %d, field %d%s: %s", line, i+1, fieldName(fields, i), problem)
	}
	return nil
}

// fieldName returns ` ("name")` for the i-th field, once the header is known.
func fieldName(fields []Field, i int) string {
	if i >= len(fields) {
		return ""
	}
	return " (" + strconv.Quote(truncateRunes(fields[i].Name, 64)) + ")"
}

// readError turns an error from encoding/csv into one that names the line.
// rec is what Read returned with it (the whole record for a ragged row).
func (c *CSVRows) readError(err error, rec []string) error {
	if errors.Is(err, errRecordTooLarge) {
		return c.guard.translate(err, c.lastLine)
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return c.guard.translate(err, c.lastLine)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return inputError("line %d: %d fields, but the header has %d (ragged row)", pe.StartLine, len(rec), len(c.fields))
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return inputError("line %d, column %d: a quote in an unquoted field (quote the field and double the quote: \"\")", pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		return inputError("line %d, column %d: a quoted field is not closed properly (a quote inside it must be doubled)", pe.Line, pe.Column)
	}
	return inputError("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
}

// errRecordTooLarge stops encoding/csv when a record outgrows the limit.
var errRecordTooLarge = errors.New("tabular: record too large")

// guardReader sits under encoding/csv's buffer and refuses to deliver more
// than max bytes past the start of the record being read, so one unclosed
// quote or one endless line cannot make the parser buffer the whole file.
type guardReader struct {
	r           io.Reader
	delivered   int64
	recordStart int64
	max         int64
}

func (g *guardReader) Read(p []byte) (int, error) {
	// The buffer above may read ahead up to its size past the record, so
	// allow for it: the bound is max plus one buffer.
	if g.delivered-g.recordStart > g.max+sniffBytes {
		return 0, errRecordTooLarge
	}
	n, err := g.r.Read(p)
	g.delivered += int64(n)
	return n, err
}

// translate names a read failure: the record limit, or an I/O error from
// the underlying reader.
func (g *guardReader) translate(err error, lastLine int) error {
	if errors.Is(err, errRecordTooLarge) {
		if lastLine == 0 {
			return limitError("line 1: the header is longer than the limit of %d bytes", g.max)
		}
		return limitError("the record after line %d is longer than the limit of %d bytes (an unclosed quote?)", lastLine, g.max)
	}
	return internalError(err, "reading the CSV file")
}

// validDelimiter mirrors encoding/csv's rules for Comma.
func validDelimiter(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// detectDelimiter picks the delimiter from the first records of head: of
// the candidates that split the header at least once and every following
// record the same number of times, the one splitting the header most
// (earlier candidates win ties). consistent reports whether such a
// candidate exists and at least two records were seen; without one it
// returns the candidate most frequent in the header, or ',' for a file of
// one column, and the reader reports the first ragged row.
func detectDelimiter(head []byte) (delim rune, consistent bool) {
	// A short head is the whole file and has no cut.
	return detectDelimiterIn(head, len(head) >= sniffBytes)
}

// DetectDelimiter picks the delimiter of a CSV file from its first bytes
// as the readers of this package do; cut says head is only a prefix of
// the file, so that its last, possibly partial, line is not counted.
func DetectDelimiter(head []byte, cut bool) rune {
	d, _ := detectDelimiterIn(head, cut)
	return d
}

func detectDelimiterIn(head []byte, cut bool) (delim rune, consistent bool) {
	// Only whole records count: drop a last line cut off by the sample size.
	if cut {
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i+1]
		}
	}
	var counts [][4]int
	var cur [4]int
	inQuotes, any := false, false
	for _, b := range head {
		switch {
		case b == '"':
			inQuotes = !inQuotes
		case inQuotes:
		case b == '\n':
			if any {
				counts = append(counts, cur)
			}
			cur, any = [4]int{}, false
			if len(counts) == sniffRecords {
				goto done
			}
			continue
		case b == '\r':
			continue
		default:
			for i, d := range delimiters {
				if rune(b) == d {
					cur[i]++
				}
			}
		}
		any = true
	}
	if any {
		counts = append(counts, cur)
	}
done:
	if len(counts) == 0 {
		return ',', false
	}
	best, bestCount := -1, 0
	for i := range delimiters {
		h := counts[0][i]
		if h == 0 {
			continue
		}
		same := true
		for _, c := range counts[1:] {
			if c[i] != h {
				same = false
				break
			}
		}
		if same && h > bestCount {
			best, bestCount = i, h
		}
	}
	if best >= 0 {
		return delimiters[best], len(counts) >= 2
	}
	for i := range delimiters {
		if counts[0][i] > bestCount {
			best, bestCount = i, counts[0][i]
		}
	}
	if best >= 0 {
		return delimiters[best], false
	}
	return ',', false
}

// nullSet matches the null tokens; a bitmap of their lengths answers most
// fields without a string comparison.
type nullSet struct {
	lengths uint64
	tokens  []string
}

func newNullSet(tokens []string) nullSet {
	if tokens == nil {
		tokens = DefaultNullTokens
	}
	s := nullSet{tokens: tokens}
	for _, t := range tokens {
		if len(t) < 64 {
			s.lengths |= 1 << len(t)
		} else {
			s.lengths |= 1 << 63
		}
	}
	return s
}

func (s nullSet) has(f string) bool {
	bit := uint64(1) << min(len(f), 63)
	if s.lengths&bit == 0 {
		return false
	}
	for _, t := range s.tokens {
		if t == f {
			return true
		}
	}
	return false
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
