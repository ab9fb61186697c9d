package deid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"hash"
	"sync"
)

// Pseudonymiser turns a value into its pseudonym. Implementations must be
// deterministic (the same value, the same pseudonym, so that tables stay
// joinable on the pseudonymised column), one-way without the secret they
// hold, and safe for concurrent use.
type Pseudonymiser interface {
	// Pseudonym appends the pseudonym of value to dst and returns the
	// extended slice.
	Pseudonym(dst []byte, value []byte) []byte
}

// PseudonymPrefix starts every pseudonym NewHMACPseudonymiser makes, so
// that a reader can tell one from a real identifier.
const PseudonymPrefix = "psn_"

var pseudonymEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// hmacPseudonymiser keys HMAC-SHA256 with a secret; the hashes are pooled
// because hmac.New allocates and Reset does not.
type hmacPseudonymiser struct {
	pool sync.Pool
}

// NewHMACPseudonymiser returns a Pseudonymiser that writes "psn_" and the
// first 128 bits of HMAC-SHA256(key, value) in lower-case base32 without
// padding (30 characters in all). The platform derives the key for a
// project from a secret that never leaves the server; the same value gets
// the same pseudonym in every column and file pseudonymised under one key,
// and a different one under another. It panics if key is shorter than 16
// bytes, which would make the pseudonyms guessable.
func NewHMACPseudonymiser(key []byte) Pseudonymiser {
	if len(key) < 16 {
		panic("deid: a pseudonymisation key needs at least 16 bytes")
	}
	k := append([]byte(nil), key...)
	p := &hmacPseudonymiser{}
	p.pool.New = func() any { return hmac.New(sha256.New, k) }
	return p
}

func (p *hmacPseudonymiser) Pseudonym(dst, value []byte) []byte {
	h := p.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(value)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	p.pool.Put(h)
	var enc [26]byte
	pseudonymEncoding.Encode(enc[:], sum[:16])
	dst = append(dst, PseudonymPrefix...)
	return append(dst, enc[:]...)
}
