package notify

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/outbox"
)

// FuzzEmailHeaders: whatever a notification holds, once it validates the
// email carries exactly the headers compose writes — none smuggled in — and
// its subject decodes back to the notification's.
func FuzzEmailHeaders(f *testing.F) {
	f.Add("[Enclave] request \"Q1\" is ready", "ana@example.org", "airlock.request.in_review", "text")
	f.Add("Grüße\r\nBcc: x@y", "a@b.c\nBcc: x@y", "e", "line\n.\nline")
	f.Add(strings.Repeat("ä", 400), "a@b", "x", strings.Repeat("=", 100))
	f.Add("=?utf-8?q?=E2=9C=85_approved?= looks decoded", "a@b", "x", "")
	from, _ := mail.ParseAddress("Enclave <enclave@example.org>")
	f.Fuzz(func(t *testing.T, subject, recipient, event, text string) {
		x := &Notification{Event: event, Subject: subject, Text: text, Recipients: []string{recipient},
			At: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		if x.Validate() != nil {
			return
		}
		m := &outbox.Message{ID: "0195a3c4-7d2e-7f00-8000-00000000abcd", Topic: TopicEmail}
		raw, err := compose(m, x, from, []*mail.Address{{Address: recipient}})
		if err != nil {
			return // refused, not sent
		}
		for _, line := range strings.Split(string(raw), "\r\n") {
			if len(line) > 998 {
				t.Fatalf("line of %d characters", len(line))
			}
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%v\n%s", err, raw)
		}
		if len(msg.Header) != 10 {
			t.Fatalf("%d headers: %v", len(msg.Header), msg.Header)
		}
		// Header parsing trims and unfolds whitespace: compare words.
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(subject), " ") {
			t.Fatalf("subject %q decodes to %q: %v", subject, got, err)
		}
		to, err := msg.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != recipient {
			t.Fatalf("To %q: %v", msg.Header.Get("To"), err)
		}
	})
}
