package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/sqlite"
	"github.com/enclave-ml/enclave/internal/sqlstore"
)

// TestAuditSinksSurviveKill9 drives audit sinks through the binary: a
// webhook (plain JSON, required) and a JSONL file are defined with the
// CLI, the server is killed with SIGKILL while events are being delivered
// and started again, and both sinks end up with every event of the trail,
// in order (the restarted server waits for the dead one's leases to lapse,
// 30 s). Then the webhook's receiver fails: the server refuses changes
// (fail-closed) until the sink is no longer required.
func TestAuditSinksSurviveKill9(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "enclave-data")
	s := startServer(t, "--data-dir", dataDir)
	c := newCLI(t)
	c.login(s)

	var mu sync.Mutex
	var got []string
	var failing atomic.Bool
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var evs []audit.Event
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &evs); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		for _, e := range evs {
			got = append(got, e.ID)
		}
		mu.Unlock()
	}))
	defer rcv.Close()
	c.ok("audit", "sinks", "create", "soc", "--kind", "webhook", "--url", rcv.URL+"/ingest", "--format", "json", "--required")
	c.ok("audit", "sinks", "create", "local", "--kind", "file", "--path", "siem/audit.jsonl", "--batch-size", "3")
	for i := range 3 {
		c.ok("zone", "create", fmt.Sprintf("z%d", i), "--region", "eu")
	}
	// Delivery is under way (the server holds the sinks' leases) when the
	// server is killed; the next one takes over once the leases lapse.
	for deadline := time.Now().Add(30 * time.Second); ; {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing delivered\n%s", s.stderr)
		}
		time.Sleep(50 * time.Millisecond) // polling a server process
	}
	for i := 3; i < 6; i++ {
		c.ok("zone", "create", fmt.Sprintf("z%d", i), "--region", "eu")
	}
	s.stop(t, syscall.SIGKILL)

	s2 := startServer(t, "--data-dir", dataDir)
	c2 := &cli{t: t, config: c.config}
	env := []string{"ENCLAVE_SERVER=" + s2.url}
	for i := range 3 {
		if _, errOut, code := c2.runEnv(env, "zone", "create", fmt.Sprintf("after-%d", i), "--region", "eu"); code != 0 {
			t.Fatalf("zone create after restart: %s", errOut)
		}
	}

	db, err := sqlstore.Open(context.Background(), sqlite.URL(filepath.Join(dataDir, "enclave.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	trail := func() []*audit.Event {
		evs, err := (&sqlstore.AuditStore{DB: db}).ListEvents(context.Background(), audit.Filter{}, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	fileIDs := func() []string {
		var ids []string
		base := filepath.Join(dataDir, "audit", "siem", "audit.jsonl")
		b, _ := os.ReadFile(base)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var e audit.Event
			if json.Unmarshal([]byte(line), &e) == nil {
				ids = append(ids, e.ID)
			}
		}
		return ids
	}
	webhookIDs := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	want := trail()
	deadline := time.Now().Add(60 * time.Second)
	for !(covers(webhookIDs(), want) && covers(fileIDs(), want)) {
		if time.Now().After(deadline) {
			t.Fatalf("sinks did not catch up: webhook %d, file %d of %d events\n%s", len(distinctIDs(webhookIDs())), len(distinctIDs(fileIDs())), len(want), s2.stderr)
		}
		time.Sleep(100 * time.Millisecond) // polling a server process
	}
	for name, ids := range map[string][]string{"webhook": webhookIDs(), "file": fileIDs()} {
		if err := inOrder(ids, want); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dataDir, "audit", "siem", "audit.jsonl")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("audit file: %v %v", st, err)
	}
	if out, _, _ := c2.runEnv(env, "audit", "sinks", "list"); !strings.Contains(out, "healthy") || !strings.Contains(out, "soc") {
		t.Errorf("sinks list:\n%s", out)
	}

	// The receiver fails: after three failed attempts changes are refused.
	failing.Store(true)
	deadline = time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		_, errOut, code := c2.runEnv(env, "zone", "create", fmt.Sprintf("during-%d", i), "--region", "eu")
		if code != 0 {
			if code != 4 || !strings.Contains(errOut, "unavailable") || !strings.Contains(errOut, "sink soc has failed") {
				t.Fatalf("refusal: exit %d %s", code, errOut)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("changes were never refused while the required sink failed")
		}
		time.Sleep(500 * time.Millisecond) // the server retries with backoff of its own
	}
	if out, _, _ := c2.runEnv(env, "audit", "sinks", "show", "soc", "-o", "yaml"); !strings.Contains(out, "status: failing") ||
		!strings.Contains(out, "down for maintenance") {
		t.Errorf("sink show while failing:\n%s", out)
	}
	hc := httpsClient(t, s2.caFile)
	req, _ := http.NewRequest("GET", s2.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+savedToken(t, c.config))
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `enclave_audit_sink_up{kind="webhook",sink="soc"} 0`) ||
		!strings.Contains(string(b), `enclave_audit_fail_closed_refusing 1`) {
		t.Errorf("metrics lack the failing sink (status %d):\n%s", res.StatusCode, grepLines(string(b), "enclave_audit"))
	}
	// Repairing is allowed while refusing: fail-closed off opens the gate.
	if _, errOut, code := c2.runEnv(env, "audit", "sinks", "update", "soc", "--required=false"); code != 0 {
		t.Fatalf("turning fail-closed off: %s", errOut)
	}
	if _, errOut, code := c2.runEnv(env, "zone", "create", "after-repair", "--region", "eu"); code != 0 {
		t.Fatalf("change after fail-closed off: %s", errOut)
	}
	if err := s2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

func distinctIDs(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func covers(ids []string, want []*audit.Event) bool {
	m := distinctIDs(ids)
	for _, e := range want {
		if !m[e.ID] {
			return false
		}
	}
	return true
}

// inOrder checks that first arrivals follow the trail's order.
func inOrder(ids []string, want []*audit.Event) error {
	pos := map[string]int{}
	for i, e := range want {
		pos[e.ID] = i
	}
	seen := map[string]bool{}
	last := -1
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		p, ok := pos[id]
		if !ok {
			continue // an event recorded after want was read
		}
		if p != last+1 {
			return fmt.Errorf("event %d arrived after event %d", p, last)
		}
		last = p
	}
	return nil
}

func savedToken(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "token: "); ok {
			return strings.Trim(v, `"'`)
		}
	}
	t.Fatal("no token in the client configuration")
	return ""
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
