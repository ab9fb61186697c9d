package main_test

// The end-to-end tests build the real enclave binary, start it as a server
// on a free port, and drive it with the same binary as the CLI, the way a
// new user would.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/localca"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/pquerna/otp/totp"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "enclave-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "enclave")
	// The failpoints tag lets the crash-safety tests kill the server at
	// chosen steps (ENCLAVE_FAILPOINTS); without that variable it changes
	// nothing.
	build := exec.Command("go", "build", "-tags", "failpoints", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build enclave:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running enclave server process.
type server struct {
	cmd        *exec.Cmd
	url        string
	caFile     string
	credential string
	stderr     *logBuffer
	done       chan error
}

var (
	listeningRe  = regexp.MustCompile(`is listening on (\S+)`)
	caRe         = regexp.MustCompile(`CA certificate: (\S+)`)
	credentialRe = regexp.MustCompile(`^\s+(encboot_\S+)\s*$`)
)

// startServer runs `enclave server ARGS` and waits for its banner.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, args...)
}

// startServerEnv is startServer with extra environment variables.
func startServerEnv(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"server", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = cleanEnv(env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &logBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if m := listeningRe.FindStringSubmatch(line); m != nil {
				s.url = m[1]
			}
			if m := caRe.FindStringSubmatch(line); m != nil {
				s.caFile = m[1]
			}
			if m := credentialRe.FindStringSubmatch(line); m != nil {
				s.credential = m[1]
			}
			if strings.Contains(line, "sign in with:") && !signalled {
				signalled = true
				close(ready)
			}
		}
		if !signalled {
			close(ready)
		}
		s.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start; stderr:\n%s", s.stderr)
	}
	if s.url == "" {
		t.Fatalf("server printed no address; stderr:\n%s", s.stderr)
	}
	return s
}

// logBuffer collects a process's stderr; reads and writes may race.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (s *server) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	s.cmd.Process.Signal(sig)
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
		return nil
	}
}

// cleanEnv is the environment without ENCLAVE_* settings of the caller.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ENCLAVE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// cli runs the enclave CLI with its own client configuration.
type cli struct {
	t      *testing.T
	config string
	// password and totpSecret are the signed-in person's, once known.
	password   string
	totpSecret string
	// timeout bounds each command (default one minute).
	timeout time.Duration
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, config: filepath.Join(t.TempDir(), "client.yaml")}
}

func (c *cli) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv("ENCLAVE_CLIENT_CONFIG=" + c.config)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	timeout := c.timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() { <-ctx.Done(); cmd.Process.Kill() }()
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run("", args...)
	if code != 0 {
		c.t.Fatalf("enclave %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// login walks the administrator's first start through the CLI, as the
// README describes: the one-time credential gives a session that can only
// set a password and enrol in MFA; then password and TOTP give a full one.
func (c *cli) login(s *server) {
	c.t.Helper()
	args := []string{"login", "--server", s.url}
	if s.caFile != "" {
		args = append(args, "--ca-file", s.caFile)
	}
	out, errOut, code := c.run(s.credential+"\n", args...)
	if code != 0 {
		c.t.Fatalf("login: exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "enclave mfa enroll") {
		c.t.Fatalf("bootstrap login did not ask for MFA enrolment: %s", errOut)
	}
	c.password = "e2e-root-passphrase-" + fmt.Sprint(time.Now().UnixNano()%1000)
	c.okIn(c.password+"\n", "password", "set")
	c.enrol()
	c.signIn("admin")
}

// enrol enrols the signed-in person in TOTP and confirms it.
func (c *cli) enrol() {
	c.t.Helper()
	var enr struct {
		Secret string `json:"secret"`
		URI    string `json:"uri"`
	}
	if err := json.Unmarshal([]byte(c.ok("mfa", "enroll", "-o", "json")), &enr); err != nil || enr.Secret == "" || !strings.HasPrefix(enr.URI, "otpauth://totp/") {
		c.t.Fatalf("mfa enroll: %+v %v", enr, err)
	}
	c.totpSecret = enr.Secret
	if out := c.ok("mfa", "confirm", totpAt(c.t, enr.Secret, time.Now())); strings.Count(out, "\n  ") != 10 {
		c.t.Fatalf("mfa confirm printed no ten recovery codes:\n%s", out)
	}
}

// signIn signs name in with the password and the next TOTP code: the
// current one was spent by the enrolment (each code works once), and the
// server accepts one step of clock skew.
func (c *cli) signIn(name string) {
	c.t.Helper()
	out := c.okIn(c.password+"\n"+totpAt(c.t, c.totpSecret, time.Now().Add(30*time.Second))+"\n", "login", "--name", name)
	if !strings.HasPrefix(out, "Logged in to ") {
		c.t.Fatalf("login: %s", out)
	}
}

func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// okIn runs a command with stdin and fails the test unless it succeeds.
func (c *cli) okIn(stdin string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("enclave %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestNewUserFlow is the README's promise: start the server with no
// configuration, sign in over TLS with the printed credential, create a
// zone and a project, and see the rules hold.
func TestNewUserFlow(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "enclave-data")
	s := startServer(t, "--data-dir", dataDir)
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") || s.caFile == "" || s.credential == "" {
		t.Fatalf("banner: url %q ca %q credential set %v", s.url, s.caFile, s.credential != "")
	}
	// The credential is printed, never logged.
	if strings.Contains(s.stderr.String(), s.credential) {
		t.Fatal("the one-time credential appears in the logs")
	}
	c := newCLI(t)
	c.login(s)
	st, err := os.Stat(c.config)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("client config: %v %v", st, err)
	}
	if out := c.ok("whoami"); !strings.Contains(out, "admin") {
		t.Fatalf("whoami: %s", out)
	}
	c.ok("zone", "create", "eu-west", "--region", "eu", "--display-name", "EU West", "--tag", "owner=ops")
	c.ok("project", "create", "oncology", "--zone", "eu-west", "--owner", "dr.who@example.org", "--cost-center", "cc-42",
		"--max-classification", "confidential")

	var zones []map[string]any
	if err := json.Unmarshal([]byte(c.ok("zone", "list", "-o", "json")), &zones); err != nil || len(zones) != 1 || zones[0]["name"] != "eu-west" {
		t.Fatalf("zone list json: %v %v", zones, err)
	}
	if out := c.ok("project", "show", "oncology", "--zone", "eu-west", "-o", "yaml"); !strings.Contains(out, "max_classification: confidential") {
		t.Fatalf("project show yaml: %s", out)
	}
	if out := c.ok("environment", "list", "--zone", "eu-west", "--project", "oncology"); !strings.Contains(out, "dev") || !strings.Contains(out, "prod") {
		t.Fatalf("environment list: %s", out)
	}
	if out := c.ok("zone", "list"); !strings.Contains(out, "NAME") || !strings.Contains(out, "eu-west") {
		t.Fatalf("zone table: %s", out)
	}

	// Refusals are errors on stderr with a non-zero exit code.
	out, errOut, code := c.run("", "zone", "delete", "eu-west")
	if code == 0 || out != "" || !strings.Contains(errOut, "failed_precondition") {
		t.Fatalf("delete zone with project: exit %d stdout %q stderr %q", code, out, errOut)
	}
	_, errOut, code = c.run("", "zone", "create", "Bad_Name", "--region", "eu")
	if code == 0 || !strings.Contains(errOut, "invalid_argument") {
		t.Fatalf("bad name: exit %d %s", code, errOut)
	}
	_, errOut, code = c.run("", "zone", "create", "eu-west", "--region", "eu")
	if code == 0 || !strings.Contains(errOut, "conflict") {
		t.Fatalf("duplicate: exit %d %s", code, errOut)
	}
	c.ok("project", "delete", "oncology", "--zone", "eu-west")
	c.ok("zone", "delete", "eu-west")

	// Unauthenticated requests are refused; health is open.
	hc := httpsClient(t, s.caFile)
	res, err := hc.Get(s.url + "/api/v1/zones")
	if err != nil || res.StatusCode != 401 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("anonymous list: %v %v", res, err)
	}
	res.Body.Close()
	res, err = hc.Get(s.url + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()

	// SIGTERM shuts down gracefully.
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no graceful stop in logs:\n%s", s.stderr)
	}
	// Logs are JSON lines with request IDs.
	sawRequest := false
	for _, line := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "request" {
			sawRequest = true
			if id, _ := rec["request_id"].(string); id == "" {
				t.Fatalf("request log without request_id: %q", line)
			}
		}
	}
	if !sawRequest {
		t.Fatal("no request logs")
	}
}

func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509Pool(t, pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// TestRestartAfterKill: kill -9 the server mid-life; it restarts cleanly on
// the same data, keeps what committed, keeps its CA, and does not bootstrap again.
func TestRestartAfterKill(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "enclave-data")
	s := startServer(t, "--data-dir", dataDir)
	c := newCLI(t)
	c.login(s)
	for i := range 5 {
		c.ok("zone", "create", fmt.Sprintf("z%d", i), "--region", "eu")
	}
	caBefore, _ := os.ReadFile(s.caFile)
	s.stop(t, syscall.SIGKILL)

	s2 := startServer(t, "--data-dir", dataDir)
	if s2.credential != "" {
		t.Fatal("restart bootstrapped a second administrator credential")
	}
	caAfter, _ := os.ReadFile(s2.caFile)
	if string(caBefore) != string(caAfter) {
		t.Fatal("restart replaced the CA: clients would stop trusting the server")
	}
	// The saved token still works; only the port changed.
	_, errOut, code := c.run(s.credential+"\n", "login", "--server", s2.url, "--ca-file", s2.caFile)
	if code == 0 || !strings.Contains(errOut, "unauthenticated") {
		t.Fatalf("the one-time credential was accepted twice (exit %d): %s", code, errOut)
	}
	var zones []map[string]any
	cmd := []string{"zone", "list", "-o", "json"}
	c2 := &cli{t: t, config: c.config}
	outJSON, errOut, code := c2.runEnv([]string{"ENCLAVE_SERVER=" + s2.url}, cmd...)
	if code != 0 {
		t.Fatalf("list after restart: %d %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(outJSON), &zones); err != nil || len(zones) != 5 {
		t.Fatalf("zones after kill -9: %d %v", len(zones), err)
	}
	if err := s2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

func (c *cli) runEnv(env []string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv(append([]string{"ENCLAVE_CLIENT_CONFIG=" + c.config}, env...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestUnreachableDatabase: the server says so and exits non-zero.
func TestUnreachableDatabase(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c := newCLI(t)
	out, errOut, code := c.run("", "server", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--database", fmt.Sprintf("postgres://enclave:hunter2@127.0.0.1:%d/enclave?connect_timeout=5", port))
	if code == 0 || !strings.Contains(errOut, "database") || !strings.Contains(errOut, "not usable") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if strings.Contains(errOut, "hunter2") {
		t.Fatal("the database password was printed")
	}
}

func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	c := newCLI(t)
	_, errOut, code := c.run("", "server", "--data-dir", t.TempDir(), "--listen", "0.0.0.0:0", "--insecure-http")
	if code == 0 || !strings.Contains(errOut, "loopback") {
		t.Fatalf("plain HTTP on all interfaces: exit %d %s", code, errOut)
	}
	s := startServer(t, "--data-dir", t.TempDir(), "--insecure-http")
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") {
		t.Fatalf("url %s", s.url)
	}
	res, err := http.Get(s.url + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	c.login(s)
	c.ok("zone", "create", "plain", "--region", "eu")
}

// TestPostgresBackend runs the server over PostgreSQL, migrated first with
// `enclave migrate`, when a test server is available.
func TestPostgresBackend(t *testing.T) {
	var pg *storetest.Backend
	for _, b := range storetest.Backends() {
		if b.Name == "postgres" {
			pg = &b
		}
	}
	if pg == nil {
		t.Skip(storetest.PostgresEnv + " not set")
	}
	url := pg.URL(t)
	c := newCLI(t)
	if out := c.ok("migrate", "--database", url); !strings.Contains(out, "applied migration 00001") {
		t.Fatalf("migrate: %s", out)
	}
	if out := c.ok("migrate", "--database", url); !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %s", out)
	}
	if out := c.ok("migrate", "status", "--database", url); !strings.Contains(out, "00001") || strings.Contains(out, "pending") {
		t.Fatalf("migrate status: %s", out)
	}
	s := startServer(t, "--data-dir", t.TempDir(), "--database", url)
	c.login(s)
	c.ok("zone", "create", "pg-zone", "--region", "eu")
	if out := c.ok("zone", "show", "pg-zone"); !strings.Contains(out, "pg-zone") {
		t.Fatalf("show: %s", out)
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

func TestConfigShowMasksSecrets(t *testing.T) {
	c := newCLI(t)
	out := c.ok("config", "show", "--database", "postgres://enclave:hunter2@db/enclave")
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "[SECRET]") {
		t.Fatalf("config show: %s", out)
	}
}

// TestOwnCertificate: --tls-cert and --tls-key serve the operator's
// certificate instead of the local CA's, and /metrics (with a token) shows
// request counts and the database pool.
func TestOwnCertificate(t *testing.T) {
	certDir := t.TempDir()
	files, _, err := localca.Ensure(certDir, []string{"enclave.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	s := startServer(t, "--data-dir", dataDir, "--tls-cert", files.ServerCert, "--tls-key", files.ServerKey)
	if s.caFile != "" {
		t.Fatalf("a server with its own certificate printed a local CA: %s", s.caFile)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "tls")); !os.IsNotExist(err) {
		t.Fatal("a local CA was created although a certificate was given")
	}
	s.caFile = files.CACert // the operator's CA, which clients are given out of band
	c := newCLI(t)
	c.login(s)
	c.ok("zone", "create", "tls-zone", "--region", "eu")

	cfgRaw, _ := os.ReadFile(c.config)
	var token string
	for _, line := range strings.Split(string(cfgRaw), "\n") {
		if v, ok := strings.CutPrefix(line, "token: "); ok {
			token = strings.Trim(v, `"'`)
		}
	}
	req, _ := http.NewRequest("GET", s.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := httpsClient(t, files.CACert).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`enclave_http_requests_total{method="POST",route="/api/v1/zones",status="201"} 1`,
		`go_sql_open_connections{db_name="enclave"}`, "enclave_http_request_duration_seconds_bucket"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// A certificate without its key is a usage error.
	_, errOut, code := c.run("", "server", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--tls-cert", files.ServerCert)
	if code != 2 || !strings.Contains(errOut, "tls.key") {
		t.Fatalf("cert without key: exit %d %s", code, errOut)
	}
}

// TestConfigPrecedence: defaults < file < ENCLAVE_* < flags, through the real binary.
func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "enclave.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:1111\nlog:\n  level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	show := func(env []string, args ...string) string {
		c := newCLI(t)
		out, errOut, code := c.runEnv(env, append([]string{"config", "show"}, args...)...)
		if code != 0 {
			t.Fatalf("config show: %d %s", code, errOut)
		}
		return out
	}
	if out := show(nil, "--config", file); !strings.Contains(out, "listen: 127.0.0.1:1111") || !strings.Contains(out, "level: warn") {
		t.Fatalf("file: %s", out)
	}
	if out := show([]string{"ENCLAVE_CONFIG=" + file, "ENCLAVE_LISTEN=127.0.0.1:2222"}); !strings.Contains(out, "listen: 127.0.0.1:2222") || !strings.Contains(out, "level: warn") {
		t.Fatalf("env over file: %s", out)
	}
	if out := show([]string{"ENCLAVE_LISTEN=127.0.0.1:2222"}, "--config", file, "--listen", "127.0.0.1:3333"); !strings.Contains(out, "listen: 127.0.0.1:3333") {
		t.Fatalf("flag over env: %s", out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("lisen: x\n"), 0o600)
	c := newCLI(t)
	if _, errOut, code := c.run("", "config", "show", "--config", bad); code == 0 || !strings.Contains(errOut, "lisen") {
		t.Fatalf("unknown key: %d %s", code, errOut)
	}
}
