package streamenc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"testing"
)

// TestEmptyFinalSegment: a writer may end with a final segment that holds no
// plaintext (Tink's C++ writer does when the plaintext fills its last
// segment exactly). Tink Go's reader accepts that form, and so must the size
// functions and the range reader.
func TestEmptyFinalSegment(t *testing.T) {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	const seg = 64
	ad := []byte("c++ layout")
	c, err := New(key, seg)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, 8+48) // fills segments 0 and 1 exactly
	_, _ = rand.Read(plain)
	var buf bytes.Buffer
	if _, err := c.Encrypt(&buf, bytes.NewReader(plain), ad); err != nil {
		t.Fatal(err)
	}
	ct := buf.Bytes()
	if len(ct) != 2*seg {
		t.Fatalf("ciphertext is %d bytes", len(ct))
	}
	var h [HeaderSize]byte
	copy(h[:], ct)
	k, err := c.deriveKey(h, ad)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(i uint32, final bool, pt []byte) []byte {
		var nonce [nonceSize]byte
		copy(nonce[:], h[1+KeySize:])
		binary.BigEndian.PutUint32(nonce[noncePrefixSize:], i)
		if final {
			nonce[nonceSize-1] = 1
		}
		return k.aead.Seal(nil, nonce[:], pt, nil)
	}
	alt := append(bytes.Clone(ct[:seg]), seal(1, false, plain[8:])...)
	alt = append(alt, seal(2, true, nil)...)

	if n, err := PlaintextSize(int64(len(alt)), seg); err != nil || n != int64(len(plain)) {
		t.Fatalf("PlaintextSize = %d, %v", n, err)
	}
	r, err := c.tink.NewDecryptingReader(bytes.NewReader(alt), ad)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Tink's reader: %v", err)
	}
	obj, err := c.Open(ReaderAtOpener(bytes.NewReader(alt)), int64(len(alt)), ad)
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range [][2]int64{{0, -1}, {50, -1}, {8, 48}, {56, 0}, {55, 1}} {
		rc, err := obj.ReadRange(context.Background(), rg[0], rg[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		end := int64(len(plain))
		if rg[1] >= 0 {
			end = rg[0] + rg[1]
		}
		if err != nil || !bytes.Equal(got, plain[rg[0]:end]) {
			t.Fatalf("ReadRange%v: %v", rg, err)
		}
	}
	// Dropping the empty final segment is truncation.
	obj, _ = c.Open(ReaderAtOpener(bytes.NewReader(alt[:2*seg])), 2*seg, ad)
	rc, _ := obj.ReadRange(context.Background(), 0, -1)
	if _, err := io.ReadAll(rc); err == nil {
		t.Fatal("dropping the empty final segment went unnoticed")
	}
}

// TestGeometry pins the segment arithmetic to Tink's documented layout.
func TestGeometry(t *testing.T) {
	g := geometry{seg: DefaultSegmentSize}
	if g.firstPlain() != DefaultSegmentSize-56 || g.plain() != DefaultSegmentSize-16 {
		t.Fatalf("capacities %d, %d", g.firstPlain(), g.plain())
	}
	for i := int64(0); i < 5; i++ {
		if g.segmentOf(g.plainStart(i)) != i {
			t.Errorf("segmentOf(plainStart(%d)) = %d", i, g.segmentOf(g.plainStart(i)))
		}
		if i > 0 && g.segmentOf(g.plainStart(i)-1) != i-1 {
			t.Errorf("segmentOf(plainStart(%d)-1) = %d", i, g.segmentOf(g.plainStart(i)-1))
		}
	}
	if g.cipherStart(0) != HeaderSize || g.cipherStart(3) != 3*DefaultSegmentSize {
		t.Error("cipherStart")
	}
}
