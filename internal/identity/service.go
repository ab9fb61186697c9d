package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Secret prefixes make leaked secrets recognisable to secret scanners.
const (
	TokenPrefix     = "enc_"
	bootstrapPrefix = "encboot_"
	bootstrapKind   = "bootstrap"
)

// DefaultTokenTTL is how long a signed-in token lives unless configured.
const DefaultTokenTTL = 7 * 24 * time.Hour

// touchInterval bounds how often a token's last-used time is written, so
// that authentication does not cost a write on every request.
const touchInterval = time.Minute

// Service signs principals in and authenticates requests.
type Service struct {
	Store    Store
	Tx       enclave.Transactor
	Audit    *audit.Recorder
	Clock    enclave.Clock
	TokenTTL time.Duration
}

// newSecret returns a prefixed 256-bit random secret. Secrets of this
// entropy are safe to store as a plain SHA-256; low-entropy passwords will
// need a slow hash.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("identity: no randomness: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

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
			DisplayName: "Platform administrator", PlatformAdmin: true, CreatedAt: now}
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
	secret := newSecret(bootstrapPrefix)
	c := &Credential{ID: newID(), PrincipalID: p.ID, Kind: bootstrapKind, Hash: hashSecret(secret), CreatedAt: s.Clock.Now()}
	if err := s.Store.CreateCredential(ctx, c); err != nil {
		return "", err
	}
	return secret, nil
}

// ResetBootstrap issues a new one-time credential for the platform
// administrator and voids any unused one. It is the break-glass path for an
// operator with access to the database who has lost the administrator's token.
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
		if secret, err = s.issueCredential(ctx, p); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "principal.credential.reset", TargetType: "principal",
			TargetID: p.ID, Details: map[string]any{"name": p.Name, "voided": len(old)}})
	})
	return secret, err
}

// LoginResult is what a successful sign-in returns. Secret is shown once.
type LoginResult struct {
	Secret    string     `json:"token"`
	Token     *Token     `json:"token_info"`
	Principal *Principal `json:"principal"`
}

var errBadLogin = enclave.Errorf(enclave.CodeUnauthenticated, "invalid name or credential")

// Login exchanges a one-time credential for an API token. Every attempt is
// audited, failures included; a failure never says which part was wrong.
func (s *Service) Login(ctx context.Context, name, credential string) (*LoginResult, error) {
	var res *LoginResult
	reason := ""
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, c, why, err := s.checkCredential(ctx, name, credential)
		if err != nil {
			return err
		}
		if why != "" {
			reason = why
			return errBadLogin
		}
		now := s.Clock.Now()
		if err := s.Store.UseCredential(ctx, c.ID, now); err != nil {
			if enclave.IsCode(err, enclave.CodeConflict) {
				reason = "credential already used"
				return errBadLogin
			}
			return err
		}
		secret := newSecret(TokenPrefix)
		ttl := s.TokenTTL
		if ttl <= 0 {
			ttl = DefaultTokenTTL
		}
		t := &Token{ID: newID(), PrincipalID: p.ID, Name: "login", Hash: hashSecret(secret), CreatedAt: now, ExpiresAt: now.Add(ttl)}
		if err := s.Store.CreateToken(ctx, t); err != nil {
			return err
		}
		actx := enclave.WithActor(ctx, actorFor(p, t, "bootstrap-credential", ctx))
		if err := s.Audit.Record(actx, audit.Event{Action: "auth.login", TargetType: "token", TargetID: t.ID,
			Details: map[string]any{"method": "bootstrap-credential", "expires_at": t.ExpiresAt}}); err != nil {
			return err
		}
		res = &LoginResult{Secret: secret, Token: t, Principal: p}
		return nil
	})
	if err == errBadLogin {
		// The failure is recorded in a transaction of its own: the sign-in did not happen, its attempt did.
		if aerr := s.Tx.InTx(ctx, func(ctx context.Context) error {
			return s.Audit.Record(ctx, audit.Event{Action: "auth.login", TargetType: "principal",
				Outcome: audit.Failed, Reason: reason, Details: map[string]any{"name": truncate(name, 64)}})
		}); aerr != nil {
			return nil, aerr
		}
	}
	return res, err
}

func (s *Service) checkCredential(ctx context.Context, name, credential string) (*Principal, *Credential, string, error) {
	if name == "" || credential == "" || len(name) > 256 || len(credential) > 256 {
		return nil, nil, "malformed", nil
	}
	p, err := s.Store.GetPrincipalByName(ctx, name)
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return nil, nil, "unknown principal", nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	if p.Disabled {
		return nil, nil, "principal disabled", nil
	}
	creds, err := s.Store.UnusedCredentials(ctx, p.ID, bootstrapKind)
	if err != nil {
		return nil, nil, "", err
	}
	h := hashSecret(credential)
	for _, c := range creds {
		if subtle.ConstantTimeCompare(c.Hash, h) == 1 {
			return p, c, "", nil
		}
	}
	return nil, nil, "wrong or used credential", nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func actorFor(p *Principal, t *Token, method string, ctx context.Context) *enclave.Actor {
	m := enclave.RequestMetaFrom(ctx)
	return &enclave.Actor{PrincipalID: p.ID, Kind: p.Kind, Name: p.Name, AuthMethod: method, TokenID: t.ID,
		PlatformAdmin: p.PlatformAdmin, SourceAddr: m.SourceAddr, UserAgent: m.UserAgent, RequestID: m.RequestID}
}

var errBadToken = enclave.Errorf(enclave.CodeUnauthenticated, "the token is invalid, expired or revoked")

// Authenticate turns a presented token into the actor it stands for.
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
	if t.RevokedAt != nil || !now.Before(t.ExpiresAt) || p.Disabled {
		return nil, errBadToken
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchInterval {
		if err := s.Store.TouchToken(ctx, t.ID, now); err != nil {
			return nil, err
		}
	}
	return actorFor(p, t, "token", ctx), nil
}

// Whoami returns the principal behind the actor in ctx.
func (s *Service) Whoami(ctx context.Context) (*Principal, error) {
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return nil, errBadToken
	}
	return s.Store.GetPrincipal(ctx, a.PrincipalID)
}

// Logout revokes the token the actor in ctx signed in with.
func (s *Service) Logout(ctx context.Context) error {
	a := enclave.ActorFrom(ctx)
	if a == nil || a.TokenID == "" {
		return errBadToken
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.RevokeToken(ctx, a.TokenID, s.Clock.Now()); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "auth.logout", TargetType: "token", TargetID: a.TokenID})
	})
}
