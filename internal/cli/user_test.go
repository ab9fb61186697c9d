package cli

import (
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

func userAna() *identity.Principal {
	return &identity.Principal{ID: "u1", Kind: enclave.PrincipalUser, Name: "ana", DisplayName: "Ana Lima", Email: "ana@example.org",
		PasswordSet: true, MFAEnrolled: true, CreatedAt: t0, UpdatedAt: t1}
}

func userBob() *identity.Principal {
	return &identity.Principal{ID: "u2", Kind: enclave.PrincipalUser, Name: "bob", DisplayName: "bob", Disabled: true, CreatedAt: t1, UpdatedAt: t1}
}

func TestUserListAndShow(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/users", 200, list([]*identity.Principal{userAna(), userBob()}, ""))
	api.on("GET", "/api/v1/users/ana", 200, userAna())
	out, _, err := runCLI(t, "", "user", "list")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "user_list", out)
	out, _, err = runCLI(t, "", "user", "show", "ana", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "user_show_yaml", out)
}

func TestUserCreateReadsPassword(t *testing.T) {
	api := loggedIn(t)
	api.on("POST", "/api/v1/users", 201, userAna())
	if _, _, err := runCLI(t, "first-long-passphrase\n", "user", "create", "ana", "--display-name", "Ana Lima", "--email", "ana@example.org", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if got := api.last().Body; got != `{"name":"ana","display_name":"Ana Lima","email":"ana@example.org","password":"first-long-passphrase"}` {
		t.Errorf("body = %s", got)
	}
	if _, _, err := runCLI(t, "", "user", "create", "ana"); err != nil {
		t.Fatal(err)
	}
	if got := api.last().Body; got != `{"name":"ana"}` {
		t.Errorf("body without password = %s", got)
	}
	// --password-stdin with nothing on stdin is a usage error, and nothing is sent.
	before := api.count()
	if code, _, stderr := mainCLI("user", "create", "ana", "--password-stdin"); code != ExitUsage || !strings.Contains(stderr, "no new password given") {
		t.Errorf("code %d stderr %q", code, stderr)
	}
	if api.count() != before {
		t.Error("a request was sent without the password")
	}
}

func TestUserUpdateDisableEnableDelete(t *testing.T) {
	api := loggedIn(t)
	api.on("PATCH", "/api/v1/users/bob", 200, userBob())
	api.on("DELETE", "/api/v1/users/bob", 204, nil)
	for _, tt := range []struct {
		args  []string
		stdin string
		body  string
	}{
		{[]string{"user", "disable", "bob"}, "", `{"disabled":true}`},
		{[]string{"user", "enable", "bob"}, "", `{"disabled":false}`},
		{[]string{"user", "update", "bob", "--email", "bob@example.org"}, "", `{"email":"bob@example.org"}`},
		{[]string{"user", "update", "bob", "--password-stdin"}, "reset-long-passphrase\n", `{"password":"reset-long-passphrase"}`},
	} {
		if _, _, err := runCLI(t, tt.stdin, tt.args...); err != nil {
			t.Fatal(err)
		}
		if got := api.last().Body; got != tt.body {
			t.Errorf("%v: body %s, want %s", tt.args, got, tt.body)
		}
	}
	if out, _, err := runCLI(t, "", "user", "delete", "bob"); err != nil || out != "Deleted user bob\n" {
		t.Errorf("delete: %q %v", out, err)
	}
	if code, _, stderr := mainCLI("user", "update", "bob"); code != ExitUsage || !strings.Contains(stderr, "nothing to change") {
		t.Errorf("update without flags: %d %q", code, stderr)
	}
}

func TestSettingsShowAndSet(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/settings", 200, identity.Settings{MFARequiredForPeople: true, UpdatedAt: &t0, UpdatedBy: "admin"})
	api.on("PATCH", "/api/v1/settings", 200, identity.Settings{MFARequiredForPeople: false, UpdatedAt: &t0, UpdatedBy: "admin"})
	out, _, err := runCLI(t, "", "settings", "show")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "settings_show", out)
	if _, _, err := runCLI(t, "", "settings", "set", "--mfa-required-for-people=false"); err != nil {
		t.Fatal(err)
	}
	if got := api.last().Body; got != `{"mfa_required_for_people":false}` {
		t.Errorf("body = %s", got)
	}
	if code, _, stderr := mainCLI("settings", "set"); code != ExitUsage || !strings.Contains(stderr, "nothing to change") {
		t.Errorf("set without flags: %d %q", code, stderr)
	}
}
