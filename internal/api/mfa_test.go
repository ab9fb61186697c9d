package api_test

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestMFARemoveAndReset: removing one's MFA needs a current code (a wrong
// one counts as a failure); an administrator's reset ends the user's
// sessions, and the user's next sign-in may only enrol.
func TestMFARemoveAndReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		pw := "violet-kettle-ninety-harbor"
		tok, secret := e.enrolledUser("ana", pw)
		ana := bearer(tok)
		steps(t, e, "rm", []scenario{
			{name: "no code", method: "DELETE", path: "/api/v1/auth/mfa/totp", body: `{}`, header: ana, status: 400, code: "invalid_argument", field: "code"},
			{name: "wrong code", method: "DELETE", path: "/api/v1/auth/mfa/totp", body: `{"code":"` + wrongCode(e.code(secret)) + `"}`, header: ana,
				status: 400, code: "invalid_argument", field: "code", events: []string{"mfa.remove:failed"}},
			{name: "spent code", method: "DELETE", path: "/api/v1/auth/mfa/totp", body: `{"code":"` + e.code(secret) + `"}`, header: ana,
				status: 400, code: "invalid_argument", field: "code", events: []string{"mfa.remove:failed"}},
		})
		e.clock.Add(30 * identity.DefaultThrottle.BaseDelay)
		steps(t, e, "rm2", []scenario{
			{name: "remove", method: "DELETE", path: "/api/v1/auth/mfa/totp", body: `{"code":"` + e.code(secret) + `"}`, header: ana,
				status: 204, events: []string{"mfa.remove"}},
			{name: "nothing to remove", method: "DELETE", path: "/api/v1/auth/mfa/totp", body: `{"code":"123456"}`, header: ana, status: 404, code: "not_found"},
			{name: "whoami shows it", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 200, contain: []string{`"mfa_enrolled":false`}},
			{name: "enrol again", method: "POST", path: "/api/v1/auth/mfa/totp", header: ana, status: 201, events: []string{"mfa.enroll"}},
			{name: "an unconfirmed enrolment goes without a code", method: "DELETE", path: "/api/v1/auth/mfa/totp", body: `{}`, header: ana,
				status: 204, events: []string{"mfa.remove"}},
		})
		var enr identity.TOTPEnrollment
		e.mustJSON(e.do("POST", "/api/v1/auth/mfa/totp", "", ana), 201, &enr)
		e.must(e.do("POST", "/api/v1/auth/mfa/totp/confirm", `{"code":"`+e.code(enr.Secret)+`"}`, ana), 200)
		steps(t, e, "reset", []scenario{
			{name: "admin resets", method: "DELETE", path: "/api/v1/users/ana/mfa", status: 204, events: []string{"mfa.reset"}},
			{name: "ana's session ended", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 401, code: "unauthenticated"},
			{name: "reset again", method: "DELETE", path: "/api/v1/users/ana/mfa", status: 404, code: "not_found"},
			{name: "reset a missing user", method: "DELETE", path: "/api/v1/users/nobody/mfa", status: 404, code: "not_found"},
		})
		if res := e.passwordLogin("ana", pw); !res.EnrollmentRequired {
			t.Fatalf("after the reset: %+v", res)
		}
	})
}
