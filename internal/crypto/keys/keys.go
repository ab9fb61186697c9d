// Package keys holds Enclave's key hierarchy: key providers that wrap key
// material under a key they never reveal (a local master key, or a KMS key),
// per-owner key-encryption keys (KEKs) stored only wrapped by a provider, and
// per-object data keys (DEKs) wrapped by the owner's current KEK.
//
// An owner is the scope whose data a KEK protects: a project, or the
// platform itself for small secrets sealed with [Hierarchy.Seal]. Wrapping
// or unwrapping a DEK costs one AES-GCM operation and a lookup in the
// [KEKStore]; the provider (a KMS round trip) is asked only when a KEK
// version is first used or its cache entry has expired.
//
// Rotation adds a KEK version; [Hierarchy.RewrapDEK] moves a wrapped DEK to
// it without touching the data it encrypts, after which the old version can
// be retired. Destruction deletes every version of an owner's KEK, after
// which every DEK it wrapped — and so every object — is unrecoverable.
//
// The package imports no cloud SDK: KMS providers live in the kms package
// and are handed in as [Provider] values.
package keys

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"unicode/utf8"
)

// Provider wraps and unwraps key material under a named key it holds: the
// local master key, or a key in a KMS. Implementations are safe for
// concurrent use and never return or log the key they hold.
type Provider interface {
	// ID is the name the provider is configured under; KEK records name
	// their provider by it.
	ID() string
	// Kind says what the provider is ("local", "kms").
	Kind() string
	// Wrap encrypts plaintext under the key keyURI names. The result must be
	// authenticated: Unwrap refuses anything Wrap did not return.
	Wrap(ctx context.Context, keyURI string, plaintext []byte) ([]byte, error)
	// Unwrap decrypts what Wrap returned for the same keyURI. A wrapped value
	// that does not authenticate is reported as an error wrapping ErrUnwrap
	// where the provider can tell it apart from an outage.
	Unwrap(ctx context.Context, keyURI string, wrapped []byte) ([]byte, error)
}

// KeyRef names a key at a provider: the key that wraps an owner's KEK. A
// zone or project configured with a customer-managed key has a KeyRef
// naming its KMS key; the default is the local keyring.
type KeyRef struct {
	Provider string `json:"provider" yaml:"provider"`
	KeyURI   string `json:"key_uri" yaml:"key_uri"`
}

// IsZero reports whether the reference is empty.
func (r KeyRef) IsZero() bool { return r == KeyRef{} }

// Validate checks that the reference names a provider and a key.
func (r KeyRef) Validate() error {
	if r.Provider == "" {
		return fmt.Errorf("keys: key reference names no provider")
	}
	if r.KeyURI == "" || len(r.KeyURI) > 2048 || !utf8.ValidString(r.KeyURI) {
		return fmt.Errorf("keys: key reference has an empty, oversized or invalid key URI")
	}
	return nil
}

// The errors the hierarchy returns. Callers test them with errors.Is.
var (
	// ErrKeyDestroyed means the owner's keys were destroyed: its data is
	// gone for good.
	ErrKeyDestroyed = errors.New("keys: the owner's keys were destroyed")
	// ErrKeyNotFound means the owner has no KEK, or not the version asked
	// for (it was retired).
	ErrKeyNotFound = errors.New("keys: key not found")
	// ErrVersionExists means a KEK version was created twice (two rotations
	// raced); the loser retries.
	ErrVersionExists = errors.New("keys: key version already exists")
	// ErrUnwrap means wrapped key material or a sealed value did not
	// authenticate: it was modified, or it belongs to another key, owner,
	// object or version.
	ErrUnwrap = errors.New("keys: wrapped key does not authenticate")
	// ErrUnknownProvider means a KEK names a provider that is not
	// configured.
	ErrUnknownProvider = errors.New("keys: unknown key provider")
)

// RedactKeyURI returns a key URI fit for logs, errors and administrators'
// screens: scheme, host and path, without user information or query
// parameters, and without the key of a base64key:// URI (which holds the
// key itself).
func RedactKeyURI(keyURI string) string {
	u, err := url.Parse(keyURI)
	if err != nil {
		return "[unparsable key URI]"
	}
	if u.Scheme == "base64key" {
		return "base64key://[SECRET]"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
