package cli

import (
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/identity"
)

func TestTokenCommands(t *testing.T) {
	api := loggedIn(t)
	used := t1
	pat := &identity.Token{ID: "0190a0b0-0000-7000-8000-00000000000a", PrincipalID: "u1", Name: "reader", Kind: identity.TokenPAT,
		Scopes: []string{"zones/read", "projects/read"}, MFA: true, CreatedAt: t0, ExpiresAt: t0.AddDate(0, 0, 30), LastUsedAt: &used}
	session := &identity.Token{ID: "0190a0b0-0000-7000-8000-000000000009", PrincipalID: "u1", Name: "session", Kind: identity.TokenSession,
		MFA: true, CreatedAt: t0, ExpiresAt: t1}
	api.on("GET", "/api/v1/auth/tokens", 200, list([]*identity.Token{pat, session}, ""))
	api.on("GET", "/api/v1/users/ana/tokens", 200, list([]*identity.Token{session}, ""))
	api.on("POST", "/api/v1/auth/tokens", 201, identity.IssuedToken{Secret: "enc_shown-once", Token: pat})
	api.on("DELETE", "/api/v1/auth/tokens/"+pat.ID, 204, nil)
	api.on("DELETE", "/api/v1/users/ana/tokens/"+session.ID, 204, nil)

	out, _, err := runCLI(t, "", "token", "list")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "token_list", out)
	if _, _, err := runCLI(t, "", "token", "list", "--user", "ana", "--all", "--kind", "session"); err != nil {
		t.Fatal(err)
	}
	if r := api.last(); r.Path != "/api/v1/users/ana/tokens" || r.Query != "include_inactive=true&kind=session&page_size=200" {
		t.Errorf("request = %s?%s", r.Path, r.Query)
	}
	out, _, err = runCLI(t, "", "token", "create", "reader", "--scope", "zones/read", "--scope", "projects/read", "--expires-in-days", "30")
	if err != nil || !strings.Contains(out, "\n  enc_shown-once\n") {
		t.Fatalf("create: %q %v", out, err)
	}
	if got := api.last().Body; got != `{"name":"reader","expires_in_days":30,"scopes":["zones/read","projects/read"]}` {
		t.Errorf("create body = %s", got)
	}
	if out, _, err := runCLI(t, "", "token", "revoke", pat.ID); err != nil || out != "Revoked token "+pat.ID+"\n" {
		t.Errorf("revoke: %q %v", out, err)
	}
	if _, _, err := runCLI(t, "", "token", "revoke", session.ID, "--user", "ana"); err != nil {
		t.Errorf("admin revoke: %v", err)
	}
}

func TestMFACommands(t *testing.T) {
	api := loggedIn(t)
	api.on("POST", "/api/v1/auth/mfa/totp", 201, identity.TOTPEnrollment{Secret: "JBSWY3DPEHPK3PXP", URI: "otpauth://totp/Enclave:ana?secret=JBSWY3DPEHPK3PXP",
		Issuer: "Enclave", Account: "ana", Algorithm: "SHA1", Digits: 6, Period: 30})
	api.on("POST", "/api/v1/auth/mfa/totp/confirm", 200, identity.RecoveryCodes{Codes: []string{"aaaa-bbbb-cccc-dddd", "eeee-ffff-gggg-hhhh"}})
	api.on("DELETE", "/api/v1/auth/mfa/totp", 204, nil)
	api.on("DELETE", "/api/v1/users/ana/mfa", 204, nil)
	out, _, err := runCLI(t, "", "mfa", "enroll")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "mfa_enroll", out)
	out, _, err = runCLI(t, "", "mfa", "confirm", "123456")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "mfa_confirm", out)
	if got := api.last().Body; got != `{"code":"123456"}` {
		t.Errorf("confirm body = %s", got)
	}
	if _, _, err := runCLI(t, "aaaa-bbbb-cccc-dddd\n", "mfa", "remove"); err != nil {
		t.Fatal(err)
	}
	if r := api.last(); r.Method != "DELETE" || r.Body != `{"code":"aaaa-bbbb-cccc-dddd"}` {
		t.Errorf("remove = %s %s", r.Method, r.Body)
	}
	if out, _, err := runCLI(t, "", "mfa", "reset", "ana"); err != nil || !strings.HasPrefix(out, "Reset MFA of ana") {
		t.Errorf("reset: %q %v", out, err)
	}
}

func TestPasswordSetAsksForTheCurrentOne(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/auth/whoami", 200, userAna())
	api.on("POST", "/api/v1/auth/password", 204, nil)
	if out, _, err := runCLI(t, "old-long-passphrase\nnew-long-passphrase\n", "password", "set"); err != nil || out != "Password set for ana\n" {
		t.Fatalf("password set: %q %v", out, err)
	}
	if got := api.last().Body; got != `{"current_password":"old-long-passphrase","new_password":"new-long-passphrase"}` {
		t.Errorf("body = %s", got)
	}
}
