package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func TestAuditSinkScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.svc.Sinks.Env.FileDir = t.TempDir()
		run(t, e, []scenario{
			{name: "no sinks", method: "GET", path: "/api/v1/audit/sinks", status: 200, contain: []string{`"items":[]`}},
			{name: "create file sink", method: "POST", path: "/api/v1/audit/sinks",
				body:   `{"name":"local","kind":"file","file":{"path":"siem/audit.jsonl","max_bytes":1048576,"keep":3}}`,
				status: 201, contain: []string{`"name":"local"`, `"enabled":true`, `"path":"siem/audit.jsonl"`, `"status":"healthy"`, `"lag_events":`},
				events: []string{"audit.sink.create"}},
			{name: "create webhook sink with a token", method: "POST", path: "/api/v1/audit/sinks",
				body:   `{"name":"splunk","kind":"webhook","required":true,"webhook":{"url":"https://splunk.example.org:8088/services/collector/event","format":"splunk-hec","token":"SECRET-HEC-TOKEN"}}`,
				status: 201, contain: []string{`"token_set":true`, `"required":true`, `"format":"splunk-hec"`}, events: []string{"audit.sink.create"}},
			{name: "duplicate", method: "POST", path: "/api/v1/audit/sinks", body: `{"name":"local","kind":"file","file":{"path":"x"}}`,
				status: 409, code: "conflict", field: "name"},
			{name: "path escaping the audit directory", method: "POST", path: "/api/v1/audit/sinks", body: `{"name":"evil","kind":"file","file":{"path":"../enclave.db"}}`,
				status: 400, code: "invalid_argument", field: "file.path"},
			{name: "plain http to a remote host", method: "POST", path: "/api/v1/audit/sinks", body: `{"name":"w","kind":"webhook","webhook":{"url":"http://siem.example.org/in","format":"json"}}`,
				status: 400, code: "invalid_argument", field: "webhook.url"},
			{name: "unknown kind", method: "POST", path: "/api/v1/audit/sinks", body: `{"name":"k","kind":"kafka"}`, status: 400, code: "invalid_argument", field: "kind"},
			{name: "unknown setting", method: "POST", path: "/api/v1/audit/sinks", body: `{"name":"k","kind":"file","file":{"path":"a","colour":"red"}}`,
				status: 400, code: "invalid_argument", field: "colour"},
			{name: "wrong type", method: "POST", path: "/api/v1/audit/sinks", body: `{"name":"k","kind":"file","file":{"path":"a","keep":"many"}}`,
				status: 400, code: "invalid_argument", field: "file.keep"},
			{name: "list", method: "GET", path: "/api/v1/audit/sinks", status: 200, contain: []string{`"name":"local"`, `"name":"splunk"`, `"health":{`}},
			{name: "get", method: "GET", path: "/api/v1/audit/sinks/splunk", status: 200, contain: []string{`"url":"https://splunk.example.org:8088/services/collector/event"`}},
			{name: "bad name in path", method: "GET", path: "/api/v1/audit/sinks/Bad%20Name", status: 400, code: "invalid_argument", field: "sink"},
			{name: "missing", method: "GET", path: "/api/v1/audit/sinks/nowhere", status: 404, code: "not_found"},
			{name: "disable", method: "PATCH", path: "/api/v1/audit/sinks/splunk", body: `{"enabled":false}`, status: 200,
				contain: []string{`"enabled":false`, `"status":"disabled"`}, events: []string{"audit.sink.update"}},
			{name: "no-op update writes nothing", method: "PATCH", path: "/api/v1/audit/sinks/splunk", body: `{"enabled":false}`, status: 200},
			{name: "rotate the token", method: "PATCH", path: "/api/v1/audit/sinks/splunk",
				body: `{"webhook":{"url":"https://splunk.example.org:8088/services/collector/event","token":"NEW-SECRET"}}`, status: 200,
				contain: []string{`"token_set":true`}, events: []string{"audit.sink.update"}},
			{name: "other kind's settings", method: "PATCH", path: "/api/v1/audit/sinks/splunk", body: `{"file":{"path":"a"}}`,
				status: 400, code: "invalid_argument", field: "file"},
			{name: "delete", method: "DELETE", path: "/api/v1/audit/sinks/local", status: 204, events: []string{"audit.sink.delete"}},
			{name: "deleted", method: "GET", path: "/api/v1/audit/sinks/local", status: 404, code: "not_found"},
		})
		for _, path := range []string{"/api/v1/audit/sinks", "/api/v1/audit/sinks/splunk"} {
			if r := e.do("GET", path, "", nil); strings.Contains(string(r.body), "SECRET") {
				t.Errorf("%s returns the token: %s", path, r.body)
			}
		}
	})
}

// TestFailClosedThroughTheRouter: with a required sink whose receiver
// fails, mutating requests are refused with 503 unavailable naming the
// sink once it has failed three times in a row; reads, signing in and
// repairing the sinks still work; recovery opens the gate again.
func TestFailClosedThroughTheRouter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.svc.Sinks.Logger = slog.New(slog.DiscardHandler)
		var failing atomic.Bool
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				http.Error(w, "indexer down", http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(200)
		}))
		defer rcv.Close()
		e.api.Registry.MustRegister(e.svc.Sinks)
		e.must(e.do("POST", "/api/v1/audit/sinks", `{"name":"soc","kind":"webhook","required":true,"webhook":{"url":"`+rcv.URL+`","format":"splunk-hec","token":"t"}}`, nil), 201)
		deliver := func() error {
			e.clock.Add(2 * time.Minute)
			_, err := e.svc.Sinks.DeliverOnce(context.Background(), "soc")
			return err
		}
		if err := deliver(); err != nil {
			t.Fatal(err)
		}
		failing.Store(true)
		e.must(e.do("POST", "/api/v1/zones", `{"name":"before","region":"eu"}`, nil), 201) // an event to deliver
		for range 3 {
			if err := deliver(); err == nil {
				t.Fatal("delivery to a failing receiver succeeded")
			}
		}
		run(t, e, []scenario{
			{name: "changes refused", method: "POST", path: "/api/v1/zones", body: `{"name":"eu","region":"eu"}`, status: 503, code: "unavailable",
				contain: []string{"fail-closed", "sink soc has failed 3 times in a row"}},
			{name: "reads still work", method: "GET", path: "/api/v1/zones", status: 200},
			{name: "health shows it", method: "GET", path: "/api/v1/audit/sinks/soc", status: 200,
				contain: []string{`"status":"failing"`, `"up":false`, `"consecutive_failures":3`, `503 Service Unavailable: indexer down`}},
			{name: "metrics show it", method: "GET", path: "/metrics", status: 200,
				contain: []string{`enclave_audit_sink_up{kind="webhook",sink="soc"} 0`, `enclave_audit_fail_closed_refusing 1`,
					`enclave_audit_sink_failures_total{kind="webhook",sink="soc"} 3`, `enclave_audit_sink_lag_events{kind="webhook",sink="soc"}`}},
		})
		// Signing in still works, so that someone can come to repair.
		e.signIn("admin", e.adminPassword, e.adminTOTP)
		failing.Store(false)
		if err := deliver(); err != nil {
			t.Fatalf("recovery: %v", err)
		}
		step := func(name, method, path, body string, status int, events ...string) {
			t.Helper()
			rid := "failclosed-" + strings.ReplaceAll(name, " ", "-")
			r := e.do(method, path, body, map[string]string{api.RequestIDHeader: rid})
			if r.status != status {
				t.Fatalf("%s: status %d, want %d: %s", name, r.status, status, r.body)
			}
			if got := e.events(rid); strings.Join(got, ",") != strings.Join(events, ",") {
				t.Errorf("%s: audit events %v, want %v", name, got, events)
			}
		}
		step("changes allowed after recovery", "POST", "/api/v1/zones", `{"name":"eu","region":"eu"}`, 201, "zone.create")
		// Repairing is always allowed: turning fail-closed off opens the gate.
		failing.Store(true)
		for range 3 {
			_ = deliver()
		}
		step("refused again", "DELETE", "/api/v1/zones/eu", "", 503)
		step("fail-closed off", "PATCH", "/api/v1/audit/sinks/soc", `{"required":false}`, 200, "audit.sink.update")
		step("allowed without a required sink", "DELETE", "/api/v1/zones/eu", "", 204, "zone.delete")
	})
}
