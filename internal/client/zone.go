package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

// ListZones returns one page of the zones that match f, and the token of
// the next page ("" after the last).
func (c *Client) ListZones(ctx context.Context, f zone.ZoneFilter, page enclave.Page) ([]*zone.Zone, string, error) {
	q := url.Values{}
	setIf(q, "region", f.Region)
	setIf(q, "state", string(f.State))
	return list[zone.Zone](ctx, c, "/zones", q, page)
}

// CreateZone creates a zone.
func (c *Client) CreateZone(ctx context.Context, in zone.ZoneCreate) (*zone.Zone, error) {
	return send[zone.Zone](ctx, c, http.MethodPost, "/zones", in)
}

// GetZone returns the zone called name.
func (c *Client) GetZone(ctx context.Context, name string) (*zone.Zone, error) {
	p, err := escapePath("zones", name)
	if err != nil {
		return nil, err
	}
	return get[zone.Zone](ctx, c, p)
}

// UpdateZone changes the fields of a zone that in sets.
func (c *Client) UpdateZone(ctx context.Context, name string, in zone.ZoneUpdate) (*zone.Zone, error) {
	p, err := escapePath("zones", name)
	if err != nil {
		return nil, err
	}
	return send[zone.Zone](ctx, c, http.MethodPatch, p, in)
}

// DeleteZone deletes the zone called name.
func (c *Client) DeleteZone(ctx context.Context, name string) error {
	p, err := escapePath("zones", name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}
