package sqlstore

import (
	"context"

	"github.com/enclave-ml/enclave/internal/identity"
)

// GetSetting implements identity.Store.
func (s *IdentityStore) GetSetting(ctx context.Context, name string) (*identity.Setting, error) {
	var st identity.Setting
	var updated int64
	err := s.DB.queryRow(ctx, `SELECT name, value, updated_at, updated_by FROM settings WHERE name = ?`, name).Scan(
		&st.Name, &st.Value, &updated, &st.UpdatedBy)
	if err != nil {
		return nil, s.DB.translate(err, "setting "+name)
	}
	st.UpdatedAt = fromMicros(updated)
	return &st, nil
}

// PutSetting implements identity.Store.
func (s *IdentityStore) PutSetting(ctx context.Context, st *identity.Setting) error {
	_, err := s.DB.exec(ctx, `INSERT INTO settings (name, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		st.Name, st.Value, micros(st.UpdatedAt), st.UpdatedBy)
	return s.DB.translate(err, "setting "+st.Name)
}
