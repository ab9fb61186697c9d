package streamenc_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/enclave-ml/enclave/internal/crypto/streamenc"
)

const benchSize = 64 << 20

// BenchmarkCopy is the baseline: the same 64 MiB moved by io.Copy through a
// 1 MiB buffer, with no encryption.
func BenchmarkCopy(b *testing.B) {
	plain := randomBytes(1, benchSize)
	buf := make([]byte, streamenc.DefaultSegmentSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{bytes.NewReader(plain)}, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	plain := randomBytes(1, benchSize)
	c := newCipher(b, randomBytes(2, 32), streamenc.DefaultSegmentSize)
	ad := []byte("bench")
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encrypt(io.Discard, bytes.NewReader(plain), ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	plain := randomBytes(1, benchSize)
	c := newCipher(b, randomBytes(2, 32), streamenc.DefaultSegmentSize)
	ad := []byte("bench")
	var ct bytes.Buffer
	if _, err := c.Encrypt(&ct, bytes.NewReader(plain), ad); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(io.Discard, bytes.NewReader(ct.Bytes()), ad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptRange decrypts the whole object through the range reader.
func BenchmarkDecryptRange(b *testing.B) {
	plain := randomBytes(1, benchSize)
	c := newCipher(b, randomBytes(2, 32), streamenc.DefaultSegmentSize)
	ad := []byte("bench")
	var ct bytes.Buffer
	if _, err := c.Encrypt(&ct, bytes.NewReader(plain), ad); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, streamenc.DefaultSegmentSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		obj, err := c.Open(streamenc.ReaderAtOpener(bytes.NewReader(ct.Bytes())), int64(ct.Len()), ad)
		if err != nil {
			b.Fatal(err)
		}
		rc, err := obj.ReadRange(context.Background(), 0, -1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, rc, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkSmallRange reads 64 KiB from the middle of an object: one or two
// segments, the case of a Parquet footer or column chunk.
func BenchmarkSmallRange(b *testing.B) {
	plain := randomBytes(1, benchSize)
	c := newCipher(b, randomBytes(2, 32), streamenc.DefaultSegmentSize)
	var ct bytes.Buffer
	if _, err := c.Encrypt(&ct, bytes.NewReader(plain), nil); err != nil {
		b.Fatal(err)
	}
	obj, err := c.Open(streamenc.ReaderAtOpener(bytes.NewReader(ct.Bytes())), int64(ct.Len()), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	for b.Loop() {
		rc, err := obj.ReadRange(context.Background(), 40<<20, 64<<10)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// The file benchmarks move the 64 MiB between files (in the page cache), the
// shape of the target: encrypted upload and download at 70 % or more
// of a plain file copy.
func benchFiles(b *testing.B, move func(dst io.Writer, src io.Reader) error, encryptedSource bool) {
	dir := b.TempDir()
	plain := randomBytes(1, benchSize)
	c := newCipher(b, randomBytes(2, 32), streamenc.DefaultSegmentSize)
	data := plain
	if encryptedSource {
		var ct bytes.Buffer
		if _, err := c.Encrypt(&ct, bytes.NewReader(plain), []byte("bench")); err != nil {
			b.Fatal(err)
		}
		data = ct.Bytes()
	}
	src := dir + "/src"
	if err := os.WriteFile(src, data, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	for b.Loop() {
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(dir + "/dst")
		if err != nil {
			b.Fatal(err)
		}
		if err := move(out, in); err != nil {
			b.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}

func BenchmarkFileCopy(b *testing.B) {
	benchFiles(b, func(dst io.Writer, src io.Reader) error {
		_, err := io.Copy(dst, src)
		return err
	}, false)
}

// BenchmarkFileCopyUserspace copies through a 1 MiB buffer in the process,
// as a blob upload does, rather than in the kernel (copy_file_range).
func BenchmarkFileCopyUserspace(b *testing.B) {
	buf := make([]byte, streamenc.DefaultSegmentSize)
	benchFiles(b, func(dst io.Writer, src io.Reader) error {
		_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
		return err
	}, false)
}

func BenchmarkFileEncrypt(b *testing.B) {
	c := newCipher(b, randomBytes(2, 32), streamenc.DefaultSegmentSize)
	benchFiles(b, func(dst io.Writer, src io.Reader) error {
		_, err := c.Encrypt(dst, src, []byte("bench"))
		return err
	}, false)
}

func BenchmarkFileDecrypt(b *testing.B) {
	c := newCipher(b, randomBytes(2, 32), streamenc.DefaultSegmentSize)
	benchFiles(b, func(dst io.Writer, src io.Reader) error {
		_, err := c.Decrypt(dst, src, []byte("bench"))
		return err
	}, true)
}
