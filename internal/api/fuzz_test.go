package api_test

import (
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// FuzzCreateZoneBody sends arbitrary bodies to a real route: every answer
// is 201, a 4xx problem document, never a 5xx, and a refused body leaves
// nothing behind.
func FuzzCreateZoneBody(f *testing.F) {
	for _, s := range []string{`{"name":"a","region":"eu"}`, `{"name":5}`, `{`, `[]`, `null`, `{"name":"a","region":"eu","x":1}`,
		`{"name":"a","region":"eu","tags":{"k":"v"}}`, `"str"`, `{"name":"a","region":"eu"} {}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		db := storetest.Open(t, storetest.Backends()[0].URL(t))
		e := newEnv(t, db)
		r := e.do("POST", "/api/v1/zones", body, nil)
		switch {
		case r.status == 201:
		case r.status >= 400 && r.status < 500:
			var p api.Problem
			r.json(t, &p)
			if p.Code == "" || p.Field == "" {
				t.Fatalf("problem without code or field for %q: %s", body, r.body)
			}
			var n int
			if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM zones`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("refused body left %d zones", n)
			}
		default:
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		}
		if strings.Contains(string(r.body), "internal error") {
			t.Fatalf("internal error for %q", body)
		}
	})
}
