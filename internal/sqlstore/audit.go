package sqlstore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/enclave-ml/enclave/internal/audit"
)

// AuditStore implements audit.Store.
type AuditStore struct{ DB *DB }

var _ audit.Store = (*AuditStore)(nil)

// errNoTx is returned when an audit record or outbox message is written
// outside a transaction: it would not be atomic with the change it records.
var errNoTx = errors.New("sqlstore: must be called inside a transaction")

const auditCols = `seq, id, time, actor_id, actor_kind, actor_name, auth_method, action, target_type, target_id,
	scope, outcome, reason, source_addr, user_agent, request_id, details`

// AppendEvent implements audit.Store.
func (s *AuditStore) AppendEvent(ctx context.Context, e *audit.Event) error {
	if !InTransaction(ctx) {
		return errNoTx
	}
	details, err := json.Marshal(e.Details)
	if err != nil {
		return err
	}
	if e.Details == nil {
		details = []byte("{}")
	}
	err = s.DB.queryRow(ctx, `INSERT INTO audit_events (id, time, actor_id, actor_kind, actor_name, auth_method, action,
		target_type, target_id, scope, outcome, reason, source_addr, user_agent, request_id, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		e.ID, micros(e.Time), e.ActorID, e.ActorKind, e.ActorName, e.AuthMethod, e.Action, e.TargetType, e.TargetID,
		e.Scope, e.Outcome, e.Reason, e.SourceAddr, e.UserAgent, e.RequestID, string(details)).Scan(&e.Seq)
	return s.DB.translate(err, "audit event")
}

// ListEvents implements audit.Store.
func (s *AuditStore) ListEvents(ctx context.Context, f audit.Filter, afterSeq int64, limit int) ([]*audit.Event, error) {
	rows, err := s.DB.query(ctx, `SELECT `+auditCols+` FROM audit_events
		WHERE seq > ? AND (? = '' OR action = ?) AND (? = '' OR actor_id = ?) AND (? = '' OR target_type = ?)
		AND (? = '' OR target_id = ?) AND (? = '' OR request_id = ?)
		ORDER BY seq LIMIT ?`, afterSeq, f.Action, f.Action, f.ActorID, f.ActorID, f.TargetType, f.TargetType,
		f.TargetID, f.TargetID, f.RequestID, f.RequestID, limit)
	if err != nil {
		return nil, s.DB.translate(err, "audit events")
	}
	return collect(rows, func(r scanner) (*audit.Event, error) {
		var e audit.Event
		var t int64
		var details string
		if err := r.Scan(&e.Seq, &e.ID, &t, &e.ActorID, &e.ActorKind, &e.ActorName, &e.AuthMethod, &e.Action,
			&e.TargetType, &e.TargetID, &e.Scope, &e.Outcome, &e.Reason, &e.SourceAddr, &e.UserAgent,
			&e.RequestID, &details); err != nil {
			return nil, err
		}
		e.Time = fromMicros(t)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, err
		}
		return &e, nil
	}, s.DB, "audit events")
}
