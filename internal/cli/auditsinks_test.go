package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/siem"
)

func sinkSoc() *siem.Sink {
	ok := t0.Add(-60e9)
	return &siem.Sink{ID: "s1", Name: "soc", Kind: siem.KindWebhook, Enabled: true, Required: true, BatchSize: 200,
		Webhook:   &siem.WebhookSettings{URL: "https://splunk.example.org:8088/services/collector/event", Format: siem.WebhookSplunkHEC, TokenSet: true},
		CreatedAt: t0, CreatedBy: "admin", UpdatedAt: t0, UpdatedBy: "admin",
		Health: &siem.Health{Status: siem.StatusFailing, Up: false, Cursor: 1200, LagEvents: 42, Delivered: 1200, ConsecutiveFailures: 3,
			LastSuccessAt: &ok, FailingSince: &t0, LastError: "POST https://splunk.example.org:8088/services/collector/event answered 503 Service Unavailable"}}
}

func sinkLocal() *siem.Sink {
	return &siem.Sink{ID: "s2", Name: "local", Kind: siem.KindFile, Enabled: false, BatchSize: 200,
		File:      &siem.FileSettings{Path: "siem/audit.jsonl", MaxBytes: 100 << 20, Keep: 5},
		CreatedAt: t0, UpdatedAt: t1, Health: &siem.Health{Status: siem.StatusDisabled, LagEvents: 7}}
}

func TestAuditSinksListTable(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/audit/sinks", 200, list([]*siem.Sink{sinkLocal(), sinkSoc()}, ""))
	out, _, err := runCLI(t, "", "audit", "sinks", "list")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "audit_sinks_list", out)
}

func TestAuditSinksShowYAML(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/audit/sinks/soc", 200, sinkSoc())
	out, _, err := runCLI(t, "", "audit", "sinks", "show", "soc", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "audit_sinks_show_yaml", out)
}

// TestAuditSinksCreate sends each kind's settings, the token only from
// stdin, and refuses settings of another kind.
func TestAuditSinksCreate(t *testing.T) {
	api := loggedIn(t)
	api.on("POST", "/api/v1/audit/sinks", 201, sinkSoc())
	_, _, err := runCLI(t, "hec-secret\n", "audit", "sinks", "create", "soc", "--kind", "webhook", "--url",
		"https://splunk.example.org:8088/services/collector/event", "--token-stdin", "--required", "--index", "audit")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(api.last().Body), &got); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(got); string(b) != `{"kind":"webhook","name":"soc","required":true,"webhook":{"index":"audit","token":"hec-secret","url":"https://splunk.example.org:8088/services/collector/event"}}` {
		t.Errorf("create body %s", b)
	}
	_, _, err = runCLI(t, "", "audit", "sinks", "create", "local", "--kind", "file", "--path", "siem/audit.jsonl", "--keep", "3", "--disabled", "--start", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if body := api.last().Body; !strings.Contains(body, `"enabled":false`) || !strings.Contains(body, `"file":{"path":"siem/audit.jsonl","keep":3}`) ||
		!strings.Contains(body, `"start":"latest"`) {
		t.Errorf("file create body %s", body)
	}
	before := api.count()
	_, _, err = runCLI(t, "", "audit", "sinks", "create", "x", "--kind", "file", "--path", "a", "--url", "https://h/")
	if err == nil || !strings.Contains(err.Error(), "--url is not a setting of file sinks") || api.count() != before {
		t.Errorf("a setting of another kind: %v", err)
	}
	if _, _, err := runCLI(t, "", "audit", "sinks", "create", "x", "--path", "a"); err == nil || !isUsage(err) {
		t.Errorf("without --kind: %v", err)
	}
}

// TestAuditSinksUpdate: enabling and disabling send only that; settings
// flags are applied to the current settings, which are sent whole.
func TestAuditSinksUpdate(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/audit/sinks/soc", 200, sinkSoc())
	api.on("PATCH", "/api/v1/audit/sinks/soc", 200, sinkSoc())
	if _, _, err := runCLI(t, "", "audit", "sinks", "update", "soc", "--enabled=false"); err != nil {
		t.Fatal(err)
	}
	if body := api.last().Body; strings.TrimSpace(body) != `{"enabled":false}` {
		t.Errorf("disable body %s", body)
	}
	if _, _, err := runCLI(t, "new-token\n", "audit", "sinks", "update", "soc", "--token-stdin", "--format", "json"); err != nil {
		t.Fatal(err)
	}
	if body := strings.TrimSpace(api.last().Body); body != `{"webhook":{"url":"https://splunk.example.org:8088/services/collector/event","format":"json","token":"new-token"}}` {
		t.Errorf("token body %s", body)
	}
	if _, _, err := runCLI(t, "", "audit", "sinks", "update", "soc"); err == nil || !isUsage(err) {
		t.Errorf("update without flags: %v", err)
	}
}

func TestAuditSinksDelete(t *testing.T) {
	api := loggedIn(t)
	api.on("DELETE", "/api/v1/audit/sinks/soc", 204, nil)
	out, _, err := runCLI(t, "", "audit", "sinks", "delete", "soc")
	if err != nil || out != "Deleted audit sink soc\n" {
		t.Fatalf("%q, %v", out, err)
	}
}
