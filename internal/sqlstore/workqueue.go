package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// TaskStore implements workqueue.Store.
type TaskStore struct{ DB *DB }

var _ workqueue.Store = (*TaskStore)(nil)

const taskCols = `id, kind, scope, payload, state, attempts, max_attempts, run_at, lease_owner, lease_expires_at,
	last_error, created_at, updated_at`

func scanTask(r scanner) (*workqueue.Task, error) {
	var t workqueue.Task
	var payload string
	var runAt, created, updated int64
	var owner sql.NullString
	var leaseExp sql.NullInt64
	if err := r.Scan(&t.ID, &t.Kind, &t.Scope, &payload, &t.State, &t.Attempts, &t.MaxAttempts, &runAt, &owner,
		&leaseExp, &t.LastError, &created, &updated); err != nil {
		return nil, err
	}
	t.Payload = []byte(payload)
	t.RunAt, t.CreatedAt, t.UpdatedAt = fromMicros(runAt), fromMicros(created), fromMicros(updated)
	t.LeaseOwner, t.LeaseExpiresAt = owner.String, fromNullMicros(leaseExp)
	return &t, nil
}

// EnqueueTask implements workqueue.Store.
func (s *TaskStore) EnqueueTask(ctx context.Context, t *workqueue.Task) error {
	_, err := s.DB.exec(ctx, `INSERT INTO tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Kind, t.Scope, string(t.Payload), t.State, t.Attempts, t.MaxAttempts, micros(t.RunAt),
		nullString(t.LeaseOwner), nullMicros(t.LeaseExpiresAt), t.LastError, micros(t.CreatedAt), micros(t.UpdatedAt))
	return s.DB.translate(err, "task")
}

// ClaimTask implements workqueue.Store.
func (s *TaskStore) ClaimTask(ctx context.Context, kinds []string, owner string, now, leaseUntil time.Time) (*workqueue.Task, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	var claimed *workqueue.Task
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		args := []any{micros(now), micros(now)}
		for _, k := range kinds {
			args = append(args, k)
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ")
		t, err := scanTask(s.DB.queryRow(ctx, `SELECT `+taskCols+` FROM tasks
			WHERE ((state = 'pending' AND run_at <= ?) OR (state = 'running' AND lease_expires_at <= ?))
			AND kind IN (`+marks+`)
			ORDER BY run_at, id LIMIT 1`+s.DB.Dialect.LockSkipLocked(), args...))
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return s.DB.translate(err, "task")
		}
		t.State, t.Attempts, t.LeaseOwner, t.UpdatedAt = workqueue.Running, t.Attempts+1, owner, now
		t.LeaseExpiresAt = &leaseUntil
		_, err = s.DB.exec(ctx, `UPDATE tasks SET state = 'running', attempts = ?, lease_owner = ?, lease_expires_at = ?,
			updated_at = ? WHERE id = ?`, t.Attempts, owner, micros(leaseUntil), micros(now), t.ID)
		if err != nil {
			return s.DB.translate(err, "task")
		}
		claimed = t
		return nil
	})
	return claimed, err
}

func (s *TaskStore) fenced(res sql.Result, err error, id string) error {
	err = one(res, err, s.DB, "task")
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return enclave.Errorf(enclave.CodeConflict, "task %s is no longer leased by this worker", id)
	}
	return err
}

// CompleteTask implements workqueue.Store.
func (s *TaskStore) CompleteTask(ctx context.Context, id, owner string, now time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE tasks SET state = 'succeeded', lease_owner = NULL, lease_expires_at = NULL,
		last_error = '', updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`, micros(now), id, owner)
	return s.fenced(res, err, id)
}

// FailTask implements workqueue.Store.
func (s *TaskStore) FailTask(ctx context.Context, id, owner, msg string, retryAt *time.Time, now time.Time) error {
	state, runAt := workqueue.Dead, now
	if retryAt != nil {
		state, runAt = workqueue.Pending, *retryAt
	}
	res, err := s.DB.exec(ctx, `UPDATE tasks SET state = ?, run_at = ?, last_error = ?, lease_owner = NULL,
		lease_expires_at = NULL, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`,
		state, micros(runAt), msg, micros(now), id, owner)
	return s.fenced(res, err, id)
}

// ExtendLease implements workqueue.Store.
func (s *TaskStore) ExtendLease(ctx context.Context, id, owner string, until, now time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE tasks SET lease_expires_at = ?, updated_at = ?
		WHERE id = ? AND state = 'running' AND lease_owner = ?`, micros(until), micros(now), id, owner)
	return s.fenced(res, err, id)
}

// GetTask implements workqueue.Store.
func (s *TaskStore) GetTask(ctx context.Context, id string) (*workqueue.Task, error) {
	t, err := scanTask(s.DB.queryRow(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	return t, s.DB.translate(err, "task "+id)
}

// ListTasks implements workqueue.Store.
func (s *TaskStore) ListTasks(ctx context.Context, f workqueue.Filter, before string, limit int) ([]*workqueue.Task, error) {
	rows, err := s.DB.query(ctx, `SELECT `+taskCols+` FROM tasks
		WHERE (? = '' OR id < ?) AND (? = '' OR state = ?) AND (? = '' OR kind = ?)
		ORDER BY id DESC LIMIT ?`, before, before, string(f.State), string(f.State), f.Kind, f.Kind, limit)
	if err != nil {
		return nil, s.DB.translate(err, "tasks")
	}
	return collect(rows, scanTask, s.DB, "tasks")
}

// RequeueTask implements workqueue.Store.
func (s *TaskStore) RequeueTask(ctx context.Context, id string, now time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE tasks SET state = 'pending', attempts = 0, run_at = ?, updated_at = ?
		WHERE id = ? AND state = 'dead'`, micros(now), micros(now), id)
	return one(res, err, s.DB, "dead task "+id)
}
