package siem_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// deliverAll steps delivery until nothing more goes out.
func deliverAll(t *testing.T, svc *siem.Service, name string) int {
	t.Helper()
	total := 0
	for range 1000 {
		n, err := svc.DeliverOnce(context.Background(), name)
		if err != nil {
			t.Fatalf("deliver: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("delivery does not end")
	return 0
}

// TestWebhookOutageLosesNothing: a Splunk HEC receiver answers 503 for a
// while. Delivery stops at the failed batch, retries with backoff, records
// the interruption and the recovery in the audit trail, and in the end the
// receiver has every event, in sequence order.
func TestWebhookOutageLosesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		rcv := newReceiver(t)
		svc := f.service("replica-1")
		ctx := admin()
		f.record(25)
		if _, err := svc.Create(ctx, webhookSink("soc", rcv.srv.URL+"/services/collector/event", siem.WebhookSplunkHEC, "hec-token", 10)); err != nil {
			t.Fatal(err)
		}
		if n, err := svc.DeliverOnce(ctx, "soc"); err != nil || n != 10 {
			t.Fatalf("first batch: %d, %v", n, err)
		}
		rcv.setStatus(503)
		f.record(5)
		_, err := svc.DeliverOnce(ctx, "soc")
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("delivery to a failing receiver: %v", err)
		}
		sk, _ := svc.Get(ctx, "soc")
		if h := sk.Health; h.Status != siem.StatusFailing || h.ConsecutiveFailures != 1 || !h.Up || h.Cursor != 10 ||
			!strings.Contains(h.LastError, "503 Service Unavailable: receiver unavailable") {
			t.Fatalf("health after one failure: %+v", h)
		}
		failed := f.actions("audit.sink.failed")
		if len(failed) != 1 || failed[0].Outcome != audit.Failed || !strings.Contains(failed[0].Reason, "503") ||
			failed[0].ActorKind != "system" || failed[0].TargetID != sk.ID {
			t.Fatalf("interruption not audited: %+v", failed)
		}
		// Not due before the backoff has passed.
		if n, err := svc.DeliverOnce(ctx, "soc"); n != 0 || err != nil {
			t.Fatalf("delivered %d, %v before the backoff passed", n, err)
		}
		f.clock.Add(time.Minute)
		if _, err := svc.DeliverOnce(ctx, "soc"); err == nil {
			t.Fatal("the receiver still fails")
		}
		if n := len(f.actions("audit.sink.failed")); n != 1 {
			t.Fatalf("a continuing failure was audited again (%d records)", n)
		}
		sk, _ = svc.Get(ctx, "soc")
		if sk.Health.ConsecutiveFailures != 2 || sk.Health.FailingSince == nil || !sk.Health.FailingSince.Equal(f.clock.Now().Add(-time.Minute)) {
			t.Fatalf("health after two failures: %+v", sk.Health)
		}
		rcv.setStatus(200)
		f.clock.Add(time.Minute)
		deliverAll(t, svc, "soc")
		recovered := f.actions("audit.sink.recovered")
		if len(recovered) != 1 || recovered[0].Outcome != audit.Success || !strings.Contains(recovered[0].Reason, "after 2 failed attempts") {
			t.Fatalf("recovery not audited: %+v", recovered)
		}
		// The receiver has everything, the interruption's own records included.
		if dups := checkComplete(t, f.all(), rcv.got()); dups != 0 {
			t.Errorf("%d duplicates without a crash", dups)
		}
		sk, _ = svc.Get(ctx, "soc")
		if h := sk.Health; h.Status != siem.StatusHealthy || h.LagEvents != 0 || h.ConsecutiveFailures != 0 || h.LastError != "" {
			t.Errorf("health after recovery: %+v", h)
		}
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if got := rcv.headers[0].Get("Authorization"); got != "Splunk hec-token" {
			t.Errorf("Authorization %q", got)
		}
		if !strings.Contains(string(rcv.bodies[0]), `"host":"enclave-test","source":"enclave","sourcetype":"enclave:audit","event":{"id":`) {
			t.Errorf("HEC body: %s", rcv.bodies[0])
		}
	})
}

// TestCursorSurvivesRestartAndKill: a process delivers a batch and dies
// holding the sink's lease (as after kill -9). A new process over the same
// database waits for the lease to lapse, then resumes after the persisted
// cursor: nothing acknowledged is sent again, nothing is skipped.
func TestCursorSurvivesRestartAndKill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		rcv := newReceiver(t)
		ctx := admin()
		first := f.service("replica-1")
		f.record(12)
		if _, err := first.Create(ctx, webhookSink("soc", rcv.srv.URL, siem.WebhookJSON, "", 5)); err != nil {
			t.Fatal(err)
		}
		if n, err := first.DeliverOnce(ctx, "soc"); err != nil || n != 5 {
			t.Fatalf("first batch: %d, %v", n, err)
		}
		// replica-1 is gone without releasing its lease.
		second := f.service("replica-2")
		if _, err := second.DeliverOnce(ctx, "soc"); !enclave.IsCode(err, enclave.CodeConflict) {
			t.Fatalf("a second process delivered under a live lease: %v", err)
		}
		f.clock.Add(31 * time.Second)
		f.record(3)
		deliverAll(t, second, "soc")
		if dups := checkComplete(t, f.all(), rcv.got()); dups != 0 {
			t.Errorf("%d events delivered twice across the restart", dups)
		}
		// The dead process wakes up: its lease is gone, so it may not move the cursor.
		if _, err := first.DeliverOnce(ctx, "soc"); !enclave.IsCode(err, enclave.CodeConflict) {
			t.Fatalf("the old process delivered after losing its lease: %v", err)
		}
	})
}

// flakyStore fails the first state save after a successful send, as a crash
// between delivery and the cursor update would.
type flakyStore struct {
	siem.Store
	mu    sync.Mutex
	fails int
}

func (s *flakyStore) SaveState(ctx context.Context, st *siem.State, lease, owner string, now time.Time) (bool, error) {
	s.mu.Lock()
	fail := s.fails > 0 && st.ConsecutiveFailures == 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if fail {
		return false, errors.New("database connection lost")
	}
	return s.Store.SaveState(ctx, st, lease, owner, now)
}

// TestCrashBeforeCursorUpdateRedelivers: when the cursor cannot be saved
// after a batch went out, the batch goes out again. The receiver sees
// duplicates, which carry the same event IDs, so it deduplicates; order
// and completeness hold.
func TestCrashBeforeCursorUpdateRedelivers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		rcv := newReceiver(t)
		svc := f.service("replica-1")
		store := &flakyStore{Store: svc.Store, fails: 1}
		svc.Store = store
		ctx := admin()
		f.record(8)
		if _, err := svc.Create(ctx, webhookSink("soc", rcv.srv.URL, siem.WebhookJSON, "", 4)); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DeliverOnce(ctx, "soc"); err == nil {
			t.Fatal("the lost cursor update was not reported")
		}
		deliverAll(t, svc, "soc")
		if dups := checkComplete(t, f.all(), rcv.got()); dups != 4 {
			t.Errorf("%d duplicates, want the one batch of 4 again", dups)
		}
	})
}

// TestReplicasDeliverOneAtATime runs two delivery loops over one database,
// with events arriving meanwhile: the receiver never sees two requests at
// once, and gets everything in order.
func TestReplicasDeliverOneAtATime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		f.realTime()
		rcv := newReceiver(t)
		ctx := admin()
		a, b := f.service("replica-a"), f.service("replica-b")
		for _, s := range []*siem.Service{a, b} {
			s.Poll, s.Lease = 5*time.Millisecond, 2*time.Second
		}
		if _, err := a.Create(ctx, webhookSink("soc", rcv.srv.URL, siem.WebhookJSON, "", 7)); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, s := range []*siem.Service{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); s.Run(rctx) }()
		}
		f.record(60)
		head := f.all()
		rcv.waitFor(func() bool { return len(rcv.got()) >= len(head) }, "every event")
		cancel()
		wg.Wait()
		checkComplete(t, f.all()[:len(head)], rcv.got()[:len(head)])
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if rcv.maxInflight != 1 {
			t.Errorf("%d deliveries ran at once", rcv.maxInflight)
		}
	})
}
