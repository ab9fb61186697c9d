package api_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

const bobPassword = "tidy-otter-paints-seven-fences"

// TestSignInWithMFA: a person without MFA can only enrol; once enrolled,
// password then TOTP gives a full MFA session; each TOTP code works once;
// recovery codes work once; challenges expire and are single use.
func TestSignInWithMFA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.createUser("bob", bobPassword)
		anon := map[string]string{"Authorization": ""}
		login := `{"name":"bob","password":"` + bobPassword + `"}`

		first := e.passwordLogin("bob", bobPassword)
		if !first.EnrollmentRequired || !slices.Equal(first.Token.Scopes, identity.EnrollmentScopes) || first.Token.MFA || first.Token.Kind != identity.TokenSession {
			t.Fatalf("first sign-in: %+v %+v", first, first.Token)
		}
		setup := bearer(first.Secret)
		steps(t, e, "enrol", []scenario{
			{name: "enrolment session sees itself", method: "GET", path: "/api/v1/auth/whoami", header: setup, status: 200,
				contain: []string{`"name":"bob"`, `"mfa_enrolled":false`, `"password_set":true`}},
			{name: "enrolment session cannot list zones", method: "GET", path: "/api/v1/zones", header: setup, status: 403, code: "permission_denied"},
			{name: "enrolment session cannot make tokens", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"x"}`, header: setup,
				status: 403, code: "permission_denied"},
			{name: "enrolment session cannot change the password", method: "POST", path: "/api/v1/auth/password",
				body: `{"current_password":"` + bobPassword + `","new_password":"another-long-passphrase"}`, header: setup, status: 403, code: "permission_denied"},
			{name: "confirm before enrolling", method: "POST", path: "/api/v1/auth/mfa/totp/confirm", body: `{"code":"123456"}`, header: setup,
				status: 409, code: "failed_precondition"},
		})
		var enr identity.TOTPEnrollment
		e.mustJSON(e.do("POST", "/api/v1/auth/mfa/totp", "", setup), 201, &enr)
		if !strings.HasPrefix(enr.URI, "otpauth://totp/Enclave:bob?") || !strings.Contains(enr.URI, "secret="+enr.Secret) ||
			enr.Digits != 6 || enr.Period != 30 || enr.Algorithm != "SHA1" {
			t.Fatalf("enrolment: %+v", enr)
		}
		steps(t, e, "confirm", []scenario{
			{name: "not a code", method: "POST", path: "/api/v1/auth/mfa/totp/confirm", body: `{"code":"12ab"}`, header: setup,
				status: 400, code: "invalid_argument", field: "code"},
			{name: "wrong code", method: "POST", path: "/api/v1/auth/mfa/totp/confirm", body: `{"code":"` + wrongCode(e.code(enr.Secret)) + `"}`,
				header: setup, status: 400, code: "invalid_argument", field: "code"},
			{name: "confirm", method: "POST", path: "/api/v1/auth/mfa/totp/confirm", body: `{"code":"` + e.code(enr.Secret) + `"}`, header: setup,
				status: 200, contain: []string{`"recovery_codes":[`}, events: []string{"mfa.confirm"}},
			{name: "enrol again", method: "POST", path: "/api/v1/auth/mfa/totp", header: setup, status: 409, code: "conflict"},
			{name: "password sign-in now asks for a code", method: "POST", path: "/api/v1/auth/login", body: login, header: anon,
				status: 200, contain: []string{`"mfa_required":true`, `"challenge":"encmfa_`}, events: []string{"auth.login.challenge"}},
		})
		// The enrolment's code is spent: the same step cannot sign in.
		ch := e.passwordLogin("bob", bobPassword)
		if ch.Secret != "" || ch.Principal != nil {
			t.Fatalf("a challenge carried a token or principal: %+v", ch)
		}
		replayed := e.code(enr.Secret)
		steps(t, e, "replay", []scenario{
			{name: "code of the confirmed step replayed", method: "POST", path: "/api/v1/auth/login/mfa",
				body: `{"challenge":"` + ch.Challenge + `","code":"` + replayed + `"}`, header: anon, status: 401, code: "unauthenticated",
				events: []string{"auth.login:failed"}},
		})
		if got := e.reasons("replay-000"); !slices.Equal(got, []string{"replayed TOTP code"}) {
			t.Errorf("replay reason %v", got)
		}
		e.clock.Add(30 * time.Second)
		fresh := e.code(enr.Secret)
		steps(t, e, "mfa", []scenario{
			{name: "fresh code", method: "POST", path: "/api/v1/auth/login/mfa", body: `{"challenge":"` + ch.Challenge + `","code":"` + fresh + `"}`,
				header: anon, status: 200, contain: []string{`"token":"enc_`, `"mfa":true`, `"kind":"session"`}, events: []string{"auth.login"}},
			{name: "challenge is single use", method: "POST", path: "/api/v1/auth/login/mfa", body: `{"challenge":"` + ch.Challenge + `","code":"` + fresh + `"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "forged challenge", method: "POST", path: "/api/v1/auth/login/mfa", body: `{"challenge":"encmfa_forged","code":"123456"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "malformed challenge", method: "POST", path: "/api/v1/auth/login/mfa", body: `{"challenge":"x","code":"123456"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		// The same fresh code, on a new challenge, is refused: each code works once.
		ch2 := e.passwordLogin("bob", bobPassword)
		steps(t, e, "again", []scenario{
			{name: "code reused on a new challenge", method: "POST", path: "/api/v1/auth/login/mfa", body: `{"challenge":"` + ch2.Challenge + `","code":"` + fresh + `"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		e.clock.Add(ChallengeExpiry())
		steps(t, e, "expired", []scenario{
			{name: "expired challenge", method: "POST", path: "/api/v1/auth/login/mfa", body: `{"challenge":"` + ch2.Challenge + `","code":"` + e.code(enr.Secret) + `"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		if got := e.reasons("expired-000"); !slices.Equal(got, []string{"challenge expired"}) {
			t.Errorf("expired reason %v", got)
		}
	})
}

// ChallengeExpiry is a little over a challenge's lifetime.
func ChallengeExpiry() time.Duration { return identity.ChallengeTTL + time.Second }

// wrongCode returns a six-digit code that is not c.
func wrongCode(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}

// TestRecoveryCodes: a recovery code signs in once; a wrong one is refused
// and counted.
func TestRecoveryCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		if len(e.recoveryCodes) != identity.RecoveryCodeCount {
			t.Fatalf("%d recovery codes", len(e.recoveryCodes))
		}
		seen := map[string]bool{}
		for _, c := range e.recoveryCodes {
			if len(c) != 19 || seen[c] {
				t.Fatalf("recovery code %q malformed or repeated", c)
			}
			seen[c] = true
		}
		anon := map[string]string{"Authorization": ""}
		mfa := func(code string) string {
			ch := e.passwordLogin("admin", e.adminPassword)
			return `{"challenge":"` + ch.Challenge + `","code":"` + code + `"}`
		}
		code := e.recoveryCodes[3]
		steps(t, e, "rc", []scenario{
			{name: "wrong recovery code", method: "POST", path: "/api/v1/auth/login/mfa", body: mfa("aaaa-bbbb-cccc-dddd"), header: anon,
				status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "recovery code, upper case without dashes", method: "POST", path: "/api/v1/auth/login/mfa",
				body: mfa(strings.ToUpper(strings.ReplaceAll(code, "-", ""))), header: anon, status: 200,
				contain: []string{`"mfa":true`}, events: []string{"auth.login", "mfa.recovery_code.use"}},
			{name: "recovery code used twice", method: "POST", path: "/api/v1/auth/login/mfa", body: mfa(code), header: anon,
				status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		if got := e.reasons("rc-000"); !slices.Equal(got, []string{"wrong or used recovery code"}) {
			t.Errorf("reason %v", got)
		}
		evs := e.auditOf("rc-001")
		if evs[1].Details["remaining"] != float64(identity.RecoveryCodeCount-1) {
			t.Errorf("remaining codes: %v", evs[1].Details)
		}
		// Recovery codes are stored only as hashes.
		var n int
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM recovery_codes WHERE hash = ?`), []byte(code)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("recovery code stored in clear: %d %v", n, err)
		}
	})
}

// TestSignInRefusals: the wrong kind of principal at each sign-in, bad
// credentials, and that failures never record the secret tried.
func TestSignInRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.createUser("bob", bobPassword)
		e.must(e.do("POST", "/api/v1/service-principals", `{"name":"ci","service_kind":"cicd"}`, nil), 201)
		var sec identity.IssuedClientSecret
		e.mustJSON(e.do("POST", "/api/v1/service-principals/ci/secrets", `{}`, nil), 201, &sec)
		anon := map[string]string{"Authorization": ""}
		steps(t, e, "ref", []scenario{
			{name: "wrong password", method: "POST", path: "/api/v1/auth/login", body: `{"name":"bob","password":"not-the-password-at-all"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "unknown user", method: "POST", path: "/api/v1/auth/login", body: `{"name":"nobody","password":"not-the-password-at-all"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			// The wrong kind of principal is told what an unknown name is told:
			// sign-in does not reveal which names exist, nor what they are.
			{name: "service principal as a person", method: "POST", path: "/api/v1/auth/login", body: `{"name":"ci","password":"` + sec.ClientSecret + `"}`,
				header: anon, status: 401, code: "unauthenticated", contain: []string{`"detail":"invalid name or password"`}, events: []string{"auth.login:failed"}},
			{name: "service principal with a credential", method: "POST", path: "/api/v1/auth/login", body: `{"name":"ci","credential":"encboot_x"}`,
				header: anon, status: 401, code: "unauthenticated", contain: []string{`"detail":"invalid name or credential"`}, events: []string{"auth.login:failed"}},
			{name: "person with a client secret", method: "POST", path: "/api/v1/auth/token", body: `{"client_id":"bob","client_secret":"` + bobPassword + `"}`,
				header: anon, status: 401, code: "unauthenticated", contain: []string{`"detail":"invalid client_id or client_secret"`}, events: []string{"auth.login:failed"}},
			{name: "password and credential", method: "POST", path: "/api/v1/auth/login", body: `{"name":"bob","password":"a","credential":"b"}`,
				header: anon, status: 400, code: "invalid_argument", field: "credential"},
			{name: "empty password", method: "POST", path: "/api/v1/auth/login", body: `{"name":"bob"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "client secret sign-in", method: "POST", path: "/api/v1/auth/token", body: `{"client_id":"ci","client_secret":"` + sec.ClientSecret + `"}`,
				header: anon, status: 200, contain: []string{`"kind":"service"`, `"token":"enc_`}, events: []string{"auth.login"}},
			{name: "unknown client", method: "POST", path: "/api/v1/auth/token", body: `{"client_id":"nobody","client_secret":"encsp_x"}`,
				header: anon, status: 401, code: "unauthenticated", contain: []string{`"detail":"invalid client_id or client_secret"`}, events: []string{"auth.login:failed"}},
			{name: "unknown name with a credential", method: "POST", path: "/api/v1/auth/login", body: `{"name":"nobody","credential":"encboot_x"}`,
				header: anon, status: 401, code: "unauthenticated", contain: []string{`"detail":"invalid name or credential"`}, events: []string{"auth.login:failed"}},
		})
		if got := e.reasons("ref-001"); !slices.Equal(got, []string{"unknown principal"}) {
			t.Errorf("unknown name: reasons %v", got)
		}
		// A password typed into the name field (or any other name no
		// principal can have) is neither recorded nor kept as a throttle key.
		typed := "Sunny-Meadow-42!"
		long := strings.Repeat("a", 64)
		steps(t, e, "name", []scenario{
			{name: "password in the name field", method: "POST", path: "/api/v1/auth/login", body: `{"name":"` + typed + `","password":"x"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "name longer than a DNS label", method: "POST", path: "/api/v1/auth/token", body: `{"client_id":"` + long + `","client_secret":"x"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "valid unknown name", method: "POST", path: "/api/v1/auth/login", body: `{"name":"someone","password":"not-the-password-at-all"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		for rid, want := range map[string]string{"name-000": "(invalid name)", "name-001": "(invalid name)", "name-002": "someone"} {
			if got := e.auditOf(rid)[0].Details["name"]; got != want {
				t.Errorf("%s: recorded name %q, want %q", rid, got, want)
			}
		}
		for _, s := range []string{typed, long} {
			var a, th int
			sealAudit(t, db)
			if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM audit_events WHERE details LIKE ?`), "%"+s+"%").Scan(&a); err != nil {
				t.Fatal(err)
			}
			if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM sign_in_throttle WHERE throttle_key LIKE ?`), "%"+s+"%").Scan(&th); err != nil {
				t.Fatal(err)
			}
			if a != 0 || th != 0 {
				t.Errorf("%q is in %d audit records and %d throttle keys", s, a, th)
			}
		}
		for i, want := range []string{"wrong password", "unknown principal", "service principal used the person sign-in",
			"service principal used the person sign-in", "person used the client-secret sign-in"} {
			if got := e.reasons(fmt.Sprintf("ref-%03d", i)); !slices.Equal(got, []string{want}) {
				t.Errorf("step %d: reasons %v, want %q", i, got, want)
			}
		}
		var n int
		for _, secret := range []string{bobPassword, sec.ClientSecret, "not-the-password-at-all"} {
			sealAudit(t, db)
			if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM audit_events WHERE details LIKE ? OR reason LIKE ?`),
				"%"+secret+"%", "%"+secret+"%").Scan(&n); err != nil || n != 0 {
				t.Fatalf("a secret is in the audit log (%d, %v)", n, err)
			}
		}
	})
}

// TestBruteForceBackoffThenLockout: failures per account back off
// exponentially, refusing even the right password, then lock the account
// for 15 minutes; success afterwards clears the count.
func TestBruteForceBackoffThenLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.createUser("carl", bobPassword)
		pol := identity.DefaultThrottle
		bad := `{"name":"carl","password":"guess-guess-guess"}`
		good := `{"name":"carl","password":"` + bobPassword + `"}`
		try := func(body string) response { return e.anon("POST", "/api/v1/auth/login", body) }
		for n := 1; n <= pol.AccountLockoutAfter; n++ {
			if r := try(bad); r.status != 401 {
				t.Fatalf("failure %d: %d %s", n, r.status, r.body)
			}
			wait := pol.Lockout
			if n < pol.AccountLockoutAfter {
				wait = pol.BaseDelay << max(0, n-pol.AccountBackoffAfter)
			}
			if n < pol.AccountBackoffAfter {
				continue
			}
			// In backoff even the right password is refused, with Retry-After.
			r := try(good)
			if r.status != 429 || r.header.Get("Retry-After") != fmt.Sprint(int(wait.Seconds())) || !strings.Contains(string(r.body), `"code":"rate_limited"`) {
				t.Fatalf("after %d failures: %d Retry-After %q %s (want %s)", n, r.status, r.header.Get("Retry-After"), r.body, wait)
			}
			e.clock.Add(wait - time.Second)
			if r := try(good); r.status != 429 || r.header.Get("Retry-After") != "1" {
				t.Fatalf("a second before the end of the wait: %d %q", r.status, r.header.Get("Retry-After"))
			}
			if n < pol.AccountLockoutAfter {
				e.clock.Add(time.Second)
			}
		}
		// Locked: still refused a second before the lockout ends, and audited as denied.
		steps(t, e, "locked", []scenario{
			{name: "locked out", method: "POST", path: "/api/v1/auth/login", body: good, header: map[string]string{"Authorization": ""},
				status: 429, code: "rate_limited", events: []string{"auth.login:denied"}},
		})
		e.clock.Add(time.Second)
		if r := try(good); r.status != 200 {
			t.Fatalf("after the lockout: %d %s", r.status, r.body)
		}
		// Success cleared the account's count: three more failures before any backoff.
		for range pol.AccountBackoffAfter - 1 {
			try(bad)
		}
		if r := try(good); r.status != 200 {
			t.Fatalf("count not cleared by success: %d %s", r.status, r.body)
		}
	})
}

// TestSourceThrottle: one address guessing at many accounts backs off too.
func TestSourceThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		pol := identity.DefaultThrottle
		for i := range pol.SourceBackoffAfter {
			if r := e.anon("POST", "/api/v1/auth/login", fmt.Sprintf(`{"name":"user%d","password":"guess-guess-guess"}`, i)); r.status != 401 {
				t.Fatalf("failure %d: %d %s", i, r.status, r.body)
			}
		}
		r := e.anon("POST", "/api/v1/auth/login", `{"name":"admin","password":"`+e.adminPassword+`"}`)
		if r.status != 429 || r.header.Get("Retry-After") != "1" {
			t.Fatalf("source not throttled: %d %s", r.status, r.body)
		}
		e.clock.Add(time.Second)
		if r := e.anon("POST", "/api/v1/auth/login", `{"name":"admin","password":"`+e.adminPassword+`"}`); r.status != 200 {
			t.Fatalf("after the backoff: %d %s", r.status, r.body)
		}
	})
}

// TestMFANotRequired: with the setting off, a password sign-in of a person
// without MFA gives a full session; a person with MFA still needs a code.
func TestMFANotRequired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.createUser("bob", bobPassword)
		steps(t, e, "set", []scenario{
			{name: "turn off", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":false}`, status: 200,
				contain: []string{`"mfa_required_for_people":false`, `"updated_by":"admin"`}, events: []string{"settings.update"}},
		})
		res := e.passwordLogin("bob", bobPassword)
		if res.EnrollmentRequired || res.Token.Scopes != nil || res.Token.MFA {
			t.Fatalf("bob's session: %+v %+v", res, res.Token)
		}
		if ch := e.passwordLogin("admin", e.adminPassword); !ch.MFARequired {
			t.Fatal("an enrolled person signed in without a code")
		}
	})
}

// TestPasswordChange: the current password is needed and checked (a wrong
// one counts as a failure), the new one must meet the policy, and the
// person's other sessions end.
func TestPasswordChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		other := e.signIn("admin", e.adminPassword, e.adminTOTP)
		newPW := "a-brand-new-long-passphrase"
		steps(t, e, "pw", []scenario{
			{name: "current missing", method: "POST", path: "/api/v1/auth/password", body: `{"new_password":"` + newPW + `"}`,
				status: 400, code: "invalid_argument", field: "current_password"},
			{name: "current wrong", method: "POST", path: "/api/v1/auth/password", body: `{"current_password":"wrong-wrong-wrong","new_password":"` + newPW + `"}`,
				status: 400, code: "invalid_argument", field: "current_password", events: []string{"auth.password.change:failed"}},
			{name: "new too short", method: "POST", path: "/api/v1/auth/password", body: `{"current_password":"` + e.adminPassword + `","new_password":"short"}`,
				status: 400, code: "invalid_argument", field: "new_password"},
			{name: "new contains the name", method: "POST", path: "/api/v1/auth/password", body: `{"current_password":"` + e.adminPassword + `","new_password":"my-admin-passphrase"}`,
				status: 400, code: "invalid_argument", field: "new_password"},
			{name: "change", method: "POST", path: "/api/v1/auth/password", body: `{"current_password":"` + e.adminPassword + `","new_password":"` + newPW + `"}`,
				status: 204, events: []string{"auth.password.change"}},
			{name: "this session stays", method: "GET", path: "/api/v1/auth/whoami", status: 200},
			{name: "the other session ended", method: "GET", path: "/api/v1/auth/whoami", header: bearer(other), status: 401, code: "unauthenticated"},
			{name: "old password refused", method: "POST", path: "/api/v1/auth/login", body: `{"name":"admin","password":"` + e.adminPassword + `"}`,
				header: map[string]string{"Authorization": ""}, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
		})
		if ch := e.passwordLogin("admin", newPW); !ch.MFARequired {
			t.Fatal("new password not accepted")
		}
		// Passwords are stored as argon2id PHC strings with their parameters.
		var h string
		if err := db.SQL.QueryRow(`SELECT hash FROM passwords`).Scan(&h); err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Contains(h, newPW) {
			t.Fatalf("stored hash %q %v", h, err)
		}
	})
}

// TestBootstrapCredentialFlow: the administrator's one-time credential gives
// a session that may set a first password and enrol, nothing else.
func TestBootstrapCredentialFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		cred, err := e.svc.Identity.ResetBootstrap(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var res identity.LoginResult
		e.mustJSON(e.anon("POST", "/api/v1/auth/login", `{"name":"admin","credential":"`+cred+`"}`), 200, &res)
		if !res.EnrollmentRequired || !slices.Contains(res.Token.Scopes, "self/password/write") || res.Principal.PasswordSet || res.Principal.MFAEnrolled {
			t.Fatalf("after a break-glass reset: %+v %+v %+v", res, res.Token, res.Principal)
		}
		setup := bearer(res.Secret)
		steps(t, e, "boot", []scenario{
			{name: "no zones", method: "GET", path: "/api/v1/zones", header: setup, status: 403, code: "permission_denied"},
			{name: "first password without a current one", method: "POST", path: "/api/v1/auth/password",
				body: `{"new_password":"the-second-root-passphrase"}`, header: setup, status: 204, events: []string{"auth.password.change"}},
			{name: "the second time needs the current one", method: "POST", path: "/api/v1/auth/password",
				body: `{"new_password":"the-third-root-passphrase"}`, header: setup, status: 400, code: "invalid_argument", field: "current_password"},
		})
	})
}

// burst sends n copies of one sign-in request at once, each with the
// request ID prefix-NNN, and returns how many got each status.
func (e *env) burst(prefix, path, body string, n int) map[int]int {
	e.t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
			if err != nil {
				panic(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(api.RequestIDHeader, fmt.Sprintf("%s-%03d", prefix, i))
			<-start
			status := -1
			if res, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				status = res.StatusCode
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// outcomes counts the audit records of requests whose ID starts with
// prefix, by outcome and reason ("failed:wrong password", "denied:throttled").
func (e *env) outcomes(prefix string) map[string]int {
	e.t.Helper()
	sealAudit(e.t, e.db)
	rows, err := e.db.SQL.Query(e.db.Dialect.Rebind(`SELECT outcome, reason FROM audit_events WHERE request_id LIKE ?`), prefix+"-%")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var outcome, reason string
		if err := rows.Scan(&outcome, &reason); err != nil {
			e.t.Fatal(err)
		}
		out[outcome+":"+reason]++
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestConcurrentGuessing: an attempt is counted before it is verified, so
// a burst of concurrent wrong answers against one account is verified no
// more often than the policy lets failures through before backing off —
// three — and every other one is refused with 429 and audited as denied.
// Each way of proving an identity is tried: password, TOTP code, bootstrap
// credential and client secret; with the bound on verifications in flight
// per account, and without it (the counts in the database alone, as with
// several server processes).
func TestConcurrentGuessing(t *testing.T) {
	for _, inFlight := range []int{identity.DefaultThrottle.AccountInFlight, 0} {
		t.Run(fmt.Sprintf("in-flight-%d", inFlight), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				testConcurrentGuessing(t, db, inFlight)
			})
		})
	}
}

func testConcurrentGuessing(t *testing.T, db *sqlstore.DB, inFlight int) {
	e := newEnv(t, db)
	pol := identity.DefaultThrottle
	pol.AccountInFlight = inFlight
	e.svc.Identity.Throttle = pol
	e.createUser("carl", bobPassword)
	e.must(e.do("POST", "/api/v1/service-principals", `{"name":"ci","service_kind":"cicd"}`, nil), 201)
	e.must(e.do("POST", "/api/v1/service-principals/ci/secrets", `{}`, nil), 201)
	const n = 100
	for _, b := range []struct {
		name, path, reason string
		body               func() string
	}{
		{"password", "/api/v1/auth/login", "wrong password",
			func() string { return `{"name":"carl","password":"guess-guess-guess"}` }},
		{"totp", "/api/v1/auth/login/mfa", "wrong TOTP code", func() string {
			ch := e.passwordLogin("admin", e.adminPassword)
			return `{"challenge":"` + ch.Challenge + `","code":"` + wrongCode(e.code(e.adminTOTP)) + `"}`
		}},
		{"credential", "/api/v1/auth/login", "wrong or used credential",
			func() string { return `{"name":"admin","credential":"encboot_guess"}` }},
		{"secret", "/api/v1/auth/token", "wrong client secret",
			func() string { return `{"client_id":"ci","client_secret":"encsp_guess"}` }},
	} {
		// A new window for the account and the source address.
		e.clock.Add(pol.Window + pol.Lockout)
		statuses := e.burst(b.name, b.path, b.body(), n)
		if statuses[401]+statuses[429] != n {
			t.Fatalf("%s: statuses %v", b.name, statuses)
		}
		got := e.outcomes(b.name)
		verified := got["failed:"+b.reason]
		if verified < 1 || verified > pol.AccountBackoffAfter || verified != statuses[401] {
			t.Errorf("%s: %d of %d concurrent wrong attempts verified (want 1 to %d): statuses %v, audit %v",
				b.name, verified, n, pol.AccountBackoffAfter, statuses, got)
		}
		if got["denied:throttled"]+got["denied:concurrent attempts"] != statuses[429] || len(got) > 3 ||
			(inFlight == 0 && got["denied:concurrent attempts"] != 0) {
			t.Errorf("%s: refusals not audited as denied: statuses %v, audit %v", b.name, statuses, got)
		}
	}
}

// TestPasswordStepKeepsCodeFailures: a right password before the second
// factor takes back its own attempt but leaves earlier failures counted,
// so knowing the password does not reset the guessing of codes; and it
// leaves no backoff of its own behind.
func TestPasswordStepKeepsCodeFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		anon := map[string]string{"Authorization": ""}
		mfa := func(ch, code string) string { return `{"challenge":"` + ch + `","code":"` + code + `"}` }
		e.clock.Add(30 * time.Second)
		ch := e.passwordLogin("admin", e.adminPassword).Challenge
		wrong := wrongCode(e.code(e.adminTOTP))
		steps(t, e, "code", []scenario{
			{name: "wrong code 1", method: "POST", path: "/api/v1/auth/login/mfa", body: mfa(ch, wrong), header: anon, status: 401, code: "unauthenticated",
				events: []string{"auth.login:failed"}},
			{name: "wrong code 2", method: "POST", path: "/api/v1/auth/login/mfa", body: mfa(ch, wrong), header: anon, status: 401, code: "unauthenticated",
				events: []string{"auth.login:failed"}},
		})
		// The third attempt of the window: counted, backed off, then taken back.
		ch = e.passwordLogin("admin", e.adminPassword).Challenge
		steps(t, e, "again", []scenario{
			{name: "the password step left no backoff", method: "POST", path: "/api/v1/auth/login/mfa", body: mfa(ch, wrong), header: anon,
				status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "three code failures back off, even for the right code", method: "POST", path: "/api/v1/auth/login/mfa",
				body: mfa(ch, e.code(e.adminTOTP)), header: anon, status: 429, code: "rate_limited", events: []string{"auth.login:denied"}},
		})
		if got := e.auditOf("again-000")[0].Details["account_failures"]; got != float64(3) {
			t.Errorf("account failures after a right password in between: %v, want 3", got)
		}
		e.clock.Add(identity.DefaultThrottle.BaseDelay)
		steps(t, e, "ok", []scenario{
			{name: "after the backoff", method: "POST", path: "/api/v1/auth/login/mfa", body: mfa(ch, e.code(e.adminTOTP)), header: anon,
				status: 200, events: []string{"auth.login"}},
		})
	})
}
