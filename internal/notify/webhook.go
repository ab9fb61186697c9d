package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/outbox"
)

// The headers of a webhook delivery.
const (
	// DeliveryHeader carries the outbox message ID, the same on every
	// retry: receivers deduplicate by it.
	DeliveryHeader = "Enclave-Delivery"
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of
	// "<t>.<body>" keyed with the shared secret>".
	SignatureHeader = "Enclave-Signature"
)

// webhookTimeout bounds one delivery when the receiver has no Client.
const webhookTimeout = 30 * time.Second

// maxResponse bounds how much of a webhook's response is read.
const maxResponse = 64 << 10

// WebhookReceiver posts each notification as JSON to a URL. It implements
// outbox.Receiver for TopicWebhook. A 2xx status acknowledges the message;
// a 4xx other than 401, 403, 404, 408 and 429 refuses it (logged and
// dropped, see the package documentation); anything else — a network error,
// a redirect, 401, 403, 404, 408, 429, a 5xx — is retried.
type WebhookReceiver struct {
	// URL is https, or http to a loopback address.
	URL string
	// Secret keys the Enclave-Signature header; without one, deliveries
	// are unsigned.
	Secret []byte
	// Client sends the requests; nil uses one that does not follow
	// redirects and gives up after 30 seconds.
	Client *http.Client
	// Logger records refused messages; nil uses slog.Default().
	Logger *slog.Logger
	// Now tells the time for signatures; nil uses the clock.
	Now func() time.Time

	once sync.Once
	dflt *http.Client
}

var _ outbox.Receiver = (*WebhookReceiver)(nil)

// Validate checks the receiver's URL: https, or http to a loopback address;
// no credentials or fragment in it.
func (w *WebhookReceiver) Validate() error {
	u, err := url.Parse(w.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Opaque != "" {
		return enclave.FieldError("url", "the notification webhook URL must be an https:// URL (or http:// to a loopback address)")
	}
	if u.User != nil {
		return enclave.FieldError("url", "the notification webhook URL must not carry credentials")
	}
	if u.Fragment != "" || len(w.URL) > 2048 {
		return enclave.FieldError("url", "the notification webhook URL must not have a fragment and must be at most 2048 characters")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return enclave.FieldError("url", "the notification webhook URL must use https unless it points to a loopback address")
	}
	return nil
}

// where is the URL without its query, for messages: a query may carry a secret.
func (w *WebhookReceiver) where() string {
	u, err := url.Parse(w.URL)
	if err != nil {
		return "webhook"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func (w *WebhookReceiver) client() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	w.once.Do(func() {
		tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second}
		w.dflt = &http.Client{Transport: tr, Timeout: webhookTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is not an acknowledgement
		}}
	})
	return w.dflt
}

// Receive implements outbox.Receiver.
func (w *WebhookReceiver) Receive(ctx context.Context, m *outbox.Message) error {
	return settle(ctx, w.Logger, "webhook", m, w.deliver(ctx, m))
}

func (w *WebhookReceiver) deliver(ctx context.Context, m *outbox.Message) error {
	if err := w.Validate(); err != nil {
		return err // the configuration is wrong, not the message: retry once it is fixed
	}
	if _, err := decode(m); err != nil {
		return err
	}
	body := []byte(m.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.where(), err)
	}
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "enclave-notify")
	req.Header.Set(DeliveryHeader, m.ID)
	if len(w.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.Secret, now, body))
	}
	res, err := w.client().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, query included
		}
		return fmt.Errorf("POST %s: %w", w.where(), err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	switch code := res.StatusCode; {
	case code/100 == 2:
		return nil
	case code/100 == 4 && !retryableStatus[code]:
		return refused("POST %s answered %s: %s", w.where(), res.Status, printable(answer, 200))
	default:
		return fmt.Errorf("POST %s answered %s: %s", w.where(), res.Status, printable(answer, 200))
	}
}

// retryableStatus are the 4xx statuses that say nothing against the
// message: the receiver is missing, refuses our credentials, or asks us to
// come back later. Every message would fail alike, so they are retried.
var retryableStatus = map[int]bool{
	http.StatusUnauthorized: true, http.StatusForbidden: true, http.StatusNotFound: true,
	http.StatusRequestTimeout: true, http.StatusTooManyRequests: true,
}

// Sign returns the Enclave-Signature header of body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks an Enclave-Signature header against body, as a
// receiver does: one of its v1 signatures must match, and its timestamp be
// within tolerance of now (to refuse replays).
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("signature timestamp outside the tolerance")
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("signature does not match")
}

// printable is the start of a response body, safe to log.
func printable(b []byte, n int) string {
	s := strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
	s = strings.TrimSpace(s)
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
