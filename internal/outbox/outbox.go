// Package outbox delivers messages that a transaction decided to send —
// notifications, SIEM events — reliably. A message is written in the same
// transaction as the change it reports, so it exists exactly when the change
// does. A dispatcher delivers each topic's messages in order to the topic's
// receiver and marks each delivered once the receiver acknowledges it;
// failures are retried with backoff, holding back the messages behind them.
// Delivery is at least once: a receiver that must see a message exactly once
// deduplicates by Message.ID, which never changes.
package outbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Message is one message waiting for, or past, delivery.
type Message struct {
	ID            string          `json:"id"`
	Seq           int64           `json:"seq"`
	Topic         string          `json:"topic"`
	Key           string          `json:"key,omitempty"`
	Payload       json.RawMessage `json:"payload"`
	CreatedAt     time.Time       `json:"created_at"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	LastError     string          `json:"last_error,omitempty"`
	DeliveredAt   *time.Time      `json:"delivered_at,omitempty"`
}

// Store persists messages and the leases that give one dispatcher at a time
// a topic.
type Store interface {
	// EnqueueMessage appends a message; it fails unless ctx carries a
	// transaction, because a message sent outside one could report a change
	// that never committed.
	EnqueueMessage(ctx context.Context, m *Message) error
	// PendingMessages returns a topic's undelivered messages in order.
	PendingMessages(ctx context.Context, topic string, limit int) ([]*Message, error)
	MarkDelivered(ctx context.Context, id string, at time.Time) error
	MarkFailed(ctx context.Context, id, msg string, next time.Time) error
	// AcquireLease takes or renews the named lease for owner until the given
	// time; it reports false when another owner holds an unexpired lease.
	AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, owner string) error
}

// Outbox writes messages.
type Outbox struct {
	Store Store
	Clock enclave.Clock
}

// Send writes a message to topic in the transaction carried by ctx.
func (o *Outbox) Send(ctx context.Context, topic, key string, payload any) (*Message, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInternal, err, "outbox payload is not JSON")
	}
	now := o.Clock.Now()
	m := &Message{ID: uuid.Must(uuid.NewV7()).String(), Topic: topic, Key: key, Payload: raw, CreatedAt: now, NextAttemptAt: now}
	if err := o.Store.EnqueueMessage(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}
