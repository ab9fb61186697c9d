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
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/pquerna/otp/totp"
)

// env is one API over one fresh database, with an administrator signed in
// the way a real one is: bootstrap credential → first password → TOTP
// enrolment → password and TOTP sign-in, whose full session is adminToken.
type env struct {
	t          testing.TB
	db         *sqlstore.DB
	srv        *httptest.Server
	api        *api.Server
	adminToken string
	// scenarios counts the scenarios run, so request IDs stay unique.
	scenarios int

	svc   *server.Services
	clock *testClock
	// dataDir is the server's data directory (stored objects live in it).
	dataDir string
	// adminPassword and adminTOTP are the administrator's password and TOTP secret.
	adminPassword string
	adminTOTP     string
	// recoveryCodes are the administrator's, from the enrolment.
	recoveryCodes []string
}

// testClock is a clock tests move by hand: no sleeping to wait for time.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock forward.
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cheapArgon keeps tests fast; the parameters are stored in each hash, so
// the code paths are the same as with the defaults.
var cheapArgon = identity.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

const adminPassword = "correct horse battery staple"

func newEnv(t testing.TB, db *sqlstore.DB) *env {
	t.Helper()
	return newEnvConfig(t, db, nil)
}

// newEnvConfig is newEnv with changes to the default configuration.
func newEnvConfig(t testing.TB, db *sqlstore.DB, change func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir() // stored objects go here
	if change != nil {
		change(&cfg)
	}
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	svc := server.NewServices(db, clock.Now, cfg)
	svc.Identity.Argon2 = cheapArgon
	a := svc.API(db)
	a.MaxBodyBytes, a.Version, a.Logger, a.Clock = 4096, "test", testLogger(), clock.Now
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, srv: srv, api: a, svc: svc, clock: clock, adminPassword: adminPassword, dataDir: cfg.DataDir}
	var cred string
	if _, err := svc.Identity.Bootstrap(context.Background(), func(_, c string) error { cred = c; return nil }); err != nil {
		t.Fatal(err)
	}
	e.signInAdmin(cred)
	return e
}

// signInAdmin walks the first-start flow through the API.
func (e *env) signInAdmin(cred string) {
	e.t.Helper()
	var first identity.LoginResult
	e.mustJSON(e.anon("POST", "/api/v1/auth/login", `{"name":"admin","credential":"`+cred+`"}`), 200, &first)
	if !first.EnrollmentRequired {
		e.t.Fatalf("bootstrap session not limited to enrolment: %+v", first)
	}
	setup := bearer(first.Secret)
	e.must(e.do("POST", "/api/v1/auth/password", `{"new_password":"`+e.adminPassword+`"}`, setup), 204)
	var enr identity.TOTPEnrollment
	e.mustJSON(e.do("POST", "/api/v1/auth/mfa/totp", "", setup), 201, &enr)
	e.adminTOTP = enr.Secret
	var rc identity.RecoveryCodes
	e.mustJSON(e.do("POST", "/api/v1/auth/mfa/totp/confirm", `{"code":"`+e.code(enr.Secret)+`"}`, setup), 200, &rc)
	e.recoveryCodes = rc.Codes
	e.adminToken = e.signIn("admin", e.adminPassword, enr.Secret)
}

// signIn signs a person with MFA in through the API and returns the session token.
func (e *env) signIn(name, password, totpSecret string) string {
	e.t.Helper()
	var ch identity.LoginResult
	e.mustJSON(e.anon("POST", "/api/v1/auth/login", `{"name":"`+name+`","password":"`+password+`"}`), 200, &ch)
	if !ch.MFARequired || ch.Challenge == "" {
		e.t.Fatalf("no MFA challenge: %+v", ch)
	}
	e.clock.Add(30 * time.Second) // a fresh TOTP step: each code is accepted once
	var res identity.LoginResult
	e.mustJSON(e.anon("POST", "/api/v1/auth/login/mfa", `{"challenge":"`+ch.Challenge+`","code":"`+e.code(totpSecret)+`"}`), 200, &res)
	if res.Secret == "" || !res.Token.MFA {
		e.t.Fatalf("MFA sign-in gave no MFA session: %+v", res)
	}
	return res.Secret
}

// code is the TOTP code of secret at the test clock's time.
func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// bearer is the header map that sends token.
func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// anon sends a request without a token.
func (e *env) anon(method, path, body string) response {
	e.t.Helper()
	return e.do(method, path, body, map[string]string{"Authorization": ""})
}

func (e *env) must(r response, status int) response {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (e *env) mustJSON(r response, status int, v any) {
	e.t.Helper()
	e.must(r, status).json(e.t, v)
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
// sealAudit chains every committed audit record, for checks that read the
// audit_events table directly.
func sealAudit(t testing.TB, db *sqlstore.DB) {
	t.Helper()
	if _, err := (&sqlstore.AuditStore{DB: db}).Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
}

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
