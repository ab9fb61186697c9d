package deid

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tabular"
)

// csvReader reads RFC 4180 CSV as tabular.NewCSVRows does (the same
// delimiter detection, strict quotes, the header's field count on every
// record, UTF-8 without NUL bytes, blank lines skipped, \r\n read as \n, a
// byte order mark skipped, the same limits), but several times faster: it
// yields each record's fields as byte slices into its buffer instead of
// strings, so a record costs no allocation, and finds field and line ends
// with the vectorised bytes.IndexByte. A record without quotes, the common
// case, is split in place; only quoted fields are copied (unescaped) to a
// scratch buffer. The scans measure both readers (see bench/deid.go);
// this one is what makes the 50 MB/s goal reachable on one core.
//
// Fields are valid until the next call to Next.
type csvReader struct {
	r   io.Reader
	buf []byte
	pos int // start of unread data
	end int // end of data in buf
	eof bool

	delim   byte
	limits  tabular.Limits
	ncols   int
	fields  [][]byte
	spans   []span
	scratch []byte
	line    int // line on which the current record starts
	next    int // line on which the next record starts
	err     error
	done    bool
	records int64
}

// span locates a field before the record is complete: in buf, or in
// scratch once unescaped.
type span struct {
	start, end int
	scratch    bool
}

// The buffer starts small, for small files, and grows to csvBufSize as
// soon as the file outgrows it.
const (
	csvFirstBuf = 64 << 10
	csvBufSize  = 1 << 20
)

// newCSVReader reads the header of r and returns a reader positioned on
// the first record after it, and the header's column names.
func newCSVReader(r io.Reader, limits tabular.Limits) (*csvReader, []string, error) {
	c := &csvReader{r: r, buf: make([]byte, csvFirstBuf), limits: withDefaultLimits(limits), next: 1}
	// Detect the delimiter from the first 64 KiB.
	for c.end < 64<<10 && !c.eof {
		if err := c.fill(); err != nil {
			return nil, nil, err
		}
	}
	head := c.buf[:c.end]
	if bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) {
		c.pos = 3
	}
	c.delim = detectDelimiter(c.buf[c.pos:min(c.end, c.pos+64<<10)], c.end-c.pos >= 64<<10)
	if !c.nextRecord(true) {
		if c.err != nil {
			return nil, nil, c.err
		}
		return nil, nil, enclave.Errorf(enclave.CodeInvalidArgument, "the file is empty: a CSV file needs a header row naming its columns")
	}
	if len(c.fields) > c.limits.MaxColumns {
		return nil, nil, enclave.Errorf(enclave.CodeTooLarge, "line 1: %d columns, more than the limit of %d", len(c.fields), c.limits.MaxColumns)
	}
	c.ncols = len(c.fields)
	names := make([]string, len(c.fields))
	for i, f := range c.fields {
		names[i] = string(f)
	}
	return c, names, nil
}

func withDefaultLimits(l tabular.Limits) tabular.Limits {
	d := tabular.DefaultLimits
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = d.MaxFieldBytes
	}
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = d.MaxRecordBytes
	}
	if l.MaxFooterBytes <= 0 {
		l.MaxFooterBytes = d.MaxFooterBytes
	}
	if l.MaxFooterStructs <= 0 {
		l.MaxFooterStructs = d.MaxFooterStructs
	}
	if l.MaxPageBytes <= 0 {
		l.MaxPageBytes = d.MaxPageBytes
	}
	if l.MaxPageValues <= 0 {
		l.MaxPageValues = d.MaxPageValues
	}
	return l
}

// Delimiter returns the field separator.
func (c *csvReader) Delimiter() byte { return c.delim }

// Next reads the next record; Record returns its fields.
func (c *csvReader) Next() bool { return c.nextRecord(false) }

// Record returns the current record's fields.
func (c *csvReader) Record() [][]byte { return c.fields }

// Err returns the error that stopped Next, or nil at the end of the input.
func (c *csvReader) Err() error { return c.err }

// fill reads more input into buf after end, growing buf when it is full.
func (c *csvReader) fill() error {
	if c.eof {
		return nil
	}
	if c.end == len(c.buf) {
		// Keep the record being read; drop what is before it.
		if c.pos > 0 {
			n := copy(c.buf, c.buf[c.pos:c.end])
			c.pos, c.end = 0, n
		}
		// Grow when the record does not fit, and once from the small
		// first buffer when the file turns out to be large.
		full := c.end == len(c.buf) // with one incomplete record
		if full && c.end > c.limits.MaxRecordBytes {
			return c.tooLarge()
		}
		if full || len(c.buf) < csvBufSize {
			nb := make([]byte, min(max(2*len(c.buf), csvBufSize), c.limits.MaxRecordBytes+csvBufSize))
			copy(nb, c.buf[:c.end])
			c.buf = nb
		}
	}
	// Fill the buffer, not just read once: a record is parsed again from
	// its start after each fill, so a reader that trickles small reads
	// must not make a long record cost a parse per read.
	for c.end < len(c.buf) {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if err == io.EOF {
			c.eof = true
			return nil
		}
		if err != nil {
			c.eof = true
			return enclave.Wrap(enclave.CodeInternal, err, "reading the CSV file")
		}
		if n == 0 {
			return nil // a reader with nothing now: the caller tries again
		}
	}
	return nil
}

func (c *csvReader) tooLarge() error {
	if c.records == 0 && c.line <= 1 {
		return enclave.Errorf(enclave.CodeTooLarge, "line 1: the header is longer than the limit of %d bytes", c.limits.MaxRecordBytes)
	}
	return enclave.Errorf(enclave.CodeTooLarge, "the record on line %d is longer than the limit of %d bytes (an unclosed quote?)", c.next, c.limits.MaxRecordBytes)
}

// errNeedMore says the buffered input ends inside the record.
var errNeedMore = errors.New("need more input")

func (c *csvReader) nextRecord(header bool) bool {
	if c.done {
		return false
	}
	for {
		// Skip blank lines, and a lone \r at the end of the file.
		for c.pos < c.end {
			switch {
			case c.buf[c.pos] == '\n':
				c.pos++
				c.next++
				continue
			case c.buf[c.pos] == '\r' && c.pos+1 < c.end && c.buf[c.pos+1] == '\n':
				c.pos += 2
				c.next++
				continue
			case c.buf[c.pos] == '\r' && c.pos+1 == c.end && c.eof:
				c.pos++
				continue
			}
			break
		}
		if c.pos < c.end && !(c.buf[c.pos] == '\r' && c.pos+1 == c.end && !c.eof) {
			consumed, err := c.parse()
			if err == nil {
				c.line = c.next
				c.next += bytes.Count(c.buf[c.pos:c.pos+consumed], []byte{'\n'})
				if consumed == c.end-c.pos && c.eof && (consumed == 0 || c.buf[c.pos+consumed-1] != '\n') {
					// The last record, without a final newline.
					c.next++
				}
				if err := c.check(c.buf[c.pos:c.pos+consumed], header); err != nil {
					c.fail(err)
					return false
				}
				c.pos += consumed
				c.records++
				return true
			}
			if err != errNeedMore {
				c.fail(err)
				return false
			}
		}
		if c.eof && c.pos == c.end {
			c.done = true
			return false
		}
		if c.end-c.pos > c.limits.MaxRecordBytes {
			c.fail(c.tooLarge())
			return false
		}
		if err := c.fill(); err != nil {
			c.fail(err)
			return false
		}
	}
}

func (c *csvReader) fail(err error) {
	c.err, c.done = err, true
}

// check applies the record-level rules to a parsed record of raw bytes.
func (c *csvReader) check(raw []byte, header bool) error {
	if len(raw) > c.limits.MaxRecordBytes {
		return c.tooLarge()
	}
	if !header && len(c.fields) != c.ncols {
		return enclave.Errorf(enclave.CodeInvalidArgument, "line %d: %d fields, but the header has %d (ragged row)", c.line, len(c.fields), c.ncols)
	}
	if bytes.IndexByte(raw, 0) >= 0 || !utf8.Valid(raw) {
		for i, f := range c.fields {
			problem := ""
			switch {
			case bytes.IndexByte(f, 0) >= 0:
				problem = "a NUL byte (the file looks binary)"
			case !utf8.Valid(f):
				problem = "invalid UTF-8 (the file must be UTF-8 encoded)"
			default:
				continue
			}
			return enclave.Errorf(enclave.CodeInvalidArgument, "line %d, field %d: %s", c.line, i+1, problem)
		}
	}
	for i, f := range c.fields {
		if len(f) > c.limits.MaxFieldBytes {
			return enclave.Errorf(enclave.CodeTooLarge, "line %d, field %d: longer than the limit of %d bytes", c.line, i+1, c.limits.MaxFieldBytes)
		}
	}
	return nil
}

// parse splits the record at c.pos into c.fields and returns the bytes it
// takes, its line end included. It returns errNeedMore when the buffered
// input ends inside the record and more may come.
func (c *csvReader) parse() (int, error) {
	data := c.buf[c.pos:c.end]
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 && !c.eof {
		return 0, errNeedMore
	}
	line := data
	consumed := len(data)
	if nl >= 0 {
		line = data[:nl]
		consumed = nl + 1
	}
	if bytes.IndexByte(line, '"') < 0 {
		// The fast path: no quotes, so the line is the record.
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		c.fields = c.fields[:0]
		for {
			k := bytes.IndexByte(line, c.delim)
			if k < 0 {
				c.fields = append(c.fields, line)
				break
			}
			c.fields = append(c.fields, line[:k])
			line = line[k+1:]
		}
		return consumed, nil
	}
	return c.parseQuoted(data)
}

// parseQuoted parses a record with quotes, field by field.
func (c *csvReader) parseQuoted(data []byte) (int, error) {
	c.spans = c.spans[:0]
	c.scratch = c.scratch[:0]
	i := 0
	n := len(data)
	lineNo := c.next
	for {
		if i < n && data[i] == '"' {
			// A quoted field: up to the closing quote, "" for a quote.
			fieldLine := lineNo
			i++
			start := len(c.scratch)
			for {
				k := bytes.IndexByte(data[i:], '"')
				if k < 0 {
					if !c.eof {
						return 0, errNeedMore
					}
					return 0, enclave.Errorf(enclave.CodeInvalidArgument, "line %d, field %d: a quoted field is not closed properly (a quote inside it must be doubled)", fieldLine, len(c.spans)+1)
				}
				c.appendText(data[i : i+k])
				lineNo += bytes.Count(data[i:i+k], []byte{'\n'})
				i += k + 1
				if i < n && data[i] == '"' {
					c.scratch = append(c.scratch, '"')
					i++
					continue
				}
				if i >= n && !c.eof {
					return 0, errNeedMore
				}
				break
			}
			c.spans = append(c.spans, span{start: start, end: len(c.scratch), scratch: true})
			switch {
			case i >= n:
				return c.finish(n), nil
			case data[i] == c.delim:
				i++
				continue
			case data[i] == '\n':
				return c.finish(i + 1), nil
			case data[i] == '\r' && i+1 < n && data[i+1] == '\n':
				return c.finish(i + 2), nil
			case data[i] == '\r' && i+1 == n:
				if !c.eof {
					return 0, errNeedMore
				}
				return c.finish(n), nil
			}
			return 0, enclave.Errorf(enclave.CodeInvalidArgument, "line %d, field %d: a quoted field is not closed properly (a quote inside it must be doubled)", lineNo, len(c.spans))
		}
		// An unquoted field: up to the delimiter or the end of the line.
		j := n
		if k := bytes.IndexByte(data[i:], c.delim); k >= 0 {
			j = i + k
		}
		if k := bytes.IndexByte(data[i:j], '\n'); k >= 0 {
			j = i + k
		}
		if bytes.IndexByte(data[i:j], '"') >= 0 {
			return 0, enclave.Errorf(enclave.CodeInvalidArgument, "line %d, field %d: a quote in an unquoted field (quote the field and double the quote: \"\")", lineNo, len(c.spans)+1)
		}
		if j == n && !c.eof {
			return 0, errNeedMore
		}
		end := j
		if j < n && data[j] == '\n' || j == n {
			if end > i && data[end-1] == '\r' {
				end--
			}
		}
		c.spans = append(c.spans, span{start: c.pos + i, end: c.pos + end})
		if j == n {
			return c.finish(n), nil
		}
		if data[j] == '\n' {
			return c.finish(j + 1), nil
		}
		i = j + 1
	}
}

// appendText appends quoted text to scratch, reading \r\n as \n.
func (c *csvReader) appendText(t []byte) {
	for {
		k := bytes.Index(t, []byte("\r\n"))
		if k < 0 {
			c.scratch = append(c.scratch, t...)
			return
		}
		c.scratch = append(c.scratch, t[:k]...)
		c.scratch = append(c.scratch, '\n')
		t = t[k+2:]
	}
}

// finish turns the spans into fields once scratch has stopped growing.
func (c *csvReader) finish(consumed int) int {
	c.fields = c.fields[:0]
	for _, s := range c.spans {
		if s.scratch {
			c.fields = append(c.fields, c.scratch[s.start:s.end:s.end])
		} else {
			c.fields = append(c.fields, c.buf[s.start:s.end:s.end])
		}
	}
	return consumed
}

// detectDelimiter picks the delimiter as tabular's readers do; cut says
// head is a prefix of the file.
func detectDelimiter(head []byte, cut bool) byte {
	return byte(tabular.DetectDelimiter(head, cut))
}

// nullSet matches the null tokens, as tabular's readers do: a bitmap of
// their lengths answers most fields without comparing.
type nullSet struct {
	lengths uint64
	tokens  []string
}

func newNullSet(tokens []string) nullSet {
	if tokens == nil {
		tokens = tabular.DefaultNullTokens
	}
	s := nullSet{tokens: tokens}
	for _, t := range tokens {
		s.lengths |= 1 << min(len(t), 63)
	}
	return s
}

func (s *nullSet) has(f []byte) bool {
	if s.lengths&(1<<min(len(f), 63)) == 0 {
		return false
	}
	for _, t := range s.tokens {
		if t == string(f) {
			return true
		}
	}
	return false
}

// quoteName returns a column name for an error message, cut short.
func quoteName(name string) string {
	if len(name) > 64 {
		name = name[:64]
		for !utf8.ValidString(name) {
			name = name[:len(name)-1]
		}
	}
	return strconv.Quote(name)
}
