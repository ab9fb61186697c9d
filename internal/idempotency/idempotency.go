// Package idempotency lets a client retry a mutating request safely. The
// first request with a given Idempotency-Key runs; its response is kept and
// replayed to every retry with the same key and the same request, and a
// retry with the same key but a different request is refused.
package idempotency

import (
	"context"
	"time"
)

// TTL is how long a key and its response are kept.
const TTL = 24 * time.Hour

// MaxKeyLength bounds the header's length.
const MaxKeyLength = 255

// Record is a key's request fingerprint and, once the request finished, its response.
type Record struct {
	RequestHash string
	// Status is 0 while the first request is still running.
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

// Store keeps records per principal and key.
type Store interface {
	// Begin claims the key for a new request. It returns nil when the caller
	// now owns the key, or the existing record otherwise. Expired records,
	// and unfinished ones older than stale, are replaced.
	Begin(ctx context.Context, principalID, key, requestHash string, now time.Time, stale time.Duration) (*Record, error)
	// Finish stores the response of the request that owns the key.
	Finish(ctx context.Context, principalID, key string, status int, contentType string, body []byte) error
	// Abandon releases the key so that a retry runs again (after a server error).
	Abandon(ctx context.Context, principalID, key string) error
}
