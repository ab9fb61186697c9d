package syslog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestRsyslogKilledMidStreamLosesNothing runs the real delivery loop
// against a real rsyslogd while events keep being recorded: rsyslogd is
// killed (SIGKILL) mid-stream and restarted, then the delivery loop itself
// is replaced by a new one over the same database. rsyslogd's file ends
// up with every event of the audit trail, first arrivals in sequence order
// (a batch cut short by the kill may arrive twice).
func TestRsyslogKilledMidStreamLosesNothing(t *testing.T) {
	r := startRsyslogd(t, true)
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := enclave.WithActor(context.Background(), &enclave.Actor{PrincipalID: "p1", Kind: enclave.PrincipalUser, Name: "admin"})
		rec := &audit.Recorder{Store: &sqlstore.AuditStore{DB: db}, Clock: time.Now}
		newService := func(owner string) *siem.Service {
			return &siem.Service{Store: &sqlstore.SinkStore{DB: db}, Events: &sqlstore.AuditStore{DB: db}, Leases: &sqlstore.OutboxStore{DB: db},
				Tx: db, Audit: rec, Clock: time.Now, Owner: owner, Poll: 5 * time.Millisecond, Env: siem.Env{Hostname: "enclave-test"},
				Backoff: func(int) time.Duration { return 20 * time.Millisecond }, Logger: slog.New(slog.DiscardHandler)}
		}
		name := "rsyslog-" + db.Dialect.Name()
		svc := newService("replica-1")
		sk := syslogSink(r, siem.SyslogJSON)
		if _, err := svc.Create(ctx, siem.SinkCreate{Name: name, Kind: siem.KindSyslog, BatchSize: 25, Syslog: sk.Syslog}); err != nil {
			t.Fatal(err)
		}
		n := 0
		record := func(count int) {
			for range count {
				n++
				i := n
				if err := db.InTx(ctx, func(ctx context.Context) error {
					return rec.Record(ctx, audit.Event{Action: "test.event", TargetType: "thing", TargetID: fmt.Sprint(i)})
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
		received := func() []string {
			var ids []string
			cut := 0
			for _, m := range r.messages() {
				var e audit.Event
				if err := json.Unmarshal([]byte(m.Msg), &e); err != nil {
					// rsyslogd killed while writing leaves a cut-off message; the
					// sender redelivers it, so it must arrive whole too (checked below).
					if cut++; cut > 2 {
						t.Fatalf("rsyslogd holds messages that are not events: %q", m.Msg)
					}
					continue
				}
				ids = append(ids, e.ID)
			}
			return ids
		}
		all := func() []*audit.Event {
			evs, err := (&sqlstore.AuditStore{DB: db}).ListEvents(context.Background(), audit.Filter{}, 0, 100000)
			if err != nil {
				t.Fatal(err)
			}
			return evs
		}
		before := len(received())
		poll := func(cond func() bool, what string) {
			t.Helper()
			deadline := time.Now().Add(60 * time.Second)
			for !cond() {
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for %s\n%s", what, r.log())
				}
				time.Sleep(10 * time.Millisecond) // polling a real external process
			}
		}
		rctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); svc.Run(rctx) }()

		// Events keep coming while rsyslogd is killed and restarted.
		writing := make(chan struct{})
		go func() { defer close(writing); record(300) }()
		poll(func() bool { return len(received())-before >= 60 }, "the first events at rsyslogd")
		r.kill()
		poll(func() bool {
			s, err := svc.Get(ctx, name)
			return err == nil && s.Health.ConsecutiveFailures > 0
		}, "delivery to fail while rsyslogd is down")
		r.restart()
		<-writing

		// The delivery loop is replaced by a new process's.
		poll(func() bool {
			s, err := svc.Get(ctx, name)
			return err == nil && s.Health.Delivered > 100
		}, "delivery to resume")
		cancel()
		wg.Wait()
		next := newService("replica-2")
		rctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		go next.Run(rctx)
		record(50)

		want := all()
		poll(func() bool {
			s, err := next.Get(ctx, name)
			return err == nil && s.Health.LagEvents == 0 && s.Health.Cursor >= want[len(want)-1].Seq
		}, "the cursor to reach the newest event")
		cancel()
		// Only the events after the sink's creation are this sink's (the
		// other backend's subtest shares rsyslogd).
		got := received()[before:]
		seen := map[string]bool{}
		var first []string
		for _, id := range got {
			if !seen[id] {
				seen[id] = true
				first = append(first, id)
			}
		}
		var ids []string
		for _, e := range want {
			ids = append(ids, e.ID)
		}
		if len(first) < len(ids) {
			for _, e := range want {
				if !seen[e.ID] {
					t.Errorf("event %d (%s) never reached rsyslogd", e.Seq, e.Action)
				}
			}
			t.Fatalf("rsyslogd has %d distinct events of %d", len(first), len(ids))
		}
		for i := range ids {
			if first[i] != ids[i] {
				t.Fatalf("rsyslogd's order differs from the trail's at %d", i)
			}
		}
		for _, action := range []string{"audit.sink.failed", "audit.sink.recovered"} {
			evs, _ := (&sqlstore.AuditStore{DB: db}).ListEvents(context.Background(), audit.Filter{Action: action}, 0, 10)
			if len(evs) == 0 || !seen[evs[0].ID] {
				t.Errorf("%s was not recorded or not delivered", action)
			}
		}
		t.Logf("%d events delivered through a kill of rsyslogd, %d duplicates", len(ids), len(got)-len(first))
	})
}
