package keystest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
)

// ProviderConfig names the provider under test and keys it may use.
type ProviderConfig struct {
	Provider keys.Provider
	// KeyURI names a key the provider can wrap with.
	KeyURI string
	// OtherKeyURI names a second, different key. If empty, the cases that
	// need two keys are skipped.
	OtherKeyURI string
	// StrictErrors says the provider reports a wrapped value that does not
	// authenticate as keys.ErrUnwrap (the local keyring does; a KMS reports
	// its own errors).
	StrictErrors bool
}

// RunProvider is the conformance suite for a key provider: the Provider
// contract itself, then the whole key hierarchy rooted in it.
func RunProvider(t *testing.T, cfg ProviderConfig) {
	p := cfg.Provider
	ctx := context.Background()
	failed := func(t *testing.T, err error, what string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: unwrapped without error", what)
		}
		if cfg.StrictErrors && !errors.Is(err, keys.ErrUnwrap) {
			t.Fatalf("%s: got %v, want ErrUnwrap", what, err)
		}
	}

	t.Run("Identity", func(t *testing.T) {
		if p.ID() == "" || p.Kind() == "" {
			t.Fatalf("ID %q, Kind %q", p.ID(), p.Kind())
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		for _, n := range []int{1, 32, 64} {
			plain := bytes.Repeat([]byte{byte(n)}, n)
			w1, err := p.Wrap(ctx, cfg.KeyURI, plain)
			if err != nil {
				t.Fatal(err)
			}
			w2, err := p.Wrap(ctx, cfg.KeyURI, plain)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(w1, w2) {
				t.Fatal("two wraps of the same key are equal: wrapping is not randomized")
			}
			if bytes.Contains(w1, plain) && n >= 32 {
				t.Fatal("wrapped value contains the plaintext")
			}
			for _, w := range [][]byte{w1, w2} {
				got, err := p.Unwrap(ctx, cfg.KeyURI, w)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("Unwrap: %v", err)
				}
			}
		}
	})

	t.Run("WrongKey", func(t *testing.T) {
		if cfg.OtherKeyURI == "" {
			t.Skip("no second key configured")
		}
		w, err := p.Wrap(ctx, cfg.KeyURI, []byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Unwrap(ctx, cfg.OtherKeyURI, w)
		failed(t, err, "unwrap under another key")
	})

	t.Run("Tampered", func(t *testing.T) {
		w, err := p.Wrap(ctx, cfg.KeyURI, []byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		cases := map[string][]byte{
			"empty":     {},
			"truncated": w[:len(w)-1],
			"extended":  append(bytes.Clone(w), 0),
		}
		for _, i := range []int{0, len(w) / 2, len(w) - 1} {
			bad := bytes.Clone(w)
			bad[i] ^= 0x01
			cases[fmt.Sprintf("flip byte %d", i)] = bad
		}
		for name, bad := range cases {
			_, err := p.Unwrap(ctx, cfg.KeyURI, bad)
			failed(t, err, name)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 10 {
					plain := []byte(fmt.Sprintf("goroutine %d round %d", g, i))
					w, err := p.Wrap(ctx, cfg.KeyURI, plain)
					if err != nil {
						t.Error(err)
						return
					}
					got, err := p.Unwrap(ctx, cfg.KeyURI, w)
					if err != nil || !bytes.Equal(got, plain) {
						t.Errorf("Unwrap: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
	})

	t.Run("Hierarchy", func(t *testing.T) { runHierarchy(t, cfg) })
}
