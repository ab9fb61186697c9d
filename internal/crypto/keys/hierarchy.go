package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// DEKSize is the size of a data key.
const DEKSize = 32

// Hierarchy wraps data keys and sealed secrets under per-owner KEKs that it
// keeps wrapped by providers in a KEKStore. It is safe for concurrent use,
// and several replicas may share one store.
type Hierarchy struct {
	store     KEKStore
	providers map[string]Provider
	cache     *kekCache
	now       enclave.Clock
	rand      io.Reader
}

// Options configures a Hierarchy.
type Options struct {
	Store     KEKStore
	Providers []Provider
	// CacheSize bounds how many unwrapped KEK versions are kept (default
	// 1024; negative disables the cache).
	CacheSize int
	// CacheTTL bounds how long an unwrapped KEK is kept (default 5 minutes).
	// It is also how long a replica goes on using a KMS key after the
	// customer disables it.
	CacheTTL time.Duration
	Clock    enclave.Clock
	// Rand is the source of keys and nonces (default crypto/rand).
	Rand io.Reader
}

// New returns a Hierarchy.
func New(opts Options) (*Hierarchy, error) {
	if opts.Store == nil {
		return nil, errors.New("keys: no KEK store")
	}
	h := &Hierarchy{store: opts.Store, providers: map[string]Provider{}, now: opts.Clock, rand: opts.Rand}
	for _, p := range opts.Providers {
		if p == nil || p.ID() == "" {
			return nil, errors.New("keys: provider without an ID")
		}
		if _, dup := h.providers[p.ID()]; dup {
			return nil, fmt.Errorf("keys: two providers with ID %q", p.ID())
		}
		h.providers[p.ID()] = p
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 1024
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	h.cache = newKEKCache(opts.CacheSize, opts.CacheTTL)
	if h.rand == nil {
		h.rand = rand.Reader
	}
	return h, nil
}

// EnsureKEK returns the owner's current KEK, creating version 1 wrapped
// under ref if the owner has none.
func (h *Hierarchy) EnsureKEK(ctx context.Context, owner string, ref KeyRef) (KEK, error) {
	if err := checkOwner(owner); err != nil {
		return KEK{}, err
	}
	cur, err := h.store.CurrentKEK(ctx, owner)
	if !errors.Is(err, ErrKeyNotFound) {
		return cur, err
	}
	k, err := h.createKEK(ctx, owner, 1, ref)
	if errors.Is(err, ErrVersionExists) {
		return h.store.CurrentKEK(ctx, owner)
	}
	return k, err
}

// Rotate creates the owner's next KEK version, wrapped under ref (or, if ref
// is zero, under the same key as the current version), and makes it current:
// from now on new DEKs are wrapped under it. Existing wrapped DEKs still
// unwrap; move them with RewrapDEK, then Retire the old versions. Rotating
// to a ref at another provider is how an owner moves to a customer-managed
// key.
func (h *Hierarchy) Rotate(ctx context.Context, owner string, ref KeyRef) (KEK, error) {
	if err := checkOwner(owner); err != nil {
		return KEK{}, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := h.store.CurrentKEK(ctx, owner)
		if err != nil {
			return KEK{}, err
		}
		r := ref
		if r.IsZero() {
			r = cur.Ref()
		}
		k, err := h.createKEK(ctx, owner, cur.Version+1, r)
		if errors.Is(err, ErrVersionExists) && attempt < 10 {
			continue // another replica rotated at the same moment
		}
		return k, err
	}
}

// Retire deletes an old KEK version. Any DEK still wrapped under it becomes
// unreadable, so the caller retires a version only after rewrapping every
// DEK it wrapped. The current version cannot be retired.
func (h *Hierarchy) Retire(ctx context.Context, owner string, version uint32) error {
	cur, err := h.store.CurrentKEK(ctx, owner)
	if err != nil {
		return err
	}
	if version >= cur.Version {
		return fmt.Errorf("keys: cannot retire version %d of %s: the current version is %d", version, owner, cur.Version)
	}
	if err := h.store.DeleteKEK(ctx, owner, version); err != nil {
		return err
	}
	h.cache.remove(cacheKey{owner, version})
	return nil
}

// Destroy deletes every version of the owner's KEK (crypto-shredding). From
// then on every DEK and sealed value of the owner fails to unwrap with
// ErrKeyDestroyed, on every replica, and no new KEK can be made for it.
// Copies of the wrapped KEKs in database backups remain unwrappable by the
// provider's key until those backups expire; see the design note.
func (h *Hierarchy) Destroy(ctx context.Context, owner string) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	err := h.store.DestroyKEKs(ctx, owner)
	h.cache.purge(owner)
	return err
}

// createKEK makes a random KEK and stores it wrapped under ref. The
// provider wraps the key together with a hash binding it to its owner and
// version, so a wrapped KEK copied to another owner's or version's record
// is refused on unwrap, whatever the provider.
func (h *Hierarchy) createKEK(ctx context.Context, owner string, version uint32, ref KeyRef) (KEK, error) {
	if err := ref.Validate(); err != nil {
		return KEK{}, err
	}
	p, ok := h.providers[ref.Provider]
	if !ok {
		return KEK{}, fmt.Errorf("%w %q", ErrUnknownProvider, ref.Provider)
	}
	plain := make([]byte, DEKSize+sha256.Size)
	defer clear(plain)
	if _, err := io.ReadFull(h.rand, plain[:DEKSize]); err != nil {
		return KEK{}, fmt.Errorf("keys: %w", err)
	}
	binding := kekBinding(owner, version)
	copy(plain[DEKSize:], binding[:])
	wrapped, err := p.Wrap(ctx, ref.KeyURI, plain)
	if err != nil {
		return KEK{}, fmt.Errorf("keys: wrap new KEK for %s with provider %s: %w", owner, ref.Provider, err)
	}
	k := KEK{Owner: owner, Version: version, Provider: ref.Provider, KeyURI: ref.KeyURI, Wrapped: wrapped, CreatedAt: h.now.Now()}
	epoch := h.cache.currentEpoch()
	if err := h.store.CreateKEK(ctx, k); err != nil {
		return KEK{}, err
	}
	// The first use of a new version needs no provider round trip.
	if aead, err := newGCM(plain[:DEKSize]); err == nil {
		h.cache.put(cacheKey{owner, version}, fingerprint(k), aead, h.now.Now(), epoch)
	}
	return k, nil
}

func kekBinding(owner string, version uint32) [32]byte {
	b := appendField([]byte("enclave/kek/v1\x00"), owner)
	return sha256.Sum256(binary.BigEndian.AppendUint32(b, version))
}

func fingerprint(k KEK) [32]byte {
	b := appendField(appendField(nil, k.Provider), k.KeyURI)
	return sha256.Sum256(append(b, k.Wrapped...))
}

// kekAEAD returns the unwrapped KEK of a stored version, from the cache or
// from its provider.
func (h *Hierarchy) kekAEAD(ctx context.Context, k KEK) (cipher.AEAD, error) {
	ck, fp := cacheKey{k.Owner, k.Version}, fingerprint(k)
	if aead, ok := h.cache.get(ck, fp, h.now.Now()); ok {
		return aead, nil
	}
	epoch := h.cache.currentEpoch()
	p, ok := h.providers[k.Provider]
	if !ok {
		return nil, fmt.Errorf("%w %q (KEK %s version %d)", ErrUnknownProvider, k.Provider, k.Owner, k.Version)
	}
	plain, err := p.Unwrap(ctx, k.KeyURI, k.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("keys: unwrap KEK %s version %d with provider %s: %w", k.Owner, k.Version, k.Provider, err)
	}
	defer clear(plain)
	binding := kekBinding(k.Owner, k.Version)
	if len(plain) != DEKSize+sha256.Size || subtle.ConstantTimeCompare(plain[DEKSize:], binding[:]) != 1 {
		return nil, fmt.Errorf("%w: KEK record of %s version %d holds a key made for another owner or version", ErrUnwrap, k.Owner, k.Version)
	}
	aead, err := newGCM(plain[:DEKSize])
	if err != nil {
		return nil, err
	}
	h.cache.put(ck, fp, aead, h.now.Now(), epoch)
	return aead, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return aead, nil
}

func checkOwner(owner string) error {
	if owner == "" || len(owner) > 255 {
		return errors.New("keys: owner must be 1 to 255 bytes")
	}
	return nil
}

// appendField appends s with a length prefix, so that concatenated fields
// cannot be confused with other fields.
func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
