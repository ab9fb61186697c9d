package workqueue

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// DefaultMaxAttempts is how often a task runs before it is dead.
const DefaultMaxAttempts = 8

// ResourceKind is the kind policies select tasks by.
const ResourceKind = "task"

// Queue enqueues tasks and lets operators see and retry them.
type Queue struct {
	// Admission runs every create, update and delete through the assigned
	// policies, in the transaction that stores it (policy.Service).
	Admission enclave.Admitter
	Store     Store
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Clock     enclave.Clock
}

// EnqueueOptions tune one task.
type EnqueueOptions struct {
	Scope       string
	RunAt       time.Time
	MaxAttempts int
}

// Enqueue adds a task. Called with a context that carries a transaction it
// joins it, so the task exists only if the change that asked for it commits.
func (q *Queue) Enqueue(ctx context.Context, kind string, payload any, opts EnqueueOptions) (*Task, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInternal, err, "task payload is not JSON")
	}
	now := q.Clock.Now()
	t := &Task{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, Scope: opts.Scope, Payload: raw,
		State: Pending, MaxAttempts: opts.MaxAttempts, RunAt: opts.RunAt, CreatedAt: now, UpdatedAt: now}
	if t.Scope == "" {
		t.Scope = "/"
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = DefaultMaxAttempts
	}
	if t.RunAt.IsZero() {
		t.RunAt = now
	}
	if err := q.Store.EnqueueTask(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// Get returns one task.
func (q *Queue) Get(ctx context.Context, id string) (*Task, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, enclave.FieldError("id", "id is not a task ID")
	}
	return q.Store.GetTask(ctx, id)
}

// List returns one page of tasks, newest first, and the next page's token.
func (q *Queue) List(ctx context.Context, f Filter, page enclave.Page) ([]*Task, string, error) {
	if f.State != "" {
		if err := f.State.Validate("state"); err != nil {
			return nil, "", err
		}
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	ts, err := q.Store.ListTasks(ctx, f, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	ts, next := enclave.PageOf(ts, page.Size, func(t *Task) string { return t.ID })
	return ts, next, nil
}

// Retry makes a dead task pending again. Only dead tasks can be retried: a
// pending or running one is already on its way.
func (q *Queue) Retry(ctx context.Context, id string) (*Task, error) {
	var t *Task
	err := q.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if t, err = q.Get(ctx, id); err != nil {
			return err
		}
		if t.State != Dead {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "task %s is %s; only dead tasks can be retried", t.ID, t.State)
		}
		now, old := q.Clock.Now(), *t
		t.State, t.Attempts, t.RunAt, t.UpdatedAt = Pending, 0, now, now
		if err := enclave.Admit(ctx, q.Admission, enclave.Change{Kind: ResourceKind, Operation: enclave.OpUpdate,
			Scope: t.Scope, Object: t, Old: &old}); err != nil {
			return err
		}
		if err := q.Store.RequeueTask(ctx, t.ID, now); err != nil {
			return err
		}
		if err := q.Audit.Record(ctx, audit.Event{Action: "task.retry", TargetType: "task", TargetID: t.ID,
			Scope: t.Scope, Details: map[string]any{"kind": t.Kind, "last_error": t.LastError}}); err != nil {
			return err
		}
		t, err = q.Store.GetTask(ctx, t.ID)
		return err
	})
	return t, err
}
