package api

import (
	"context"
	"net/http"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/siem"
)

// The permissions of the audit sink routes.
const (
	permSinksRead  access.Permission = "audit/sinks/read"
	permSinksWrite access.Permission = "audit/sinks/write"
)

// Example values of the audit sink routes' bodies, for the OpenAPI document.
var (
	sinkOut    = siem.Sink{}
	sinkList   = List[*siem.Sink]{}
	sinkCreate = siem.SinkCreate{}
	sinkUpdate = siem.SinkUpdate{}
)

// sinkRoutes are the audit sinks': a Platform Admin defines where the audit
// trail is streamed; whoever may read sinks sees their health. The bodies
// may carry a webhook token, so they are never fingerprinted for
// idempotency, and no response carries it.
func (s *Server) sinkRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/audit/sinks", perm: permSinksRead, summary: "List audit sinks with their delivery health", tag: "audit", out: sinkList, status: 200, handle: s.listSinks},
		{method: "POST", pattern: "/api/v1/audit/sinks", kind: "audit-sink", perm: permSinksWrite, secretRequest: true, summary: "Define an audit sink (file, syslog or webhook)", tag: "audit", in: sinkCreate, out: sinkOut, status: 201, handle: s.createSink},
		{method: "GET", pattern: "/api/v1/audit/sinks/{sink}", perm: permSinksRead, summary: "Get an audit sink with its delivery health", tag: "audit", out: sinkOut, status: 200, handle: s.getSink},
		{method: "PATCH", pattern: "/api/v1/audit/sinks/{sink}", kind: "audit-sink", perm: permSinksWrite, secretRequest: true, summary: "Change, enable or disable an audit sink", tag: "audit", in: sinkUpdate, out: sinkOut, status: 200, handle: s.updateSink},
		{method: "DELETE", pattern: "/api/v1/audit/sinks/{sink}", kind: "audit-sink", perm: permSinksWrite, summary: "Delete an audit sink and its cursor", tag: "audit", status: 204, handle: s.deleteSink},
	}
}

func (s *Server) listSinks(w http.ResponseWriter, r *http.Request) error {
	sinks, err := s.Sinks.List(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(sinks, ""))
}

func (s *Server) createSink(w http.ResponseWriter, r *http.Request) error {
	var in siem.SinkCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sk, err := s.Sinks.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, sk)
}

func (s *Server) getSink(w http.ResponseWriter, r *http.Request) error {
	sk, err := s.Sinks.Get(r.Context(), r.PathValue("sink"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sk)
}

func (s *Server) updateSink(w http.ResponseWriter, r *http.Request) error {
	var in siem.SinkUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sk, err := s.Sinks.Update(r.Context(), r.PathValue("sink"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sk)
}

func (s *Server) deleteSink(w http.ResponseWriter, r *http.Request) error {
	if err := s.Sinks.Delete(r.Context(), r.PathValue("sink")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// gateExempt are the routes fail-closed mode never refuses: signing in and
// out (without them nobody could reach the sinks to repair them) and
// managing the sinks themselves (to repair one, or to turn fail-closed off).
// Each is still recorded in the audit trail, and reaches the sinks once one
// recovers.
var gateExempt = map[string]bool{
	"/api/v1/auth/login":         true,
	"/api/v1/auth/login/mfa":     true,
	"/api/v1/auth/token":         true,
	"/api/v1/auth/logout":        true,
	"/api/v1/audit/sinks":        true,
	"/api/v1/audit/sinks/{sink}": true,
}

// FailClosedGate adapts a fail-closed check (siem.Service.WriteGate) to
// Server.WriteGate: it asks gate before every mutating request except
// those of gateExempt.
func FailClosedGate(gate func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if ri := routeOf(ctx); ri != nil && gateExempt[ri.pattern] {
			return nil
		}
		return gate(ctx)
	}
}
