package api

import "github.com/enclave-ml/enclave/internal/access"

// accessRoutes are the routes of roles, assignments, access checks and
// just-in-time elevations.
func (s *Server) accessRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/roles", perm: access.SelfRead, summary: "List the built-in roles", tag: "access", out: roleList, status: 200, handle: s.listRoles},
		{method: "GET", pattern: "/api/v1/roles/{role}", perm: access.SelfRead, summary: "Get a built-in role", tag: "access", out: roleOut, status: 200, handle: s.getRole},
		{method: "GET", pattern: "/api/v1/access/assignments", perm: access.AssignmentsRead, scope: scopeInService, summary: "List role assignments at a scope and below",
			tag: "access", out: assignmentList, status: 200, handle: s.listAssignments,
			query: append([]param{{"scope", "scope to list (default /)"}, {"assignee_kind", "user, group or service-principal"}, {"assignee", "assignee name"}, {"role", "role ID"}}, pageQuery...)},
		{method: "POST", pattern: "/api/v1/access/assignments", kind: "role-assignment", perm: access.AssignmentsWrite, scope: scopeInService, summary: "Grant a role at a scope",
			tag: "access", in: grantIn, out: assignmentOut, status: 201, handle: s.grant},
		{method: "DELETE", pattern: "/api/v1/access/assignments/{id}", kind: "role-assignment", perm: access.AssignmentsWrite, scope: scopeInService, summary: "Revoke a role assignment",
			tag: "access", status: 204, handle: s.revoke},
		{method: "GET", pattern: "/api/v1/access/check", perm: access.SelfRead, scope: scopeInService, summary: "Explain whether a principal may perform an action at a scope",
			tag: "access", out: decisionOut, status: 200, handle: s.checkAccess,
			query: []param{{"action", "permission to check, such as zones/write"}, {"scope", "scope, such as /zones/eu"}, {"principal", "user or service principal (default: the caller)"}, {"kind", "user or service-principal"}}},
		{method: "GET", pattern: "/api/v1/elevations", perm: access.SelfRead, summary: "List one's own elevations and those one may decide on",
			tag: "access", out: elevationList, status: 200, handle: s.listElevations, query: append([]param{{"state", "only elevations in this state"}}, pageQuery...)},
		{method: "POST", pattern: "/api/v1/elevations", kind: "elevation", perm: access.SelfElevationWrite, summary: "Request a just-in-time elevation",
			tag: "access", in: elevationIn, out: elevationOut, status: 201, handle: s.requestElevation},
		{method: "GET", pattern: "/api/v1/elevations/{id}", perm: access.SelfRead, scope: scopeInService, summary: "Get an elevation",
			tag: "access", out: elevationOut, status: 200, handle: s.getElevation},
		{method: "POST", pattern: "/api/v1/elevations/{id}/approve", kind: "elevation", perm: access.ElevationsApprove, scope: scopeInService, summary: "Approve an elevation (not one's own)",
			tag: "access", in: decisionIn, out: elevationOut, status: 200, handle: s.approveElevation},
		{method: "POST", pattern: "/api/v1/elevations/{id}/reject", kind: "elevation", perm: access.ElevationsApprove, scope: scopeInService, summary: "Reject an elevation (not one's own)",
			tag: "access", in: decisionIn, out: elevationOut, status: 200, handle: s.rejectElevation},
		{method: "POST", pattern: "/api/v1/elevations/{id}/cancel", kind: "elevation", perm: access.SelfElevationWrite, scope: scopeInService, summary: "Withdraw a pending or end an active elevation",
			tag: "access", out: elevationOut, status: 200, handle: s.cancelElevation},
	}
}
