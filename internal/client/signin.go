package client

import (
	"context"
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

// LoginPassword signs a person in with a password. When they use MFA the
// result carries a challenge (MFARequired) to complete with LoginMFA instead
// of a token.
func (c *Client) LoginPassword(ctx context.Context, name, password string) (*identity.LoginResult, error) {
	return c.signIn(ctx, "/auth/login", map[string]string{"name": name, "password": password})
}

// LoginMFA completes a password sign-in with a TOTP code or a recovery code.
func (c *Client) LoginMFA(ctx context.Context, challenge, code string) (*identity.LoginResult, error) {
	return c.signIn(ctx, "/auth/login/mfa", map[string]string{"challenge": challenge, "code": code})
}

// LoginClient signs a service principal in with a client secret.
func (c *Client) LoginClient(ctx context.Context, clientID, clientSecret string) (*identity.LoginResult, error) {
	return c.signIn(ctx, "/auth/token", map[string]string{"client_id": clientID, "client_secret": clientSecret})
}

func (c *Client) signIn(ctx context.Context, path string, body any) (*identity.LoginResult, error) {
	var out identity.LoginResult
	if err := c.do(ctx, request{method: http.MethodPost, path: path, anonymous: true, body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChangePassword sets the caller's password; current may be empty only
// while the caller has none.
func (c *Client) ChangePassword(ctx context.Context, in identity.PasswordChange) error {
	return c.do(ctx, request{method: http.MethodPost, path: "/auth/password", body: in}, nil)
}

// EnrollTOTP starts the caller's TOTP enrolment.
func (c *Client) EnrollTOTP(ctx context.Context) (*identity.TOTPEnrollment, error) {
	return send[identity.TOTPEnrollment](ctx, c, http.MethodPost, "/auth/mfa/totp", nil)
}

// ConfirmTOTP confirms the caller's enrolment with a code and returns the
// recovery codes, shown this once.
func (c *Client) ConfirmTOTP(ctx context.Context, code string) (*identity.RecoveryCodes, error) {
	return send[identity.RecoveryCodes](ctx, c, http.MethodPost, "/auth/mfa/totp/confirm", identity.MFACode{Code: code})
}

// RemoveTOTP removes the caller's MFA, proven with a TOTP or recovery code.
func (c *Client) RemoveTOTP(ctx context.Context, code string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/auth/mfa/totp", body: identity.MFACode{Code: code}}, nil)
}

// ResetUserMFA removes a user's MFA, for an administrator.
func (c *Client) ResetUserMFA(ctx context.Context, user string) error {
	p, err := escapePath("users", user, "mfa")
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}
