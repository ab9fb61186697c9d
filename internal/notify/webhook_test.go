package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/notify"
)

var secret = []byte("webhook-shared-secret")

// delivery is one request a webhook receiver got.
type delivery struct {
	id, signature, contentType string
	body                       []byte
}

// hook is an HTTP receiver answering with the statuses given, one per
// request (200 once they run out).
type hook struct {
	mu       sync.Mutex
	got      []delivery
	statuses []int
}

func startHook(t *testing.T, statuses ...int) (*hook, *httptest.Server) {
	h := &hook{statuses: statuses}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, delivery{r.Header.Get(notify.DeliveryHeader), r.Header.Get(notify.SignatureHeader), r.Header.Get("Content-Type"), body})
		status := 200
		if len(h.statuses) > 0 {
			status, h.statuses = h.statuses[0], h.statuses[1:]
		}
		h.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, strings.Repeat("answer\x00\n", 20000))
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hook) deliveries() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.got...)
}

// TestWebhookDelivers posts the notification, signed, with the message ID
// as the delivery ID; a receiver can verify the signature.
func TestWebhookDelivers(t *testing.T) {
	h, srv := startHook(t)
	r := &notify.WebhookReceiver{URL: srv.URL + "/hooks/enclave", Secret: secret}
	x := sample()
	m := message(t, notify.TopicWebhook, x)
	if err := r.Receive(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := h.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries", len(got))
	}
	d := got[0]
	if d.id != m.ID || d.contentType != "application/json" {
		t.Errorf("delivery %q, content type %q", d.id, d.contentType)
	}
	if err := notify.VerifySignature(secret, d.signature, d.body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature %q: %v", d.signature, err)
	}
	var back notify.Notification
	if err := json.Unmarshal(d.body, &back); err != nil || back.Event != x.Event || back.Subject != x.Subject ||
		back.Resource["id"] != "req-1" || !back.At.Equal(at) {
		t.Errorf("body %s: %v", d.body, err)
	}
	// A receiver refuses what does not verify.
	for name, err := range map[string]error{
		"other secret":   notify.VerifySignature([]byte("other"), d.signature, d.body, time.Now(), 5*time.Minute),
		"changed body":   notify.VerifySignature(secret, d.signature, append([]byte(" "), d.body...), time.Now(), 5*time.Minute),
		"replayed later": notify.VerifySignature(secret, d.signature, d.body, time.Now().Add(time.Hour), 5*time.Minute),
		"no header":      notify.VerifySignature(secret, "", d.body, time.Now(), 5*time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// TestWebhookRetries: a 500 is an error for the outbox to retry, and the
// retry carries the same delivery ID with a fresh, valid signature.
func TestWebhookRetries(t *testing.T) {
	h, srv := startHook(t, 500)
	now := time.Now()
	r := &notify.WebhookReceiver{URL: srv.URL, Secret: secret, Now: func() time.Time { return now }}
	m := message(t, notify.TopicWebhook, sample())
	err := r.Receive(context.Background(), m)
	if err == nil || errors.Is(err, notify.ErrRefused) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("first attempt: %v", err)
	}
	if len(err.Error()) > 400 || strings.ContainsRune(err.Error(), 0) {
		t.Errorf("the error carries the response unbounded or raw: %q", err)
	}
	now = now.Add(time.Minute)
	if err := r.Receive(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := h.deliveries()
	if len(got) != 2 || got[0].id != m.ID || got[1].id != m.ID || got[0].signature == got[1].signature {
		t.Fatalf("deliveries %+v", got)
	}
	for _, d := range got {
		if err := notify.VerifySignature(secret, d.signature, d.body, now, 2*time.Minute); err != nil {
			t.Error(err)
		}
	}
}

// TestWebhookStatuses: which answers acknowledge, drop or retry a message.
func TestWebhookStatuses(t *testing.T) {
	for status, want := range map[int]string{
		200: "ack", 202: "ack", 204: "ack",
		400: "drop", 410: "drop", 413: "drop", 422: "drop",
		401: "retry", 403: "retry", 404: "retry", 408: "retry", 429: "retry",
		500: "retry", 502: "retry", 503: "retry", 302: "retry", 307: "retry",
	} {
		_, srv := startHook(t, status)
		logger, logged := logs()
		r := &notify.WebhookReceiver{URL: srv.URL, Secret: secret, Logger: logger}
		err := r.Receive(context.Background(), message(t, notify.TopicWebhook, sample()))
		dropped := strings.Contains(logged.String(), "notification dropped")
		got := map[bool]string{true: "retry", false: "ack"}[err != nil]
		if dropped {
			got = "drop"
		}
		if got != want {
			t.Errorf("status %d: %s (%v), want %s", status, got, err, want)
		}
	}
}

// TestWebhookUnreachable: a receiver that is not there is an error to retry,
// and the error does not repeat the URL's query, which may hold a secret.
func TestWebhookUnreachable(t *testing.T) {
	_, srv := startHook(t)
	url := srv.URL + "/in?token=SECRET"
	srv.Close()
	r := &notify.WebhookReceiver{URL: url, Secret: secret}
	err := r.Receive(context.Background(), message(t, notify.TopicWebhook, sample()))
	if err == nil || errors.Is(err, notify.ErrRefused) || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("unreachable: %v", err)
	}
}

// TestWebhookURLs: https anywhere, http to loopback only.
func TestWebhookURLs(t *testing.T) {
	for _, u := range []string{"https://hooks.example.org/enclave", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x"} {
		if err := (&notify.WebhookReceiver{URL: u}).Validate(); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"", "hooks.example.org", "http://hooks.example.org/x", "ftp://127.0.0.1/x", "https://user:pw@hooks.example.org/",
		"https://hooks.example.org/#frag", "https:///x", "http://10.0.0.1/x"} {
		if err := (&notify.WebhookReceiver{URL: u}).Validate(); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("%s accepted: %v", u, err)
		}
		// An invalid configuration is retried, not a reason to drop messages.
		err := (&notify.WebhookReceiver{URL: u}).Receive(context.Background(), message(t, notify.TopicWebhook, sample()))
		if err == nil || errors.Is(err, notify.ErrRefused) {
			t.Errorf("%s: Receive %v", u, err)
		}
	}
}

// TestWebhookRefusesGarbage: a message that is not a valid notification is
// dropped, not posted.
func TestWebhookRefusesGarbage(t *testing.T) {
	h, srv := startHook(t)
	logger, logged := logs()
	r := &notify.WebhookReceiver{URL: srv.URL, Secret: secret, Logger: logger}
	m := message(t, notify.TopicWebhook, sample())
	m.Payload = []byte(`{"event":"x","subject":"a\nb"}`)
	if err := r.Receive(context.Background(), m); err != nil || !strings.Contains(logged.String(), m.ID) || len(h.deliveries()) != 0 {
		t.Fatalf("garbage: %v, log %s", err, logged)
	}
}
