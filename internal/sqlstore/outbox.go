package sqlstore

import (
	"context"
	"time"

	"github.com/enclave-ml/enclave/internal/outbox"
)

// OutboxStore implements outbox.Store.
type OutboxStore struct{ DB *DB }

var _ outbox.Store = (*OutboxStore)(nil)

// EnqueueMessage implements outbox.Store.
func (s *OutboxStore) EnqueueMessage(ctx context.Context, m *outbox.Message) error {
	if !InTransaction(ctx) {
		return errNoTx
	}
	err := s.DB.queryRow(ctx, `INSERT INTO outbox (id, topic, msg_key, payload, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`,
		m.ID, m.Topic, m.Key, string(m.Payload), micros(m.CreatedAt), micros(m.NextAttemptAt)).Scan(&m.Seq)
	return s.DB.translate(err, "outbox message")
}

// PendingMessages implements outbox.Store.
func (s *OutboxStore) PendingMessages(ctx context.Context, topic string, limit int) ([]*outbox.Message, error) {
	rows, err := s.DB.query(ctx, `SELECT seq, id, topic, msg_key, payload, created_at, attempts, next_attempt_at, last_error
		FROM outbox WHERE topic = ? AND delivered_at IS NULL ORDER BY seq LIMIT ?`, topic, limit)
	if err != nil {
		return nil, s.DB.translate(err, "outbox")
	}
	return collect(rows, func(r scanner) (*outbox.Message, error) {
		var m outbox.Message
		var payload string
		var created, next int64
		err := r.Scan(&m.Seq, &m.ID, &m.Topic, &m.Key, &payload, &created, &m.Attempts, &next, &m.LastError)
		m.Payload, m.CreatedAt, m.NextAttemptAt = []byte(payload), fromMicros(created), fromMicros(next)
		return &m, err
	}, s.DB, "outbox")
}

// MarkDelivered implements outbox.Store.
func (s *OutboxStore) MarkDelivered(ctx context.Context, id string, at time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = ''
		WHERE id = ? AND delivered_at IS NULL`, micros(at), id)
	return one(res, err, s.DB, "undelivered outbox message")
}

// MarkFailed implements outbox.Store.
func (s *OutboxStore) MarkFailed(ctx context.Context, id, msg string, next time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE id = ? AND delivered_at IS NULL`, msg, micros(next), id)
	return one(res, err, s.DB, "undelivered outbox message")
}

// AcquireLease implements outbox.Store. One upsert takes a free or expired
// lease, or renews one's own, and touches no row when another owner holds it.
func (s *OutboxStore) AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	res, err := s.DB.exec(ctx, `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`, name, owner, micros(until), micros(now))
	if err != nil {
		return false, s.DB.translate(err, "lease "+name)
	}
	n, err := res.RowsAffected()
	return n == 1, s.DB.translate(err, "lease "+name)
}

// ReleaseLease implements outbox.Store.
func (s *OutboxStore) ReleaseLease(ctx context.Context, name, owner string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM leases WHERE name = ? AND owner = ?`, name, owner)
	return s.DB.translate(err, "lease "+name)
}
