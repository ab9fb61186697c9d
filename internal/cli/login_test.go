package cli

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/identity"
	"gopkg.in/yaml.v3"
)

func loginResult() identity.LoginResult {
	return identity.LoginResult{
		Secret:    "tok-new-secret",
		Token:     &identity.Token{ID: "t1", PrincipalID: "p1", ExpiresAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		Principal: &identity.Principal{ID: "p1", Name: "admin", Kind: "user", PlatformAdmin: true},
	}
}

func TestLoginWritesPrivateConfig(t *testing.T) {
	path := testEnv(t)
	api := newFakeAPI(t, true)
	api.on("POST", "/api/v1/auth/login", 200, loginResult())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	// A relative --ca-file is saved as an absolute path.
	t.Chdir(filepath.Dir(caFile))

	out, _, err := runCLI(t, "encboot_one-time-cred\n", "login", "--server", api.URL, "--ca-file", "ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Logged in to " + api.URL + " as admin (token expires 2026-02-01T00:00:00Z)\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	req := api.last()
	var body map[string]string
	if err := json.Unmarshal([]byte(req.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body["name"] != "admin" || body["credential"] != "encboot_one-time-cred" {
		t.Errorf("login body = %v", body)
	}
	if req.Header.Get("Idempotency-Key") == "" || req.Header.Get("Authorization") != "" {
		t.Errorf("login headers = %v", req.Header)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if info.Mode().Perm() != 0o600 {
			t.Errorf("config mode = %v, want 0600", info.Mode().Perm())
		}
		dirInfo, err := os.Stat(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if dirInfo.Mode().Perm() != 0o700 {
			t.Errorf("config dir mode = %v, want 0700", dirInfo.Mode().Perm())
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var saved map[string]string
	if err := yaml.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	resolvedCA, _ := filepath.EvalSymlinks(caFile)
	savedCA, _ := filepath.EvalSymlinks(saved["ca_file"])
	if saved["server"] != api.URL || saved["token"] != "tok-new-secret" || savedCA != resolvedCA || !filepath.IsAbs(saved["ca_file"]) {
		t.Errorf("saved config = %v", saved)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".client-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// Later commands use the saved server, CA and token.
	api.token = "tok-new-secret"
	api.on("GET", "/api/v1/auth/whoami", 200, loginResult().Principal)
	if _, _, err := runCLI(t, "", "whoami"); err != nil {
		t.Fatal(err)
	}

	// Logging in again may omit --server and --ca-file.
	if _, _, err := runCLI(t, "encboot_another-cred\n", "login"); err != nil {
		t.Fatal(err)
	}
}

func TestLoginNeedsServerAndCredential(t *testing.T) {
	testEnv(t)
	if code, _, stderr := mainCLI("login"); code != ExitUsage || !strings.Contains(stderr, "--server is required") {
		t.Errorf("login without server: code %d, stderr %q", code, stderr)
	}
	api := newFakeAPI(t, false)
	if code, _, stderr := mainCLI("login", "--server", api.URL); code != ExitUsage || !strings.Contains(stderr, "no password or one-time credential given") {
		t.Errorf("login without credential: code %d, stderr %q", code, stderr)
	}
	if api.count() != 0 {
		t.Errorf("%d requests sent without a credential", api.count())
	}
}

func TestLoginRefused(t *testing.T) {
	path := testEnv(t)
	api := newFakeAPI(t, false)
	api.handle("POST", "/api/v1/auth/login", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, http.StatusUnauthorized, "unauthenticated", "invalid name or credential")
	})
	_, _, err := runCLI(t, "wrong\n", "login", "--server", api.URL)
	if err == nil || !strings.Contains(err.Error(), "unauthenticated: invalid name or credential") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("config written after a refused login: %v", err)
	}
}

func TestLogout(t *testing.T) {
	api := loggedIn(t)
	api.on("POST", "/api/v1/auth/logout", 204, nil)
	out, _, err := runCLI(t, "", "logout")
	if err != nil {
		t.Fatal(err)
	}
	if out != "Logged out of "+api.URL+"\n" {
		t.Errorf("stdout = %q", out)
	}
	if got := api.last(); got.Path != "/api/v1/auth/logout" || got.Header.Get("Authorization") != "Bearer file-token" {
		t.Errorf("logout request = %+v", got)
	}
	raw, err := os.ReadFile(os.Getenv(envClientConfig))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "token") || !strings.Contains(string(raw), api.URL) {
		t.Errorf("config after logout:\n%s", raw)
	}
	if out, _, err := runCLI(t, "", "logout"); err != nil || out != "Not logged in\n" {
		t.Errorf("second logout: %q, %v", out, err)
	}
}

func TestWhoamiTable(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/auth/whoami", 200, loginResult().Principal)
	out, _, err := runCLI(t, "", "whoami")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "whoami", out)
}
