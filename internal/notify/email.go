package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/outbox"
)

// The TLS modes of an SMTPReceiver.
const (
	// SMTPStartTLS connects in clear and upgrades with STARTTLS, refusing
	// to send if the server does not offer it. The default.
	SMTPStartTLS = "starttls"
	// SMTPTLS connects with TLS from the start (port 465).
	SMTPTLS = "tls"
	// SMTPNoTLS sends in clear, to a loopback address only (a local relay).
	SMTPNoTLS = "none"
)

// DefaultSMTPTimeout bounds one SMTP session.
const DefaultSMTPTimeout = time.Minute

// SMTPReceiver emails each notification to its recipients. It implements
// outbox.Receiver for TopicEmail. The message's Message-ID is the outbox
// message ID, so a retry is recognisably the same email. A recipient the
// server refuses for good (5xx) is logged and skipped; the message is
// refused (logged and dropped) when every recipient is, or when the server
// refuses its content. Connection failures, 4xx replies, a missing STARTTLS
// and refused credentials are retried.
type SMTPReceiver struct {
	// Addr is the server, host:port.
	Addr string
	// From is the sender, e.g. "Enclave <enclave@example.org>".
	From string
	// Username and Password, when Username is set, log in with AUTH PLAIN,
	// which is only ever sent over TLS or to a loopback address.
	Username, Password string
	// TLS is SMTPStartTLS (the default when empty), SMTPTLS or SMTPNoTLS.
	TLS string
	// TLSConfig is the base of the TLS settings, e.g. RootCAs for a
	// private CA; ServerName defaults to Addr's host.
	TLSConfig *tls.Config
	// Hello is the name sent with EHLO; default: this machine's host name.
	Hello string
	// Timeout bounds one session (DefaultSMTPTimeout).
	Timeout time.Duration
	// Logger records refused messages and recipients; nil uses slog.Default().
	Logger *slog.Logger
}

var _ outbox.Receiver = (*SMTPReceiver)(nil)

// Validate checks the receiver's settings.
func (s *SMTPReceiver) Validate() error {
	host, port, err := net.SplitHostPort(s.Addr)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return enclave.FieldError("smtp.addr", "smtp.addr must be host:port")
	}
	if err := oneLine("smtp.addr", s.Addr, 300); err != nil {
		return err
	}
	if err := oneLine("smtp.from", s.From, 500); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return enclave.FieldError("smtp.from", "smtp.from must be an email address such as \"Enclave <enclave@example.org>\"")
	}
	switch s.TLS {
	case "", SMTPStartTLS, SMTPTLS:
	case SMTPNoTLS:
		if !isLoopback(host) {
			return enclave.FieldError("smtp.tls", "smtp.tls none is only allowed for a loopback server, not %s", host)
		}
	default:
		return enclave.FieldError("smtp.tls", "smtp.tls must be starttls, tls or none, not %q", enclave.Truncate(s.TLS, 20))
	}
	if err := errors.Join(oneLine("smtp.username", s.Username, 500), oneLine("smtp.password", s.Password, 500)); err != nil {
		return err
	}
	if s.Hello != "" && !validHello(s.Hello) {
		return enclave.FieldError("smtp.hello", "smtp.hello must be a host name")
	}
	if s.Timeout < 0 {
		return enclave.FieldError("smtp.timeout", "smtp.timeout must not be negative")
	}
	return nil
}

func validHello(h string) bool {
	if len(h) > 253 || h == "" {
		return false
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return net.ParseIP(strings.TrimPrefix(strings.Trim(h, "[]"), "IPv6:")) != nil
	}
	return strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == ""
}

func (s *SMTPReceiver) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// Receive implements outbox.Receiver.
func (s *SMTPReceiver) Receive(ctx context.Context, m *outbox.Message) error {
	return settle(ctx, s.Logger, "email", m, s.deliver(ctx, m))
}

func (s *SMTPReceiver) deliver(ctx context.Context, m *outbox.Message) error {
	if err := s.Validate(); err != nil {
		return err // the configuration is wrong, not the message: retry once it is fixed
	}
	x, err := decode(m)
	if err != nil {
		return err
	}
	if len(x.Recipients) == 0 {
		return refused("message %s has no recipients", m.ID)
	}
	from, _ := mail.ParseAddress(s.From)
	to := make([]*mail.Address, len(x.Recipients))
	for i, r := range x.Recipients {
		to[i] = &mail.Address{Address: r}
	}
	msg, err := compose(m, x, from, to)
	if err != nil {
		return err
	}
	return s.send(ctx, m, from, to, msg)
}

// compose writes the email: RFC 5322 headers, every one a single line of
// ASCII (non-ASCII subjects as RFC 2047 encoded words), folded; the text
// quoted-printable.
func compose(m *outbox.Message, x *Notification, from *mail.Address, to []*mail.Address) ([]byte, error) {
	if m.ID == "" || strings.Trim(m.ID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != "" {
		return nil, refused("message ID %q cannot be a Message-ID", enclave.Truncate(m.ID, 100))
	}
	at := x.At
	if at.IsZero() {
		at = m.CreatedAt
	}
	rcpts := make([]string, len(to))
	for i, a := range to {
		rcpts[i] = a.Address // plain addresses (Validate): no quoting needed
	}
	var b bytes.Buffer
	for _, h := range [][2]string{
		{"Message-ID", "<" + m.ID + "@enclave>"},
		{"Date", at.Format(time.RFC1123Z)},
		{"From", from.String()},
		{"To", strings.Join(rcpts, ", ")},
		{"Subject", encodeSubject(x.Subject)},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
		{"Auto-Submitted", "auto-generated"}, // RFC 3834: no auto-replies
		{"X-Enclave-Event", x.Event},
	} {
		if strings.ContainsAny(h[1], "\r\n") {
			return nil, refused("the %s header of message %s would span lines", h[0], m.ID)
		}
		for i := 0; i < len(h[1]); i++ {
			if h[1][i] < 0x20 || h[1][i] > 0x7e {
				return nil, refused("the %s header of message %s is not printable ASCII", h[0], m.ID)
			}
		}
		b.WriteString(fold(h[0] + ": " + h[1]))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	body := x.Text
	if x.Link != "" {
		body = strings.TrimRight(body, "\n") + "\n\n" + x.Link + "\n"
	}
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeSubject returns the subject as it goes in the header: as it is
// when it is printable ASCII, else as RFC 2047 encoded words — also when it
// holds "=?", which mail readers would otherwise decode as an encoded word.
func encodeSubject(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc != s || !strings.Contains(s, "=?") {
		return enc
	}
	// mime encodes only what is not printable ASCII: write the words here,
	// base64 of at most 45 bytes each (75 characters with the markers).
	var words []string
	for len(s) > 0 {
		n := min(len(s), 45)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// fold breaks a header line at spaces so that its lines stay within 76
// characters where words allow: RFC 5322 asks for 78, RFC 2047 for 76 on
// lines with encoded words. Unfolding gives the line back.
func fold(line string) string {
	words := strings.Split(line, " ")
	var b strings.Builder
	b.WriteString(words[0])
	n := len(words[0])
	for _, w := range words[1:] {
		if w != "" && n+1+len(w) > 76 {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		n += 1 + len(w)
	}
	return b.String()
}

// send runs one SMTP session.
func (s *SMTPReceiver) send(ctx context.Context, m *outbox.Message, from *mail.Address, to []*mail.Address, msg []byte) error {
	host, _, _ := net.SplitHostPort(s.Addr)
	mode := s.TLS
	if mode == "" {
		mode = SMTPStartTLS
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = DefaultSMTPTimeout
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		tc = s.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	fail := func(step string, err error) error { return fmt.Errorf("smtp %s: %s: %w", s.Addr, step, err) }

	dialer := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if mode == SMTPTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tc}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return fail("connect", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.hello()); err != nil {
		return fail("EHLO", err)
	}
	if mode == SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fail("STARTTLS", errors.New("the server does not offer STARTTLS; refusing to send in clear (set tls: none only for a loopback relay)"))
		}
		if err := c.StartTLS(tc); err != nil {
			return fail("STARTTLS", err)
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fail("AUTH", errors.New("the server does not offer AUTH"))
		}
		// PlainAuth itself refuses to send the password in clear to
		// anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fail("AUTH", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fail("MAIL FROM", err)
	}
	accepted := 0
	for _, r := range to {
		err := c.Rcpt(r.Address)
		switch {
		case err == nil:
			accepted++
		case replyCode(err)/100 == 5:
			s.logger().ErrorContext(ctx, "notification not sent to a recipient: the mail server refuses it",
				"message", m.ID, "recipient", r.Address, "error", err)
		default:
			_ = c.Reset()
			return fail("RCPT TO", err)
		}
	}
	if accepted == 0 {
		_ = c.Reset()
		return refused("smtp %s: every recipient of message %s was refused", s.Addr, m.ID)
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		if replyCode(err)/100 == 5 {
			return refused("smtp %s: the server refuses message %s: %v", s.Addr, m.ID, err)
		}
		return fail("DATA", err)
	}
	_ = c.Quit() // the message is accepted; a failing QUIT changes nothing
	return nil
}

func (s *SMTPReceiver) hello() string {
	if s.Hello != "" {
		return s.Hello
	}
	if h, err := os.Hostname(); err == nil && validHello(h) && h != "" {
		return h
	}
	return "localhost"
}

// replyCode is the SMTP reply code of err, or 0.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}
