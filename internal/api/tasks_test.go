package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// TestTasksAreVisibleAndDeadOnesRetryable drives the work queue's API: a
// task that ran out of attempts is listed as dead with its error, and a
// retry (audited) makes it pending again.
func TestTasksAreVisibleAndDeadOnesRetryable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		q := server.NewServices(db, nil, config.Default()).Queue
		ok, err := q.Enqueue(ctx, "scan", map[string]string{"file": "a"}, workqueue.EnqueueOptions{Scope: "/zones/z"})
		if err != nil {
			t.Fatal(err)
		}
		dead, _ := q.Enqueue(ctx, "deliver", nil, workqueue.EnqueueOptions{MaxAttempts: 1})
		store := &sqlstore.TaskStore{DB: db}
		now := time.Now()
		claimed, err := store.ClaimTask(ctx, []string{"deliver"}, "w", now.Add(time.Second), now.Add(time.Minute))
		if err != nil || claimed == nil {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		if err := store.FailTask(ctx, dead.ID, "w", "SIEM refused the connection", nil, now); err != nil {
			t.Fatal(err)
		}
		run(t, e, []scenario{
			{name: "list tasks", method: "GET", path: "/api/v1/tasks", status: 200, contain: []string{ok.ID, dead.ID}},
			{name: "list dead tasks", method: "GET", path: "/api/v1/tasks?state=dead", status: 200,
				contain: []string{dead.ID, `"last_error":"SIEM refused the connection"`}},
			{name: "list by kind", method: "GET", path: "/api/v1/tasks?kind=scan&page_size=1", status: 200, contain: []string{ok.ID, `"payload":{"file":"a"}`}},
			{name: "bad state filter", method: "GET", path: "/api/v1/tasks?state=sleeping", status: 400, code: "invalid_argument", field: "state"},
			{name: "get task", method: "GET", path: "/api/v1/tasks/" + ok.ID, status: 200, contain: []string{`"state":"pending"`, `"scope":"/zones/z"`}},
			{name: "malformed task id", method: "GET", path: "/api/v1/tasks/not-an-id", status: 400, code: "invalid_argument", field: "id"},
			{name: "missing task", method: "GET", path: "/api/v1/tasks/0190a0b0-0000-7000-8000-000000000000", status: 404, code: "not_found"},
			{name: "retry pending refused", method: "POST", path: "/api/v1/tasks/" + ok.ID + "/retry", status: 409, code: "failed_precondition"},
			{name: "retry dead", method: "POST", path: "/api/v1/tasks/" + dead.ID + "/retry", status: 200,
				contain: []string{`"state":"pending"`, `"attempts":0`}, events: []string{"task.retry"}},
		})
	})
}
