package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlstore"
)

// env is one API over one fresh database, with an administrator signed in.
type env struct {
	t          testing.TB
	db         *sqlstore.DB
	srv        *httptest.Server
	api        *api.Server
	adminToken string
}

func newEnv(t testing.TB, db *sqlstore.DB) *env {
	t.Helper()
	cfg := config.Default()
	svc := server.NewServices(db, nil, cfg)
	a := &api.Server{Zones: svc.Zones, Identity: svc.Identity, Queue: svc.Queue, Authorizer: access.AdminOnly{},
		Idempotency: &sqlstore.IdempotencyStore{DB: db}, Ready: db.Ping, MaxBodyBytes: 4096, Version: "test", Logger: testLogger()}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, srv: srv, api: a}
	var cred string
	if _, err := svc.Identity.Bootstrap(context.Background(), func(_, c string) error { cred = c; return nil }); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Identity.Login(context.Background(), identity.AdminName, cred)
	if err != nil {
		t.Fatal(err)
	}
	e.adminToken = res.Secret
	return e
}

// response is what a request returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.body)
	}
}

func (e *env) do(method, path, body string, header map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+e.adminToken)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// events returns the audit actions written by one request.
func (e *env) events(requestID string) []string {
	e.t.Helper()
	evs, err := (&sqlstore.AuditStore{DB: e.db}).ListEvents(context.Background(), audit.Filter{RequestID: requestID}, 0, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		s := ev.Action
		if ev.Outcome != audit.Success {
			s += ":" + string(ev.Outcome)
		}
		out = append(out, s)
	}
	return out
}

var _ = enclave.CodeInternal

// testLogger shows errors (with their causes) on stderr, and nothing else.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}
