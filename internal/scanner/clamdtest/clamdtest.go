// Package clamdtest starts a private ClamAV daemon for tests. Signatures
// cannot be downloaded where tests run, so the daemon loads a database of
// its own that knows one file: the EICAR anti-virus test file, by its hash
// (the file on its own) and by its body (the file inside a larger one). With
// no other signatures clamd answers PING a few milliseconds after it starts.
//
// The daemon is the binary named by ENCLAVE_TEST_CLAMD (scripts/test.sh
// installs Debian's clamav-daemon and sets it); without it the test is
// skipped, or fails when ENCLAVE_TEST_REQUIRE_CLAMD=1.
package clamdtest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The variables that tell tests where clamd is.
const (
	// BinaryEnv names the clamd binary, e.g. /usr/sbin/clamd.
	BinaryEnv = "ENCLAVE_TEST_CLAMD"
	// RequireEnv, set to 1, turns a missing clamd from a skip into a failure.
	RequireEnv = "ENCLAVE_TEST_REQUIRE_CLAMD"
)

// The EICAR test file is assembled from two halves so that this source file
// does not itself look like the test file to a scanner.
const (
	eicarHead = `X5O!P%@AP[4\PZX54(P^)7CC)7}$`
	eicarTail = `EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`
)

// EICAR is the 68-byte EICAR anti-virus test file: harmless, and reported
// as malware by every scanner.
const EICAR = eicarHead + eicarTail

// Signature names the EICAR signatures of the test database. clamd reports
// them as Signature+".UNOFFICIAL" (the whole file, matched by its hash) or
// Signature+".Body.UNOFFICIAL" (the string found anywhere in a file): a
// signature from an unsigned database gets the ".UNOFFICIAL" suffix.
const Signature = "Eicar-Test-Signature"

// startTimeout bounds the wait for a starting clamd to answer PING.
const startTimeout = 60 * time.Second

// maxSocketPath leaves room within the kernel's 108 bytes for a socket path.
const maxSocketPath = 100

// Option changes the daemon's clamd.conf.
type Option func(settings map[string]string)

// Setting sets a clamd.conf directive, replacing the default if there is
// one; e.g. Setting("StreamMaxLength", "1M").
func Setting(name, value string) Option {
	return func(s map[string]string) { s[name] = value }
}

// Server is a running clamd.
type Server struct {
	// Addr is the daemon's socket as a scanner address, "unix:/...".
	Addr string
	// StartupTime is how long the last start took until PING was answered.
	StartupTime time.Duration

	t       testing.TB
	bin     string
	dir     string
	socket  string
	conf    string
	logFile string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	output lockedBuffer
}

// Start starts a clamd on a Unix socket and stops it when t ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := os.Getenv(BinaryEnv)
	if bin == "" {
		msg := "clamd is not configured: set " + BinaryEnv + " to the clamd binary (apt-get install clamav-daemon; /usr/sbin/clamd), or run make test, which does"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(msg + " (" + RequireEnv + "=1)")
		}
		t.Skip(msg)
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("%s=%s is not an executable: %v", BinaryEnv, bin, err)
	}
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, dir: dir, conf: filepath.Join(dir, "clamd.conf"), logFile: filepath.Join(dir, "clamd.log")}
	s.socket = socketPath(t, dir)
	s.Addr = "unix:" + s.socket
	if err := writeDatabase(filepath.Join(dir, "db")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{
		"LocalSocket":        s.socket,
		"LocalSocketMode":    "600",
		"FixStaleSocket":     "yes",
		"PidFile":            filepath.Join(dir, "clamd.pid"),
		"Foreground":         "yes",
		"DatabaseDirectory":  filepath.Join(dir, "db"),
		"TemporaryDirectory": filepath.Join(dir, "tmp"),
		"LogFile":            s.logFile,
		"LogTime":            "yes",
		"StreamMaxLength":    "1024M",
		"MaxFileSize":        "1024M",
		"MaxScanSize":        "1024M",
		// A file clamd stops reading at a limit is reported, not passed as clean.
		"AlertExceedsMax": "yes",
		// Nothing to load for these engines: skip their set-up.
		"Bytecode":           "no",
		"PhishingSignatures": "no",
		"PhishingScanURLs":   "no",
		"SelfCheck":          "3600",
		"MaxThreads":         "8",
	}
	for _, o := range opts {
		o(settings)
	}
	if err := os.WriteFile(s.conf, []byte(config(settings)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.mustStart()
	return s
}

// socketPath returns a socket path the kernel accepts: in dir if it is
// short enough, else in a new short directory under the system's.
func socketPath(t testing.TB, dir string) string {
	p := filepath.Join(dir, "clamd.sock")
	if len(p) <= maxSocketPath {
		return p
	}
	for _, base := range []string{os.TempDir(), "/tmp"} {
		short, err := os.MkdirTemp(base, "clamd")
		if err != nil {
			continue
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		if p := filepath.Join(short, "clamd.sock"); len(p) <= maxSocketPath {
			return p
		}
	}
	t.Fatalf("no directory with a path short enough for a Unix socket (at most %d bytes)", maxSocketPath)
	return ""
}

// writeDatabase writes the EICAR signatures: an MD5 signature of the file
// itself (.hdb: MD5:size:name) and a body signature of its bytes anywhere in
// any file (.ndb: name:target type:offset:hex).
func writeDatabase(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	sum := md5.Sum([]byte(EICAR))
	hdb := fmt.Sprintf("%s:%d:%s\n", hex.EncodeToString(sum[:]), len(EICAR), Signature)
	ndb := fmt.Sprintf("%s.Body:0:*:%s\n", Signature, hex.EncodeToString([]byte(EICAR)))
	return errors.Join(os.WriteFile(filepath.Join(dir, "enclave-test.hdb"), []byte(hdb), 0o600),
		os.WriteFile(filepath.Join(dir, "enclave-test.ndb"), []byte(ndb), 0o600))
}

func config(settings map[string]string) string {
	names := make([]string, 0, len(settings))
	for n := range settings {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# Written by clamdtest: a private clamd for one test. No TCPSocket, no User.\n")
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, settings[n])
	}
	return b.String()
}

// Restart stops the daemon, if it runs, and starts it again on the same
// socket; with Stop, tests simulate a scanner outage and its end. Call it
// from the test's goroutine.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.mustStart()
}

func (s *Server) mustStart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("clamd did not start: %v\n%s", err, s.Log())
	}
	s.t.Logf("clamd answered PING %s after it started", s.StartupTime.Round(time.Millisecond))
}

// start runs clamd and waits, polling with PING within a bounded time, until it answers.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	s.output.Reset()
	cmd := exec.Command(s.bin, "--config-file="+s.conf, "--foreground")
	cmd.Stdout, cmd.Stderr = &s.output, &s.output
	cmd.SysProcAttr = sysProcAttr()
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ping(s.socket)
		if err == nil {
			s.StartupTime = time.Since(began)
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("no PONG within %s: %v", startTimeout, err)
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("clamd exited: %v", cmd.ProcessState)
		case <-tick.C:
		}
	}
}

// ping asks the daemon at socket for PONG.
func ping(socket string) error {
	c, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("zPING\x00")); err != nil {
		return err
	}
	buf := make([]byte, 16)
	n, _ := c.Read(buf)
	if string(buf[:n]) != "PONG\x00" {
		return fmt.Errorf("PING answered %q", buf[:n])
	}
	return nil
}

// Stop stops the daemon, with SIGTERM and, if it does not exit within ten
// seconds, SIGKILL. Scans fail with scanner.ErrUnavailable until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		s.cmd = nil
	case <-time.After(10 * time.Second):
		s.kill()
	}
}

// kill ends the daemon at once; s.mu is held.
func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Log returns the daemon's log file and its output, for failure messages.
func (s *Server) Log() string {
	log, _ := os.ReadFile(s.logFile)
	return fmt.Sprintf("--- %s\n%s--- output\n%s", s.logFile, log, s.output.String())
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil // enough to explain a failure
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
