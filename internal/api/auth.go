package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

type loginRequest struct {
	Name       string `json:"name"`
	Credential string `json:"credential"`
}

type loginResponse = identity.LoginResult

var principalOut = identity.Principal{}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Identity.Login(r.Context(), in.Name, in.Credential)
	if err != nil {
		return err
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
