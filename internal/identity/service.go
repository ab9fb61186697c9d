package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Secret prefixes make leaked secrets recognisable to secret scanners, and
// let the CLI tell a one-time credential from a password.
const (
	TokenPrefix        = "enc_"
	BootstrapPrefix    = "encboot_"
	challengePrefix    = "encmfa_"
	ClientSecretPrefix = "encsp_"
	bootstrapKind      = "bootstrap"
)

// Default lifetimes.
const (
	// DefaultTokenTTL is how long the token of a bootstrap credential lives unless configured.
	DefaultTokenTTL = 7 * 24 * time.Hour
	// DefaultSessionTTL is how long a password (and TOTP) sign-in lasts unless configured.
	DefaultSessionTTL = 12 * time.Hour
	// DefaultServiceTokenTTL is how long a service principal's token lasts unless configured.
	DefaultServiceTokenTTL = time.Hour
)

// touchInterval bounds how often a token's last-used time is written, so
// that authentication does not cost a write on every request.
const touchInterval = time.Minute

// Service manages principals and their credentials, signs them in and
// authenticates requests. Callers have been authorized for the route; the
// service validates, keeps the rules (a service principal never signs in
// as a person, a token never grows beyond the one that made it) and writes
// each change with its audit record in one transaction.
type Service struct {
	// Admission runs every create, update and delete through the assigned
	// policies, in the transaction that stores it (policy.Service).
	Admission enclave.Admitter
	Store     Store
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Clock     enclave.Clock
	// TokenTTL is the lifetime of the token a bootstrap credential buys.
	TokenTTL time.Duration
	// SessionTTL is the lifetime of a sign-in session.
	SessionTTL time.Duration
	// ServiceTokenTTL is the lifetime of a service principal's token.
	ServiceTokenTTL time.Duration
	// Argon2 are the password-hashing parameters; zero means DefaultArgon2.
	Argon2 Argon2Params
	// Throttle limits password and code guessing; zero means DefaultThrottle.
	Throttle ThrottlePolicy
	// Issuer names the platform in authenticator apps; empty means "Enclave".
	Issuer string

	hashOnce sync.Once
	hashSem  chan struct{}
	flights  inFlight
}

// newSecret returns a prefixed 256-bit random secret. Secrets of this
// entropy are safe to store as a plain SHA-256; low-entropy passwords get
// argon2id instead (password.go).
func newSecret(prefix string) string {
	return prefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("identity: no randomness: " + err.Error())
	}
	return b
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func ttlOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Bootstrap creates the platform administrator with a one-time credential
// the first time it runs, and does nothing afterwards. show is called with
// the credential inside the transaction, before it commits: if the process
// dies between the two, the next start bootstraps again rather than leaving
// an administrator whose credential nobody saw.
func (s *Service) Bootstrap(ctx context.Context, show func(name, credential string) error) (created bool, err error) {
	ctx = enclave.WithActor(ctx, enclave.SystemActor("bootstrap"))
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, err := s.Store.GetPrincipalByName(ctx, AdminName)
		if err == nil {
			return nil
		}
		if !enclave.IsCode(err, enclave.CodeNotFound) {
			return err
		}
		now := s.Clock.Now()
		p := &Principal{ID: newID(), Kind: enclave.PrincipalUser, Name: AdminName,
			DisplayName: "Platform administrator", PlatformAdmin: true, CreatedAt: now, UpdatedAt: now}
		if err := s.Store.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		secret, err := s.issueCredential(ctx, p)
		if err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, audit.Event{Action: "principal.bootstrap", TargetType: "principal",
			TargetID: p.ID, Details: map[string]any{"name": p.Name, "platform_admin": true}}); err != nil {
			return err
		}
		created = true
		return show(p.Name, secret)
	})
	return created, err
}

func (s *Service) issueCredential(ctx context.Context, p *Principal) (string, error) {
	secret := newSecret(BootstrapPrefix)
	c := &Credential{ID: newID(), PrincipalID: p.ID, Kind: bootstrapKind, Hash: hashSecret(secret), CreatedAt: s.Clock.Now()}
	if err := s.Store.CreateCredential(ctx, c); err != nil {
		return "", err
	}
	return secret, nil
}

// ResetBootstrap issues a new one-time credential for the platform
// administrator and voids any unused one. It is the break-glass path for an
// operator with access to the database who has lost the administrator's
// sign-in: it also removes the administrator's password and second factor
// and revokes every token the administrator holds (whoever lost control of
// the account keeps nothing), so that signing in with the new credential
// leads through the same set-password and enrol-MFA steps as the first
// start.
func (s *Service) ResetBootstrap(ctx context.Context) (string, error) {
	ctx = enclave.WithActor(ctx, enclave.SystemActor("bootstrap-reset"))
	var secret string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Store.GetPrincipalByName(ctx, AdminName)
		if err != nil {
			return err
		}
		old, err := s.Store.UnusedCredentials(ctx, p.ID, bootstrapKind)
		if err != nil {
			return err
		}
		for _, c := range old {
			if err := s.Store.UseCredential(ctx, c.ID, s.Clock.Now()); err != nil {
				return err
			}
		}
		if err := s.Store.DeletePassword(ctx, p.ID); err != nil {
			return err
		}
		if err := s.clearMFA(ctx, p.ID); err != nil {
			return err
		}
		revoked, err := s.Store.RevokePrincipalTokens(ctx, p.ID, nil, "", s.Clock.Now())
		if err != nil {
			return err
		}
		if secret, err = s.issueCredential(ctx, p); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "principal.credential.reset", TargetType: "principal",
			TargetID: p.ID, Details: map[string]any{"name": p.Name, "voided": len(old),
				"password_removed": p.PasswordSet, "mfa_removed": p.MFAEnrolled, "tokens_revoked": revoked}})
	})
	return secret, err
}

func actorFor(ctx context.Context, p *Principal, t *Token, method string) *enclave.Actor {
	m := enclave.RequestMetaFrom(ctx)
	var scopes []string
	if len(t.Scopes) > 0 {
		scopes = append([]string(nil), t.Scopes...)
	}
	return &enclave.Actor{PrincipalID: p.ID, Kind: p.Kind, Name: p.Name, AuthMethod: method, TokenID: t.ID,
		TokenKind: string(t.Kind), TokenScopes: scopes, MFA: t.MFA,
		PlatformAdmin: p.PlatformAdmin, SourceAddr: m.SourceAddr, UserAgent: m.UserAgent, RequestID: m.RequestID}
}

var (
	errBadToken = enclave.Errorf(enclave.CodeUnauthenticated, "the token is invalid, expired or revoked")
	errNoMFA    = enclave.Errorf(enclave.CodeUnauthenticated,
		"this token was issued without MFA, which the platform now requires for people; sign in again with your password and a code")
)

// maxSecretLength bounds any presented secret before it is hashed or looked up.
const maxSecretLength = 256

// Authenticate turns a presented token into the actor it stands for. A
// token stops working the moment it expires or is revoked, or its holder is
// disabled or deleted. While MFA is required for people, a person's token
// issued without MFA works only for enrolment (its scopes say so), so that
// turning the setting on takes effect at once.
func (s *Service) Authenticate(ctx context.Context, secret string) (*enclave.Actor, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return nil, errBadToken
	}
	t, p, err := s.Store.GetTokenWithPrincipal(ctx, hashSecret(secret))
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if !t.Live(now) || !p.active() || (t.Kind == TokenService) != (p.Kind == enclave.PrincipalService) {
		return nil, errBadToken
	}
	if p.IsPerson() && !t.MFA && !enrolmentOnly(t.Scopes) {
		required, err := s.mfaRequired(ctx)
		if err != nil {
			return nil, err
		}
		if required {
			return nil, errNoMFA
		}
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchInterval {
		if err := s.Store.TouchToken(ctx, t.ID, now); err != nil {
			return nil, err
		}
	}
	return actorFor(ctx, p, t, "token"), nil
}

// enrolmentOnly reports whether scopes allow no more than a person without
// MFA may do while it is required: see themselves, enrol, set a first
// password.
func enrolmentOnly(scopes []string) bool {
	if len(scopes) == 0 {
		return false
	}
	for _, sc := range scopes {
		if !slices.Contains(bootstrapEnrollmentScopes, sc) {
			return false
		}
	}
	return true
}

// self returns the principal behind the actor in ctx.
func (s *Service) self(ctx context.Context) (*enclave.Actor, *Principal, error) {
	a := enclave.ActorFrom(ctx)
	if a == nil || a.Kind == enclave.PrincipalSystem {
		return nil, nil, errBadToken
	}
	p, err := s.Store.GetPrincipal(ctx, a.PrincipalID)
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return nil, nil, errBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	if !p.active() {
		return nil, nil, errBadToken
	}
	return a, p, nil
}

// Whoami returns the principal behind the actor in ctx.
func (s *Service) Whoami(ctx context.Context) (*Principal, error) {
	_, p, err := s.self(ctx)
	return p, err
}

// Logout revokes the token the actor in ctx signed in with.
func (s *Service) Logout(ctx context.Context) error {
	a := enclave.ActorFrom(ctx)
	if a == nil || a.TokenID == "" {
		return errBadToken
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		t, err := s.Store.GetToken(ctx, a.TokenID)
		if err != nil {
			return err
		}
		if err := s.revoke(ctx, t); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "auth.logout", TargetType: "token", TargetID: a.TokenID})
	})
}

// issueToken creates a token for p and returns its secret. Every token is
// issued here, through policy admission.
func (s *Service) issueToken(ctx context.Context, p *Principal, t *Token) (string, error) {
	secret := newSecret(TokenPrefix)
	t.ID, t.PrincipalID, t.Hash = newID(), p.ID, hashSecret(secret)
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.Clock.Now()
	}
	if err := s.admitToken(ctx, enclave.OpCreate, t); err != nil {
		return "", err
	}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return secret, nil
}

// revoke revokes the live token t, through policy admission as the
// token's deletion. Tokens revoked together with their holder's account
// (disabled, deleted, password or MFA reset) are part of that change.
func (s *Service) revoke(ctx context.Context, t *Token) error {
	if err := s.admitToken(ctx, enclave.OpDelete, t); err != nil {
		return err
	}
	return s.Store.RevokeToken(ctx, t.ID, s.Clock.Now())
}
