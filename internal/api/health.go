package api

import (
	"context"
	"net/http"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Status is the body of the health endpoints.
type Status struct {
	Status string `json:"status"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, Status{Status: "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.Logger.WarnContext(ctx, "not ready", "error", err.Error())
		return enclave.Errorf(enclave.CodeUnavailable, "the database does not answer")
	}
	return writeJSON(w, http.StatusOK, Status{Status: "ready"})
}
