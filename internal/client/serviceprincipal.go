package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// ListServicePrincipals returns one page of service principals, of one kind
// when kind is set.
func (c *Client) ListServicePrincipals(ctx context.Context, kind identity.ServiceKind, page enclave.Page) ([]*identity.Principal, string, error) {
	q := url.Values{}
	setIf(q, "service_kind", string(kind))
	return list[identity.Principal](ctx, c, "/service-principals", q, page)
}

// CreateServicePrincipal creates a service principal.
func (c *Client) CreateServicePrincipal(ctx context.Context, in identity.ServicePrincipalCreate) (*identity.Principal, error) {
	return send[identity.Principal](ctx, c, http.MethodPost, "/service-principals", in)
}

// GetServicePrincipal returns the service principal called name.
func (c *Client) GetServicePrincipal(ctx context.Context, name string) (*identity.Principal, error) {
	p, err := escapePath("service-principals", name)
	if err != nil {
		return nil, err
	}
	return get[identity.Principal](ctx, c, p)
}

// DeleteServicePrincipal deletes the service principal called name.
func (c *Client) DeleteServicePrincipal(ctx context.Context, name string) error {
	p, err := escapePath("service-principals", name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}

// ListClientSecrets lists a service principal's client secrets, newest first.
func (c *Client) ListClientSecrets(ctx context.Context, sp string) ([]*identity.ClientSecret, error) {
	p, err := escapePath("service-principals", sp, "secrets")
	if err != nil {
		return nil, err
	}
	items, _, err := list[identity.ClientSecret](ctx, c, p, nil, enclave.Page{})
	return items, err
}

// CreateClientSecret creates a client secret; its value is in the result, once.
func (c *Client) CreateClientSecret(ctx context.Context, sp string, in identity.ClientSecretCreate) (*identity.IssuedClientSecret, error) {
	p, err := escapePath("service-principals", sp, "secrets")
	if err != nil {
		return nil, err
	}
	return send[identity.IssuedClientSecret](ctx, c, http.MethodPost, p, in)
}

// RevokeClientSecret revokes a client secret.
func (c *Client) RevokeClientSecret(ctx context.Context, sp, id string) error {
	p, err := escapePath("service-principals", sp, "secrets", id)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}
