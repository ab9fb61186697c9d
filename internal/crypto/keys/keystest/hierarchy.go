package keystest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
)

// countingProvider counts the calls that reach the provider.
type countingProvider struct {
	keys.Provider
	wraps, unwraps atomic.Int64
}

func (c *countingProvider) Wrap(ctx context.Context, uri string, p []byte) ([]byte, error) {
	c.wraps.Add(1)
	return c.Provider.Wrap(ctx, uri, p)
}

func (c *countingProvider) Unwrap(ctx context.Context, uri string, w []byte) ([]byte, error) {
	c.unwraps.Add(1)
	return c.Provider.Unwrap(ctx, uri, w)
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is one store shared by any number of hierarchies ("replicas").
type fixture struct {
	t     *testing.T
	cfg   ProviderConfig
	store *MemStore
	prov  *countingProvider
	clock *clock
	ref   keys.KeyRef
}

func newFixture(t *testing.T, cfg ProviderConfig) *fixture {
	return &fixture{
		t: t, cfg: cfg, store: NewMemStore(),
		prov:  &countingProvider{Provider: cfg.Provider},
		clock: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		ref:   keys.KeyRef{Provider: cfg.Provider.ID(), KeyURI: cfg.KeyURI},
	}
}

func (f *fixture) hierarchy(opts keys.Options) *keys.Hierarchy {
	f.t.Helper()
	opts.Store = f.store
	opts.Providers = []keys.Provider{f.prov}
	opts.Clock = f.clock.Now
	h, err := keys.New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fixture) ensure(h *keys.Hierarchy, owner string) keys.KEK {
	f.t.Helper()
	k, err := h.EnsureKEK(context.Background(), owner, f.ref)
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

func mustIs(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func runHierarchy(t *testing.T, cfg ProviderConfig) {
	ctx := context.Background()

	t.Run("DEKRoundTrip", func(t *testing.T) {
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{})
		if k := f.ensure(h, "p1"); k.Version != 1 || k.Provider != cfg.Provider.ID() || k.KeyURI != cfg.KeyURI {
			t.Fatalf("EnsureKEK = %+v", k)
		}
		if again := f.ensure(h, "p1"); again.Version != 1 {
			t.Fatalf("second EnsureKEK made version %d", again.Version)
		}
		f.ensure(h, "p2")
		dek, w, err := h.NewDEK(ctx, "p1", "obj-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(dek) != keys.DEKSize || len(w) != keys.WrappedDEKSize || bytes.Contains(w, dek) {
			t.Fatalf("NewDEK: %d-byte key, %d-byte wrapped", len(dek), len(w))
		}
		got, err := h.UnwrapDEK(ctx, "p1", "obj-1", w)
		if err != nil || !bytes.Equal(got, dek) {
			t.Fatalf("UnwrapDEK: %v", err)
		}
		_, err = h.UnwrapDEK(ctx, "p1", "obj-2", w)
		mustIs(t, err, keys.ErrUnwrap, "another object's ID")
		_, err = h.UnwrapDEK(ctx, "p2", "obj-1", w)
		mustIs(t, err, keys.ErrUnwrap, "another owner")
		_, err = h.UnwrapDEK(ctx, "p3", "obj-1", w)
		mustIs(t, err, keys.ErrKeyNotFound, "owner without keys")
		_, _, err = h.NewDEK(ctx, "p3", "obj-1")
		mustIs(t, err, keys.ErrKeyNotFound, "NewDEK for owner without keys")
	})

	t.Run("TamperedDEK", func(t *testing.T) {
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{})
		f.ensure(h, "p1")
		_, w, err := h.NewDEK(ctx, "p1", "obj")
		if err != nil {
			t.Fatal(err)
		}
		for i := range w {
			bad := bytes.Clone(w)
			bad[i] ^= 0x04
			if _, err := h.UnwrapDEK(ctx, "p1", "obj", bad); err == nil {
				t.Fatalf("flip in byte %d went unnoticed", i)
			} else if !errors.Is(err, keys.ErrUnwrap) && !errors.Is(err, keys.ErrKeyNotFound) {
				t.Fatalf("flip in byte %d: %v", i, err)
			}
		}
		for _, bad := range [][]byte{nil, w[:len(w)-1], append(bytes.Clone(w), 0)} {
			_, err := h.UnwrapDEK(ctx, "p1", "obj", bad)
			mustIs(t, err, keys.ErrUnwrap, "wrong length")
		}
	})

	t.Run("OneProviderCallPerKEK", func(t *testing.T) {
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{})
		f.ensure(h, "p1")
		var wrapped []keys.WrappedDEK
		for i := range 100 {
			_, w, err := h.NewDEK(ctx, "p1", fmt.Sprint("obj-", i))
			if err != nil {
				t.Fatal(err)
			}
			wrapped = append(wrapped, w)
		}
		if n := f.prov.unwraps.Load(); n != 0 {
			t.Fatalf("%d provider unwraps for a KEK this hierarchy created", n)
		}
		cold := f.hierarchy(keys.Options{}) // another replica
		for i, w := range wrapped {
			if _, err := cold.UnwrapDEK(ctx, "p1", fmt.Sprint("obj-", i), w); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.prov.unwraps.Load(); n != 1 {
			t.Fatalf("%d provider unwraps for 100 DEKs, want 1", n)
		}
		f.clock.advance(6 * time.Minute) // past the default TTL
		if _, err := cold.UnwrapDEK(ctx, "p1", "obj-0", wrapped[0]); err != nil {
			t.Fatal(err)
		}
		if n := f.prov.unwraps.Load(); n != 2 {
			t.Fatalf("%d provider unwraps after the cache expired, want 2", n)
		}
	})

	t.Run("CacheBounded", func(t *testing.T) {
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{CacheSize: 2})
		for round := range 2 {
			for i := range 5 {
				owner := fmt.Sprint("p", i)
				f.ensure(h, owner)
				dek, w, err := h.NewDEK(ctx, owner, "obj")
				if err != nil {
					t.Fatal(err)
				}
				if got, err := h.UnwrapDEK(ctx, owner, "obj", w); err != nil || !bytes.Equal(got, dek) {
					t.Fatalf("round %d owner %s: %v", round, owner, err)
				}
			}
		}
		if f.prov.unwraps.Load() == 0 {
			t.Fatal("a cache of 2 held 5 KEKs")
		}
		uncached := f.hierarchy(keys.Options{CacheSize: -1})
		_, w, _ := uncached.NewDEK(ctx, "p0", "x")
		before := f.prov.unwraps.Load()
		if _, err := uncached.UnwrapDEK(ctx, "p0", "x", w); err != nil {
			t.Fatal(err)
		}
		if f.prov.unwraps.Load() != before+1 {
			t.Fatal("a disabled cache served a KEK")
		}
	})

	t.Run("RotateRewrapRetire", func(t *testing.T) {
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{})
		f.ensure(h, "p1")
		type object struct {
			id  string
			dek []byte
			w   keys.WrappedDEK
		}
		var objs []object
		for i := range 10 {
			id := fmt.Sprint("obj-", i)
			dek, w, err := h.NewDEK(ctx, "p1", id)
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, object{id, dek, w})
		}
		sealed, err := h.Seal(ctx, "p1", []byte("webhook/42/token"), []byte("s3cr3t"))
		if err != nil {
			t.Fatal(err)
		}
		k2, err := h.Rotate(ctx, "p1", keys.KeyRef{})
		if err != nil || k2.Version != 2 || k2.Ref() != f.ref {
			t.Fatalf("Rotate = %+v, %v", k2, err)
		}
		_, w, err := h.NewDEK(ctx, "p1", "new")
		if v, _ := w.KEKVersion(); err != nil || v != 2 {
			t.Fatalf("new DEK under version %d, %v", v, err)
		}
		for _, o := range objs {
			if got, err := h.UnwrapDEK(ctx, "p1", o.id, o.w); err != nil || !bytes.Equal(got, o.dek) {
				t.Fatalf("old DEK after rotation: %v", err)
			}
		}
		// Rewrap all but the last object, as an interrupted walk would.
		rewrapped := map[string]keys.WrappedDEK{}
		for _, o := range objs[:9] {
			nw, err := h.RewrapDEK(ctx, "p1", o.id, o.w)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := nw.KEKVersion(); v != 2 {
				t.Fatalf("rewrapped under version %d", v)
			}
			if again, err := h.RewrapDEK(ctx, "p1", o.id, nw); err != nil || !bytes.Equal(again, nw) {
				t.Fatalf("rewrap of a current DEK changed it: %v", err)
			}
			rewrapped[o.id] = nw
		}
		_, err = h.RewrapDEK(ctx, "p1", "obj-other", objs[9].w)
		mustIs(t, err, keys.ErrUnwrap, "rewrap with the wrong object ID")
		resealed, err := h.Reseal(ctx, "p1", []byte("webhook/42/token"), sealed)
		if v, _ := keys.SealedKEKVersion(resealed); err != nil || v != 2 {
			t.Fatalf("Reseal: version %d, %v", v, err)
		}
		replica := f.hierarchy(keys.Options{})
		if _, err := replica.UnwrapDEK(ctx, "p1", objs[9].id, objs[9].w); err != nil {
			t.Fatal(err) // the replica now caches version 1
		}
		if err := h.Retire(ctx, "p1", 2); err == nil {
			t.Fatal("retired the current version")
		}
		if err := h.Retire(ctx, "p1", 1); err != nil {
			t.Fatal(err)
		}
		for _, hh := range []*keys.Hierarchy{h, replica} {
			_, err = hh.UnwrapDEK(ctx, "p1", objs[9].id, objs[9].w)
			mustIs(t, err, keys.ErrKeyNotFound, "DEK left under a retired version")
			_, err = hh.Open(ctx, "p1", []byte("webhook/42/token"), sealed)
			mustIs(t, err, keys.ErrKeyNotFound, "value sealed under a retired version")
		}
		for _, o := range objs[:9] {
			if got, err := replica.UnwrapDEK(ctx, "p1", o.id, rewrapped[o.id]); err != nil || !bytes.Equal(got, o.dek) {
				t.Fatalf("rewrapped DEK after retirement: %v", err)
			}
		}
		if got, err := h.Open(ctx, "p1", []byte("webhook/42/token"), resealed); err != nil || string(got) != "s3cr3t" {
			t.Fatalf("resealed value: %q, %v", got, err)
		}
		mustIs(t, h.Retire(ctx, "p1", 1), keys.ErrKeyNotFound, "retiring twice")
	})

	t.Run("RotateToOtherKey", func(t *testing.T) {
		if cfg.OtherKeyURI == "" {
			t.Skip("no second key configured")
		}
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{})
		f.ensure(h, "p1")
		dek, w, err := h.NewDEK(ctx, "p1", "obj")
		if err != nil {
			t.Fatal(err)
		}
		other := keys.KeyRef{Provider: cfg.Provider.ID(), KeyURI: cfg.OtherKeyURI}
		k2, err := h.Rotate(ctx, "p1", other)
		if err != nil || k2.Ref() != other {
			t.Fatalf("Rotate to another key: %+v, %v", k2, err)
		}
		nw, err := h.RewrapDEK(ctx, "p1", "obj", w)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Retire(ctx, "p1", 1); err != nil {
			t.Fatal(err)
		}
		cold := f.hierarchy(keys.Options{})
		if got, err := cold.UnwrapDEK(ctx, "p1", "obj", nw); err != nil || !bytes.Equal(got, dek) {
			t.Fatalf("after moving to another key: %v", err)
		}
		if k3, err := h.Rotate(ctx, "p1", keys.KeyRef{}); err != nil || k3.Ref() != other {
			t.Fatalf("a later rotation left the new key: %+v, %v", k3, err)
		}
	})

	t.Run("Destroy", func(t *testing.T) {
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{})
		replica := f.hierarchy(keys.Options{})
		f.ensure(h, "p1")
		f.ensure(h, "p2")
		_, w, err := h.NewDEK(ctx, "p1", "obj")
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := h.Seal(ctx, "p1", nil, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Rotate(ctx, "p1", keys.KeyRef{}); err != nil {
			t.Fatal(err)
		}
		_, w2, err := h.NewDEK(ctx, "p1", "obj2")
		if err != nil {
			t.Fatal(err)
		}
		_, p2w, err := h.NewDEK(ctx, "p2", "obj")
		if err != nil {
			t.Fatal(err)
		}
		// Warm both replicas' caches.
		for _, hh := range []*keys.Hierarchy{h, replica} {
			if _, err := hh.UnwrapDEK(ctx, "p1", "obj", w); err != nil {
				t.Fatal(err)
			}
			if _, err := hh.UnwrapDEK(ctx, "p1", "obj2", w2); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Destroy(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		for i, hh := range []*keys.Hierarchy{h, replica} {
			what := fmt.Sprintf("replica %d: ", i)
			_, err := hh.UnwrapDEK(ctx, "p1", "obj", w)
			mustIs(t, err, keys.ErrKeyDestroyed, what+"UnwrapDEK version 1")
			_, err = hh.UnwrapDEK(ctx, "p1", "obj2", w2)
			mustIs(t, err, keys.ErrKeyDestroyed, what+"UnwrapDEK version 2")
			_, err = hh.RewrapDEK(ctx, "p1", "obj", w)
			mustIs(t, err, keys.ErrKeyDestroyed, what+"RewrapDEK")
			_, _, err = hh.NewDEK(ctx, "p1", "obj3")
			mustIs(t, err, keys.ErrKeyDestroyed, what+"NewDEK")
			_, err = hh.Open(ctx, "p1", nil, sealed)
			mustIs(t, err, keys.ErrKeyDestroyed, what+"Open")
			_, err = hh.Seal(ctx, "p1", nil, []byte("y"))
			mustIs(t, err, keys.ErrKeyDestroyed, what+"Seal")
			_, err = hh.Rotate(ctx, "p1", keys.KeyRef{})
			mustIs(t, err, keys.ErrKeyDestroyed, what+"Rotate")
			_, err = hh.EnsureKEK(ctx, "p1", f.ref)
			mustIs(t, err, keys.ErrKeyDestroyed, what+"EnsureKEK")
			if _, err := hh.UnwrapDEK(ctx, "p2", "obj", p2w); err != nil {
				t.Fatalf("%sanother owner after destroy: %v", what, err)
			}
		}
		if err := h.Destroy(ctx, "p1"); err != nil {
			t.Fatalf("second destroy: %v", err)
		}
	})

	t.Run("KEKRecordSwap", func(t *testing.T) {
		// A wrapped KEK copied into another owner's or version's record (by
		// someone who can write the database) is refused.
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{})
		a := f.ensure(h, "victim")
		forged := a
		forged.Owner = "attacker"
		if err := f.store.CreateKEK(ctx, forged); err != nil {
			t.Fatal(err)
		}
		_, _, err := h.NewDEK(ctx, "attacker", "obj")
		mustIs(t, err, keys.ErrUnwrap, "another owner's wrapped KEK")
		forged = a
		forged.Version = 2
		if err := f.store.CreateKEK(ctx, forged); err != nil {
			t.Fatal(err)
		}
		_, _, err = h.NewDEK(ctx, "victim", "obj")
		mustIs(t, err, keys.ErrUnwrap, "version 1 replayed as version 2")
	})

	t.Run("SealOpen", func(t *testing.T) {
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{})
		f.ensure(h, "platform")
		ad := []byte("users/42/totp_secret")
		for _, secret := range [][]byte{{}, []byte("JBSWY3DPEHPK3PXP"), bytes.Repeat([]byte{7}, 4096)} {
			sealed, err := h.Seal(ctx, "platform", ad, secret)
			if err != nil {
				t.Fatal(err)
			}
			if len(secret) > 8 && bytes.Contains(sealed, secret) {
				t.Fatal("sealed value holds the secret")
			}
			got, err := h.Open(ctx, "platform", ad, sealed)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Open: %v", err)
			}
			_, err = h.Open(ctx, "platform", []byte("users/43/totp_secret"), sealed)
			mustIs(t, err, keys.ErrUnwrap, "other associated data")
			bad := bytes.Clone(sealed)
			bad[len(bad)-1] ^= 1
			_, err = h.Open(ctx, "platform", ad, bad)
			mustIs(t, err, keys.ErrUnwrap, "tampered sealed value")
		}
		// A sealed 32-byte secret is not a wrapped DEK, nor the reverse.
		sealed, err := h.Seal(ctx, "platform", []byte("obj"), bytes.Repeat([]byte{1}, 32))
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.UnwrapDEK(ctx, "platform", "obj", sealed)
		mustIs(t, err, keys.ErrUnwrap, "sealed value as a DEK")
		_, w, err := h.NewDEK(ctx, "platform", "obj")
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Open(ctx, "platform", []byte("obj"), w)
		mustIs(t, err, keys.ErrUnwrap, "DEK as a sealed value")
	})

	t.Run("Concurrent", func(t *testing.T) {
		f := newFixture(t, cfg)
		h := f.hierarchy(keys.Options{CacheSize: 3})
		replica := f.hierarchy(keys.Options{})
		for i := range 4 {
			f.ensure(h, fmt.Sprint("p", i))
		}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				owner := fmt.Sprint("p", g%4)
				hh := h
				if g%2 == 1 {
					hh = replica
				}
				for i := range 25 {
					id := fmt.Sprint("obj-", g, "-", i)
					dek, w, err := hh.NewDEK(ctx, owner, id)
					if err != nil {
						t.Error(err)
						return
					}
					got, err := hh.UnwrapDEK(ctx, owner, id, w)
					if err != nil || !bytes.Equal(got, dek) {
						t.Errorf("UnwrapDEK: %v", err)
						return
					}
					if _, err := hh.RewrapDEK(ctx, owner, id, w); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for g := range 2 {
			wg.Go(func() {
				for range 3 {
					if _, err := replica.Rotate(ctx, fmt.Sprint("p", g), keys.KeyRef{}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		for i := range 2 {
			l, err := f.store.ListKEKs(ctx, fmt.Sprint("p", i))
			if err != nil || len(l) != 4 {
				t.Fatalf("owner p%d has %d versions after 3 rotations: %v", i, len(l), err)
			}
		}
	})
}
