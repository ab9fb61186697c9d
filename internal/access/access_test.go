package access_test

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/access"
)

func TestMatches(t *testing.T) {
	cases := []struct {
		pattern, perm access.Permission
		want          bool
	}{
		{"*", "zones/read", true},
		{"zones/read", "zones/read", true},
		{"zones/read", "zones/write", false},
		{"zones/*", "zones/write", true},
		{"datasets/*", "datasets/contents/read", true},
		{"*/read", "datasets/contents/read", true},
		{"*/read", "zones/read", true},
		{"*/read", "zones/write", false},
		{"*/contents/*", "datasets/contents/read", true},
		{"*/contents/*", "datasets/read", false},
		{"airlock/*/approve", "airlock/exports/approve", true},
		{"airlock/*/approve", "airlock/approve", false},
		{"self/*", "self/mfa/write", true},
		{"zones/*", "zonesx/read", false},
		{"zones", "zones/read", false},
	}
	for _, c := range cases {
		if got := access.Matches(c.pattern, c.perm); got != c.want {
			t.Errorf("Matches(%q, %q) = %v", c.pattern, c.perm, got)
		}
	}
}

func TestPermissionValid(t *testing.T) {
	for _, p := range []access.Permission{"zones/read", "*/read", "airlock/*/approve", "*", "a-b/c"} {
		if !p.Valid() {
			t.Errorf("%q invalid", p)
		}
	}
	for _, p := range []access.Permission{"", "zones", "Zones/read", "zones//read", "zones/read/", "zones/r ead", "zones/**"} {
		if p.Valid() {
			t.Errorf("%q valid", p)
		}
	}
}
