package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/enclave-ml/enclave/internal/identity"
)

const tokenCols = `t.id, t.principal_id, t.name, t.kind, t.scopes, t.mfa, t.hash, t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

func scopesJSON(scopes []string) string {
	if len(scopes) == 0 {
		return ""
	}
	b, _ := json.Marshal(scopes)
	return string(b)
}

func parseScopes(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

// tokenDest holds the scan targets of tokenCols.
type tokenDest struct {
	t                identity.Token
	scopes           string
	created, expires int64
	used, revoked    sql.NullInt64
}

func (d *tokenDest) targets() []any {
	return []any{&d.t.ID, &d.t.PrincipalID, &d.t.Name, &d.t.Kind, &d.scopes, &d.t.MFA, &d.t.Hash,
		&d.created, &d.expires, &d.used, &d.revoked}
}

func (d *tokenDest) token() (*identity.Token, error) {
	var err error
	if d.t.Scopes, err = parseScopes(d.scopes); err != nil {
		return nil, err
	}
	d.t.CreatedAt, d.t.ExpiresAt = fromMicros(d.created), fromMicros(d.expires)
	d.t.LastUsedAt, d.t.RevokedAt = fromNullMicros(d.used), fromNullMicros(d.revoked)
	return &d.t, nil
}

func scanToken(r scanner) (*identity.Token, error) {
	var d tokenDest
	if err := r.Scan(d.targets()...); err != nil {
		return nil, err
	}
	return d.token()
}

// CreateToken implements identity.Store.
func (s *IdentityStore) CreateToken(ctx context.Context, t *identity.Token) error {
	kind := t.Kind
	if kind == "" {
		kind = identity.TokenLogin
	}
	_, err := s.DB.exec(ctx, `INSERT INTO tokens (id, principal_id, name, kind, scopes, mfa, hash, created_at, expires_at,
		last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.PrincipalID, t.Name, kind, scopesJSON(t.Scopes), t.MFA, t.Hash, micros(t.CreatedAt), micros(t.ExpiresAt),
		nullMicros(t.LastUsedAt), nullMicros(t.RevokedAt))
	return s.DB.translate(err, "token")
}

// GetToken implements identity.Store.
func (s *IdentityStore) GetToken(ctx context.Context, id string) (*identity.Token, error) {
	t, err := scanToken(s.DB.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens t WHERE t.id = ?`, id))
	return t, s.DB.translate(err, "token")
}

// GetTokenByHash implements identity.Store.
func (s *IdentityStore) GetTokenByHash(ctx context.Context, hash []byte) (*identity.Token, error) {
	t, err := scanToken(s.DB.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens t WHERE t.hash = ?`, hash))
	return t, s.DB.translate(err, "token")
}

// GetTokenWithPrincipal implements identity.Store. It leaves the
// principal's PasswordSet and MFAEnrolled unset: authentication needs
// neither, and it runs on every request.
func (s *IdentityStore) GetTokenWithPrincipal(ctx context.Context, hash []byte) (*identity.Token, *identity.Principal, error) {
	var d tokenDest
	var p identity.Principal
	var pcreated, pupdated int64
	var pdeleted sql.NullInt64
	err := s.DB.queryRow(ctx, `SELECT `+tokenCols+`,
		p.id, p.kind, p.name, p.display_name, p.email, p.service_kind, p.platform_admin, p.disabled, p.created_at, p.updated_at, p.deleted_at
		FROM tokens t JOIN principals p ON p.id = t.principal_id WHERE t.hash = ?`, hash).Scan(append(d.targets(),
		&p.ID, &p.Kind, &p.Name, &p.DisplayName, &p.Email, &p.ServiceKind, &p.PlatformAdmin, &p.Disabled, &pcreated, &pupdated, &pdeleted)...)
	if err != nil {
		return nil, nil, s.DB.translate(err, "token")
	}
	t, err := d.token()
	if err != nil {
		return nil, nil, s.DB.translate(err, "token")
	}
	p.CreatedAt, p.UpdatedAt, p.DeletedAt = fromMicros(pcreated), fromMicros(pupdated), fromNullMicros(pdeleted)
	return t, &p, nil
}

// ListTokens implements identity.Store.
func (s *IdentityStore) ListTokens(ctx context.Context, principalID string, f identity.TokenFilter, before string, limit int) ([]*identity.Token, error) {
	var live int64
	if !f.LiveAt.IsZero() {
		live = micros(f.LiveAt)
	}
	rows, err := s.DB.query(ctx, `SELECT `+tokenCols+` FROM tokens t
		WHERE t.principal_id = ? AND (? = '' OR t.id < ?) AND (? = '' OR t.kind = ?)
		AND (? OR (t.revoked_at IS NULL AND t.expires_at > ?))
		ORDER BY t.id DESC LIMIT ?`, principalID, before, before, string(f.Kind), string(f.Kind), f.LiveAt.IsZero(), live, limit)
	if err != nil {
		return nil, s.DB.translate(err, "tokens")
	}
	return collect(rows, scanToken, s.DB, "tokens")
}

// TouchToken implements identity.Store.
func (s *IdentityStore) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.DB.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, micros(at), id)
	return s.DB.translate(err, "token")
}

// RevokeToken implements identity.Store.
func (s *IdentityStore) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(at), id)
	return one(res, err, s.DB, "token")
}

// RevokePrincipalTokens implements identity.Store.
func (s *IdentityStore) RevokePrincipalTokens(ctx context.Context, principalID string, kinds []identity.TokenKind, except string, at time.Time) (int, error) {
	q := `UPDATE tokens SET revoked_at = ? WHERE principal_id = ? AND revoked_at IS NULL AND id <> ?`
	args := []any{micros(at), principalID, except}
	if len(kinds) > 0 {
		q += ` AND kind IN (` + placeholders(len(kinds)) + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	res, err := s.DB.exec(ctx, q, args...)
	return affected(res, err, s.DB, "tokens")
}
