package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
)

// PseudonymKeyStore implements keys.PseudonymKeyStore.
type PseudonymKeyStore struct{ DB *DB }

var _ keys.PseudonymKeyStore = (*PseudonymKeyStore)(nil)

// PseudonymKey implements keys.PseudonymKeyStore.
func (s *PseudonymKeyStore) PseudonymKey(ctx context.Context, owner string) (keys.PseudonymKeyRecord, error) {
	k := keys.PseudonymKeyRecord{}
	var t int64
	err := s.DB.queryRow(ctx, `SELECT owner, provider, key_uri, wrapped, created_at FROM pseudonym_keys WHERE owner = ?`, owner).
		Scan(&k.Owner, &k.Provider, &k.KeyURI, &k.Wrapped, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return keys.PseudonymKeyRecord{}, keys.ErrKeyNotFound
	}
	if err != nil {
		return keys.PseudonymKeyRecord{}, s.DB.translate(err, "key")
	}
	k.CreatedAt = fromMicros(t)
	return k, nil
}

// CreatePseudonymKey implements keys.PseudonymKeyStore.
func (s *PseudonymKeyStore) CreatePseudonymKey(ctx context.Context, k keys.PseudonymKeyRecord) error {
	_, err := s.DB.exec(ctx, `INSERT INTO pseudonym_keys (owner, provider, key_uri, wrapped, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.Owner, k.Provider, k.KeyURI, k.Wrapped, micros(k.CreatedAt))
	if err != nil {
		if s.DB.Dialect.IsUniqueViolation(err) {
			return keys.ErrVersionExists
		}
		return s.DB.translate(err, "key")
	}
	return nil
}
