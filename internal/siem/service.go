package siem

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Service manages sink definitions and delivers the audit trail to them.
// Callers of the definition methods have been authorized for the route
// (audit/sinks/read or audit/sinks/write at the platform); every change is
// written with its audit record in one transaction.
type Service struct {
	// Admission runs every create, update and delete through the assigned
	// policies, in the transaction that stores it (policy.Service).
	Admission enclave.Admitter
	Store     Store
	Events    EventSource
	Leases    Leases
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Clock     enclave.Clock
	Env       Env
	Logger    *slog.Logger

	// Owner names this process as a lease holder; Run sets a unique one
	// when it is empty.
	Owner string
	// Poll is how often idle sinks look for new events and definitions
	// are reloaded (default 1 s).
	Poll time.Duration
	// Lease is how long a delivery loop holds a sink (default 30 s); it
	// renews at least every third of that.
	Lease time.Duration
	// SendTimeout bounds one batch's delivery (default 20 s).
	SendTimeout time.Duration
	// Backoff is the wait before the next attempt after the nth failure in
	// a row (default: 1 s doubling to 1 min, with jitter).
	Backoff func(failures int) time.Duration
	// FailClosedAfter is how many failures in a row make a sink unable to
	// record (default 3).
	FailClosedAfter int
	// StallAfter is how long a sink may deliver nothing while events wait
	// before it is unable to record (default 2 min).
	StallAfter time.Duration
	// SnapshotTTL is how long the health the write gate and metrics read
	// is reused before it is loaded again (default 1 s).
	SnapshotTTL time.Duration

	once     sync.Once
	mu       sync.Mutex
	senders  map[string]*cachedSender
	counts   map[string]*sinkCounts
	snapMu   sync.Mutex
	snap     *snapshot
	deliverM sync.Map // sink ID → *sync.Mutex: one delivery at a time per sink in this process
}

type cachedSender struct {
	version time.Time
	sender  Sender
}

// sinkCounts are this process's delivery counters of one sink, for metrics.
type sinkCounts struct {
	kind      Kind
	delivered float64
	failures  float64
}

func (s *Service) defaults() {
	s.once.Do(func() {
		if s.Poll <= 0 {
			s.Poll = time.Second
		}
		if s.Lease <= 0 {
			s.Lease = 30 * time.Second
		}
		if s.SendTimeout <= 0 {
			s.SendTimeout = 20 * time.Second
		}
		if s.Backoff == nil {
			s.Backoff = DefaultBackoff
		}
		if s.FailClosedAfter <= 0 {
			s.FailClosedAfter = 3
		}
		if s.StallAfter <= 0 {
			s.StallAfter = 2 * time.Minute
		}
		if s.SnapshotTTL <= 0 {
			s.SnapshotTTL = time.Second
		}
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		if s.Env.Hostname == "" {
			s.Env.Hostname, _ = os.Hostname()
		}
		if s.Owner == "" {
			s.Owner = fmt.Sprintf("%s/%d/%s", s.Env.Hostname, os.Getpid(), uuid.NewString()[:8])
		}
		s.senders = map[string]*cachedSender{}
		s.counts = map[string]*sinkCounts{}
	})
}

// Create defines a sink. Its cursor starts before the oldest event, or at
// the newest when in.Start is latest (the sink then delivers its own
// creation record onwards).
func (s *Service) Create(ctx context.Context, in SinkCreate) (*Sink, error) {
	s.defaults()
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	sk := &Sink{ID: uuid.Must(uuid.NewV7()).String(), Name: in.Name, Kind: in.Kind, Enabled: in.Enabled == nil || *in.Enabled,
		Required: in.Required, BatchSize: in.BatchSize, File: in.File, Syslog: in.Syslog,
		CreatedAt: now, CreatedBy: enclave.ActorName(ctx), UpdatedAt: now, UpdatedBy: enclave.ActorName(ctx)}
	if sk.BatchSize == 0 {
		sk.BatchSize = DefaultBatchSize
	}
	if err := s.applySettings(sk, in.File, in.Syslog, in.Webhook); err != nil {
		return nil, err
	}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var cursor int64
		if in.Start == StartLatest {
			head, err := s.Store.HeadSeq(ctx)
			if err != nil {
				return err
			}
			cursor = head
		}
		if err := s.admit(ctx, enclave.OpCreate, sk, nil); err != nil {
			return err
		}
		if err := s.Store.CreateSink(ctx, sk, cursor); err != nil {
			return err
		}
		details := map[string]any{"name": sk.Name, "kind": sk.Kind, "enabled": sk.Enabled, "required": sk.Required,
			"batch_size": sk.BatchSize, "settings": sk.settings(), "start": orDefault(string(in.Start), string(StartOldest)), "cursor": cursor}
		if sk.Secrets.WebhookToken != "" {
			details["webhook.token"] = "set"
		}
		return s.Audit.Record(ctx, audit.Event{Action: "audit.sink.create", TargetType: "audit_sink", TargetID: sk.ID, Details: details})
	})
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return s.Get(ctx, sk.Name)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// applySettings validates the kind's settings and puts them on sk.
func (s *Service) applySettings(sk *Sink, file *FileSettings, syslog *SyslogSettings, webhook *WebhookInput) error {
	switch sk.Kind {
	case KindFile:
		f := *file
		if err := f.normalize(); err != nil {
			return err
		}
		sk.File = &f
	case KindSyslog:
		sl := *syslog
		if sl.Facility != nil {
			f := *sl.Facility
			sl.Facility = &f
		}
		if err := sl.normalize(); err != nil {
			return err
		}
		sk.Syslog = &sl
	case KindWebhook:
		ws, token, err := webhook.settings(sk.Secrets.WebhookToken)
		if err != nil {
			return err
		}
		sk.Webhook, sk.Secrets.WebhookToken = ws, token
	}
	return nil
}

// settings returns the kind's settings, for audit details.
func (sk *Sink) settings() any {
	switch sk.Kind {
	case KindFile:
		return sk.File
	case KindSyslog:
		return sk.Syslog
	}
	return sk.Webhook
}

// Get returns a sink with its health.
func (s *Service) Get(ctx context.Context, name string) (*Sink, error) {
	s.defaults()
	if err := enclave.ValidateName("sink", name); err != nil {
		return nil, err
	}
	sk, err := s.Store.GetSink(ctx, name)
	if err != nil {
		return nil, err
	}
	st, err := s.Store.GetState(ctx, sk.ID)
	if err != nil {
		return nil, err
	}
	head, err := s.Store.HeadSeq(ctx)
	if err != nil {
		return nil, err
	}
	sk.Health = s.healthOf(sk, st, head, s.Clock.Now())
	return sk, nil
}

// List returns every sink, ordered by name, with its health.
func (s *Service) List(ctx context.Context) ([]*Sink, error) {
	s.defaults()
	snap, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	return snap.sinks, nil
}

// Update changes a sink. Enabling, disabling and changing whether a sink
// is required are protection changes: the audit record says so. An update
// that changes nothing writes nothing.
func (s *Service) Update(ctx context.Context, name string, in SinkUpdate) (*Sink, error) {
	s.defaults()
	if err := enclave.ValidateName("sink", name); err != nil {
		return nil, err
	}
	if in.BatchSize != nil {
		if err := validateBatch(*in.BatchSize); err != nil {
			return nil, err
		}
	}
	changed := false
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.GetSink(ctx, name)
		if err != nil {
			return err
		}
		if err := onlyKind(cur.Kind, in.File != nil, in.Syslog != nil, in.Webhook != nil, false); err != nil {
			return err
		}
		next := *cur
		details := map[string]any{"name": cur.Name, "kind": cur.Kind}
		var protection []string
		if in.Enabled != nil && *in.Enabled != cur.Enabled {
			next.Enabled = *in.Enabled
			details["enabled"] = map[string]any{"from": cur.Enabled, "to": next.Enabled}
			protection = append(protection, map[bool]string{true: "sink enabled", false: "sink disabled"}[next.Enabled])
		}
		if in.Required != nil && *in.Required != cur.Required {
			next.Required = *in.Required
			details["required"] = map[string]any{"from": cur.Required, "to": next.Required}
			protection = append(protection, map[bool]string{true: "fail-closed on", false: "fail-closed off"}[next.Required])
		}
		if in.BatchSize != nil {
			b := *in.BatchSize
			if b == 0 {
				b = DefaultBatchSize
			}
			if b != cur.BatchSize {
				next.BatchSize = b
				details["batch_size"] = map[string]any{"from": cur.BatchSize, "to": b}
			}
		}
		if in.File != nil || in.Syslog != nil || in.Webhook != nil {
			if err := s.applySettings(&next, in.File, in.Syslog, in.Webhook); err != nil {
				return err
			}
			if !reflect.DeepEqual(cur.settings(), next.settings()) {
				details["settings"] = map[string]any{"from": cur.settings(), "to": next.settings()}
			}
			switch {
			case next.Secrets.WebhookToken == cur.Secrets.WebhookToken:
			case cur.Secrets.WebhookToken == "":
				details["webhook.token"] = "set"
			case next.Secrets.WebhookToken == "":
				details["webhook.token"] = "removed"
			default:
				details["webhook.token"] = "changed"
			}
		}
		if len(details) == 2 {
			return nil // nothing changes
		}
		if len(protection) > 0 {
			details["protection"] = protection
		}
		changed = true
		next.UpdatedAt, next.UpdatedBy = s.Clock.Now(), enclave.ActorName(ctx)
		if !next.UpdatedAt.After(cur.UpdatedAt) {
			// The version of a definition is its update time: it must move
			// so that delivery loops reopen their connection.
			next.UpdatedAt = cur.UpdatedAt.Add(time.Microsecond)
		}
		if err := s.admit(ctx, enclave.OpUpdate, &next, cur); err != nil {
			return err
		}
		if err := s.Store.UpdateSink(ctx, &next); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "audit.sink.update", TargetType: "audit_sink", TargetID: cur.ID, Details: details})
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.invalidate()
	}
	return s.Get(ctx, name)
}

// Delete removes a sink and its cursor. Events already delivered stay
// where they are; the audit record names the sink and where it stopped.
func (s *Service) Delete(ctx context.Context, name string) error {
	s.defaults()
	if err := enclave.ValidateName("sink", name); err != nil {
		return err
	}
	var id string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		sk, err := s.Store.GetSink(ctx, name)
		if err != nil {
			return err
		}
		id = sk.ID
		st, err := s.Store.GetState(ctx, sk.ID)
		if err != nil {
			return err
		}
		if err := s.admit(ctx, enclave.OpDelete, sk, sk); err != nil {
			return err
		}
		if err := s.Store.DeleteSink(ctx, sk.ID); err != nil {
			return err
		}
		details := map[string]any{"name": sk.Name, "kind": sk.Kind, "enabled": sk.Enabled, "required": sk.Required, "cursor": st.Cursor}
		if sk.Enabled {
			details["protection"] = []string{"sink removed"}
		}
		return s.Audit.Record(ctx, audit.Event{Action: "audit.sink.delete", TargetType: "audit_sink", TargetID: sk.ID, Details: details})
	})
	if err != nil {
		return err
	}
	s.invalidate()
	s.dropSender(id)
	s.mu.Lock()
	delete(s.counts, id)
	s.mu.Unlock()
	return nil
}

// healthOf derives a sink's health from its state at now, with head the
// newest event's sequence number.
func (s *Service) healthOf(sk *Sink, st *State, head int64, now time.Time) *Health {
	h := &Health{Cursor: st.Cursor, LagEvents: max(0, head-st.Cursor), Delivered: st.Delivered,
		ConsecutiveFailures: st.ConsecutiveFailures, LastSuccessAt: st.LastSuccessAt, LastFailureAt: st.LastFailureAt,
		FailingSince: st.FailingSince, NextAttemptAt: st.NextAttemptAt, LastError: st.LastError}
	// Progress is measured from the last delivery, or from when the sink
	// was last changed (enabled), whichever is later.
	since := sk.UpdatedAt
	if st.LastSuccessAt != nil && st.LastSuccessAt.After(since) {
		since = *st.LastSuccessAt
	}
	switch {
	case !sk.Enabled:
		h.Status = StatusDisabled
	case st.ConsecutiveFailures > 0:
		h.Status = StatusFailing
		h.Up = st.ConsecutiveFailures < s.FailClosedAfter && !(h.LagEvents > 0 && now.Sub(since) > s.StallAfter)
	case h.LagEvents > 0 && now.Sub(since) > s.StallAfter:
		h.Status = StatusStalled
	default:
		h.Status, h.Up = StatusHealthy, true
	}
	return h
}
