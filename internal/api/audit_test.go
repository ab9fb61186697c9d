package api_test

import (
	"bytes"
	"testing"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func TestAuditRoutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAccessEnv(t, db)
		if r := e.do("POST", "/api/v1/access/assignments", `{"assignee_kind":"user","assignee":"carol","role":"auditor","scope":"/"}`, nil); r.status != 201 {
			t.Fatalf("grant auditor: %d %s", r.status, r.body)
		}
		run(t, e.env, []scenario{
			{name: "auditor searches", method: "GET", path: "/api/v1/audit/events?action=access.grant", header: e.as("carol"), status: 200,
				contain: []string{`"action":"access.grant"`, `"hash":"`, `"prev_hash":"`}, events: []string{"audit.read"}},
			{name: "by outcome and time", method: "GET", path: "/api/v1/audit/events?outcome=success&from=2000-01-01T00:00:00Z", header: e.as("carol"), status: 200, events: []string{"audit.read"}},
			{name: "bad outcome", method: "GET", path: "/api/v1/audit/events?outcome=maybe", header: e.as("carol"), status: 400, code: "invalid_argument", field: "outcome"},
			{name: "bad time", method: "GET", path: "/api/v1/audit/events?from=yesterday", header: e.as("carol"), status: 400, code: "invalid_argument", field: "from"},
			{name: "bad scope", method: "GET", path: "/api/v1/audit/events?scope=zones", header: e.as("carol"), status: 400, code: "invalid_argument", field: "scope"},
			{name: "others may not read, and the attempt is recorded", method: "GET", path: "/api/v1/audit/events", header: e.as("ana"),
				status: 403, code: "permission_denied", events: []string{"access.denied:denied"}},
			{name: "the denied read is in the trail", method: "GET", path: "/api/v1/audit/events?action=access.denied&outcome=denied&actor=ana",
				header: e.as("carol"), status: 200, contain: []string{`"actor_name":"ana"`, `"outcome":"denied"`}, events: []string{"audit.read"}},
			{name: "verify", method: "POST", path: "/api/v1/audit/verify", header: e.as("carol"), status: 200,
				contain: []string{`"ok":true`}, events: []string{"audit.verify"}},
			{name: "keys", method: "GET", path: "/api/v1/audit/keys", header: e.as("carol"), status: 200},
			{name: "export needs a from", method: "GET", path: "/api/v1/audit/export?from=2030-01-01T00:00:00Z", header: e.as("carol"), status: 404, code: "not_found"},
		})
		r := e.do("GET", "/api/v1/audit/export?from=2000-01-01T00:00:00Z", "", e.as("carol"))
		if r.status != 200 || r.header.Get("Content-Type") != "application/x-tar" {
			t.Fatalf("export: %d %s", r.status, r.body)
		}
		rep, m, err := audit.VerifyBundle(bytes.NewReader(r.body), nil)
		if err != nil || !rep.OK || m.FirstSeq != 1 {
			t.Fatalf("exported bundle: %+v %+v %v", rep, m, err)
		}
	})
}
