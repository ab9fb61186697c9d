package notify_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/enclave-ml/enclave/internal/localca"
)

// mailServer is a real SMTP server (emersion/go-smtp) on a free loopback
// port that keeps what it receives.
type mailServer struct {
	Addr string
	// CAs trusts the server's certificate.
	CAs *x509.CertPool

	mu       sync.Mutex
	mails    []*receivedMail
	auths    []string // username:password of each AUTH
	sessions int
	// refuseRcpt answers RCPT TO for an address with a reply code.
	refuseRcpt map[string]int
	// refuseData answers the next DATA with these codes, one per message.
	refuseData []int
}

type receivedMail struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

type mailOptions struct {
	startTLS  bool // offer STARTTLS
	implicit  bool // TLS from the first byte
	auth      bool // offer AUTH PLAIN (over TLS only, unless insecure)
	insecure  bool // allow AUTH without TLS
	user, pwd string
}

// tlsPair issues a certificate for localhost and the loopback addresses
// from a fresh local CA.
func tlsPair(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	files, pair, err := localca.Ensure(filepath.Join(t.TempDir(), "ca"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(files.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA certificate does not parse")
	}
	return pair, pool
}

func startMailServer(t *testing.T, o mailOptions) *mailServer {
	t.Helper()
	ms := &mailServer{refuseRcpt: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ms.mu.Lock()
		ms.sessions++
		ms.mu.Unlock()
		return &mailSession{srv: ms, conn: c, opts: o}, nil
	}))
	srv.Domain = "mail.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = o.insecure
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.startTLS || o.implicit {
		pair, pool := tlsPair(t)
		ms.CAs = pool
		cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		if o.startTLS {
			srv.TLSConfig = cfg
		} else {
			ln = tls.NewListener(ln, cfg)
		}
	}
	ms.Addr = ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	// Closing ln as well ends Serve even when it had not yet registered
	// the listener with srv when Close ran.
	t.Cleanup(func() { srv.Close(); ln.Close(); <-done })
	return ms
}

func (ms *mailServer) received() []*receivedMail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]*receivedMail(nil), ms.mails...)
}

func (ms *mailServer) logins() []string {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]string(nil), ms.auths...)
}

type mailSession struct {
	srv  *mailServer
	conn *smtp.Conn
	opts mailOptions
	cur  receivedMail
}

func (s *mailSession) AuthMechanisms() []string {
	if !s.opts.auth {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.srv.mu.Lock()
		s.srv.auths = append(s.srv.auths, username+":"+password)
		s.srv.mu.Unlock()
		if username != s.opts.user || password != s.opts.pwd {
			return errors.New("invalid credentials")
		}
		s.cur.User = username
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	code := s.srv.refuseRcpt[to]
	s.srv.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: "no such user"}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if len(s.srv.refuseData) > 0 {
		code := s.srv.refuseData[0]
		s.srv.refuseData = s.srv.refuseData[1:]
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 3, 0}, Message: "not now"}
	}
	m := s.cur
	m.Data = bytes.Clone(b)
	_, m.TLS = s.conn.TLSConnectionState()
	s.srv.mails = append(s.srv.mails, &m)
	return nil
}

func (s *mailSession) Reset() {
	user := s.cur.User
	s.cur = receivedMail{User: user}
}

func (s *mailSession) Logout() error { return nil }
