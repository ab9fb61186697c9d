package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/identity"
)

// Example values of the MFA routes' bodies, for the OpenAPI document.
var (
	mfaEnrollmentOut = identity.TOTPEnrollment{}
	mfaCodeIn        = identity.MFACode{}
	recoveryCodesOut = identity.RecoveryCodes{}
)

func (s *Server) enrollTOTP(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Identity.EnrollTOTP(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in identity.MFACode
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	codes, err := s.Identity.ConfirmTOTP(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, codes)
}

func (s *Server) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	var in identity.MFACode
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Identity.RemoveTOTP(r.Context(), in); err != nil {
		return withRetryAfter(w, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) resetUserMFA(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.ResetUserMFA(r.Context(), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
