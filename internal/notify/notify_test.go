package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/notify"
	"github.com/enclave-ml/enclave/internal/outbox"
)

// memStore is an outbox store that only records what is enqueued.
type memStore struct {
	mu   sync.Mutex
	msgs []*outbox.Message
}

func (s *memStore) EnqueueMessage(_ context.Context, m *outbox.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}
func (s *memStore) PendingMessages(context.Context, string, int) ([]*outbox.Message, error) {
	return nil, nil
}
func (s *memStore) MarkDelivered(context.Context, string, time.Time) error      { return nil }
func (s *memStore) MarkFailed(context.Context, string, string, time.Time) error { return nil }
func (s *memStore) ReleaseLease(context.Context, string, string) error          { return nil }
func (s *memStore) AcquireLease(context.Context, string, string, time.Time, time.Time) (bool, error) {
	return true, nil
}

func topics(s *memStore) string {
	var t []string
	for _, m := range s.msgs {
		t = append(t, m.Topic)
	}
	return strings.Join(t, ",")
}

// TestNotifyChannels: one message per configured channel, email only with
// recipients; nothing without a channel or a Notifier.
func TestNotifyChannels(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		webhook, email bool
		recipients     []string
		want           string
	}{
		{true, true, []string{"ana@example.org"}, "notify.webhook,notify.email"},
		{true, true, nil, "notify.webhook"},
		{false, true, []string{"ana@example.org"}, "notify.email"},
		{false, true, nil, ""},
		{true, false, []string{"ana@example.org"}, "notify.webhook"},
		{false, false, []string{"ana@example.org"}, ""},
	} {
		st := &memStore{}
		n := &notify.Notifier{Outbox: &outbox.Outbox{Store: st, Clock: func() time.Time { return now }}, Webhook: tc.webhook, Email: tc.email}
		x := sample()
		x.Recipients, x.At = tc.recipients, time.Time{}
		if err := n.Notify(ctx, x); err != nil {
			t.Fatal(err)
		}
		if got := topics(st); got != tc.want {
			t.Errorf("webhook %v, email %v, %d recipients: %s, want %s", tc.webhook, tc.email, len(tc.recipients), got, tc.want)
		}
		for _, m := range st.msgs {
			var back notify.Notification
			if err := json.Unmarshal(m.Payload, &back); err != nil || !back.At.Equal(now) || m.Key != x.Event {
				t.Errorf("payload %s, key %q: %v", m.Payload, m.Key, err)
			}
		}
	}
	var none *notify.Notifier
	if err := none.Notify(ctx, notify.Notification{}); err != nil {
		t.Errorf("nil notifier: %v", err)
	}
	if err := (&notify.Notifier{Webhook: true}).Notify(ctx, sample()); err == nil {
		t.Error("a notifier without an outbox accepted a notification")
	}
}

// TestNotificationValidate refuses what would break an email or a webhook
// consumer.
func TestNotificationValidate(t *testing.T) {
	ok := sample()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(x *notify.Notification){
		"no event":         func(x *notify.Notification) { x.Event = "" },
		"event uppercase":  func(x *notify.Notification) { x.Event = "Airlock.Request" },
		"no subject":       func(x *notify.Notification) { x.Subject = "" },
		"subject tab":      func(x *notify.Notification) { x.Subject = "a\tb" },
		"subject too long": func(x *notify.Notification) { x.Subject = strings.Repeat("x", notify.MaxSubject+1) },
		"subject not utf8": func(x *notify.Notification) { x.Subject = "caf\xe9" },
		"text CR":          func(x *notify.Notification) { x.Text = "a\rb" },
		"text too long":    func(x *notify.Notification) { x.Text = strings.Repeat("x", notify.MaxText+1) },
		"recipient":        func(x *notify.Notification) { x.Recipients = []string{"ana"} },
		"recipient name":   func(x *notify.Notification) { x.Recipients = []string{"Ana <ana@example.org>"} },
		"link newline":     func(x *notify.Notification) { x.Link = "/x\n/y" },
		"resource value":   func(x *notify.Notification) { x.Resource = map[string]string{"id": "a\r\nb"} },
		"resource key":     func(x *notify.Notification) { x.Resource = map[string]string{"": "a"} },
	} {
		x := sample()
		change(&x)
		if err := x.Validate(); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
