package deid

import (
	"encoding/binary"
	"hash/maphash"
	"math"

	"github.com/enclave-ml/enclave/internal/tabular"
)

// classKey hashes a row's quasi-identifier values into the 64-bit key of
// its equivalence class. Classes are never stored by their values, only by
// this hash, so memory is bounded by the number of distinct combinations
// (about 100 bytes each) whatever the width of the values, and no value
// outlives its row. Two different combinations collide with probability
// about n²/2⁶⁵ for n classes (under one in a million for five million);
// a collision merges two classes, which can only make k look larger by
// the smaller class's size.
type classKey struct {
	h   maphash.Hash
	num [9]byte
}

func newClassKey(seed maphash.Seed) *classKey {
	k := &classKey{}
	k.h.SetSeed(seed)
	return k
}

func (k *classKey) reset() { k.h.Reset() }

// text adds a text value (or a null) to the key. Values are length-
// prefixed so that ("ab", "c") and ("a", "bc") differ.
func (k *classKey) text(b []byte, null bool) {
	if null {
		k.h.WriteByte(0)
		return
	}
	k.num[0] = 's'
	binary.LittleEndian.PutUint64(k.num[1:], uint64(len(b)))
	k.h.Write(k.num[:])
	k.h.Write(b)
}

// value adds a typed value to the key.
func (k *classKey) value(v *tabular.Value) {
	switch v.Kind {
	case tabular.KindNull:
		k.h.WriteByte(0)
		return
	case tabular.KindString, tabular.KindBytes:
		k.num[0] = 's'
		binary.LittleEndian.PutUint64(k.num[1:], uint64(len(v.Str)))
		k.h.Write(k.num[:])
		k.h.WriteString(v.Str)
		return
	case tabular.KindFloat:
		k.num[0] = 'f'
		binary.LittleEndian.PutUint64(k.num[1:], math.Float64bits(v.Float))
	case tabular.KindTimestamp:
		k.num[0] = 't'
		binary.LittleEndian.PutUint64(k.num[1:], uint64(v.Time.UnixNano()))
	default:
		k.num[0] = byte('0' + v.Kind)
		binary.LittleEndian.PutUint64(k.num[1:], uint64(v.Int))
	}
	k.h.Write(k.num[:])
}

func (k *classKey) sum() uint64 { return k.h.Sum64() }

// classCounter counts rows per equivalence class and, for l-diversity, the
// distinct values of each sensitive attribute per class. It tracks at most
// max classes (and max class-value pairs per attribute); rows of classes
// beyond that are counted as untracked and the result marked truncated.
type classCounter struct {
	index     map[uint64]uint32
	counts    []int64
	max       int
	truncated bool
	untracked int64
	sensitive []*diversity
}

// diversity counts the distinct values of one sensitive attribute per
// class, from 64-bit hashes of (class, value): a collision, as unlikely as
// one between classes, would undercount a class's distinct values by one.
type diversity struct {
	seen map[uint64]struct{}
	// distinct counts each class's distinct values; first is the first
	// value's hash, kept beside it so that a class of one value (most
	// classes, when they are small) never touches the map.
	distinct  []int64
	first     []uint64
	truncated bool
}

func newClassCounter(max, sensitive int) *classCounter {
	c := &classCounter{index: map[uint64]uint32{}, max: max}
	for range sensitive {
		c.sensitive = append(c.sensitive, &diversity{seen: map[uint64]struct{}{}})
	}
	return c
}

// add counts a row of class key and returns the class's index and its new
// size, or -1 when the class is not tracked.
func (c *classCounter) add(key uint64) (int, int64) {
	i, ok := c.index[key]
	if !ok {
		if len(c.counts) >= c.max {
			c.truncated = true
			c.untracked++
			return -1, 0
		}
		i = uint32(len(c.counts))
		c.index[key] = i
		c.counts = append(c.counts, 0)
	}
	c.counts[i]++
	return int(i), c.counts[i]
}

// addSensitive records that class cls holds value hash v of attribute a.
func (c *classCounter) addSensitive(cls int, a int, v uint64) {
	if cls < 0 {
		return
	}
	d := c.sensitive[a]
	for len(d.distinct) <= cls {
		d.distinct = append(d.distinct, 0)
		d.first = append(d.first, 0)
	}
	switch {
	case d.distinct[cls] == 0:
		d.distinct[cls], d.first[cls] = 1, v
		return
	case d.first[cls] == v:
		return
	case d.distinct[cls] == 1:
		// A second value: from now on the class's values go in the map,
		// the first too.
		if !d.insert(cls, d.first[cls], c.max) {
			return
		}
	}
	if d.insert(cls, v, c.max) {
		d.distinct[cls]++
	}
}

// insert adds (class, value) to the map and reports whether it is new; a
// full map marks the result truncated.
func (d *diversity) insert(cls int, v uint64, max int) bool {
	// Mix the class into the value's hash (a Fibonacci-hashing multiply
	// keeps classes apart); one 64-bit key keeps the map on its fast path.
	key := v ^ (uint64(cls)+1)*0x9e3779b97f4a7c15
	if _, ok := d.seen[key]; ok {
		return false
	}
	if len(d.seen) >= max {
		d.truncated = true
		return false
	}
	d.seen[key] = struct{}{}
	return true
}

// kAnonymity summarises the classes: k (the smallest class), the number
// of classes, and the classes and rows below the small-class size.
func (c *classCounter) kAnonymity(small int) (k, classes, smallClasses, smallRows int64) {
	for _, n := range c.counts {
		if k == 0 || n < k {
			k = n
		}
		if n < int64(small) {
			smallClasses++
			smallRows += n
		}
	}
	return k, int64(len(c.counts)), smallClasses, smallRows
}

// l returns the smallest number of distinct values of attribute a in any
// class.
func (c *classCounter) l(a int) int64 {
	d := c.sensitive[a]
	var l int64
	for i := range c.counts {
		var n int64
		if i < len(d.distinct) {
			n = d.distinct[i]
		}
		if i == 0 || n < l {
			l = n
		}
	}
	return l
}
