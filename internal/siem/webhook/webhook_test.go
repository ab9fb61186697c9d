package webhook_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/enclave-ml/enclave/internal/siem/webhook"
)

var batch = []*audit.Event{
	{ID: "ev-1", Seq: 1, Time: time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC), Action: "user.create", Outcome: audit.Success},
	{ID: "ev-2", Seq: 2, Time: time.Date(2026, 3, 1, 9, 0, 1, 0, time.UTC), Action: "auth.login", Outcome: audit.Failed},
}

func sink(url string, format siem.WebhookFormat, caFile, token string) *siem.Sink {
	return &siem.Sink{Kind: siem.KindWebhook, Webhook: &siem.WebhookSettings{URL: url, Format: format, CAFile: caFile, Index: "audit"},
		Secrets: siem.Secrets{WebhookToken: token}}
}

type capture struct {
	auth, contentType string
	body              []byte
}

func server(t *testing.T, tlsServer bool, status int) (*httptest.Server, *capture) {
	c := &capture{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.auth, c.contentType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		c.body, _ = io.ReadAll(r.Body)
		if status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", status)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"text":"Invalid token","code":4}`))
	})
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, c
}

// TestSplunkHECOverTLS posts a batch in the HEC format to an HTTPS
// receiver trusted through a CA file.
func TestSplunkHECOverTLS(t *testing.T) {
	srv, got := server(t, true, 200)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := webhook.Open(sink(srv.URL+"/services/collector/event", siem.WebhookSplunkHEC, ca, "hec-token"), siem.Env{Hostname: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if got.auth != "Splunk hec-token" || got.contentType != "application/json" {
		t.Errorf("headers: %q %q", got.auth, got.contentType)
	}
	lines := strings.Split(string(got.body), "\n")
	if len(lines) != 2 {
		t.Fatalf("HEC body has %d lines: %s", len(lines), got.body)
	}
	want := `{"time":1772355600.123456,"host":"node-1","source":"enclave","sourcetype":"enclave:audit","index":"audit","event":{"id":"ev-1","seq":1,`
	if !strings.HasPrefix(lines[0], want) {
		t.Errorf("HEC event:\n%s\nwant prefix\n%s", lines[0], want)
	}
	// Without the CA file the receiver's certificate is not trusted.
	s, _ = webhook.Open(sink(srv.URL, siem.WebhookSplunkHEC, "", "hec-token"), siem.Env{})
	if err := s.Send(context.Background(), batch); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted receiver: %v", err)
	}
}

// TestPlainJSON posts a JSON array with a bearer token.
func TestPlainJSON(t *testing.T) {
	srv, got := server(t, false, 202)
	s, _ := webhook.Open(sink(srv.URL, siem.WebhookJSON, "", "tok"), siem.Env{})
	if err := s.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var evs []audit.Event
	if err := json.Unmarshal(got.body, &evs); err != nil || len(evs) != 2 || evs[1].ID != "ev-2" {
		t.Fatalf("body %s: %v", got.body, err)
	}
	if got.auth != "Bearer tok" {
		t.Errorf("Authorization %q", got.auth)
	}
}

// TestRefusalsAreFailures: an error status or a redirect is not an
// acknowledgement, and the error says what the receiver answered without
// repeating the URL's query.
func TestRefusalsAreFailures(t *testing.T) {
	for _, status := range []int{403, 503, 302} {
		srv, _ := server(t, false, status)
		s, _ := webhook.Open(sink(srv.URL+"/in?key=SECRET", siem.WebhookSplunkHEC, "", "tok"), siem.Env{})
		err := s.Send(context.Background(), batch)
		if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), http.StatusText(status)) {
			t.Errorf("status %d: %v", status, err)
		}
	}
	s, _ := webhook.Open(sink("http://127.0.0.1:1/in?key=SECRET", siem.WebhookSplunkHEC, "", "tok"), siem.Env{})
	if err := s.Send(context.Background(), batch); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("connection refused: %v", err)
	}
}
