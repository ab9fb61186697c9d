package siem_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/siem"
	_ "github.com/enclave-ml/enclave/internal/siem/file"
	_ "github.com/enclave-ml/enclave/internal/siem/webhook"
	"github.com/enclave-ml/enclave/internal/sqlstore"
)

// clock is a clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// fixture is one database with an audit recorder, and services over it.
type fixture struct {
	t     *testing.T
	db    *sqlstore.DB
	clock *clock
	now   enclave.Clock
	rec   *audit.Recorder
	dir   string
	n     int
}

func newFixture(t *testing.T, db *sqlstore.DB) *fixture {
	c := &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	return &fixture{t: t, db: db, clock: c, now: c.Now, rec: &audit.Recorder{Store: &sqlstore.AuditStore{DB: db}, Clock: c.Now}, dir: t.TempDir()}
}

// realTime makes the fixture's services use the wall clock (for Run loops).
func (f *fixture) realTime() {
	f.now = time.Now
	f.rec.Clock = time.Now
}

// service returns a new Service over the fixture's database, as a new
// process would make it: nothing shared with earlier ones but the database.
func (f *fixture) service(owner string) *siem.Service {
	return &siem.Service{Store: &sqlstore.SinkStore{DB: f.db}, Events: &sqlstore.AuditStore{DB: f.db},
		Leases: &sqlstore.OutboxStore{DB: f.db}, Tx: f.db, Audit: f.rec, Clock: f.now, Owner: owner,
		Env:    siem.Env{FileDir: f.dir, Hostname: "enclave-test"},
		Logger: slog.New(slog.DiscardHandler), Backoff: func(int) time.Duration { return time.Minute },
		SnapshotTTL: time.Nanosecond} // the test clock moves faster than any cache
}

// admin is the context of a platform administrator's request.
func admin() context.Context {
	return enclave.WithActor(context.Background(), &enclave.Actor{PrincipalID: "p-admin", Kind: enclave.PrincipalUser, Name: "admin"})
}

// record appends n audit events, each in its own transaction.
func (f *fixture) record(n int) {
	f.t.Helper()
	ctx := admin()
	for range n {
		f.n++
		i := f.n
		if err := f.db.InTx(ctx, func(ctx context.Context) error {
			return f.rec.Record(ctx, audit.Event{Action: "test.event", TargetType: "thing", TargetID: fmt.Sprint(i),
				Details: map[string]any{"i": i}})
		}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// all returns every audit event in sequence order.
func (f *fixture) all() []*audit.Event {
	f.t.Helper()
	var out []*audit.Event
	var after int64
	for {
		evs, err := (&sqlstore.AuditStore{DB: f.db}).ListEvents(context.Background(), audit.Filter{}, after, 500)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
		after = evs[len(evs)-1].Seq
	}
}

// actions returns the audit events of an action.
func (f *fixture) actions(action string) []*audit.Event {
	f.t.Helper()
	evs, err := (&sqlstore.AuditStore{DB: f.db}).ListEvents(context.Background(), audit.Filter{Action: action}, 0, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}

// checkComplete checks that got (event IDs in arrival order, duplicates
// allowed) holds every event of want, and that first arrivals keep the
// sequence order. It returns how many arrivals were duplicates.
func checkComplete(t *testing.T, want []*audit.Event, got []string) int {
	t.Helper()
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
		if !seen[e.ID] {
			t.Errorf("event %d (%s, %s) never arrived", e.Seq, e.ID, e.Action)
		}
	}
	if len(first) != len(ids) {
		t.Fatalf("%d distinct events arrived, %d exist", len(first), len(ids))
	}
	for i := range ids {
		if first[i] != ids[i] {
			t.Fatalf("arrival order differs from sequence order at %d: got %s, want %s", i, first[i], ids[i])
		}
	}
	return len(got) - len(first)
}

// receiver is a webhook receiver: it understands both formats, records
// the event IDs it accepted in order, and answers with a status tests set.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	ids         []string
	status      int // 0: 200
	requests    int
	inflight    int
	maxInflight int
	headers     []http.Header
	bodies      [][]byte
	arrived     chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, arrived: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.inflight++
	r.maxInflight = max(r.maxInflight, r.inflight)
	r.requests++
	status := r.status
	r.mu.Unlock()
	defer func() { r.mu.Lock(); r.inflight--; r.mu.Unlock() }()
	body, _ := io.ReadAll(req.Body)
	if status != 0 && status != 200 {
		http.Error(w, "receiver unavailable", status)
		return
	}
	ids, err := parseBatch(body)
	if err != nil {
		r.t.Errorf("receiver: %v: %s", err, body)
		http.Error(w, err.Error(), 400)
		return
	}
	r.mu.Lock()
	r.ids = append(r.ids, ids...)
	r.headers = append(r.headers, req.Header.Clone())
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"text":"Success","code":0}`))
}

// parseBatch reads a JSON array of events, or HEC's newline-separated objects.
func parseBatch(body []byte) ([]string, error) {
	var ids []string
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
		var evs []audit.Event
		if err := json.Unmarshal(body, &evs); err != nil {
			return nil, err
		}
		for _, e := range evs {
			ids = append(ids, e.ID)
		}
		return ids, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var h struct {
			Time       json.Number `json:"time"`
			Host       string      `json:"host"`
			Source     string      `json:"source"`
			Sourcetype string      `json:"sourcetype"`
			Event      audit.Event `json:"event"`
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h); err != nil {
			return nil, err
		}
		if h.Source != "enclave" || h.Sourcetype != "enclave:audit" || h.Time == "" || h.Event.ID == "" {
			return nil, fmt.Errorf("not an HEC event: %s", sc.Text())
		}
		ids = append(ids, h.Event.ID)
	}
	return ids, sc.Err()
}

func (r *receiver) setStatus(code int) {
	r.mu.Lock()
	r.status = code
	r.mu.Unlock()
}

func (r *receiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// waitFor waits, without sleeping, until cond holds after an arrival, or fails.
func (r *receiver) waitFor(cond func() bool, what string) {
	r.t.Helper()
	deadline := time.After(60 * time.Second)
	for !cond() {
		select {
		case <-r.arrived:
		case <-time.After(50 * time.Millisecond): // cond may also depend on the database
		case <-deadline:
			r.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// reopenable is a listener address that can be closed and opened again,
// as a receiver that restarts.
func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func webhookSink(name, url string, format siem.WebhookFormat, token string, batch int) siem.SinkCreate {
	in := siem.SinkCreate{Name: name, Kind: siem.KindWebhook, BatchSize: batch,
		Webhook: &siem.WebhookInput{URL: url, Format: format}}
	if token != "" {
		in.Webhook.Token = &token
	}
	return in
}
