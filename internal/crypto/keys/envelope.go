package keys

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Envelope kinds: the first byte of a wrapped DEK or sealed value. The kind
// is also part of the associated data, so one is never accepted as the other.
const (
	kindDEK    byte = 1
	kindSealed byte = 2

	envelopeHeader = 1 + 4 + 12 // kind, KEK version, nonce
	gcmTag         = 16
)

// WrappedDEKSize is the size of a wrapped data key.
const WrappedDEKSize = envelopeHeader + DEKSize + gcmTag

// WrappedDEK is a data key wrapped by one version of its owner's KEK:
// kind (1) || KEK version (4, big endian) || nonce (12) || AES-256-GCM
// ciphertext and tag (48), 65 bytes. It is safe to store next to the object:
// it is useless without the KEK.
type WrappedDEK []byte

// KEKVersion returns the version of the KEK that wrapped the key, so a
// rotation can find the DEKs still under an old version.
func (w WrappedDEK) KEKVersion() (uint32, error) {
	if len(w) != WrappedDEKSize || w[0] != kindDEK {
		return 0, fmt.Errorf("%w: not a wrapped data key", ErrUnwrap)
	}
	return binary.BigEndian.Uint32(w[1:5]), nil
}

// SealedKEKVersion returns the version of the KEK that sealed a value.
func SealedKEKVersion(sealed []byte) (uint32, error) {
	if len(sealed) < envelopeHeader+gcmTag || sealed[0] != kindSealed {
		return 0, fmt.Errorf("%w: not a sealed value", ErrUnwrap)
	}
	return binary.BigEndian.Uint32(sealed[1:5]), nil
}

// dekAD binds a wrapped DEK to its owner, its object and the KEK version.
func dekAD(owner, objectID string, version uint32) []byte {
	b := appendField(appendField([]byte("enclave/dek/v1\x00"), owner), objectID)
	return binary.BigEndian.AppendUint32(b, version)
}

// sealAD binds a sealed value to its owner, the caller's context and the KEK
// version.
func sealAD(owner string, ad []byte, version uint32) []byte {
	b := appendField(appendField([]byte("enclave/sealed/v1\x00"), owner), string(ad))
	return binary.BigEndian.AppendUint32(b, version)
}

// NewDEK returns a fresh random data key for an object and its wrapped
// form under the owner's current KEK. objectID is the object's immutable ID;
// the same ID unwraps it.
func (h *Hierarchy) NewDEK(ctx context.Context, owner, objectID string) ([]byte, WrappedDEK, error) {
	dek := make([]byte, DEKSize)
	if _, err := io.ReadFull(h.rand, dek); err != nil {
		return nil, nil, fmt.Errorf("keys: %w", err)
	}
	w, err := h.WrapDEK(ctx, owner, objectID, dek)
	if err != nil {
		clear(dek)
		return nil, nil, err
	}
	return dek, w, nil
}

// WrapDEK wraps a data key under the owner's current KEK.
func (h *Hierarchy) WrapDEK(ctx context.Context, owner, objectID string, dek []byte) (WrappedDEK, error) {
	if len(dek) != DEKSize {
		return nil, fmt.Errorf("keys: data key is %d bytes, want %d", len(dek), DEKSize)
	}
	if objectID == "" {
		return nil, errors.New("keys: a data key needs the ID of its object")
	}
	cur, err := h.store.CurrentKEK(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("keys: current KEK of %s: %w", owner, err)
	}
	return h.seal(ctx, cur, kindDEK, dekAD(owner, objectID, cur.Version), dek)
}

// UnwrapDEK returns the data key of an object. It fails with ErrKeyDestroyed
// once the owner's keys are destroyed, with ErrKeyNotFound if the KEK version
// was retired, and with ErrUnwrap if the wrapped key was modified or belongs
// to another owner or object.
func (h *Hierarchy) UnwrapDEK(ctx context.Context, owner, objectID string, w WrappedDEK) ([]byte, error) {
	version, err := w.KEKVersion()
	if err != nil {
		return nil, err
	}
	return h.open(ctx, owner, version, kindDEK, dekAD(owner, objectID, version), w)
}

// RewrapDEK returns the data key re-wrapped under the owner's current KEK,
// or w itself if it already is. The data it encrypts is not touched. A
// rotation walks the owner's objects, stores each result, and then retires
// the old KEK versions.
func (h *Hierarchy) RewrapDEK(ctx context.Context, owner, objectID string, w WrappedDEK) (WrappedDEK, error) {
	version, err := w.KEKVersion()
	if err != nil {
		return nil, err
	}
	cur, err := h.store.CurrentKEK(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("keys: current KEK of %s: %w", owner, err)
	}
	if version == cur.Version {
		return w, nil
	}
	dek, err := h.open(ctx, owner, version, kindDEK, dekAD(owner, objectID, version), w)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	return h.seal(ctx, cur, kindDEK, dekAD(owner, objectID, cur.Version), dek)
}

// Seal encrypts a small secret (a TOTP seed, a webhook token) under the
// owner's current KEK — typically the platform's — bound to ad, which must
// be given again to open it: the secret's table, row ID and column, say.
func (h *Hierarchy) Seal(ctx context.Context, owner string, ad, plaintext []byte) ([]byte, error) {
	cur, err := h.store.CurrentKEK(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("keys: current KEK of %s: %w", owner, err)
	}
	return h.seal(ctx, cur, kindSealed, sealAD(owner, ad, cur.Version), plaintext)
}

// Open decrypts what Seal returned for the same owner and ad.
func (h *Hierarchy) Open(ctx context.Context, owner string, ad, sealed []byte) ([]byte, error) {
	version, err := SealedKEKVersion(sealed)
	if err != nil {
		return nil, err
	}
	return h.open(ctx, owner, version, kindSealed, sealAD(owner, ad, version), sealed)
}

// Reseal re-encrypts a sealed value under the owner's current KEK, or
// returns it as it is if it already is.
func (h *Hierarchy) Reseal(ctx context.Context, owner string, ad, sealed []byte) ([]byte, error) {
	version, err := SealedKEKVersion(sealed)
	if err != nil {
		return nil, err
	}
	cur, err := h.store.CurrentKEK(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("keys: current KEK of %s: %w", owner, err)
	}
	if version == cur.Version {
		return sealed, nil
	}
	plain, err := h.open(ctx, owner, version, kindSealed, sealAD(owner, ad, version), sealed)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return h.seal(ctx, cur, kindSealed, sealAD(owner, ad, cur.Version), plain)
}

func (h *Hierarchy) seal(ctx context.Context, k KEK, kind byte, ad, plaintext []byte) ([]byte, error) {
	aead, err := h.kekAEAD(ctx, k)
	if err != nil {
		return nil, err
	}
	out := make([]byte, envelopeHeader, envelopeHeader+len(plaintext)+gcmTag)
	out[0] = kind
	binary.BigEndian.PutUint32(out[1:5], k.Version)
	if _, err := io.ReadFull(h.rand, out[5:envelopeHeader]); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return aead.Seal(out, out[5:envelopeHeader], plaintext, append(ad, kind)), nil
}

func (h *Hierarchy) open(ctx context.Context, owner string, version uint32, kind byte, ad, env []byte) ([]byte, error) {
	k, err := h.store.KEK(ctx, owner, version)
	if err != nil {
		return nil, fmt.Errorf("keys: KEK %s version %d: %w", owner, version, err)
	}
	aead, err := h.kekAEAD(ctx, k)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, env[5:envelopeHeader], env[envelopeHeader:], append(ad, kind))
	if err != nil {
		return nil, fmt.Errorf("%w: key of %s was modified or belongs to another object", ErrUnwrap, owner)
	}
	return plain, nil
}
