package tabular

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// This file counts distinct values: exactly, as a set of 64-bit hashes, up
// to a bound; beyond it with a HyperLogLog sketch. The hash has a fixed
// seed so that the same file always gives the same count (the profile must
// be byte-for-byte reproducible), which hash/maphash cannot promise; the
// standard library has no other fast 64-bit hash, so a small one is here.

// Hash constants (from wyhash; any odd constants with mixed bits would do).
const (
	hashK0 = 0xa0761d6478bd642f
	hashK1 = 0xe7037ed1a0b428db
	hashK2 = 0x8ebc6af09c88c6e3
)

// mum multiplies a by b to 128 bits and folds the halves.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashString hashes s eight bytes at a time.
func hashString(s string) uint64 {
	h := uint64(len(s))*hashK0 ^ hashK1
	for len(s) >= 8 {
		h = mum(h^le64(s)^hashK2, hashK1)
		s = s[8:]
	}
	if len(s) > 0 {
		var tail [8]byte
		copy(tail[:], s)
		h = mum(h^binary.LittleEndian.Uint64(tail[:])^hashK0, hashK2)
	}
	return fmix64(h)
}

// le64 reads the first eight bytes of s as a little-endian number (the
// compiler merges the loads).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hashUint64 hashes one number; salt separates kinds whose bits could
// coincide (the integer 1 and the bits of a timestamp).
func hashUint64(v, salt uint64) uint64 {
	return fmix64(mum(v^salt, hashK1) ^ v)
}

// fmix64 is MurmurHash3's finalizer: every input bit affects every output
// bit, which the HyperLogLog register choice needs.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb93fe53e87b9
	h ^= h >> 33
	return h
}

// Salts for hashing values of different logical kinds.
const (
	saltNumber = 0x6e756d626572 // "number"
	saltBool   = 0x626f6f6c     // "bool"
	saltTime   = 0x74696d65     // "time"
)

// hashFloat hashes a number so that equal values are equal whatever their
// spelling or type: the integer 3 and the float 3.0, 0 and -0, every NaN.
func hashFloat(f float64) uint64 {
	switch {
	case f == 0:
		f = 0
	case f != f:
		f = math.NaN()
	}
	return hashUint64(math.Float64bits(f), saltNumber)
}

// hashInt hashes an integer consistently with hashFloat where the float
// holds it exactly.
func hashInt(n int64) uint64 {
	if f := float64(n); f >= -(1<<63) && f < 1<<63 && int64(f) == n {
		return hashFloat(f)
	}
	return hashUint64(uint64(n), saltNumber^hashK2)
}

// hashTime hashes an instant given as seconds and nanoseconds.
func hashTime(sec int64, nsec int64) uint64 {
	return hashUint64(uint64(sec)^uint64(nsec)*hashK0, saltTime)
}

// distinctCounter counts distinct hashes: exactly in a set while there are
// at most limit of them, then approximately in a HyperLogLog sketch. The set
// holds 8-byte hashes, not values, so its memory does not depend on how long
// the values are; two values colliding in 64 bits is negligible (about
// 3·10⁻¹² for 10,000 values).
type distinctCounter struct {
	limit int
	set   map[uint64]struct{}
	hll   *hyperLogLog
}

func newDistinctCounter(limit int) *distinctCounter {
	return &distinctCounter{limit: limit, set: make(map[uint64]struct{})}
}

func (d *distinctCounter) add(h uint64) {
	if d.hll != nil {
		d.hll.add(h)
		return
	}
	d.set[h] = struct{}{}
	if len(d.set) > d.limit {
		d.hll = newHyperLogLog()
		for h := range d.set {
			d.hll.add(h)
		}
		d.set = nil
	}
}

// count returns the number of distinct values and whether it is an
// estimate.
func (d *distinctCounter) count() (int64, bool) {
	if d.hll != nil {
		return d.hll.estimate(), true
	}
	return int64(len(d.set)), false
}

// hllPrecision gives 2^14 registers: 16 KiB per column and a standard error
// of 1.04/√16384 ≈ 0.8%.
const hllPrecision = 14

// hyperLogLog is the sketch of Flajolet et al. with Ertl's improved
// estimator ("New cardinality estimation algorithms for HyperLogLog
// sketches", 2017), which needs neither empirical bias tables nor a switch
// to linear counting, and is accurate from small to very large counts.
type hyperLogLog struct {
	registers [1 << hllPrecision]uint8
}

func newHyperLogLog() *hyperLogLog { return new(hyperLogLog) }

func (s *hyperLogLog) add(h uint64) {
	const q = 64 - hllPrecision
	idx := h >> q
	// The rank is the position of the first 1 bit in the remaining q bits,
	// from 1; q+1 when they are all zero.
	rank := uint8(bits.LeadingZeros64(h<<hllPrecision|1<<(hllPrecision-1))) + 1
	if rank > s.registers[idx] {
		s.registers[idx] = rank
	}
}

func (s *hyperLogLog) estimate() int64 {
	const (
		m = 1 << hllPrecision
		q = 64 - hllPrecision
	)
	var counts [q + 2]float64
	for _, r := range s.registers {
		counts[r]++
	}
	z := m * ertlTau(1-counts[q+1]/m)
	for k := q; k >= 1; k-- {
		z = 0.5 * (z + counts[k])
	}
	z += m * ertlSigma(counts[0]/m)
	const alphaInf = 0.5 / math.Ln2
	return int64(math.Round(alphaInf * m * m / z))
}

func ertlSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func ertlTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}
