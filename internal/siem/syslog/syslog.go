// Package syslog is the syslog adapter of audit sinks: RFC 5424 messages
// over TCP with TLS (RFC 5425), framed by octet counting (RFC 6587). Each
// batch goes over its own connection, which Enclave closes (TLS
// close_notify, then a TCP half-close) and then waits for the receiver to
// close too: a receiver closes only after reading every byte before the
// close, so that is the acknowledgement plain syslog lacks. Only then does
// the sink's cursor move.
package syslog

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/siem"
)

func init() { siem.Register(siem.KindSyslog, Open) }

// AppName is the APP-NAME of every message.
const AppName = "enclave"

// SDID is the SD-ID of the structured data element that carries an event's
// fields. 32473 is the private enterprise number IANA reserves for examples
// (RFC 5612); Enclave has none of its own.
const SDID = "enclave@32473"

// Sender delivers batches to one syslog receiver.
type Sender struct {
	settings siem.SyslogSettings
	hostname string
	procID   string
	tls      *tls.Config
}

var _ siem.Sender = (*Sender)(nil)

// Open returns a Sender for a syslog sink. Files (CA, client certificate)
// are read at the first batch, so a broken one shows in the sink's health.
func Open(sk *siem.Sink, env siem.Env) (siem.Sender, error) {
	if sk.Syslog == nil {
		return nil, errors.New("syslog sink without syslog settings")
	}
	return &Sender{settings: *sk.Syslog, hostname: headerField(env.Hostname, 255), procID: strconv.Itoa(os.Getpid())}, nil
}

func (s *Sender) tlsConfig() (*tls.Config, error) {
	if s.tls != nil {
		return s.tls, nil
	}
	host, _, _ := net.SplitHostPort(s.settings.Address)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if s.settings.ServerName != "" {
		cfg.ServerName = s.settings.ServerName
	}
	if s.settings.CAFile != "" {
		pool, err := siem.LoadCAPool("syslog", s.settings.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if s.settings.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(s.settings.CertFile, s.settings.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load syslog client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	s.tls = cfg
	return cfg, nil
}

// Send implements siem.Sender.
func (s *Sender) Send(ctx context.Context, events []*audit.Event) error {
	cfg, err := s.tlsConfig()
	if err != nil {
		return err
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	c, err := d.DialContext(ctx, "tcp", s.settings.Address)
	if err != nil {
		return fmt.Errorf("connect to syslog %s: %w", s.settings.Address, err)
	}
	conn := c.(*tls.Conn)
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	w := bufio.NewWriterSize(conn, 64<<10)
	for _, e := range events {
		msg, err := s.Format(e)
		if err != nil {
			return err
		}
		// RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG.
		if _, err := w.WriteString(strconv.Itoa(len(msg)) + " "); err != nil {
			return s.sendErr(err)
		}
		if _, err := w.Write(msg); err != nil {
			return s.sendErr(err)
		}
	}
	if err := w.Flush(); err != nil {
		return s.sendErr(err)
	}
	// Close our side and wait for the receiver to close its own: it has
	// then read everything sent before our close.
	if err := conn.CloseWrite(); err != nil {
		return s.sendErr(err)
	}
	if _, err := io.Copy(io.Discard, conn); err != nil {
		return fmt.Errorf("syslog %s did not confirm the batch by closing the connection: %w", s.settings.Address, err)
	}
	return nil
}

func (s *Sender) sendErr(err error) error {
	return fmt.Errorf("send to syslog %s: %w", s.settings.Address, err)
}

// Close implements siem.Sender; a Sender holds no connection between batches.
func (s *Sender) Close() error { return nil }

// severity maps an outcome to a syslog severity: informational for
// success, notice for failure, warning for a denial.
func severity(o audit.Outcome) int {
	switch o {
	case audit.Denied:
		return 4
	case audit.Failed:
		return 5
	}
	return 6
}

// Format renders one event as an RFC 5424 message.
func (s *Sender) Format(e *audit.Event) ([]byte, error) {
	facility := siem.FacilityLogAudit
	if s.settings.Facility != nil {
		facility = *s.settings.Facility
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s %s ", facility*8+severity(e.Outcome), e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		s.hostname, AppName, s.procID, headerField(e.Action, 32))
	if s.settings.Format == siem.SyslogStructured {
		details, err := json.Marshal(e.Details)
		if err != nil {
			return nil, fmt.Errorf("encode audit event %s: %w", e.ID, err)
		}
		b.WriteString("[" + SDID)
		for _, p := range [][2]string{{"id", e.ID}, {"seq", strconv.FormatInt(e.Seq, 10)}, {"action", e.Action},
			{"outcome", string(e.Outcome)}, {"reason", e.Reason}, {"actor_id", e.ActorID}, {"actor_kind", e.ActorKind},
			{"actor_name", e.ActorName}, {"auth_method", e.AuthMethod}, {"target_type", e.TargetType},
			{"target_id", e.TargetID}, {"scope", e.Scope}, {"source_addr", e.SourceAddr}, {"request_id", e.RequestID},
			{"details", string(details)}} {
			if p[1] != "" {
				b.WriteString(" " + p[0] + `="` + sdEscape(p[1]) + `"`)
			}
		}
		fmt.Fprintf(&b, "] %s %s by %s", e.Action, e.Outcome, e.ActorName)
		if e.TargetType != "" {
			b.WriteString(" on " + e.TargetType)
			if e.TargetID != "" {
				b.WriteString("/" + e.TargetID)
			}
		}
		return []byte(b.String()), nil
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode audit event %s: %w", e.ID, err)
	}
	fmt.Fprintf(&b, `[%s id="%s" seq="%d"] `, SDID, sdEscape(e.ID), e.Seq)
	b.Write(raw)
	return []byte(b.String()), nil
}

// headerField makes s a header field of RFC 5424: printable US-ASCII
// without spaces, at most n characters, "-" when empty.
func headerField(s string, n int) string {
	out := strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, s)
	if len(out) > n {
		out = out[:n]
	}
	if out == "" {
		return "-"
	}
	return out
}

// sdEscape escapes a PARAM-VALUE: '"', '\' and ']' take a backslash.
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(strings.ToValidUTF8(s, "\uFFFD"))
}
