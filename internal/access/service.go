package access

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/google/uuid"
)

// Service is the one authorizer, and manages role assignments and
// just-in-time elevations.
type Service struct {
	// Admission runs every create, update and delete through the assigned
	// policies, in the transaction that stores it (policy.Service).
	Admission enclave.Admitter
	Store     Store
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Queue     *workqueue.Queue
	Clock     enclave.Clock
	// MinElevation is the shortest elevation that may be requested;
	// DefaultMinElevation when zero.
	MinElevation time.Duration
}

var _ Authorizer = (*Service)(nil)

// Decision is the answer to "may this principal do this here", with why.
type Decision struct {
	Allowed    bool          `json:"allowed"`
	Principal  string        `json:"principal"`
	Permission Permission    `json:"permission"`
	Scope      Scope         `json:"scope"`
	Reason     string        `json:"reason"`
	Granting   []*Assignment `json:"granting,omitempty"`
	// Considered are the assignments that apply at the scope without
	// granting the permission, each with why not.
	Considered []Consideration `json:"considered,omitempty"`
}

// Consideration is an assignment that applies but does not grant.
type Consideration struct {
	Assignment *Assignment `json:"assignment"`
	Why        string      `json:"why"`
}

// subject is what a decision is made about.
type subject struct {
	id, name      string
	platformAdmin bool
	tokenScopes   []string
	// standingOnly ignores assignments from elevations: granting access
	// and approving elevations need standing authority, so that an
	// elevation cannot be turned into access that outlives it.
	standingOnly bool
}

func (s *Service) decide(ctx context.Context, sub subject, p Permission, scope Scope, anywhere bool) (*Decision, error) {
	d := &Decision{Principal: sub.name, Permission: p, Scope: scope}
	if sub.tokenScopes != nil {
		carried := false
		for _, ts := range sub.tokenScopes {
			carried = carried || Matches(Permission(ts), p)
		}
		if !carried {
			d.Reason = fmt.Sprintf("the token used carries only the scopes %s, which do not cover %s", strings.Join(sub.tokenScopes, ", "), p)
			return d, nil
		}
	}
	if strings.HasPrefix(string(p), "self/") {
		d.Allowed, d.Reason = true, "every principal may act on its own identity"
		return d, nil
	}
	as, err := s.assignmentsOf(ctx, sub)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if !anywhere && !scope.Within(a.Scope) {
			continue
		}
		role, ok := RoleByID(a.Role)
		if !ok {
			continue
		}
		if role.Allows(p) {
			d.Granting = append(d.Granting, a)
			continue
		}
		why := fmt.Sprintf("role %s does not include %s", role.ID, p)
		if n, ok := role.excluding(p); ok {
			why = fmt.Sprintf("role %s excludes %s (not-action %s)", role.ID, p, n)
		}
		d.Considered = append(d.Considered, Consideration{Assignment: a, Why: why})
	}
	switch {
	case len(d.Granting) > 0:
		a := d.Granting[0]
		d.Allowed = true
		d.Reason = fmt.Sprintf("role %s at %s", a.Role, a.Scope)
		if a.ViaGroup != "" {
			d.Reason += " through group " + a.ViaGroup
		}
		if a.ElevationID != "" {
			d.Reason += " (just-in-time elevation " + a.ElevationID + ")"
		}
	case anywhere:
		d.Reason = fmt.Sprintf("no assignment anywhere grants %s", p)
	case len(d.Considered) > 0:
		d.Reason = fmt.Sprintf("no assignment grants %s at %s", p, scope)
	default:
		d.Reason = fmt.Sprintf("%s has no role at %s or above", sub.name, scope)
	}
	return d, nil
}

// assignmentsOf returns what sub holds, with the bootstrap
// administrator's implicit platform-admin at the root.
func (s *Service) assignmentsOf(ctx context.Context, sub subject) ([]*Assignment, error) {
	all, err := s.Store.AssignmentsOf(ctx, sub.id, s.Clock.Now())
	if err != nil {
		return nil, err
	}
	var as []*Assignment
	if sub.platformAdmin {
		as = append(as, &Assignment{ID: "bootstrap", AssigneeID: sub.id, AssigneeKind: AssigneeUser, AssigneeName: sub.name,
			Role: PlatformAdminRole, Scope: PlatformScope, CreatedBy: "bootstrap"})
	}
	for _, a := range all {
		if !sub.standingOnly || a.ElevationID == "" {
			as = append(as, a)
		}
	}
	return as, nil
}

// uncovered returns a control-plane permission that role allows at scope
// and sub does not hold there, if any. Granting a role, or approving an
// elevation to it, needs every control-plane right it carries: an owner
// cannot hand out platform-admin. Data-plane rights may be given to others
// by those who manage the scope, never to themselves.
func (s *Service) uncovered(ctx context.Context, sub subject, role *Role, scope Scope) (Permission, error) {
	as, err := s.assignmentsOf(ctx, sub)
	if err != nil {
		return "", err
	}
	for _, a := range Catalog {
		if a.Plane != ControlPlane || strings.HasPrefix(string(a.Permission), "self/") || !role.Allows(a.Permission) {
			continue
		}
		if scope != PlatformScope && platformOnly(a.Permission) {
			continue // it cannot take effect below the platform
		}
		held := false
		for _, x := range as {
			if r, ok := RoleByID(x.Role); ok && scope.Within(x.Scope) && r.Allows(a.Permission) {
				held = true
				break
			}
		}
		if !held {
			return a.Permission, nil
		}
	}
	return "", nil
}

// platformOnly reports whether p acts only on platform-wide resources
// (identities, platform settings and operations), whose routes are
// authorized at the root: held at a zone or project it grants nothing.
func platformOnly(p Permission) bool {
	return Matches("platform/*", p) || Matches("identity/*", p)
}

func actorSubject(a *enclave.Actor) subject {
	return subject{id: a.PrincipalID, name: a.Name, platformAdmin: a.PlatformAdmin, tokenScopes: a.TokenScopes}
}

// Authorize implements Authorizer: the actor in ctx may perform p at scope
// if the token it used carries p and one of its assignments (direct,
// through a group, or from an active elevation) at scope or above grants p.
func (s *Service) Authorize(ctx context.Context, p Permission, scope Scope) error {
	return s.authorize(ctx, p, scope, false)
}

// AuthorizeSomewhere checks that the actor holds p at some scope. Routes
// whose scope is known only to the service use it as a first gate.
func (s *Service) AuthorizeSomewhere(ctx context.Context, p Permission) error {
	return s.authorize(ctx, p, PlatformScope, true)
}

func (s *Service) authorize(ctx context.Context, p Permission, scope Scope, anywhere bool) error {
	return s.authorizeAs(ctx, p, scope, anywhere, false)
}

// authorizeStanding is Authorize counting standing assignments only.
func (s *Service) authorizeStanding(ctx context.Context, p Permission, scope Scope) error {
	return s.authorizeAs(ctx, p, scope, false, true)
}

func (s *Service) authorizeAs(ctx context.Context, p Permission, scope Scope, anywhere, standing bool) error {
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return enclave.Errorf(enclave.CodeUnauthenticated, "authentication required")
	}
	if p == Authenticated {
		return nil
	}
	sub := actorSubject(a)
	sub.standingOnly = standing
	d, err := s.decide(ctx, sub, p, scope, anywhere)
	if err != nil {
		return err
	}
	if d.Allowed && len(d.Granting) > 0 {
		standing := false
		for _, g := range d.Granting {
			standing = standing || g.ElevationID == ""
		}
		if !standing {
			a.ElevationID = d.Granting[0].ElevationID // audit records name the elevation relied on
		}
	}
	if !d.Allowed {
		where := " at " + string(scope)
		if anywhere {
			where = ""
		}
		return enclave.Errorf(enclave.CodePermissionDenied, "%s may not %s%s: %s", a.Name, p, where, d.Reason)
	}
	return nil
}

// Check explains whether a principal may perform p at scope. Anyone may
// check themselves; checking another needs access/assignments/read there.
func (s *Service) Check(ctx context.Context, kind AssigneeKind, name string, p Permission, scope Scope) (*Decision, error) {
	if !p.Valid() || strings.Contains(string(p), "*") {
		return nil, enclave.FieldError("action", "action must be a permission such as zones/read, without wildcards")
	}
	if _, err := ParseScope("scope", scope); err != nil {
		return nil, err
	}
	a := enclave.ActorFrom(ctx)
	if name == "" {
		return s.decide(ctx, actorSubject(a), p, scope, false)
	}
	if kind == "" {
		kind = AssigneeUser
	}
	if kind == AssigneeGroup {
		return nil, enclave.FieldError("kind", "access is checked for a user or a service principal; groups hold roles for their members")
	}
	// Authorize before looking the name up, so that the answer tells
	// nothing about which names exist to someone who may not ask.
	if err := s.Authorize(ctx, AssignmentsRead, scope); err != nil {
		return nil, err
	}
	who, err := s.Store.ResolveAssignee(ctx, kind, name, true)
	if err != nil {
		return nil, err
	}
	return s.decide(ctx, subject{id: who.ID, name: who.Name, platformAdmin: who.PlatformAdmin}, p, scope, false)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Grant assigns a role. The caller needs access/assignments/write at the
// scope, which must exist and suit the role; roles held only just in time
// cannot be granted standing.
func (s *Service) Grant(ctx context.Context, g Grant) (*Assignment, error) {
	if err := g.AssigneeKind.Validate("assignee_kind"); err != nil {
		return nil, err
	}
	if err := enclave.ValidateName("assignee", g.Assignee); err != nil {
		return nil, err
	}
	role, _, err := s.roleAt("role", g.Role, g.Scope)
	if err != nil {
		return nil, err
	}
	if role.JITOnly {
		return nil, &enclave.Error{Code: enclave.CodeFailedPrecondition, Field: "role",
			Message: "role " + role.ID + " can be held only through a just-in-time elevation"}
	}
	if err := s.authorizeStanding(ctx, AssignmentsWrite, g.Scope); err != nil {
		return nil, err
	}
	var a *Assignment
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.requireScope(ctx, g.Scope); err != nil {
			return err
		}
		who, err := s.Store.ResolveAssignee(ctx, g.AssigneeKind, g.Assignee, false)
		if err != nil {
			return err
		}
		actor := enclave.ActorFrom(ctx)
		if err := s.notSelf(ctx, actor, who, "grants roles to"); err != nil {
			return err
		}
		sub := actorSubject(actor)
		sub.standingOnly = true
		if missing, err := s.uncovered(ctx, sub, role, g.Scope); err != nil {
			return err
		} else if missing != "" {
			return enclave.Errorf(enclave.CodePermissionDenied,
				"granting %s at %s needs every control-plane right it carries; %s does not hold %s there", role.ID, g.Scope, actor.Name, missing)
		}
		a = &Assignment{ID: newID(), AssigneeID: who.ID, AssigneeKind: who.Kind, AssigneeName: who.Name, Role: role.ID,
			Scope: g.Scope, CreatedBy: actor.Name, CreatedAt: s.Clock.Now()}
		if err := s.admitAssignment(ctx, enclave.OpCreate, a); err != nil {
			return err
		}
		if err := s.Store.CreateAssignment(ctx, a); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "access.grant", TargetType: "role_assignment", TargetID: a.ID, Scope: string(a.Scope),
			Details: map[string]any{"assignee": who.Name, "assignee_kind": who.Kind, "role": role.ID}})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// notSelf refuses an act on the actor itself or on a group it belongs to:
// separation of duties.
func (s *Service) notSelf(ctx context.Context, actor *enclave.Actor, who *Assignee, verb string) error {
	if who.Kind != AssigneeGroup && who.ID == actor.PrincipalID {
		return enclave.Errorf(enclave.CodePermissionDenied, "nobody %s themselves", verb)
	}
	if who.Kind == AssigneeGroup {
		member, err := s.Store.IsGroupMember(ctx, who.ID, actor.PrincipalID)
		if err != nil {
			return err
		}
		if member {
			return enclave.Errorf(enclave.CodePermissionDenied, "nobody %s a group they belong to (%s)", verb, who.Name)
		}
	}
	return nil
}

func (s *Service) roleAt(field, roleID string, scope Scope) (*Role, Level, error) {
	role, ok := RoleByID(roleID)
	if !ok {
		return nil, "", enclave.FieldError(field, "no built-in role %q (see enclave role list)", enclave.Truncate(roleID, 64))
	}
	level, err := ParseScope("scope", scope)
	if err != nil {
		return nil, "", err
	}
	if !role.AssignableAt(level) {
		levels := make([]string, len(role.Levels))
		for i, l := range role.Levels {
			levels[i] = string(l)
		}
		return nil, "", enclave.FieldError("scope", "role %s is assigned at %s scope, not at a %s", role.ID, strings.Join(levels, " or "), level)
	}
	return role, level, nil
}

func (s *Service) requireScope(ctx context.Context, scope Scope) error {
	ok, err := s.Store.ScopeExists(ctx, scope)
	if err != nil {
		return err
	}
	if !ok {
		return &enclave.Error{Code: enclave.CodeNotFound, Field: "scope", Message: "scope " + string(scope) + " does not exist"}
	}
	return nil
}

// Revoke deletes a standing assignment; the caller needs
// access/assignments/write at its scope. Elevations end through their own
// revocation, which keeps their history.
func (s *Service) Revoke(ctx context.Context, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return enclave.FieldError("id", "id is not an assignment ID")
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.Store.GetAssignment(ctx, id)
		if err != nil {
			return err
		}
		if err := s.authorizeStanding(ctx, AssignmentsWrite, a.Scope); err != nil {
			return err
		}
		if a.ElevationID != "" {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "assignment %s comes from elevation %s: revoke the elevation", a.ID, a.ElevationID)
		}
		if err := s.admitAssignment(ctx, enclave.OpDelete, a); err != nil {
			return err
		}
		if err := s.Store.DeleteAssignment(ctx, a.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "access.revoke", TargetType: "role_assignment", TargetID: a.ID, Scope: string(a.Scope),
			Details: map[string]any{"assignee": a.AssigneeName, "assignee_kind": a.AssigneeKind, "role": a.Role}})
	})
}

// List returns one page of the assignments at a scope and below it; the
// caller needs access/assignments/read at that scope.
func (s *Service) List(ctx context.Context, f AssignmentFilter, page enclave.Page) ([]*Assignment, string, error) {
	if f.Scope == "" {
		f.Scope = PlatformScope
	}
	if _, err := ParseScope("scope", f.Scope); err != nil {
		return nil, "", err
	}
	if f.Role != "" {
		if _, ok := RoleByID(f.Role); !ok {
			return nil, "", enclave.FieldError("role", "no built-in role %q", enclave.Truncate(f.Role, 64))
		}
	}
	if err := s.Authorize(ctx, AssignmentsRead, f.Scope); err != nil {
		return nil, "", err
	}
	if f.AssigneeName != "" {
		if err := f.AssigneeKind.Validate("assignee_kind"); err != nil {
			return nil, "", err
		}
		who, err := s.Store.ResolveAssignee(ctx, f.AssigneeKind, f.AssigneeName, true)
		if err != nil {
			return nil, "", err
		}
		f.AssigneeID = who.ID
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	as, err := s.Store.ListAssignments(ctx, f, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	as, next := enclave.PageOf(as, page.Size, func(a *Assignment) string { return a.ID })
	return as, next, nil
}
