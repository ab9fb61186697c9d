package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
)

// AuditStore implements audit.Store.
type AuditStore struct {
	DB *DB
	// head caches the last committed record, so an append usually costs one
	// statement. It is only a guess: the sequence number's uniqueness decides.
	mu   sync.Mutex
	head *audit.Head
}

// errNoTx is returned when an audit record or outbox message is written
// outside a transaction: it would not be atomic with the change it records.
var errNoTx = errors.New("sqlstore: must be called inside a transaction")

const auditCols = `seq, id, time, actor_id, actor_kind, actor_name, auth_method, action, target_type, target_id,
	scope, outcome, reason, source_addr, user_agent, request_id, details, actor_mfa, elevation_id, classification,
	prev_id, prev_hash, hash`

// AppendEvent implements audit.Store. Appends are optimistic: the record
// links to the last committed record as this process knows it and takes
// the next sequence number; if another writer took that number first the
// insert does nothing (waiting, on PostgreSQL, for the other transaction to
// end), and the append reloads the last record and tries again. So the chain
// has no forks and no gaps, and sequence numbers commit in chain order.
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
	s.mu.Lock()
	cached := s.head
	s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		head := cached
		if head == nil {
			if head, err = s.lastRecord(ctx); err != nil {
				return err
			}
		}
		e.Seq, e.PrevID, e.PrevHash = head.Seq+1, head.EventID, head.Hash
		e.Hash = audit.Hash(e)
		res, err := s.DB.exec(ctx, insertEvent, s.eventArgs(e)...)
		if err != nil {
			return s.DB.translate(err, "audit event")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			break
		}
		if attempt >= 100 {
			return errors.New("audit append: the chain kept moving; giving up")
		}
		cached = nil // someone else appended: read the chain's real end
	}
	sealed := audit.Head{Seq: e.Seq, EventID: e.ID, Hash: e.Hash}
	afterCommit(ctx, func() {
		s.mu.Lock()
		if s.head == nil || s.head.Seq < sealed.Seq {
			s.head = &sealed
		}
		s.mu.Unlock()
	})
	return nil
}

// lastRecord reads the chain's last committed record, chaining first any
// records written before the chain existed.
func (s *AuditStore) lastRecord(ctx context.Context) (*audit.Head, error) {
	var h audit.Head
	err := s.DB.queryRow(ctx, `SELECT seq, id, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.EventID, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return &audit.Head{}, nil
	}
	if err != nil {
		return nil, s.DB.translate(err, "audit chain")
	}
	if h.Hash == "" {
		legacy, err := s.chainLegacy(ctx)
		return &legacy, err
	}
	return &h, nil
}

const insertEvent = `INSERT INTO audit_events (seq, id, time, actor_id, actor_kind, actor_name, auth_method, action,
	target_type, target_id, scope, outcome, reason, source_addr, user_agent, request_id, details, actor_mfa, elevation_id,
	classification, prev_id, prev_hash, hash)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING`

func (s *AuditStore) eventArgs(e *audit.Event) []any {
	return []any{e.Seq, e.ID, micros(e.Time), e.ActorID, e.ActorKind, e.ActorName, e.AuthMethod, e.Action, e.TargetType, e.TargetID,
		e.Scope, e.Outcome, e.Reason, e.SourceAddr, e.UserAgent, e.RequestID, string(e.DetailsJSON), e.ActorMFA,
		e.ElevationID, e.Classification, e.PrevID, e.PrevHash, e.Hash}
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
	return h, nil
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

// ChainHead implements audit.Store: the chain's end as last recorded with
// a checkpoint (see LastRecord for the end as it is now).
func (s *AuditStore) ChainHead(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	err := s.DB.queryRow(ctx, `SELECT seq, event_id, hash FROM audit_chain_head WHERE id = 1`).Scan(&h.Seq, &h.EventID, &h.Hash)
	return h, s.DB.translate(err, "audit chain head")
}

// LastRecord implements audit.Store.
func (s *AuditStore) LastRecord(ctx context.Context) (audit.Head, error) {
	h, err := s.lastRecord(ctx)
	if err != nil {
		return audit.Head{}, err
	}
	return *h, nil
}

// AddCheckpoint implements audit.Store. The head row moves with it, so a
// later truncation shows against both.
func (s *AuditStore) AddCheckpoint(ctx context.Context, c *audit.Checkpoint) error {
	_, err := s.DB.exec(ctx, `INSERT INTO audit_checkpoints (seq, event_id, hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)`,
		c.Seq, c.EventID, c.Hash, micros(c.Time), c.KeyID, c.Signature)
	if err != nil {
		return s.DB.translate(err, "audit checkpoint")
	}
	_, err = s.DB.exec(ctx, `UPDATE audit_chain_head SET seq = ?, event_id = ?, hash = ? WHERE id = 1 AND seq < ?`, c.Seq, c.EventID, c.Hash, c.Seq)
	return s.DB.translate(err, "audit chain head")
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
