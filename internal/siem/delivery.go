package siem

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// DefaultBackoff doubles from one second up to one minute, with jitter. A
// SOC wants its feed back soon after the receiver is, so the ceiling is far
// below the work queue's.
func DefaultBackoff(failures int) time.Duration {
	d := time.Second << min(max(failures-1, 0), 6)
	if d > time.Minute {
		d = time.Minute
	}
	return d/2 + rand.N(d/2+1)
}

// errNotHeld says another process holds the sink's lease.
var errNotHeld = errors.New("siem: another process delivers this sink")

// maxErrorText bounds the error text kept in a sink's state and audit records.
const maxErrorText = 1000

// attempt is what one delivery step did.
type attempt struct {
	delivered int
	// more is set when a full batch went out: more events may be waiting.
	more bool
	// retryAt is when the sink is next due after a failure.
	retryAt time.Time
}

func leaseName(sinkID string) string { return "audit-sink/" + sinkID }

// DeliverOnce delivers the next batch of the named sink, if this process
// holds (or takes) the sink's lease and the sink is due, and returns how many
// events went out. The Run loop does the same continuously; tests and
// operators call this to step delivery by hand.
func (s *Service) DeliverOnce(ctx context.Context, name string) (int, error) {
	s.defaults()
	sk, err := s.Store.GetSink(ctx, name)
	if err != nil {
		return 0, err
	}
	if !sk.Enabled {
		return 0, enclave.Errorf(enclave.CodeFailedPrecondition, "sink %s is disabled", name)
	}
	a, err := s.deliver(ctx, sk)
	if errors.Is(err, errNotHeld) {
		return 0, enclave.Errorf(enclave.CodeConflict, "another process delivers sink %s", name)
	}
	return a.delivered, err
}

// deliver takes the sink's lease and sends the batch after its cursor.
// Success moves the cursor past the batch; failure schedules a retry.
// Either way the state and, when the sink starts or stops failing, an audit
// record are written in one transaction, fenced by the lease.
func (s *Service) deliver(ctx context.Context, sk *Sink) (attempt, error) {
	lock := s.sinkLock(sk.ID)
	lock.Lock()
	defer lock.Unlock()
	now := s.Clock.Now()
	held, err := s.Leases.AcquireLease(ctx, leaseName(sk.ID), s.Owner, now, now.Add(s.Lease))
	if err != nil {
		return attempt{}, err
	}
	if !held {
		return attempt{}, errNotHeld
	}
	st, err := s.Store.GetState(ctx, sk.ID)
	if err != nil {
		return attempt{}, err
	}
	if st.NextAttemptAt != nil && st.NextAttemptAt.After(now) {
		return attempt{retryAt: *st.NextAttemptAt}, nil
	}
	batch := sk.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	events, err := s.Events.ListEvents(ctx, audit.Filter{}, st.Cursor, batch)
	if err != nil || len(events) == 0 {
		return attempt{}, err
	}
	sender, err := s.sender(sk)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, s.SendTimeout)
		err = sender.Send(sctx, events)
		cancel()
	}
	if err != nil {
		if ctx.Err() != nil {
			return attempt{}, ctx.Err() // shutting down: not the sink's fault
		}
		s.dropSender(sk.ID) // reconnect, reopen, on the next attempt
		return s.failed(ctx, sk, st, now, err)
	}
	return s.succeeded(ctx, sk, st, events, now)
}

func (s *Service) sinkLock(id string) *sync.Mutex {
	m, _ := s.deliverM.LoadOrStore(id, &sync.Mutex{})
	return m.(*sync.Mutex)
}

// systemCtx is ctx acting as the platform itself, for audit records of
// delivery.
func systemCtx(ctx context.Context) context.Context {
	return enclave.WithActor(ctx, enclave.SystemActor("audit-sinks"))
}

func (s *Service) succeeded(ctx context.Context, sk *Sink, st *State, events []*audit.Event, now time.Time) (attempt, error) {
	prev := *st
	st.Cursor = events[len(events)-1].Seq
	st.Delivered += int64(len(events))
	st.ConsecutiveFailures, st.FailingSince, st.NextAttemptAt, st.LastError = 0, nil, nil, ""
	st.LastSuccessAt, st.UpdatedAt = &now, now
	err := s.Tx.InTx(systemCtx(ctx), func(ctx context.Context) error {
		ok, err := s.Store.SaveState(ctx, st, leaseName(sk.ID), s.Owner, s.Clock.Now())
		if err != nil || !ok {
			return errors.Join(err, errIf(!ok, errNotHeld))
		}
		if prev.ConsecutiveFailures == 0 {
			return nil
		}
		details := map[string]any{"name": sk.Name, "kind": sk.Kind, "failed_attempts": prev.ConsecutiveFailures,
			"cursor": st.Cursor, "last_error": prev.LastError}
		reason := fmt.Sprintf("sink %s delivers again after %d failed attempts", sk.Name, prev.ConsecutiveFailures)
		if prev.FailingSince != nil {
			details["failing_since"] = prev.FailingSince.UTC().Format(time.RFC3339Nano)
			reason += " since " + prev.FailingSince.UTC().Format(time.RFC3339)
		}
		return s.Audit.Record(ctx, audit.Event{Action: "audit.sink.recovered", TargetType: "audit_sink", TargetID: sk.ID,
			Outcome: audit.Success, Reason: reason, Details: details})
	})
	if err != nil {
		// The batch went out but the cursor did not move: it goes out
		// again, which at-least-once allows.
		return attempt{}, err
	}
	s.count(sk, len(events), 0)
	s.invalidate()
	if prev.ConsecutiveFailures > 0 {
		s.Logger.Info("audit sink recovered", "sink", sk.Name, "failed_attempts", prev.ConsecutiveFailures)
	}
	return attempt{delivered: len(events), more: len(events) == max(sk.BatchSize, 1)}, nil
}

func errIf(cond bool, err error) error {
	if cond {
		return err
	}
	return nil
}

func (s *Service) failed(ctx context.Context, sk *Sink, st *State, now time.Time, cause error) (attempt, error) {
	first := st.ConsecutiveFailures == 0
	msg := cause.Error()
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText]
	}
	st.ConsecutiveFailures++
	if first {
		st.FailingSince = &now
	}
	next := now.Add(s.Backoff(st.ConsecutiveFailures))
	st.LastFailureAt, st.NextAttemptAt, st.LastError, st.UpdatedAt = &now, &next, msg, now
	err := s.Tx.InTx(systemCtx(ctx), func(ctx context.Context) error {
		ok, err := s.Store.SaveState(ctx, st, leaseName(sk.ID), s.Owner, s.Clock.Now())
		if err != nil || !ok {
			return errors.Join(err, errIf(!ok, errNotHeld))
		}
		if !first {
			return nil
		}
		return s.Audit.Record(ctx, audit.Event{Action: "audit.sink.failed", TargetType: "audit_sink", TargetID: sk.ID,
			Outcome: audit.Failed, Reason: fmt.Sprintf("sink %s cannot record: %s", sk.Name, msg),
			Details: map[string]any{"name": sk.Name, "kind": sk.Kind, "cursor": st.Cursor, "required": sk.Required}})
	})
	s.count(sk, 0, 1)
	s.invalidate()
	level := s.Logger.Warn
	if first {
		level = s.Logger.Error
	}
	level("audit sink delivery failed", "sink", sk.Name, "failures", st.ConsecutiveFailures, "retry_at", next, "error", msg)
	return attempt{retryAt: next}, errors.Join(fmt.Errorf("sink %s: %w", sk.Name, cause), err)
}

func (s *Service) count(sk *Sink, delivered, failures int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts[sk.ID]
	if c == nil {
		c = &sinkCounts{kind: sk.Kind}
		s.counts[sk.ID] = c
	}
	c.delivered += float64(delivered)
	c.failures += float64(failures)
}

// sender returns the sink's open sender, opening a new one when there is
// none or the definition changed since it was opened.
func (s *Service) sender(sk *Sink) (Sender, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.senders[sk.ID]; c != nil {
		if c.version.Equal(sk.UpdatedAt) {
			return c.sender, nil
		}
		_ = c.sender.Close()
		delete(s.senders, sk.ID)
	}
	snd, err := open(sk, s.Env)
	if err != nil {
		return nil, err
	}
	s.senders[sk.ID] = &cachedSender{version: sk.UpdatedAt, sender: snd}
	return snd, nil
}

func (s *Service) dropSender(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.senders[id]; c != nil {
		_ = c.sender.Close()
		delete(s.senders, id)
	}
}

// Run delivers to every enabled sink until ctx ends: one loop per sink,
// started and stopped as definitions change (they are reloaded every Poll).
// Several replicas may run it; the lease of each sink lets one deliver at a time.
func (s *Service) Run(ctx context.Context) {
	s.defaults()
	type loop struct {
		version time.Time
		cancel  context.CancelFunc
		done    chan struct{}
	}
	loops := map[string]*loop{}
	stop := func(id string) {
		l := loops[id]
		l.cancel()
		<-l.done
		delete(loops, id)
	}
	defer func() {
		for id := range loops {
			stop(id)
		}
	}()
	for {
		s.invalidate()
		snap, err := s.load(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("audit sinks: loading definitions", "error", err)
		}
		if err == nil {
			want := map[string]*Sink{}
			for _, sk := range snap.sinks {
				if sk.Enabled {
					want[sk.ID] = sk
				}
			}
			for id, l := range loops {
				if sk, ok := want[id]; !ok || !sk.UpdatedAt.Equal(l.version) {
					stop(id)
				}
			}
			for id, sk := range want {
				if loops[id] != nil {
					continue
				}
				lctx, cancel := context.WithCancel(ctx)
				l := &loop{version: sk.UpdatedAt, cancel: cancel, done: make(chan struct{})}
				loops[id] = l
				go func() {
					defer close(l.done)
					s.runSink(lctx, sk)
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.Poll):
		}
	}
}

// runSink delivers one sink until ctx ends, then gives up its lease so that
// another replica can take over at once.
func (s *Service) runSink(ctx context.Context, sk *Sink) {
	defer func() {
		_ = s.Leases.ReleaseLease(context.WithoutCancel(ctx), leaseName(sk.ID), s.Owner)
		s.dropSender(sk.ID)
	}()
	for ctx.Err() == nil {
		a, err := s.deliver(ctx, sk)
		if err != nil && !errors.Is(err, errNotHeld) && ctx.Err() == nil && a.retryAt.IsZero() {
			s.Logger.Error("audit sink delivery", "sink", sk.Name, "error", err)
		}
		if a.more && err == nil {
			continue
		}
		wait := s.Poll
		if !a.retryAt.IsZero() {
			wait = a.retryAt.Sub(s.Clock.Now())
		}
		// Renew the lease well before it lapses, even while backing off.
		wait = min(max(wait, time.Millisecond), s.Lease/3)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
