package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// scenario is one request through the real router and services, with the
// response and the audit events it must produce. Scenarios in a table run
// in order against one database, so later ones see earlier ones' changes.
type scenario struct {
	name    string
	method  string
	path    string
	body    string
	header  map[string]string
	status  int
	code    string   // problem code, for errors
	field   string   // problem field, for errors
	contain []string // substrings of the body
	events  []string // audit actions this request writes, in order
}

// wantEvents is the audit trail a scenario expects: what it lists, and for
// a refusal without a list the one record every refused request writes
// (middleware.recordDenied).
func (sc scenario) wantEvents() []string {
	if sc.code == "permission_denied" && sc.events == nil {
		return []string{"access.denied:denied"}
	}
	return sc.events
}

func run(t *testing.T, e *env, scs []scenario) {
	t.Helper()
	defer func() { e.scenarios += len(scs) }()
	for i, sc := range scs {
		// Request IDs are unique per environment, across calls of run.
		rid := fmt.Sprintf("scenario-%03d", e.scenarios+i)
		h := map[string]string{api.RequestIDHeader: rid}
		for k, v := range sc.header {
			h[k] = v
		}
		res := e.do(sc.method, sc.path, sc.body, h)
		if res.status != sc.status {
			t.Errorf("%s: status %d, want %d: %s", sc.name, res.status, sc.status, res.body)
			continue
		}
		if got := res.header.Get(api.RequestIDHeader); got != rid {
			t.Errorf("%s: request ID %q, want %q", sc.name, got, rid)
		}
		if sc.code != "" {
			var p api.Problem
			res.json(t, &p)
			if ct := res.header.Get("Content-Type"); ct != api.ProblemContentType {
				t.Errorf("%s: content type %q", sc.name, ct)
			}
			if p.Code != sc.code || p.Field != sc.field || p.RequestID != rid || p.Status != sc.status || p.Detail == "" {
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
		want := sc.wantEvents()
		if got := e.events(rid); !slices.Equal(got, want) {
			t.Errorf("%s: audit events %v, want %v", sc.name, got, want)
		}
	}
}

func TestZoneAndProjectScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		big := `{"name":"big","region":"eu","display_name":"` + strings.Repeat("x", 5000) + `"}`
		run(t, e, []scenario{
			{name: "create zone", method: "POST", path: "/api/v1/zones", body: `{"name":"eu-west","region":"eu","display_name":"EU West","tags":{"owner":"ops"}}`,
				status: 201, contain: []string{`"name":"eu-west"`, `"state":"active"`}, events: []string{"zone.create"}},
			{name: "duplicate zone", method: "POST", path: "/api/v1/zones", body: `{"name":"eu-west","region":"eu"}`,
				status: 409, code: "conflict", field: "name"},
			{name: "malformed JSON", method: "POST", path: "/api/v1/zones", body: `{"name":"x",`, status: 400, code: "invalid_argument", field: "body"},
			{name: "not JSON at all", method: "POST", path: "/api/v1/zones", body: `name=x`, status: 400, code: "invalid_argument", field: "body"},
			{name: "two objects", method: "POST", path: "/api/v1/zones", body: `{"name":"a","region":"eu"}{}`, status: 400, code: "invalid_argument", field: "body"},
			{name: "empty body", method: "POST", path: "/api/v1/zones", status: 400, code: "invalid_argument", field: "body"},
			{name: "unknown field", method: "POST", path: "/api/v1/zones", body: `{"name":"x","region":"eu","colour":"red"}`,
				status: 400, code: "invalid_argument", field: "colour"},
			{name: "wrong type", method: "POST", path: "/api/v1/zones", body: `{"name":5,"region":"eu"}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "wrong type in tags", method: "POST", path: "/api/v1/zones", body: `{"name":"x","region":"eu","tags":{"a":1}}`, status: 400, code: "invalid_argument", field: "tags"},
			{name: "wrong content type", method: "POST", path: "/api/v1/zones", body: `{"name":"x","region":"eu"}`,
				header: map[string]string{"Content-Type": "text/plain"}, status: 400, code: "invalid_argument", field: "Content-Type"},
			{name: "uppercase name", method: "POST", path: "/api/v1/zones", body: `{"name":"EU","region":"eu"}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "slash in name", method: "POST", path: "/api/v1/zones", body: `{"name":"a/b","region":"eu"}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "dot-dot name", method: "POST", path: "/api/v1/zones", body: `{"name":"..","region":"eu"}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "space in name", method: "POST", path: "/api/v1/zones", body: `{"name":"a b","region":"eu"}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "control character", method: "POST", path: "/api/v1/zones", body: `{"name":"a\u0007b","region":"eu"}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "name too long", method: "POST", path: "/api/v1/zones", body: `{"name":"` + strings.Repeat("a", 64) + `","region":"eu"}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "missing region", method: "POST", path: "/api/v1/zones", body: `{"name":"x"}`, status: 400, code: "invalid_argument", field: "region"},
			{name: "oversized body", method: "POST", path: "/api/v1/zones", body: big, status: 413, code: "too_large", field: "body"},
			{name: "no token", method: "GET", path: "/api/v1/zones", header: map[string]string{"Authorization": ""}, status: 401, code: "unauthenticated"},
			{name: "bad token", method: "GET", path: "/api/v1/zones", header: map[string]string{"Authorization": "Bearer enc_forged"}, status: 401, code: "unauthenticated"},
			{name: "not a bearer", method: "GET", path: "/api/v1/zones", header: map[string]string{"Authorization": "Token abc"}, status: 401, code: "unauthenticated"},
			{name: "unknown route", method: "GET", path: "/api/v1/nothing-here", status: 404, code: "not_found"},
			{name: "unknown route unauthenticated", method: "GET", path: "/secret", header: map[string]string{"Authorization": ""}, status: 404, code: "not_found"},
			{name: "wrong method", method: "PUT", path: "/api/v1/zones", body: `{}`, status: 405, code: "method_not_allowed"},
			{name: "encoded slash in path name", method: "GET", path: "/api/v1/zones/a%2Fb", status: 400, code: "invalid_argument", field: "zone"},
			{name: "uppercase in path", method: "GET", path: "/api/v1/zones/EU", status: 400, code: "invalid_argument", field: "zone"},
			{name: "missing zone", method: "GET", path: "/api/v1/zones/nowhere", status: 404, code: "not_found"},
			{name: "get zone", method: "GET", path: "/api/v1/zones/eu-west", status: 200, contain: []string{`"display_name":"EU West"`, `"owner":"ops"`}},
			{name: "certify the zone's QA", method: "PATCH", path: "/api/v1/zones/eu-west/environments/qa", body: `{"certified_classification":"restricted"}`,
				status: 200, contain: []string{`"certified_classification":"restricted"`}, events: []string{"environment.update"}},
			{name: "zone environments", method: "GET", path: "/api/v1/zones/eu-west/environments", status: 200,
				contain: []string{`"name":"staging"`, `"name":"qa"`, `"certified_classification":"confidential"`, `"certified_classification":"restricted"`}},
			{name: "create project", method: "POST", path: "/api/v1/zones/eu-west/projects",
				body:   `{"name":"oncology","owner":"dr.who@example.org","cost_center":"cc-42","max_classification":"restricted"}`,
				status: 201, contain: []string{`"zone":"eu-west"`, `"max_classification":"restricted"`}, events: []string{"project.create"}},
			{name: "project in missing zone", method: "POST", path: "/api/v1/zones/nowhere/projects",
				body: `{"name":"p","owner":"o","cost_center":"c"}`, status: 404, code: "not_found"},
			{name: "project needs owner", method: "POST", path: "/api/v1/zones/eu-west/projects", body: `{"name":"p","cost_center":"c"}`,
				status: 400, code: "invalid_argument", field: "owner"},
			{name: "bad classification", method: "POST", path: "/api/v1/zones/eu-west/projects",
				body: `{"name":"p","owner":"o","cost_center":"c","max_classification":"secret"}`, status: 400, code: "invalid_argument", field: "max_classification"},
			{name: "duplicate project", method: "POST", path: "/api/v1/zones/eu-west/projects",
				body: `{"name":"oncology","owner":"o","cost_center":"c"}`, status: 409, code: "conflict", field: "name"},
			{name: "project environments", method: "GET", path: "/api/v1/zones/eu-west/projects/oncology/environments", status: 200,
				contain: []string{`"name":"dev"`, `"name":"prod"`, `"certified_classification":"restricted"`}},
			{name: "shared env via project", method: "GET", path: "/api/v1/zones/eu-west/projects/oncology/environments/staging", status: 404, code: "not_found"},
			{name: "certify dev for restricted", method: "PATCH", path: "/api/v1/zones/eu-west/projects/oncology/environments/dev",
				body: `{"certified_classification":"restricted"}`, status: 200, events: []string{"environment.update"}},
			{name: "lower project max caps environments", method: "PATCH", path: "/api/v1/zones/eu-west/projects/oncology",
				body: `{"max_classification":"internal"}`, status: 200, contain: []string{`"max_classification":"internal"`}, events: []string{"project.update"}},
			{name: "environments were capped", method: "GET", path: "/api/v1/zones/eu-west/projects/oncology/environments/prod", status: 200,
				contain: []string{`"certified_classification":"internal"`}},
			{name: "env above project max", method: "PATCH", path: "/api/v1/zones/eu-west/projects/oncology/environments/prod",
				body: `{"certified_classification":"confidential"}`, status: 409, code: "failed_precondition", field: "certified_classification"},
			{name: "delete zone with project", method: "DELETE", path: "/api/v1/zones/eu-west", status: 409, code: "failed_precondition"},
			{name: "retire zone with active project", method: "PATCH", path: "/api/v1/zones/eu-west", body: `{"state":"retiring"}`,
				status: 200, events: []string{"zone.update"}},
			{name: "retired needs retired projects", method: "PATCH", path: "/api/v1/zones/eu-west", body: `{"state":"retired"}`,
				status: 409, code: "failed_precondition", field: "state"},
			{name: "no projects in retiring zone", method: "POST", path: "/api/v1/zones/eu-west/projects",
				body: `{"name":"late","owner":"o","cost_center":"c"}`, status: 409, code: "failed_precondition"},
			{name: "lifecycle skips refused", method: "PATCH", path: "/api/v1/zones/eu-west/projects/oncology", body: `{"state":"retired"}`,
				status: 409, code: "failed_precondition", field: "state"},
			{name: "unknown state", method: "PATCH", path: "/api/v1/zones/eu-west/projects/oncology", body: `{"state":"paused"}`,
				status: 400, code: "invalid_argument", field: "state"},
			{name: "project retiring", method: "PATCH", path: "/api/v1/zones/eu-west/projects/oncology", body: `{"state":"retiring"}`, status: 200, events: []string{"project.update"}},
			{name: "project retired", method: "PATCH", path: "/api/v1/zones/eu-west/projects/oncology", body: `{"state":"retired"}`, status: 200, events: []string{"project.update"}},
			{name: "retired project frozen", method: "PATCH", path: "/api/v1/zones/eu-west/projects/oncology", body: `{"owner":"x"}`, status: 409, code: "failed_precondition"},
			{name: "retired environments", method: "GET", path: "/api/v1/zones/eu-west/projects/oncology/environments/dev", status: 200, contain: []string{`"state":"retired"`}},
			{name: "zone retired", method: "PATCH", path: "/api/v1/zones/eu-west", body: `{"state":"retired"}`, status: 200, events: []string{"zone.update"}},
			{name: "delete project", method: "DELETE", path: "/api/v1/zones/eu-west/projects/oncology", status: 204, events: []string{"project.delete"}},
			{name: "delete zone", method: "DELETE", path: "/api/v1/zones/eu-west", status: 204, events: []string{"zone.delete"}},
			{name: "zone gone", method: "GET", path: "/api/v1/zones/eu-west", status: 404, code: "not_found"},
		})
	})
}

func TestPagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		for i := range 7 {
			if r := e.do("POST", "/api/v1/zones", fmt.Sprintf(`{"name":"z%d","region":"eu"}`, i), nil); r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
		}
		var names []string
		token := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			r := e.do("GET", "/api/v1/zones?page_size=3&page_token="+token, "", nil)
			var l struct {
				Items []struct {
					Name string `json:"name"`
				} `json:"items"`
				Next string `json:"next_page_token"`
			}
			r.json(t, &l)
			for _, z := range l.Items {
				names = append(names, z.Name)
			}
			if l.Next == "" {
				break
			}
			if strings.Contains(l.Next, "z") {
				t.Errorf("page token %q is not opaque", l.Next)
			}
			token = l.Next
		}
		if strings.Join(names, ",") != "z0,z1,z2,z3,z4,z5,z6" {
			t.Fatalf("paged names: %v", names)
		}
		run(t, e, []scenario{
			{name: "forged page token", method: "GET", path: "/api/v1/zones?page_token=not-a-token", status: 400, code: "invalid_argument", field: "page_token"},
			{name: "bad page size", method: "GET", path: "/api/v1/zones?page_size=-1", status: 400, code: "invalid_argument", field: "page_size"},
			{name: "bad state filter", method: "GET", path: "/api/v1/zones?state=gone", status: 400, code: "invalid_argument", field: "state"},
			{name: "region filter", method: "GET", path: "/api/v1/zones?region=us", status: 200, contain: []string{`"items":[]`}},
		})
	})
}

func TestIdempotencyKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		body := `{"name":"idem","region":"eu"}`
		h := map[string]string{api.IdempotencyHeader: "key-1", api.RequestIDHeader: "idem-1"}
		first := e.do("POST", "/api/v1/zones", body, h)
		h[api.RequestIDHeader] = "idem-2"
		second := e.do("POST", "/api/v1/zones", body, h)
		if first.status != 201 || second.status != 201 || string(first.body) != string(second.body) {
			t.Fatalf("replay: %d %s / %d %s", first.status, first.body, second.status, second.body)
		}
		if second.header.Get("Idempotent-Replayed") != "true" {
			t.Error("replayed response not marked")
		}
		if got := e.events("idem-2"); len(got) != 0 {
			t.Errorf("replay wrote audit events %v", got)
		}
		run(t, e, []scenario{
			{name: "same key, other request", method: "POST", path: "/api/v1/zones", body: `{"name":"other","region":"eu"}`,
				header: map[string]string{api.IdempotencyHeader: "key-1"}, status: 400, code: "invalid_argument", field: api.IdempotencyHeader},
			{name: "errors replay too", method: "POST", path: "/api/v1/zones", body: `{"name":"BAD","region":"eu"}`,
				header: map[string]string{api.IdempotencyHeader: "key-2"}, status: 400, code: "invalid_argument", field: "name"},
			{name: "bad key", method: "POST", path: "/api/v1/zones", body: body,
				header: map[string]string{api.IdempotencyHeader: "has space"}, status: 400, code: "invalid_argument", field: api.IdempotencyHeader},
			{name: "new key runs", method: "POST", path: "/api/v1/zones", body: `{"name":"idem2","region":"eu"}`,
				header: map[string]string{api.IdempotencyHeader: "key-3"}, status: 201, events: []string{"zone.create"}},
		})
	})
}
