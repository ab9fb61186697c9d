package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/pquerna/otp/totp"
)

// liveServer is the real API over a fresh SQLite database, with a clock the
// test moves (TOTP codes are accepted once per 30-second step).
type liveServer struct {
	url  string
	svc  *server.Services
	cred string

	mu  sync.Mutex
	now time.Time
}

func (s *liveServer) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *liveServer) add(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

func (s *liveServer) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, s.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newLiveServer(t *testing.T) *liveServer {
	t.Helper()
	db := storetest.Open(t, storetest.Backends()[0].URL(t))
	ls := &liveServer{now: time.Now().UTC().Truncate(time.Second)}
	svc := server.NewServices(db, ls.Now, config.Default())
	svc.Identity.Argon2 = identity.Argon2Params{Memory: 1024, Time: 1, Threads: 1}
	a := svc.API(db)
	a.Logger, a.Clock = slog.New(slog.DiscardHandler), ls.Now
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	ls.url, ls.svc = srv.URL, svc
	if _, err := svc.Identity.Bootstrap(context.Background(), func(_, c string) error { ls.cred = c; return nil }); err != nil {
		t.Fatal(err)
	}
	return ls
}

const adminPW = "plum-harbor-quietly-sings"

// TestLoginScriptedEnrolment drives the first-start flow the way a script
// does: one command per step, answers on stdin.
func TestLoginScriptedEnrolment(t *testing.T) {
	testEnv(t)
	ls := newLiveServer(t)
	out, errOut, err := runCLI(t, ls.cred+"\n", "login", "--server", ls.url)
	if err != nil || !strings.HasPrefix(out, "Logged in to "+ls.url+" as admin") ||
		!strings.Contains(errOut, "enclave password set") || !strings.Contains(errOut, "enclave mfa enroll") {
		t.Fatalf("bootstrap login: %v\n%s\n%s", err, out, errOut)
	}
	if _, _, err := runCLI(t, "", "zone", "list"); err == nil || !strings.Contains(err.Error(), "permission_denied") {
		t.Fatalf("enrolment session listed zones: %v", err)
	}
	if out, _, err := runCLI(t, adminPW+"\n", "password", "set"); err != nil || out != "Password set for admin\n" {
		t.Fatalf("password set: %q %v", out, err)
	}
	out, _, err = runCLI(t, "", "mfa", "enroll", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var enr identity.TOTPEnrollment
	if err := json.Unmarshal([]byte(out), &enr); err != nil || enr.Secret == "" || !strings.HasPrefix(enr.URI, "otpauth://") {
		t.Fatalf("enroll: %s %v", out, err)
	}
	out, _, err = runCLI(t, "", "mfa", "confirm", ls.code(t, enr.Secret))
	if err != nil || len(regexp.MustCompile(`(?m)^  [a-z2-7]{4}(-[a-z2-7]{4}){3}$`).FindAllString(out, -1)) != identity.RecoveryCodeCount {
		t.Fatalf("confirm: %v\n%s", err, out)
	}
	// The code just used is spent; a script signs in with the next one.
	if _, _, err := runCLI(t, adminPW+"\n"+ls.code(t, enr.Secret)+"\n", "login"); err == nil || !strings.Contains(err.Error(), "unauthenticated") {
		t.Fatalf("replayed code accepted: %v", err)
	}
	ls.add(30 * time.Second)
	if out, _, err := runCLI(t, adminPW+"\n"+ls.code(t, enr.Secret)+"\n", "login"); err != nil || !strings.HasPrefix(out, "Logged in to") {
		t.Fatalf("MFA login: %q %v", out, err)
	}
	if _, _, err := runCLI(t, "", "zone", "create", "eu", "--region", "eu"); err != nil {
		t.Fatalf("full session: %v", err)
	}
	out, _, err = runCLI(t, "", "token", "create", "reader", "--scope", "zones/read", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var pat identity.IssuedToken
	if err := json.Unmarshal([]byte(out), &pat); err != nil || !strings.HasPrefix(pat.Secret, "enc_") {
		t.Fatalf("token create: %s %v", out, err)
	}
	t.Setenv(envToken, pat.Secret)
	if out, _, err := runCLI(t, "", "zone", "list"); err != nil || !strings.Contains(out, "eu") {
		t.Fatalf("PAT lists zones: %q %v", out, err)
	}
	if _, _, err := runCLI(t, "", "zone", "create", "us", "--region", "us"); err == nil || !strings.Contains(err.Error(), "permission_denied") {
		t.Fatalf("PAT beyond its scope: %v", err)
	}
}

// waitBuffer is a stderr that lets the test wait for a prompt.
type waitBuffer struct {
	mu   sync.Mutex
	b    strings.Builder
	more chan struct{}
}

func newWaitBuffer() *waitBuffer { return &waitBuffer{more: make(chan struct{}, 1)} }

func (w *waitBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	select {
	case w.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *waitBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitFor blocks until s has been written, or fails the test after a minute.
func (w *waitBuffer) waitFor(t *testing.T, s string) string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if got := w.String(); strings.Contains(got, s) {
			return got
		}
		select {
		case <-w.more:
		case <-deadline:
			t.Fatalf("never saw %q in:\n%s", s, w.String())
		}
	}
}

// TestLoginInteractiveEnrolment: at a terminal, login walks through the
// whole first start: credential, new password twice, enrolment, the
// confirming code, the recovery codes, and a second code for a full session.
func TestLoginInteractiveEnrolment(t *testing.T) {
	testEnv(t)
	ls := newLiveServer(t)
	old := isTerminal
	isTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { isTerminal = old })

	inR, inW := io.Pipe()
	var out strings.Builder
	errOut := newWaitBuffer()
	app := &App{Stdin: inR, Stdout: &out, Stderr: errOut}
	root := NewRootCommand(app)
	root.SetArgs([]string{"login", "--server", ls.url})
	done := make(chan error, 1)
	go func() { done <- root.Execute() }()
	write := func(s string) {
		if _, err := io.WriteString(inW, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	errOut.waitFor(t, "one-time credential) for admin: ")
	write(ls.cred)
	errOut.waitFor(t, "New password (")
	write(adminPW)
	errOut.waitFor(t, "New password again: ")
	write(adminPW)
	shown := errOut.waitFor(t, "Code shown by the authenticator: ")
	m := regexp.MustCompile(`secret: (\S+)`).FindStringSubmatch(shown)
	if m == nil {
		t.Fatalf("no secret shown:\n%s", shown)
	}
	write(ls.code(t, m[1]))
	errOut.waitFor(t, "Next code from the authenticator")
	ls.add(30 * time.Second)
	write(ls.code(t, m[1]))
	if err := <-done; err != nil {
		t.Fatalf("login: %v\n%s\n%s", err, out.String(), errOut)
	}
	if !strings.Contains(out.String(), "Recovery codes") || !strings.Contains(out.String(), "Logged in to "+ls.url+" as admin") {
		t.Fatalf("stdout:\n%s", out.String())
	}
	if _, _, err := runCLI(t, "", "zone", "create", "eu", "--region", "eu"); err != nil {
		t.Fatalf("the saved token is not a full session: %v", err)
	}
}

// TestLoginClientID: a service principal signs in with its client secret;
// neither kind of principal can use the other's sign-in.
func TestLoginClientID(t *testing.T) {
	testEnv(t)
	ls := newLiveServer(t)
	sys := enclave.WithActor(context.Background(), enclave.SystemActor("test"))
	if _, err := ls.svc.Identity.CreateServicePrincipal(sys, identity.ServicePrincipalCreate{Name: "ci", ServiceKind: identity.ServiceCICD}); err != nil {
		t.Fatal(err)
	}
	sec, err := ls.svc.Identity.CreateClientSecret(sys, "ci", identity.ClientSecretCreate{})
	if err != nil {
		t.Fatal(err)
	}
	// The server answers as for an unknown name, so as not to tell which
	// names exist; the CLI adds which way in is for whom.
	unknown := func(args ...string) string {
		t.Helper()
		_, _, err := runCLI(t, sec.ClientSecret+"\n", append([]string{"login", "--server", ls.url}, args...)...)
		if err == nil {
			t.Fatalf("login %v succeeded", args)
		}
		msg, _, _ := strings.Cut(err.Error(), " [request ")
		return msg
	}
	if got, want := unknown("--name", "ci"), unknown("--name", "nobody"); got != want || !strings.Contains(got, "invalid name or password") ||
		!strings.Contains(got, "service principals sign in with --client-id") {
		t.Fatalf("service principal through the person sign-in: %q, unknown name: %q", got, want)
	}
	if got, want := unknown("--client-id", "admin"), unknown("--client-id", "nobody"); got != want || !strings.Contains(got, "invalid client_id or client_secret") ||
		!strings.Contains(got, "people sign in with --name") {
		t.Fatalf("person through the client-secret sign-in: %q, unknown name: %q", got, want)
	}
	out, _, err := runCLI(t, sec.ClientSecret+"\n", "login", "--server", ls.url, "--client-id", "ci")
	if err != nil || !strings.HasPrefix(out, "Logged in to "+ls.url+" as ci") {
		t.Fatalf("client-id login: %q %v", out, err)
	}
	if out, _, err := runCLI(t, "", "whoami", "-o", "json"); err != nil || !strings.Contains(out, `"service_kind": "cicd"`) {
		t.Fatalf("whoami: %s %v", out, err)
	}
	if code, _, stderr := mainCLI("login", "--client-id", "ci", "--name", "x"); code != ExitUsage || !strings.Contains(stderr, "--client-id") {
		t.Fatalf("--client-id with --name: %d %s", code, stderr)
	}
}
