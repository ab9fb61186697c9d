// Package webhook is the HTTP adapter of audit sinks: each batch is one
// POST, in the Splunk HTTP Event Collector format (newline-separated event
// objects, Authorization: Splunk <token>) or as a plain JSON array of events
// (Authorization: Bearer <token> when a token is set). Any 2xx status
// acknowledges the batch; anything else, a redirect included, is a failure
// and the batch is sent again later.
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/siem"
)

func init() { siem.Register(siem.KindWebhook, Open) }

// The HEC metadata of every event.
const (
	Source     = "enclave"
	Sourcetype = "enclave:audit"
)

// Sender posts batches to one URL.
type Sender struct {
	settings siem.WebhookSettings
	token    string
	host     string
	// where is the URL without its query, for error messages: a query may
	// carry something secret.
	where  string
	client *http.Client
}

var _ siem.Sender = (*Sender)(nil)

// Open returns a Sender for a webhook sink.
func Open(sk *siem.Sink, env siem.Env) (siem.Sender, error) {
	if sk.Webhook == nil {
		return nil, errors.New("webhook sink without webhook settings")
	}
	u, err := url.Parse(sk.Webhook.URL)
	if err != nil {
		return nil, errors.New("webhook URL does not parse")
	}
	where := u.Scheme + "://" + u.Host + u.Path
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if sk.Webhook.CAFile != "" {
		pool, err := siem.LoadCAPool("webhook", sk.Webhook.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tc, ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 30 * time.Second, MaxIdleConnsPerHost: 2,
		IdleConnTimeout: 90 * time.Second}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect is not an acknowledgement
	}}
	return &Sender{settings: *sk.Webhook, token: sk.Secrets.WebhookToken, host: env.Hostname, where: where, client: client}, nil
}

// Body encodes a batch in the sink's format and returns it with its content type.
func (s *Sender) Body(events []*audit.Event) ([]byte, error) {
	var b bytes.Buffer
	if s.settings.Format == siem.WebhookJSON {
		if err := json.NewEncoder(&b).Encode(events); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	for i, e := range events {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode audit event %s: %w", e.ID, err)
		}
		ev := hecEvent{Time: json.Number(fmt.Sprintf("%d.%06d", e.Time.Unix(), e.Time.Nanosecond()/1000)), Host: s.host,
			Source: Source, Sourcetype: Sourcetype, Index: s.settings.Index, Event: raw}
		line, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.Write(line)
	}
	return b.Bytes(), nil
}

// hecEvent is one event in the HTTP Event Collector's format.
type hecEvent struct {
	Time       json.Number     `json:"time"`
	Host       string          `json:"host,omitempty"`
	Source     string          `json:"source"`
	Sourcetype string          `json:"sourcetype"`
	Index      string          `json:"index,omitempty"`
	Event      json.RawMessage `json:"event"`
}

// Send implements siem.Sender.
func (s *Sender) Send(ctx context.Context, events []*audit.Event) error {
	body, err := s.Body(events)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.settings.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", s.where, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "enclave-audit-sink")
	switch {
	case s.token == "":
	case s.settings.Format == siem.WebhookSplunkHEC:
		req.Header.Set("Authorization", "Splunk "+s.token)
	default:
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, query included
		}
		return fmt.Errorf("POST %s: %w", s.where, err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s answered %s: %s", s.where, res.Status, printable(answer, 200))
	}
	return nil
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
		s = s[:n] + "…"
	}
	return s
}

// Close implements siem.Sender.
func (s *Sender) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
