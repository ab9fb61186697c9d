package workqueue_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// clock is a manual clock shared by the workers of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func setup(t *testing.T, db *sqlstore.DB) (*clock, *workqueue.Queue, workqueue.Store) {
	c := &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	store := &sqlstore.TaskStore{DB: db}
	q := &workqueue.Queue{Store: store, Tx: db, Audit: &audit.Recorder{Store: &sqlstore.AuditStore{DB: db}, Clock: c.Now}, Clock: c.Now}
	return c, q, store
}

// TestDeadWorkersTaskIsPickedUpAfterLease: a worker claims a task and dies
// (it never finishes nor renews). Before the lease expires no one else gets
// the task; after it expires another worker runs it to completion.
func TestDeadWorkersTaskIsPickedUpAfterLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		c, q, store := setup(t, db)
		task, err := q.Enqueue(ctx, "transfer", map[string]string{"file": "a.csv"}, workqueue.EnqueueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Worker A claims the task, then its process dies: nothing more happens on its side.
		if claimed, err := store.ClaimTask(ctx, []string{"transfer"}, "worker-a", c.Now(), c.Now().Add(30*time.Second)); err != nil || claimed == nil {
			t.Fatalf("worker A claim: %v %v", claimed, err)
		}
		var ran []string
		b := &workqueue.Worker{Store: store, Clock: c.Now, Owner: "worker-b", Lease: 30 * time.Second, Logger: slog.New(slog.DiscardHandler),
			Handlers: map[string]workqueue.Handler{"transfer": func(ctx context.Context, t *workqueue.Task) error {
				ran = append(ran, string(t.Payload))
				return nil
			}}}
		c.Add(29 * time.Second)
		if did, err := b.RunOnce(ctx); did || err != nil {
			t.Fatalf("worker B ran a task under a live lease (%v, %v)", did, err)
		}
		c.Add(2 * time.Second)
		if did, err := b.RunOnce(ctx); !did || err != nil {
			t.Fatalf("worker B did not pick up the expired task (%v, %v)", did, err)
		}
		if len(ran) != 1 || ran[0] != `{"file":"a.csv"}` {
			t.Fatalf("handler runs: %v", ran)
		}
		got, _ := q.Get(ctx, task.ID)
		if got.State != workqueue.Succeeded || got.Attempts != 2 {
			t.Fatalf("task after takeover: state %s attempts %d", got.State, got.Attempts)
		}
		// Worker A comes back from the dead: its lease is gone, it cannot complete.
		if err := store.CompleteTask(ctx, task.ID, "worker-a", c.Now()); err == nil {
			t.Fatal("a worker whose lease expired completed the task")
		}
	})
}

func TestRetriesWithBackoffThenDeadThenRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		c, q, store := setup(t, db)
		task, _ := q.Enqueue(ctx, "flaky", nil, workqueue.EnqueueOptions{MaxAttempts: 3})
		calls := 0
		w := &workqueue.Worker{Store: store, Clock: c.Now, Owner: "w", Logger: slog.New(slog.DiscardHandler),
			Backoff: func(attempt int) time.Duration { return time.Duration(attempt) * time.Minute },
			Handlers: map[string]workqueue.Handler{"flaky": func(ctx context.Context, t *workqueue.Task) error {
				calls++
				if calls == 2 {
					panic("handler bug")
				}
				return errors.New("downstream unavailable")
			}}}
		if did, _ := w.RunOnce(ctx); !did {
			t.Fatal("first attempt did not run")
		}
		got, _ := q.Get(ctx, task.ID)
		if got.State != workqueue.Pending || got.LastError != "downstream unavailable" || !got.RunAt.Equal(c.Now().Add(time.Minute)) {
			t.Fatalf("after first failure: %+v", got)
		}
		if did, _ := w.RunOnce(ctx); did {
			t.Fatal("retried before the backoff elapsed")
		}
		c.Add(time.Minute)
		w.RunOnce(ctx) // panics inside the handler: recorded as a failure
		got, _ = q.Get(ctx, task.ID)
		if got.State != workqueue.Pending || got.Attempts != 2 || got.LastError != "handler panicked: handler bug" {
			t.Fatalf("after panic: %+v", got)
		}
		c.Add(2 * time.Minute)
		w.RunOnce(ctx)
		got, _ = q.Get(ctx, task.ID)
		if got.State != workqueue.Dead || got.Attempts != 3 {
			t.Fatalf("after attempts ran out: %+v", got)
		}
		if _, err := q.Retry(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = q.Get(ctx, task.ID)
		if got.State != workqueue.Pending || got.Attempts != 0 {
			t.Fatalf("after retry: %+v", got)
		}
		if _, err := q.Retry(ctx, task.ID); err == nil {
			t.Fatal("retried a pending task")
		}
	})
}

func TestPermanentFailureSkipsRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		c, q, store := setup(t, db)
		task, _ := q.Enqueue(ctx, "bad", nil, workqueue.EnqueueOptions{})
		w := &workqueue.Worker{Store: store, Clock: c.Now, Owner: "w", Logger: slog.New(slog.DiscardHandler),
			Handlers: map[string]workqueue.Handler{"bad": func(context.Context, *workqueue.Task) error {
				return workqueue.Permanent(errors.New("malformed payload"))
			}}}
		w.RunOnce(ctx)
		if got, _ := q.Get(ctx, task.ID); got.State != workqueue.Dead || got.Attempts != 1 {
			t.Fatalf("permanent failure: %+v", got)
		}
	})
}

// TestEnqueueJoinsTransaction: a task enqueued in a transaction that rolls
// back does not exist.
func TestEnqueueJoinsTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		_, q, _ := setup(t, db)
		var id string
		_ = db.InTx(ctx, func(ctx context.Context) error {
			task, err := q.Enqueue(ctx, "k", nil, workqueue.EnqueueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id = task.ID
			return errors.New("the change failed")
		})
		if _, err := q.Get(ctx, id); err == nil {
			t.Fatal("task of a rolled-back transaction exists")
		}
	})
}
