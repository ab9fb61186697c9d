// Package audit records security-relevant events. A Recorder appends an
// Event in the caller's transaction, so no change exists without its record:
// if the record cannot be written the change rolls back (fail closed).
package audit

import (
	"context"
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
// transaction: an audit record is only ever written with its change. It
// serializes appends, links each record to the one before it and seals it
// with Hash.
type Store interface {
	AppendEvent(ctx context.Context, e *Event) error
	// ListEvents returns at most limit events after afterSeq in sequence order.
	ListEvents(ctx context.Context, f Filter, afterSeq int64, limit int) ([]*Event, error)
	// ChainHead returns the last record's position as the chain remembers it.
	ChainHead(ctx context.Context) (Head, error)
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
