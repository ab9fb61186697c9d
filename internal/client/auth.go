package client

import (
	"context"
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

// loginRequest is the body of POST /auth/login.
type loginRequest struct {
	Name       string `json:"name"`
	Credential string `json:"credential"`
}

// Login exchanges a principal's one-time credential for an API token. It
// sends no token of its own; the result's Secret is the new token, shown
// this once.
func (c *Client) Login(ctx context.Context, name, credential string) (*identity.LoginResult, error) {
	var out identity.LoginResult
	req := request{method: http.MethodPost, path: "/auth/login", anonymous: true,
		body: loginRequest{Name: name, Credential: credential}}
	if err := c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Logout revokes the token the client calls with.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodPost, path: "/auth/logout"}, nil)
}

// Whoami returns the principal the client's token belongs to.
func (c *Client) Whoami(ctx context.Context) (*identity.Principal, error) {
	return get[identity.Principal](ctx, c, "/auth/whoami")
}
