package main_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIdentityThroughBinary: through the real binary and CLI, a new person
// enrols in MFA and signs in with it, creates and uses a personal access
// token, and loses access the moment an administrator disables them; a
// service principal signs in with a client secret and not as a person.
func TestIdentityThroughBinary(t *testing.T) {
	s := startServer(t, "--data-dir", filepath.Join(t.TempDir(), "data"))
	admin := newCLI(t)
	admin.login(s)
	if out := admin.ok("whoami", "-o", "json"); !strings.Contains(out, `"mfa_enrolled": true`) {
		t.Fatalf("admin whoami: %s", out)
	}
	anaPW := "sailing-lemon-gravel-cloud"
	admin.okIn(anaPW+"\n", "user", "create", "ana", "--display-name", "Ana Lima", "--email", "ana@example.org", "--password-stdin")
	if _, errOut, code := admin.run("password\n", "user", "create", "weak", "--password-stdin"); code != 3 || !strings.Contains(errOut, "(field password)") {
		t.Fatalf("weak password: exit %d %s", code, errOut)
	}

	// Ana's first sign-in can only enrol; then password and TOTP give a full session.
	ana := newCLI(t)
	ana.password = anaPW
	args := []string{"login", "--server", s.url, "--ca-file", s.caFile, "--name", "ana"}
	if _, errOut, code := ana.run(anaPW+"\n", args...); code != 0 || !strings.Contains(errOut, "enclave mfa enroll") {
		t.Fatalf("ana's first login: exit %d %s", code, errOut)
	}
	if _, errOut, code := ana.run("", "token", "create", "x"); code != 3 || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("enrolment session made a token: exit %d %s", code, errOut)
	}
	ana.enrol()
	// The code the enrolment used cannot sign in again.
	if _, errOut, code := ana.run(anaPW+"\n"+totpAt(t, ana.totpSecret, time.Now())+"\n", "login", "--name", "ana"); code != 3 || !strings.Contains(errOut, "unauthenticated") {
		t.Fatalf("replayed TOTP code: exit %d %s", code, errOut)
	}
	ana.signIn("ana")
	var tokens []map[string]any
	if err := json.Unmarshal([]byte(ana.ok("token", "list", "-o", "json")), &tokens); err != nil || len(tokens) == 0 || tokens[0]["mfa"] != true {
		t.Fatalf("ana's tokens: %v %v", tokens, err)
	}

	// A personal access token, limited to reading who she is.
	var pat struct {
		Token string `json:"token"`
		Info  struct {
			ID string `json:"id"`
		} `json:"token_info"`
	}
	if err := json.Unmarshal([]byte(ana.ok("token", "create", "script", "--scope", "self/read", "--expires-in-days", "7", "-o", "json")), &pat); err != nil || !strings.HasPrefix(pat.Token, "enc_") {
		t.Fatalf("token create: %+v %v", pat, err)
	}
	withPAT := []string{"ENCLAVE_SERVER=" + s.url, "ENCLAVE_CA_FILE=" + s.caFile, "ENCLAVE_TOKEN=" + pat.Token}
	script := &cli{t: t, config: filepath.Join(t.TempDir(), "none.yaml")}
	if out, errOut, code := script.runEnv(withPAT, "whoami"); code != 0 || !strings.Contains(out, "ana") {
		t.Fatalf("whoami with the PAT: exit %d %s %s", code, out, errOut)
	}
	if _, errOut, code := script.runEnv(withPAT, "token", "create", "more"); code != 3 || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("PAT beyond its scope: exit %d %s", code, errOut)
	}

	// Disabled: every token of hers stops working at once.
	admin.ok("user", "disable", "ana")
	if _, errOut, code := script.runEnv(withPAT, "whoami"); code != 3 || !strings.Contains(errOut, "unauthenticated") {
		t.Fatalf("PAT of a disabled user: exit %d %s", code, errOut)
	}
	if _, errOut, code := ana.run("", "whoami"); code != 3 || !strings.Contains(errOut, "unauthenticated") {
		t.Fatalf("session of a disabled user: exit %d %s", code, errOut)
	}
	if out := admin.ok("user", "show", "ana"); !strings.Contains(out, "disabled") {
		t.Fatalf("user show: %s", out)
	}

	// A service principal signs in with its client secret, never as a person.
	admin.ok("service-principal", "create", "ci", "--kind", "cicd")
	var sec struct {
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(admin.ok("sp", "secret", "create", "ci", "-o", "json")), &sec); err != nil || sec.ClientSecret == "" {
		t.Fatalf("secret create: %v", err)
	}
	ci := newCLI(t)
	if _, errOut, code := ci.run(sec.ClientSecret+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", "ci"); code != 3 || !strings.Contains(errOut, "client secret") {
		t.Fatalf("service principal as a person: exit %d %s", code, errOut)
	}
	ci.okIn(sec.ClientSecret+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--client-id", "ci")
	if out := ci.ok("whoami"); !strings.Contains(out, "ci") || !strings.Contains(out, "service") {
		t.Fatalf("ci whoami: %s", out)
	}
}
