package siem_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestRunThroughReceiverRestartAndLoopRestart drives the real delivery
// loop while events keep arriving: the receiver goes away mid-stream (its
// listener closed, connections refused) and comes back on the same
// address, and then the delivery loop itself is replaced by a new Service
// over the same database. The receiver ends with every event, in order.
func TestRunThroughReceiverRestartAndLoopRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		f.realTime()
		rcv := &receiver{t: t, arrived: make(chan struct{}, 1)}
		ln := listenOn(t, "127.0.0.1:0")
		addr := ln.Addr().String()
		srv := &http.Server{Handler: rcv}
		go srv.Serve(ln)

		ctx := admin()
		svc := f.service("replica-1")
		svc.Poll, svc.Backoff = 5*time.Millisecond, func(int) time.Duration { return 10 * time.Millisecond }
		if _, err := svc.Create(ctx, webhookSink("soc", "http://"+addr+"/ingest", siem.WebhookSplunkHEC, "tok", 5)); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); svc.Run(rctx) }()

		f.record(20)
		rcv.waitFor(func() bool { return len(rcv.got()) >= 10 }, "the first events")
		// The receiver goes away mid-stream.
		srv.Close()
		f.record(20)
		waitHealth(t, svc, func(h *siem.Health) bool { return h.ConsecutiveFailures >= 2 }, "failures while the receiver is down")
		// It comes back on the same address.
		ln = listenOn(t, addr)
		srv = &http.Server{Handler: rcv}
		go srv.Serve(ln)
		defer srv.Close()
		rcv.waitFor(func() bool { return len(f.actions("audit.sink.recovered")) == 1 }, "the recovery")
		f.record(10)

		// The delivery loop is restarted: a new process, same database.
		cancel()
		wg.Wait()
		next := f.service("replica-2")
		next.Poll = 5 * time.Millisecond
		rctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		go next.Run(rctx)
		f.record(10)
		all := f.all()
		rcv.waitFor(func() bool { return len(distinct(rcv.got())) >= len(all) }, "every event")
		dups := checkComplete(t, all, rcv.got())
		t.Logf("%d events, %d duplicates", len(all), dups)
		if n := len(f.actions("audit.sink.failed")); n != 1 {
			t.Errorf("%d audit.sink.failed records, want 1", n)
		}
	})
}

func distinct(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// waitHealth polls the sink's persisted health (bounded) until cond holds.
func waitHealth(t *testing.T, svc *siem.Service, cond func(*siem.Health) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		sk, err := svc.Get(context.Background(), "soc")
		if err != nil {
			t.Fatal(err)
		}
		if cond(sk.Health) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, sk.Health)
		}
		time.Sleep(10 * time.Millisecond) // polling the database another goroutine writes
	}
}
