package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/workqueue"
)

func deadTask() *workqueue.Task {
	return &workqueue.Task{ID: "0190-dead", Kind: "zone.provision", Scope: "zone/eu", Payload: json.RawMessage(`{"zone":"eu"}`),
		State: workqueue.Dead, Attempts: 5, MaxAttempts: 5, RunAt: t0,
		LastError: "storage: bucket enclave-eu is unreachable:\n\tdial tcp 10.0.0.1:443: i/o timeout after many retries",
		CreatedAt: t0, UpdatedAt: t1}
}

func TestTaskListTable(t *testing.T) {
	api := loggedIn(t)
	done := &workqueue.Task{ID: "0190-done", Kind: "audit.export", State: workqueue.Succeeded, Attempts: 1, MaxAttempts: 5,
		RunAt: t1, CreatedAt: t1, UpdatedAt: t1}
	api.on("GET", "/api/v1/tasks", 200, list([]*workqueue.Task{deadTask(), done}, ""))
	out, _, err := runCLI(t, "", "task", "list", "--state", "dead", "--kind", "zone.provision", "--limit", "10")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "task_list", out)
	if q := api.last().Query; q != "kind=zone.provision&page_size=10&state=dead" {
		t.Errorf("query = %s", q)
	}
}

func TestTaskShowAndRetry(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/tasks/0190-dead", 200, deadTask())
	retried := deadTask()
	retried.State, retried.Attempts, retried.RunAt = workqueue.Pending, 0, time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC)
	api.on("POST", "/api/v1/tasks/0190-dead/retry", 200, retried)

	out, _, err := runCLI(t, "", "task", "show", "0190-dead", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "task_show_yaml", out)

	out, _, err = runCLI(t, "", "task", "retry", "0190-dead")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "pending") {
		t.Errorf("retry output:\n%s", out)
	}
	req := api.last()
	if req.Method != "POST" || req.Header.Get("Idempotency-Key") == "" {
		t.Errorf("retry request = %+v", req)
	}
}
