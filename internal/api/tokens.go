package api

import (
	"net/http"
	"strconv"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// Example values of the token routes' bodies, for the OpenAPI document.
var (
	tokenCreate = identity.TokenCreate{}
	tokenIssued = identity.IssuedToken{}
	tokenList   = List[*identity.Token]{}
	tokenQuery  = append([]param{{"include_inactive", "true to list revoked and expired tokens too"},
		{"kind", "only tokens of this kind: login, session, pat or service"}}, pageQuery...)
)

// tokenFilter reads include_inactive and kind.
func tokenFilter(r *http.Request) (identity.TokenListFilter, error) {
	q := r.URL.Query()
	f := identity.TokenListFilter{Kind: identity.TokenKind(q.Get("kind"))}
	if v := q.Get("include_inactive"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, enclave.FieldError("include_inactive", "include_inactive must be true or false")
		}
		f.IncludeInactive = b
	}
	return f, nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	return s.writeTokens(w, r, "")
}

func (s *Server) listUserTokens(w http.ResponseWriter, r *http.Request) error {
	return s.writeTokens(w, r, r.PathValue("user"))
}

func (s *Server) writeTokens(w http.ResponseWriter, r *http.Request, user string) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	f, err := tokenFilter(r)
	if err != nil {
		return err
	}
	var ts []*identity.Token
	var next string
	if user == "" {
		ts, next, err = s.Identity.ListTokens(r.Context(), f, page)
	} else {
		ts, next, err = s.Identity.ListUserTokens(r.Context(), user, f, page)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ts, next))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in identity.TokenCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.Identity.CreateToken(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.RevokeToken(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revokeUserToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.RevokeUserToken(r.Context(), r.PathValue("user"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
