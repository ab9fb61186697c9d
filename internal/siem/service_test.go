package siem_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

func ptr[T any](v T) *T { return &v }

// TestSinkValidation: every way a definition can be wrong is refused with
// invalid_argument naming the field, and nothing is stored.
func TestSinkValidation(t *testing.T) {
	db := storetest.Open(t, storetest.Backends()[0].URL(t))
	f := newFixture(t, db)
	svc := f.service("r")
	file := func(p string) *siem.FileSettings { return &siem.FileSettings{Path: p} }
	for _, c := range []struct {
		name  string
		in    siem.SinkCreate
		field string
	}{
		{"bad name", siem.SinkCreate{Name: "Bad Name", Kind: siem.KindFile, File: file("a.jsonl")}, "name"},
		{"bad kind", siem.SinkCreate{Name: "a", Kind: "kafka"}, "kind"},
		{"no settings", siem.SinkCreate{Name: "a", Kind: siem.KindFile}, "file"},
		{"other kind's settings", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: file("a"), Syslog: &siem.SyslogSettings{}}, "syslog"},
		{"absolute path", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: file("/etc/passwd")}, "file.path"},
		{"escaping path", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: file("../enclave.db")}, "file.path"},
		{"unclean path", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: file("x/../../y")}, "file.path"},
		{"hidden path", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: file(".ssh/x")}, "file.path"},
		{"tiny rotation", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: &siem.FileSettings{Path: "a", MaxBytes: 10}}, "file.max_bytes"},
		{"keep too many", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: &siem.FileSettings{Path: "a", Keep: 1000}}, "file.keep"},
		{"batch too big", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: file("a"), BatchSize: 5000}, "batch_size"},
		{"bad start", siem.SinkCreate{Name: "a", Kind: siem.KindFile, File: file("a"), Start: "yesterday"}, "start"},
		{"syslog without port", siem.SinkCreate{Name: "a", Kind: siem.KindSyslog, Syslog: &siem.SyslogSettings{Address: "siem.example.org"}}, "syslog.address"},
		{"syslog relative CA", siem.SinkCreate{Name: "a", Kind: siem.KindSyslog, Syslog: &siem.SyslogSettings{Address: "h:6514", CAFile: "ca.pem"}}, "syslog.ca_file"},
		{"syslog cert without key", siem.SinkCreate{Name: "a", Kind: siem.KindSyslog, Syslog: &siem.SyslogSettings{Address: "h:6514", CertFile: "/c.pem"}}, "syslog.key_file"},
		{"syslog facility", siem.SinkCreate{Name: "a", Kind: siem.KindSyslog, Syslog: &siem.SyslogSettings{Address: "h:6514", Facility: ptr(24)}}, "syslog.facility"},
		{"syslog format", siem.SinkCreate{Name: "a", Kind: siem.KindSyslog, Syslog: &siem.SyslogSettings{Address: "h:6514", Format: "cef"}}, "syslog.format"},
		{"plain http off loopback", webhookSink("a", "http://siem.example.org/in", siem.WebhookJSON, "", 0), "webhook.url"},
		{"not a URL", webhookSink("a", "siem.example.org", siem.WebhookJSON, "", 0), "webhook.url"},
		{"credentials in URL", webhookSink("a", "https://u:p@siem.example.org/in", siem.WebhookJSON, "", 0), "webhook.url"},
		{"HEC without token", webhookSink("a", "https://siem.example.org/in", siem.WebhookSplunkHEC, "", 0), "webhook.token"},
		{"token with space", webhookSink("a", "https://siem.example.org/in", siem.WebhookJSON, "a b", 0), "webhook.token"},
		{"bad format", webhookSink("a", "https://siem.example.org/in", "xml", "", 0), "webhook.format"},
		{"index for json", siem.SinkCreate{Name: "a", Kind: siem.KindWebhook, Webhook: &siem.WebhookInput{URL: "https://h/in", Format: siem.WebhookJSON, Index: "main"}}, "webhook.index"},
	} {
		_, err := svc.Create(admin(), c.in)
		var e *enclave.Error
		if !enclave.IsCode(err, enclave.CodeInvalidArgument) || !asError(err, &e) || e.Field != c.field {
			t.Errorf("%s: %v, want invalid_argument on %s", c.name, err, c.field)
		}
	}
	if sinks, err := svc.List(admin()); err != nil || len(sinks) != 0 {
		t.Errorf("refused definitions left %d sinks (%v)", len(sinks), err)
	}
	if n := len(f.actions("audit.sink.create")); n != 0 {
		t.Errorf("refused definitions were audited as created: %d", n)
	}
}

func asError(err error, target **enclave.Error) bool {
	e, ok := err.(*enclave.Error)
	*target = e
	return ok
}

// TestDefinitionChangesAreAudited: create, update (a protection change),
// a no-op update and delete each write their record, and a webhook token
// appears in no response and no audit record.
func TestDefinitionChangesAreAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		svc := f.service("r")
		ctx := admin()
		const secret = "super-secret-hec-token"
		sk, err := svc.Create(ctx, webhookSink("soc", "https://siem.example.org/services/collector", siem.WebhookSplunkHEC, secret, 0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctx, webhookSink("soc", "https://siem.example.org/x", siem.WebhookJSON, "", 0)); !enclave.IsCode(err, enclave.CodeConflict) {
			t.Errorf("duplicate name: %v", err)
		}
		if !sk.Enabled || sk.BatchSize != siem.DefaultBatchSize || !sk.Webhook.TokenSet || sk.CreatedBy != "admin" || sk.Health == nil {
			t.Errorf("created: %+v", sk)
		}
		off := false
		if _, err := svc.Update(ctx, "soc", siem.SinkUpdate{Enabled: &off, Required: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Update(ctx, "soc", siem.SinkUpdate{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		newToken := "rotated-token"
		up, err := svc.Update(ctx, "soc", siem.SinkUpdate{Webhook: &siem.WebhookInput{URL: "https://siem.example.org/services/collector", Token: &newToken}})
		if err != nil || !up.Webhook.TokenSet || up.Webhook.Format != siem.WebhookSplunkHEC {
			t.Fatalf("token rotation: %+v, %v", up, err)
		}
		if _, err := svc.Update(ctx, "soc", siem.SinkUpdate{File: &siem.FileSettings{Path: "x"}}); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("file settings on a webhook sink: %v", err)
		}
		if err := svc.Delete(ctx, "soc"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, "soc"); !enclave.IsCode(err, enclave.CodeNotFound) {
			t.Errorf("deleted sink: %v", err)
		}
		var actions []string
		for _, e := range f.all() {
			actions = append(actions, e.Action)
			raw, _ := json.Marshal(e)
			if strings.Contains(string(raw), secret) || strings.Contains(string(raw), newToken) {
				t.Errorf("audit record %s carries the token: %s", e.Action, raw)
			}
			if e.Action == "audit.sink.update" && e.Details["protection"] != nil {
				if p, _ := json.Marshal(e.Details["protection"]); string(p) != `["sink disabled","fail-closed on"]` {
					t.Errorf("protection change recorded as %s", p)
				}
			}
		}
		if got := strings.Join(actions, ","); got != "audit.sink.create,audit.sink.update,audit.sink.update,audit.sink.delete" {
			t.Errorf("audit actions %s", got)
		}
		raw, _ := json.Marshal(sk)
		if strings.Contains(string(raw), secret) || !strings.Contains(string(raw), `"token_set":true`) {
			t.Errorf("sink JSON: %s", raw)
		}
	})
}

// TestFailClosedGate: with a required sink, mutating requests are refused
// once it has failed FailClosedAfter times in a row, naming the sink and
// why; they are allowed again when it recovers, when it is no longer
// required, and never refused for sinks that are not required.
func TestFailClosedGate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		rcv := newReceiver(t)
		svc := f.service("r")
		ctx := admin()
		in := webhookSink("soc", rcv.srv.URL, siem.WebhookJSON, "", 0)
		if _, err := svc.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		in.Name, in.Required = "required-soc", true
		if _, err := svc.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		rcv.setStatus(500)
		for i := range 3 {
			if err := svc.WriteGate(ctx); err != nil {
				t.Fatalf("refused after %d failures: %v", i, err)
			}
			f.clock.Add(time.Minute)
			if _, err := svc.DeliverOnce(ctx, "required-soc"); err == nil {
				t.Fatal("delivery to a failing receiver succeeded")
			}
		}
		err := svc.WriteGate(ctx)
		if !enclave.IsCode(err, enclave.CodeUnavailable) || !strings.Contains(err.Error(), "sink required-soc has failed 3 times in a row since") {
			t.Fatalf("gate with the required sink down: %v", err)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(svc)
		got := gather(t, reg)
		for k, v := range map[string]float64{
			"enclave_audit_fail_closed_refusing":                                          1,
			`enclave_audit_sink_up{kind="webhook",sink="required-soc"}`:                   0,
			`enclave_audit_sink_up{kind="webhook",sink="soc"}`:                            0, // stalled: nothing delivers it here
			`enclave_audit_sink_failures_total{kind="webhook",sink="required-soc"}`:       3,
			`enclave_audit_sink_consecutive_failures{kind="webhook",sink="required-soc"}`: 3,
			`enclave_audit_sink_delivered_total{kind="webhook",sink="soc"}`:               0,
			`enclave_audit_sink_lag_events{kind="webhook",sink="soc"}`:                    3,
		} {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("metric %s = %v (present %v), want %v", k, g, ok, v)
			}
		}
		// Recovery opens the gate again.
		rcv.setStatus(200)
		f.clock.Add(time.Minute)
		if n, err := svc.DeliverOnce(ctx, "required-soc"); err != nil || n == 0 {
			t.Fatalf("recovery: %d, %v", n, err)
		}
		if err := svc.WriteGate(ctx); err != nil {
			t.Fatalf("gate after recovery: %v", err)
		}
		// A required sink that stalls (events wait, nothing delivers) closes it too.
		f.record(1)
		f.clock.Add(3 * time.Minute)
		if err := svc.WriteGate(ctx); !enclave.IsCode(err, enclave.CodeUnavailable) || !strings.Contains(err.Error(), "has delivered nothing for over 2m0s with") {
			t.Fatalf("gate with the required sink stalled: %v", err)
		}
		// Not required any more: nothing refuses.
		if _, err := svc.Update(ctx, "required-soc", siem.SinkUpdate{Required: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if err := svc.WriteGate(ctx); err != nil {
			t.Fatalf("gate without required sinks: %v", err)
		}
	})
}

// TestFileSinkThroughService delivers to a JSONL file with rotation via
// the service: every event is a line, files are 0600, and the rotated
// files together with the current one hold the whole trail in order.
func TestFileSinkThroughService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		svc := f.service("r")
		ctx := admin()
		f.record(40)
		if _, err := svc.Create(ctx, siem.SinkCreate{Name: "local", Kind: siem.KindFile, BatchSize: 7,
			File: &siem.FileSettings{Path: "siem/audit.jsonl", MaxBytes: 4096, Keep: 50}}); err != nil {
			t.Fatal(err)
		}
		deliverAll(t, svc, "local")
		base := filepath.Join(f.dir, "siem", "audit.jsonl")
		var files []string
		for i := 50; i >= 1; i-- {
			if _, err := os.Stat(base + "." + itoa(i)); err == nil {
				files = append(files, base+"."+itoa(i))
			}
		}
		files = append(files, base)
		if len(files) < 3 {
			t.Fatalf("no rotation: %v", files)
		}
		var ids []string
		for _, p := range files {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 || st.Size() > 4096 {
				t.Errorf("%s: mode %v, size %d", p, st.Mode().Perm(), st.Size())
			}
			b, _ := os.ReadFile(p)
			for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				var e struct{ ID string }
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("%s: not JSONL: %q", p, line)
				}
				ids = append(ids, e.ID)
			}
		}
		checkComplete(t, f.all(), ids)
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// gather returns every sample of reg as name{labels} → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
