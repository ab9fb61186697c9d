package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func TestServicePrincipalScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		anon := map[string]string{"Authorization": ""}
		steps(t, e, "sp", []scenario{
			{name: "create", method: "POST", path: "/api/v1/service-principals", body: `{"name":"ci","display_name":"CI pipeline","service_kind":"cicd"}`,
				status: 201, contain: []string{`"kind":"service"`, `"service_kind":"cicd"`}, events: []string{"service_principal.create"}},
			{name: "each kind", method: "POST", path: "/api/v1/service-principals", body: `{"name":"scanner","service_kind":"governance"}`,
				status: 201, events: []string{"service_principal.create"}},
			{name: "unknown kind", method: "POST", path: "/api/v1/service-principals", body: `{"name":"x","service_kind":"robot"}`,
				status: 400, code: "invalid_argument", field: "service_kind"},
			{name: "no kind", method: "POST", path: "/api/v1/service-principals", body: `{"name":"x"}`, status: 400, code: "invalid_argument", field: "service_kind"},
			{name: "name of a user", method: "POST", path: "/api/v1/service-principals", body: `{"name":"admin","service_kind":"cicd"}`,
				status: 409, code: "conflict", field: "name"},
			{name: "list by kind", method: "GET", path: "/api/v1/service-principals?service_kind=cicd", status: 200, contain: []string{`"name":"ci"`}},
			{name: "bad kind filter", method: "GET", path: "/api/v1/service-principals?service_kind=robot", status: 400, code: "invalid_argument", field: "service_kind"},
			{name: "show", method: "GET", path: "/api/v1/service-principals/ci", status: 200, contain: []string{`"display_name":"CI pipeline"`}},
			{name: "a user is not a service principal", method: "GET", path: "/api/v1/service-principals/admin", status: 404, code: "not_found"},
			{name: "secret too long-lived", method: "POST", path: "/api/v1/service-principals/ci/secrets", body: `{"expires_in_days":366}`,
				status: 400, code: "invalid_argument", field: "expires_in_days"},
			{name: "secret for a missing principal", method: "POST", path: "/api/v1/service-principals/nope/secrets", body: `{}`, status: 404, code: "not_found"},
			{name: "secret", method: "POST", path: "/api/v1/service-principals/ci/secrets", body: `{"description":"scenario"}`,
				status: 201, contain: []string{`"client_secret":"encsp_`}, events: []string{"service_principal.secret.create"}},
			{name: "no secret yet, no sign-in", method: "POST", path: "/api/v1/auth/token", body: `{"client_id":"ci","client_secret":"encsp_guess"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		var s1, s2 identity.IssuedClientSecret
		e.mustJSON(e.do("POST", "/api/v1/service-principals/ci/secrets", `{"description":"deploy job"}`, nil), 201, &s1)
		if s1.ClientID != "ci" || !strings.HasPrefix(s1.ClientSecret, identity.ClientSecretPrefix) ||
			!s1.Info.ExpiresAt.Equal(e.clock.Now().AddDate(0, 0, identity.DefaultClientSecretDays)) {
			t.Fatalf("secret: %+v %+v", s1, s1.Info)
		}
		e.mustJSON(e.do("POST", "/api/v1/service-principals/ci/secrets", `{"expires_in_days":1}`, nil), 201, &s2)
		var login identity.LoginResult
		e.mustJSON(e.anon("POST", "/api/v1/auth/token", `{"client_id":"ci","client_secret":"`+s1.ClientSecret+`"}`), 200, &login)
		if login.Token.Kind != identity.TokenService || login.Principal.Name != "ci" ||
			!login.Token.ExpiresAt.Equal(e.clock.Now().Add(identity.DefaultServiceTokenTTL)) {
			t.Fatalf("service sign-in: %+v %+v", login.Token, login.Principal)
		}
		svc := bearer(login.Secret)
		body := func(secret string) string { return `{"client_id":"ci","client_secret":"` + secret + `"}` }
		steps(t, e, "sec", []scenario{
			{name: "service token works", method: "GET", path: "/api/v1/auth/whoami", header: svc, status: 200, contain: []string{`"service_kind":"cicd"`}},
			{name: "a service principal makes no PAT", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"x"}`, header: svc,
				status: 409, code: "failed_precondition"},
			{name: "a service principal has no MFA", method: "POST", path: "/api/v1/auth/mfa/totp", header: svc, status: 409, code: "failed_precondition"},
			{name: "a service principal has no password", method: "POST", path: "/api/v1/auth/password", body: `{"new_password":"long-enough-passphrase"}`,
				header: svc, status: 409, code: "failed_precondition"},
			{name: "secret of another name", method: "POST", path: "/api/v1/auth/token", body: `{"client_id":"scanner","client_secret":"` + s1.ClientSecret + `"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "list secrets", method: "GET", path: "/api/v1/service-principals/ci/secrets", status: 200,
				contain: []string{`"description":"deploy job"`, `"last_used_at"`}},
			{name: "revoke secret", method: "DELETE", path: "/api/v1/service-principals/ci/secrets/" + s1.Info.ID, status: 204,
				events: []string{"service_principal.secret.revoke"}},
			{name: "its token is revoked with it", method: "GET", path: "/api/v1/auth/whoami", header: svc, status: 401, code: "unauthenticated"},
			{name: "revoked secret", method: "POST", path: "/api/v1/auth/token", body: body(s1.ClientSecret), header: anon,
				status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "revoke again", method: "DELETE", path: "/api/v1/service-principals/ci/secrets/" + s1.Info.ID, status: 409, code: "failed_precondition"},
			{name: "revoke through another principal", method: "DELETE", path: "/api/v1/service-principals/scanner/secrets/" + s2.Info.ID, status: 404, code: "not_found"},
			{name: "the other secret works", method: "POST", path: "/api/v1/auth/token", body: body(s2.ClientSecret), header: anon,
				status: 200, events: []string{"auth.login"}},
		})
		if got := e.reasons("sec-008"); len(got) != 1 || got[0] != "client secret revoked" {
			t.Errorf("reason %v", got)
		}
		e.clock.Add(25 * time.Hour)
		steps(t, e, "exp", []scenario{
			{name: "expired secret", method: "POST", path: "/api/v1/auth/token", body: body(s2.ClientSecret), header: anon,
				status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		if got := e.reasons("exp-000"); len(got) != 1 || got[0] != "client secret expired" {
			t.Errorf("reason %v", got)
		}
		e.adminToken = e.signIn("admin", e.adminPassword, e.adminTOTP)
		var s3 identity.IssuedClientSecret
		e.mustJSON(e.do("POST", "/api/v1/service-principals/ci/secrets", `{}`, nil), 201, &s3)
		e.mustJSON(e.anon("POST", "/api/v1/auth/token", body(s3.ClientSecret)), 200, &login)
		svc = bearer(login.Secret)
		steps(t, e, "off", []scenario{
			{name: "disable", method: "PATCH", path: "/api/v1/service-principals/ci", body: `{"disabled":true}`, status: 200,
				contain: []string{`"disabled":true`}, events: []string{"service_principal.update"}},
			{name: "disabled: token refused", method: "GET", path: "/api/v1/auth/whoami", header: svc, status: 401, code: "unauthenticated"},
			{name: "disabled: sign-in refused", method: "POST", path: "/api/v1/auth/token", body: body(s3.ClientSecret), header: anon,
				status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "enable", method: "PATCH", path: "/api/v1/service-principals/ci", body: `{"disabled":false}`, status: 200, events: []string{"service_principal.update"}},
			{name: "delete", method: "DELETE", path: "/api/v1/service-principals/ci", status: 204, events: []string{"service_principal.delete"}},
			{name: "deleted: sign-in refused", method: "POST", path: "/api/v1/auth/token", body: body(s3.ClientSecret), header: anon,
				status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "deleted: gone", method: "GET", path: "/api/v1/service-principals/ci", status: 404, code: "not_found"},
		})
		if d := e.auditOf("off-004")[0].Details; d["secrets_revoked"] != float64(3) {
			t.Errorf("delete details %v", d)
		}
		// Client secrets are stored only as hashes.
		var n int
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM client_secrets WHERE hash = ?`), []byte(s3.ClientSecret)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("secret stored in clear: %d %v", n, err)
		}
	})
}

// TestClientSecretLimit: a service principal holds at most a few live secrets.
func TestClientSecretLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/service-principals", `{"name":"mon","service_kind":"monitoring"}`, nil), 201)
		for range identity.MaxLiveClientSecrets {
			e.must(e.do("POST", "/api/v1/service-principals/mon/secrets", `{}`, nil), 201)
		}
		steps(t, e, "lim", []scenario{
			{name: "one too many", method: "POST", path: "/api/v1/service-principals/mon/secrets", body: `{}`, status: 409, code: "failed_precondition"},
		})
	})
}
