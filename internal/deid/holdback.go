package deid

import (
	"encoding/binary"
	"slices"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tabular"
)

// holdback enforces k-anonymity in one pass. A row whose class (its
// quasi-identifiers' combination, after the recipe's other actions) has
// been seen fewer than k times is held back; the moment its class reaches
// k rows, the class's held rows are written and later rows of the class
// pass straight through. Rows still held at the end belong to classes of
// fewer than k rows: they are suppressed (their quasi-identifiers written
// as "*", which makes them one class of their own) if they number at
// least k together, and dropped otherwise. Held rows are kept in memory up
// to a limit, then spilled to an encrypted temporary file; rows of a class
// that reaches k after its rows were spilled are written at the end, when
// the file is read back once.
type holdback struct {
	k       int64
	max     int
	qi      []int
	index   map[uint64]uint32
	classes []heldClass
	holding []uint32 // classes with rows in memory
	bytes   int64
	limit   int64
	dir     string
	spill   *spillFile
	enc     []byte
	dec     []cell
	hook    func(path string)
}

type heldClass struct {
	count    int64
	released bool
	listed   bool // in holding
	rows     [][]byte
}

// heldRowOverhead is what holding a row costs besides its bytes.
const heldRowOverhead = 48

func newHoldback(k int, qi []int, max int, limit int64, dir string) *holdback {
	return &holdback{k: int64(k), qi: qi, max: max, index: map[uint64]uint32{}, limit: limit, dir: dir}
}

// add takes a row of class key: it writes it (and its class's held rows)
// through emit, or holds it.
func (h *holdback) add(key uint64, row []cell, emit func([]cell) error) error {
	i, ok := h.index[key]
	if !ok {
		if len(h.classes) >= h.max {
			return enclave.Errorf(enclave.CodeTooLarge, "the quasi-identifiers take more than %d distinct combinations; generalise them further (or raise the limit)", h.max)
		}
		i = uint32(len(h.classes))
		h.index[key] = i
		h.classes = append(h.classes, heldClass{})
	}
	c := &h.classes[i]
	c.count++
	if c.released {
		return emit(row)
	}
	if c.count >= h.k {
		c.released = true
		for _, r := range c.rows {
			h.bytes -= int64(len(r)) + heldRowOverhead
			dec, err := decodeRow(r, h.dec[:0])
			if err != nil {
				return err
			}
			h.dec = dec
			if err := emit(dec); err != nil {
				return err
			}
		}
		c.rows = nil
		return emit(row)
	}
	h.enc = encodeRow(h.enc[:0], row)
	c.rows = append(c.rows, slices.Clone(h.enc))
	h.bytes += int64(len(h.enc)) + heldRowOverhead
	if !c.listed {
		c.listed = true
		h.holding = append(h.holding, i)
	}
	if h.bytes > h.limit {
		return h.spillAll()
	}
	return nil
}

// spillAll moves every row held in memory to the spill file.
func (h *holdback) spillAll() error {
	if h.spill == nil {
		s, err := newSpillFile(h.dir)
		if err != nil {
			return err
		}
		h.spill = s
	}
	slices.Sort(h.holding)
	for _, i := range h.holding {
		c := &h.classes[i]
		c.listed = false
		for _, r := range c.rows {
			if err := h.spill.add(i, r); err != nil {
				return err
			}
			clear(r)
		}
		c.rows = nil
	}
	h.holding = h.holding[:0]
	h.bytes = 0
	return nil
}

// finish writes what is still held: the spilled rows of classes that
// reached k, and the rows of the classes that did not, suppressed or
// dropped. It returns the rows suppressed and dropped.
func (h *holdback) finish(emit func([]cell) error) (suppressed, dropped int64, err error) {
	var small int64
	for i := range h.classes {
		if !h.classes[i].released {
			small += h.classes[i].count
		}
	}
	drop := small < h.k
	if drop {
		dropped = small
	} else {
		suppressed = small
	}
	star := cell{kind: tabular.KindString, b: []byte("*")}
	out := func(released bool, r []byte) error {
		if !released && drop {
			return nil
		}
		dec, err := decodeRow(r, h.dec[:0])
		if err != nil {
			return err
		}
		h.dec = dec
		if !released {
			for _, q := range h.qi {
				dec[q] = star
			}
		}
		return emit(dec)
	}
	for i := range h.classes {
		c := &h.classes[i]
		for _, r := range c.rows {
			if err := out(c.released, r); err != nil {
				return 0, 0, err
			}
		}
		c.rows = nil
	}
	if h.spill != nil {
		if err := h.spill.flush(); err != nil {
			return 0, 0, err
		}
		if h.hook != nil {
			h.hook(h.spill.path)
		}
		if err := h.spill.each(func(cls uint32, r []byte) error {
			if int(cls) >= len(h.classes) {
				return enclave.Errorf(enclave.CodeInternal, "the spill file is corrupt")
			}
			return out(h.classes[cls].released, r)
		}); err != nil {
			return 0, 0, err
		}
	}
	return suppressed, dropped, nil
}

// spilledBytes is the size of the spill file.
func (h *holdback) spilledBytes() int64 {
	if h.spill == nil {
		return 0
	}
	return h.spill.size
}

// close removes the spill file.
func (h *holdback) close() {
	if h.spill != nil {
		h.spill.remove()
	}
}

// encodeRow appends a row in the holdback's encoding: per cell its kind,
// then the length and bytes of text or the eight bytes of a number (and
// four of a timestamp's nanoseconds).
func encodeRow(dst []byte, row []cell) []byte {
	for i := range row {
		c := &row[i]
		dst = append(dst, byte(c.kind))
		switch c.kind {
		case tabular.KindString, tabular.KindBytes, tabular.KindNull:
			dst = binary.AppendUvarint(dst, uint64(len(c.b)))
			dst = append(dst, c.b...)
		case tabular.KindTimestamp:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.n))
			dst = binary.LittleEndian.AppendUint32(dst, uint32(c.nanos))
		default:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.n))
		}
	}
	return dst
}

var errCorruptRow = enclave.Errorf(enclave.CodeInternal, "a held row is corrupt")

// decodeRow reads a row encodeRow wrote; text cells point into src.
func decodeRow(src []byte, dst []cell) ([]cell, error) {
	for len(src) > 0 {
		c := cell{kind: tabular.Kind(src[0])}
		src = src[1:]
		switch c.kind {
		case tabular.KindString, tabular.KindBytes, tabular.KindNull:
			n, k := binary.Uvarint(src)
			if k <= 0 || uint64(len(src)-k) < n {
				return nil, errCorruptRow
			}
			c.b = src[k : k+int(n) : k+int(n)]
			src = src[k+int(n):]
		case tabular.KindTimestamp:
			if len(src) < 12 {
				return nil, errCorruptRow
			}
			c.n = int64(binary.LittleEndian.Uint64(src))
			c.nanos = int32(binary.LittleEndian.Uint32(src[8:]))
			src = src[12:]
		default:
			if len(src) < 8 {
				return nil, errCorruptRow
			}
			c.n = int64(binary.LittleEndian.Uint64(src))
			src = src[8:]
		}
		dst = append(dst, c)
	}
	return dst, nil
}
