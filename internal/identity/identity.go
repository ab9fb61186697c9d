// Package identity knows who is calling: principals, their credentials and
// the API tokens they sign in for. The first start of a platform creates its
// administrator with a one-time credential; signing in with it yields an API
// token. Every secret is stored only as a hash.
package identity

import (
	"context"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// AdminName is the name of the platform administrator created at bootstrap.
const AdminName = "admin"

// Principal is an identity that can act: a person or a service.
type Principal struct {
	ID            string                `json:"id"`
	Kind          enclave.PrincipalKind `json:"kind"`
	Name          string                `json:"name"`
	DisplayName   string                `json:"display_name"`
	PlatformAdmin bool                  `json:"platform_admin"`
	Disabled      bool                  `json:"disabled"`
	CreatedAt     time.Time             `json:"created_at"`
}

// Credential is a one-time secret that can be exchanged for a token once.
type Credential struct {
	ID          string
	PrincipalID string
	Kind        string
	Hash        []byte
	CreatedAt   time.Time
	UsedAt      *time.Time
}

// Token is an API token. Its secret is shown once, at creation; only its hash is kept.
type Token struct {
	ID          string     `json:"id"`
	PrincipalID string     `json:"principal_id"`
	Name        string     `json:"name"`
	Hash        []byte     `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// Store persists principals, credentials and tokens. Lookups of a missing
// item return not_found.
type Store interface {
	CreatePrincipal(ctx context.Context, p *Principal) error
	GetPrincipal(ctx context.Context, id string) (*Principal, error)
	GetPrincipalByName(ctx context.Context, name string) (*Principal, error)

	CreateCredential(ctx context.Context, c *Credential) error
	// UnusedCredentials returns a principal's credentials of a kind not yet exchanged.
	UnusedCredentials(ctx context.Context, principalID, kind string) ([]*Credential, error)
	// UseCredential marks a credential used; it fails with conflict if it
	// already was, so two concurrent sign-ins cannot both succeed.
	UseCredential(ctx context.Context, id string, at time.Time) error

	CreateToken(ctx context.Context, t *Token) error
	GetTokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// GetTokenWithPrincipal returns a token and its principal in one lookup:
	// it runs on every authenticated request.
	GetTokenWithPrincipal(ctx context.Context, hash []byte) (*Token, *Principal, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
	RevokeToken(ctx context.Context, id string, at time.Time) error
}
