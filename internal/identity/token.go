package identity

import (
	"context"
	"slices"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Personal access token lifetimes and limits.
const (
	DefaultPATDays = 30
	MaxPATDays     = 365
	MaxTokenScopes = 50
	// MaxLivePATs bounds a person's unrevoked, unexpired personal access tokens.
	MaxLivePATs = 50
)

// TokenCreate is the input that creates a personal access token.
type TokenCreate struct {
	Name string `json:"name"`
	// ExpiresInDays defaults to 30 and may be at most 365.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
	// Scopes are permission patterns ("zones/read", "datasets/*") the token
	// is limited to; empty means all of its holder's permissions (or, when
	// it is created with a limited token, that token's scopes).
	Scopes []string `json:"scopes,omitempty"`
}

// Validate checks a token creation request.
func (c *TokenCreate) Validate() error {
	if c.Name == "" {
		return enclave.FieldError("name", "name is required: say what the token is for")
	}
	if err := enclave.ValidateText("name", c.Name, 100); err != nil {
		return err
	}
	if len(c.Scopes) > MaxTokenScopes {
		return enclave.FieldError("scopes", "at most %d scopes are allowed", MaxTokenScopes)
	}
	for _, sc := range c.Scopes {
		if p := access.Permission(sc); !p.Valid() || p == access.Authenticated {
			return enclave.FieldError("scopes", "scope %q is not a permission pattern such as zones/read or datasets/*", enclave.Truncate(sc, 100))
		}
	}
	return nil
}

// IssuedToken is a new token: Secret is shown only now.
type IssuedToken struct {
	Secret string `json:"token"`
	Token  *Token `json:"token_info"`
}

// TokenListFilter narrows a token listing.
type TokenListFilter struct {
	// IncludeInactive lists revoked and expired tokens too.
	IncludeInactive bool
	Kind            TokenKind
}

// CreateToken creates a personal access token for the calling person. Only
// a session — an interactive sign-in, with MFA while MFA is required for
// people — makes one: never a personal access token (which could otherwise
// renew itself for ever, each copy outliving the last), a bootstrap login
// token or a service token. A token made with a limited session is limited
// at least as much: it cannot grant itself more than the session that made
// it.
func (s *Service) CreateToken(ctx context.Context, in TokenCreate) (*IssuedToken, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	days, err := expiryDays(in.ExpiresInDays, DefaultPATDays, MaxPATDays)
	if err != nil {
		return nil, err
	}
	a, p, err := s.self(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsPerson() {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "personal access tokens are for people; service principals use client secrets")
	}
	if err := s.mayMakePAT(ctx, a); err != nil {
		return nil, err
	}
	scopes := dedupe(in.Scopes)
	if a.TokenScopes != nil {
		if len(scopes) == 0 {
			scopes = append([]string(nil), a.TokenScopes...)
		}
		for _, sc := range scopes {
			if !covered(a.TokenScopes, sc) {
				return nil, enclave.FieldError("scopes", "scope %s exceeds the scopes of the token making this one", sc)
			}
		}
	}
	var out *IssuedToken
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now()
		live, err := s.Store.ListTokens(ctx, p.ID, TokenFilter{Kind: TokenPAT, LiveAt: now}, "", MaxLivePATs+1)
		if err != nil {
			return err
		}
		if len(live) >= MaxLivePATs {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "you already have %d live personal access tokens; revoke some first", len(live))
		}
		t := &Token{Name: in.Name, Kind: TokenPAT, Scopes: scopes, MFA: a.MFA, CreatedAt: now, ExpiresAt: now.AddDate(0, 0, days)}
		secret, err := s.issueToken(ctx, p, t)
		if err != nil {
			return err
		}
		out = &IssuedToken{Secret: secret, Token: t}
		return s.Audit.Record(ctx, audit.Event{Action: "token.create", TargetType: "token", TargetID: t.ID,
			Details: map[string]any{"name": t.Name, "kind": t.Kind, "scopes": t.Scopes, "expires_at": t.ExpiresAt}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mayMakePAT refuses to make a personal access token with anything but a
// session, or with a session signed in without MFA while MFA is required.
func (s *Service) mayMakePAT(ctx context.Context, a *enclave.Actor) error {
	if a.TokenKind != string(TokenSession) {
		return enclave.Errorf(enclave.CodePermissionDenied,
			"personal access tokens are made only from a sign-in session (enclave login), not with a %s token", tokenKindWord(a.TokenKind))
	}
	if a.MFA {
		return nil
	}
	required, err := s.mfaRequired(ctx)
	if err != nil {
		return err
	}
	if required {
		return enclave.Errorf(enclave.CodePermissionDenied,
			"personal access tokens are made only from a session signed in with MFA; sign in with your password and code")
	}
	return nil
}

func tokenKindWord(k string) string {
	switch TokenKind(k) {
	case TokenPAT:
		return "personal access"
	case TokenLogin:
		return "bootstrap login"
	case "":
		return "non-session"
	}
	return k
}

// covered reports whether one of the granted patterns covers pattern.
func covered(granted []string, pattern string) bool {
	for _, g := range granted {
		if access.Matches(access.Permission(g), access.Permission(pattern)) {
			return true
		}
	}
	return false
}

func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ListTokens returns one page of the calling principal's tokens, newest first.
func (s *Service) ListTokens(ctx context.Context, f TokenListFilter, page enclave.Page) ([]*Token, string, error) {
	_, p, err := s.self(ctx)
	if err != nil {
		return nil, "", err
	}
	return s.listTokens(ctx, p, f, page)
}

// ListUserTokens returns one page of a user's tokens, newest first, for an administrator.
func (s *Service) ListUserTokens(ctx context.Context, user string, f TokenListFilter, page enclave.Page) ([]*Token, string, error) {
	p, err := s.liveUser(ctx, user)
	if err != nil {
		return nil, "", err
	}
	return s.listTokens(ctx, p, f, page)
}

func (s *Service) listTokens(ctx context.Context, p *Principal, f TokenListFilter, page enclave.Page) ([]*Token, string, error) {
	if f.Kind != "" && f.Kind != TokenLogin && f.Kind != TokenSession && f.Kind != TokenPAT && f.Kind != TokenService {
		return nil, "", enclave.FieldError("kind", "kind must be one of login, session, pat, service")
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	tf := TokenFilter{Kind: f.Kind}
	if !f.IncludeInactive {
		tf.LiveAt = s.Clock.Now()
	}
	ts, err := s.Store.ListTokens(ctx, p.ID, tf, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	ts, next := enclave.PageOf(ts, page.Size, func(t *Token) string { return t.ID })
	return ts, next, nil
}

// RevokeToken revokes one of the calling principal's tokens.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	_, p, err := s.self(ctx)
	if err != nil {
		return err
	}
	return s.revokeToken(ctx, p, id, "self")
}

// RevokeUserToken revokes one of a user's tokens, for an administrator.
func (s *Service) RevokeUserToken(ctx context.Context, user, id string) error {
	p, err := s.liveUser(ctx, user)
	if err != nil {
		return err
	}
	return s.revokeToken(ctx, p, id, "admin")
}

func (s *Service) revokeToken(ctx context.Context, p *Principal, id, by string) error {
	if _, err := uuid.Parse(id); err != nil {
		return enclave.Errorf(enclave.CodeNotFound, "token %s not found", enclave.Truncate(id, 64))
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		t, err := s.Store.GetToken(ctx, id)
		if enclave.IsCode(err, enclave.CodeNotFound) || (err == nil && t.PrincipalID != p.ID) {
			return enclave.Errorf(enclave.CodeNotFound, "token %s of %s not found", id, p.Name)
		}
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "token %s is already revoked", id)
		}
		if err := s.revoke(ctx, t); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "token.revoke", TargetType: "token", TargetID: t.ID,
			Details: map[string]any{"name": t.Name, "kind": t.Kind, "holder": p.Name, "by": by}})
	})
}
