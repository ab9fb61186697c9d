package sqlstore

import (
	"context"
	"time"

	"github.com/enclave-ml/enclave/internal/idempotency"
)

// IdempotencyStore implements idempotency.Store.
type IdempotencyStore struct{ DB *DB }

var _ idempotency.Store = (*IdempotencyStore)(nil)

// Begin implements idempotency.Store.
func (s *IdempotencyStore) Begin(ctx context.Context, principalID, key, hash string, now time.Time, stale time.Duration) (*idempotency.Record, error) {
	var existing *idempotency.Record
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		// Expired keys and abandoned in-flight ones make way for the new request.
		if _, err := s.DB.exec(ctx, `DELETE FROM idempotency_keys WHERE principal_id = ? AND idem_key = ?
			AND (expires_at <= ? OR (status = 0 AND created_at <= ?))`,
			principalID, key, micros(now), micros(now.Add(-stale))); err != nil {
			return s.DB.translate(err, "idempotency key")
		}
		res, err := s.DB.exec(ctx, `INSERT INTO idempotency_keys (principal_id, idem_key, request_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (principal_id, idem_key) DO NOTHING`,
			principalID, key, hash, micros(now), micros(now.Add(idempotency.TTL)))
		if err != nil {
			return s.DB.translate(err, "idempotency key")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var r idempotency.Record
		var created int64
		err = s.DB.queryRow(ctx, `SELECT request_hash, status, content_type, body, created_at FROM idempotency_keys
			WHERE principal_id = ? AND idem_key = ?`, principalID, key).Scan(&r.RequestHash, &r.Status, &r.ContentType, &r.Body, &created)
		if err != nil {
			return s.DB.translate(err, "idempotency key")
		}
		r.CreatedAt = fromMicros(created)
		existing = &r
		return nil
	})
	return existing, err
}

// Finish implements idempotency.Store.
func (s *IdempotencyStore) Finish(ctx context.Context, principalID, key string, status int, contentType string, body []byte) error {
	_, err := s.DB.exec(ctx, `UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?
		WHERE principal_id = ? AND idem_key = ?`, status, contentType, body, principalID, key)
	return s.DB.translate(err, "idempotency key")
}

// Abandon implements idempotency.Store.
func (s *IdempotencyStore) Abandon(ctx context.Context, principalID, key string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM idempotency_keys WHERE principal_id = ? AND idem_key = ? AND status = 0`, principalID, key)
	return s.DB.translate(err, "idempotency key")
}
