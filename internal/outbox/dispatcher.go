package outbox

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// Receiver takes delivery of a topic's messages. Returning nil acknowledges
// the message; an error leaves it to be delivered again later.
type Receiver interface {
	Receive(ctx context.Context, m *Message) error
}

// ReceiverFunc adapts a function to Receiver.
type ReceiverFunc func(ctx context.Context, m *Message) error

// Receive implements Receiver.
func (f ReceiverFunc) Receive(ctx context.Context, m *Message) error { return f(ctx, m) }

// Dispatcher delivers messages to receivers, one topic at a time per lease
// holder so that order is kept even with several replicas.
type Dispatcher struct {
	Store     Store
	Clock     enclave.Clock
	Owner     string
	Receivers map[string]Receiver
	Lease     time.Duration
	Poll      time.Duration
	Batch     int
	Backoff   func(attempt int) time.Duration
	Logger    *slog.Logger
}

func (d *Dispatcher) defaults() {
	if d.Lease <= 0 {
		d.Lease = 30 * time.Second
	}
	if d.Poll <= 0 {
		d.Poll = time.Second
	}
	if d.Batch <= 0 {
		d.Batch = 100
	}
	if d.Backoff == nil {
		d.Backoff = workqueue.DefaultBackoff
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	topics := make([]string, 0, len(d.Receivers))
	for t := range d.Receivers {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for ctx.Err() == nil {
		for _, t := range topics {
			if _, err := d.DispatchOnce(ctx, t); err != nil && ctx.Err() == nil {
				d.Logger.ErrorContext(ctx, "outbox dispatch", "topic", t, "error", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(d.Poll):
		}
	}
	for _, t := range topics {
		_ = d.Store.ReleaseLease(context.WithoutCancel(ctx), leaseName(t), d.Owner)
	}
}

func leaseName(topic string) string { return "outbox/" + topic }

// DispatchOnce delivers the topic's due messages in order, stopping at the
// first that fails or is not yet due for a retry. It returns how many were delivered.
func (d *Dispatcher) DispatchOnce(ctx context.Context, topic string) (int, error) {
	d.defaults()
	r, ok := d.Receivers[topic]
	if !ok {
		return 0, enclave.Errorf(enclave.CodeNotFound, "no receiver for topic %s", topic)
	}
	now := d.Clock.Now()
	held, err := d.Store.AcquireLease(ctx, leaseName(topic), d.Owner, now, now.Add(d.Lease))
	if err != nil || !held {
		return 0, err
	}
	msgs, err := d.Store.PendingMessages(ctx, topic, d.Batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range msgs {
		now := d.Clock.Now()
		if m.NextAttemptAt.After(now) {
			return n, nil
		}
		if err := r.Receive(ctx, m); err != nil {
			msg := err.Error()
			if len(msg) > 2000 {
				msg = msg[:2000]
			}
			d.Logger.WarnContext(ctx, "outbox delivery failed", "topic", topic, "message", m.ID, "attempt", m.Attempts+1, "error", err)
			return n, d.Store.MarkFailed(ctx, m.ID, msg, now.Add(d.Backoff(m.Attempts+1)))
		}
		if err := d.Store.MarkDelivered(ctx, m.ID, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
