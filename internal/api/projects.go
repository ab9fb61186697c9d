package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/zone"
)

// Example values of the project routes' bodies, for the OpenAPI document.
var (
	projectOut    = zone.Project{}
	projectList   = List[*zone.Project]{}
	projectCreate = zone.ProjectCreate{}
	projectUpdate = zone.ProjectUpdate{}
)

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ps, next, err := s.Zones.ListProjects(r.Context(), r.PathValue("zone"),
		zone.ProjectFilter{State: zone.State(r.URL.Query().Get("state"))}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ps, next))
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	var in zone.ProjectCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Zones.CreateProject(r.Context(), r.PathValue("zone"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/zones/"+p.Zone+"/projects/"+p.Name)
	return writeJSON(w, http.StatusCreated, p)
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Zones.GetProject(r.Context(), r.PathValue("zone"), r.PathValue("project"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) error {
	var in zone.ProjectUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Zones.UpdateProject(r.Context(), r.PathValue("zone"), r.PathValue("project"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if err := s.Zones.DeleteProject(r.Context(), r.PathValue("zone"), r.PathValue("project")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
