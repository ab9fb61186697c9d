package identity

import (
	"context"
	"time"
)

// Store persists everything identity knows. Lookups of a missing item return
// not_found; creating a duplicate returns conflict. Every method joins the
// transaction carried by ctx, if any.
type Store interface {
	PrincipalStore
	CredentialStore
	TokenStore
	PasswordStore
	MFAStore
	ChallengeStore
	ThrottleStore
	GroupStore
	ClientSecretStore
	SettingsStore
}

// PrincipalFilter narrows a listing of principals. Deleted principals are
// never listed.
type PrincipalFilter struct {
	Kind        string
	ServiceKind ServiceKind
}

// PrincipalStore persists principals.
type PrincipalStore interface {
	CreatePrincipal(ctx context.Context, p *Principal) error
	// GetPrincipal and GetPrincipalByName return deleted principals too:
	// their names stay taken and their audit records keep meaning.
	GetPrincipal(ctx context.Context, id string) (*Principal, error)
	GetPrincipalByName(ctx context.Context, name string) (*Principal, error)
	// ListPrincipals returns at most limit principals that are not deleted,
	// ordered by name, after the given name.
	ListPrincipals(ctx context.Context, f PrincipalFilter, after string, limit int) ([]*Principal, error)
	// UpdatePrincipal writes display name, email, disabled, deleted_at and updated_at.
	UpdatePrincipal(ctx context.Context, p *Principal) error
}

// CredentialStore persists one-time bootstrap credentials.
type CredentialStore interface {
	CreateCredential(ctx context.Context, c *Credential) error
	// UnusedCredentials returns a principal's credentials of a kind not yet exchanged.
	UnusedCredentials(ctx context.Context, principalID, kind string) ([]*Credential, error)
	// UseCredential marks a credential used; it fails with conflict if it
	// already was, so two concurrent sign-ins cannot both succeed.
	UseCredential(ctx context.Context, id string, at time.Time) error
}

// TokenFilter narrows a listing of a principal's tokens.
type TokenFilter struct {
	Kind TokenKind
	// LiveAt, when set, keeps only tokens neither revoked nor expired at that time.
	LiveAt time.Time
}

// TokenStore persists API tokens.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token) error
	GetToken(ctx context.Context, id string) (*Token, error)
	GetTokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// GetTokenWithPrincipal returns a token and its principal in one lookup:
	// it runs on every authenticated request.
	GetTokenWithPrincipal(ctx context.Context, hash []byte) (*Token, *Principal, error)
	// ListTokens returns at most limit of a principal's tokens, newest first,
	// created before the token with ID before (all when before is empty).
	ListTokens(ctx context.Context, principalID string, f TokenFilter, before string, limit int) ([]*Token, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
	// RevokeToken revokes a live token; not_found if there is none with that ID.
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// RevokePrincipalTokens revokes a principal's unrevoked tokens of the
	// given kinds (every kind when none is given), except the token except,
	// and returns how many it revoked.
	RevokePrincipalTokens(ctx context.Context, principalID string, kinds []TokenKind, except string, at time.Time) (int, error)
}

// PasswordStore persists password hashes (PHC strings).
type PasswordStore interface {
	// GetPasswordHash returns not_found when the principal has no password.
	GetPasswordHash(ctx context.Context, principalID string) (string, error)
	// SetPasswordHash creates or replaces a principal's password hash.
	SetPasswordHash(ctx context.Context, principalID, hash string, at time.Time) error
	DeletePassword(ctx context.Context, principalID string) error
}

// TOTP is a principal's TOTP enrolment. ConfirmedAt is nil until a first
// code proved the authenticator holds the secret.
type TOTP struct {
	PrincipalID string
	Secret      string
	ConfirmedAt *time.Time
	// LastStep is the last time step accepted; a code of that step or an
	// earlier one is refused, so each code works once.
	LastStep  int64
	CreatedAt time.Time
}

// RecoveryCode is a single-use second factor, stored as a hash.
type RecoveryCode struct {
	ID          string
	PrincipalID string
	Hash        []byte
	UsedAt      *time.Time
}

// MFAStore persists TOTP enrolments and recovery codes.
type MFAStore interface {
	GetTOTP(ctx context.Context, principalID string) (*TOTP, error)
	// PutTOTP creates or replaces a principal's enrolment.
	PutTOTP(ctx context.Context, t *TOTP) error
	// ConfirmTOTP marks an unconfirmed enrolment confirmed at step.
	ConfirmTOTP(ctx context.Context, principalID string, step int64, at time.Time) error
	// AdvanceTOTPStep records step as accepted; it fails with conflict when
	// step is not after the last accepted step (a replayed code).
	AdvanceTOTPStep(ctx context.Context, principalID string, step int64) error
	DeleteTOTP(ctx context.Context, principalID string) error
	// ReplaceRecoveryCodes deletes a principal's recovery codes and stores codes.
	ReplaceRecoveryCodes(ctx context.Context, principalID string, codes []*RecoveryCode) error
	// UseRecoveryCode marks the unused code with hash used; not_found when
	// there is none.
	UseRecoveryCode(ctx context.Context, principalID string, hash []byte, at time.Time) error
	// CountRecoveryCodes returns how many unused codes a principal has.
	CountRecoveryCodes(ctx context.Context, principalID string) (int, error)
	DeleteRecoveryCodes(ctx context.Context, principalID string) error
}

// Challenge is the state between the password step and the second factor
// of a sign-in.
type Challenge struct {
	ID          string
	PrincipalID string
	Hash        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      *time.Time
}

// ChallengeStore persists sign-in challenges.
type ChallengeStore interface {
	CreateChallenge(ctx context.Context, c *Challenge) error
	GetChallengeByHash(ctx context.Context, hash []byte) (*Challenge, error)
	// UseChallenge marks a challenge used; conflict if it already was.
	UseChallenge(ctx context.Context, id string, at time.Time) error
}

// Throttle is the failure count behind one throttle key.
type Throttle struct {
	Key         string
	Failures    int
	FirstAt     time.Time
	LockedUntil time.Time
}

// ThrottleStore persists sign-in attempt counts. An attempt is counted
// before it is verified (a reservation), so that concurrent attempts cannot
// all pass a check that only one of them should; one that succeeds is taken
// back afterwards.
type ThrottleStore interface {
	// GetThrottles returns the rows of the keys that have one.
	GetThrottles(ctx context.Context, keys ...string) ([]*Throttle, error)
	// CountSignInAttempt counts one attempt at now: it atomically starts a
	// new window at now when the key has none or its window began before
	// windowStart, else adds one, and returns the row. The row's
	// LockedUntil is the lock as it was before this attempt.
	CountSignInAttempt(ctx context.Context, key string, now, windowStart time.Time) (*Throttle, error)
	// LockSignIn refuses the key until until (keeping a later lock).
	LockSignIn(ctx context.Context, key string, until time.Time) error
	// UncountSignInAttempt takes back one counted attempt: it subtracts one
	// from the count (never below zero) and, when the key is still locked
	// until lockedUntil (the lock that attempt set), puts back restore.
	UncountSignInAttempt(ctx context.Context, key string, lockedUntil, restore time.Time) error
	ResetThrottle(ctx context.Context, key string) error
}

// GroupStore persists groups and their members.
type GroupStore interface {
	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, name string) (*Group, error)
	// ListGroups returns at most limit groups ordered by name, after the given name.
	ListGroups(ctx context.Context, after string, limit int) ([]*Group, error)
	UpdateGroup(ctx context.Context, g *Group) error
	// DeleteGroup deletes a group and its memberships.
	DeleteGroup(ctx context.Context, id string) error
	// AddGroupMember fails with conflict when the principal is a member already.
	AddGroupMember(ctx context.Context, groupID, principalID string, at time.Time) error
	// RemoveGroupMember fails with not_found when the principal is not a member.
	RemoveGroupMember(ctx context.Context, groupID, principalID string) error
	// ListGroupMembers returns at most limit members ordered by name, after the given name.
	ListGroupMembers(ctx context.Context, groupID, after string, limit int) ([]*GroupMember, error)
	// RemovePrincipalFromGroups removes a principal from every group and
	// returns how many memberships it ended.
	RemovePrincipalFromGroups(ctx context.Context, principalID string) (int, error)
}

// ClientSecretStore persists service principals' client secrets.
type ClientSecretStore interface {
	CreateClientSecret(ctx context.Context, c *ClientSecret) error
	GetClientSecret(ctx context.Context, id string) (*ClientSecret, error)
	// GetClientSecretByHash returns a secret and its principal in one lookup.
	GetClientSecretByHash(ctx context.Context, hash []byte) (*ClientSecret, *Principal, error)
	// ListClientSecrets returns a principal's secrets, newest first.
	ListClientSecrets(ctx context.Context, principalID string) ([]*ClientSecret, error)
	TouchClientSecret(ctx context.Context, id string, at time.Time) error
	// RevokeClientSecret revokes an unrevoked secret; not_found if there is none.
	RevokeClientSecret(ctx context.Context, id string, at time.Time) error
	// RevokePrincipalClientSecrets revokes every unrevoked secret of a principal.
	RevokePrincipalClientSecrets(ctx context.Context, principalID string, at time.Time) (int, error)
}

// Setting is one stored platform setting; Value is JSON.
type Setting struct {
	Name      string
	Value     string
	UpdatedAt time.Time
	UpdatedBy string
}

// SettingsStore persists platform settings.
type SettingsStore interface {
	// GetSetting returns not_found for a setting never written.
	GetSetting(ctx context.Context, name string) (*Setting, error)
	PutSetting(ctx context.Context, s *Setting) error
}
