// Package access decides whether an actor may perform an action at a scope:
// permissions and their catalog, the built-in roles, role assignments
// inherited down the scope tree (platform → zone → project → environment),
// just-in-time elevations, and the one authorizer every route goes through.
package access

import (
	"context"
	"strings"
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
	SettingsRead      Permission = "platform/settings/read"
	SettingsWrite     Permission = "platform/settings/write"

	UsersRead                    Permission = "identity/users/read"
	UsersWrite                   Permission = "identity/users/write"
	GroupsRead                   Permission = "identity/groups/read"
	GroupsWrite                  Permission = "identity/groups/write"
	ServicePrincipalsRead        Permission = "identity/service-principals/read"
	ServicePrincipalsWrite       Permission = "identity/service-principals/write"
	ServicePrincipalSecretsWrite Permission = "identity/service-principals/secrets/write"

	// Self-service permissions act on the caller's own identity. Every
	// authenticated principal holds them; a token's scopes can still narrow them.
	SelfRead          Permission = "self/read"
	SelfTokensWrite   Permission = "self/tokens/write"
	SelfMFAWrite      Permission = "self/mfa/write"
	SelfPasswordWrite Permission = "self/password/write"
	TasksWrite        Permission = "platform/tasks/write"
	MetricsRead       Permission = "platform/metrics/read"
)

// Valid reports whether p is well formed: two or more "/"-separated
// segments of lowercase letters and '-', any of which may be the wildcard "*".
func (p Permission) Valid() bool {
	if p == Authenticated || p == "*" {
		return true
	}
	segs := strings.Split(string(p), "/")
	if len(segs) < 2 {
		return false
	}
	for _, s := range segs {
		if s == "*" {
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

// Matches reports whether the granted pattern covers p. A pattern is a
// permission whose segments may be "*", which stands for one or more whole
// segments: "datasets/*" covers "datasets/read" and
// "datasets/contents/read"; "*/read" covers every read; "airlock/*/approve"
// covers "airlock/exports/approve".
func Matches(granted, p Permission) bool {
	if granted == p || granted == "*" {
		return true
	}
	return matchSegs(strings.Split(string(granted), "/"), strings.Split(string(p), "/"))
}

func matchSegs(pat, segs []string) bool {
	if len(pat) == 0 {
		return len(segs) == 0
	}
	if pat[0] != "*" {
		return len(segs) > 0 && segs[0] == pat[0] && matchSegs(pat[1:], segs[1:])
	}
	for i := 1; i <= len(segs); i++ { // "*" takes one or more segments
		if matchSegs(pat[1:], segs[i:]) {
			return true
		}
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
	// AuthorizeSomewhere checks that the actor holds p at some scope: the
	// first gate of routes whose scope only the service knows.
	AuthorizeSomewhere(ctx context.Context, p Permission) error
}
