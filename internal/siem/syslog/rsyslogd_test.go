package syslog_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/localca"
)

// RsyslogdEnv names the rsyslogd binary the tests start; scripts/test.sh
// installs Debian's rsyslog and sets it.
const RsyslogdEnv = "ENCLAVE_TEST_RSYSLOGD"

// rsyslogd is a private rsyslog daemon: a TLS input (imtcp with the gtls
// driver) on a loopback port, writing every message it receives to a file,
// one line each: APP-NAME, MSGID, PRI, HOSTNAME, STRUCTURED-DATA and MSG,
// separated by tabs. Its queues are direct, so a message is in the file
// before rsyslogd reads the next from the connection.
type rsyslogd struct {
	t       testing.TB
	bin     string
	dir     string
	port    int
	tls     localca.Files
	client  localca.Files // a client certificate from the same CA
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	stderr  bytes.Buffer
	mutual  bool
	outFile string
}

func rsyslogdBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(RsyslogdEnv)
	if bin == "" {
		if p, err := exec.LookPath("rsyslogd"); err == nil {
			bin = p
		} else if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil {
			bin = "/usr/sbin/rsyslogd"
		}
	}
	if bin == "" {
		t.Skip("rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls, or run make test, which does); set " + RsyslogdEnv + " to its path")
	}
	return bin
}

// startRsyslogd starts a daemon with certificates from a fresh local CA;
// with mutual set it requires a client certificate signed by that CA.
func startRsyslogd(t testing.TB, mutual bool) *rsyslogd {
	t.Helper()
	r := &rsyslogd{t: t, bin: rsyslogdBinary(t), dir: t.TempDir(), mutual: mutual}
	if matches, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(matches) == 0 {
		t.Skip("rsyslog's TLS driver is not installed (apt-get install rsyslog-gnutls, or run make test, which does)")
	}
	var err error
	if r.tls, _, err = localca.Ensure(filepath.Join(r.dir, "tls"), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.client = issueClient(t, r.tls)
	r.outFile = filepath.Join(r.dir, "received.log")
	if err := os.MkdirAll(filepath.Join(r.dir, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if err := r.start(); err == nil {
			break
		} else if attempt == 2 {
			t.Fatalf("rsyslogd did not start: %v\n%s", err, r.log())
		}
	}
	t.Cleanup(r.kill)
	return r
}

// Addr is the daemon's TLS input.
func (r *rsyslogd) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *rsyslogd) config() string {
	auth := "anon"
	if r.mutual {
		auth = "x509/certvalid"
	}
	return fmt.Sprintf(`global(workDirectory="%[1]s/work" maxMessageSize="256k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="%[2]s"
  defaultNetstreamDriverCertFile="%[3]s"
  defaultNetstreamDriverKeyFile="%[4]s")
main_queue(queue.type="Direct")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="%[5]s")
template(name="fields" type="list") {
  property(name="app-name") constant(value="\t")
  property(name="msgid") constant(value="\t")
  property(name="pri") constant(value="\t")
  property(name="hostname") constant(value="\t")
  property(name="structured-data") constant(value="\t")
  property(name="msg" droplastlf="on") constant(value="\n")
}
ruleset(name="enclave" queue.type="Direct") {
  action(type="omfile" file="%[6]s" template="fields" flushOnTXEnd="on" asyncWriting="off")
}
input(type="imtcp" address="127.0.0.1" port="%[7]d" ruleset="enclave")
`, r.dir, r.tls.CACert, r.tls.ServerCert, r.tls.ServerKey, auth, r.outFile, r.port)
}

// start runs rsyslogd and waits, polling with a bounded number of TLS
// handshakes, until its input answers.
func (r *rsyslogd) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	conf := filepath.Join(r.dir, "rsyslog.conf")
	if err := os.WriteFile(conf, []byte(r.config()), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(r.bin, "-n", "-f", conf, "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	r.stderr.Reset()
	cmd.Stdout, cmd.Stderr = &r.stderr, &r.stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	cfg := r.clientTLS()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("rsyslogd exited: %s", cmd.ProcessState)
		default:
		}
		d := &net.Dialer{Timeout: time.Second}
		c, err := tls.DialWithDialer(d, "tcp", r.Addr(), cfg)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("rsyslogd does not answer on %s: %v", r.Addr(), err)
		}
		time.Sleep(50 * time.Millisecond) // polling a real external process
	}
}

func (r *rsyslogd) clientTLS() *tls.Config {
	pem, err := os.ReadFile(r.tls.CACert)
	if err != nil {
		r.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if pair, err := tls.LoadX509KeyPair(r.client.ServerCert, r.client.ServerKey); err == nil {
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

// kill stops rsyslogd with SIGKILL, as a crash would.
func (r *rsyslogd) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// restart starts rsyslogd again on the same port.
func (r *rsyslogd) restart() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("restart rsyslogd: %v\n%s", err, r.log())
	}
}

func (r *rsyslogd) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// received is one message as rsyslogd parsed it.
type received struct {
	AppName, MsgID, Pri, Hostname, SD, Msg string
}

// messages returns what rsyslogd has written so far.
func (r *rsyslogd) messages() []received {
	r.t.Helper()
	b, err := os.ReadFile(r.outFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	var out []received
	text := string(b)
	if i := strings.LastIndexByte(text, '\n'); i < len(text)-1 {
		text = text[:i+1] // the last line is still being written
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "\t", 6)
		if len(f) != 6 {
			r.t.Fatalf("rsyslogd wrote an unexpected line: %q", line)
		}
		out = append(out, received{f[0], f[1], f[2], f[3], f[4], f[5]})
	}
	return out
}

// issueClient makes a client certificate signed by the local CA in f.
func issueClient(t testing.TB, f localca.Files) localca.Files {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		return blk.Bytes
	}
	ca, err := x509.ParseCertificate(read(f.CACert))
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParseECPrivateKey(read(f.CAKey))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "enclave-audit"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := localca.Files{Dir: f.Dir, ServerCert: filepath.Join(f.Dir, "client.crt"), ServerKey: filepath.Join(f.Dir, "client.key")}
	if err := os.WriteFile(out.ServerCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out.ServerKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}
