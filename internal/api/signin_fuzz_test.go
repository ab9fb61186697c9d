package api_test

import (
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// FuzzSignInBodies sends arbitrary bodies to the public sign-in routes:
// every answer is a sign-in result or a 4xx problem with a code, never a
// 5xx (throttling included: it is 429).
func FuzzSignInBodies(f *testing.F) {
	for _, s := range []string{`{"name":"admin","password":"x"}`, `{"name":"admin","credential":"encboot_x"}`, `{"challenge":"encmfa_x","code":"123456"}`,
		`{"client_id":"ci","client_secret":"encsp_x"}`, `{"name":"` + strings.Repeat("a", 300) + `","password":"` + strings.Repeat("b", 2000) + `"}`,
		`{"name":"admin","password":"\u0000"}`, `{`, `null`, `[]`, "\xff", `{"code":"aaaa-bbbb-cccc-dddd","challenge":"encmfa_"}`} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	db := storetest.Open(f, storetest.Backends()[0].URL(f))
	e := newEnv(f, db)
	paths := []string{"/api/v1/auth/login", "/api/v1/auth/login/mfa", "/api/v1/auth/token"}
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		e.t = t
		r := e.anon("POST", paths[int(which)%len(paths)], body)
		switch {
		case r.status == 200:
		case r.status >= 400 && r.status < 500:
			var p api.Problem
			r.json(t, &p)
			if p.Code == "" {
				t.Fatalf("problem without code for %q: %s", body, r.body)
			}
		default:
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		}
		if strings.Contains(string(r.body), "internal error") {
			t.Fatalf("internal error for %q", body)
		}
	})
}
