// Package keystest is the conformance suite for key providers and KEK
// stores: RunProvider exercises a keys.Provider on its own and as the root of
// a keys.Hierarchy, RunKEKStore exercises a keys.KEKStore. It also holds
// MemStore, the in-memory KEKStore the suites and other tests use.
package keystest

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
)

// MemStore is an in-memory keys.KEKStore.
type MemStore struct {
	mu        sync.Mutex
	keks      map[string]map[uint32]keys.KEK
	destroyed map[string]bool
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{keks: map[string]map[uint32]keys.KEK{}, destroyed: map[string]bool{}}
}

var _ keys.KEKStore = (*MemStore)(nil)

func clone(k keys.KEK) keys.KEK {
	k.Wrapped = slices.Clone(k.Wrapped)
	return k
}

// CreateKEK implements keys.KEKStore.
func (s *MemStore) CreateKEK(_ context.Context, k keys.KEK) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed[k.Owner] {
		return keys.ErrKeyDestroyed
	}
	vs := s.keks[k.Owner]
	if vs == nil {
		vs = map[uint32]keys.KEK{}
		s.keks[k.Owner] = vs
	}
	if _, ok := vs[k.Version]; ok {
		return keys.ErrVersionExists
	}
	vs[k.Version] = clone(k)
	return nil
}

// KEK implements keys.KEKStore.
func (s *MemStore) KEK(_ context.Context, owner string, version uint32) (keys.KEK, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed[owner] {
		return keys.KEK{}, keys.ErrKeyDestroyed
	}
	k, ok := s.keks[owner][version]
	if !ok {
		return keys.KEK{}, keys.ErrKeyNotFound
	}
	return clone(k), nil
}

// CurrentKEK implements keys.KEKStore.
func (s *MemStore) CurrentKEK(_ context.Context, owner string) (keys.KEK, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed[owner] {
		return keys.KEK{}, keys.ErrKeyDestroyed
	}
	var cur keys.KEK
	for v, k := range s.keks[owner] {
		if v > cur.Version {
			cur = k
		}
	}
	if cur.Version == 0 {
		return keys.KEK{}, keys.ErrKeyNotFound
	}
	return clone(cur), nil
}

// ListKEKs implements keys.KEKStore.
func (s *MemStore) ListKEKs(_ context.Context, owner string) ([]keys.KEK, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed[owner] {
		return nil, keys.ErrKeyDestroyed
	}
	var out []keys.KEK
	for _, k := range s.keks[owner] {
		out = append(out, clone(k))
	}
	slices.SortFunc(out, func(a, b keys.KEK) int { return cmp.Compare(a.Version, b.Version) })
	return out, nil
}

// DeleteKEK implements keys.KEKStore.
func (s *MemStore) DeleteKEK(_ context.Context, owner string, version uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed[owner] {
		return keys.ErrKeyDestroyed
	}
	if _, ok := s.keks[owner][version]; !ok {
		return keys.ErrKeyNotFound
	}
	delete(s.keks[owner], version)
	return nil
}

// DestroyKEKs implements keys.KEKStore.
func (s *MemStore) DestroyKEKs(_ context.Context, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v, k := range s.keks[owner] {
		clear(k.Wrapped)
		delete(s.keks[owner], v)
	}
	delete(s.keks, owner)
	s.destroyed[owner] = true
	return nil
}
