package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/outbox"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// receiver acknowledges messages, remembering each, and can be told to fail.
type receiver struct {
	got   map[string]int
	order []string
	fail  func(m *outbox.Message) bool
}

func (r *receiver) Receive(_ context.Context, m *outbox.Message) error {
	if r.fail != nil && r.fail(m) {
		return errors.New("SIEM unavailable")
	}
	r.got[m.ID]++
	r.order = append(r.order, m.Key)
	return nil
}

// TestDeliveredExactlyOnceAcrossRestart sends messages in transactions,
// delivers some, fails one, "restarts" (closes the database and opens it
// again with a new dispatcher), and checks that every acknowledged message
// was delivered exactly once, in order, and that a rolled-back message never was.
func TestDeliveredExactlyOnceAcrossRestart(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			url := b.URL(t)
			now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			rcv := &receiver{got: map[string]int{}}
			var sent []string

			db := storetest.Open(t, url)
			ob := &outbox.Outbox{Store: &sqlstore.OutboxStore{DB: db}, Clock: clock}
			for i := range 6 {
				err := db.InTx(ctx, func(ctx context.Context) error {
					m, err := ob.Send(ctx, "siem", fmt.Sprint("k", i), map[string]int{"i": i})
					if err != nil {
						return err
					}
					if i == 3 {
						return errors.New("the change failed") // this message must never be delivered
					}
					sent = append(sent, m.ID)
					return nil
				})
				if (err != nil) != (i == 3) {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			newDispatcher := func(db *sqlstore.DB, owner string) *outbox.Dispatcher {
				return &outbox.Dispatcher{Store: &sqlstore.OutboxStore{DB: db}, Clock: clock, Owner: owner,
					Receivers: map[string]outbox.Receiver{"siem": rcv}, Logger: slog.New(slog.DiscardHandler),
					Backoff: func(int) time.Duration { return time.Minute }}
			}
			// k2 fails on its first attempt: k0 and k1 are delivered, k2 and after wait.
			failedOnce := false
			rcv.fail = func(m *outbox.Message) bool {
				if m.Key == "k2" && !failedOnce {
					failedOnce = true
					return true
				}
				return false
			}
			n, err := newDispatcher(db, "replica-1").DispatchOnce(ctx, "siem")
			if err != nil || n != 2 {
				t.Fatalf("first dispatch delivered %d, %v", n, err)
			}
			// The process stops; its lease is left behind, as after kill -9.
			db.Close()

			db2 := storetest.Open(t, url)
			d2 := newDispatcher(db2, "replica-2")
			if n, _ := d2.DispatchOnce(ctx, "siem"); n != 0 {
				t.Fatalf("a second owner delivered %d under the dead owner's lease", n)
			}
			now = now.Add(time.Minute) // the lease expires and k2's backoff elapses
			if n, err := d2.DispatchOnce(ctx, "siem"); err != nil || n != 3 {
				t.Fatalf("after restart delivered %d, %v", n, err)
			}
			if n, _ := d2.DispatchOnce(ctx, "siem"); n != 0 {
				t.Fatalf("redelivered %d acknowledged messages", n)
			}
			for _, id := range sent {
				if rcv.got[id] != 1 {
					t.Errorf("message %s delivered %d times", id, rcv.got[id])
				}
			}
			if len(rcv.got) != len(sent) {
				t.Errorf("delivered %d distinct messages, sent %d", len(rcv.got), len(sent))
			}
			if fmt.Sprint(rcv.order) != "[k0 k1 k2 k4 k5]" {
				t.Errorf("delivery order %v", rcv.order)
			}
		})
	}
}
