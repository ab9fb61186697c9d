package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// KEKStore implements keys.KEKStore.
type KEKStore struct{ DB *DB }

var _ keys.KEKStore = (*KEKStore)(nil)

func (s *KEKStore) destroyed(ctx context.Context, owner string) error {
	var one int
	err := s.DB.queryRow(ctx, `SELECT 1 FROM kek_destroyed WHERE owner = ?`, owner).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return s.DB.translate(err, "key")
	}
	return keys.ErrKeyDestroyed
}

// CreateKEK implements keys.KEKStore.
func (s *KEKStore) CreateKEK(ctx context.Context, k keys.KEK) error {
	res, err := s.DB.exec(ctx, `INSERT INTO kek_versions (owner, version, provider, key_uri, wrapped, created_at)
		SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM kek_destroyed WHERE owner = ?)`,
		k.Owner, int64(k.Version), k.Provider, k.KeyURI, k.Wrapped, micros(k.CreatedAt), k.Owner)
	if err != nil {
		if s.DB.Dialect.IsUniqueViolation(err) {
			return keys.ErrVersionExists
		}
		return s.DB.translate(err, "key")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return keys.ErrKeyDestroyed
	}
	return nil
}

const kekCols = `owner, version, provider, key_uri, wrapped, created_at`

func scanKEK(r scanner) (keys.KEK, error) {
	var k keys.KEK
	var v, t int64
	err := r.Scan(&k.Owner, &v, &k.Provider, &k.KeyURI, &k.Wrapped, &t)
	k.Version, k.CreatedAt = uint32(v), fromMicros(t)
	return k, err
}

func (s *KEKStore) one(ctx context.Context, owner, query string, args ...any) (keys.KEK, error) {
	k, err := scanKEK(s.DB.queryRow(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		if derr := s.destroyed(ctx, owner); derr != nil {
			return keys.KEK{}, derr
		}
		return keys.KEK{}, keys.ErrKeyNotFound
	}
	if err != nil {
		return keys.KEK{}, s.DB.translate(err, "key")
	}
	return k, nil
}

// share locks a version read inside a transaction until it ends: a data key
// wrapped under it and stored in the same transaction cannot lose its KEK
// to a concurrent retirement, which deletes the version first and then
// counts what still refers to it (see objects.Service.RotateKey).
func (s *KEKStore) share(ctx context.Context) string {
	if InTransaction(ctx) {
		return s.DB.Dialect.LockForShare()
	}
	return ""
}

// KEK implements keys.KEKStore.
func (s *KEKStore) KEK(ctx context.Context, owner string, version uint32) (keys.KEK, error) {
	return s.one(ctx, owner, `SELECT `+kekCols+` FROM kek_versions WHERE owner = ? AND version = ?`+s.share(ctx), owner, int64(version))
}

// CurrentKEK implements keys.KEKStore.
func (s *KEKStore) CurrentKEK(ctx context.Context, owner string) (keys.KEK, error) {
	return s.one(ctx, owner, `SELECT `+kekCols+` FROM kek_versions WHERE owner = ? ORDER BY version DESC LIMIT 1`+s.share(ctx), owner)
}

// ListKEKs implements keys.KEKStore.
func (s *KEKStore) ListKEKs(ctx context.Context, owner string) ([]keys.KEK, error) {
	if err := s.destroyed(ctx, owner); err != nil {
		return nil, err
	}
	rows, err := s.DB.query(ctx, `SELECT `+kekCols+` FROM kek_versions WHERE owner = ? ORDER BY version`, owner)
	if err != nil {
		return nil, s.DB.translate(err, "keys")
	}
	return collect(rows, scanKEK, s.DB, "keys")
}

// DeleteKEK implements keys.KEKStore.
func (s *KEKStore) DeleteKEK(ctx context.Context, owner string, version uint32) error {
	if err := s.destroyed(ctx, owner); err != nil {
		return err
	}
	res, err := s.DB.exec(ctx, `DELETE FROM kek_versions WHERE owner = ? AND version = ?`, owner, int64(version))
	if err != nil {
		return s.DB.translate(err, "key")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return keys.ErrKeyNotFound
	}
	return nil
}

// DestroyKEKs implements keys.KEKStore. The tombstone is written first, so
// a version created concurrently either commits before it (and is deleted
// here, on PostgreSQL after waiting for it) or sees it and fails.
func (s *KEKStore) DestroyKEKs(ctx context.Context, owner string) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.DB.exec(ctx, `INSERT INTO kek_destroyed (owner, destroyed_at) VALUES (?, ?) ON CONFLICT (owner) DO NOTHING`,
			owner, micros(enclave.Clock(nil).Now())); err != nil {
			return s.DB.translate(err, "key")
		}
		_, err := s.DB.exec(ctx, `DELETE FROM kek_versions WHERE owner = ?`, owner)
		return s.DB.translate(err, "key")
	})
}
