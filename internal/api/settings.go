package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

// Example values of the settings routes' bodies, for the OpenAPI document.
var (
	settingsOut    = identity.Settings{}
	settingsUpdate = identity.SettingsUpdate{}
)

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Identity.GetSettings(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	var in identity.SettingsUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	st, err := s.Identity.UpdateSettings(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}
