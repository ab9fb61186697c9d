package access

import (
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// ElevationState is where a just-in-time elevation is in its life:
// pending → active → expired, or pending → rejected | cancelled, or
// active → revoked.
type ElevationState string

// Elevation states.
const (
	ElevationPending   ElevationState = "pending"
	ElevationActive    ElevationState = "active"
	ElevationRejected  ElevationState = "rejected"
	ElevationCancelled ElevationState = "cancelled"
	ElevationExpired   ElevationState = "expired"
	ElevationRevoked   ElevationState = "revoked"
)

// Elevation is a request for a role at a scope for a limited time, and,
// once approved by someone else, the temporary access itself.
type Elevation struct {
	ID            string         `json:"id"`
	PrincipalID   string         `json:"principal_id"`
	PrincipalName string         `json:"principal_name"`
	Role          string         `json:"role"`
	Scope         Scope          `json:"scope"`
	Duration      time.Duration  `json:"duration"`
	Justification string         `json:"justification"`
	State         ElevationState `json:"state"`
	RequestedAt   time.Time      `json:"requested_at"`
	DecidedBy     string         `json:"decided_by,omitempty"`
	DecidedAt     *time.Time     `json:"decided_at,omitempty"`
	DecisionNote  string         `json:"decision_note,omitempty"`
	ActivatedAt   *time.Time     `json:"activated_at,omitempty"`
	ExpiresAt     *time.Time     `json:"expires_at,omitempty"`
	EndedAt       *time.Time     `json:"ended_at,omitempty"`
}

// ElevationRequest asks for a role at a scope. Duration is a Go duration
// string such as "2h" or "90m".
type ElevationRequest struct {
	Role          string `json:"role"`
	Scope         Scope  `json:"scope"`
	Duration      string `json:"duration"`
	Justification string `json:"justification"`
}

// ElevationDecision approves or rejects a request, with an optional note.
type ElevationDecision struct {
	Note string `json:"note,omitempty"`
}

// ElevationFilter narrows a listing.
type ElevationFilter struct {
	State       ElevationState
	PrincipalID string
	// Scope selects elevations at this scope and below it.
	Scope Scope
}

// Validate checks a state filter.
func (s ElevationState) Validate(field string) error {
	switch s {
	case ElevationPending, ElevationActive, ElevationRejected, ElevationCancelled, ElevationExpired, ElevationRevoked:
		return nil
	}
	return enclave.FieldError(field, "%s must be pending, active, rejected, cancelled, expired or revoked", field)
}

// DefaultMinElevation is the shortest elevation that may be requested,
// unless the platform is configured otherwise.
const DefaultMinElevation = 5 * time.Minute

// PendingElevationTTL is how long a request may wait for a decision.
const PendingElevationTTL = 24 * time.Hour

// ExpireElevationTask is the work-queue kind that ends an elevation.
const ExpireElevationTask = "access.elevation.expire"
