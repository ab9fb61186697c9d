package streamenc

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	tinksubtle "github.com/tink-crypto/tink-go/v2/subtle"
)

// RangeOpener opens a reader of length bytes of the ciphertext from offset
// on. A blob bucket's NewRangeReader bound to one key has this shape;
// [ReaderAtOpener] adapts a file or an in-memory ciphertext.
type RangeOpener func(ctx context.Context, offset, length int64) (io.ReadCloser, error)

// ReaderAtOpener returns a RangeOpener over r.
func ReaderAtOpener(r io.ReaderAt) RangeOpener {
	return func(_ context.Context, offset, length int64) (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(r, offset, length)), nil
	}
}

// Object is one stored ciphertext opened for reading by range. It reads the
// header once, on the first range that needs it, and keeps the derived
// segment key. It is safe for concurrent use.
type Object struct {
	c   *Cipher
	src RangeOpener
	ad  []byte
	lay layout

	mu  sync.Mutex
	key *segmentKey // nil until the header has been read
}

// segmentKey is what the header yields: the derived AES-GCM key and the
// nonce prefix.
type segmentKey struct {
	header [HeaderSize]byte
	aead   cipher.AEAD
}

// Open returns the ciphertext of ciphertextSize bytes that src reads as an
// Object, without reading anything yet. ciphertextSize should come from the
// object's metadata (see [CiphertextSize]) rather than from the store that
// holds the bytes, so that truncation on disk shows as a short read; a size
// that no writer produces is refused with [ErrCorrupt].
func (c *Cipher) Open(src RangeOpener, ciphertextSize int64, ad []byte) (*Object, error) {
	lay, err := newLayout(ciphertextSize, int(c.geo.seg))
	if err != nil {
		return nil, err
	}
	return &Object{c: c, src: src, ad: append([]byte(nil), ad...), lay: lay}, nil
}

// Size returns the size of the plaintext.
func (o *Object) Size() int64 { return o.lay.plainSize }

// ReadRange returns a reader of length plaintext bytes from offset on; a
// negative length, or one past the end, reads to the end. It reads only the
// segments that hold the range (and the 40-byte header, once per Object),
// and authenticates each segment before returning any of its bytes. A range
// that reaches the end of the plaintext always decrypts the final segment,
// whose nonce marks it as final, so a truncated or extended object fails
// there; a zero-length range still authenticates the segment at its offset.
// The reader must be closed.
func (o *Object) ReadRange(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
	size := o.lay.plainSize
	if offset < 0 || offset > size {
		return nil, fmt.Errorf("%w: offset %d, plaintext is %d bytes", ErrRange, offset, size)
	}
	if length < 0 || length > size-offset {
		length = size - offset
	}
	end := offset + length
	lastSeg := o.lay.segments - 1
	first := min(o.lay.segmentOf(offset), lastSeg)
	last := lastSeg
	if end < size {
		last = max(o.lay.segmentOf(end-1), first)
	}

	key := o.cachedKey()
	from := o.lay.cipherStart(first)
	if first == 0 {
		// The header sits right before segment 0: read it in the same request.
		from = 0
	} else if key == nil {
		var err error
		if key, err = o.readHeader(ctx); err != nil {
			return nil, err
		}
	}
	to := o.lay.cipherSize
	if last < lastSeg {
		to = o.lay.cipherStart(last + 1)
	}
	rc, err := o.src(ctx, from, to-from)
	if err != nil {
		return nil, fmt.Errorf("streamenc: open ciphertext range [%d, %d): %w", from, to, err)
	}
	return &rangeReader{
		o:          o,
		rc:         rc,
		key:        key,
		readHeader: first == 0,
		next:       first,
		last:       last,
		skip:       offset - o.lay.plainStart(first),
		remaining:  length,
		buf:        o.c.bufPool.get(),
	}, nil
}

func (o *Object) cachedKey() *segmentKey {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.key
}

// rememberKey keeps the first key derived; a later header that differs means
// the stored object changed under us, which is corruption too.
func (o *Object) rememberKey(k *segmentKey) (*segmentKey, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.key == nil {
		o.key = k
		return k, nil
	}
	if o.key.header != k.header {
		return nil, fmt.Errorf("%w: header changed between reads", ErrCorrupt)
	}
	return o.key, nil
}

func (o *Object) readHeader(ctx context.Context) (*segmentKey, error) {
	rc, err := o.src(ctx, 0, HeaderSize)
	if err != nil {
		return nil, fmt.Errorf("streamenc: open ciphertext header: %w", err)
	}
	defer rc.Close()
	var h [HeaderSize]byte
	if _, err := io.ReadFull(rc, h[:]); err != nil {
		return nil, shortRead(err, "header")
	}
	k, err := o.c.deriveKey(h, o.ad)
	if err != nil {
		return nil, err
	}
	return o.rememberKey(k)
}

// deriveKey checks a header and derives its segment key exactly as Tink's
// AESGCMHKDF does: HKDF-SHA256 of the data key with the header's salt and
// the associated data as info.
func (c *Cipher) deriveKey(h [HeaderSize]byte, ad []byte) (*segmentKey, error) {
	if h[0] != HeaderSize {
		return nil, fmt.Errorf("%w: header length byte is %d, want %d", ErrCorrupt, h[0], HeaderSize)
	}
	dk, err := tinksubtle.ComputeHKDF(hkdfHash, c.key, h[1:1+KeySize], ad, KeySize)
	if err != nil {
		return nil, fmt.Errorf("streamenc: derive segment key: %w", err)
	}
	block, err := aes.NewCipher(dk)
	clear(dk)
	if err != nil {
		return nil, fmt.Errorf("streamenc: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("streamenc: %w", err)
	}
	return &segmentKey{header: h, aead: aead}, nil
}

// open authenticates and decrypts segment i in place.
func (k *segmentKey) open(seg []byte, i int64, final bool) ([]byte, error) {
	var nonce [nonceSize]byte
	copy(nonce[:], k.header[1+KeySize:])
	binary.BigEndian.PutUint32(nonce[noncePrefixSize:], uint32(i))
	if final {
		nonce[nonceSize-1] = 1
	}
	pt, err := k.aead.Open(seg[:0], nonce[:], seg, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: segment %d does not authenticate", ErrCorrupt, i)
	}
	return pt, nil
}

// shortRead reports a ciphertext that ended early as corruption (the object
// is shorter than its metadata says) and passes other read errors through.
func shortRead(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: ciphertext ends inside the %s", ErrCorrupt, what)
	}
	return fmt.Errorf("streamenc: reading %s: %w", what, err)
}

// rangeReader decrypts segments next..last of one contiguous ciphertext
// read, one segment at a time in a pooled buffer.
type rangeReader struct {
	o          *Object
	rc         io.ReadCloser
	key        *segmentKey
	readHeader bool // the read starts at offset 0, with the header
	next, last int64
	skip       int64 // plaintext bytes to drop from the next segment
	remaining  int64 // plaintext bytes still to return
	buf        *[]byte
	plain      []byte // decrypted bytes not yet returned
	err        error
	closed     bool
}

func (r *rangeReader) Read(p []byte) (int, error) {
	for {
		if len(r.plain) > 0 {
			n := copy(p, r.plain)
			r.plain = r.plain[n:]
			return n, nil
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.next > r.last {
			r.err = io.EOF
			continue
		}
		if err := r.decryptNext(); err != nil {
			r.err = err
		}
	}
}

func (r *rangeReader) decryptNext() error {
	if r.readHeader {
		r.readHeader = false
		var h [HeaderSize]byte
		if _, err := io.ReadFull(r.rc, h[:]); err != nil {
			return shortRead(err, "header")
		}
		if r.key == nil || r.key.header != h {
			k, err := r.o.c.deriveKey(h, r.o.ad)
			if err != nil {
				return err
			}
			if r.key, err = r.o.rememberKey(k); err != nil {
				return err
			}
		}
	}
	lay := &r.o.lay
	seg := (*r.buf)[:lay.segmentLen(r.next)]
	if _, err := io.ReadFull(r.rc, seg); err != nil {
		return shortRead(err, fmt.Sprintf("segment %d", r.next))
	}
	pt, err := r.key.open(seg, r.next, r.next == lay.segments-1)
	if err != nil {
		return err
	}
	if r.skip > int64(len(pt)) {
		return fmt.Errorf("%w: segment %d holds %d bytes, fewer than its layout", ErrCorrupt, r.next, len(pt))
	}
	pt = pt[r.skip:]
	r.skip = 0
	if int64(len(pt)) > r.remaining {
		pt = pt[:r.remaining]
	}
	r.remaining -= int64(len(pt))
	r.plain = pt
	r.next++
	return nil
}

// Close releases the ciphertext reader and the segment buffer.
func (r *rangeReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.plain = nil
	if r.err == nil {
		r.err = errors.New("streamenc: read after close")
	}
	r.o.c.bufPool.put(r.buf)
	r.buf = nil
	return r.rc.Close()
}
