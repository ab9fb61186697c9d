package sqlstore

import (
	"context"
	"strings"
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

// OwnersToPurge implements objects.Store.
func (s *ObjectStore) OwnersToPurge(ctx context.Context) ([]string, error) {
	rows, err := s.DB.query(ctx, `SELECT DISTINCT o.owner FROM objects o JOIN kek_destroyed d ON d.owner = o.owner
		WHERE o.state <> ?`, objects.Destroyed)
	if err != nil {
		return nil, s.DB.translate(err, "objects")
	}
	return collect(rows, func(r scanner) (string, error) {
		var o string
		return o, r.Scan(&o)
	}, s.DB, "objects")
}

// UploadStore implements objects.UploadStore.
type UploadStore struct{ DB *DB }

var _ objects.UploadStore = (*UploadStore)(nil)

const uploadCols = `id, owner, bucket, target, created_by, created_at, expires_at`

func scanUpload(r scanner) (*objects.Upload, error) {
	var u objects.Upload
	var created, expires int64
	if err := r.Scan(&u.ID, &u.Owner, &u.Bucket, &u.Target, &u.CreatedBy, &created, &expires); err != nil {
		return nil, err
	}
	u.CreatedAt, u.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &u, nil
}

// CreateUpload implements objects.UploadStore.
func (s *UploadStore) CreateUpload(ctx context.Context, u *objects.Upload) error {
	_, err := s.DB.exec(ctx, `INSERT INTO object_uploads (`+uploadCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Owner, u.Bucket, u.Target, u.CreatedBy, micros(u.CreatedAt), micros(u.ExpiresAt))
	return s.DB.translate(err, "upload")
}

// GetUpload implements objects.UploadStore.
func (s *UploadStore) GetUpload(ctx context.Context, id string, lock bool) (*objects.Upload, error) {
	q := `SELECT ` + uploadCols + ` FROM object_uploads WHERE id = ?`
	if lock {
		q += s.DB.Dialect.LockForUpdate()
	}
	u, err := scanUpload(s.DB.queryRow(ctx, q, id))
	if err != nil {
		return nil, s.DB.translate(err, "upload")
	}
	if u.Parts, err = s.parts(ctx, id); err != nil {
		return nil, err
	}
	return u, nil
}

func (s *UploadStore) parts(ctx context.Context, id string) ([]objects.UploadPart, error) {
	rows, err := s.DB.query(ctx, `SELECT number, object_id, size, sha256, created_at FROM object_upload_parts
		WHERE upload_id = ? ORDER BY number`, id)
	if err != nil {
		return nil, s.DB.translate(err, "upload parts")
	}
	ps, err := collect(rows, func(r scanner) (*objects.UploadPart, error) {
		var p objects.UploadPart
		var created int64
		if err := r.Scan(&p.Number, &p.ObjectID, &p.Size, &p.SHA256, &created); err != nil {
			return nil, err
		}
		p.CreatedAt = fromMicros(created)
		return &p, nil
	}, s.DB, "upload parts")
	if err != nil {
		return nil, err
	}
	out := make([]objects.UploadPart, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out, nil
}

// ListUploads implements objects.UploadStore.
func (s *UploadStore) ListUploads(ctx context.Context, prefix string) ([]*objects.Upload, error) {
	escaped := escapeLike(prefix)
	rows, err := s.DB.query(ctx, `SELECT `+uploadCols+` FROM object_uploads WHERE target LIKE ? ESCAPE '\'
		ORDER BY created_at, id`, escaped+"%")
	if err != nil {
		return nil, s.DB.translate(err, "uploads")
	}
	all, err := collect(rows, scanUpload, s.DB, "uploads")
	if err != nil {
		return nil, err
	}
	var us []*objects.Upload
	for _, u := range all {
		if !strings.HasPrefix(u.Target, prefix) { // SQLite's LIKE ignores case
			continue
		}
		us = append(us, u)
		if u.Parts, err = s.parts(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	return us, nil
}

// PutUploadPart implements objects.UploadStore.
func (s *UploadStore) PutUploadPart(ctx context.Context, uploadID string, p objects.UploadPart) (string, error) {
	var old string
	err := s.DB.queryRow(ctx, `SELECT object_id FROM object_upload_parts WHERE upload_id = ? AND number = ?`, uploadID, p.Number).Scan(&old)
	if err = s.DB.translate(err, "upload part"); err != nil && enclave.ErrorCode(err) != enclave.CodeNotFound {
		return "", err
	}
	if old != "" {
		_, err = s.DB.exec(ctx, `UPDATE object_upload_parts SET object_id = ?, size = ?, sha256 = ?, created_at = ?
			WHERE upload_id = ? AND number = ?`, p.ObjectID, p.Size, p.SHA256, micros(p.CreatedAt), uploadID, p.Number)
	} else {
		_, err = s.DB.exec(ctx, `INSERT INTO object_upload_parts (upload_id, number, object_id, size, sha256, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, uploadID, p.Number, p.ObjectID, p.Size, p.SHA256, micros(p.CreatedAt))
	}
	return old, s.DB.translate(err, "upload part")
}

// DeleteUpload implements objects.UploadStore.
func (s *UploadStore) DeleteUpload(ctx context.Context, id string) error {
	if _, err := s.DB.exec(ctx, `DELETE FROM object_upload_parts WHERE upload_id = ?`, id); err != nil {
		return s.DB.translate(err, "upload parts")
	}
	res, err := s.DB.exec(ctx, `DELETE FROM object_uploads WHERE id = ?`, id)
	if err != nil {
		return s.DB.translate(err, "upload")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "upload %s not found", id)
	}
	return nil
}

// ExpiredUploads implements objects.UploadStore.
func (s *UploadStore) ExpiredUploads(ctx context.Context, t time.Time, limit int) ([]*objects.Upload, error) {
	rows, err := s.DB.query(ctx, `SELECT `+uploadCols+` FROM object_uploads WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`,
		micros(t), limit)
	if err != nil {
		return nil, s.DB.translate(err, "uploads")
	}
	return collect(rows, scanUpload, s.DB, "uploads")
}
