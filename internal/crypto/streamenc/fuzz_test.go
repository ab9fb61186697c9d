package streamenc_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/enclave-ml/enclave/internal/crypto/streamenc"
)

// FuzzRange encrypts a plaintext of the fuzzed size with a fuzzed segment
// size, optionally flips one ciphertext bit, and reads a fuzzed range. The
// properties: an intact object returns exactly the requested bytes; a
// tampered one never returns wrong bytes, fails with ErrCorrupt whenever the
// flipped bit lies in the header or in a segment holding requested
// plaintext, and fails with nothing but ErrCorrupt.
func FuzzRange(f *testing.F) {
	// Seeds: empty plaintext, one segment, exact fills, partial last
	// segments, ranges at boundaries, flips in the header, in the middle and
	// in the final tag.
	f.Add(uint16(0), uint16(0), int64(0), int64(-1), int32(-1))
	f.Add(uint16(7), uint16(8), int64(0), int64(8), int32(-1))
	f.Add(uint16(7), uint16(200), int64(8), int64(48), int32(-1))
	f.Add(uint16(7), uint16(200), int64(199), int64(1), int32(319))
	f.Add(uint16(7), uint16(201), int64(200), int64(5), int32(-1))
	f.Add(uint16(100), uint16(1000), int64(500), int64(300), int32(5))
	f.Add(uint16(100), uint16(1000), int64(0), int64(0), int32(600))
	f.Add(uint16(43), uint16(3000), int64(2999), int64(-1), int32(2000))
	f.Add(uint16(0), uint16(41), int64(41), int64(0), int32(-1))
	f.Add(uint16(9000), uint16(65535), int64(12345), int64(40000), int32(70000))
	key := randomBytes(77, 32)
	ad := []byte("fuzzed object")
	f.Fuzz(func(t *testing.T, segSel, size uint16, off, length int64, flip int32) {
		seg := streamenc.MinSegmentSize + int(segSel)%10_000
		plain := randomBytes(uint64(size), int(size))
		c := newCipher(t, key, seg)
		var buf bytes.Buffer
		if _, err := c.Encrypt(&buf, bytes.NewReader(plain), ad); err != nil {
			t.Fatal(err)
		}
		ct := buf.Bytes()
		flipped := -1
		if flip >= 0 {
			flipped = int(flip) % len(ct)
			ct[flipped] ^= 1 << (flip % 8)
		}
		got, err := readRange(c, ct, ad, off, length)
		if off < 0 || off > int64(size) {
			if !errors.Is(err, streamenc.ErrRange) {
				t.Fatalf("offset %d of %d: got %v, want ErrRange", off, size, err)
			}
			return
		}
		if flipped < 0 {
			if err != nil || !bytes.Equal(got, want(plain, off, length)) {
				t.Fatalf("intact object, range (%d, %d): %v", off, length, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, streamenc.ErrCorrupt) {
				t.Fatalf("tampered object: got %v, want ErrCorrupt", err)
			}
			return
		}
		if !bytes.Equal(got, want(plain, off, length)) {
			t.Fatalf("tampered object returned wrong plaintext for (%d, %d)", off, length)
		}
		if mustFail(seg, flipped, off, int64(len(got))) {
			t.Fatalf("flip at %d went unnoticed in range (%d, %d) of segment size %d", flipped, off, length, seg)
		}
	})
}

// mustFail reports whether a flip at ciphertext offset at falls in the
// header or in a segment that holds some of plaintext [off, off+n). It
// computes segment bounds by walking them, independently of the package.
func mustFail(seg, at int, off, n int64) bool {
	if at < streamenc.HeaderSize {
		return true
	}
	ctStart, ptStart := streamenc.HeaderSize, int64(0)
	capacity := int64(seg - streamenc.HeaderSize - streamenc.TagSize)
	for ctStart <= at {
		ctEnd := ctStart + int(capacity) + streamenc.TagSize
		if at < ctEnd {
			return off < ptStart+capacity && ptStart < off+n
		}
		ctStart, ptStart = ctEnd, ptStart+capacity
		capacity = int64(seg - streamenc.TagSize)
	}
	return false
}
