package keys

import (
	"context"
	"time"
)

// KEK is one version of an owner's key-encryption key as it is stored:
// wrapped by a provider, never in the clear.
type KEK struct {
	Owner   string
	Version uint32 // 1, 2, … in order of creation
	// Provider and KeyURI name the key that wrapped this version.
	Provider  string
	KeyURI    string
	Wrapped   []byte
	CreatedAt time.Time
}

// Ref returns the key that wraps this version.
func (k KEK) Ref() KeyRef { return KeyRef{Provider: k.Provider, KeyURI: k.KeyURI} }

// KEKStore keeps the wrapped KEK versions of every owner. The SQL layer
// implements it (two tables: versions keyed by owner and version, and one
// tombstone per destroyed owner); keystest.MemStore is the in-memory one and
// keystest.RunKEKStore the conformance suite. Methods run in the caller's
// transaction when the context carries one, so a rotation or destruction
// commits with its audit record.
type KEKStore interface {
	// CreateKEK stores a new version. It fails with ErrVersionExists if the
	// owner already has that version, and with ErrKeyDestroyed if the
	// owner's keys were destroyed.
	CreateKEK(ctx context.Context, k KEK) error
	// KEK returns one version, or ErrKeyNotFound, or ErrKeyDestroyed.
	KEK(ctx context.Context, owner string, version uint32) (KEK, error)
	// CurrentKEK returns the owner's highest version, or ErrKeyNotFound if it
	// has none, or ErrKeyDestroyed.
	CurrentKEK(ctx context.Context, owner string) (KEK, error)
	// ListKEKs returns the owner's versions in ascending order (none is not
	// an error), or ErrKeyDestroyed.
	ListKEKs(ctx context.Context, owner string) ([]KEK, error)
	// DeleteKEK removes one version (retirement after a rotation), or fails
	// with ErrKeyNotFound, or ErrKeyDestroyed.
	DeleteKEK(ctx context.Context, owner string, version uint32) error
	// DestroyKEKs deletes every version of the owner's KEK and records that
	// they were destroyed, so that later calls for the owner fail with
	// ErrKeyDestroyed rather than ErrKeyNotFound, and no KEK can be created
	// for it again. Destroying twice is not an error.
	DestroyKEKs(ctx context.Context, owner string) error
}
