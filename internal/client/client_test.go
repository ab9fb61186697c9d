package client

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/enclave-ml/enclave/internal/zone"
)

// seen is what a test server recorded about one request.
type seen struct {
	Method, Path, RawPath, Query string
	Header                       http.Header
	Body                         string
}

// recorder serves handler and records every request.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (rec *recorder) last() seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.reqs[len(rec.reqs)-1]
}

func newServer(t *testing.T, handler http.HandlerFunc) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Clone(), string(body)})
		rec.mu.Unlock()
		w.Header().Set("X-Request-Id", "req-header")
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/", Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestProblemDecoding(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		status      int
		body        string
		wantCode    enclave.Code
		wantMsg     string
	}{
		{"problem", "application/problem+json", 409,
			`{"type":"urn:enclave:problem:conflict","title":"Conflict","status":409,"detail":"zone eu already exists","code":"conflict","field":"name","request_id":"0190abc"}`,
			enclave.CodeConflict, "conflict: zone eu already exists (field name) [request 0190abc]"},
		{"code from type", "application/problem+json", 404,
			`{"type":"urn:enclave:problem:not_found","title":"Not Found","status":404,"detail":"no zone eu"}`,
			enclave.CodeNotFound, "not_found: no zone eu [request req-header]"},
		{"proxy html", "text/html", 502, `<html><script>evil()</script></html>`,
			enclave.CodeUnavailable, "unavailable: server answered 502 Bad Gateway with a text/html body, not an Enclave error (is a proxy in the way?) [request req-header]"},
		{"broken json", "application/problem+json", 500, `{"detail":`,
			enclave.CodeInternal, "internal: server answered 500 Internal Server Error [request req-header]"},
		{"control characters", "application/problem+json", 400,
			`{"code":"invalid_argument","detail":"bad\u001b[2Jname\nhere"}`,
			enclave.CodeInvalidArgument, "invalid_argument: bad[2Jname here [request req-header]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.GetZone(context.Background(), "eu")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Status != tt.status || ae.Code != tt.wantCode {
				t.Errorf("status, code = %d, %s; want %d, %s", ae.Status, ae.Code, tt.status, tt.wantCode)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("message = %q\nwant      %q", err.Error(), tt.wantMsg)
			}
			if !enclave.IsCode(err, tt.wantCode) {
				t.Errorf("enclave.IsCode(err, %s) = false", tt.wantCode)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	pages := map[string]string{
		"":   `{"items":[{"name":"a"},{"name":"b"}],"next_page_token":"t1"}`,
		"t1": `{"items":[{"name":"c"},{"name":"d"}],"next_page_token":"t2"}`,
		"t2": `{"items":[{"name":"e"}]}`,
	}
	c, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, pages[r.URL.Query().Get("page_token")])
	})
	list := func(ctx context.Context, p enclave.Page) ([]*zone.Zone, string, error) {
		return c.ListZones(ctx, zone.ZoneFilter{Region: "eu-west", State: zone.Active}, p)
	}
	ctx := context.Background()

	all, err := Collect(ctx, 0, list)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(all); got != "a,b,c,d,e" {
		t.Errorf("all = %s", got)
	}
	if q := rec.last().Query; q != "page_size=200&page_token=t2&region=eu-west&state=active" {
		t.Errorf("last query = %s", q)
	}

	rec.reqs = nil
	three, err := Collect(ctx, 3, list)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(three); got != "a,b,c" {
		t.Errorf("limit 3 = %s", got)
	}
	if len(rec.reqs) != 2 {
		t.Errorf("limit 3 made %d requests, want 2", len(rec.reqs))
	}
	if q := rec.reqs[0].Query; !strings.Contains(q, "page_size=3") {
		t.Errorf("limit 3 query = %s", q)
	}
}

func TestPaginationRepeatedToken(t *testing.T) {
	c, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"items": []any{map[string]string{"id": "x"}}, "next_page_token": "same"})
	})
	_, err := Collect(context.Background(), 0, func(ctx context.Context, p enclave.Page) ([]*workqueue.Task, string, error) {
		return c.ListTasks(ctx, workqueue.Filter{}, p)
	})
	if !enclave.IsCode(err, enclave.CodeInternal) || !strings.Contains(err.Error(), "same page token") {
		t.Fatalf("err = %v", err)
	}
}

func names(zs []*zone.Zone) string {
	var n []string
	for _, z := range zs {
		n = append(n, z.Name)
	}
	return strings.Join(n, ",")
}

func TestHeaders(t *testing.T) {
	c, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			writeJSON(w, http.StatusCreated, map[string]string{"name": "eu"})
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, 200, map[string]string{"name": "eu"})
		}
	})
	ctx := context.Background()

	if _, err := c.CreateZone(ctx, zone.ZoneCreate{Name: "eu", Region: "eu-west"}); err != nil {
		t.Fatal(err)
	}
	first := rec.last()
	if first.Path != "/api/v1/zones" || first.Header.Get("Authorization") != "Bearer s3cret" ||
		first.Header.Get("User-Agent") != "enclave-cli" || first.Header.Get("Content-Type") != "application/json" {
		t.Errorf("create request = %+v", first)
	}
	if first.Body != `{"name":"eu","region":"eu-west"}` {
		t.Errorf("create body = %s", first.Body)
	}
	key := first.Header.Get("Idempotency-Key")
	if len(key) < 16 {
		t.Errorf("Idempotency-Key = %q", key)
	}
	if _, err := c.CreateZone(ctx, zone.ZoneCreate{Name: "eu", Region: "eu-west"}); err != nil {
		t.Fatal(err)
	}
	if again := rec.last().Header.Get("Idempotency-Key"); again == "" || again == key {
		t.Errorf("second POST key = %q, want a fresh one (first %q)", again, key)
	}

	if _, err := c.GetZone(ctx, "eu"); err != nil {
		t.Fatal(err)
	}
	if k := rec.last().Header.Get("Idempotency-Key"); k != "" {
		t.Errorf("GET carries Idempotency-Key %q", k)
	}
	if err := c.DeleteZone(ctx, "eu"); err != nil {
		t.Fatal(err)
	}
	if m := rec.last().Method; m != http.MethodDelete {
		t.Errorf("method = %s", m)
	}

	if _, err := c.Login(ctx, "admin", "cred"); err != nil {
		t.Fatal(err)
	}
	login := rec.last()
	if login.Header.Get("Authorization") != "" || login.Body != `{"name":"admin","credential":"cred"}` {
		t.Errorf("login request = %+v", login)
	}
}

func TestPathEscaping(t *testing.T) {
	c, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"items": []any{}})
	})
	ctx := context.Background()
	if _, err := c.GetEnvironment(ctx, "a/b", "p q", "dev"); err != nil {
		t.Fatal(err)
	}
	if got := rec.last().RawPath; got != "/api/v1/zones/a%2Fb/projects/p%20q/environments/dev" {
		t.Errorf("raw path = %q", got)
	}
	if _, err := c.ListEnvironments(ctx, "eu", ""); err != nil {
		t.Fatal(err)
	}
	if got := rec.last().Path; got != "/api/v1/zones/eu/environments" {
		t.Errorf("shared environments path = %q", got)
	}
	for _, bad := range []string{"", ".", ".."} {
		if _, err := c.GetZone(ctx, bad); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("GetZone(%q) err = %v", bad, err)
		}
	}
}

func TestTLSWithCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"name": "admin"})
	}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	c, err := New(Options{BaseURL: srv.URL, CAFile: caFile, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "admin" {
		t.Errorf("principal = %+v", p)
	}

	// Without the CA file the system roots do not trust the test server.
	untrusting, err := New(Options{BaseURL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = untrusting.Whoami(ctx)
	if !enclave.IsCode(err, enclave.CodeUnavailable) || !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("untrusted err = %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{BaseURL: srv.URL, CAFile: bad}); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
		t.Errorf("bad CA file err = %v", err)
	}
	if _, err := New(Options{BaseURL: srv.URL, CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Error("missing CA file accepted")
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	c, err := New(Options{BaseURL: "https://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Whoami(context.Background())
	if !enclave.IsCode(err, enclave.CodeUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if want := "cannot reach https://" + addr; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q", err, want)
	}
}

func TestBaseURLValidation(t *testing.T) {
	for _, raw := range []string{"", "enclave.example", "ftp://x", "https://", "https://u:p@x", "https://x/?a=b", "http://enclave.example:8080"} {
		if _, err := New(Options{BaseURL: raw}); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("New(%q) err = %v", raw, err)
		}
	}
	c, err := New(Options{BaseURL: "http://127.0.0.1:8080/prefix/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://127.0.0.1:8080/prefix" {
		t.Errorf("BaseURL = %q", c.BaseURL())
	}
}

func TestNonJSONSuccess(t *testing.T) {
	c, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>captive portal</html>")
	})
	_, err := c.GetTask(context.Background(), "t1")
	if !enclave.IsCode(err, enclave.CodeUnavailable) || !strings.Contains(err.Error(), "did not answer as an Enclave server") {
		t.Errorf("err = %v", err)
	}
}

func FuzzDecodeProblem(f *testing.F) {
	f.Add("application/problem+json", `{"code":"conflict","detail":"zone eu exists","field":"name"}`)
	f.Add("text/html", "<html>\x1b[2J</html>")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		resp := &http.Response{StatusCode: 418, Header: http.Header{"Content-Type": {contentType}},
			Body: io.NopCloser(strings.NewReader(body))}
		e := decodeProblem(resp)
		if e.Status != 418 || e.Code == "" {
			t.Fatalf("decodeProblem = %+v", e)
		}
		for _, r := range e.Error() {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("message %q holds control character %U", e.Error(), r)
			}
		}
	})
}
