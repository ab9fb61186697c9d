package streamenc_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/crypto/streamenc"
)

// boundarySizes returns plaintext sizes around every interesting edge of a
// segment size: empty, inside and exactly filling the first segment, one
// past it, filling later segments exactly, and a partial last segment.
func boundarySizes(seg int) []int {
	p0, p := seg-streamenc.HeaderSize-streamenc.TagSize, seg-streamenc.TagSize
	return []int{0, 1, p0 - 1, p0, p0 + 1, p0 + p - 1, p0 + p, p0 + p + 1, p0 + 3*p, p0 + 3*p + 7}
}

// interesting returns offsets around segment boundaries within [0, n].
func interesting(seg, n int) []int64 {
	p0, p := seg-streamenc.HeaderSize-streamenc.TagSize, seg-streamenc.TagSize
	set := map[int64]bool{}
	for _, x := range []int{0, 1, p0 - 1, p0, p0 + 1, p0 + p - 1, p0 + p, p0 + p + 1, p0 + 2*p, n - p, n - 2, n - 1, n} {
		if x >= 0 && x <= n {
			set[int64(x)] = true
		}
	}
	out := make([]int64, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	return out
}

// TestTinkWriterRangeReader: what Tink's own keyset-level writer produces,
// the range reader decrypts, for ranges starting and ending on and around
// every segment boundary.
func TestTinkWriterRangeReader(t *testing.T) {
	key := randomBytes(1, 32)
	ad := []byte("object 0190a6b2-7c1e-7000-8000-000000000001")
	for _, seg := range []int{streamenc.MinSegmentSize, 64, 100, 4096 + 3} {
		for _, n := range boundarySizes(seg) {
			t.Run(fmt.Sprintf("seg%d/len%d", seg, n), func(t *testing.T) {
				plain := randomBytes(uint64(n), n)
				ct := tinkEncrypt(t, key, seg, plain, ad)
				if want, err := streamenc.CiphertextSize(int64(n), seg); err != nil || want != int64(len(ct)) {
					t.Fatalf("CiphertextSize(%d) = %d, %v; Tink wrote %d", n, want, err, len(ct))
				}
				if got, err := streamenc.PlaintextSize(int64(len(ct)), seg); err != nil || got != int64(n) {
					t.Fatalf("PlaintextSize(%d) = %d, %v; want %d", len(ct), got, err, n)
				}
				c := newCipher(t, key, seg)
				var whole bytes.Buffer
				if _, err := c.Decrypt(&whole, bytes.NewReader(ct), ad); err != nil || !bytes.Equal(whole.Bytes(), plain) {
					t.Fatalf("Decrypt: %v (equal %v)", err, bytes.Equal(whole.Bytes(), plain))
				}
				obj, err := c.Open(streamenc.ReaderAtOpener(bytes.NewReader(ct)), int64(len(ct)), ad)
				if err != nil {
					t.Fatal(err)
				}
				if obj.Size() != int64(n) {
					t.Fatalf("Size = %d, want %d", obj.Size(), n)
				}
				points := interesting(seg, n)
				for _, off := range points {
					for _, end := range points {
						if end < off {
							continue
						}
						for _, length := range []int64{end - off, -1} {
							got, err := readObjectRange(obj, off, length)
							if err != nil {
								t.Fatalf("ReadRange(%d, %d): %v", off, length, err)
							}
							if !bytes.Equal(got, want(plain, off, length)) {
								t.Fatalf("ReadRange(%d, %d) returned wrong bytes", off, length)
							}
						}
					}
				}
			})
		}
	}
}

// TestRangeExhaustive reads every (offset, length) pair of a five-segment
// object with a fresh Object each time, so the header is read both with
// segment 0 and on its own.
func TestRangeExhaustive(t *testing.T) {
	key := randomBytes(2, 32)
	ad := []byte("exhaustive")
	const seg = 64 // 8 plaintext bytes in segment 0, then 48 per segment
	plain := randomBytes(3, 8+48*3+20)
	ct := tinkEncrypt(t, key, seg, plain, ad)
	c := newCipher(t, key, seg)
	for off := int64(0); off <= int64(len(plain)); off++ {
		for length := int64(0); off+length <= int64(len(plain)); length++ {
			got, err := readRange(c, ct, ad, off, length)
			if err != nil {
				t.Fatalf("ReadRange(%d, %d): %v", off, length, err)
			}
			if !bytes.Equal(got, plain[off:off+length]) {
				t.Fatalf("ReadRange(%d, %d) returned wrong bytes", off, length)
			}
		}
	}
}

// TestEncryptTinkDecrypt: the package's Encrypt output is what Tink's
// keyset-level reader accepts, and the sizes agree.
func TestEncryptTinkDecrypt(t *testing.T) {
	key := randomBytes(4, 32)
	ad := []byte("the other way")
	for _, seg := range []int{64, 1000, streamenc.DefaultSegmentSize} {
		for _, n := range append(boundarySizes(seg), 3*seg+5) {
			plain := randomBytes(uint64(n)+5, n)
			var ct bytes.Buffer
			written, err := newCipher(t, key, seg).Encrypt(&ct, bytes.NewReader(plain), ad)
			if err != nil || written != int64(n) {
				t.Fatalf("Encrypt: %d, %v", written, err)
			}
			if size, _ := streamenc.CiphertextSize(int64(n), seg); size != int64(ct.Len()) {
				t.Fatalf("seg %d len %d: CiphertextSize %d, wrote %d", seg, n, size, ct.Len())
			}
			got, err := tinkDecrypt(t, key, seg, ct.Bytes(), ad)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("seg %d len %d: Tink decrypt: %v", seg, n, err)
			}
		}
	}
}

// TestSizesRoundTrip checks the size functions against each other over a
// wide range, including sizes past 4 GiB.
func TestSizesRoundTrip(t *testing.T) {
	for _, seg := range []int{streamenc.MinSegmentSize, 64, 4096, streamenc.DefaultSegmentSize} {
		for _, n := range []int64{0, 1, 2, 1000, 1 << 20, 1<<20 + 1, 5 << 30, 1<<40 + 12345} {
			if n/int64(seg-streamenc.TagSize) >= 1<<32-1 {
				continue // more segments than the format's counter allows
			}
			ct, err := streamenc.CiphertextSize(n, seg)
			if err != nil {
				t.Fatal(err)
			}
			back, err := streamenc.PlaintextSize(ct, seg)
			if err != nil || back != n {
				t.Fatalf("seg %d: PlaintextSize(CiphertextSize(%d)=%d) = %d, %v", seg, n, ct, back, err)
			}
		}
	}
	if _, err := streamenc.CiphertextSize(-1, 64); err == nil {
		t.Error("negative size accepted")
	}
	if _, err := streamenc.CiphertextSize(0, 56); err == nil {
		t.Error("segment size 56 accepted")
	}
	// Past 2^32 segments the 32-bit counter would wrap.
	if _, err := streamenc.CiphertextSize(1<<32*48, 64); err == nil {
		t.Error("more than 2^32 segments accepted")
	}
}

// TestConcurrentRanges reads one Object from many goroutines (run with -race).
func TestConcurrentRanges(t *testing.T) {
	key := randomBytes(5, 32)
	const seg = 256
	plain := randomBytes(6, 10_000)
	ct := tinkEncrypt(t, key, seg, plain, nil)
	obj, err := newCipher(t, key, seg).Open(streamenc.ReaderAtOpener(bytes.NewReader(ct)), int64(len(ct)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				off := int64((g*997 + i*313) % len(plain))
				length := int64((g*31 + i*17) % 700)
				got, err := readObjectRange(obj, off, length)
				if err != nil || !bytes.Equal(got, want(plain, off, length)) {
					t.Errorf("ReadRange(%d, %d): %v", off, length, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewRefusesBadParameters(t *testing.T) {
	if _, err := streamenc.New(make([]byte, 16), streamenc.DefaultSegmentSize); err == nil {
		t.Error("16-byte key accepted")
	}
	if _, err := streamenc.New(make([]byte, 32), streamenc.MinSegmentSize-1); err == nil {
		t.Error("too small segment accepted")
	}
	if _, err := streamenc.New(make([]byte, 32), streamenc.MaxSegmentSize+1); err == nil {
		t.Error("too large segment accepted")
	}
}
