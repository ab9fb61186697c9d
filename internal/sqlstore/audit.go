package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
)

// AuditStore implements audit.Store. Records are appended unsealed, in the
// transaction of the change they record, to audit_pending; Seal moves them
// into the chain (audit_events), giving each its sequence number and hash.
// Appending therefore costs one insert into a table with no index but its
// key, and writers never wait for each other on the chain's end.
type AuditStore struct {
	DB *DB

	once  sync.Once
	woken chan struct{}
}

// errNoTx is returned when an audit record or outbox message is written
// outside a transaction: it would not be atomic with the change it records.
var errNoTx = errors.New("sqlstore: must be called inside a transaction")

const auditCols = `seq, id, time, actor_id, actor_kind, actor_name, auth_method, action, target_type, target_id,
	scope, outcome, reason, source_addr, user_agent, request_id, details, actor_mfa, elevation_id, classification,
	prev_id, prev_hash, hash`

const pendingCols = `id, time, actor_id, actor_kind, actor_name, auth_method, action, target_type, target_id,
	scope, outcome, reason, source_addr, user_agent, request_id, details, actor_mfa, elevation_id, classification`

const insertPending = `INSERT INTO audit_pending (` + pendingCols + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

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
	e.DetailsJSON = details
	e.Seq, e.PrevID, e.PrevHash, e.Hash = 0, "", "", ""
	if _, err := s.DB.exec(ctx, insertPending, e.ID, micros(e.Time), e.ActorID, e.ActorKind, e.ActorName, e.AuthMethod,
		e.Action, e.TargetType, e.TargetID, e.Scope, e.Outcome, e.Reason, e.SourceAddr, e.UserAgent, e.RequestID,
		string(e.DetailsJSON), e.ActorMFA, e.ElevationID, e.Classification); err != nil {
		return s.DB.translate(err, "audit event")
	}
	afterCommit(ctx, s.wake)
	return nil
}

func (s *AuditStore) init() { s.once.Do(func() { s.woken = make(chan struct{}, 1) }) }

func (s *AuditStore) wake() {
	s.init()
	select {
	case s.woken <- struct{}{}:
	default:
	}
}

// Appended implements audit.Store: it receives after a commit that
// appended records (coalesced; a receive may stand for many commits).
func (s *AuditStore) Appended() <-chan struct{} {
	s.init()
	return s.woken
}

// sealBatch is how many records one sealing transaction takes; sealChunk
// how many rows one statement inserts or deletes.
const (
	sealBatch = 512
	sealChunk = 64
)

// Seal implements audit.Store. One sealer at a time extends the chain, on
// any replica: each batch locks the chain's head row (SQLite's write lock
// does the same), reads the chain's last record, takes the oldest visible
// pending records in the order they were written, links and hashes them,
// inserts them into the chain and deletes them from audit_pending, all in
// one transaction. Sequence numbers therefore commit in chain order, with
// no forks and no gaps. A record whose transaction was still open when a
// batch ran is sealed by a later batch, after records written later.
func (s *AuditStore) Seal(ctx context.Context) (int, error) {
	if InTransaction(ctx) {
		return 0, errors.New("sqlstore: audit records are sealed outside a transaction")
	}
	total := 0
	for {
		n, err := s.sealBatch(ctx)
		total += n
		if err != nil || n < sealBatch {
			return total, err
		}
	}
}

// sealPending seals what is pending before a read outside a transaction,
// so that readers see every committed record. It costs one indexed probe
// when nothing is pending.
func (s *AuditStore) sealPending(ctx context.Context) error {
	if InTransaction(ctx) {
		return nil
	}
	var one int
	err := s.DB.queryRow(ctx, `SELECT 1 FROM audit_pending LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return s.DB.translate(err, "audit records")
	}
	_, err = s.Seal(ctx)
	return err
}

func (s *AuditStore) sealBatch(ctx context.Context) (int, error) {
	var sealed int
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		var one int
		if err := s.DB.queryRow(ctx, `SELECT id FROM audit_chain_head WHERE id = 1`+s.DB.Dialect.LockForUpdate()).Scan(&one); err != nil {
			return s.DB.translate(err, "audit chain head")
		}
		rows, err := s.DB.query(ctx, `SELECT pid, `+pendingCols+` FROM audit_pending ORDER BY pid LIMIT ?`, sealBatch)
		if err != nil {
			return s.DB.translate(err, "audit records")
		}
		var pids []int64
		evs, err := collect(rows, func(r scanner) (*audit.Event, error) {
			var e audit.Event
			var pid, t int64
			var details string
			err := r.Scan(&pid, &e.ID, &t, &e.ActorID, &e.ActorKind, &e.ActorName, &e.AuthMethod, &e.Action,
				&e.TargetType, &e.TargetID, &e.Scope, &e.Outcome, &e.Reason, &e.SourceAddr, &e.UserAgent,
				&e.RequestID, &details, &e.ActorMFA, &e.ElevationID, &e.Classification)
			pids = append(pids, pid)
			e.Time, e.DetailsJSON = fromMicros(t), json.RawMessage(details)
			return &e, err
		}, s.DB, "audit records")
		if err != nil || len(evs) == 0 {
			return err
		}
		head, err := s.lastRecord(ctx)
		if err != nil {
			return err
		}
		for _, e := range evs {
			e.Seq, e.PrevID, e.PrevHash = head.Seq+1, head.EventID, head.Hash
			e.Hash = audit.Hash(e)
			head = &audit.Head{Seq: e.Seq, EventID: e.ID, Hash: e.Hash}
		}
		for i := 0; i < len(evs); i += sealChunk {
			chunk := evs[i:min(i+sealChunk, len(evs))]
			args := make([]any, 0, len(chunk)*23)
			for _, e := range chunk {
				args = append(args, e.Seq, e.ID, micros(e.Time), e.ActorID, e.ActorKind, e.ActorName, e.AuthMethod, e.Action,
					e.TargetType, e.TargetID, e.Scope, e.Outcome, e.Reason, e.SourceAddr, e.UserAgent, e.RequestID,
					string(e.DetailsJSON), e.ActorMFA, e.ElevationID, e.Classification, e.PrevID, e.PrevHash, e.Hash)
			}
			if _, err := s.DB.exec(ctx, rowsSQL(`INSERT INTO audit_events (`+auditCols+`) VALUES `, 23, len(chunk)), args...); err != nil {
				return s.DB.translate(err, "audit event")
			}
			ids := make([]any, 0, len(chunk))
			for _, pid := range pids[i : i+len(chunk)] {
				ids = append(ids, pid)
			}
			if _, err := s.DB.exec(ctx, inSQL(`DELETE FROM audit_pending WHERE pid IN `, len(chunk)), ids...); err != nil {
				return s.DB.translate(err, "audit records")
			}
		}
		sealed = len(evs)
		return nil
	})
	return sealed, err
}

var batchSQL sync.Map // statement text by prefix, width and rows

// rowsSQL returns prefix followed by n rows of width placeholders.
func rowsSQL(prefix string, width, n int) string {
	key := fmt.Sprint(prefix, "|", width, "|", n)
	if v, ok := batchSQL.Load(key); ok {
		return v.(string)
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	q := prefix + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	batchSQL.Store(key, q)
	return q
}

// inSQL returns prefix followed by a list of n placeholders.
func inSQL(prefix string, n int) string { return rowsSQL(prefix, n, 1) }

// lastRecord reads the chain's last sealed record, chaining first any
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
// Outside a transaction, pending records are sealed first, so a reader sees
// every committed record.
func (s *AuditStore) ListEvents(ctx context.Context, f audit.Filter, afterSeq int64, limit int) ([]*audit.Event, error) {
	if err := s.sealPending(ctx); err != nil {
		return nil, err
	}
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

// LastRecord implements audit.Store: the last sealed record (outside a
// transaction, after sealing what is pending).
func (s *AuditStore) LastRecord(ctx context.Context) (audit.Head, error) {
	if err := s.sealPending(ctx); err != nil {
		return audit.Head{}, err
	}
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
