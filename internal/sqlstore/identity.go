package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// IdentityStore implements identity.Store. Its methods are spread over the
// identity*.go files by concern.
type IdentityStore struct{ DB *DB }

var _ identity.Store = (*IdentityStore)(nil)

// principalCols are a principal's columns, with whether it has a password
// and a confirmed second factor.
const principalCols = `p.id, p.kind, p.name, p.display_name, p.email, p.service_kind, p.platform_admin, p.disabled,
	EXISTS (SELECT 1 FROM passwords pw WHERE pw.principal_id = p.id),
	EXISTS (SELECT 1 FROM mfa_totp m WHERE m.principal_id = p.id AND m.confirmed_at IS NOT NULL),
	p.created_at, p.updated_at, p.deleted_at`

func scanPrincipal(r scanner) (*identity.Principal, error) {
	var p identity.Principal
	var created, updated int64
	var deleted sql.NullInt64
	if err := r.Scan(&p.ID, &p.Kind, &p.Name, &p.DisplayName, &p.Email, &p.ServiceKind, &p.PlatformAdmin, &p.Disabled,
		&p.PasswordSet, &p.MFAEnrolled, &created, &updated, &deleted); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt, p.DeletedAt = fromMicros(created), fromMicros(updated), fromNullMicros(deleted)
	return &p, nil
}

// CreatePrincipal implements identity.Store.
func (s *IdentityStore) CreatePrincipal(ctx context.Context, p *identity.Principal) error {
	_, err := s.DB.exec(ctx, `INSERT INTO principals (id, kind, name, display_name, email, service_kind, platform_admin,
		disabled, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Kind, p.Name, p.DisplayName, p.Email, p.ServiceKind, p.PlatformAdmin, p.Disabled,
		micros(p.CreatedAt), micros(p.UpdatedAt), nullMicros(p.DeletedAt))
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: "principal " + p.Name + " already exists", Err: err}
	}
	return s.DB.translate(err, "principal "+p.Name)
}

// GetPrincipal implements identity.Store.
func (s *IdentityStore) GetPrincipal(ctx context.Context, id string) (*identity.Principal, error) {
	p, err := scanPrincipal(s.DB.queryRow(ctx, `SELECT `+principalCols+` FROM principals p WHERE p.id = ?`, id))
	return p, s.DB.translate(err, "principal")
}

// GetPrincipalByName implements identity.Store.
func (s *IdentityStore) GetPrincipalByName(ctx context.Context, name string) (*identity.Principal, error) {
	p, err := scanPrincipal(s.DB.queryRow(ctx, `SELECT `+principalCols+` FROM principals p WHERE p.name = ?`, name))
	return p, s.DB.translate(err, "principal "+name)
}

// ListPrincipals implements identity.Store.
func (s *IdentityStore) ListPrincipals(ctx context.Context, f identity.PrincipalFilter, after string, limit int) ([]*identity.Principal, error) {
	rows, err := s.DB.query(ctx, `SELECT `+principalCols+` FROM principals p
		WHERE p.deleted_at IS NULL AND p.name > ? AND (? = '' OR p.kind = ?) AND (? = '' OR p.service_kind = ?)
		ORDER BY p.name LIMIT ?`, after, f.Kind, f.Kind, string(f.ServiceKind), string(f.ServiceKind), limit)
	if err != nil {
		return nil, s.DB.translate(err, "principals")
	}
	return collect(rows, scanPrincipal, s.DB, "principals")
}

// UpdatePrincipal implements identity.Store.
func (s *IdentityStore) UpdatePrincipal(ctx context.Context, p *identity.Principal) error {
	res, err := s.DB.exec(ctx, `UPDATE principals SET display_name = ?, email = ?, disabled = ?, deleted_at = ?, updated_at = ?
		WHERE id = ?`, p.DisplayName, p.Email, p.Disabled, nullMicros(p.DeletedAt), micros(p.UpdatedAt), p.ID)
	return one(res, err, s.DB, "principal "+p.Name)
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

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// affected returns how many rows an update or delete touched.
func affected(res sql.Result, err error, db *DB, what string) (int, error) {
	if err != nil {
		return 0, db.translate(err, what)
	}
	n, err := res.RowsAffected()
	return int(n), db.translate(err, what)
}
