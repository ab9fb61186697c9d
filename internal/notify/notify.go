// Package notify tells people that something awaits them — a request to
// review, a decision, a blocked upload — by webhook and by email. A
// Notification is written to the transactional outbox in the transaction of
// the change it reports (Notifier.Notify), one message per configured
// channel, so it is sent exactly when the change commits; the outbox
// dispatcher then hands each channel's messages, in order and at least once,
// to WebhookReceiver (topic notify.webhook) and SMTPReceiver (notify.email).
// Receivers deduplicate by the message ID: it is the webhook's
// Enclave-Delivery header and the email's Message-ID, the same on every retry.
//
// Failures are of two kinds. A receiver that is down, slow, misconfigured
// or refusing our credentials fails every message alike: the receiver
// returns an error, and the outbox retries with backoff, holding back the
// channel's later messages until it recovers — nothing is lost while an
// operator fixes it. A receiver that refuses one message (an HTTP 4xx other
// than 401, 403, 404, 408 and 429; an SMTP 5xx for the message or for every
// recipient; a message that fails validation) would refuse it on every retry,
// and the outbox delivers in order, so retrying would stop the channel for
// good: such a message is logged at error level with its ID and
// acknowledged, i.e. dropped. Notifications are a convenience — the state
// they report is in the database and the audit trail — so one undeliverable
// message must not silence every later one.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/outbox"
)

// The outbox topics of the channels.
const (
	TopicWebhook = "notify.webhook"
	TopicEmail   = "notify.email"
)

// Limits of a Notification.
const (
	MaxSubject    = 900 // "Subject: " and it fit in RFC 5322's 998-character line
	MaxText       = 64 << 10
	MaxRecipients = 500
	maxEvent      = 200
	maxField      = 2048
	maxResource   = 20
)

// Notification is one thing to tell people.
type Notification struct {
	// Event names what happened, e.g. "airlock.request.in_review":
	// lowercase letters, digits and ".", "_", "-".
	Event   string `json:"event"`
	Subject string `json:"subject"`
	// Text is the plain-text body. It carries no sensitive values: it
	// leaves the platform by email and webhook.
	Text string `json:"text"`
	// Recipients are the email addresses of whoever acts next.
	Recipients []string          `json:"recipients,omitempty"`
	Scope      string            `json:"scope,omitempty"`
	Resource   map[string]string `json:"resource,omitempty"` // e.g. {"type":"airlock-request","id":...}
	Link       string            `json:"link,omitempty"`
	At         time.Time         `json:"at"`
}

// Validate checks a notification. Every value that ends up in an email
// header is one line of text, so none can add a header of its own.
func (x *Notification) Validate() error {
	if x.Event == "" || len(x.Event) > maxEvent || strings.Trim(x.Event, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
		return enclave.FieldError("event", "event must be 1-%d lowercase letters, digits, '.', '_' or '-'", maxEvent)
	}
	if strings.TrimSpace(x.Subject) == "" {
		return enclave.FieldError("subject", "subject is required")
	}
	if err := oneLine("subject", x.Subject, MaxSubject); err != nil {
		return err
	}
	if err := enclave.ValidateText("text", x.Text, MaxText); err != nil {
		return err
	}
	if len(x.Recipients) > MaxRecipients {
		return enclave.FieldError("recipients", "at most %d recipients", MaxRecipients)
	}
	for _, r := range x.Recipients {
		if err := plainAddress("recipients", r); err != nil {
			return err
		}
	}
	if err := oneLine("scope", x.Scope, maxField); err != nil {
		return err
	}
	if err := oneLine("link", x.Link, maxField); err != nil {
		return err
	}
	if len(x.Resource) > maxResource {
		return enclave.FieldError("resource", "at most %d resource fields", maxResource)
	}
	for k, v := range x.Resource {
		if k == "" {
			return enclave.FieldError("resource", "resource field names must not be empty")
		}
		if err := errors.Join(oneLine("resource", k, 100), oneLine("resource."+k, v, maxField)); err != nil {
			return err
		}
	}
	return nil
}

// oneLine accepts valid UTF-8 without control characters.
func oneLine(field, s string, max int) error {
	if len(s) > max {
		return enclave.FieldError(field, "%s must be at most %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return enclave.FieldError(field, "%s must be valid UTF-8", field)
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return enclave.FieldError(field, "%s must be one line without control characters", field)
	}
	return nil
}

// plainAddress accepts an address such as ana@example.org, without a
// display name, as identity stores them.
func plainAddress(field, s string) error {
	if err := oneLine(field, s, 254); err != nil {
		return err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return enclave.FieldError(field, "%q is not a plain email address such as ana@example.org", enclave.Truncate(s, 100))
	}
	return nil
}

// Notifier writes notifications to the outbox for the configured channels.
type Notifier struct {
	Outbox *outbox.Outbox
	// Webhook and Email say which channels are configured; their
	// receivers are registered with the outbox dispatcher under
	// TopicWebhook and TopicEmail.
	Webhook bool
	Email   bool
}

// Notify writes x to the outbox in the transaction ctx carries: one message
// for the webhook, and one for email when x has recipients. A nil Notifier,
// or one with no channel configured, does nothing. A zero At is set to now.
// A notification that does not validate is an invalid_argument error and
// nothing is written; the caller's transaction then fails, so callers build
// the subject from one-line values (quote user input with %q).
func (n *Notifier) Notify(ctx context.Context, x Notification) error {
	if n == nil || (!n.Webhook && !n.Email) {
		return nil
	}
	if n.Outbox == nil {
		return enclave.Errorf(enclave.CodeInternal, "notifier without an outbox")
	}
	if x.At.IsZero() {
		x.At = n.Outbox.Clock.Now()
	}
	if err := x.Validate(); err != nil {
		return err
	}
	if n.Webhook {
		if _, err := n.Outbox.Send(ctx, TopicWebhook, x.Event, x); err != nil {
			return err
		}
	}
	if n.Email && len(x.Recipients) > 0 {
		if _, err := n.Outbox.Send(ctx, TopicEmail, x.Event, x); err != nil {
			return err
		}
	}
	return nil
}

// ErrRefused marks a failure that sending the same message again cannot
// fix: the receiver refuses this message. Receivers log such a message and
// acknowledge it (see the package documentation); test with errors.Is.
var ErrRefused = errors.New("notification refused")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// settle turns a refusal into an acknowledgement, logged at error level, so
// that one undeliverable message does not hold back the channel; any other
// error goes back to the outbox to be retried.
func settle(ctx context.Context, logger *slog.Logger, channel string, m *outbox.Message, err error) error {
	if err == nil || !errors.Is(err, ErrRefused) {
		return err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.ErrorContext(ctx, "notification dropped: the receiver refuses it", "channel", channel,
		"message", m.ID, "topic", m.Topic, "attempt", m.Attempts+1, "error", err)
	return nil
}

// decode reads a notification from an outbox message; one that does not
// decode or validate is refused.
func decode(m *outbox.Message) (*Notification, error) {
	var x Notification
	if err := json.Unmarshal(m.Payload, &x); err != nil {
		return nil, refused("message %s is not a notification: %v", m.ID, err)
	}
	if err := x.Validate(); err != nil {
		return nil, refused("message %s: %v", m.ID, err)
	}
	return &x, nil
}

// isLoopback reports whether host (a name or an IP literal) is this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
