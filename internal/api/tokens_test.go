package api_test

import (
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestPersonalAccessTokens: a PAT is shown once, stored hashed, limited to
// its scopes, never makes another token, expires, and is revocable by its
// holder and by an administrator.
func TestPersonalAccessTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		var pat identity.IssuedToken
		e.mustJSON(e.do("POST", "/api/v1/auth/tokens", `{"name":"ci reader","scopes":["zones/read","self/*"],"expires_in_days":7}`, nil), 201, &pat)
		if !strings.HasPrefix(pat.Secret, identity.TokenPrefix) || pat.Token.Kind != identity.TokenPAT || !pat.Token.MFA ||
			!pat.Token.ExpiresAt.Equal(e.clock.Now().AddDate(0, 0, 7)) || !slices.Equal(pat.Token.Scopes, []string{"zones/read", "self/*"}) {
			t.Fatalf("pat: %+v", pat.Token)
		}
		h := sha256.Sum256([]byte(pat.Secret))
		var stored []byte
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT hash FROM tokens WHERE id = ?`), pat.Token.ID).Scan(&stored); err != nil || string(stored) != string(h[:]) {
			t.Fatalf("stored hash: %x %v", stored, err)
		}
		p := bearer(pat.Secret)
		steps(t, e, "pat", []scenario{
			{name: "create", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"full"}`, status: 201,
				contain: []string{`"token":"enc_`, `"kind":"pat"`}, events: []string{"token.create"}},
			{name: "read zones with the PAT", method: "GET", path: "/api/v1/zones", header: p, status: 200},
			{name: "write zones with the PAT", method: "POST", path: "/api/v1/zones", body: `{"name":"z","region":"eu"}`, header: p,
				status: 403, code: "permission_denied"},
			// self/* covers self/tokens/write, yet a PAT makes no tokens: each
			// copy could otherwise outlive the last, for ever.
			{name: "PAT makes no PAT", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"child"}`, header: p,
				status: 403, code: "permission_denied"},
			{name: "PAT makes no narrower PAT", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"narrow","scopes":["self/read"]}`, header: p,
				status: 403, code: "permission_denied"},
			{name: "bad scope", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"x","scopes":["Zones/Read"]}`, status: 400, code: "invalid_argument", field: "scopes"},
			{name: "pseudo scope", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"x","scopes":["self"]}`, status: 400, code: "invalid_argument", field: "scopes"},
			{name: "no name", method: "POST", path: "/api/v1/auth/tokens", body: `{"scopes":["zones/read"]}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "too long", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"x","expires_in_days":400}`, status: 400, code: "invalid_argument", field: "expires_in_days"},
			{name: "negative", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"x","expires_in_days":-1}`, status: 400, code: "invalid_argument", field: "expires_in_days"},
			{name: "list own tokens", method: "GET", path: "/api/v1/auth/tokens?kind=pat", status: 200, contain: []string{`"name":"ci reader"`, `"last_used_at"`}},
			{name: "bad kind filter", method: "GET", path: "/api/v1/auth/tokens?kind=magic", status: 400, code: "invalid_argument", field: "kind"},
			{name: "bad inactive filter", method: "GET", path: "/api/v1/auth/tokens?include_inactive=maybe", status: 400, code: "invalid_argument", field: "include_inactive"},
			{name: "revoke", method: "DELETE", path: "/api/v1/auth/tokens/" + pat.Token.ID, status: 204, events: []string{"token.revoke"}},
			{name: "revoked PAT refused", method: "GET", path: "/api/v1/zones", header: p, status: 401, code: "unauthenticated"},
			{name: "revoke again", method: "DELETE", path: "/api/v1/auth/tokens/" + pat.Token.ID, status: 409, code: "failed_precondition"},
			{name: "revoke unknown", method: "DELETE", path: "/api/v1/auth/tokens/0190a0b0-0000-7000-8000-000000000000", status: 404, code: "not_found"},
			{name: "revoke malformed", method: "DELETE", path: "/api/v1/auth/tokens/not-an-id", status: 404, code: "not_found"},
			{name: "inactive not listed", method: "GET", path: "/api/v1/auth/tokens?kind=pat", status: 200},
			{name: "inactive listed on request", method: "GET", path: "/api/v1/auth/tokens?kind=pat&include_inactive=true", status: 200,
				contain: []string{`"name":"ci reader"`, `"revoked_at"`}},
		})
		if r := e.do("GET", "/api/v1/auth/tokens?kind=pat", "", nil); strings.Contains(string(r.body), "ci reader") || strings.Contains(string(r.body), `"hash"`) {
			t.Errorf("listing: %s", r.body)
		}
		// The secret is never stored for replay: two creations with one Idempotency-Key make two tokens.
		key := map[string]string{"Idempotency-Key": "same-key"}
		a, b := e.do("POST", "/api/v1/auth/tokens", `{"name":"k"}`, key), e.do("POST", "/api/v1/auth/tokens", `{"name":"k"}`, key)
		if a.status != 201 || b.status != 201 || string(a.body) == string(b.body) || b.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("secret response replayed: %s / %s", a.body, b.body)
		}
		var n int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM idempotency_keys`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d idempotency records hold a secret response", n)
		}
	})
}

// TestTokenExpiryAndAdmin: tokens expire on the clock; an administrator
// lists and revokes a user's tokens.
func TestTokenExpiryAndAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		tok, _ := e.enrolledUser("ana", "violet-kettle-ninety-harbor")
		ana := bearer(tok)
		var pat identity.IssuedToken
		e.mustJSON(e.do("POST", "/api/v1/auth/tokens", `{"name":"one day","expires_in_days":1}`, ana), 201, &pat)
		steps(t, e, "adm", []scenario{
			{name: "admin lists ana's tokens", method: "GET", path: "/api/v1/users/ana/tokens", status: 200,
				contain: []string{`"name":"one day"`, `"kind":"session"`}},
			{name: "PAT works", method: "GET", path: "/api/v1/auth/whoami", header: bearer(pat.Secret), status: 200},
		})
		e.clock.Add(24 * time.Hour)
		steps(t, e, "exp", []scenario{
			{name: "expired PAT", method: "GET", path: "/api/v1/auth/whoami", header: bearer(pat.Secret), status: 401, code: "unauthenticated"},
			{name: "session expired after 12 hours", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 401, code: "unauthenticated"},
			{name: "admin session expired too", method: "GET", path: "/api/v1/auth/whoami", status: 401, code: "unauthenticated"},
		})
		e.adminToken = e.signIn("admin", e.adminPassword, e.adminTOTP)
		tok2 := e.signIn("ana", "violet-kettle-ninety-harbor", anaSecret(t, e))
		var ts struct{ Items []identity.Token }
		e.mustJSON(e.do("GET", "/api/v1/users/ana/tokens?kind=session", "", nil), 200, &ts)
		if len(ts.Items) != 1 {
			t.Fatalf("live sessions: %+v", ts.Items)
		}
		steps(t, e, "rev", []scenario{
			{name: "admin revokes", method: "DELETE", path: "/api/v1/users/ana/tokens/" + ts.Items[0].ID, status: 204, events: []string{"token.revoke"}},
			{name: "revoked session", method: "GET", path: "/api/v1/auth/whoami", header: bearer(tok2), status: 401, code: "unauthenticated"},
			{name: "another user's token through the wrong user", method: "DELETE", path: "/api/v1/users/admin/tokens/" + ts.Items[0].ID, status: 404, code: "not_found"},
			{name: "malformed token", method: "GET", path: "/api/v1/auth/whoami", header: bearer("enc_" + strings.Repeat("A", 200)), status: 401, code: "unauthenticated"},
			{name: "token without prefix", method: "GET", path: "/api/v1/auth/whoami", header: bearer("abc"), status: 401, code: "unauthenticated"},
		})
	})
}

// anaSecret reads ana's TOTP secret back for a second sign-in.
func anaSecret(t *testing.T, e *env) string {
	t.Helper()
	var s string
	if err := e.db.SQL.QueryRow(e.db.Dialect.Rebind(`SELECT m.secret FROM mfa_totp m JOIN principals p ON p.id = m.principal_id WHERE p.name = ?`), "ana").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPATOnlyFromSession: a personal access token is made only from a
// sign-in session — not from a PAT, however wide, nor from a bootstrap
// login token — so no token ever renews itself.
func TestPATOnlyFromSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		var full identity.IssuedToken
		e.mustJSON(e.do("POST", "/api/v1/auth/tokens", `{"name":"everything","expires_in_days":365}`, nil), 201, &full)
		if full.Token.Scopes != nil || !full.Token.MFA {
			t.Fatalf("full PAT: %+v", full.Token)
		}
		pat := bearer(full.Secret)
		steps(t, e, "pat", []scenario{
			{name: "the PAT works", method: "GET", path: "/api/v1/zones", header: pat, status: 200},
			{name: "a full PAT makes no PAT", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"renewed","expires_in_days":365}`,
				header: pat, status: 403, code: "permission_denied", contain: []string{"only from a sign-in session"}},
			{name: "nor a shorter one", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"short","expires_in_days":1}`,
				header: pat, status: 403, code: "permission_denied"},
		})
		// With MFA not required the break-glass login token is not limited to
		// enrolment; it still makes no PAT.
		e.must(e.do("PATCH", "/api/v1/settings", `{"mfa_required_for_people":false}`, nil), 200)
		cred, err := e.svc.Identity.ResetBootstrap(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var login identity.LoginResult
		e.mustJSON(e.anon("POST", "/api/v1/auth/login", `{"name":"admin","credential":"`+cred+`"}`), 200, &login)
		if login.Token.Kind != identity.TokenLogin || login.Token.Scopes != nil {
			t.Fatalf("login token: %+v", login.Token)
		}
		steps(t, e, "login", []scenario{
			{name: "a login token makes no PAT", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"x"}`,
				header: bearer(login.Secret), status: 403, code: "permission_denied", contain: []string{"bootstrap login token"}},
		})
		var n int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM tokens WHERE kind = 'pat'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d PATs, want the one made from the session (%v)", n, err)
		}
	})
}

// TestMFARequirementAppliesAtOnce: while MFA is not required a person
// without it gets a full session and may make PATs; turning the
// requirement on stops both at once, while enrolment still works, and
// service tokens and MFA sessions are unaffected.
func TestMFARequirementAppliesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.createUser("bob", bobPassword)
		e.must(e.do("POST", "/api/v1/service-principals", `{"name":"ci","service_kind":"cicd"}`, nil), 201)
		var sec identity.IssuedClientSecret
		e.mustJSON(e.do("POST", "/api/v1/service-principals/ci/secrets", `{}`, nil), 201, &sec)
		var svcLogin identity.LoginResult
		e.mustJSON(e.anon("POST", "/api/v1/auth/token", `{"client_id":"ci","client_secret":"`+sec.ClientSecret+`"}`), 200, &svcLogin)
		e.must(e.do("PATCH", "/api/v1/settings", `{"mfa_required_for_people":false}`, nil), 200)
		session := e.passwordLogin("bob", bobPassword)
		if session.Token.MFA || session.Token.Scopes != nil {
			t.Fatalf("bob's session: %+v", session.Token)
		}
		bob := bearer(session.Secret)
		var pat identity.IssuedToken
		e.mustJSON(e.do("POST", "/api/v1/auth/tokens", `{"name":"script"}`, bob), 201, &pat)
		if pat.Token.MFA {
			t.Fatalf("PAT of a session without MFA: %+v", pat.Token)
		}
		steps(t, e, "off", []scenario{
			{name: "session works", method: "GET", path: "/api/v1/auth/whoami", header: bob, status: 200},
			{name: "PAT works", method: "GET", path: "/api/v1/auth/whoami", header: bearer(pat.Secret), status: 200},
			{name: "turn on", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":true}`, status: 200, events: []string{"settings.update"}},
			{name: "the session without MFA stops", method: "GET", path: "/api/v1/auth/whoami", header: bob, status: 401, code: "unauthenticated",
				contain: []string{"issued without MFA"}},
			{name: "and its PAT", method: "GET", path: "/api/v1/auth/whoami", header: bearer(pat.Secret), status: 401, code: "unauthenticated",
				contain: []string{"issued without MFA"}},
			{name: "the service token is unaffected", method: "GET", path: "/api/v1/auth/whoami", header: bearer(svcLogin.Secret), status: 200},
			{name: "the administrator's MFA session is unaffected", method: "GET", path: "/api/v1/zones", status: 200},
		})
		enrol := e.passwordLogin("bob", bobPassword)
		if !enrol.EnrollmentRequired {
			t.Fatalf("bob's new session: %+v", enrol)
		}
		steps(t, e, "on", []scenario{
			{name: "an enrolment session works", method: "POST", path: "/api/v1/auth/mfa/totp", header: bearer(enrol.Secret), status: 201,
				events: []string{"mfa.enroll"}},
			{name: "for enrolment only", method: "GET", path: "/api/v1/zones", header: bearer(enrol.Secret), status: 403, code: "permission_denied"},
			{name: "turn off again", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":false}`, status: 200, events: []string{"settings.update"}},
			{name: "the PAT works again: it was never revoked", method: "GET", path: "/api/v1/auth/whoami", header: bearer(pat.Secret), status: 200},
		})
	})
}
