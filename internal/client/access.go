package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// ListRoles returns the built-in roles.
func (c *Client) ListRoles(ctx context.Context) ([]*access.Role, error) {
	rs, _, err := list[access.Role](ctx, c, "/roles", nil, enclave.Page{})
	return rs, err
}

// GetRole returns one built-in role.
func (c *Client) GetRole(ctx context.Context, id string) (*access.Role, error) {
	p, err := escapePath("roles", id)
	if err != nil {
		return nil, err
	}
	return get[access.Role](ctx, c, p)
}

// AssignmentQuery narrows a listing of assignments.
type AssignmentQuery struct {
	Scope        access.Scope
	AssigneeKind access.AssigneeKind
	Assignee     string
	Role         string
}

// ListAssignments returns one page of the assignments at a scope and below.
func (c *Client) ListAssignments(ctx context.Context, f AssignmentQuery, page enclave.Page) ([]*access.Assignment, string, error) {
	q := url.Values{}
	setIf(q, "scope", string(f.Scope))
	setIf(q, "assignee_kind", string(f.AssigneeKind))
	setIf(q, "assignee", f.Assignee)
	setIf(q, "role", f.Role)
	return list[access.Assignment](ctx, c, "/access/assignments", q, page)
}

// Grant assigns a role.
func (c *Client) Grant(ctx context.Context, g access.Grant) (*access.Assignment, error) {
	return send[access.Assignment](ctx, c, http.MethodPost, "/access/assignments", g)
}

// Revoke deletes an assignment.
func (c *Client) Revoke(ctx context.Context, id string) error {
	p, err := escapePath("access", "assignments", id)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}

// CheckAccess explains whether a principal (the caller when name is empty)
// may perform action at scope.
func (c *Client) CheckAccess(ctx context.Context, kind access.AssigneeKind, name string, action access.Permission, scope access.Scope) (*access.Decision, error) {
	q := url.Values{}
	setIf(q, "kind", string(kind))
	setIf(q, "principal", name)
	q.Set("action", string(action))
	q.Set("scope", string(scope))
	var d access.Decision
	if err := c.do(ctx, request{method: http.MethodGet, path: "/access/check", query: q}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ListElevations returns one page of the caller's elevations and those it may decide on.
func (c *Client) ListElevations(ctx context.Context, state access.ElevationState, page enclave.Page) ([]*access.Elevation, string, error) {
	q := url.Values{}
	setIf(q, "state", string(state))
	return list[access.Elevation](ctx, c, "/elevations", q, page)
}

// RequestElevation asks for a just-in-time elevation.
func (c *Client) RequestElevation(ctx context.Context, in access.ElevationRequest) (*access.Elevation, error) {
	return send[access.Elevation](ctx, c, http.MethodPost, "/elevations", in)
}

// GetElevation returns one elevation.
func (c *Client) GetElevation(ctx context.Context, id string) (*access.Elevation, error) {
	p, err := escapePath("elevations", id)
	if err != nil {
		return nil, err
	}
	return get[access.Elevation](ctx, c, p)
}

// DecideElevation approves, rejects or cancels an elevation; verb is
// "approve", "reject" or "cancel".
func (c *Client) DecideElevation(ctx context.Context, id, verb, note string) (*access.Elevation, error) {
	p, err := escapePath("elevations", id, verb)
	if err != nil {
		return nil, err
	}
	var body any
	if verb != "cancel" {
		body = access.ElevationDecision{Note: note}
	}
	return send[access.Elevation](ctx, c, http.MethodPost, p, body)
}
