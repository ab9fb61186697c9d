package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

// Example values of the service-principal routes' bodies, for the OpenAPI document.
var (
	spOut        = identity.Principal{}
	spList       = List[*identity.Principal]{}
	spCreate     = identity.ServicePrincipalCreate{}
	spUpdate     = identity.ServicePrincipalUpdate{}
	secretCreate = identity.ClientSecretCreate{}
	secretIssued = identity.IssuedClientSecret{}
	secretList   = List[*identity.ClientSecret]{}
)

func (s *Server) listServicePrincipals(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ps, next, err := s.Identity.ListServicePrincipals(r.Context(), identity.ServiceKind(r.URL.Query().Get("service_kind")), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ps, next))
}

func (s *Server) createServicePrincipal(w http.ResponseWriter, r *http.Request) error {
	var in identity.ServicePrincipalCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Identity.CreateServicePrincipal(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/service-principals/"+p.Name)
	return writeJSON(w, http.StatusCreated, p)
}

func (s *Server) getServicePrincipal(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Identity.GetServicePrincipal(r.Context(), r.PathValue("sp"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) updateServicePrincipal(w http.ResponseWriter, r *http.Request) error {
	var in identity.ServicePrincipalUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Identity.UpdateServicePrincipal(r.Context(), r.PathValue("sp"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) deleteServicePrincipal(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.DeleteServicePrincipal(r.Context(), r.PathValue("sp")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listClientSecrets(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.Identity.ListClientSecrets(r.Context(), r.PathValue("sp"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(cs, ""))
}

func (s *Server) createClientSecret(w http.ResponseWriter, r *http.Request) error {
	var in identity.ClientSecretCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Identity.CreateClientSecret(r.Context(), r.PathValue("sp"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) revokeClientSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.RevokeClientSecret(r.Context(), r.PathValue("sp"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
