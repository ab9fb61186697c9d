package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

// Example values of the user routes' bodies, for the OpenAPI document.
var (
	userOut    = identity.Principal{}
	userList   = List[*identity.Principal]{}
	userCreate = identity.UserCreate{}
	userUpdate = identity.UserUpdate{}
)

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	us, next, err := s.Identity.ListUsers(r.Context(), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(us, next))
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in identity.UserCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.Identity.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+u.Name)
	return writeJSON(w, http.StatusCreated, u)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Identity.GetUser(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var in identity.UserUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.Identity.UpdateUser(r.Context(), r.PathValue("user"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.DeleteUser(r.Context(), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
