package sqlstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
)

// AuditStore implements audit.Store.
type AuditStore struct{ DB *DB }

var _ audit.Store = (*AuditStore)(nil)

// errNoTx is returned when an audit record or outbox message is written
// outside a transaction: it would not be atomic with the change it records.
var errNoTx = errors.New("sqlstore: must be called inside a transaction")

const auditCols = `seq, id, time, actor_id, actor_kind, actor_name, auth_method, action, target_type, target_id,
	scope, outcome, reason, source_addr, user_agent, request_id, details, actor_mfa, elevation_id, classification,
	prev_id, prev_hash, hash`

// AppendEvent implements audit.Store. It locks the chain's head row, so
// appends are serialized on both engines and sequence numbers commit in
// chain order, links the record to the head and seals it.
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
	e.DetailsJSON = details
	head, err := s.lockHead(ctx)
	if err != nil {
		return err
	}
	e.Seq, e.PrevID, e.PrevHash = head.Seq+1, head.EventID, head.Hash
	e.Hash = audit.Hash(e)
	if err := s.insert(ctx, e); err != nil {
		return err
	}
	_, err = s.DB.exec(ctx, `UPDATE audit_chain_head SET seq = ?, event_id = ?, hash = ? WHERE id = 1`, e.Seq, e.ID, e.Hash)
	return s.DB.translate(err, "audit chain head")
}

func (s *AuditStore) insert(ctx context.Context, e *audit.Event) error {
	_, err := s.DB.exec(ctx, `INSERT INTO audit_events (seq, id, time, actor_id, actor_kind, actor_name, auth_method, action,
		target_type, target_id, scope, outcome, reason, source_addr, user_agent, request_id, details, actor_mfa, elevation_id,
		classification, prev_id, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.ID, micros(e.Time), e.ActorID, e.ActorKind, e.ActorName, e.AuthMethod, e.Action, e.TargetType, e.TargetID,
		e.Scope, e.Outcome, e.Reason, e.SourceAddr, e.UserAgent, e.RequestID, string(e.DetailsJSON), e.ActorMFA,
		e.ElevationID, e.Classification, e.PrevID, e.PrevHash, e.Hash)
	return s.DB.translate(err, "audit event")
}

// lockHead reads the head row and locks it until the transaction ends
// (SELECT … FOR UPDATE on PostgreSQL; SQLite's write lock is already held).
// Records written before the chain existed are chained first.
func (s *AuditStore) lockHead(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	if err := s.DB.queryRow(ctx, `SELECT seq, event_id, hash FROM audit_chain_head WHERE id = 1`+s.DB.Dialect.LockForUpdate()).Scan(&h.Seq, &h.EventID, &h.Hash); err != nil {
		return h, s.DB.translate(err, "audit chain head")
	}
	if h.Seq == 0 {
		return s.chainLegacy(ctx)
	}
	return h, nil
}

// chainLegacy seals, in order, records appended before the chain existed.
func (s *AuditStore) chainLegacy(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	evs, err := s.ListEvents(ctx, audit.Filter{}, 0, 1<<30)
	if err != nil {
		return h, err
	}
	for _, e := range evs {
		e.PrevID, e.PrevHash = h.EventID, h.Hash
		e.Hash = audit.Hash(e)
		if _, err := s.DB.exec(ctx, `UPDATE audit_events SET prev_id = ?, prev_hash = ?, hash = ? WHERE seq = ?`,
			e.PrevID, e.PrevHash, e.Hash, e.Seq); err != nil {
			return h, s.DB.translate(err, "audit event")
		}
		h = audit.Head{Seq: e.Seq, EventID: e.ID, Hash: e.Hash}
	}
	if len(evs) > 0 {
		_, err = s.DB.exec(ctx, `UPDATE audit_chain_head SET seq = ?, event_id = ?, hash = ? WHERE id = 1`, h.Seq, h.EventID, h.Hash)
	}
	return h, s.DB.translate(err, "audit chain head")
}

// ListEvents implements audit.Store.
func (s *AuditStore) ListEvents(ctx context.Context, f audit.Filter, afterSeq int64, limit int) ([]*audit.Event, error) {
	var from, to int64
	if !f.From.IsZero() {
		from = micros(f.From)
	}
	if !f.To.IsZero() {
		to = micros(f.To)
	}
	scope := strings.TrimSuffix(f.Scope, "/")
	rows, err := s.DB.query(ctx, `SELECT `+auditCols+` FROM audit_events
		WHERE seq > ? AND (? = '' OR action = ?) AND (? = '' OR actor_id = ?) AND (? = '' OR actor_name = ?)
		AND (? = '' OR target_type = ?) AND (? = '' OR target_id = ?) AND (? = '' OR request_id = ?)
		AND (? = '' OR outcome = ?) AND (? = '' OR scope = ? OR scope LIKE ?)
		AND (CAST(? AS BIGINT) = 0 OR time >= ?) AND (CAST(? AS BIGINT) = 0 OR time < ?)
		ORDER BY seq LIMIT ?`, afterSeq, f.Action, f.Action, f.ActorID, f.ActorID, f.ActorName, f.ActorName,
		f.TargetType, f.TargetType, f.TargetID, f.TargetID, f.RequestID, f.RequestID, string(f.Outcome), string(f.Outcome),
		scope, scope, scope+"/%", from, from, to, to, limit)
	if err != nil {
		return nil, s.DB.translate(err, "audit events")
	}
	return collect(rows, scanEvent, s.DB, "audit events")
}

func scanEvent(r scanner) (*audit.Event, error) {
	var e audit.Event
	var t int64
	var details string
	if err := r.Scan(&e.Seq, &e.ID, &t, &e.ActorID, &e.ActorKind, &e.ActorName, &e.AuthMethod, &e.Action,
		&e.TargetType, &e.TargetID, &e.Scope, &e.Outcome, &e.Reason, &e.SourceAddr, &e.UserAgent,
		&e.RequestID, &details, &e.ActorMFA, &e.ElevationID, &e.Classification, &e.PrevID, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = fromMicros(t)
	e.DetailsJSON = json.RawMessage(details)
	// Details that do not parse (a tampered row) stay available as raw
	// JSON for verification, which reports them.
	_ = json.Unmarshal([]byte(details), &e.Details)
	return &e, nil
}

// ChainHead implements audit.Store.
func (s *AuditStore) ChainHead(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	err := s.DB.queryRow(ctx, `SELECT seq, event_id, hash FROM audit_chain_head WHERE id = 1`).Scan(&h.Seq, &h.EventID, &h.Hash)
	return h, s.DB.translate(err, "audit chain head")
}

// AddCheckpoint implements audit.Store.
func (s *AuditStore) AddCheckpoint(ctx context.Context, c *audit.Checkpoint) error {
	_, err := s.DB.exec(ctx, `INSERT INTO audit_checkpoints (seq, event_id, hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)`,
		c.Seq, c.EventID, c.Hash, micros(c.Time), c.KeyID, c.Signature)
	return s.DB.translate(err, "audit checkpoint")
}

// Checkpoints implements audit.Store.
func (s *AuditStore) Checkpoints(ctx context.Context, from, to int64) ([]*audit.Checkpoint, error) {
	rows, err := s.DB.query(ctx, `SELECT seq, event_id, hash, time, key_id, signature FROM audit_checkpoints
		WHERE seq >= ? AND (CAST(? AS BIGINT) = 0 OR seq <= ?) ORDER BY seq`, from, to, to)
	if err != nil {
		return nil, s.DB.translate(err, "audit checkpoints")
	}
	return collect(rows, func(r scanner) (*audit.Checkpoint, error) {
		var c audit.Checkpoint
		var t int64
		err := r.Scan(&c.Seq, &c.EventID, &c.Hash, &t, &c.KeyID, &c.Signature)
		c.Time = fromMicros(t)
		return &c, err
	}, s.DB, "audit checkpoints")
}

// RegisterKey implements audit.Store.
func (s *AuditStore) RegisterKey(ctx context.Context, id string, pub []byte, at time.Time) error {
	_, err := s.DB.exec(ctx, `INSERT INTO audit_keys (id, public_key, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		id, hex.EncodeToString(pub), micros(at))
	return s.DB.translate(err, "audit key")
}

// Keys implements audit.Store.
func (s *AuditStore) Keys(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.DB.query(ctx, `SELECT id, public_key FROM audit_keys`)
	if err != nil {
		return nil, s.DB.translate(err, "audit keys")
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id, pub string
		if err := rows.Scan(&id, &pub); err != nil {
			return nil, s.DB.translate(err, "audit keys")
		}
		b, err := hex.DecodeString(pub)
		if err != nil {
			return nil, err
		}
		out[id] = b
	}
	return out, s.DB.translate(rows.Err(), "audit keys")
}
