package api

import (
	"encoding/hex"
	"net/http"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// Example values of the audit routes' bodies, for the OpenAPI document.
var (
	auditList   = List[*audit.Event]{}
	auditReport = audit.Report{}
	auditKeys   = map[string]string{}
)

// auditRoutes are the routes of the audit trail: search, verification,
// evidence export and the checkpoint-signing keys.
func (s *Server) auditRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/audit/events", perm: audit.PermRead, scope: scopeInService, summary: "Search the audit trail (the read is audited)",
			tag: "audit", out: auditList, status: 200, handle: s.searchAudit, query: append([]param{
				{"from", "RFC 3339 time, inclusive"}, {"to", "RFC 3339 time, exclusive"}, {"actor", "actor name"}, {"actor_id", "actor principal ID"},
				{"action", "action, such as access.grant"}, {"target_type", "target resource type"}, {"target_id", "target ID"},
				{"outcome", "success, denied or failed"}, {"scope", "scope and below (default /)"}, {"request_id", "request ID"}}, pageQuery...)},
		{method: "POST", pattern: "/api/v1/audit/verify", perm: audit.PermVerify, noAdmission: "verifies the chain and changes no resource", summary: "Verify the whole chain and its signed checkpoints",
			tag: "audit", out: auditReport, status: 200, handle: s.verifyAudit},
		{method: "GET", pattern: "/api/v1/audit/export", perm: audit.PermVerify, summary: "Export an evidence bundle (tar) for offline verification",
			tag: "audit", status: 200, handle: s.exportAudit, query: []param{{"from", "RFC 3339 time"}, {"to", "RFC 3339 time (default: now)"}}},
		{method: "GET", pattern: "/api/v1/audit/keys", perm: audit.PermRead, summary: "The public keys that sign checkpoints",
			tag: "audit", out: auditKeys, status: 200, handle: s.auditKeys},
	}
}

func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, enclave.FieldError(name, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

func (s *Server) searchAudit(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	from, err := timeParam(r, "from")
	if err != nil {
		return err
	}
	to, err := timeParam(r, "to")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	scope := q.Get("scope")
	if scope != "" {
		if _, err := access.ParseScope("scope", access.Scope(scope)); err != nil {
			return err
		}
	}
	f := audit.Filter{From: from, To: to, ActorName: q.Get("actor"), ActorID: q.Get("actor_id"), Action: q.Get("action"),
		TargetType: q.Get("target_type"), TargetID: q.Get("target_id"), Outcome: audit.Outcome(q.Get("outcome")),
		Scope: scope, RequestID: q.Get("request_id")}
	evs, next, err := s.Audit.Search(r.Context(), f, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(evs, next))
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.Audit.Verify(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	from, err := timeParam(r, "from")
	if err != nil {
		return err
	}
	to, err := timeParam(r, "to")
	if err != nil {
		return err
	}
	if !to.IsZero() && !from.Before(to) {
		return enclave.FieldError("to", "to must be after from")
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="enclave-audit-bundle.tar"`)
	_, err = s.Audit.Export(r.Context(), from, to, w)
	return err
}

func (s *Server) auditKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Audit.PublicKeys(r.Context())
	if err != nil {
		return err
	}
	out := map[string]string{}
	for id, k := range keys {
		out[id] = hex.EncodeToString(k)
	}
	return writeJSON(w, http.StatusOK, out)
}
