package api

import (
	"math"
	"net/http"
	"strconv"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// loginRequest is the body of POST /api/v1/auth/login: a name with either
// a password or the one-time bootstrap credential.
type loginRequest struct {
	Name       string `json:"name"`
	Password   string `json:"password,omitempty"`
	Credential string `json:"credential,omitempty"`
}

// loginMFARequest is the body of POST /api/v1/auth/login/mfa.
type loginMFARequest struct {
	Challenge string `json:"challenge"`
	// Code is a TOTP code or a recovery code.
	Code string `json:"code"`
}

// clientTokenRequest is the body of POST /api/v1/auth/token: a service
// principal's client-credentials sign-in.
type clientTokenRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type loginResponse = identity.LoginResult

var principalOut = identity.Principal{}

// withRetryAfter sets Retry-After on a rate_limited refusal.
func withRetryAfter(w http.ResponseWriter, err error) error {
	if d, ok := identity.RetryAfterOf(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
	}
	return err
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var res *identity.LoginResult
	var err error
	switch {
	case in.Password != "" && in.Credential != "":
		return enclave.FieldError("credential", "send either password or credential, not both")
	case in.Credential != "":
		res, err = s.Identity.Login(r.Context(), in.Name, in.Credential)
	default:
		res, err = s.Identity.LoginPassword(r.Context(), in.Name, in.Password)
	}
	if err != nil {
		return withRetryAfter(w, err)
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) error {
	var in loginMFARequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Identity.LoginMFA(r.Context(), in.Challenge, in.Code)
	if err != nil {
		return withRetryAfter(w, err)
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) clientToken(w http.ResponseWriter, r *http.Request) error {
	var in clientTokenRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Identity.LoginClient(r.Context(), in.ClientID, in.ClientSecret)
	if err != nil {
		return withRetryAfter(w, err)
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.Logout(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Identity.Whoami(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in identity.PasswordChange
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Identity.ChangePassword(r.Context(), in); err != nil {
		return withRetryAfter(w, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var passwordChangeIn = identity.PasswordChange{}
