package notify_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/notify"
	"github.com/enclave-ml/enclave/internal/outbox"
)

var at = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func sample() notify.Notification {
	return notify.Notification{
		Event:      "airlock.request.in_review",
		Subject:    `[Enclave] export request "Kohorte Ärzte – Q1" is ready for review`,
		Text:       "The export request \"Kohorte Ärzte – Q1\" of project cardio/heart-failure is ready for review.\n\n.This line starts with a dot; = signs stay; a long line follows: " + strings.Repeat("lorem ipsum ", 20) + "\n",
		Recipients: []string{"ana@example.org", "ben@example.org"},
		Scope:      "/zones/cardio/projects/heart-failure",
		Resource:   map[string]string{"type": "airlock-request", "id": "req-1"},
		Link:       "/api/v1/zones/cardio/projects/heart-failure/airlock/exports/req-1",
		At:         at,
	}
}

// message wraps a payload as the outbox would deliver it.
func message(t *testing.T, topic string, payload any) *outbox.Message {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return &outbox.Message{ID: "0195a3c4-7d2e-7f00-8000-00000000abcd", Topic: topic, Payload: raw, CreatedAt: at, NextAttemptAt: at}
}

// logs collects a receiver's log records.
func logs() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

// TestEmailArrives sends a notification through STARTTLS and AUTH PLAIN to
// a real SMTP server and checks what arrived: envelope, headers (Message-ID
// from the outbox message, the encoded subject), and the body.
func TestEmailArrives(t *testing.T) {
	ms := startMailServer(t, mailOptions{startTLS: true, auth: true, user: "enclave", pwd: "s3cret"})
	r := &notify.SMTPReceiver{Addr: ms.Addr, From: "Enclave Airlock <enclave@example.org>", Username: "enclave", Password: "s3cret",
		TLSConfig: &tls.Config{RootCAs: ms.CAs}, Hello: "enclave.test"}
	x := sample()
	m := message(t, notify.TopicEmail, x)
	if err := r.Receive(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := ms.received()
	if len(got) != 1 {
		t.Fatalf("%d mails arrived", len(got))
	}
	mail1 := got[0]
	if !mail1.TLS || mail1.User != "enclave" || mail1.From != "enclave@example.org" || !slices.Equal(mail1.To, x.Recipients) {
		t.Errorf("envelope: TLS %v, user %q, from %q, to %v", mail1.TLS, mail1.User, mail1.From, mail1.To)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mail1.Data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != x.Subject {
		t.Errorf("Subject %q (%q): %v", subject, h.Get("Subject"), err)
	}
	date, err := h.Date()
	if err != nil || !date.Equal(at) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "ana@example.org" || to[1].Address != "ben@example.org" {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	from, err := h.AddressList("From")
	if err != nil || from[0].Name != "Enclave Airlock" || from[0].Address != "enclave@example.org" {
		t.Errorf("From %q: %v", h.Get("From"), err)
	}
	for k, want := range map[string]string{"Message-Id": "<" + m.ID + "@enclave>", "Content-Type": "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable", "Mime-Version": "1.0", "Auto-Submitted": "auto-generated",
		"X-Enclave-Event": x.Event} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(x.Text+"\n"+x.Link+"\n", "\n", "\r\n")
	if string(body) != want {
		t.Errorf("body:\n%q\nwant\n%q", body, want)
	}
	for _, line := range strings.Split(string(mail1.Data), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}
}

// TestEmailRetryKeepsMessageID: a message the server puts off (451) is an
// error to retry, and the retry carries the same Message-ID.
func TestEmailRetryKeepsMessageID(t *testing.T) {
	ms := startMailServer(t, mailOptions{startTLS: true})
	ms.refuseData = []int{451}
	r := &notify.SMTPReceiver{Addr: ms.Addr, From: "enclave@example.org", TLSConfig: &tls.Config{RootCAs: ms.CAs}}
	m := message(t, notify.TopicEmail, sample())
	err := r.Receive(context.Background(), m)
	if err == nil || errors.Is(err, notify.ErrRefused) || len(ms.received()) != 0 {
		t.Fatalf("first attempt: %v", err)
	}
	if err := r.Receive(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := ms.received(); len(got) != 1 || !bytes.Contains(got[0].Data, []byte("Message-ID: <"+m.ID+"@enclave>\r\n")) {
		t.Fatalf("retry: %d mails", len(got))
	}
}

// TestEmailHeaderInjection: a value that would add a header is refused —
// by Notify before it reaches the outbox, and by the receiver, which logs
// and drops such a message rather than send it — and the server gets nothing.
func TestEmailHeaderInjection(t *testing.T) {
	ms := startMailServer(t, mailOptions{startTLS: true})
	logger, logged := logs()
	r := &notify.SMTPReceiver{Addr: ms.Addr, From: "enclave@example.org", TLSConfig: &tls.Config{RootCAs: ms.CAs}, Logger: logger}
	for name, change := range map[string]func(x *notify.Notification){
		"subject CRLF":   func(x *notify.Notification) { x.Subject = "Hello\r\nBcc: mallory@evil.example" },
		"subject LF":     func(x *notify.Notification) { x.Subject = "Hello\nBcc: mallory@evil.example" },
		"recipient CRLF": func(x *notify.Notification) { x.Recipients = []string{"ana@example.org\r\nBcc: mallory@evil.example"} },
		"recipient name": func(x *notify.Notification) { x.Recipients = []string{"Ana <ana@example.org>, mallory@evil.example"} },
		"event":          func(x *notify.Notification) { x.Event = "x\r\nBcc: mallory@evil.example" },
	} {
		x := sample()
		change(&x)
		n := &notify.Notifier{Outbox: &outbox.Outbox{Store: &memStore{}}, Email: true}
		if err := n.Notify(context.Background(), x); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("%s: Notify: %v", name, err)
		}
		logged.Reset()
		if err := r.Receive(context.Background(), message(t, notify.TopicEmail, x)); err != nil {
			t.Errorf("%s: Receive: %v, want the message dropped", name, err)
		}
		if !strings.Contains(logged.String(), "notification dropped") {
			t.Errorf("%s: not logged: %s", name, logged)
		}
	}
	if got := ms.received(); len(got) != 0 {
		t.Fatalf("%d mails sent:\n%s", len(got), got[0].Data)
	}
	// A sender with a line break is a configuration error: retried, not dropped.
	r.From = "enclave@example.org\r\nBcc: mallory@evil.example"
	if err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample())); err == nil || errors.Is(err, notify.ErrRefused) {
		t.Errorf("From with CRLF: %v", err)
	}
}

// TestEmailRequiresSTARTTLS: by default a server without STARTTLS gets
// neither the message nor the password, and the failure is retried.
func TestEmailRequiresSTARTTLS(t *testing.T) {
	ms := startMailServer(t, mailOptions{auth: true, insecure: true, user: "enclave", pwd: "s3cret"})
	for _, mode := range []string{"", notify.SMTPStartTLS} {
		r := &notify.SMTPReceiver{Addr: ms.Addr, From: "enclave@example.org", Username: "enclave", Password: "s3cret", TLS: mode}
		err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample()))
		if err == nil || errors.Is(err, notify.ErrRefused) || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("TLS %q: %v", mode, err)
		}
	}
	if len(ms.received()) != 0 || len(ms.logins()) != 0 {
		t.Fatalf("sent %d mails, %d logins without TLS", len(ms.received()), len(ms.logins()))
	}
}

// TestEmailUntrustedCertificate: STARTTLS to a certificate nobody vouches
// for fails (and is retried).
func TestEmailUntrustedCertificate(t *testing.T) {
	ms := startMailServer(t, mailOptions{startTLS: true})
	r := &notify.SMTPReceiver{Addr: ms.Addr, From: "enclave@example.org"}
	err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample()))
	if err == nil || errors.Is(err, notify.ErrRefused) || !strings.Contains(err.Error(), "certificate") || len(ms.received()) != 0 {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

// TestEmailImplicitTLS sends over TLS from the first byte (port 465 style).
func TestEmailImplicitTLS(t *testing.T) {
	ms := startMailServer(t, mailOptions{implicit: true, auth: true, user: "u", pwd: "p"})
	r := &notify.SMTPReceiver{Addr: ms.Addr, From: "enclave@example.org", TLS: notify.SMTPTLS, Username: "u", Password: "p",
		TLSConfig: &tls.Config{RootCAs: ms.CAs}}
	if err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample())); err != nil {
		t.Fatal(err)
	}
	if got := ms.received(); len(got) != 1 || !got[0].TLS || got[0].User != "u" {
		t.Fatalf("received %+v", got)
	}
}

// TestEmailInClearToLoopbackOnly: tls none is accepted for a local relay
// (with AUTH too, which net/smtp allows to localhost) and refused for
// anything else.
func TestEmailInClearToLoopbackOnly(t *testing.T) {
	ms := startMailServer(t, mailOptions{auth: true, insecure: true, user: "u", pwd: "p"})
	r := &notify.SMTPReceiver{Addr: ms.Addr, From: "enclave@example.org", TLS: notify.SMTPNoTLS, Username: "u", Password: "p"}
	if err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample())); err != nil {
		t.Fatal(err)
	}
	if got := ms.received(); len(got) != 1 || got[0].TLS || got[0].User != "u" {
		t.Fatalf("received %+v", got)
	}
	for _, addr := range []string{"mail.example.org:25", "10.0.0.1:25", "[2001:db8::1]:25"} {
		r := &notify.SMTPReceiver{Addr: addr, From: "enclave@example.org", TLS: notify.SMTPNoTLS}
		if err := r.Validate(); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("%s in clear: %v", addr, err)
		}
	}
}

// TestEmailServerDown: no server, or one that never answers, is an error
// to retry.
func TestEmailServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := ln.Addr().String() // accepts connections (the kernel's backlog) but never greets
	t.Cleanup(func() { ln.Close() })
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln2.Addr().String()
	ln2.Close()
	for _, addr := range []string{down, silent} {
		r := &notify.SMTPReceiver{Addr: addr, From: "enclave@example.org", Timeout: 200 * time.Millisecond}
		err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample()))
		if err == nil || errors.Is(err, notify.ErrRefused) {
			t.Errorf("%s: %v", addr, err)
		}
	}
	// The context ends a session as well.
	r := &notify.SMTPReceiver{Addr: silent, From: "enclave@example.org"}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Receive(ctx, message(t, notify.TopicEmail, sample())); err == nil || errors.Is(err, notify.ErrRefused) {
		t.Errorf("context deadline: %v", err)
	}
}

// TestEmailRecipientsRefused: a recipient refused for good is skipped and
// logged; when all are, the message is dropped; a recipient put off (4xx)
// makes the whole message wait for a retry.
func TestEmailRecipientsRefused(t *testing.T) {
	ms := startMailServer(t, mailOptions{startTLS: true})
	logger, logged := logs()
	r := &notify.SMTPReceiver{Addr: ms.Addr, From: "enclave@example.org", TLSConfig: &tls.Config{RootCAs: ms.CAs}, Logger: logger}
	ms.refuseRcpt["ben@example.org"] = 550
	if err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample())); err != nil {
		t.Fatal(err)
	}
	if got := ms.received(); len(got) != 1 || !slices.Equal(got[0].To, []string{"ana@example.org"}) ||
		!strings.Contains(logged.String(), "ben@example.org") {
		t.Fatalf("one refused: %d mails; log %s", len(got), logged)
	}
	ms.refuseRcpt["ana@example.org"] = 550
	logged.Reset()
	if err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample())); err != nil || !strings.Contains(logged.String(), "notification dropped") {
		t.Fatalf("all refused: %v; log %s", err, logged)
	}
	ms.refuseRcpt["ana@example.org"] = 450
	if err := r.Receive(context.Background(), message(t, notify.TopicEmail, sample())); err == nil || errors.Is(err, notify.ErrRefused) {
		t.Fatalf("put off: %v", err)
	}
	if len(ms.received()) != 1 {
		t.Fatalf("%d mails", len(ms.received()))
	}
}

// TestEmailValidate checks the receiver's settings.
func TestEmailValidate(t *testing.T) {
	ok := notify.SMTPReceiver{Addr: "mail.example.org:587", From: "Enclave <enclave@example.org>"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(r *notify.SMTPReceiver){
		"no port":      func(r *notify.SMTPReceiver) { r.Addr = "mail.example.org" },
		"bad port":     func(r *notify.SMTPReceiver) { r.Addr = "mail.example.org:smtp" },
		"no host":      func(r *notify.SMTPReceiver) { r.Addr = ":25" },
		"bad from":     func(r *notify.SMTPReceiver) { r.From = "enclave" },
		"tls mode":     func(r *notify.SMTPReceiver) { r.TLS = "ssl" },
		"hello":        func(r *notify.SMTPReceiver) { r.Hello = "bad name\r\nRSET" },
		"timeout":      func(r *notify.SMTPReceiver) { r.Timeout = -time.Second },
		"username crl": func(r *notify.SMTPReceiver) { r.Username = "u\r\n" },
	} {
		r := ok
		change(&r)
		if err := r.Validate(); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
