package sqlstore

import (
	"context"
	"time"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
)

// ObjectStore implements objects.Store.
type ObjectStore struct{ DB *DB }

var _ objects.Store = (*ObjectStore)(nil)

const objectCols = `id, owner, bucket, blob_key, state, size, cipher_size, sha256, segment_size, wrapped_dek, kek_version,
	tier, created_at, updated_at`

func scanObject(r scanner) (*objects.Object, error) {
	var o objects.Object
	var v, created, updated int64
	var w []byte
	if err := r.Scan(&o.ID, &o.Owner, &o.Bucket, &o.Key, &o.State, &o.Size, &o.CipherSize, &o.SHA256, &o.SegmentSize,
		&w, &v, &o.Tier, &created, &updated); err != nil {
		return nil, err
	}
	o.WrappedDEK, o.KEKVersion = keys.WrappedDEK(w), uint32(v)
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &o, nil
}

// CreateObject implements objects.Store.
func (s *ObjectStore) CreateObject(ctx context.Context, o *objects.Object) error {
	_, err := s.DB.exec(ctx, `INSERT INTO objects (`+objectCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Owner, o.Bucket, o.Key, o.State, o.Size, o.CipherSize, o.SHA256, o.SegmentSize, []byte(o.WrappedDEK),
		int64(o.KEKVersion), o.Tier, micros(o.CreatedAt), micros(o.UpdatedAt))
	return s.DB.translate(err, "object")
}

// GetObject implements objects.Store.
func (s *ObjectStore) GetObject(ctx context.Context, id string) (*objects.Object, error) {
	o, err := scanObject(s.DB.queryRow(ctx, `SELECT `+objectCols+` FROM objects WHERE id = ?`, id))
	return o, s.DB.translate(err, "object")
}

func (s *ObjectStore) changed(ctx context.Context, query string, args ...any) error {
	res, err := s.DB.exec(ctx, query, args...)
	if err != nil {
		return s.DB.translate(err, "object")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "object not found")
	}
	return nil
}

// UpdateObject implements objects.Store.
func (s *ObjectStore) UpdateObject(ctx context.Context, o *objects.Object) error {
	return s.changed(ctx, `UPDATE objects SET state = ?, size = ?, cipher_size = ?, sha256 = ?, wrapped_dek = ?, kek_version = ?,
		tier = ?, updated_at = ? WHERE id = ?`, o.State, o.Size, o.CipherSize, o.SHA256, []byte(o.WrappedDEK), int64(o.KEKVersion),
		o.Tier, micros(o.UpdatedAt), o.ID)
}

// UpdateWrappedDEK implements objects.Store.
func (s *ObjectStore) UpdateWrappedDEK(ctx context.Context, id string, w keys.WrappedDEK, version uint32, at time.Time) error {
	return s.changed(ctx, `UPDATE objects SET wrapped_dek = ?, kek_version = ?, updated_at = ? WHERE id = ?`,
		[]byte(w), int64(version), micros(at), id)
}

// DeleteObject implements objects.Store.
func (s *ObjectStore) DeleteObject(ctx context.Context, id string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM objects WHERE id = ?`, id)
	return s.DB.translate(err, "object")
}

// ListObjects implements objects.Store.
func (s *ObjectStore) ListObjects(ctx context.Context, owner, afterID string, limit int) ([]*objects.Object, error) {
	rows, err := s.DB.query(ctx, `SELECT `+objectCols+` FROM objects WHERE owner = ? AND id > ? ORDER BY id LIMIT ?`, owner, afterID, limit)
	if err != nil {
		return nil, s.DB.translate(err, "objects")
	}
	return collect(rows, scanObject, s.DB, "objects")
}

// CountByKEKVersion implements objects.Store.
func (s *ObjectStore) CountByKEKVersion(ctx context.Context, owner string, version uint32) (int64, error) {
	var n int64
	err := s.DB.queryRow(ctx, `SELECT COUNT(*) FROM objects WHERE owner = ? AND kek_version = ?`, owner, int64(version)).Scan(&n)
	return n, s.DB.translate(err, "objects")
}

// StaleObjects implements objects.Store.
func (s *ObjectStore) StaleObjects(ctx context.Context, state objects.State, before time.Time, limit int) ([]*objects.Object, error) {
	rows, err := s.DB.query(ctx, `SELECT `+objectCols+` FROM objects WHERE state = ? AND updated_at < ? ORDER BY updated_at LIMIT ?`,
		state, micros(before), limit)
	if err != nil {
		return nil, s.DB.translate(err, "objects")
	}
	return collect(rows, scanObject, s.DB, "objects")
}

// OwnerUsage implements objects.Store.
func (s *ObjectStore) OwnerUsage(ctx context.Context, owner string) (int64, error) {
	var n int64
	err := s.DB.queryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM objects WHERE owner = ?`, owner).Scan(&n)
	return n, s.DB.translate(err, "objects")
}
