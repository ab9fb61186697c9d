// Package audit records security-relevant events. A Recorder appends an
// Event in the caller's transaction, so no change exists without its record:
// if the record cannot be written the change rolls back (fail closed).
package audit

import (
	"context"
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
}

// Filter selects events; zero fields match everything.
type Filter struct {
	Action     string
	ActorID    string
	TargetType string
	TargetID   string
	RequestID  string
}

// Store appends and reads events. Append must fail when ctx carries no
// transaction: an audit record is only ever written with its change.
type Store interface {
	AppendEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, f Filter, afterSeq int64, limit int) ([]*Event, error)
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
