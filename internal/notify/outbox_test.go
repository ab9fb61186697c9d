package notify_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/notify"
	"github.com/enclave-ml/enclave/internal/outbox"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestThroughTheOutbox sends notifications in transactions on each SQL
// backend — one of them rolled back — and delivers them with the outbox
// dispatcher to a webhook and a real SMTP server: each committed
// notification arrives once per channel, in order, with the outbox message
// ID as delivery ID and Message-ID, the rolled-back one never; a webhook
// failure holds the channel back until the retry, which keeps the ID.
func TestThroughTheOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		store := &sqlstore.OutboxStore{DB: db}
		n := &notify.Notifier{Outbox: &outbox.Outbox{Store: store, Clock: clock}, Webhook: true, Email: true}

		var sent []string // events of the committed notifications
		for i := range 4 {
			x := sample()
			x.Event = fmt.Sprintf("test.event_%d", i)
			x.At = time.Time{}
			if i == 2 {
				x.Recipients = nil // webhook only
			}
			err := db.InTx(ctx, func(ctx context.Context) error {
				if err := n.Notify(ctx, x); err != nil {
					return err
				}
				if i == 1 {
					return errors.New("the change failed")
				}
				return nil
			})
			if (err != nil) != (i == 1) {
				t.Fatalf("notification %d: %v", i, err)
			}
			if i != 1 {
				sent = append(sent, x.Event)
			}
		}

		h, srv := startHook(t, 503) // the first delivery fails
		ms := startMailServer(t, mailOptions{startTLS: true})
		quiet := slog.New(slog.DiscardHandler)
		email := &notify.SMTPReceiver{Addr: ms.Addr, From: "enclave@example.org", TLSConfig: &tls.Config{RootCAs: ms.CAs}, Logger: quiet}
		var emailIDs []string
		d := &outbox.Dispatcher{Store: store, Clock: clock, Owner: "test", Logger: quiet,
			Backoff: func(int) time.Duration { return time.Minute },
			Receivers: map[string]outbox.Receiver{
				notify.TopicWebhook: &notify.WebhookReceiver{URL: srv.URL, Secret: secret, Logger: quiet},
				notify.TopicEmail: outbox.ReceiverFunc(func(ctx context.Context, m *outbox.Message) error {
					emailIDs = append(emailIDs, m.ID)
					return email.Receive(ctx, m)
				}),
			}}
		if n, err := d.DispatchOnce(ctx, notify.TopicEmail); err != nil || n != 2 {
			t.Fatalf("email: delivered %d, %v", n, err)
		}
		// The dispatcher records the failure and schedules a retry.
		if n, err := d.DispatchOnce(ctx, notify.TopicWebhook); err != nil || n != 0 || len(h.deliveries()) != 1 {
			t.Fatalf("webhook while failing: delivered %d, %v", n, err)
		}
		if n, _ := d.DispatchOnce(ctx, notify.TopicWebhook); n != 0 || len(h.deliveries()) != 1 {
			t.Fatalf("webhook retried before the backoff: delivered %d", n)
		}
		now = now.Add(time.Minute)
		if n, err := d.DispatchOnce(ctx, notify.TopicWebhook); err != nil || n != 3 {
			t.Fatalf("webhook after the backoff: delivered %d, %v", n, err)
		}
		for _, topic := range []string{notify.TopicWebhook, notify.TopicEmail} {
			if n, err := d.DispatchOnce(ctx, topic); err != nil || n != 0 {
				t.Fatalf("%s redelivered %d: %v", topic, n, err)
			}
		}

		// The webhook got every committed notification in order; the failed
		// first attempt and its retry share the delivery ID.
		got := h.deliveries()
		if len(got) != 4 || got[0].id != got[1].id {
			t.Fatalf("%d webhook deliveries", len(got))
		}
		var events []string
		ids := map[string]bool{}
		for _, dl := range got[1:] {
			var x notify.Notification
			if err := json.Unmarshal(dl.body, &x); err != nil {
				t.Fatal(err)
			}
			if !x.At.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) {
				t.Errorf("At %v", x.At)
			}
			events = append(events, x.Event)
			ids[dl.id] = true
		}
		if fmt.Sprint(events) != fmt.Sprint(sent) || len(ids) != 3 {
			t.Errorf("webhook events %v (%d IDs), want %v", events, len(ids), sent)
		}

		// Email went out for the two with recipients, in order.
		mails := ms.received()
		if len(mails) != 2 {
			t.Fatalf("%d mails", len(mails))
		}
		for i, want := range []string{sent[0], sent[2]} {
			msg, err := mail.ReadMessage(bytes.NewReader(mails[i].Data))
			if err != nil {
				t.Fatal(err)
			}
			if msg.Header.Get("X-Enclave-Event") != want || len(mails[i].To) != 2 {
				t.Errorf("mail %d: event %q, to %v", i, msg.Header.Get("X-Enclave-Event"), mails[i].To)
			}
			if id := msg.Header.Get("Message-Id"); id != "<"+emailIDs[i]+"@enclave>" {
				t.Errorf("Message-ID %q, outbox message %s", id, emailIDs[i])
			}
		}
	})
}
