package workqueue

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Handler does one task. Returning an error retries it later, unless the
// error is Permanent. A handler must be idempotent: a task whose worker died
// after finishing but before recording it runs again.
type Handler func(ctx context.Context, t *Task) error

// Worker claims tasks and runs their handlers.
type Worker struct {
	Store    Store
	Clock    enclave.Clock
	Owner    string
	Handlers map[string]Handler
	// Lease is how long a claim holds without renewal; the worker renews it
	// at a third of that while a handler runs.
	Lease time.Duration
	// Poll is how long an idle worker waits before looking again.
	Poll        time.Duration
	Concurrency int
	// Backoff says how long to wait before the next attempt.
	Backoff func(attempt int) time.Duration
	Logger  *slog.Logger
}

// DefaultBackoff doubles from one second up to ten minutes, with jitter so
// that failures of many tasks do not retry in lockstep.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Second << min(attempt-1, 10)
	if d > 10*time.Minute {
		d = 10 * time.Minute
	}
	return d/2 + rand.N(d/2+1)
}

func (w *Worker) kinds() []string {
	ks := make([]string, 0, len(w.Handlers))
	for k := range w.Handlers {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (w *Worker) defaults() {
	if w.Lease <= 0 {
		w.Lease = 30 * time.Second
	}
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 1
	}
	if w.Backoff == nil {
		w.Backoff = DefaultBackoff
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
}

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	if len(w.Handlers) == 0 {
		return
	}
	var wg sync.WaitGroup
	for range w.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				did, err := w.RunOnce(ctx)
				if err != nil && ctx.Err() == nil {
					w.Logger.ErrorContext(ctx, "work queue", "error", err)
				}
				if !did || err != nil {
					select {
					case <-ctx.Done():
					case <-time.After(w.Poll):
					}
				}
			}
		}()
	}
	wg.Wait()
}

// RunOnce claims one due task and runs it. It reports whether there was one.
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	w.defaults()
	now := w.Clock.Now()
	t, err := w.Store.ClaimTask(ctx, w.kinds(), w.Owner, now, now.Add(w.Lease))
	if err != nil || t == nil {
		return false, err
	}
	runErr := w.run(ctx, t)
	now = w.Clock.Now()
	if runErr == nil {
		return true, w.Store.CompleteTask(ctx, t.ID, w.Owner, now)
	}
	w.Logger.WarnContext(ctx, "task failed", "task", t.ID, "kind", t.Kind, "attempt", t.Attempts, "error", runErr)
	var retryAt *time.Time
	if !IsPermanent(runErr) && t.Attempts < t.MaxAttempts {
		at := now.Add(w.Backoff(t.Attempts))
		if d, ok := retryDelay(runErr); ok {
			at = now.Add(d)
		}
		retryAt = &at
	}
	msg := runErr.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	return true, w.Store.FailTask(ctx, t.ID, w.Owner, msg, retryAt, now)
}

// run calls the handler, renewing the lease while it works and turning a
// panic into a failure of the task rather than of the worker.
func (w *Worker) run(ctx context.Context, t *Task) (err error) {
	h := w.Handlers[t.Kind]
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(w.Lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				now := w.Clock.Now()
				if err := w.Store.ExtendLease(ctx, t.ID, w.Owner, now.Add(w.Lease), now); err != nil {
					w.Logger.WarnContext(ctx, "lost task lease", "task", t.ID, "error", err)
					cancel()
					return
				}
			}
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(hctx, t)
}
