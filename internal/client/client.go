// Package client is a Go client for Enclave's REST API. It speaks the API's
// conventions once — bearer tokens, an Idempotency-Key on every POST, problem
// documents for errors, opaque page tokens — so that the CLI and other Go
// programs call typed methods that take and return the domain types of
// packages zone, identity and workqueue.
//
// A refused request comes back as an *APIError carrying the server's error
// code; a server that cannot be reached comes back as an *enclave.Error of
// kind enclave.CodeUnavailable.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// DefaultTimeout bounds one request, from dialling to reading the body.
const DefaultTimeout = 30 * time.Second

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "enclave-cli"

// apiPrefix is the path of the API under the server's base URL.
const apiPrefix = "/api/v1"

// Response bodies are read up to these sizes: a list page is at most a few
// hundred items; an error is a short problem document.
const (
	maxBodyBytes  = 16 << 20
	maxErrorBytes = 64 << 10
)

// Options configure a Client.
type Options struct {
	// BaseURL is the server's address, such as "https://enclave.example:8443".
	// Plain http is allowed only for a loopback address.
	BaseURL string
	// CAFile is a PEM file of the CA certificates to trust for the server.
	// When set, those certificates are trusted and nothing else; when empty,
	// the system roots are used.
	CAFile string
	// Token is the API token sent as a bearer credential. It may be empty for
	// Login.
	Token string
	// HTTPClient, when set, is used as it is; CAFile must then be empty.
	HTTPClient *http.Client
	// UserAgent defaults to DefaultUserAgent.
	UserAgent string
}

// Client calls one Enclave server. It is safe for concurrent use.
type Client struct {
	baseURL   string
	token     string
	userAgent string
	http      *http.Client
}

// New returns a client for the server at opts.BaseURL.
func New(opts Options) (*Client, error) {
	base, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{baseURL: base, token: opts.Token, userAgent: opts.UserAgent, http: opts.HTTPClient}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.http != nil {
		if opts.CAFile != "" {
			return nil, enclave.FieldError("ca_file", "set either a CA file or an HTTP client, not both")
		}
		return c, nil
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		pool, err := loadCAFile(opts.CAFile)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = pool
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.TLSHandshakeTimeout = 10 * time.Second
	transport.ResponseHeaderTimeout = DefaultTimeout
	c.http = &http.Client{
		Transport: transport,
		Timeout:   DefaultTimeout,
		// A redirect would turn a POST into a GET and may drop the token;
		// the caller should use the final URL instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// BaseURL returns the server address the client calls, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

func parseBaseURL(raw string) (string, error) {
	if raw == "" {
		return "", enclave.FieldError("server", "the server URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", enclave.FieldError("server", "server URL %q is not a URL", raw)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", enclave.FieldError("server", "server URL %q must start with https:// (or http:// on loopback)", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", enclave.FieldError("server", "server URL %q must be scheme://host[:port][/path] only", u.Redacted())
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		// The token would cross the network in the clear.
		return "", enclave.FieldError("server", "server URL %q must use https:// (plain http is only for a loopback address)", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, &enclave.Error{Code: enclave.CodeInvalidArgument, Field: "ca_file",
			Message: "cannot read CA file " + path, Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, enclave.FieldError("ca_file", "CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// request is one API call.
type request struct {
	method string
	path   string // under /api/v1, already escaped
	query  url.Values
	body   any
	// anonymous requests carry no token (sign-in).
	anonymous bool
	// status, when set, receives the status of a successful response
	// (201 Created or 200 OK from a create-or-replace).
	status *int
}

// do sends req and decodes a successful JSON response into out, which may
// be nil for responses without a body.
func (c *Client) do(ctx context.Context, req request, out any) error {
	u := c.baseURL + apiPrefix + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		raw, err := json.Marshal(req.body)
		if err != nil {
			return enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot encode the request")
		}
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot build a request to %s", c.baseURL)
	}
	hr.Header.Set("Accept", "application/json, application/problem+json")
	hr.Header.Set("User-Agent", c.userAgent)
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.method == http.MethodPost {
		// A fresh key per call: a transport-level retry of this request
		// replays the first response instead of acting twice.
		hr.Header.Set("Idempotency-Key", uuid.NewString())
	}
	if !req.anonymous {
		c.authorize(hr)
	}

	resp, err := c.http.Do(hr)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode >= 400:
		return decodeProblem(resp)
	case resp.StatusCode >= 300:
		return enclave.Errorf(enclave.CodeFailedPrecondition,
			"%s answered with a redirect to %q: use the final URL as the server", c.baseURL, resp.Header.Get("Location"))
	}
	if req.status != nil {
		*req.status = resp.StatusCode
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
		return nil
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return enclave.Errorf(enclave.CodeUnavailable,
			"%s did not answer as an Enclave server (status %d, content type %q)", c.baseURL, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBodyBytes)).Decode(out); err != nil {
		return enclave.Wrap(enclave.CodeInternal, err, "cannot decode the response of %s %s", req.method, apiPrefix+req.path)
	}
	return nil
}

// authorize sets the request's identity headers.
func (c *Client) authorize(hr *http.Request) {
	hr.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// transportError describes a request that got no HTTP response.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is in our message already
	}
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return enclave.Wrap(enclave.CodeUnavailable, err,
			"cannot reach %s: its certificate is not trusted (is the CA file right?)", c.baseURL)
	}
	return enclave.Wrap(enclave.CodeUnavailable, err, "cannot reach %s", c.baseURL)
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == "application/problem+json")
}

// escapePath joins escaped segments under the API prefix. Empty, "." and ".."
// segments are refused: they would address a different resource.
func escapePath(segments ...string) (string, error) {
	var b strings.Builder
	for _, s := range segments {
		if s == "" || s == "." || s == ".." {
			return "", enclave.Errorf(enclave.CodeInvalidArgument, "%q is not a valid resource name", s)
		}
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String(), nil
}

// listResponse is the shape of every list endpoint.
type listResponse[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token"`
}

// pageQuery adds the page parameters to q.
func pageQuery(q url.Values, page enclave.Page) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if page.Size > 0 {
		q.Set("page_size", fmt.Sprint(page.Size))
	}
	if page.Token != "" {
		q.Set("page_token", page.Token)
	}
	return q
}

// setIf sets key in q when value is not empty.
func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// get fetches one resource.
func get[T any](ctx context.Context, c *Client, p string) (*T, error) {
	var out T
	if err := c.do(ctx, request{method: http.MethodGet, path: p}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// send sends body with method and decodes the resource it returns.
func send[T any](ctx context.Context, c *Client, method, p string, body any) (*T, error) {
	var out T
	if err := c.do(ctx, request{method: method, path: p, body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// list fetches one page.
func list[T any](ctx context.Context, c *Client, p string, q url.Values, page enclave.Page) ([]*T, string, error) {
	var out listResponse[*T]
	if err := c.do(ctx, request{method: http.MethodGet, path: p, query: pageQuery(q, page)}, &out); err != nil {
		return nil, "", err
	}
	return out.Items, out.NextPageToken, nil
}
