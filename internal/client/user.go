package client

import (
	"context"
	"net/http"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// ListUsers returns one page of users and the token of the next page.
func (c *Client) ListUsers(ctx context.Context, page enclave.Page) ([]*identity.Principal, string, error) {
	return list[identity.Principal](ctx, c, "/users", nil, page)
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, in identity.UserCreate) (*identity.Principal, error) {
	return send[identity.Principal](ctx, c, http.MethodPost, "/users", in)
}

// GetUser returns the user called name.
func (c *Client) GetUser(ctx context.Context, name string) (*identity.Principal, error) {
	p, err := escapePath("users", name)
	if err != nil {
		return nil, err
	}
	return get[identity.Principal](ctx, c, p)
}

// UpdateUser changes the fields of a user that in sets.
func (c *Client) UpdateUser(ctx context.Context, name string, in identity.UserUpdate) (*identity.Principal, error) {
	p, err := escapePath("users", name)
	if err != nil {
		return nil, err
	}
	return send[identity.Principal](ctx, c, http.MethodPatch, p, in)
}

// DeleteUser deletes the user called name.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	p, err := escapePath("users", name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}
