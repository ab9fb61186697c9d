package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// IdentityStore implements identity.Store.
type IdentityStore struct{ DB *DB }

var _ identity.Store = (*IdentityStore)(nil)

const principalCols = `id, kind, name, display_name, platform_admin, disabled, created_at`

func scanPrincipal(r scanner) (*identity.Principal, error) {
	var p identity.Principal
	var created int64
	if err := r.Scan(&p.ID, &p.Kind, &p.Name, &p.DisplayName, &p.PlatformAdmin, &p.Disabled, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// CreatePrincipal implements identity.Store.
func (s *IdentityStore) CreatePrincipal(ctx context.Context, p *identity.Principal) error {
	_, err := s.DB.exec(ctx, `INSERT INTO principals (`+principalCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Kind, p.Name, p.DisplayName, p.PlatformAdmin, p.Disabled, micros(p.CreatedAt))
	return s.DB.translate(err, "principal "+p.Name)
}

// GetPrincipal implements identity.Store.
func (s *IdentityStore) GetPrincipal(ctx context.Context, id string) (*identity.Principal, error) {
	p, err := scanPrincipal(s.DB.queryRow(ctx, `SELECT `+principalCols+` FROM principals WHERE id = ?`, id))
	return p, s.DB.translate(err, "principal")
}

// GetPrincipalByName implements identity.Store.
func (s *IdentityStore) GetPrincipalByName(ctx context.Context, name string) (*identity.Principal, error) {
	p, err := scanPrincipal(s.DB.queryRow(ctx, `SELECT `+principalCols+` FROM principals WHERE name = ?`, name))
	return p, s.DB.translate(err, "principal")
}

// CreateCredential implements identity.Store.
func (s *IdentityStore) CreateCredential(ctx context.Context, c *identity.Credential) error {
	_, err := s.DB.exec(ctx, `INSERT INTO credentials (id, principal_id, kind, hash, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.PrincipalID, c.Kind, c.Hash, micros(c.CreatedAt), nullMicros(c.UsedAt))
	return s.DB.translate(err, "credential")
}

// UnusedCredentials implements identity.Store.
func (s *IdentityStore) UnusedCredentials(ctx context.Context, principalID, kind string) ([]*identity.Credential, error) {
	rows, err := s.DB.query(ctx, `SELECT id, principal_id, kind, hash, created_at FROM credentials
		WHERE principal_id = ? AND kind = ? AND used_at IS NULL ORDER BY created_at`, principalID, kind)
	if err != nil {
		return nil, s.DB.translate(err, "credentials")
	}
	return collect(rows, func(r scanner) (*identity.Credential, error) {
		var c identity.Credential
		var created int64
		err := r.Scan(&c.ID, &c.PrincipalID, &c.Kind, &c.Hash, &created)
		c.CreatedAt = fromMicros(created)
		return &c, err
	}, s.DB, "credentials")
}

// UseCredential implements identity.Store.
func (s *IdentityStore) UseCredential(ctx context.Context, id string, at time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE credentials SET used_at = ? WHERE id = ? AND used_at IS NULL`, micros(at), id)
	if err := one(res, err, s.DB, "credential"); enclave.IsCode(err, enclave.CodeNotFound) {
		return enclave.Errorf(enclave.CodeConflict, "credential already used")
	} else if err != nil {
		return err
	}
	return nil
}

const tokenCols = `id, principal_id, name, hash, created_at, expires_at, last_used_at, revoked_at`

func scanToken(r scanner) (*identity.Token, error) {
	var t identity.Token
	var created, expires int64
	var used, revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.PrincipalID, &t.Name, &t.Hash, &created, &expires, &used, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	t.LastUsedAt, t.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return &t, nil
}

// CreateToken implements identity.Store.
func (s *IdentityStore) CreateToken(ctx context.Context, t *identity.Token) error {
	_, err := s.DB.exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.PrincipalID, t.Name, t.Hash, micros(t.CreatedAt), micros(t.ExpiresAt), nullMicros(t.LastUsedAt), nullMicros(t.RevokedAt))
	return s.DB.translate(err, "token")
}

// GetTokenByHash implements identity.Store.
func (s *IdentityStore) GetTokenByHash(ctx context.Context, hash []byte) (*identity.Token, error) {
	t, err := scanToken(s.DB.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	return t, s.DB.translate(err, "token")
}

// GetTokenWithPrincipal implements identity.Store.
func (s *IdentityStore) GetTokenWithPrincipal(ctx context.Context, hash []byte) (*identity.Token, *identity.Principal, error) {
	var t identity.Token
	var p identity.Principal
	var created, expires, pcreated int64
	var used, revoked sql.NullInt64
	err := s.DB.queryRow(ctx, `SELECT t.id, t.principal_id, t.name, t.hash, t.created_at, t.expires_at, t.last_used_at, t.revoked_at,
		p.id, p.kind, p.name, p.display_name, p.platform_admin, p.disabled, p.created_at
		FROM tokens t JOIN principals p ON p.id = t.principal_id WHERE t.hash = ?`, hash).Scan(
		&t.ID, &t.PrincipalID, &t.Name, &t.Hash, &created, &expires, &used, &revoked,
		&p.ID, &p.Kind, &p.Name, &p.DisplayName, &p.PlatformAdmin, &p.Disabled, &pcreated)
	if err != nil {
		return nil, nil, s.DB.translate(err, "token")
	}
	t.CreatedAt, t.ExpiresAt, p.CreatedAt = fromMicros(created), fromMicros(expires), fromMicros(pcreated)
	t.LastUsedAt, t.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return &t, &p, nil
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
