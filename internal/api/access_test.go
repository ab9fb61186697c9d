package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/zone"
)

// accessEnv is an API with the real authorizer, a zone eu with project
// onc, and people whose tokens the test mints directly.
type accessEnv struct {
	*env
	tokens map[string]string
}

func newAccessEnv(t *testing.T, db *sqlstore.DB) *accessEnv {
	t.Helper()
	svc := server.NewServices(db, nil, config.Default())
	a := svc.API(db)
	a.Logger = slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e := &accessEnv{env: &env{t: t, db: db, srv: srv, api: a}, tokens: map[string]string{}}
	sys := enclave.WithActor(context.Background(), enclave.SystemActor("test"))
	if _, err := svc.Zones.CreateZone(sys, zone.ZoneCreate{Name: "eu", Region: "eu"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Zones.CreateProject(sys, "eu", zone.ProjectCreate{Name: "onc", Owner: "o", CostCenter: "c"}); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"root", "ana", "bob", "carol"} {
		e.person(i, name, name == "root", "")
	}
	e.adminToken = e.tokens["root"]
	return e
}

// person inserts a principal and a token for it; scopes limits the token.
func (e *accessEnv) person(i int, name string, admin bool, scopes string) {
	e.t.Helper()
	id := fmt.Sprintf("00000000-0000-7000-8000-1%011d", i)
	exec := func(q string, args ...any) {
		if _, err := e.db.SQL.Exec(e.db.Dialect.Rebind(q), args...); err != nil {
			e.t.Fatal(err)
		}
	}
	exec(`INSERT INTO principals (id, kind, name, display_name, platform_admin, disabled, created_at) VALUES (?, 'user', ?, ?, ?, ?, 1)`,
		id, name, name, admin, false)
	e.token(i, name, id, scopes)
}

func (e *accessEnv) token(i int, name, principalID, scopes string) {
	secret := fmt.Sprintf("enc_test-token-%s-%d-%s", name, i, scopes)
	h := sha256.Sum256([]byte(secret))
	now := time.Now()
	if _, err := e.db.SQL.Exec(e.db.Dialect.Rebind(`INSERT INTO tokens (id, principal_id, name, hash, created_at, expires_at, kind, scopes, mfa)
		VALUES (?, ?, 't', ?, ?, ?, 'session', ?, ?)`), fmt.Sprintf("00000000-0000-7000-8000-2%011d", i), principalID, h[:],
		now.UnixMicro(), now.Add(time.Hour).UnixMicro(), scopes, true); err != nil {
		e.t.Fatal(err)
	}
	key := name
	if scopes != "" {
		key = name + "+" + scopes
	}
	e.tokens[key] = secret
}

func (e *accessEnv) as(name string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + e.tokens[name]}
}

func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range h {
		out[a] = b
	}
	return out
}

func TestAccessScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAccessEnv(t, db)
		const proj = "/zones/eu/projects/onc"
		run(t, e.env, []scenario{
			{name: "roles", method: "GET", path: "/api/v1/roles", header: e.as("carol"), status: 200, contain: []string{`"id":"data-scientist"`, `"jit_only":true`}},
			{name: "role", method: "GET", path: "/api/v1/roles/reader", header: e.as("carol"), status: 200, contain: []string{`"*/read"`}},
			{name: "unknown role", method: "GET", path: "/api/v1/roles/god", header: e.as("carol"), status: 404, code: "not_found"},
			{name: "nobody may list zones yet", method: "GET", path: "/api/v1/zones/eu/projects/onc", header: e.as("ana"), status: 403, code: "permission_denied"},
			{name: "grant", method: "POST", path: "/api/v1/access/assignments",
				body:   `{"assignee_kind":"user","assignee":"ana","role":"data-scientist","scope":"` + proj + `"}`,
				status: 201, contain: []string{`"assignee_name":"ana"`}, events: []string{"access.grant"}},
			{name: "duplicate grant", method: "POST", path: "/api/v1/access/assignments",
				body: `{"assignee_kind":"user","assignee":"ana","role":"data-scientist","scope":"` + proj + `"}`, status: 409, code: "conflict", field: "role"},
			{name: "grant at missing scope", method: "POST", path: "/api/v1/access/assignments",
				body: `{"assignee_kind":"user","assignee":"ana","role":"reader","scope":"/zones/eu/projects/ghost"}`, status: 404, code: "not_found", field: "scope"},
			{name: "grant at malformed scope", method: "POST", path: "/api/v1/access/assignments",
				body: `{"assignee_kind":"user","assignee":"ana","role":"reader","scope":"/zones/EU"}`, status: 400, code: "invalid_argument", field: "scope"},
			{name: "grant JIT-only role", method: "POST", path: "/api/v1/access/assignments",
				body: `{"assignee_kind":"user","assignee":"ana","role":"platform-support","scope":"/"}`, status: 409, code: "failed_precondition", field: "role"},
			{name: "grant unknown role", method: "POST", path: "/api/v1/access/assignments",
				body: `{"assignee_kind":"user","assignee":"ana","role":"god","scope":"/"}`, status: 400, code: "invalid_argument", field: "role"},
			{name: "grant to nobody", method: "POST", path: "/api/v1/access/assignments",
				body: `{"assignee_kind":"user","assignee":"ghost","role":"reader","scope":"/"}`, status: 404, code: "not_found", field: "assignee"},
			{name: "non-owner cannot grant", method: "POST", path: "/api/v1/access/assignments", header: e.as("ana"),
				body: `{"assignee_kind":"user","assignee":"carol","role":"reader","scope":"` + proj + `"}`, status: 403, code: "permission_denied"},
			{name: "data scientist reads the project", method: "GET", path: "/api/v1/zones/eu/projects/onc", header: e.as("ana"), status: 200},
			{name: "data scientist cannot change it", method: "PATCH", path: "/api/v1/zones/eu/projects/onc", header: e.as("ana"),
				body: `{"owner":"ana"}`, status: 403, code: "permission_denied"},
			{name: "nor the zone", method: "GET", path: "/api/v1/zones/eu", header: e.as("ana"), status: 403, code: "permission_denied"},
			{name: "check self", method: "GET", path: "/api/v1/access/check?action=projects/write&scope=" + proj, header: e.as("ana"),
				status: 200, contain: []string{`"allowed":false`, "role data-scientist does not include projects/write"}},
			{name: "check other without right", method: "GET", path: "/api/v1/access/check?principal=carol&action=projects/read&scope=" + proj,
				header: e.as("ana"), status: 403, code: "permission_denied"},
			{name: "admin checks ana", method: "GET", path: "/api/v1/access/check?principal=ana&action=jobs/write&scope=" + proj + "/environments/dev",
				status: 200, contain: []string{`"allowed":true`, "role data-scientist at " + proj}},
			{name: "check needs an action", method: "GET", path: "/api/v1/access/check?scope=/", status: 400, code: "invalid_argument", field: "action"},
			{name: "list assignments", method: "GET", path: "/api/v1/access/assignments?scope=" + proj, status: 200, contain: []string{`"role":"data-scientist"`}},
			{name: "list by assignee", method: "GET", path: "/api/v1/access/assignments?assignee=bob", status: 200, contain: []string{`"items":[]`}},
			{name: "list without right", method: "GET", path: "/api/v1/access/assignments?scope=" + proj, header: e.as("carol"), status: 403, code: "permission_denied"},
		})
		var l struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		e.do("GET", "/api/v1/access/assignments?scope="+proj, "", nil).json(t, &l)
		run(t, e.env, []scenario{
			{name: "revoke", method: "DELETE", path: "/api/v1/access/assignments/" + l.Items[0].ID, status: 204, events: []string{"access.revoke"}},
			{name: "revoked", method: "GET", path: "/api/v1/zones/eu/projects/onc", header: e.as("ana"), status: 403, code: "permission_denied"},
		})
	})
}

func TestElevationThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAccessEnv(t, db)
		const proj = "/zones/eu/projects/onc"
		r := e.do("POST", "/api/v1/elevations", `{"role":"contributor","scope":"`+proj+`","duration":"1h","justification":"INC-42 broken endpoint"}`, e.as("ana"))
		if r.status != 201 {
			t.Fatalf("request: %d %s", r.status, r.body)
		}
		var el struct {
			ID string `json:"id"`
		}
		json.Unmarshal(r.body, &el)
		grantOwner := e.do("POST", "/api/v1/access/assignments", `{"assignee_kind":"user","assignee":"bob","role":"owner","scope":"`+proj+`"}`, nil)
		if grantOwner.status != 201 {
			t.Fatalf("grant owner: %d %s", grantOwner.status, grantOwner.body)
		}
		run(t, e.env, []scenario{
			{name: "too long", method: "POST", path: "/api/v1/elevations", header: e.as("ana"),
				body: `{"role":"contributor","scope":"` + proj + `","duration":"48h","justification":"INC-42 broken endpoint"}`, status: 400, code: "invalid_argument", field: "duration"},
			{name: "not yet", method: "PATCH", path: "/api/v1/zones/eu/projects/onc", header: e.as("ana"), body: `{"owner":"ana"}`, status: 403, code: "permission_denied"},
			{name: "own approval refused", method: "POST", path: "/api/v1/elevations/" + el.ID + "/approve", header: e.as("ana"), status: 403, code: "permission_denied"},
			{name: "carol cannot approve", method: "POST", path: "/api/v1/elevations/" + el.ID + "/approve", header: e.as("carol"), status: 403, code: "permission_denied"},
			{name: "carol cannot see it", method: "GET", path: "/api/v1/elevations/" + el.ID, header: e.as("carol"), status: 404, code: "not_found"},
			{name: "owner approves", method: "POST", path: "/api/v1/elevations/" + el.ID + "/approve", header: e.as("bob"), body: `{"note":"go"}`,
				status: 200, contain: []string{`"state":"active"`, `"decided_by":"bob"`}, events: []string{"access.elevation.approve"}},
			{name: "now allowed", method: "PATCH", path: "/api/v1/zones/eu/projects/onc", header: e.as("ana"), body: `{"owner":"ana"}`, status: 200, events: []string{"project.update"}},
			{name: "expiry is queued", method: "GET", path: "/api/v1/tasks?kind=access.elevation.expire", status: 200, contain: []string{el.ID}},
			{name: "listed as active", method: "GET", path: "/api/v1/elevations?state=active", header: e.as("ana"), status: 200, contain: []string{el.ID}},
			{name: "ended early", method: "POST", path: "/api/v1/elevations/" + el.ID + "/cancel", header: e.as("ana"), status: 200,
				contain: []string{`"state":"revoked"`}, events: []string{"access.elevation.cancel"}},
			{name: "access gone", method: "PATCH", path: "/api/v1/zones/eu/projects/onc", header: e.as("ana"), body: `{"owner":"x"}`, status: 403, code: "permission_denied"},
		})
		run(t, e.env, []scenario{
			{name: "request another", method: "POST", path: "/api/v1/elevations", header: e.as("ana"),
				body:   `{"role":"reader","scope":"` + proj + `","duration":"30m","justification":"look at the dashboards"}`,
				status: 201, contain: []string{`"state":"pending"`}, events: []string{"access.elevation.request"}},
		})
		var pending struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		e.do("GET", "/api/v1/elevations?state=pending", "", e.as("ana")).json(t, &pending)
		run(t, e.env, []scenario{
			{name: "reject it", method: "POST", path: "/api/v1/elevations/" + pending.Items[0].ID + "/reject", header: e.as("bob"),
				body: `{"note":"not needed"}`, status: 200, contain: []string{`"state":"rejected"`}, events: []string{"access.elevation.reject"}},
		})
	})
}

// TestTokenScopesNarrowRoles: a token limited to some permissions cannot
// use the rest of its holder's roles.
func TestTokenScopesNarrowRoles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAccessEnv(t, db)
		var anaID string
		db.SQL.QueryRow(db.Dialect.Rebind(`SELECT id FROM principals WHERE name = ?`), "ana").Scan(&anaID)
		e.token(9, "ana", anaID, `["projects/read"]`)
		e.do("POST", "/api/v1/access/assignments", `{"assignee_kind":"user","assignee":"ana","role":"project-lead","scope":"/zones/eu/projects/onc"}`, nil)
		scoped := e.as(`ana+["projects/read"]`)
		run(t, e.env, []scenario{
			{name: "in scope", method: "GET", path: "/api/v1/zones/eu/projects/onc", header: scoped, status: 200},
			{name: "out of token scope", method: "PATCH", path: "/api/v1/zones/eu/projects/onc", header: scoped, body: `{"owner":"x"}`,
				status: 403, code: "permission_denied", contain: []string{"carries only the scopes"}},
			{name: "full token", method: "PATCH", path: "/api/v1/zones/eu/projects/onc", header: e.as("ana"), body: `{"owner":"x"}`, status: 200, events: []string{"project.update"}},
		})
		if !strings.Contains(e.tokens[`ana+["projects/read"]`], "enc_") {
			t.Fatal("token not minted")
		}
	})
}
