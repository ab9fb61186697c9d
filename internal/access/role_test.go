package access_test

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/access"
)

func role(t *testing.T, id string) *access.Role {
	t.Helper()
	r, ok := access.RoleByID(id)
	if !ok {
		t.Fatalf("no role %s", id)
	}
	return r
}

// TestPersonaExamples holds the roles to the examples the design gives.
func TestPersonaExamples(t *testing.T) {
	cases := []struct {
		role  string
		perm  access.Permission
		allow bool
	}{
		// A Data Scientist runs jobs, registers models and deploys to dev ...
		{"data-scientist", "jobs/write", true},
		{"data-scientist", "models/write", true},
		{"data-scientist", "endpoints/write", true},
		{"data-scientist", "datasets/contents/read", true},
		// ... but cannot create compute, change the project, read keys or grant access.
		{"data-scientist", "compute/write", false},
		{"data-scientist", "projects/write", false},
		{"data-scientist", "keys/read", false},
		{"data-scientist", "access/assignments/write", false},
		// A Reader sees metadata but not contents.
		{"reader", "datasets/read", true},
		{"reader", "projects/read", true},
		{"reader", "datasets/contents/read", false},
		{"reader", "endpoints/traffic/read", false},
		{"reader", "keys/read", false},
		{"reader", "zones/write", false},
		// Control plane and data plane are separate.
		{"platform-admin", "zones/write", true},
		{"platform-admin", "datasets/contents/read", false},
		{"platform-admin", "airlock/exports/approve", false},
		{"owner", "projects/delete", true},
		{"owner", "datasets/contents/read", false},
		{"owner", "endpoints/score", false},
		{"contributor", "projects/write", true},
		{"contributor", "datasets/contents/read", false},
		{"data-analyst", "datasets/contents/read", true},
		{"data-analyst", "jobs/write", false},
		{"data-analyst", "compute/write", false},
		{"airlock-reviewer", "airlock/exports/approve", true},
		{"airlock-reviewer", "datasets/contents/read", false},
		{"model-consumer", "endpoints/score", true},
		{"model-consumer", "models/read", false},
		{"model-tester", "tests/write", true},
		{"model-tester", "releases/write", false},
		{"auditor", "audit/events/read", true},
		{"auditor", "datasets/contents/read", false},
		{"auditor", "zones/write", false},
		{"platform-support", "platform/tasks/write", true},
		{"platform-support", "datasets/contents/read", false},
		{"platform-support", "access/assignments/write", false},
		{"project-lead", "projects/write", true},
		{"project-lead", "access/assignments/write", false},
		{"project-lead", "keys/read", false},
		{"project-owner", "releases/approve", true},
		{"project-owner", "projects/write", false},
		{"cicd", "releases/write", true},
		{"cicd", "access/assignments/write", false},
		{"workspace-identity", "datasets/contents/read", true},
		{"workspace-identity", "endpoints/write", false},
		{"monitoring", "platform/metrics/read", true},
		{"monitoring", "datasets/contents/read", false},
		{"governance-scanner", "policy/compliance/write", true},
		{"governance-scanner", "datasets/contents/read", false},
		{"data-owner", "datasets/contents/write", true},
		{"data-owner", "airlock/imports/approve", false},
	}
	for _, c := range cases {
		if got := role(t, c.role).Allows(c.perm); got != c.allow {
			t.Errorf("%s allows %s = %v, want %v", c.role, c.perm, got, c.allow)
		}
	}
}

// TestOnlyOwnerLevelRolesGrantAccess: granting roles and approving
// elevations belong to Owner and Platform Admin alone.
func TestOnlyOwnerLevelRolesGrantAccess(t *testing.T) {
	for _, r := range access.Roles() {
		owner := r.ID == "owner" || r.ID == "platform-admin"
		for _, p := range []access.Permission{access.AssignmentsWrite, access.ElevationsApprove} {
			if r.Allows(p) != owner {
				t.Errorf("%s allows %s = %v", r.ID, p, r.Allows(p))
			}
		}
	}
}

func TestRolesAreWellFormed(t *testing.T) {
	if n := len(access.Roles()); n < 18 {
		t.Fatalf("%d built-in roles, want at least 18", n)
	}
	for _, r := range access.Roles() {
		if r.ID == "" || r.Name == "" || r.Description == "" || len(r.Levels) == 0 || r.MaxElevation <= 0 {
			t.Errorf("role %+v incomplete", r)
		}
		for _, p := range append(append([]access.Permission{}, r.Actions...), r.NotActions...) {
			if !p.Valid() {
				t.Errorf("%s: pattern %q invalid", r.ID, p)
			}
			covers := false
			for _, a := range access.Catalog {
				covers = covers || access.Matches(p, a.Permission)
			}
			if !covers {
				t.Errorf("%s: pattern %q matches no catalogued permission", r.ID, p)
			}
		}
		// No role's data-plane reach comes by accident: list what each grants of the data plane.
		for _, a := range access.Catalog {
			if a.Plane == access.DataPlane && r.Allows(a.Permission) && (r.ID == "reader" || r.ID == "owner" || r.ID == "contributor" || r.ID == "platform-admin") {
				t.Errorf("control-plane role %s reaches data-plane %s", r.ID, a.Permission)
			}
		}
	}
	if !role(t, "platform-support").JITOnly {
		t.Error("platform support must be held just in time only")
	}
}

func TestParseScope(t *testing.T) {
	good := map[access.Scope]access.Level{
		"/": access.LevelPlatform, "/zones/eu": access.LevelZone, "/zones/eu/projects/onc": access.LevelProject,
		"/zones/eu/environments/qa": access.LevelEnvironment, "/zones/eu/projects/onc/environments/dev": access.LevelEnvironment,
	}
	for s, want := range good {
		if got, err := access.ParseScope("scope", s); err != nil || got != want {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	for _, s := range []access.Scope{"", "zones/eu", "/zones", "/zones/EU", "/zones/eu/", "/zones/eu/projects", "/projects/p",
		"/zones/eu/environments/qa/projects/p", "/zones/../projects/p", "/zones/eu/projects/p/environments/dev/x/y", "//"} {
		if _, err := access.ParseScope("scope", s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
