package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/policy"
)

// The permissions of the policy routes. Only Platform Admins write
// guardrails; auditors and owners read them and their compliance.
const (
	permPolicyRead        access.Permission = "policy/definitions/read"
	permPolicyWrite       access.Permission = "policy/definitions/write"
	permComplianceRead    access.Permission = "policy/compliance/read"
	permComplianceRequest access.Permission = "policy/compliance/write"
)

// Example values of the policy routes' bodies, for the OpenAPI document.
var (
	policyDefOut     = policy.StoredDefinition{}
	policyDefList    = List[*policy.StoredDefinition]{}
	policyAssignOut  = policy.Assignment{}
	policyAssignList = List[*policy.Assignment]{}
	policyExemptOut  = policy.Exemption{}
	policyExemptList = List[*policy.Exemption]{}
	complianceOut    = policy.ComplianceReport{}
)

type decisionRequest struct {
	Comment string `json:"comment,omitempty"`
}

// policyRoutes are the guardrails': definitions (built in and the
// platform's own), assignments at a scope, exemptions approved by a second
// Platform Admin, and compliance.
func (s *Server) policyRoutes() []route {
	const tag = "policy"
	const defs, assigns, exempts = "/api/v1/policy/definitions", "/api/v1/policy/assignments", "/api/v1/policy/exemptions"
	return []route{
		{method: "GET", pattern: defs, perm: permPolicyRead, summary: "List policy definitions, built in and the platform's own", tag: tag, out: policyDefList, status: 200, handle: s.listPolicies},
		{method: "GET", pattern: defs + "/{policy}", perm: permPolicyRead, summary: "Get a policy definition", tag: tag, out: policyDefOut, status: 200, handle: s.getPolicy},
		{method: "PUT", pattern: defs + "/{policy}", kind: policy.KindDefinition, perm: permPolicyWrite, summary: "Create or replace a policy definition; its expressions are type-checked first", tag: tag, in: policy.Definition{}, out: policyDefOut, status: 200, handle: s.putPolicy},
		{method: "DELETE", pattern: defs + "/{policy}", kind: policy.KindDefinition, perm: permPolicyWrite, summary: "Delete a policy definition that is not assigned", tag: tag, status: 204, handle: s.deletePolicy},

		{method: "GET", pattern: assigns, perm: permPolicyRead, summary: "List policy assignments", tag: tag, out: policyAssignList, status: 200, handle: s.listAssignmentsOfPolicy},
		{method: "POST", pattern: assigns, kind: policy.KindAssignment, perm: permPolicyWrite, summary: "Assign a policy at the platform, a zone or a project, enforced or dry-run", tag: tag, in: policy.AssignmentCreate{}, out: policyAssignOut, status: 201, handle: s.createPolicyAssignment},
		{method: "GET", pattern: assigns + "/{assignment}", perm: permPolicyRead, summary: "Get a policy assignment", tag: tag, out: policyAssignOut, status: 200, handle: s.getPolicyAssignment},
		{method: "PATCH", pattern: assigns + "/{assignment}", kind: policy.KindAssignment, perm: permPolicyWrite, summary: "Change an assignment's mode, parameters or description", tag: tag, in: policy.AssignmentUpdate{}, out: policyAssignOut, status: 200, handle: s.updatePolicyAssignment},
		{method: "DELETE", pattern: assigns + "/{assignment}", kind: policy.KindAssignment, perm: permPolicyWrite, summary: "Remove a policy assignment and its exemptions", tag: tag, status: 204, handle: s.deletePolicyAssignment},

		{method: "GET", pattern: exempts, perm: permPolicyRead, summary: "List policy exemptions, newest first", tag: tag, out: policyExemptList, status: 200, handle: s.listExemptions},
		{method: "POST", pattern: exempts, kind: policy.KindExemption, perm: permPolicyWrite, summary: "Request an exemption from an assignment for a scope or one resource, with a reason and an expiry", tag: tag, in: policy.ExemptionCreate{}, out: policyExemptOut, status: 201, handle: s.requestExemption},
		{method: "GET", pattern: exempts + "/{id}", perm: permPolicyRead, summary: "Get a policy exemption", tag: tag, out: policyExemptOut, status: 200, handle: s.getExemption},
		{method: "POST", pattern: exempts + "/{id}/approve", kind: policy.KindExemption, perm: permPolicyWrite, summary: "Approve an exemption (not one's own)", tag: tag, in: decisionRequest{}, out: policyExemptOut, status: 200, handle: s.decideExemption(true)},
		{method: "POST", pattern: exempts + "/{id}/reject", kind: policy.KindExemption, perm: permPolicyWrite, summary: "Reject an exemption (not one's own)", tag: tag, in: decisionRequest{}, out: policyExemptOut, status: 200, handle: s.decideExemption(false)},
		{method: "DELETE", pattern: exempts + "/{id}", kind: policy.KindExemption, perm: permPolicyWrite, summary: "Withdraw an exemption", tag: tag, status: 204, handle: s.deleteExemption},

		{method: "POST", pattern: "/api/v1/policy/scans", perm: permComplianceRequest, noAdmission: "starts a compliance scan on the work queue; changes no resource", summary: "Scan every resource for compliance now (a background task)", tag: tag, out: taskOut, status: 202, handle: s.requestScan},
		{method: "GET", pattern: "/api/v1/policy/compliance", perm: permComplianceRead, summary: "Compliance of a scope as of the last scan: percentage, per child scope, per assignment, what to fix", tag: tag, out: complianceOut, status: 200, query: []param{{"scope", "/, /zones/ZONE or /zones/ZONE/projects/PROJECT (default /)"}}, handle: s.compliance},
	}
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.Policy.ListDefinitions(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ds, ""))
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Policy.GetDefinition(r.Context(), r.PathValue("policy"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) error {
	var in policy.Definition
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, created, err := s.Policy.PutDefinition(r.Context(), r.PathValue("policy"), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, d)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	if err := s.Policy.DeleteDefinition(r.Context(), r.PathValue("policy")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listAssignmentsOfPolicy(w http.ResponseWriter, r *http.Request) error {
	as, err := s.Policy.ListAssignments(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(as, ""))
}

func (s *Server) createPolicyAssignment(w http.ResponseWriter, r *http.Request) error {
	var in policy.AssignmentCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Policy.CreateAssignment(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) getPolicyAssignment(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Policy.GetAssignment(r.Context(), r.PathValue("assignment"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) updatePolicyAssignment(w http.ResponseWriter, r *http.Request) error {
	var in policy.AssignmentUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Policy.UpdateAssignment(r.Context(), r.PathValue("assignment"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) deletePolicyAssignment(w http.ResponseWriter, r *http.Request) error {
	if err := s.Policy.DeleteAssignment(r.Context(), r.PathValue("assignment")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listExemptions(w http.ResponseWriter, r *http.Request) error {
	es, err := s.Policy.ListExemptions(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(es, ""))
}

func (s *Server) requestExemption(w http.ResponseWriter, r *http.Request) error {
	var in policy.ExemptionCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := s.Policy.RequestExemption(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (s *Server) getExemption(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Policy.GetExemption(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) decideExemption(approve bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in decisionRequest
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
		e, err := s.Policy.DecideExemption(r.Context(), r.PathValue("id"), approve, in.Comment)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, e)
	}
}

func (s *Server) deleteExemption(w http.ResponseWriter, r *http.Request) error {
	if err := s.Policy.DeleteExemption(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) requestScan(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Policy.RequestScan(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, t)
}

func (s *Server) compliance(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.Policy.Compliance(r.Context(), r.URL.Query().Get("scope"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
