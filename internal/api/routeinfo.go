package api

import "github.com/enclave-ml/enclave/internal/access"

// RouteInfo describes one route of the table: what it needs and where.
type RouteInfo struct {
	Method     string
	Pattern    string
	Permission access.Permission
	Public     bool
	// ScopeInService marks routes whose scope the service finds (in the
	// body or the resource); the dispatcher checks the permission at some scope.
	ScopeInService bool
	// Kind is the resource kind a mutating route changes through policy
	// admission; NoAdmission says why a mutating route changes none.
	Kind        string
	NoAdmission string
}

// RouteTable lists every route the server answers, for tests and tools
// that reason about who may call what.
func (s *Server) RouteTable() []RouteInfo {
	var out []RouteInfo
	for _, r := range s.routes() {
		out = append(out, RouteInfo{Method: r.method, Pattern: r.pattern, Permission: r.perm, Public: r.public, ScopeInService: r.scope == scopeInService,
			Kind: r.kind, NoAdmission: r.noAdmission})
	}
	return out
}
