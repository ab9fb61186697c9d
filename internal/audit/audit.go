// Package audit records security-relevant events. A Recorder appends an
// Event in the caller's transaction, so no change exists without its record:
// if the record cannot be written the change rolls back (fail closed).
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Outcome is how an audited action ended.
type Outcome string

// The outcomes of an audited action.
const (
	Success Outcome = "success"
	Denied  Outcome = "denied"
	Failed  Outcome = "failed"
)

// Event is one audit record. Seq is assigned by the store on append.
type Event struct {
	ID         string         `json:"id"`
	Seq        int64          `json:"seq"`
	Time       time.Time      `json:"time"`
	ActorID    string         `json:"actor_id"`
	ActorKind  string         `json:"actor_kind"`
	ActorName  string         `json:"actor_name"`
	AuthMethod string         `json:"auth_method,omitempty"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id,omitempty"`
	Scope      string         `json:"scope"`
	Outcome    Outcome        `json:"outcome"`
	Reason     string         `json:"reason,omitempty"`
	SourceAddr string         `json:"source_addr,omitempty"`
	UserAgent  string         `json:"user_agent,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
	Details    map[string]any `json:"details,omitempty"`

	// ActorMFA says whether the actor's sign-in used a second factor, and
	// ElevationID names the just-in-time elevation the action relied on.
	ActorMFA    bool   `json:"actor_mfa"`
	ElevationID string `json:"elevation_id,omitempty"`
	// Classification is the highest data classification the action touched.
	Classification string `json:"classification,omitempty"`

	// PrevID and PrevHash link the record to the one before it; Hash is the
	// SHA-256 of the record's canonical form (see Hash). The store sets them.
	PrevID   string `json:"prev_id"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	// DetailsJSON is Details exactly as stored and hashed.
	DetailsJSON json.RawMessage `json:"-"`
}

// Filter selects events; zero fields match everything.
type Filter struct {
	Action     string
	ActorID    string
	ActorName  string
	TargetType string
	TargetID   string
	RequestID  string
	Outcome    Outcome
	// Scope selects events at this scope and below it.
	Scope string
	// From and To bound the event time (From inclusive, To exclusive).
	From, To time.Time
}

// Store appends and reads events. Append must fail when ctx carries no
// transaction: an audit record is only ever written with its change. An
// appended record is sealed into the chain later (Seal): linked to the
// record before it, with no forks and no gaps in sequence numbers, which
// commit in chain order, and hashed with Hash. Reads outside a transaction
// seal what is pending first, so a reader sees every committed record.
type Store interface {
	AppendEvent(ctx context.Context, e *Event) error
	// Seal chains every record appended and committed so far, and returns
	// how many it sealed. It runs outside a transaction.
	Seal(ctx context.Context) (int, error)
	// Appended receives after a commit that appended records; a Sealer
	// waits on it.
	Appended() <-chan struct{}
	// ListEvents returns at most limit events after afterSeq in sequence order.
	ListEvents(ctx context.Context, f Filter, afterSeq int64, limit int) ([]*Event, error)
	// ChainHead returns the chain's end as recorded at the last checkpoint.
	ChainHead(ctx context.Context) (Head, error)
	// LastRecord returns the chain's last sealed record.
	LastRecord(ctx context.Context) (Head, error)
	AddCheckpoint(ctx context.Context, c *Checkpoint) error
	// Checkpoints returns the checkpoints with sequence numbers in [from, to] (to = 0: no bound).
	Checkpoints(ctx context.Context, from, to int64) ([]*Checkpoint, error)
	RegisterKey(ctx context.Context, id string, pub []byte, at time.Time) error
	Keys(ctx context.Context) (map[string][]byte, error)
}

// Recorder fills in who, when and from where, and appends the event.
type Recorder struct {
	Store Store
	Clock enclave.Clock
	// Key keys the HMAC of Sensitive values (see Sensitive). Without one a
	// per-process random key is used, which still hides the value but does
	// not let records be correlated across restarts.
	Key []byte
}

// Sensitive marks a detail value that is personal or otherwise sensitive
// (an email address, a name typed at a failed sign-in): the record keeps an
// HMAC of it under the platform key, so equal values can be correlated by
// whoever holds the key, and the value itself never reaches the trail or a SIEM.
type Sensitive string

var processKey = func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}()

func (r *Recorder) seal(v Sensitive) string {
	key := r.Key
	if len(key) == 0 {
		key = processKey
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))[:32]
}

// sealDetails replaces Sensitive values, at any depth, with their HMAC.
func (r *Recorder) sealDetails(v any) any {
	switch x := v.(type) {
	case Sensitive:
		if x == "" {
			return ""
		}
		return r.seal(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, vv := range x {
			out[k] = r.sealDetails(vv)
		}
		return out
	}
	return v
}

// Record appends e in the transaction carried by ctx, taking the actor and
// request details from ctx where e leaves them empty.
func (r *Recorder) Record(ctx context.Context, e Event) error {
	if e.ID == "" {
		e.ID = uuid.Must(uuid.NewV7()).String()
	}
	e.Time = r.Clock.Now()
	if e.Outcome == "" {
		e.Outcome = Success
	}
	if e.Details != nil {
		e.Details = r.sealDetails(e.Details).(map[string]any)
	}
	if e.Scope == "" {
		e.Scope = "/"
	}
	meta := enclave.RequestMetaFrom(ctx)
	if a := enclave.ActorFrom(ctx); a != nil && e.ActorID == "" {
		e.ActorID, e.ActorKind, e.ActorName, e.AuthMethod = a.PrincipalID, string(a.Kind), a.Name, a.AuthMethod
		e.ActorMFA, e.ElevationID = a.MFA, a.ElevationID
	}
	if e.ActorID == "" {
		e.ActorID, e.ActorKind, e.ActorName = "anonymous", "anonymous", "anonymous"
	}
	if e.SourceAddr == "" {
		e.SourceAddr = meta.SourceAddr
	}
	if e.UserAgent == "" {
		e.UserAgent = meta.UserAgent
	}
	if e.RequestID == "" {
		e.RequestID = meta.RequestID
	}
	if err := r.Store.AppendEvent(ctx, &e); err != nil {
		return enclave.Wrap(enclave.CodeInternal, err, "audit record could not be written")
	}
	return nil
}
