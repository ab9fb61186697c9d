package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// AuditQuery narrows a search of the audit trail.
type AuditQuery struct {
	From, To                            time.Time
	Actor, Action, TargetType, TargetID string
	Outcome, Scope, RequestID           string
}

func (q AuditQuery) values() url.Values {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339))
	}
	setIf(v, "actor", q.Actor)
	setIf(v, "action", q.Action)
	setIf(v, "target_type", q.TargetType)
	setIf(v, "target_id", q.TargetID)
	setIf(v, "outcome", q.Outcome)
	setIf(v, "scope", q.Scope)
	setIf(v, "request_id", q.RequestID)
	return v
}

// SearchAudit returns one page of audit records, oldest first.
func (c *Client) SearchAudit(ctx context.Context, q AuditQuery, page enclave.Page) ([]*audit.Event, string, error) {
	return list[audit.Event](ctx, c, "/audit/events", q.values(), page)
}

// VerifyAudit asks the server to verify the whole chain.
func (c *Client) VerifyAudit(ctx context.Context) (*audit.Report, error) {
	return send[audit.Report](ctx, c, http.MethodPost, "/audit/verify", nil)
}

// AuditKeys returns the checkpoint-signing public keys (hex) by ID.
func (c *Client) AuditKeys(ctx context.Context) (map[string]string, error) {
	var out map[string]string
	if err := c.do(ctx, request{method: http.MethodGet, path: "/audit/keys"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ExportAudit writes the evidence bundle of the records between from and to to w.
func (c *Client) ExportAudit(ctx context.Context, from, to time.Time, w io.Writer) error {
	return c.download(ctx, "/audit/export", AuditQuery{From: from, To: to}.values(), w)
}

// download streams the body of a GET to w.
func (c *Client) download(ctx context.Context, path string, q url.Values, w io.Writer) error {
	u := c.baseURL + apiPrefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot build a request to %s", c.baseURL)
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return decodeProblem(resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return enclave.Wrap(enclave.CodeUnavailable, err, "download from %s interrupted", c.baseURL)
	}
	return nil
}
