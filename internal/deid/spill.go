package deid

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"io"
	"os"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// spillFile holds rows on disk, encrypted, while k-anonymity holds them
// back and memory is short. The key is random, made for this file, and
// lives only in memory: nothing written can be read once the process
// forgets it, and the file is removed when the recipe ends. Rows are
// gathered into chunks of about spillChunk bytes, each sealed with
// AES-256-GCM under a nonce that counts the chunks (never reused under the
// key) and the chunk's number as additional data, so chunks cannot be
// reordered, dropped from the middle or altered unnoticed.
type spillFile struct {
	f      *os.File
	path   string
	aead   cipher.AEAD
	plain  []byte // the chunk being filled
	sealed []byte
	chunks uint64
	size   int64
}

const spillChunk = 1 << 20

func newSpillFile(dir string) (*spillFile, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, enclave.Wrap(enclave.CodeInternal, err, "making a key for the spill file")
	}
	block, err := aes.NewCipher(key[:])
	clear(key[:])
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInternal, err, "making a key for the spill file")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInternal, err, "making a key for the spill file")
	}
	f, err := os.CreateTemp(dir, "enclave-deid-*.spill")
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInternal, err, "creating the spill file")
	}
	return &spillFile{f: f, path: f.Name(), aead: aead}, nil
}

// add appends a held row of class cls.
func (s *spillFile) add(cls uint32, row []byte) error {
	s.plain = binary.AppendUvarint(s.plain, uint64(cls))
	s.plain = binary.AppendUvarint(s.plain, uint64(len(row)))
	s.plain = append(s.plain, row...)
	if len(s.plain) >= spillChunk {
		return s.flush()
	}
	return nil
}

func (s *spillFile) nonce(chunk uint64) (n [12]byte, ad [8]byte) {
	binary.BigEndian.PutUint64(n[4:], chunk)
	binary.BigEndian.PutUint64(ad[:], chunk)
	return n, ad
}

// flush seals and writes the chunk being filled.
func (s *spillFile) flush() error {
	if len(s.plain) == 0 {
		return nil
	}
	nonce, ad := s.nonce(s.chunks)
	s.sealed = binary.BigEndian.AppendUint32(s.sealed[:0], 0)
	s.sealed = s.aead.Seal(s.sealed, nonce[:], s.plain, ad[:])
	binary.BigEndian.PutUint32(s.sealed, uint32(len(s.sealed)-4))
	clear(s.plain)
	s.plain = s.plain[:0]
	if _, err := s.f.Write(s.sealed); err != nil {
		return enclave.Wrap(enclave.CodeInternal, err, "writing the spill file")
	}
	s.chunks++
	s.size += int64(len(s.sealed))
	return nil
}

// each calls fn with every row written, in order, after a flush. The row
// is valid until fn returns.
func (s *spillFile) each(fn func(cls uint32, row []byte) error) error {
	if err := s.flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return enclave.Wrap(enclave.CodeInternal, err, "reading the spill file")
	}
	br := bufio.NewReaderSize(s.f, 1<<16)
	var lenBuf [4]byte
	var plain []byte
	for chunk := uint64(0); chunk < s.chunks; chunk++ {
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			return enclave.Wrap(enclave.CodeInternal, err, "reading the spill file")
		}
		n := binary.BigEndian.Uint32(lenBuf[:])
		if int64(n) > s.size {
			return enclave.Errorf(enclave.CodeInternal, "the spill file is corrupt")
		}
		if cap(s.sealed) < int(n) {
			s.sealed = make([]byte, n)
		}
		sealed := s.sealed[:n]
		if _, err := io.ReadFull(br, sealed); err != nil {
			return enclave.Wrap(enclave.CodeInternal, err, "reading the spill file")
		}
		nonce, ad := s.nonce(chunk)
		var err error
		plain, err = s.aead.Open(plain[:0], nonce[:], sealed, ad[:])
		if err != nil {
			return enclave.Wrap(enclave.CodeInternal, err, "the spill file was altered")
		}
		for p := plain; len(p) > 0; {
			cls, k := binary.Uvarint(p)
			if k <= 0 {
				return enclave.Errorf(enclave.CodeInternal, "the spill file is corrupt")
			}
			p = p[k:]
			size, k := binary.Uvarint(p)
			if k <= 0 || uint64(len(p)-k) < size {
				return enclave.Errorf(enclave.CodeInternal, "the spill file is corrupt")
			}
			row := p[k : k+int(size)]
			p = p[k+int(size):]
			if err := fn(uint32(cls), row); err != nil {
				return err
			}
		}
	}
	clear(plain)
	return nil
}

// remove closes and deletes the file.
func (s *spillFile) remove() {
	s.f.Close()
	os.Remove(s.path)
	clear(s.plain)
}
