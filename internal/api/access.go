package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// Example values of the access routes' bodies, for the OpenAPI document.
var (
	roleOut        = access.Role{}
	roleList       = List[*access.Role]{}
	assignmentOut  = access.Assignment{}
	assignmentList = List[*access.Assignment]{}
	grantIn        = access.Grant{}
	decisionOut    = access.Decision{}
	elevationOut   = access.Elevation{}
	elevationList  = List[*access.Elevation]{}
	elevationIn    = access.ElevationRequest{}
	decisionIn     = access.ElevationDecision{}
)

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, listOf(access.Roles(), ""))
}

func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	role, ok := access.RoleByID(r.PathValue("role"))
	if !ok {
		return enclave.Errorf(enclave.CodeNotFound, "no built-in role %q", enclave.Truncate(r.PathValue("role"), 64))
	}
	return writeJSON(w, http.StatusOK, role)
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := access.AssignmentFilter{Scope: access.Scope(q.Get("scope")), Role: q.Get("role"),
		AssigneeKind: access.AssigneeKind(q.Get("assignee_kind")), AssigneeName: q.Get("assignee")}
	if f.AssigneeName != "" && f.AssigneeKind == "" {
		f.AssigneeKind = access.AssigneeUser
	}
	as, next, err := s.Access.List(r.Context(), f, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(as, next))
}

func (s *Server) grant(w http.ResponseWriter, r *http.Request) error {
	var in access.Grant
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Access.Grant(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/access/assignments/"+a.ID)
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.Access.Revoke(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) checkAccess(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d, err := s.Access.Check(r.Context(), access.AssigneeKind(q.Get("kind")), q.Get("principal"),
		access.Permission(q.Get("action")), access.Scope(q.Get("scope")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) listElevations(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	es, next, err := s.Access.ListElevations(r.Context(), access.ElevationFilter{State: access.ElevationState(r.URL.Query().Get("state"))}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(es, next))
}

func (s *Server) requestElevation(w http.ResponseWriter, r *http.Request) error {
	var in access.ElevationRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := s.Access.RequestElevation(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/elevations/"+e.ID)
	return writeJSON(w, http.StatusCreated, e)
}

func (s *Server) getElevation(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Access.GetElevation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// decision reads an optional decision body: an approval may carry a note or nothing.
func decision(r *http.Request) (access.ElevationDecision, error) {
	var in access.ElevationDecision
	if r.ContentLength == 0 {
		return in, nil
	}
	return in, decodeJSON(r, &in)
}

func (s *Server) approveElevation(w http.ResponseWriter, r *http.Request) error {
	in, err := decision(r)
	if err != nil {
		return err
	}
	e, err := s.Access.ApproveElevation(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) rejectElevation(w http.ResponseWriter, r *http.Request) error {
	in, err := decision(r)
	if err != nil {
		return err
	}
	e, err := s.Access.RejectElevation(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) cancelElevation(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Access.CancelElevation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}
