package enclave

import "context"

// PrincipalKind says what sort of identity acts.
type PrincipalKind string

// The kinds of principal. Issue-by-issue more kinds of service principal
// arrive; a user is always a person.
const (
	PrincipalUser    PrincipalKind = "user"
	PrincipalService PrincipalKind = "service"
	PrincipalSystem  PrincipalKind = "system"
)

// Actor is who is making a request, as established by authentication. It
// travels in the request's context from the transport layer to the services,
// which authorize and audit with it.
type Actor struct {
	PrincipalID string
	Kind        PrincipalKind
	Name        string
	// AuthMethod says how the actor proved who it is ("token", "bootstrap-credential").
	AuthMethod string
	// TokenID identifies the credential used, for audit and revocation.
	TokenID string
	// TokenKind is the kind of token presented: login, session, pat or service.
	TokenKind string
	// TokenScopes limits the actor to these permission patterns, on top of
	// what its roles grant; nil means no limit beyond the roles. A personal
	// access token carries the subset its holder chose; the session of a
	// person who must still enrol in MFA carries only the enrolment scopes.
	TokenScopes []string
	// MFA says whether the sign-in behind the token used a second factor.
	MFA bool
	// ElevationID is set by the authorizer when a request is allowed only
	// through a just-in-time elevation, so that its audit records name it.
	ElevationID string
	// PlatformAdmin marks the bootstrap administrator, who holds the
	// Platform Admin role at the root scope without an assignment.
	PlatformAdmin bool
	// SourceAddr, UserAgent and RequestID describe the request for audit.
	SourceAddr string
	UserAgent  string
	RequestID  string
}

// SystemActor is the actor for work the platform does on its own behalf
// (background tasks, bootstrap).
func SystemActor(what string) *Actor {
	return &Actor{PrincipalID: "system", Kind: PrincipalSystem, Name: what, AuthMethod: "internal"}
}

type actorKey struct{}

// WithActor returns a context that carries a.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or nil when the request is anonymous.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// RequestMeta is what the transport knows about a request before
// authentication: it lets anonymous events (a failed sign-in) be audited.
type RequestMeta struct {
	SourceAddr string
	UserAgent  string
	RequestID  string
}

type metaKey struct{}

// WithRequestMeta returns a context that carries m.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// RequestMetaFrom returns the request metadata in ctx, if any.
func RequestMetaFrom(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(metaKey{}).(RequestMeta)
	return m
}

// ActorName is the name of the actor in ctx, or "system" for work the
// platform does on its own behalf.
func ActorName(ctx context.Context) string {
	if a := ActorFrom(ctx); a != nil {
		return a.Name
	}
	return "system"
}
