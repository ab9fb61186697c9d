package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/enclave-ml/enclave/internal/identity"
)

const secretCols = `c.id, c.principal_id, c.description, c.hash, c.created_at, c.expires_at, c.last_used_at, c.revoked_at`

func scanClientSecret(r scanner, extra ...any) (*identity.ClientSecret, error) {
	var c identity.ClientSecret
	var created, expires int64
	var used, revoked sql.NullInt64
	if err := r.Scan(append([]any{&c.ID, &c.PrincipalID, &c.Description, &c.Hash, &created, &expires, &used, &revoked}, extra...)...); err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	c.LastUsedAt, c.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return &c, nil
}

// CreateClientSecret implements identity.Store.
func (s *IdentityStore) CreateClientSecret(ctx context.Context, c *identity.ClientSecret) error {
	_, err := s.DB.exec(ctx, `INSERT INTO client_secrets (id, principal_id, hash, description, created_at, expires_at, last_used_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.PrincipalID, c.Hash, c.Description, micros(c.CreatedAt), micros(c.ExpiresAt),
		nullMicros(c.LastUsedAt), nullMicros(c.RevokedAt))
	return s.DB.translate(err, "client secret")
}

// GetClientSecret implements identity.Store.
func (s *IdentityStore) GetClientSecret(ctx context.Context, id string) (*identity.ClientSecret, error) {
	c, err := scanClientSecret(s.DB.queryRow(ctx, `SELECT `+secretCols+` FROM client_secrets c WHERE c.id = ?`, id))
	return c, s.DB.translate(err, "client secret")
}

// GetClientSecretByHash implements identity.Store.
func (s *IdentityStore) GetClientSecretByHash(ctx context.Context, hash []byte) (*identity.ClientSecret, *identity.Principal, error) {
	var p identity.Principal
	var pcreated, pupdated int64
	var pdeleted sql.NullInt64
	c, err := scanClientSecret(s.DB.queryRow(ctx, `SELECT `+secretCols+`,
		p.id, p.kind, p.name, p.display_name, p.email, p.service_kind, p.platform_admin, p.disabled, p.created_at, p.updated_at, p.deleted_at
		FROM client_secrets c JOIN principals p ON p.id = c.principal_id WHERE c.hash = ?`, hash),
		&p.ID, &p.Kind, &p.Name, &p.DisplayName, &p.Email, &p.ServiceKind, &p.PlatformAdmin, &p.Disabled, &pcreated, &pupdated, &pdeleted)
	if err != nil {
		return nil, nil, s.DB.translate(err, "client secret")
	}
	p.CreatedAt, p.UpdatedAt, p.DeletedAt = fromMicros(pcreated), fromMicros(pupdated), fromNullMicros(pdeleted)
	return c, &p, nil
}

// ListClientSecrets implements identity.Store.
func (s *IdentityStore) ListClientSecrets(ctx context.Context, principalID string) ([]*identity.ClientSecret, error) {
	rows, err := s.DB.query(ctx, `SELECT `+secretCols+` FROM client_secrets c WHERE c.principal_id = ? ORDER BY c.id DESC`, principalID)
	if err != nil {
		return nil, s.DB.translate(err, "client secrets")
	}
	return collect(rows, func(r scanner) (*identity.ClientSecret, error) { return scanClientSecret(r) }, s.DB, "client secrets")
}

// TouchClientSecret implements identity.Store.
func (s *IdentityStore) TouchClientSecret(ctx context.Context, id string, at time.Time) error {
	_, err := s.DB.exec(ctx, `UPDATE client_secrets SET last_used_at = ? WHERE id = ?`, micros(at), id)
	return s.DB.translate(err, "client secret")
}

// RevokeClientSecret implements identity.Store.
func (s *IdentityStore) RevokeClientSecret(ctx context.Context, id string, at time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE client_secrets SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(at), id)
	return one(res, err, s.DB, "client secret")
}

// RevokePrincipalClientSecrets implements identity.Store.
func (s *IdentityStore) RevokePrincipalClientSecrets(ctx context.Context, principalID string, at time.Time) (int, error) {
	res, err := s.DB.exec(ctx, `UPDATE client_secrets SET revoked_at = ? WHERE principal_id = ? AND revoked_at IS NULL`, micros(at), principalID)
	return affected(res, err, s.DB, "client secrets")
}
