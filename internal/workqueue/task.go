// Package workqueue runs background work from a persisted queue. A task is
// claimed under a lease; a worker that dies stops renewing its lease and the
// task becomes claimable again when the lease expires. Failures are retried
// with exponential backoff until a task's attempts run out, when it is dead
// and waits for an operator. Several replicas can share one queue.
package workqueue

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// State is where a task is in its life.
type State string

// Task states.
const (
	Pending   State = "pending"
	Running   State = "running"
	Succeeded State = "succeeded"
	Dead      State = "dead"
)

// Validate checks that s is a known state.
func (s State) Validate(field string) error {
	switch s {
	case Pending, Running, Succeeded, Dead:
		return nil
	}
	return enclave.FieldError(field, "%s must be one of pending, running, succeeded, dead", field)
}

// Task is one unit of background work.
type Task struct {
	ID             string          `json:"id"`
	Kind           string          `json:"kind"`
	Scope          string          `json:"scope"`
	Payload        json.RawMessage `json:"payload"`
	State          State           `json:"state"`
	Attempts       int             `json:"attempts"`
	MaxAttempts    int             `json:"max_attempts"`
	RunAt          time.Time       `json:"run_at"`
	LeaseOwner     string          `json:"lease_owner,omitempty"`
	LeaseExpiresAt *time.Time      `json:"lease_expires_at,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// Filter narrows a task listing.
type Filter struct {
	State State
	Kind  string
}

// Store persists tasks. Claim, Complete, Fail and Extend are fenced by the
// lease owner: a worker whose lease was taken over gets conflict and must
// drop the task.
type Store interface {
	EnqueueTask(ctx context.Context, t *Task) error
	// ClaimTask leases the oldest due task of the given kinds: a pending task
	// whose run time has come, or a running one whose lease has expired. It
	// returns nil when there is none.
	ClaimTask(ctx context.Context, kinds []string, owner string, now, leaseUntil time.Time) (*Task, error)
	CompleteTask(ctx context.Context, id, owner string, now time.Time) error
	// FailTask records a failed attempt: the task runs again at retryAt, or is
	// dead when retryAt is nil.
	FailTask(ctx context.Context, id, owner, msg string, retryAt *time.Time, now time.Time) error
	ExtendLease(ctx context.Context, id, owner string, until, now time.Time) error
	GetTask(ctx context.Context, id string) (*Task, error)
	// ListTasks returns at most limit tasks, newest first, before the given ID.
	ListTasks(ctx context.Context, f Filter, before string, limit int) ([]*Task, error)
	// RequeueTask makes a dead task pending again with a fresh set of attempts.
	RequeueTask(ctx context.Context, id string, now time.Time) error
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent wraps err so that the task fails at once, without retries.
func Permanent(err error) error { return permanentError{err} }

// RetryAfter wraps err so that the task is tried again after d rather than
// after the worker's backoff, and without using up an attempt's worth of
// backoff growth: for waits on something outside the platform (a scanner
// that is down) whose recovery should be noticed promptly.
func RetryAfter(err error, d time.Duration) error { return retryAfterError{err, d} }

type retryAfterError struct {
	err error
	d   time.Duration
}

func (r retryAfterError) Error() string { return r.err.Error() }
func (r retryAfterError) Unwrap() error { return r.err }

// retryDelay returns the delay err asks for, if it was wrapped with RetryAfter.
func retryDelay(err error) (time.Duration, bool) {
	var r retryAfterError
	if errors.As(err, &r) {
		return r.d, true
	}
	return 0, false
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
