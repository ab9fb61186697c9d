package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// PseudonymKeySize is the size of a pseudonymisation key.
const PseudonymKeySize = 32

// PseudonymKeyRecord is an owner's pseudonymisation key as it is stored:
// wrapped by a provider, never in the clear.
type PseudonymKeyRecord struct {
	Owner     string
	Provider  string
	KeyURI    string
	Wrapped   []byte
	CreatedAt time.Time
}

// PseudonymKeyStore keeps one wrapped pseudonymisation key per owner. The
// SQL layer implements it (sqlstore.PseudonymKeyStore).
type PseudonymKeyStore interface {
	// PseudonymKey returns the owner's key, or ErrKeyNotFound.
	PseudonymKey(ctx context.Context, owner string) (PseudonymKeyRecord, error)
	// CreatePseudonymKey stores the owner's key, or fails with
	// ErrVersionExists if the owner already has one.
	CreatePseudonymKey(ctx context.Context, k PseudonymKeyRecord) error
}

// pseudonymBinding prefixes the wrapped plaintext, so that a key wrapped
// for one owner does not unwrap as another's.
func pseudonymBinding(owner string) []byte {
	return appendField([]byte("enclave pseudonym key v1\x00"), owner)
}

// PseudonymKey returns the owner's pseudonymisation key: a random 32-byte
// secret created on first use, stored in store wrapped by the provider key
// that wraps the owner's KEK (created under ref if the owner has none).
// The key is stable: it is wrapped by the provider, not by a KEK version,
// so rotating the owner's KEK never changes it, and the same value keeps
// its pseudonym. Destroying the owner's KEK makes it unavailable.
func (h *Hierarchy) PseudonymKey(ctx context.Context, store PseudonymKeyStore, owner string, ref KeyRef) ([]byte, error) {
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("keys: no pseudonymisation key store")
	}
	// The owner's KEK says which provider key protects the owner, and
	// refuses an owner whose keys were destroyed.
	kek, err := h.EnsureKEK(ctx, owner, ref)
	if err != nil {
		return nil, err
	}
	rec, err := store.PseudonymKey(ctx, owner)
	if errors.Is(err, ErrKeyNotFound) {
		rec, err = h.createPseudonymKey(ctx, store, owner, kek.Ref())
		if errors.Is(err, ErrVersionExists) { // a concurrent creator won
			rec, err = store.PseudonymKey(ctx, owner)
		}
	}
	if err != nil {
		return nil, err
	}
	return h.unwrapPseudonymKey(ctx, rec)
}

func (h *Hierarchy) createPseudonymKey(ctx context.Context, store PseudonymKeyStore, owner string, ref KeyRef) (PseudonymKeyRecord, error) {
	p, ok := h.providers[ref.Provider]
	if !ok {
		return PseudonymKeyRecord{}, fmt.Errorf("%w %q", ErrUnknownProvider, ref.Provider)
	}
	key := make([]byte, PseudonymKeySize)
	if _, err := io.ReadFull(h.rand, key); err != nil {
		return PseudonymKeyRecord{}, err
	}
	plain := append(pseudonymBinding(owner), key...)
	wrapped, err := p.Wrap(ctx, ref.KeyURI, plain)
	clear(plain)
	clear(key)
	if err != nil {
		return PseudonymKeyRecord{}, err
	}
	var now time.Time
	if h.now != nil {
		now = h.now.Now()
	} else {
		now = time.Now()
	}
	rec := PseudonymKeyRecord{Owner: owner, Provider: ref.Provider, KeyURI: ref.KeyURI, Wrapped: wrapped, CreatedAt: now.UTC()}
	if err := store.CreatePseudonymKey(ctx, rec); err != nil {
		return PseudonymKeyRecord{}, err
	}
	return rec, nil
}

func (h *Hierarchy) unwrapPseudonymKey(ctx context.Context, rec PseudonymKeyRecord) ([]byte, error) {
	p, ok := h.providers[rec.Provider]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownProvider, rec.Provider)
	}
	plain, err := p.Unwrap(ctx, rec.KeyURI, rec.Wrapped)
	if err != nil {
		return nil, err
	}
	b := pseudonymBinding(rec.Owner)
	if len(plain) != len(b)+PseudonymKeySize || !bytes.Equal(plain[:len(b)], b) {
		clear(plain)
		return nil, ErrUnwrap
	}
	key := append([]byte(nil), plain[len(b):]...)
	clear(plain)
	return key, nil
}
