// Package identity knows who is calling: people (users) and service
// principals, the groups they belong to, and every way they prove who they
// are — passwords (argon2id), TOTP second factors with recovery codes,
// one-time bootstrap credentials, client secrets, sign-in sessions and
// personal access tokens. It throttles guessing per account and per source
// address, and records every sign-in and every change as an audit event in
// the transaction of the change. Every secret is stored only as a hash.
package identity

import (
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// AdminName is the name of the platform administrator created at bootstrap.
const AdminName = "admin"

// Principal is an identity that can act: a person (kind user) or a service
// principal (kind service, with a ServiceKind).
type Principal struct {
	ID            string                `json:"id"`
	Kind          enclave.PrincipalKind `json:"kind"`
	Name          string                `json:"name"`
	DisplayName   string                `json:"display_name"`
	Email         string                `json:"email,omitempty"`
	ServiceKind   ServiceKind           `json:"service_kind,omitempty"`
	PlatformAdmin bool                  `json:"platform_admin"`
	Disabled      bool                  `json:"disabled"`
	// PasswordSet and MFAEnrolled describe a person's sign-in factors.
	PasswordSet bool       `json:"password_set"`
	MFAEnrolled bool       `json:"mfa_enrolled"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeletedAt   *time.Time `json:"deleted_at,omitempty"`
}

// IsPerson reports whether p is a human user.
func (p *Principal) IsPerson() bool { return p.Kind == enclave.PrincipalUser }

// active reports whether p may sign in and act.
func (p *Principal) active() bool { return !p.Disabled && p.DeletedAt == nil }

// Credential is a one-time secret that can be exchanged for a token once.
type Credential struct {
	ID          string
	PrincipalID string
	Kind        string
	Hash        []byte
	CreatedAt   time.Time
	UsedAt      *time.Time
}

// TokenKind says how a token was obtained.
type TokenKind string

// The kinds of token.
const (
	// TokenLogin comes from exchanging the one-time bootstrap credential.
	TokenLogin TokenKind = "login"
	// TokenSession comes from a password (and TOTP) sign-in; it is short-lived.
	TokenSession TokenKind = "session"
	// TokenPAT is a personal access token a person created for scripts.
	TokenPAT TokenKind = "pat"
	// TokenService comes from a service principal's client secret.
	TokenService TokenKind = "service"
)

// Token is an API token. Its secret is shown once, at creation; only its hash is kept.
type Token struct {
	ID          string    `json:"id"`
	PrincipalID string    `json:"principal_id"`
	Name        string    `json:"name"`
	Kind        TokenKind `json:"kind"`
	// Scopes limit the token to these permission patterns; empty means all
	// of its holder's permissions.
	Scopes []string `json:"scopes,omitempty"`
	// MFA says whether the sign-in behind the token used a second factor.
	MFA        bool       `json:"mfa"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Live reports whether t can still be used at now.
func (t *Token) Live(now time.Time) bool { return t.RevokedAt == nil && now.Before(t.ExpiresAt) }
