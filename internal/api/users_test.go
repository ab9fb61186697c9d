package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func TestUserScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		pw := "violet-kettle-ninety-harbor"
		user := func(name, password string) string {
			return `{"name":"` + name + `","display_name":"Ana Lima","email":"ana@example.org","password":"` + password + `"}`
		}
		steps(t, e, "u", []scenario{
			{name: "create", method: "POST", path: "/api/v1/users", body: user("ana", pw), status: 201,
				contain: []string{`"name":"ana"`, `"kind":"user"`, `"email":"ana@example.org"`, `"password_set":true`, `"mfa_enrolled":false`},
				events:  []string{"user.create"}},
			{name: "duplicate", method: "POST", path: "/api/v1/users", body: user("ana", pw), status: 409, code: "conflict", field: "name"},
			{name: "without a password", method: "POST", path: "/api/v1/users", body: `{"name":"dora"}`, status: 201,
				contain: []string{`"password_set":false`, `"display_name":"dora"`}, events: []string{"user.create"}},
			{name: "bad name", method: "POST", path: "/api/v1/users", body: user("Ana", pw), status: 400, code: "invalid_argument", field: "name"},
			{name: "bad email", method: "POST", path: "/api/v1/users", body: `{"name":"eve","email":"not an email"}`, status: 400, code: "invalid_argument", field: "email"},
			{name: "email with a display part", method: "POST", path: "/api/v1/users", body: `{"name":"eve","email":"Eve <eve@example.org>"}`, status: 400, code: "invalid_argument", field: "email"},
			{name: "password too short", method: "POST", path: "/api/v1/users", body: user("eve", "short-pw"), status: 400, code: "invalid_argument", field: "password"},
			{name: "password too long", method: "POST", path: "/api/v1/users", body: user("eve", strings.Repeat("xy", 129)), status: 400, code: "invalid_argument", field: "password"},
			{name: "common password", method: "POST", path: "/api/v1/users", body: user("eve", "Password2024!!"), status: 400, code: "invalid_argument", field: "password"},
			{name: "leet common password", method: "POST", path: "/api/v1/users", body: user("eve", "P@ssw0rd12345"), status: 400, code: "invalid_argument", field: "password"},
			{name: "password with the name", method: "POST", path: "/api/v1/users", body: user("evelyn", "I-am-Evelyn-here"), status: 400, code: "invalid_argument", field: "password"},
			{name: "password with the email's user", method: "POST", path: "/api/v1/users", body: `{"name":"eve","email":"orchid@example.org","password":"my-orchid-is-blue"}`,
				status: 400, code: "invalid_argument", field: "password"},
			{name: "repeated characters", method: "POST", path: "/api/v1/users", body: user("eve", "aaaaaaaaaaaaaaaa"), status: 400, code: "invalid_argument", field: "password"},
			{name: "two characters", method: "POST", path: "/api/v1/users", body: user("eve", "abababababababab"), status: 400, code: "invalid_argument", field: "password"},
			{name: "sequence", method: "POST", path: "/api/v1/users", body: user("eve", "1234567890123"), status: 400, code: "invalid_argument", field: "password"},
			{name: "control character", method: "POST", path: "/api/v1/users", body: user("eve", `good-length-but\u0007bell`), status: 400, code: "invalid_argument", field: "password"},
			{name: "wrong type", method: "POST", path: "/api/v1/users", body: `{"name":"eve","password":12}`, status: 400, code: "invalid_argument", field: "password"},
			{name: "nothing was created by the refusals", method: "GET", path: "/api/v1/users/eve", status: 404, code: "not_found"},
			{name: "group name taken", method: "POST", path: "/api/v1/groups", body: `{"name":"ops"}`, status: 201, events: []string{"group.create"}},
			{name: "user named like a group", method: "POST", path: "/api/v1/users", body: `{"name":"ops"}`, status: 409, code: "conflict", field: "name"},
			{name: "list", method: "GET", path: "/api/v1/users?page_size=2", status: 200, contain: []string{`"name":"admin"`, `"name":"ana"`, `"next_page_token"`}},
			{name: "show", method: "GET", path: "/api/v1/users/ana", status: 200, contain: []string{`"display_name":"Ana Lima"`}},
			{name: "uppercase in path", method: "GET", path: "/api/v1/users/ANA", status: 400, code: "invalid_argument", field: "user"},
			{name: "missing", method: "GET", path: "/api/v1/users/nobody", status: 404, code: "not_found"},
			{name: "update", method: "PATCH", path: "/api/v1/users/ana", body: `{"display_name":"Ana L."}`, status: 200,
				contain: []string{`"display_name":"Ana L."`}, events: []string{"user.update"}},
			{name: "update unknown field", method: "PATCH", path: "/api/v1/users/ana", body: `{"kind":"service"}`, status: 400, code: "invalid_argument", field: "kind"},
			{name: "weak reset password", method: "PATCH", path: "/api/v1/users/ana", body: `{"password":"tooshort"}`, status: 400, code: "invalid_argument", field: "password"},
			{name: "reset password", method: "PATCH", path: "/api/v1/users/dora", body: `{"password":"` + pw + `"}`, status: 200,
				contain: []string{`"password_set":true`}, events: []string{"user.password.set"}},
			{name: "disable yourself", method: "PATCH", path: "/api/v1/users/admin", body: `{"disabled":true}`, status: 409, code: "failed_precondition"},
			{name: "delete the administrator", method: "DELETE", path: "/api/v1/users/admin", status: 409, code: "failed_precondition"},
			{name: "service principal is not a user", method: "POST", path: "/api/v1/service-principals", body: `{"name":"ci","service_kind":"cicd"}`,
				status: 201, events: []string{"service_principal.create"}},
			{name: "user route on a service principal", method: "GET", path: "/api/v1/users/ci", status: 404, code: "not_found"},
		})

		// A disabled user's tokens stop working at once, and stay revoked when it is enabled again.
		anaToken := e.passwordLogin("ana", pw).Secret
		ana := bearer(anaToken)
		steps(t, e, "dis", []scenario{
			{name: "ana signed in", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 200, contain: []string{`"name":"ana"`}},
			{name: "disable", method: "PATCH", path: "/api/v1/users/ana", body: `{"disabled":true}`, status: 200,
				contain: []string{`"disabled":true`}, events: []string{"user.disable"}},
			{name: "token of a disabled user", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 401, code: "unauthenticated"},
			{name: "disabled user cannot sign in", method: "POST", path: "/api/v1/auth/login", body: `{"name":"ana","password":"` + pw + `"}`,
				header: map[string]string{"Authorization": ""}, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "enable", method: "PATCH", path: "/api/v1/users/ana", body: `{"disabled":false}`, status: 200,
				contain: []string{`"disabled":false`}, events: []string{"user.enable"}},
			{name: "the old token stays revoked", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 401, code: "unauthenticated"},
		})
		if got := e.reasons("dis-003"); len(got) != 1 || got[0] != "principal disabled" {
			t.Errorf("reason %v", got)
		}

		// A deleted user's tokens stop working; the name stays taken.
		ana = bearer(e.passwordLogin("ana", pw).Secret)
		e.must(e.do("POST", "/api/v1/groups/ops/members", `{"member":"ana"}`, nil), 201)
		steps(t, e, "del", []scenario{
			{name: "delete", method: "DELETE", path: "/api/v1/users/ana", status: 204, events: []string{"user.delete"}},
			{name: "token of a deleted user", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 401, code: "unauthenticated"},
			{name: "gone", method: "GET", path: "/api/v1/users/ana", status: 404, code: "not_found"},
			{name: "deleted twice", method: "DELETE", path: "/api/v1/users/ana", status: 404, code: "not_found"},
			{name: "not listed", method: "GET", path: "/api/v1/users", status: 200},
			{name: "left its groups", method: "GET", path: "/api/v1/groups/ops/members", status: 200, contain: []string{`"items":[]`}},
			{name: "name not reused", method: "POST", path: "/api/v1/users", body: `{"name":"ana"}`, status: 409, code: "conflict", field: "name"},
			{name: "deleted user cannot sign in", method: "POST", path: "/api/v1/auth/login", body: `{"name":"ana","password":"` + pw + `"}`,
				header: map[string]string{"Authorization": ""}, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		if r := e.do("GET", "/api/v1/users", "", nil); strings.Contains(string(r.body), `"name":"ana"`) {
			t.Errorf("deleted user listed: %s", r.body)
		}
		d := e.auditOf("del-000")[0].Details
		if d["tokens_revoked"] != float64(1) || d["memberships_ended"] != float64(1) {
			t.Errorf("delete details %v", d)
		}
		// Nothing about the password is recorded.
		var n int
		sealAudit(t, db)
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM audit_events WHERE details LIKE ?`), "%"+pw+"%").Scan(&n); err != nil || n != 0 {
			t.Fatalf("password in the audit log: %d %v", n, err)
		}
	})
}

// TestIdentityNeedsPermission: people without an identity role can act on
// themselves but not manage others.
func TestIdentityNeedsPermission(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		tok, _ := e.enrolledUser("ana", "violet-kettle-ninety-harbor")
		ana := bearer(tok)
		steps(t, e, "perm", []scenario{
			{name: "list users", method: "GET", path: "/api/v1/users", header: ana, status: 403, code: "permission_denied"},
			{name: "create user", method: "POST", path: "/api/v1/users", body: `{"name":"x"}`, header: ana, status: 403, code: "permission_denied"},
			{name: "groups", method: "GET", path: "/api/v1/groups", header: ana, status: 403, code: "permission_denied"},
			{name: "service principals", method: "POST", path: "/api/v1/service-principals", body: `{"name":"x","service_kind":"cicd"}`, header: ana, status: 403, code: "permission_denied"},
			{name: "settings", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":false}`, header: ana, status: 403, code: "permission_denied"},
			{name: "another's tokens", method: "GET", path: "/api/v1/users/admin/tokens", header: ana, status: 403, code: "permission_denied"},
			{name: "reset someone's MFA", method: "DELETE", path: "/api/v1/users/admin/mfa", header: ana, status: 403, code: "permission_denied"},
			{name: "own tokens", method: "GET", path: "/api/v1/auth/tokens", header: ana, status: 200, contain: []string{`"kind":"session"`}},
			{name: "own identity", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 200, contain: []string{`"mfa_enrolled":true`}},
		})
	})
}

// liveTokens counts a user's tokens that still work, whatever their kind.
func (e *env) liveTokens(user string) int {
	e.t.Helper()
	var n int
	err := e.db.SQL.QueryRow(e.db.Dialect.Rebind(`SELECT COUNT(*) FROM tokens t JOIN principals p ON p.id = t.principal_id
		WHERE p.name = ? AND t.revoked_at IS NULL AND t.expires_at > ?`), user, e.clock.Now().UnixMicro()).Scan(&n)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestResetsRevokeEveryToken: an administrator's password reset and MFA
// reset end a possible compromise: every token of the user stops working,
// personal access tokens included. Neither works on the platform
// administrator (only enclave bootstrap reset does, and it revokes the
// administrator's tokens too).
func TestResetsRevokeEveryToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		pw := "violet-kettle-ninety-harbor"
		tok, secret := e.enrolledUser("ana", pw)
		var pat identity.IssuedToken
		e.mustJSON(e.do("POST", "/api/v1/auth/tokens", `{"name":"script"}`, bearer(tok)), 201, &pat)
		live := e.liveTokens("ana")
		steps(t, e, "pw", []scenario{
			{name: "PAT works", method: "GET", path: "/api/v1/auth/whoami", header: bearer(pat.Secret), status: 200},
			{name: "admin resets the password", method: "PATCH", path: "/api/v1/users/ana", body: `{"password":"another-long-passphrase"}`, status: 200,
				events: []string{"user.password.set"}},
			{name: "the session stops", method: "GET", path: "/api/v1/auth/whoami", header: bearer(tok), status: 401, code: "unauthenticated"},
			{name: "the PAT stops", method: "GET", path: "/api/v1/auth/whoami", header: bearer(pat.Secret), status: 401, code: "unauthenticated"},
		})
		if d := e.auditOf("pw-001")[0].Details; d["tokens_revoked"] != float64(live) || live < 3 {
			t.Errorf("password reset revoked %v of %d tokens", d["tokens_revoked"], live)
		}
		if n := e.liveTokens("ana"); n != 0 {
			t.Errorf("%d tokens live after a password reset", n)
		}

		tok = e.signIn("ana", "another-long-passphrase", secret)
		e.mustJSON(e.do("POST", "/api/v1/auth/tokens", `{"name":"script"}`, bearer(tok)), 201, &pat)
		steps(t, e, "mfa", []scenario{
			{name: "admin resets MFA", method: "DELETE", path: "/api/v1/users/ana/mfa", status: 204, events: []string{"mfa.reset"}},
			{name: "the session stops", method: "GET", path: "/api/v1/auth/whoami", header: bearer(tok), status: 401, code: "unauthenticated"},
			{name: "the PAT stops", method: "GET", path: "/api/v1/auth/whoami", header: bearer(pat.Secret), status: 401, code: "unauthenticated"},
		})
		if n := e.liveTokens("ana"); n != 0 {
			t.Errorf("%d tokens live after an MFA reset", n)
		}

		// The platform administrator's password and MFA are reset only by
		// the break-glass bootstrap reset.
		steps(t, e, "admin", []scenario{
			{name: "reset the administrator's password", method: "PATCH", path: "/api/v1/users/admin", body: `{"password":"yet-another-long-passphrase"}`,
				status: 409, code: "failed_precondition", contain: []string{"enclave bootstrap reset"}},
			{name: "reset the administrator's MFA", method: "DELETE", path: "/api/v1/users/admin/mfa",
				status: 409, code: "failed_precondition", contain: []string{"enclave bootstrap reset"}},
			{name: "the administrator still signs in with the old password", method: "POST", path: "/api/v1/auth/login",
				body: `{"name":"admin","password":"` + e.adminPassword + `"}`, header: map[string]string{"Authorization": ""}, status: 200,
				contain: []string{`"mfa_required":true`}, events: []string{"auth.login.challenge"}},
		})
		var adminPAT identity.IssuedToken
		e.mustJSON(e.do("POST", "/api/v1/auth/tokens", `{"name":"admin script"}`, nil), 201, &adminPAT)
		if _, err := e.svc.Identity.ResetBootstrap(t.Context()); err != nil {
			t.Fatal(err)
		}
		steps(t, e, "boot", []scenario{
			{name: "bootstrap reset ends the administrator's session", method: "GET", path: "/api/v1/auth/whoami", status: 401, code: "unauthenticated"},
			{name: "and PAT", method: "GET", path: "/api/v1/auth/whoami", header: bearer(adminPAT.Secret), status: 401, code: "unauthenticated"},
		})
		if n := e.liveTokens("admin"); n != 0 {
			t.Errorf("%d administrator tokens live after a bootstrap reset", n)
		}
	})
}

// TestNoOpUpdateWritesNothing: a PATCH that changes nothing leaves
// updated_at alone and writes no audit record.
func TestNoOpUpdateWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/users", `{"name":"ana","display_name":"Ana","email":"ana@example.org"}`, nil), 201)
		var before identity.Principal
		e.mustJSON(e.do("GET", "/api/v1/users/ana", "", nil), 200, &before)
		e.clock.Add(time.Hour)
		steps(t, e, "noop", []scenario{
			{name: "empty", method: "PATCH", path: "/api/v1/users/ana", body: `{}`, status: 200},
			{name: "same values", method: "PATCH", path: "/api/v1/users/ana", body: `{"display_name":"Ana","email":"ana@example.org","disabled":false}`,
				status: 200, contain: []string{`"display_name":"Ana"`}},
		})
		var after identity.Principal
		e.mustJSON(e.do("GET", "/api/v1/users/ana", "", nil), 200, &after)
		if !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("a PATCH that changed nothing moved updated_at from %v to %v", before.UpdatedAt, after.UpdatedAt)
		}
		steps(t, e, "change", []scenario{
			{name: "a real change", method: "PATCH", path: "/api/v1/users/ana", body: `{"display_name":"Ana Lima"}`, status: 200,
				events: []string{"user.update"}},
		})
		e.mustJSON(e.do("GET", "/api/v1/users/ana", "", nil), 200, &after)
		if !after.UpdatedAt.Equal(e.clock.Now()) {
			t.Errorf("updated_at %v after a change at %v", after.UpdatedAt, e.clock.Now())
		}
	})
}

// TestSecretRequestsNotFingerprinted: a request that carries a password
// is never kept for idempotency, not even as a hash: a retry with the same
// key runs again instead of being replayed.
func TestSecretRequestsNotFingerprinted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		key := map[string]string{"Idempotency-Key": "create-ana"}
		body := `{"name":"ana","password":"violet-kettle-ninety-harbor"}`
		e.must(e.do("POST", "/api/v1/users", body, key), 201)
		if r := e.must(e.do("POST", "/api/v1/users", body, key), 409); r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("replayed: %s", r.body)
		}
		e.must(e.do("POST", "/api/v1/auth/password", `{"current_password":"`+e.adminPassword+`","new_password":"a-brand-new-long-passphrase"}`,
			map[string]string{"Idempotency-Key": "change"}), 204)
		var n int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM idempotency_keys`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d idempotency records of requests carrying a password (%v)", n, err)
		}
		// A request without a secret is still made idempotent.
		e.must(e.do("POST", "/api/v1/groups", `{"name":"ops"}`, map[string]string{"Idempotency-Key": "group"}), 201)
		if r := e.must(e.do("POST", "/api/v1/groups", `{"name":"ops"}`, map[string]string{"Idempotency-Key": "group"}), 201); r.header.Get("Idempotent-Replayed") == "" {
			t.Fatalf("not replayed: %v %s", r.header, r.body)
		}
	})
}
