package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// publicRoutes are the only routes that answer without authentication.
var publicRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "POST /api/v1/auth/login": true,
	"POST /api/v1/auth/login/mfa": true, "POST /api/v1/auth/token": true}

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Permission string `json:"x-enclave-permission"`
		Security   []any  `json:"security"`
		Parameters []struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

// TestOpenAPIMatchesRoutes checks that the served document lists every
// route the server answers, each with its permission, and nothing it does
// not answer: every documented operation is routed (not 404/405), and every
// non-public one refuses an anonymous caller.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	db := storetest.Open(t, storetest.Backends()[0].URL(t))
	e := newEnv(t, db)
	res := e.do("GET", "/api/v1/openapi.json", "", nil)
	if res.status != 200 {
		t.Fatalf("openapi: %d %s", res.status, res.body)
	}
	var doc openAPIDoc
	res.json(t, &doc)
	if len(doc.Paths) < 10 {
		t.Fatalf("only %d paths documented", len(doc.Paths))
	}
	wild := regexp.MustCompile(`\{([a-z_]+)\}`)
	seenPublic := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			concrete := wild.ReplaceAllStringFunc(path, func(m string) string {
				if m == "{id}" {
					return "0190a0b0-0000-7000-8000-000000000000"
				}
				return "nosuch"
			})
			for _, m := range wild.FindAllStringSubmatch(path, -1) {
				found := false
				for _, p := range op.Parameters {
					found = found || (p.In == "path" && p.Name == m[1])
				}
				if !found {
					t.Errorf("%s: path parameter %s undocumented", key, m[1])
				}
			}
			// Anonymous: public routes answer, others demand authentication.
			r := e.do(strings.ToUpper(method), concrete, "{}", map[string]string{"Authorization": ""})
			if publicRoutes[key] {
				seenPublic[key] = true
				if op.Security == nil || len(op.Security) != 0 {
					t.Errorf("%s: public route not marked security: []", key)
				}
				if r.status == 404 || r.status == 405 || strings.Contains(string(r.body), "authentication required") {
					t.Errorf("%s: public route answered %d", key, r.status)
				}
				continue
			}
			if op.Permission == "" {
				t.Errorf("%s: no x-enclave-permission", key)
			}
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s: anonymous call got %d, want 401 (%s)", key, r.status, r.body)
			}
			// Authenticated: the route is there (not 404 for the route, not 405).
			r = e.do(strings.ToUpper(method), concrete, "{}", nil)
			if r.status == http.StatusMethodNotAllowed || strings.Contains(string(r.body), "no route for") {
				t.Errorf("%s: documented but not routed (%d %s)", key, r.status, r.body)
			}
		}
	}
	for k := range publicRoutes {
		if !seenPublic[k] {
			t.Errorf("public route %s undocumented", k)
		}
	}
	for _, name := range []string{"ZoneZone", "ZoneZoneCreate", "Problem", "ListZone"} {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("schema %s missing", name)
		}
	}
}

// TestUndocumentedPathsAreNotRouted probes paths near the documented ones:
// none may answer, so nothing is served that the document does not show.
func TestUndocumentedPathsAreNotRouted(t *testing.T) {
	db := storetest.Open(t, storetest.Backends()[0].URL(t))
	e := newEnv(t, db)
	for _, p := range []string{"/api/v1", "/api/v1/", "/api/v2/zones", "/api/v1/zones/x/projects/y/secrets", "/api/v1/admin", "/debug/pprof/", "/api/v1/tasks/x/y"} {
		r := e.do("GET", p, "", nil)
		if r.status != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		anon := map[string]string{"Authorization": ""}
		run(t, e, []scenario{
			{name: "healthz", method: "GET", path: "/healthz", header: anon, status: 200, contain: []string{`"ok"`}},
			{name: "readyz", method: "GET", path: "/readyz", header: anon, status: 200, contain: []string{`"ready"`}},
			{name: "metrics need auth", method: "GET", path: "/metrics", header: anon, status: 401, code: "unauthenticated"},
			{name: "metrics", method: "GET", path: "/metrics", status: 200,
				contain: []string{`enclave_http_requests_total{method="GET",route="/readyz",status="200"} 1`, "enclave_http_request_duration_seconds_bucket"}},
		})
		db.Close()
		if r := e.do("GET", "/readyz", "", anon); r.status != 503 || !strings.Contains(string(r.body), `"code":"unavailable"`) {
			t.Fatalf("readyz without database: %d %s", r.status, r.body)
		}
	})
}

// TestMutatingRoutesDeclareAdmission: every route that changes something
// names the resource kind it runs through policy admission, or says why it
// changes none; a route cannot do both.
func TestMutatingRoutesDeclareAdmission(t *testing.T) {
	kind := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	for _, rt := range (&api.Server{}).RouteTable() {
		key := rt.Method + " " + rt.Pattern
		switch {
		case rt.Method == http.MethodGet:
			if rt.Kind != "" || rt.NoAdmission != "" {
				t.Errorf("%s: a read declares admission", key)
			}
		case rt.Kind != "" && rt.NoAdmission != "":
			t.Errorf("%s: declares both a kind and a reason for no admission", key)
		case rt.Kind == "" && len(rt.NoAdmission) < 10:
			t.Errorf("%s: names no resource kind for policy admission and gives no reason", key)
		case rt.Kind != "" && !kind.MatchString(rt.Kind):
			t.Errorf("%s: %q is not a resource kind", key, rt.Kind)
		}
	}
}
