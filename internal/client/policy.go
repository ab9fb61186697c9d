package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// ListPolicies returns the policy definitions, built in and the platform's
// own, by ID (one page holds them all).
func (c *Client) ListPolicies(ctx context.Context, page enclave.Page) ([]*policy.StoredDefinition, string, error) {
	return list[policy.StoredDefinition](ctx, c, "/policy/definitions", nil, page)
}

// GetPolicy returns the policy definition with the given ID.
func (c *Client) GetPolicy(ctx context.Context, id string) (*policy.StoredDefinition, error) {
	p, err := escapePath("policy", "definitions", id)
	if err != nil {
		return nil, err
	}
	return get[policy.StoredDefinition](ctx, c, p)
}

// PutPolicy creates or replaces the policy definition d under its ID and
// says whether it was created. The server type-checks its expressions
// first; a definition that does not compile is refused and not stored.
func (c *Client) PutPolicy(ctx context.Context, d policy.Definition) (*policy.StoredDefinition, bool, error) {
	p, err := escapePath("policy", "definitions", d.ID)
	if err != nil {
		return nil, false, err
	}
	var out policy.StoredDefinition
	status := 0
	if err := c.do(ctx, request{method: http.MethodPut, path: p, body: d, status: &status}, &out); err != nil {
		return nil, false, err
	}
	return &out, status == http.StatusCreated, nil
}

// DeletePolicy deletes a policy definition that no assignment uses.
func (c *Client) DeletePolicy(ctx context.Context, id string) error {
	p, err := escapePath("policy", "definitions", id)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}

// ListPolicyAssignments returns the policy assignments by name.
func (c *Client) ListPolicyAssignments(ctx context.Context, page enclave.Page) ([]*policy.Assignment, string, error) {
	return list[policy.Assignment](ctx, c, "/policy/assignments", nil, page)
}

// CreatePolicyAssignment assigns a policy at a scope.
func (c *Client) CreatePolicyAssignment(ctx context.Context, in policy.AssignmentCreate) (*policy.Assignment, error) {
	return send[policy.Assignment](ctx, c, http.MethodPost, "/policy/assignments", in)
}

// GetPolicyAssignment returns the policy assignment called name.
func (c *Client) GetPolicyAssignment(ctx context.Context, name string) (*policy.Assignment, error) {
	p, err := escapePath("policy", "assignments", name)
	if err != nil {
		return nil, err
	}
	return get[policy.Assignment](ctx, c, p)
}

// UpdatePolicyAssignment changes the mode, parameters or description of an
// assignment that in sets.
func (c *Client) UpdatePolicyAssignment(ctx context.Context, name string, in policy.AssignmentUpdate) (*policy.Assignment, error) {
	p, err := escapePath("policy", "assignments", name)
	if err != nil {
		return nil, err
	}
	return send[policy.Assignment](ctx, c, http.MethodPatch, p, in)
}

// DeletePolicyAssignment removes a policy assignment and its exemptions.
func (c *Client) DeletePolicyAssignment(ctx context.Context, name string) error {
	p, err := escapePath("policy", "assignments", name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}

// ListPolicyExemptions returns the policy exemptions, newest first.
func (c *Client) ListPolicyExemptions(ctx context.Context, page enclave.Page) ([]*policy.Exemption, string, error) {
	return list[policy.Exemption](ctx, c, "/policy/exemptions", nil, page)
}

// RequestPolicyExemption asks for an exemption from an assignment; it
// applies once a Platform Admin other than the requester approves it.
func (c *Client) RequestPolicyExemption(ctx context.Context, in policy.ExemptionCreate) (*policy.Exemption, error) {
	return send[policy.Exemption](ctx, c, http.MethodPost, "/policy/exemptions", in)
}

// GetPolicyExemption returns the policy exemption with the given ID.
func (c *Client) GetPolicyExemption(ctx context.Context, id string) (*policy.Exemption, error) {
	p, err := escapePath("policy", "exemptions", id)
	if err != nil {
		return nil, err
	}
	return get[policy.Exemption](ctx, c, p)
}

// policyDecision is the body of an exemption's approval or rejection.
type policyDecision struct {
	Comment string `json:"comment,omitempty"`
}

// DecidePolicyExemption approves (or, with approve false, rejects) a
// pending exemption with a comment.
func (c *Client) DecidePolicyExemption(ctx context.Context, id string, approve bool, comment string) (*policy.Exemption, error) {
	verb := "reject"
	if approve {
		verb = "approve"
	}
	p, err := escapePath("policy", "exemptions", id, verb)
	if err != nil {
		return nil, err
	}
	return send[policy.Exemption](ctx, c, http.MethodPost, p, policyDecision{Comment: comment})
}

// DeletePolicyExemption withdraws an exemption, whatever its state.
func (c *Client) DeletePolicyExemption(ctx context.Context, id string) error {
	p, err := escapePath("policy", "exemptions", id)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}

// RequestPolicyScan starts a compliance scan of every resource; it runs
// as the returned background task.
func (c *Client) RequestPolicyScan(ctx context.Context) (*workqueue.Task, error) {
	return send[workqueue.Task](ctx, c, http.MethodPost, "/policy/scans", nil)
}

// PolicyCompliance returns the compliance of a scope ("" for the platform)
// as of the last scan.
func (c *Client) PolicyCompliance(ctx context.Context, scope string) (*policy.ComplianceReport, error) {
	q := url.Values{}
	setIf(q, "scope", scope)
	var out policy.ComplianceReport
	if err := c.do(ctx, request{method: http.MethodGet, path: "/policy/compliance", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
