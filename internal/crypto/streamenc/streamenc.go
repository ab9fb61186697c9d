// Package streamenc encrypts objects with a per-object data key in Tink's
// streaming AEAD format AES-GCM-HKDF, and decrypts them whole or by byte
// range.
//
// The ciphertext is exactly what Tink's AesGcmHkdfStreaming primitive writes
// (https://developers.google.com/tink/streaming-aead/aes_gcm_hkdf_streaming)
// for a 32-byte key, HKDF-SHA256, 32-byte derived keys and no first-segment
// offset:
//
//	header    = 0x28 || salt (32 bytes) || nonce prefix (7 bytes)          40 bytes
//	segment i = AES-256-GCM(k, prefix || BE32(i) || last, plaintext_i)   ≤ S bytes
//	k         = HKDF-SHA256(ikm = data key, salt, info = associated data)
//
// Segment 0 holds S-56 plaintext bytes (so that the header and it fill one
// ciphertext segment of S bytes), every later segment S-16, and the last one
// what remains; its nonce ends in 1, every other's in 0, which is what makes
// truncation at a segment boundary detectable. Whole-object encryption and
// decryption are Tink's own code; Tink Go has no seekable decrypter, so
// [Object.ReadRange] decrypts the segments a range needs itself, deriving the
// key with Tink's HKDF and opening each segment with the standard library's
// AES-GCM. The tests prove that it reads what Tink writes.
//
// Every failure to authenticate — a flipped bit, a truncated, extended,
// reordered or swapped segment, the wrong key or the wrong associated data —
// is reported as an error wrapping [ErrCorrupt]; errors of the underlying
// reader are passed through, never disguised as corruption.
package streamenc

import (
	"errors"
	"fmt"
	"math"

	tinkstream "github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
)

// Sizes of the format's fixed parts.
const (
	// KeySize is the size of a data key.
	KeySize = 32
	// HeaderSize is the size of the ciphertext header: its length byte, the
	// HKDF salt and the nonce prefix.
	HeaderSize = 1 + KeySize + noncePrefixSize
	// TagSize is the GCM tag that every segment carries.
	TagSize = 16

	noncePrefixSize = tinkstream.AESGCMHKDFNoncePrefixSizeInBytes
	nonceSize       = tinkstream.AESGCMHKDFNonceSizeInBytes
	hkdfHash        = "SHA256"
)

// Segment sizes. The segment size is a property of each ciphertext and must
// be known to decrypt it, so callers store it with the object.
const (
	// DefaultSegmentSize is the ciphertext segment size of Tink's
	// AES256_GCM_HKDF_1MB template: large enough that GCM runs at full speed
	// and the 16-byte tag costs 0.0015 %, small enough that a range read
	// decrypts at most two extra MiB.
	DefaultSegmentSize = 1 << 20
	// MinSegmentSize is the smallest segment size Tink accepts: a first
	// segment must hold the header, a tag and at least one plaintext byte.
	MinSegmentSize = HeaderSize + TagSize + 1
	// MaxSegmentSize bounds the memory one reader or writer holds.
	MaxSegmentSize = 64 << 20
)

var (
	// ErrCorrupt means the ciphertext failed authentication: it was modified,
	// truncated or extended, or it was not encrypted with this key and
	// associated data. No plaintext from a segment that failed is returned.
	ErrCorrupt = errors.New("streamenc: ciphertext is corrupt or does not match the key and associated data")
	// ErrRange means a requested range lies outside the plaintext.
	ErrRange = errors.New("streamenc: range outside the plaintext")
)

// Cipher encrypts and decrypts objects under one data key. It is safe for
// concurrent use.
type Cipher struct {
	key     []byte
	geo     geometry
	tink    *tinkstream.AESGCMHKDF
	bufPool *bufferPool
}

// New returns a Cipher for a 32-byte data key and a ciphertext segment size
// (use [DefaultSegmentSize] unless reading an object written with another).
func New(key []byte, segmentSize int) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("streamenc: data key is %d bytes, want %d", len(key), KeySize)
	}
	if segmentSize < MinSegmentSize || segmentSize > MaxSegmentSize {
		return nil, fmt.Errorf("streamenc: segment size %d outside [%d, %d]", segmentSize, MinSegmentSize, MaxSegmentSize)
	}
	t, err := tinkstream.NewAESGCMHKDF(key, hkdfHash, KeySize, segmentSize, 0)
	if err != nil {
		return nil, fmt.Errorf("streamenc: %w", err)
	}
	if t.HeaderLength() != HeaderSize {
		return nil, fmt.Errorf("streamenc: Tink header is %d bytes, want %d", t.HeaderLength(), HeaderSize)
	}
	return &Cipher{
		key:     append([]byte(nil), key...),
		geo:     geometry{seg: int64(segmentSize)},
		tink:    t,
		bufPool: poolFor(segmentSize),
	}, nil
}

// SegmentSize returns the ciphertext segment size.
func (c *Cipher) SegmentSize() int { return int(c.geo.seg) }

// geometry maps plaintext offsets to segments for a segment size S.
type geometry struct{ seg int64 }

// firstPlain is the plaintext capacity of segment 0, which shares the first
// S ciphertext bytes with the header.
func (g geometry) firstPlain() int64 { return g.seg - HeaderSize - TagSize }

// plain is the plaintext capacity of every later segment.
func (g geometry) plain() int64 { return g.seg - TagSize }

// segmentOf returns the index of the segment holding plaintext offset x.
func (g geometry) segmentOf(x int64) int64 {
	if x < g.firstPlain() {
		return 0
	}
	return 1 + (x-g.firstPlain())/g.plain()
}

// plainStart returns the plaintext offset at which segment i begins.
func (g geometry) plainStart(i int64) int64 {
	if i == 0 {
		return 0
	}
	return g.firstPlain() + (i-1)*g.plain()
}

// cipherStart returns the ciphertext offset at which segment i begins.
func (g geometry) cipherStart(i int64) int64 {
	if i == 0 {
		return HeaderSize
	}
	return i * g.seg
}

// layout describes one ciphertext: how many segments it has and how much
// plaintext they hold.
type layout struct {
	geometry
	cipherSize int64
	segments   int64
	plainSize  int64
}

// newLayout derives the layout of a ciphertext from its size. It accepts
// every size a Tink writer can produce, including a final segment that holds
// no plaintext (Tink's C++ writer ends that way when the plaintext fills its
// last segment exactly), and refuses sizes no writer produces.
func newLayout(cipherSize int64, segmentSize int) (layout, error) {
	g := geometry{seg: int64(segmentSize)}
	if segmentSize < MinSegmentSize || segmentSize > MaxSegmentSize {
		return layout{}, fmt.Errorf("streamenc: segment size %d outside [%d, %d]", segmentSize, MinSegmentSize, MaxSegmentSize)
	}
	if cipherSize < HeaderSize+TagSize {
		return layout{}, fmt.Errorf("%w: %d bytes is shorter than a header and one tag", ErrCorrupt, cipherSize)
	}
	n := (cipherSize-1)/g.seg + 1
	if n > math.MaxUint32 {
		return layout{}, fmt.Errorf("%w: %d segments exceed the format's 32-bit counter", ErrCorrupt, n)
	}
	if last := cipherSize - g.cipherStart(n-1); last < TagSize {
		return layout{}, fmt.Errorf("%w: final segment of %d bytes is shorter than a tag", ErrCorrupt, last)
	}
	return layout{geometry: g, cipherSize: cipherSize, segments: n, plainSize: cipherSize - HeaderSize - n*TagSize}, nil
}

// segmentLen returns the ciphertext length of segment i.
func (l layout) segmentLen(i int64) int64 {
	if i == l.segments-1 {
		return l.cipherSize - l.cipherStart(i)
	}
	return l.cipherStart(i+1) - l.cipherStart(i)
}

// CiphertextSize returns the size of the ciphertext that encrypting
// plaintextSize bytes produces with the given segment size.
func CiphertextSize(plaintextSize int64, segmentSize int) (int64, error) {
	if segmentSize < MinSegmentSize || segmentSize > MaxSegmentSize {
		return 0, fmt.Errorf("streamenc: segment size %d outside [%d, %d]", segmentSize, MinSegmentSize, MaxSegmentSize)
	}
	if plaintextSize < 0 {
		return 0, fmt.Errorf("streamenc: negative plaintext size %d", plaintextSize)
	}
	g := geometry{seg: int64(segmentSize)}
	n := int64(1)
	if plaintextSize > g.firstPlain() {
		rest := plaintextSize - g.firstPlain()
		n = 1 + rest/g.plain()
		if rest%g.plain() != 0 {
			n++
		}
	}
	if n > math.MaxUint32 {
		return 0, fmt.Errorf("streamenc: %d bytes need %d segments, more than the format allows", plaintextSize, n)
	}
	if plaintextSize > math.MaxInt64-HeaderSize-n*TagSize {
		return 0, fmt.Errorf("streamenc: plaintext size %d overflows", plaintextSize)
	}
	return HeaderSize + plaintextSize + n*TagSize, nil
}

// PlaintextSize returns the size of the plaintext a ciphertext of
// ciphertextSize bytes holds. A size that no writer produces is reported as
// [ErrCorrupt]: the object was truncated or extended.
func PlaintextSize(ciphertextSize int64, segmentSize int) (int64, error) {
	l, err := newLayout(ciphertextSize, segmentSize)
	if err != nil {
		return 0, err
	}
	return l.plainSize, nil
}
