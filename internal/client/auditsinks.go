package client

import (
	"context"
	"net/http"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/siem"
)

// ListAuditSinks returns the audit sinks with their delivery health (one
// page holds them all).
func (c *Client) ListAuditSinks(ctx context.Context, page enclave.Page) ([]*siem.Sink, string, error) {
	return list[siem.Sink](ctx, c, "/audit/sinks", nil, page)
}

// CreateAuditSink defines an audit sink.
func (c *Client) CreateAuditSink(ctx context.Context, in siem.SinkCreate) (*siem.Sink, error) {
	return send[siem.Sink](ctx, c, http.MethodPost, "/audit/sinks", in)
}

// GetAuditSink returns the audit sink called name with its health.
func (c *Client) GetAuditSink(ctx context.Context, name string) (*siem.Sink, error) {
	p, err := escapePath("audit", "sinks", name)
	if err != nil {
		return nil, err
	}
	return get[siem.Sink](ctx, c, p)
}

// UpdateAuditSink changes the fields of an audit sink that in sets.
func (c *Client) UpdateAuditSink(ctx context.Context, name string, in siem.SinkUpdate) (*siem.Sink, error) {
	p, err := escapePath("audit", "sinks", name)
	if err != nil {
		return nil, err
	}
	return send[siem.Sink](ctx, c, http.MethodPatch, p, in)
}

// DeleteAuditSink deletes the audit sink called name.
func (c *Client) DeleteAuditSink(ctx context.Context, name string) error {
	p, err := escapePath("audit", "sinks", name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}
