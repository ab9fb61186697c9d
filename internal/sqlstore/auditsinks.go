package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/siem"
)

// SinkStore implements siem.Store.
type SinkStore struct{ DB *DB }

var _ siem.Store = (*SinkStore)(nil)

const sinkCols = `id, name, kind, enabled, required, batch_size, settings, secrets, created_at, created_by, updated_at, updated_by`

// sinkSettings is how a sink's kind-specific settings are stored: the one
// of its kind is set.
type sinkSettings struct {
	File    *siem.FileSettings    `json:"file,omitempty"`
	Syslog  *siem.SyslogSettings  `json:"syslog,omitempty"`
	Webhook *siem.WebhookSettings `json:"webhook,omitempty"`
}

func sinkArgs(s *siem.Sink) ([]any, error) {
	settings, err := json.Marshal(sinkSettings{File: s.File, Syslog: s.Syslog, Webhook: s.Webhook})
	if err != nil {
		return nil, err
	}
	secrets, err := json.Marshal(s.Secrets)
	if err != nil {
		return nil, err
	}
	return []any{s.ID, s.Name, s.Kind, s.Enabled, s.Required, s.BatchSize, string(settings), string(secrets),
		micros(s.CreatedAt), s.CreatedBy, micros(s.UpdatedAt), s.UpdatedBy}, nil
}

func scanSink(r scanner) (*siem.Sink, error) {
	var s siem.Sink
	var settings, secrets string
	var created, updated int64
	if err := r.Scan(&s.ID, &s.Name, &s.Kind, &s.Enabled, &s.Required, &s.BatchSize, &settings, &secrets,
		&created, &s.CreatedBy, &updated, &s.UpdatedBy); err != nil {
		return nil, err
	}
	var ks sinkSettings
	if err := json.Unmarshal([]byte(settings), &ks); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(secrets), &s.Secrets); err != nil {
		return nil, err
	}
	s.File, s.Syslog, s.Webhook = ks.File, ks.Syslog, ks.Webhook
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &s, nil
}

// CreateSink implements siem.Store.
func (s *SinkStore) CreateSink(ctx context.Context, sk *siem.Sink, cursor int64) error {
	args, err := sinkArgs(sk)
	if err != nil {
		return err
	}
	_, err = s.DB.exec(ctx, `INSERT INTO audit_sinks (`+sinkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: "audit sink " + sk.Name + " already exists", Err: err}
	}
	if err != nil {
		return s.DB.translate(err, "audit sink "+sk.Name)
	}
	_, err = s.DB.exec(ctx, `INSERT INTO audit_sink_state (sink_id, cursor, updated_at) VALUES (?, ?, ?)`,
		sk.ID, cursor, micros(sk.CreatedAt))
	return s.DB.translate(err, "audit sink state")
}

// GetSink implements siem.Store.
func (s *SinkStore) GetSink(ctx context.Context, name string) (*siem.Sink, error) {
	sk, err := scanSink(s.DB.queryRow(ctx, `SELECT `+sinkCols+` FROM audit_sinks WHERE name = ?`, name))
	if err != nil {
		return nil, s.DB.translate(err, "audit sink "+name)
	}
	return sk, nil
}

// ListSinks implements siem.Store.
func (s *SinkStore) ListSinks(ctx context.Context) ([]*siem.Sink, map[string]*siem.State, error) {
	rows, err := s.DB.query(ctx, `SELECT `+sinkCols+` FROM audit_sinks ORDER BY name`)
	if err != nil {
		return nil, nil, s.DB.translate(err, "audit sinks")
	}
	sinks, err := collect(rows, scanSink, s.DB, "audit sinks")
	if err != nil {
		return nil, nil, err
	}
	rows, err = s.DB.query(ctx, `SELECT `+stateCols+` FROM audit_sink_state`)
	if err != nil {
		return nil, nil, s.DB.translate(err, "audit sink states")
	}
	states, err := collect(rows, scanState, s.DB, "audit sink states")
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]*siem.State{}
	for _, st := range states {
		byID[st.SinkID] = st
	}
	if sinks == nil {
		sinks = []*siem.Sink{}
	}
	return sinks, byID, nil
}

// UpdateSink implements siem.Store.
func (s *SinkStore) UpdateSink(ctx context.Context, sk *siem.Sink) error {
	args, err := sinkArgs(sk)
	if err != nil {
		return err
	}
	res, err := s.DB.exec(ctx, `UPDATE audit_sinks SET enabled = ?, required = ?, batch_size = ?, settings = ?, secrets = ?,
		updated_at = ?, updated_by = ? WHERE id = ?`, args[3], args[4], args[5], args[6], args[7], args[10], args[11], sk.ID)
	return one(res, err, s.DB, "audit sink "+sk.Name)
}

// DeleteSink implements siem.Store.
func (s *SinkStore) DeleteSink(ctx context.Context, id string) error {
	if _, err := s.DB.exec(ctx, `DELETE FROM audit_sink_state WHERE sink_id = ?`, id); err != nil {
		return s.DB.translate(err, "audit sink state")
	}
	res, err := s.DB.exec(ctx, `DELETE FROM audit_sinks WHERE id = ?`, id)
	return one(res, err, s.DB, "audit sink")
}

const stateCols = `sink_id, cursor, delivered, consecutive_failures, last_success_at, last_failure_at, failing_since,
	next_attempt_at, last_error, updated_at`

func scanState(r scanner) (*siem.State, error) {
	var st siem.State
	var success, failure, failing, next sql.NullInt64
	var updated int64
	if err := r.Scan(&st.SinkID, &st.Cursor, &st.Delivered, &st.ConsecutiveFailures, &success, &failure, &failing,
		&next, &st.LastError, &updated); err != nil {
		return nil, err
	}
	st.LastSuccessAt, st.LastFailureAt, st.FailingSince, st.NextAttemptAt =
		fromNullMicros(success), fromNullMicros(failure), fromNullMicros(failing), fromNullMicros(next)
	st.UpdatedAt = fromMicros(updated)
	return &st, nil
}

// GetState implements siem.Store.
func (s *SinkStore) GetState(ctx context.Context, sinkID string) (*siem.State, error) {
	st, err := scanState(s.DB.queryRow(ctx, `SELECT `+stateCols+` FROM audit_sink_state WHERE sink_id = ?`, sinkID))
	if err != nil {
		return nil, s.DB.translate(err, "audit sink state")
	}
	return st, nil
}

// SaveState implements siem.Store. The update is fenced by the lease in the
// same statement, so a delivery loop that lost its lease (paused past its
// expiry) cannot overwrite the state its successor writes; and the cursor
// only moves forwards.
func (s *SinkStore) SaveState(ctx context.Context, st *siem.State, lease, owner string, now time.Time) (bool, error) {
	res, err := s.DB.exec(ctx, `UPDATE audit_sink_state SET
		cursor = CASE WHEN cursor > ? THEN cursor ELSE ? END, delivered = ?, consecutive_failures = ?,
		last_success_at = ?, last_failure_at = ?, failing_since = ?, next_attempt_at = ?, last_error = ?, updated_at = ?
		WHERE sink_id = ? AND EXISTS (SELECT 1 FROM leases WHERE name = ? AND owner = ? AND expires_at > ?)`,
		st.Cursor, st.Cursor, st.Delivered, st.ConsecutiveFailures, nullMicros(st.LastSuccessAt), nullMicros(st.LastFailureAt),
		nullMicros(st.FailingSince), nullMicros(st.NextAttemptAt), st.LastError, micros(st.UpdatedAt),
		st.SinkID, lease, owner, micros(now))
	if err != nil {
		return false, s.DB.translate(err, "audit sink state")
	}
	n, err := res.RowsAffected()
	return n == 1, s.DB.translate(err, "audit sink state")
}

// HeadSeq implements siem.Store: the last sealed record's sequence number,
// after sealing what is pending.
func (s *SinkStore) HeadSeq(ctx context.Context) (int64, error) {
	if err := (&AuditStore{DB: s.DB}).sealPending(ctx); err != nil {
		return 0, err
	}
	var head int64
	err := s.DB.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_events`).Scan(&head)
	return head, s.DB.translate(err, "audit head")
}
