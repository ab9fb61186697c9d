package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// ListTokens returns one page of the caller's tokens, or of user's when
// user is set (for an administrator).
func (c *Client) ListTokens(ctx context.Context, user string, f identity.TokenListFilter, page enclave.Page) ([]*identity.Token, string, error) {
	p := "/auth/tokens"
	if user != "" {
		var err error
		if p, err = escapePath("users", user, "tokens"); err != nil {
			return nil, "", err
		}
	}
	q := url.Values{}
	setIf(q, "kind", string(f.Kind))
	if f.IncludeInactive {
		q.Set("include_inactive", "true")
	}
	return list[identity.Token](ctx, c, p, q, page)
}

// CreateToken creates a personal access token; its secret is in the result, once.
func (c *Client) CreateToken(ctx context.Context, in identity.TokenCreate) (*identity.IssuedToken, error) {
	return send[identity.IssuedToken](ctx, c, http.MethodPost, "/auth/tokens", in)
}

// RevokeToken revokes one of the caller's tokens, or of user's when user is set.
func (c *Client) RevokeToken(ctx context.Context, user, id string) error {
	segs := []string{"auth", "tokens", id}
	if user != "" {
		segs = []string{"users", user, "tokens", id}
	}
	p, err := escapePath(segs...)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}
