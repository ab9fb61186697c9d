package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/zone"
)

// Example values of the environment routes' bodies, for the OpenAPI document.
var (
	envOut    = zone.Environment{}
	envList   = List[*zone.Environment]{}
	envUpdate = zone.EnvironmentUpdate{}
)

// The environment handlers serve both a zone's shared environments and a
// project's own: the project path value is empty for the former.

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	es, err := s.Zones.ListEnvironments(r.Context(), r.PathValue("zone"), r.PathValue("project"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(es, ""))
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Zones.GetEnvironment(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("environment"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) updateEnvironment(w http.ResponseWriter, r *http.Request) error {
	var in zone.EnvironmentUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := s.Zones.UpdateEnvironment(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("environment"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}
