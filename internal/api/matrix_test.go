package api_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/zone"
)

var updateMatrix = flag.Bool("update-matrix", false, "rewrite testdata/role_matrix.golden")

// sampleScope is where each role is held for the matrix: the sample
// project, or the nearest level the role may be assigned at.
func sampleScope(r *access.Role) access.Scope {
	switch {
	case r.AssignableAt(access.LevelProject):
		return "/zones/z/projects/p"
	case r.AssignableAt(access.LevelZone):
		return "/zones/z"
	}
	return access.PlatformScope
}

var wildcard = regexp.MustCompile(`\{([a-z_]+)\}`)

func samplePath(pattern string) string {
	return wildcard.ReplaceAllStringFunc(pattern, func(m string) string {
		switch m {
		case "{zone}":
			return "z"
		case "{project}":
			return "p"
		case "{environment}":
			return "dev"
		}
		return "x"
	})
}

func scopeOfPath(path string) access.Scope {
	parts := strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/")
	switch {
	case len(parts) >= 6 && parts[0] == "zones" && parts[2] == "projects" && parts[4] == "environments":
		return access.ProjectScope(parts[1], parts[3]) + "/environments/" + access.Scope(parts[5])
	case len(parts) >= 4 && parts[0] == "zones" && parts[2] == "environments":
		return access.ZoneScope(parts[1]) + "/environments/" + access.Scope(parts[3])
	case len(parts) >= 4 && parts[0] == "zones" && parts[2] == "projects":
		return access.ProjectScope(parts[1], parts[3])
	case len(parts) >= 2 && parts[0] == "zones":
		return access.ZoneScope(parts[1])
	}
	return access.PlatformScope
}

// TestRoleMatrix decides every route for every built-in role held on a
// sample project and compares who-may-do-what with the golden file, so
// that any change to it is deliberate: run with -update-matrix and review
// the diff.
func TestRoleMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		svc := server.NewServices(db, nil, config.Default())
		sys := enclave.WithActor(ctx, enclave.SystemActor("test"))
		if _, err := svc.Zones.CreateZone(sys, zone.ZoneCreate{Name: "z", Region: "eu"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Zones.CreateProject(sys, "z", zone.ProjectCreate{Name: "p", Owner: "o", CostCenter: "c"}); err != nil {
			t.Fatal(err)
		}
		store := &sqlstore.AccessStore{DB: db}
		roles := access.Roles()
		for i, r := range roles {
			id := fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
			if _, err := db.SQL.Exec(db.Dialect.Rebind(`INSERT INTO principals (id, kind, name, display_name, platform_admin, disabled, created_at)
				VALUES (?, 'user', ?, ?, ?, ?, 1)`), id, "u-"+r.ID, r.Name, false, false); err != nil {
				t.Fatal(err)
			}
			if err := store.CreateAssignment(ctx, &access.Assignment{ID: "a" + id, AssigneeID: id, AssigneeKind: access.AssigneeUser,
				Role: r.ID, Scope: sampleScope(r), CreatedBy: "test", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		a := &api.Server{Access: svc.Access, Authorizer: svc.Access}
		routes := a.RouteTable()
		sort.Slice(routes, func(i, j int) bool {
			if routes[i].Pattern != routes[j].Pattern {
				return routes[i].Pattern < routes[j].Pattern
			}
			return routes[i].Method < routes[j].Method
		})
		var b strings.Builder
		b.WriteString("# Who may call what: every built-in role, held on the sample project /zones/z/projects/p\n")
		b.WriteString("# (or at the nearest scope it may be assigned: ")
		for _, r := range roles {
			if s := sampleScope(r); s != "/zones/z/projects/p" {
				fmt.Fprintf(&b, "%s at %s; ", r.ID, s)
			}
		}
		b.WriteString(")\n# Y allowed, . denied, * public, s = allowed at some scope (the service checks the resource's own scope)\n#\n")
		for i, r := range roles {
			fmt.Fprintf(&b, "# %2d %s\n", i+1, r.ID)
		}
		b.WriteString("#\n")
		for _, rt := range routes {
			path := samplePath(rt.Pattern)
			var cells []string
			for i, r := range roles {
				if rt.Public {
					cells = append(cells, "*")
					continue
				}
				actor := &enclave.Actor{PrincipalID: fmt.Sprintf("00000000-0000-7000-8000-%012d", i), Name: "u-" + r.ID, Kind: enclave.PrincipalUser}
				actx := enclave.WithActor(ctx, actor)
				var err error
				mark := "Y"
				if rt.ScopeInService {
					err, mark = svc.Access.AuthorizeSomewhere(actx, rt.Permission), "s"
				} else {
					err = svc.Access.Authorize(actx, rt.Permission, scopeOfPath(path))
				}
				switch {
				case err == nil:
					cells = append(cells, mark)
				case enclave.IsCode(err, enclave.CodePermissionDenied):
					cells = append(cells, ".")
				default:
					t.Fatalf("%s %s for %s: %v", rt.Method, rt.Pattern, r.ID, err)
				}
			}
			fmt.Fprintf(&b, "%-6s %-72s %s\n", rt.Method, rt.Pattern, strings.Join(cells, " "))
		}
		golden := filepath.Join("testdata", "role_matrix.golden")
		if *updateMatrix {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/api -run TestRoleMatrix -update-matrix)", err)
		}
		if string(want) != b.String() {
			t.Fatalf("who may do what changed; if intended, rerun with -update-matrix and commit the diff:\n%s", diffLines(string(want), b.String()))
		}
	})
}

// diffLines lists the lines only in want (-) and only in got (+).
func diffLines(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var out []string
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestEveryRouteDeclaresItsAuthorization lists the route table: every
// route is public (and on the short list), or declares a valid permission.
func TestEveryRouteDeclaresItsAuthorization(t *testing.T) {
	a := &api.Server{}
	for _, rt := range a.RouteTable() {
		key := rt.Method + " " + rt.Pattern
		if rt.Public {
			if !publicRoutes[key] && !strings.HasPrefix(rt.Pattern, "/api/v1/auth/") {
				t.Errorf("%s is public but not an authentication route", key)
			}
			continue
		}
		if rt.Permission == "" || !rt.Permission.Valid() {
			t.Errorf("%s declares no valid permission (%q)", key, rt.Permission)
		}
		if _, known := access.PlaneOf(rt.Permission); !known && rt.Permission != access.Authenticated {
			t.Errorf("%s declares %s, which is not in the permission catalog", key, rt.Permission)
		}
	}
}
