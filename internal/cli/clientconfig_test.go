package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// fakeRequest is what the fake API recorded about a request.
type fakeRequest struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

// fakeAPI fakes Enclave's REST API with canned responses per route. Every
// route but login wants the bearer token in token.
type fakeAPI struct {
	*httptest.Server
	token string

	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	requests []fakeRequest
}

func newFakeAPI(t *testing.T, useTLS bool) *fakeAPI {
	t.Helper()
	f := &fakeAPI{token: "file-token", routes: map[string]http.HandlerFunc{}}
	h := http.HandlerFunc(f.serve)
	if useTLS {
		f.Server = httptest.NewTLSServer(h)
	} else {
		f.Server = httptest.NewServer(h)
	}
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
	h := f.routes[r.Method+" "+r.URL.Path]
	token := f.token
	f.mu.Unlock()
	w.Header().Set("X-Request-Id", "req-1")
	if r.URL.Path != "/api/v1/auth/login" && r.Header.Get("Authorization") != "Bearer "+token {
		writeProblem(w, http.StatusUnauthorized, "unauthenticated", "missing or invalid token")
		return
	}
	if h == nil {
		writeProblem(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
		return
	}
	h(w, r)
}

// on answers method and path with status and body encoded as JSON.
func (f *fakeAPI) on(method, path string, status int, body any) {
	f.handle(method, path, func(w http.ResponseWriter, _ *http.Request) {
		if body == nil {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
}

func (f *fakeAPI) handle(method, path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[method+" "+path] = h
}

func (f *fakeAPI) last() fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return fakeRequest{}
	}
	return f.requests[len(f.requests)-1]
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "urn:enclave:problem:" + code,
		"title": http.StatusText(status), "status": status, "detail": detail, "code": code, "request_id": "req-1"})
}

// testEnv isolates a test from the user's configuration and environment.
// It returns the client configuration path, which does not exist yet.
func testEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{envServer, envCAFile, envToken} {
		t.Setenv(k, "")
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	path := filepath.Join(dir, "home", "enclave", "client.yaml")
	t.Setenv(envClientConfig, path)
	return path
}

// loggedIn returns a fake API and a client configuration logged in to it.
func loggedIn(t *testing.T) *fakeAPI {
	t.Helper()
	path := testEnv(t)
	api := newFakeAPI(t, false)
	if err := saveClientConfig(path, &ClientConfig{Server: api.URL, Token: config.Secret(api.token)}); err != nil {
		t.Fatal(err)
	}
	return api
}

// runCLI runs the command line with the given stdin and returns what it printed.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	root := NewRootCommand(app)
	root.SetArgs(args)
	root.SetIn(app.Stdin)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// mainCLI runs Main, which also prints errors and picks the exit code.
func mainCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestClientConfigPath(t *testing.T) {
	testEnv(t)
	t.Setenv(envClientConfig, "")
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	app := &App{}
	if p, _ := app.clientConfigPath(); p != "/xdg/enclave/client.yaml" {
		t.Errorf("XDG path = %s", p)
	}
	t.Setenv(envClientConfig, "/env/client.yaml")
	if p, _ := app.clientConfigPath(); p != "/env/client.yaml" {
		t.Errorf("env path = %s", p)
	}
	app.ClientConfigPath = "/flag/client.yaml"
	if p, _ := app.clientConfigPath(); p != "/flag/client.yaml" {
		t.Errorf("flag path = %s", p)
	}
}

func TestEnvTokenOverridesFile(t *testing.T) {
	api := loggedIn(t)
	api.token = "env-token"
	api.on("GET", "/api/v1/auth/whoami", 200, map[string]any{"name": "admin", "kind": "user"})

	if _, _, err := runCLI(t, "", "whoami"); err == nil {
		t.Fatal("the file's token was accepted by a server that wants the env token")
	}
	t.Setenv(envToken, "env-token")
	out, _, err := runCLI(t, "", "whoami", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if got := api.last().Header.Get("Authorization"); got != "Bearer env-token" {
		t.Errorf("Authorization = %q", got)
	}
	if !strings.Contains(out, `"name": "admin"`) {
		t.Errorf("output = %s", out)
	}
}

func TestEnvServerOverridesFile(t *testing.T) {
	path := testEnv(t)
	api := newFakeAPI(t, false)
	api.on("GET", "/api/v1/auth/whoami", 200, map[string]any{"name": "admin"})
	if err := saveClientConfig(path, &ClientConfig{Server: "http://127.0.0.1:1", Token: "file-token"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envServer, api.URL)
	if _, _, err := runCLI(t, "", "whoami"); err != nil {
		t.Fatal(err)
	}
}

func TestNotLoggedIn(t *testing.T) {
	testEnv(t)
	_, _, err := runCLI(t, "", "zone", "list")
	if err == nil || err.Error() != "not logged in: run enclave login --server URL --ca-file PATH" {
		t.Fatalf("err = %v", err)
	}
}

func TestReadableConfigWarns(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	api := loggedIn(t)
	api.on("GET", "/api/v1/auth/whoami", 200, map[string]any{"name": "admin"})
	path := os.Getenv(envClientConfig)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(t, "", "whoami")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "readable by other users") {
		t.Errorf("stderr = %q, want a warning", stderr)
	}
}

func TestClientConfigNeverPrintsToken(t *testing.T) {
	cfg := ClientConfig{Server: "https://x", Token: "tok-secret"}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v %#v", cfg, cfg)} {
		if strings.Contains(s, "tok-secret") {
			t.Errorf("printed the token: %s", s)
		}
	}
	var buf bytes.Buffer
	if err := writeYAML(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "tok-secret") {
		t.Errorf("encoded the token: %s", buf.String())
	}
}

func TestRelativeCAFileIsRelativeToConfig(t *testing.T) {
	path := testEnv(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("server: https://x\nca_file: ca.pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := (&App{Stderr: io.Discard}).loadClientConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(path), "ca.pem"); cfg.CAFile != want {
		t.Errorf("ca_file = %s, want %s", cfg.CAFile, want)
	}
}
