package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/identity"
)

// steps runs scenarios like run, with request IDs that start with prefix,
// so that one test can run several tables against one database with code
// in between (signing someone in, moving the clock).
func steps(t *testing.T, e *env, prefix string, scs []scenario) {
	t.Helper()
	for i, sc := range scs {
		rid := fmt.Sprintf("%s-%03d", prefix, i)
		h := map[string]string{api.RequestIDHeader: rid}
		for k, v := range sc.header {
			h[k] = v
		}
		res := e.do(sc.method, sc.path, sc.body, h)
		if res.status != sc.status {
			t.Errorf("%s: status %d, want %d: %s", sc.name, res.status, sc.status, res.body)
			continue
		}
		if sc.code != "" {
			var p api.Problem
			res.json(t, &p)
			if p.Code != sc.code || p.Field != sc.field || p.RequestID != rid || p.Detail == "" {
				t.Errorf("%s: problem %+v, want code %q field %q", sc.name, p, sc.code, sc.field)
			}
		}
		for _, c := range sc.contain {
			if !strings.Contains(string(res.body), c) {
				t.Errorf("%s: body lacks %q: %s", sc.name, c, res.body)
			}
		}
		if sc.status < 400 {
			noteCovered(sc.method, sc.path, res.header)
		}
		if got, want := e.events(rid), sc.wantEvents(); !slices.Equal(got, want) {
			t.Errorf("%s: audit events %v, want %v", sc.name, got, want)
		}
	}
}

// auditOf returns the audit events written by one request.
func (e *env) auditOf(requestID string) []*audit.Event {
	e.t.Helper()
	evs, err := e.svc.Audit.Store.ListEvents(context.Background(), audit.Filter{RequestID: requestID}, 0, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// reasons returns the reasons of the audit events one request wrote.
func (e *env) reasons(requestID string) []string {
	var out []string
	for _, ev := range e.auditOf(requestID) {
		out = append(out, ev.Reason)
	}
	return out
}

// createUser creates a person with a password through the API.
func (e *env) createUser(name, password string) {
	e.t.Helper()
	e.must(e.do("POST", "/api/v1/users", `{"name":"`+name+`","password":"`+password+`"}`, nil), 201)
}

// passwordLogin signs in with a password and returns the result.
func (e *env) passwordLogin(name, password string) identity.LoginResult {
	e.t.Helper()
	var res identity.LoginResult
	e.mustJSON(e.anon("POST", "/api/v1/auth/login", `{"name":"`+name+`","password":"`+password+`"}`), 200, &res)
	return res
}

// enrolledUser creates a person, enrols them in TOTP and returns a full
// (MFA) session token and their TOTP secret.
func (e *env) enrolledUser(name, password string) (token, secret string) {
	e.t.Helper()
	e.createUser(name, password)
	setup := bearer(e.passwordLogin(name, password).Secret)
	var enr identity.TOTPEnrollment
	e.mustJSON(e.do("POST", "/api/v1/auth/mfa/totp", "", setup), 201, &enr)
	e.must(e.do("POST", "/api/v1/auth/mfa/totp/confirm", `{"code":"`+e.code(enr.Secret)+`"}`, setup), 200)
	return e.signIn(name, password, enr.Secret), enr.Secret
}
