// Package synth generates synthetic patient tables with labelled ground
// truth, to measure the de-identification detectors' precision and recall
// and their speed. Everything is made up and deterministic: the same seed
// gives the same table, byte for byte.
//
// The table has the columns in [Columns]: one per kind of identifier, a
// few quasi-identifiers (age, sex), a diagnosis and free-text notes. The
// identifiers are valid (correct check digits, valid SSN areas, IBAN
// lengths and checksums, postcode formats). Some cells hold near misses
// instead, labelled as not identifiers: NHS numbers and cards with a wrong
// check digit, IBANs with wrong check digits, SSNs with invalid areas,
// groups or serials, IPv4 addresses with an octet over 255, and random
// digit strings of an identifier's length (which, being random, pass a
// check digit by chance as often as chance allows: a detector cannot tell
// those from real ones, and the labels do not pretend it can). The notes
// are sentences, some of which embed an identifier or a near miss; their
// labels list the kinds embedded.
//
// The package deliberately does not import the detectors: its check-digit
// arithmetic is an independent implementation, so a shared bug cannot hide.
package synth

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
)

// The kinds of identifiers, spelled as the detectors spell them.
const (
	Name        = "name"
	Email       = "email"
	Phone       = "phone"
	SSN         = "us-ssn"
	NHS         = "uk-nhs"
	Card        = "payment-card"
	IBAN        = "iban"
	IP          = "ip-address"
	DateOfBirth = "date-of-birth"
	Postcode    = "postcode"
	MRN         = "mrn"
)

// Column is a column of the generated table and the kind of identifier its
// cells hold ("" for none, or for free text whose labels say).
type Column struct {
	Name string
	Kind string
}

// Columns are the generated table's columns, in order.
var Columns = []Column{
	{"patient_id", MRN}, {"name", Name}, {"email", Email}, {"phone", Phone}, {"nhs_number", NHS},
	{"ssn", SSN}, {"card_number", Card}, {"iban", IBAN}, {"ip", IP}, {"dob", DateOfBirth},
	{"age", ""}, {"sex", ""}, {"zip", Postcode}, {"postcode", Postcode}, {"diagnosis", ""}, {"notes", ""},
}

// NotesColumn is the index of the free-text column.
const NotesColumn = 15

// Label is the ground truth of one cell.
type Label struct {
	// Kinds are the identifiers the cell holds: its column's kind for a
	// structured cell, the kinds embedded for free text; nil for none (a
	// null, a near miss, a cell of a column without identifiers).
	Kinds []string
	// NearMiss marks a cell that is, or embeds, a look-alike that is not
	// an identifier.
	NearMiss bool
}

// Truth summarises a generated table.
type Truth struct {
	Rows    int
	Bytes   int64
	Columns []Column
	// Cells counts, per column and kind, the cells holding an identifier.
	Cells map[string]map[string]int
	// NearMisses counts, per column, the cells holding a near miss.
	NearMisses map[string]int
}

// WriteCSV writes a header and rows rows of the table generated from seed
// to w, and returns its ground truth.
func WriteCSV(w io.Writer, rows int, seed uint64) (*Truth, error) {
	return WriteCSVLabels(w, rows, seed, nil)
}

// WriteCSVLabels is WriteCSV calling fn, if not nil, with each row's
// number (1 for the first row after the header) and its cells' labels. fn
// must not keep labels after it returns.
func WriteCSVLabels(w io.Writer, rows int, seed uint64, fn func(row int, labels []Label)) (*Truth, error) {
	g := New(seed)
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	t := &Truth{Rows: rows, Columns: Columns, Cells: map[string]map[string]int{}, NearMisses: map[string]int{}}
	for i, c := range Columns {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(c.Name)
	}
	bw.WriteByte('\n')
	for r := 1; r <= rows; r++ {
		cells, labels := g.Next()
		for i, c := range cells {
			if i > 0 {
				bw.WriteByte(',')
			}
			writeField(bw, c)
			for _, k := range labels[i].Kinds {
				m := t.Cells[Columns[i].Name]
				if m == nil {
					m = map[string]int{}
					t.Cells[Columns[i].Name] = m
				}
				m[k]++
			}
			if labels[i].NearMiss {
				t.NearMisses[Columns[i].Name]++
			}
		}
		if _, err := bw.WriteString("\n"); err != nil {
			return nil, err
		}
		if fn != nil {
			fn(r, labels)
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	t.Bytes = cw.n
	return t, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeField writes an RFC 4180 field, quoted when it must be.
func writeField(w *bufio.Writer, f []byte) {
	quote := false
	for _, c := range f {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		w.Write(f)
		return
	}
	w.WriteByte('"')
	for _, c := range f {
		if c == '"' {
			w.WriteByte('"')
		}
		w.WriteByte(c)
	}
	w.WriteByte('"')
}

// Generator makes rows of the table, one at a time.
type Generator struct {
	r      *rand.Rand
	buf    []byte
	ends   []int
	cells  [][]byte
	labels []Label
	notes  []string
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{
		r:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		cells:  make([][]byte, len(Columns)),
		labels: make([]Label, len(Columns)),
	}
}

// single labels, shared so that labelling a cell allocates nothing.
var single = map[string][]string{}

func init() {
	for _, k := range []string{Name, Email, Phone, SSN, NHS, Card, IBAN, IP, DateOfBirth, Postcode, MRN} {
		single[k] = []string{k}
	}
}

// Next returns the next row's cells and labels, valid until the next call.
func (g *Generator) Next() ([][]byte, []Label) {
	g.buf = g.buf[:0]
	g.ends = g.ends[:0]
	for i := range g.labels {
		g.labels[i] = Label{}
	}
	year := 1930 + g.r.IntN(80)
	month := 1 + g.r.IntN(12)
	day := 1 + g.r.IntN(28)
	given, surname := g.name()
	for i, col := range Columns {
		null := col.Kind != "" && col.Name != "patient_id" && g.r.IntN(100) < 2
		switch {
		case null:
		case col.Name == "age":
			g.buf = strconv.AppendInt(g.buf, int64(2024-year), 10)
		case col.Name == "sex":
			g.buf = append(g.buf, "MFFMU"[g.r.IntN(5)])
		case col.Name == "diagnosis":
			g.buf = append(g.buf, diagnoses[g.r.IntN(len(diagnoses))]...)
		case col.Name == "notes":
			g.labels[i] = g.note()
		case col.Name == "dob":
			g.buf = g.date(g.buf, year, month, day)
			g.labels[i].Kinds = single[DateOfBirth]
		case col.Name == "name":
			g.buf = append(g.buf, given...)
			g.buf = append(g.buf, ' ')
			g.buf = append(g.buf, surname...)
			g.labels[i].Kinds = single[Name]
		case col.Name == "zip":
			g.buf = g.zip(g.buf)
			g.labels[i].Kinds = single[Postcode]
		case col.Name == "postcode":
			g.buf = g.ukPostcode(g.buf)
			g.labels[i].Kinds = single[Postcode]
		case col.Name == "email":
			g.buf = g.email(g.buf, given, surname)
			g.labels[i].Kinds = single[Email]
		default:
			var ok bool
			g.buf, ok = g.identifier(g.buf, col.Kind)
			if ok {
				g.labels[i].Kinds = single[col.Kind]
			} else {
				g.labels[i].NearMiss = true
			}
		}
		g.ends = append(g.ends, len(g.buf))
	}
	start := 0
	for i, e := range g.ends {
		g.cells[i] = g.buf[start:e]
		start = e
	}
	return g.cells, g.labels
}

// identifier appends a value of kind k: valid, or about one time in twelve
// (for the kinds with near misses) a near miss, reported by ok = false.
func (g *Generator) identifier(b []byte, k string) ([]byte, bool) {
	miss := g.r.IntN(12) == 0
	switch k {
	case MRN:
		return g.mrn(b), true
	case Phone:
		return g.phone(b), true
	case NHS:
		if miss {
			return g.nhsMiss(b), false
		}
		return g.nhs(b), true
	case SSN:
		if miss {
			return g.ssnMiss(b), false
		}
		return g.ssn(b), true
	case Card:
		if miss {
			return g.cardMiss(b), false
		}
		return g.card(b), true
	case IBAN:
		if miss {
			return g.ibanMiss(b), false
		}
		return g.iban(b, true), true
	case IP:
		if miss {
			return g.ipMiss(b), false
		}
		return g.ip(b), true
	}
	return b, false
}

func (g *Generator) digit() byte { return byte('0' + g.r.IntN(10)) }

func (g *Generator) digits(b []byte, n int) []byte {
	for range n {
		b = append(b, g.digit())
	}
	return b
}

func (g *Generator) pad(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}
