// Package buckets opens the blob store of each storage location — the
// platform's default and any zone configured with its own — and adapts it
// to what the objects service needs.
package buckets

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/enclave-ml/enclave/internal/blobstore"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
)

// Default names the platform's default storage location.
const Default = "default"

// Set holds the open buckets by name. It is safe for concurrent use.
type Set struct {
	urls map[string]string
	mu   sync.Mutex
	open map[string]*blobstore.Store
}

var _ objects.Buckets = (*Set)(nil)

// New returns a Set over URLs by location name; "default" must be among them.
// Buckets are opened on first use.
func New(urls map[string]string) (*Set, error) {
	if urls[Default] == "" {
		return nil, fmt.Errorf("buckets: no default storage location")
	}
	return &Set{urls: urls, open: map[string]*blobstore.Store{}}, nil
}

// Names returns the configured location names, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.urls))
	for n := range s.urls {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Has reports whether a location is configured.
func (s *Set) Has(name string) bool { return s.urls[name] != "" }

// Store returns the blob store of a location, opening it on first use.
func (s *Set) Store(ctx context.Context, name string) (*blobstore.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.open[name]; ok {
		return st, nil
	}
	url, ok := s.urls[name]
	if !ok {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "no storage location %q is configured", name)
	}
	st, err := blobstore.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("storage location %q: %w", name, err)
	}
	s.open[name] = st
	return st, nil
}

// Bucket implements objects.Buckets.
func (s *Set) Bucket(name string) (objects.Bucket, error) {
	st, err := s.Store(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return bucket{st}, nil
}

// Close closes every open bucket.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for n, st := range s.open {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(s.open, n)
	}
	return first
}

type bucket struct{ s *blobstore.Store }

func (b bucket) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	return b.s.Put(ctx, key, r, blobstore.PutOptions{ContentType: "application/octet-stream", IfNotExist: true})
}

func (b bucket) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	return b.s.NewRangeReader(ctx, key, offset, length)
}

func (b bucket) Delete(ctx context.Context, key string) error { return b.s.Delete(ctx, key) }

func (b bucket) SetTier(ctx context.Context, key, tier string) error {
	return b.s.SetTier(ctx, key, blobstore.Tier(tier))
}
