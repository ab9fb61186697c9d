package streamenc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/enclave-ml/enclave/internal/crypto/streamenc"
)

// The tamper fixture: a segment size of 64 and 200 plaintext bytes give five
// segments (8 + 4×48 plaintext bytes) and a ciphertext of exactly 320 bytes.
const (
	tamperSeg = 64
	tamperLen = 200
)

func tamperFixture(t *testing.T) (c *streamenc.Cipher, plain, ct, ad []byte) {
	t.Helper()
	key := randomBytes(10, 32)
	ad = []byte("object-under-attack")
	plain = randomBytes(11, tamperLen)
	ct = tinkEncrypt(t, key, tamperSeg, plain, ad)
	if len(ct) != 5*tamperSeg {
		t.Fatalf("fixture ciphertext is %d bytes", len(ct))
	}
	return newCipher(t, key, tamperSeg), plain, ct, ad
}

// segment returns the ciphertext bounds of segment i of the fixture.
func segment(i int) (int, int) {
	if i == 0 {
		return streamenc.HeaderSize, tamperSeg
	}
	return i * tamperSeg, (i + 1) * tamperSeg
}

// decryptAll decrypts the whole object both ways: as a stream (Tink's
// reader) and as one range covering everything (the range reader).
func decryptAll(c *streamenc.Cipher, ct, ad []byte) (stream, ranged error) {
	_, stream = c.Decrypt(io.Discard, bytes.NewReader(ct), ad)
	_, ranged = readRange(c, ct, ad, 0, -1)
	return stream, ranged
}

func mustCorrupt(t *testing.T, what string, errs ...error) {
	t.Helper()
	for i, err := range errs {
		if !errors.Is(err, streamenc.ErrCorrupt) {
			t.Errorf("%s (reader %d): got %v, want ErrCorrupt", what, i, err)
		}
	}
}

func TestUntamperedFixture(t *testing.T) {
	c, plain, ct, ad := tamperFixture(t)
	var out bytes.Buffer
	if _, err := c.Decrypt(&out, bytes.NewReader(ct), ad); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("Decrypt: %v", err)
	}
	if got, err := readRange(c, ct, ad, 0, -1); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("ReadRange: %v", err)
	}
}

// TestBitFlipAnywhere flips each bit position class in every byte: the whole
// object fails to decrypt either way, and so does any range whose segments
// include the flipped byte (every range, when the header is hit).
func TestBitFlipAnywhere(t *testing.T) {
	c, plain, ct, ad := tamperFixture(t)
	for i := range ct {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(ct)
			bad[i] ^= bit
			s, r := decryptAll(c, bad, ad)
			mustCorrupt(t, "flip", s, r)
			// The range of plaintext held by the hit segment.
			hit := i / tamperSeg
			var off, length int64
			switch {
			case i < streamenc.HeaderSize:
				off, length = 100, 10 // any range fails: the derived key is wrong
			case hit == 0:
				off, length = 0, 8
			default:
				off, length = int64(8+48*(hit-1)), 48
			}
			_, err := readRange(c, bad, ad, off, length)
			mustCorrupt(t, "flip, range over the segment", err)
			// A range elsewhere still reads: segments authenticate alone.
			if i >= tamperSeg && i < 4*tamperSeg {
				if got, err := readRange(c, bad, ad, 0, 8); err != nil || !bytes.Equal(got, plain[:8]) {
					t.Errorf("flip at %d broke an untouched segment: %v", i, err)
				}
			}
		}
	}
}

// TestTruncation cuts the object at every length: the stream fails, and a
// range to the end fails whether the size comes from the truncated object
// itself or from metadata that still records the original size.
func TestTruncation(t *testing.T) {
	c, _, ct, ad := tamperFixture(t)
	for n := 0; n < len(ct); n++ {
		short := ct[:n]
		_, err := c.Decrypt(io.Discard, bytes.NewReader(short), ad)
		mustCorrupt(t, "truncated stream", err)
		// Size from the store: the layout is refused or the final segment,
		// read with the final-segment nonce, does not authenticate.
		_, err = readRange(c, short, ad, 0, -1)
		mustCorrupt(t, "truncated, size from store", err)
		if pt, perr := streamenc.PlaintextSize(int64(n), tamperSeg); perr == nil {
			_, err = readRange(c, short, ad, pt, -1)
			mustCorrupt(t, "truncated, zero-length range at the end", err)
		}
		// Size from metadata: the read comes up short.
		obj, err := c.Open(streamenc.ReaderAtOpener(bytes.NewReader(short)), int64(len(ct)), ad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = readObjectRange(obj, 150, -1)
		mustCorrupt(t, "truncated, size from metadata", err)
	}
}

// TestTruncationAtSegmentBoundary is the case a plain per-segment AEAD would
// miss: whole segments cut off leave a valid-looking shorter object.
func TestTruncationAtSegmentBoundary(t *testing.T) {
	c, _, ct, ad := tamperFixture(t)
	for segs := 1; segs < 5; segs++ {
		short := ct[:segs*tamperSeg]
		s, r := decryptAll(c, short, ad)
		mustCorrupt(t, "cut at a segment boundary", s, r)
	}
}

func TestExtension(t *testing.T) {
	c, _, ct, ad := tamperFixture(t)
	for _, extra := range [][]byte{{0}, make([]byte, 16), make([]byte, tamperSeg), ct[tamperSeg : 2*tamperSeg]} {
		long := append(bytes.Clone(ct), extra...)
		s, r := decryptAll(c, long, ad)
		mustCorrupt(t, "extended", s, r)
	}
}

func TestSegmentSwapReorderDrop(t *testing.T) {
	c, _, ct, ad := tamperFixture(t)
	seg := func(i int) []byte { a, b := segment(i); return ct[a:b] }
	cases := map[string][]byte{
		"swap 1 and 2":    concat(ct[:tamperSeg], seg(2), seg(1), seg(3), seg(4)),
		"swap 3 and last": concat(ct[:tamperSeg], seg(1), seg(2), seg(4), seg(3)),
		"rotate":          concat(ct[:tamperSeg], seg(2), seg(3), seg(4), seg(1)),
		"drop 2":          concat(ct[:tamperSeg], seg(1), seg(3), seg(4)),
		"duplicate 1":     concat(ct[:tamperSeg], seg(1), seg(1), seg(2), seg(3), seg(4)),
	}
	for name, bad := range cases {
		s, r := decryptAll(c, bad, ad)
		mustCorrupt(t, name, s, r)
	}
	// A swapped segment fails even when only its own range is read.
	_, err := readRange(c, cases["swap 1 and 2"], ad, 8, 48)
	mustCorrupt(t, "swap, range over segment 1", err)
}

// TestSpliceFromAnotherObject moves a segment between two objects encrypted
// under the same data key and associated data: their derived keys and nonce
// prefixes differ, so it fails.
func TestSpliceFromAnotherObject(t *testing.T) {
	c, plain, ct, ad := tamperFixture(t)
	var other bytes.Buffer
	if _, err := c.Encrypt(&other, bytes.NewReader(plain), ad); err != nil {
		t.Fatal(err)
	}
	a, b := segment(2)
	bad := concat(ct[:a], other.Bytes()[a:b], ct[b:])
	s, r := decryptAll(c, bad, ad)
	mustCorrupt(t, "spliced", s, r)
	// And the header of one with the body of the other.
	bad = concat(other.Bytes()[:streamenc.HeaderSize], ct[streamenc.HeaderSize:])
	s, r = decryptAll(c, bad, ad)
	mustCorrupt(t, "other header", s, r)
}

func TestWrongKeyOrAssociatedData(t *testing.T) {
	c, _, ct, ad := tamperFixture(t)
	s, r := decryptAll(c, ct, []byte("object-next-door"))
	mustCorrupt(t, "wrong AD", s, r)
	s, r = decryptAll(c, ct, nil)
	mustCorrupt(t, "no AD", s, r)
	wrong := newCipher(t, randomBytes(99, 32), tamperSeg)
	s, r = decryptAll(wrong, ct, ad)
	mustCorrupt(t, "wrong key", s, r)
	_, err := readRange(wrong, ct, ad, 150, 5)
	mustCorrupt(t, "wrong key, range", err)
	// The wrong segment size misreads the layout.
	s, r = decryptAll(newCipher(t, randomBytes(10, 32), tamperSeg+1), ct, ad)
	mustCorrupt(t, "wrong segment size", s, r)
}

func TestHeaderLengthByte(t *testing.T) {
	c, _, ct, ad := tamperFixture(t)
	bad := bytes.Clone(ct)
	bad[0] = 24 // an AES-128 header
	s, r := decryptAll(c, bad, ad)
	mustCorrupt(t, "header length", s, r)
}

func TestEmptyAndGarbage(t *testing.T) {
	c := newCipher(t, randomBytes(1, 32), 64)
	for _, ct := range [][]byte{nil, {40}, make([]byte, 55), make([]byte, 56), make([]byte, 64)} {
		s, r := decryptAll(c, ct, nil)
		mustCorrupt(t, "garbage", s, r)
	}
}

func TestRangeOutside(t *testing.T) {
	c, _, ct, ad := tamperFixture(t)
	for _, off := range []int64{-1, tamperLen + 1, 1 << 40} {
		if _, err := readRange(c, ct, ad, off, 1); !errors.Is(err, streamenc.ErrRange) {
			t.Errorf("offset %d: got %v, want ErrRange", off, err)
		}
	}
}

// TestSourceErrorsPassThrough: a failing store is not reported as
// corruption, and its error stays inspectable.
func TestSourceErrorsPassThrough(t *testing.T) {
	c, _, ct, ad := tamperFixture(t)
	boom := errors.New("disk on fire")
	for _, at := range []int{0, 10, 100, 300} {
		src := io.MultiReader(bytes.NewReader(ct[:at]), &failing{boom})
		_, err := c.Decrypt(io.Discard, src, ad)
		if !errors.Is(err, boom) || errors.Is(err, streamenc.ErrCorrupt) {
			t.Errorf("stream, failure after %d bytes: got %v", at, err)
		}
	}
	open := func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		r := io.MultiReader(io.NewSectionReader(bytes.NewReader(ct), off, min(n, 70)), &failing{boom})
		return io.NopCloser(r), nil
	}
	obj, err := c.Open(open, int64(len(ct)), ad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readObjectRange(obj, 0, -1); !errors.Is(err, boom) || errors.Is(err, streamenc.ErrCorrupt) {
		t.Errorf("range: got %v", err)
	}
	refuse := func(context.Context, int64, int64) (io.ReadCloser, error) { return nil, boom }
	obj, _ = c.Open(refuse, int64(len(ct)), ad)
	if _, err := obj.ReadRange(context.Background(), 100, 1); !errors.Is(err, boom) {
		t.Errorf("open failure: got %v", err)
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
