// Package access decides whether an actor may perform an action at a scope.
// Every route declares the permission it needs; the transport asks this
// package before calling a service. Until role assignments arrive only the
// platform administrator holds permissions; the Authorizer interface is the
// seam the role model plugs into.
package access

import (
	"context"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Permission is an action on a resource type, written "type/verb" or
// "type/sub/verb" (for example "zones/write", "datasets/contents/read").
type Permission string

// Authenticated is the pseudo-permission of routes any authenticated
// principal may call, such as reading one's own identity.
const Authenticated Permission = "self"

// The permissions the platform core declares.
const (
	ZonesRead         Permission = "zones/read"
	ZonesWrite        Permission = "zones/write"
	ZonesDelete       Permission = "zones/delete"
	ProjectsRead      Permission = "projects/read"
	ProjectsWrite     Permission = "projects/write"
	ProjectsDelete    Permission = "projects/delete"
	EnvironmentsRead  Permission = "environments/read"
	EnvironmentsWrite Permission = "environments/write"
	TasksRead         Permission = "platform/tasks/read"
	TasksWrite        Permission = "platform/tasks/write"
	MetricsRead       Permission = "platform/metrics/read"
)

// Valid reports whether p is well formed: lowercase path segments of letters
// and '-', optionally ending in the wildcard '*'.
func (p Permission) Valid() bool {
	if p == Authenticated {
		return true
	}
	segs := strings.Split(string(p), "/")
	if len(segs) < 2 {
		return false
	}
	for i, s := range segs {
		if s == "*" && i == len(segs)-1 {
			continue
		}
		if s == "" {
			return false
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Matches reports whether the granted pattern (which may end in "*") covers p.
func Matches(granted, p Permission) bool {
	if granted == p || granted == "*" {
		return true
	}
	if g, ok := strings.CutSuffix(string(granted), "*"); ok {
		return strings.HasPrefix(string(p), g)
	}
	return false
}

// Scope names where a resource lives: "/", "/zones/z", "/zones/z/projects/p".
type Scope string

// PlatformScope is the root scope.
const PlatformScope Scope = "/"

// ZoneScope returns the scope of a zone.
func ZoneScope(zone string) Scope { return Scope("/zones/" + zone) }

// ProjectScope returns the scope of a project.
func ProjectScope(zone, project string) Scope {
	return Scope("/zones/" + zone + "/projects/" + project)
}

// Within reports whether s is at or below parent.
func (s Scope) Within(parent Scope) bool {
	if parent == PlatformScope || s == parent {
		return true
	}
	return strings.HasPrefix(string(s), string(parent)+"/")
}

// Authorizer decides whether the actor in ctx may perform p at scope.
type Authorizer interface {
	Authorize(ctx context.Context, p Permission, scope Scope) error
}

// AdminOnly is the authorizer of the platform core: the platform
// administrator may do everything, any authenticated principal may call
// Authenticated routes, and everyone else is denied.
type AdminOnly struct{}

var _ Authorizer = AdminOnly{}

// Authorize implements Authorizer.
func (AdminOnly) Authorize(ctx context.Context, p Permission, scope Scope) error {
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return enclave.Errorf(enclave.CodeUnauthenticated, "authentication required")
	}
	if p == Authenticated || a.PlatformAdmin {
		return nil
	}
	return enclave.Errorf(enclave.CodePermissionDenied, "%s may not %s at %s", a.Name, p, scope)
}
