package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

// Example values of the group routes' bodies, for the OpenAPI document.
var (
	groupOut    = identity.Group{}
	groupList   = List[*identity.Group]{}
	groupCreate = identity.GroupCreate{}
	groupUpdate = identity.GroupUpdate{}
	memberOut   = identity.GroupMember{}
	memberList  = List[*identity.GroupMember]{}
	memberAdd   = identity.MemberAdd{}
)

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	gs, next, err := s.Identity.ListGroups(r.Context(), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(gs, next))
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	var in identity.GroupCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := s.Identity.CreateGroup(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/groups/"+g.Name)
	return writeJSON(w, http.StatusCreated, g)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.Identity.GetGroup(r.Context(), r.PathValue("group"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	var in identity.GroupUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := s.Identity.UpdateGroup(r.Context(), r.PathValue("group"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.DeleteGroup(r.Context(), r.PathValue("group")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listGroupMembers(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ms, next, err := s.Identity.ListGroupMembers(r.Context(), r.PathValue("group"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ms, next))
}

func (s *Server) addGroupMember(w http.ResponseWriter, r *http.Request) error {
	var in identity.MemberAdd
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.Identity.AddGroupMember(r.Context(), r.PathValue("group"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, m)
}

func (s *Server) removeGroupMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.RemoveGroupMember(r.Context(), r.PathValue("group"), r.PathValue("member")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
