package keystest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
)

// RunKEKStore is the conformance suite for keys.KEKStore. newStore returns
// an empty store for each subtest.
func RunKEKStore(t *testing.T, newStore func(t *testing.T) keys.KEKStore) {
	ctx := context.Background()
	created := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	kek := func(owner string, v uint32) keys.KEK {
		return keys.KEK{Owner: owner, Version: v, Provider: "local", KeyURI: "local:" + owner,
			Wrapped: []byte{byte(v), 1, 2, 3, 0, 255}, CreatedAt: created}
	}
	is := func(t *testing.T, err, want error, what string) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s: got %v, want %v", what, err, want)
		}
	}

	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		_, err := s.CurrentKEK(ctx, "p1")
		is(t, err, keys.ErrKeyNotFound, "CurrentKEK")
		_, err = s.KEK(ctx, "p1", 1)
		is(t, err, keys.ErrKeyNotFound, "KEK")
		is(t, s.DeleteKEK(ctx, "p1", 1), keys.ErrKeyNotFound, "DeleteKEK")
		if l, err := s.ListKEKs(ctx, "p1"); err != nil || len(l) != 0 {
			t.Fatalf("ListKEKs = %v, %v", l, err)
		}
	})

	t.Run("CreateAndRead", func(t *testing.T) {
		s := newStore(t)
		for v := uint32(1); v <= 3; v++ {
			if err := s.CreateKEK(ctx, kek("p1", v)); err != nil {
				t.Fatal(err)
			}
		}
		is(t, s.CreateKEK(ctx, kek("p1", 2)), keys.ErrVersionExists, "duplicate version")
		got, err := s.KEK(ctx, "p1", 2)
		if err != nil {
			t.Fatal(err)
		}
		want := kek("p1", 2)
		if got.Owner != want.Owner || got.Version != 2 || got.Provider != want.Provider || got.KeyURI != want.KeyURI ||
			!bytes.Equal(got.Wrapped, want.Wrapped) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("KEK = %+v, want %+v", got, want)
		}
		got.Wrapped[0] = 99 // the caller's copy
		if again, _ := s.KEK(ctx, "p1", 2); again.Wrapped[0] != 2 {
			t.Fatal("store shares its bytes with callers")
		}
		if cur, err := s.CurrentKEK(ctx, "p1"); err != nil || cur.Version != 3 {
			t.Fatalf("CurrentKEK = %d, %v", cur.Version, err)
		}
		l, err := s.ListKEKs(ctx, "p1")
		if err != nil || len(l) != 3 || l[0].Version != 1 || l[2].Version != 3 {
			t.Fatalf("ListKEKs = %v, %v", l, err)
		}
		_, err = s.CurrentKEK(ctx, "p2")
		is(t, err, keys.ErrKeyNotFound, "other owner")
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		for v := uint32(1); v <= 2; v++ {
			if err := s.CreateKEK(ctx, kek("p1", v)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteKEK(ctx, "p1", 1); err != nil {
			t.Fatal(err)
		}
		_, err := s.KEK(ctx, "p1", 1)
		is(t, err, keys.ErrKeyNotFound, "deleted version")
		is(t, s.DeleteKEK(ctx, "p1", 1), keys.ErrKeyNotFound, "second delete")
		if l, _ := s.ListKEKs(ctx, "p1"); len(l) != 1 || l[0].Version != 2 {
			t.Fatalf("ListKEKs after delete = %v", l)
		}
	})

	t.Run("Destroy", func(t *testing.T) {
		s := newStore(t)
		for _, owner := range []string{"p1", "p2"} {
			for v := uint32(1); v <= 2; v++ {
				if err := s.CreateKEK(ctx, kek(owner, v)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.DestroyKEKs(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DestroyKEKs(ctx, "p1"); err != nil {
			t.Fatalf("second destroy: %v", err)
		}
		_, err := s.CurrentKEK(ctx, "p1")
		is(t, err, keys.ErrKeyDestroyed, "CurrentKEK")
		_, err = s.KEK(ctx, "p1", 1)
		is(t, err, keys.ErrKeyDestroyed, "KEK")
		_, err = s.ListKEKs(ctx, "p1")
		is(t, err, keys.ErrKeyDestroyed, "ListKEKs")
		is(t, s.DeleteKEK(ctx, "p1", 2), keys.ErrKeyDestroyed, "DeleteKEK")
		is(t, s.CreateKEK(ctx, kek("p1", 3)), keys.ErrKeyDestroyed, "CreateKEK after destroy")
		is(t, s.CreateKEK(ctx, kek("p1", 1)), keys.ErrKeyDestroyed, "CreateKEK of version 1 after destroy")
		if cur, err := s.CurrentKEK(ctx, "p2"); err != nil || cur.Version != 2 {
			t.Fatalf("other owner after destroy: %d, %v", cur.Version, err)
		}
		// An owner with no keys can be destroyed too, and stays destroyed.
		if err := s.DestroyKEKs(ctx, "never-had-keys"); err != nil {
			t.Fatal(err)
		}
		is(t, s.CreateKEK(ctx, kek("never-had-keys", 1)), keys.ErrKeyDestroyed, "create for destroyed owner")
	})
}
