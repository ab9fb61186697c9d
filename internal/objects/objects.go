// Package objects stores every byte the platform keeps for a zone or a
// project as an encrypted object: a blob of ciphertext in the owner's bucket
// and a row holding what it takes to read it back — its data key wrapped by
// the owner's key-encryption key, its sizes, its SHA-256 and its state.
//
// Writes stream in constant memory: the plaintext is hashed, counted against
// a quota and encrypted (Tink's streaming AEAD, see crypto/streamenc) on its
// way to the bucket. Reads decrypt whole objects or byte ranges, reading only
// the segments a range needs. Objects are named by their IDs, never by a
// name a user chose, so no user input reaches a storage path.
//
// An object is created in state writing, before any byte reaches the
// bucket, so that a write that dies midway — a dropped connection, a
// cancelled request, a kill -9 — leaves a row that Sweep finds and removes
// with whatever reached the bucket. The caller makes it stored (Commit) in
// the transaction that records what the object is for, a dataset version
// say, so no stored object is ever unaccounted for.
package objects

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// State is where an object is in its life.
type State string

// The states of an object.
const (
	Writing  State = "writing"  // bytes may be partly in the bucket; not yet referenced
	Stored   State = "stored"   // complete, referenced, immutable
	Deleting State = "deleting" // the blob is being removed
	// Destroyed objects lost their key (crypto-shredding) and then their
	// blob; the row stays as the record of what was there.
	Destroyed State = "destroyed"
)

// Tiers of storage. Cold is cheaper and slower where the backend has one.
const (
	TierHot  = "hot"
	TierCold = "cold"
)

// Object is one encrypted object.
type Object struct {
	ID string `json:"id"`
	// Owner is whose key-encryption key wraps the data key: a project's ID,
	// or a zone's for data it shares.
	Owner string `json:"owner"`
	// Bucket names the storage location that holds the blob.
	Bucket string `json:"bucket"`
	Key    string `json:"-"`
	State  State  `json:"state"`
	// Size is the plaintext's size; CipherSize the blob's.
	Size        int64           `json:"size"`
	CipherSize  int64           `json:"-"`
	SHA256      string          `json:"sha256"`
	SegmentSize int             `json:"-"`
	WrappedDEK  keys.WrappedDEK `json:"-"`
	KEKVersion  uint32          `json:"kek_version"`
	Tier        string          `json:"tier"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Placement says where a new object goes and whose key protects it.
type Placement struct {
	Owner  string
	Bucket string
	// Key is the key that wraps the owner's KEK when the owner has none yet
	// (zero: the platform's default key).
	Key keys.KeyRef
}

// Bucket is the blob storage of one location (a local directory, an S3 or
// GCS bucket, an Azure container). It sees only ciphertext.
type Bucket interface {
	// Put streams r into a new blob; it leaves nothing behind when it fails.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// NewRangeReader reads length bytes from offset (length < 0: to the end).
	NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
	// SetTier moves a blob to a storage tier, or fails with an error of
	// code failed_precondition where the backend has no such tier.
	SetTier(ctx context.Context, key, tier string) error
}

// Buckets finds buckets by name.
type Buckets interface {
	Bucket(name string) (Bucket, error)
}

// Store keeps object rows. Methods run in the caller's transaction when
// the context carries one.
type Store interface {
	CreateObject(ctx context.Context, o *Object) error
	GetObject(ctx context.Context, id string) (*Object, error)
	// UpdateObject writes state, sizes, hash, wrapped key, KEK version,
	// tier and update time.
	UpdateObject(ctx context.Context, o *Object) error
	// UpdateWrappedDEK replaces the wrapped data key of an object (a
	// rotation), leaving everything else as it is.
	UpdateWrappedDEK(ctx context.Context, id string, w keys.WrappedDEK, version uint32, at time.Time) error
	DeleteObject(ctx context.Context, id string) error
	// ListObjects returns up to limit objects of owner with IDs after
	// afterID, in ID order.
	ListObjects(ctx context.Context, owner, afterID string, limit int) ([]*Object, error)
	// CountByKEKVersion counts the objects whose data key is wrapped under
	// one version of owner's KEK.
	CountByKEKVersion(ctx context.Context, owner string, version uint32) (int64, error)
	// StaleObjects returns up to limit objects in state that were last
	// updated before the given time.
	StaleObjects(ctx context.Context, state State, before time.Time, limit int) ([]*Object, error)
	// OwnerUsage returns the plaintext bytes of owner's objects, writing
	// included.
	OwnerUsage(ctx context.Context, owner string) (int64, error)
	// OwnersToPurge returns the owners whose keys were destroyed but who
	// still have objects not yet marked destroyed.
	OwnersToPurge(ctx context.Context) ([]string, error)
}

// ErrCorrupt means stored ciphertext failed authentication: it was changed
// or truncated at rest. Callers record it as a security event.
var ErrCorrupt = errors.New("objects: stored ciphertext is corrupt")

// ErrKeyDestroyed means the owner's keys were destroyed: its objects can
// never be read again.
var ErrKeyDestroyed = keys.ErrKeyDestroyed

func keyError(err error, what string) error {
	switch {
	case errors.Is(err, keys.ErrKeyDestroyed):
		return enclave.Wrap(enclave.CodeFailedPrecondition, err, "%s: the keys protecting this data were destroyed", what)
	case errors.Is(err, keys.ErrKeyNotFound), errors.Is(err, keys.ErrUnwrap):
		return enclave.Wrap(enclave.CodeInternal, err, "%s: the data key cannot be unwrapped", what)
	}
	return err
}
