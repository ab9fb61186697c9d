package streamenc_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/secretdata"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/streamingaead/aesgcmhkdf"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/enclave-ml/enclave/internal/crypto/streamenc"
)

// tinkAEAD returns the streaming AEAD that Tink's public keyset API builds
// from the given raw key: the reference the package must agree with.
func tinkAEAD(t testing.TB, key []byte, segmentSize int) tink.StreamingAEAD {
	t.Helper()
	params, err := aesgcmhkdf.NewParameters(aesgcmhkdf.ParametersOpts{
		KeySizeInBytes:        32,
		DerivedKeySizeInBytes: 32,
		HKDFHashType:          aesgcmhkdf.SHA256,
		SegmentSizeInBytes:    int32(segmentSize),
	})
	if err != nil {
		t.Fatal(err)
	}
	k, err := aesgcmhkdf.NewKey(params, secretdata.NewBytesFromData(key, insecuresecretdataaccess.Token{}))
	if err != nil {
		t.Fatal(err)
	}
	m := keyset.NewManager()
	id, err := m.AddKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetPrimary(id); err != nil {
		t.Fatal(err)
	}
	h, err := m.Handle()
	if err != nil {
		t.Fatal(err)
	}
	p, err := streamingaead.New(h)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tinkEncrypt encrypts with Tink's own writer, written to in uneven pieces.
func tinkEncrypt(t testing.TB, key []byte, segmentSize int, plain, ad []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := tinkAEAD(t, key, segmentSize).NewEncryptingWriter(&buf, ad)
	if err != nil {
		t.Fatal(err)
	}
	for rest, step := plain, 1; len(rest) > 0; step = step*3 + 1 {
		n := min(step, len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tinkDecrypt decrypts with Tink's own reader.
func tinkDecrypt(t testing.TB, key []byte, segmentSize int, ct, ad []byte) ([]byte, error) {
	t.Helper()
	r, err := tinkAEAD(t, key, segmentSize).NewDecryptingReader(bytes.NewReader(ct), ad)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	_, _ = r.Read(b)
	return b
}

func newCipher(t testing.TB, key []byte, segmentSize int) *streamenc.Cipher {
	t.Helper()
	c, err := streamenc.New(key, segmentSize)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readRange opens ct and reads one plaintext range to its end.
func readRange(c *streamenc.Cipher, ct, ad []byte, off, length int64) ([]byte, error) {
	obj, err := c.Open(streamenc.ReaderAtOpener(bytes.NewReader(ct)), int64(len(ct)), ad)
	if err != nil {
		return nil, err
	}
	return readObjectRange(obj, off, length)
}

func readObjectRange(obj *streamenc.Object, off, length int64) ([]byte, error) {
	rc, err := obj.ReadRange(context.Background(), off, length)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return got, err
}

// want returns the plaintext slice a range read should return.
func want(plain []byte, off, length int64) []byte {
	end := int64(len(plain))
	if length >= 0 && off+length < end {
		end = off + length
	}
	return plain[off:end]
}
