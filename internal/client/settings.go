package client

import (
	"context"
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

// GetSettings returns the platform settings.
func (c *Client) GetSettings(ctx context.Context) (*identity.Settings, error) {
	return get[identity.Settings](ctx, c, "/settings")
}

// UpdateSettings changes the platform settings that in sets.
func (c *Client) UpdateSettings(ctx context.Context, in identity.SettingsUpdate) (*identity.Settings, error) {
	return send[identity.Settings](ctx, c, http.MethodPatch, "/settings", in)
}
