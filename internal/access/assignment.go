package access

import (
	"context"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// AssigneeKind says what an assignment is given to.
type AssigneeKind string

// The kinds of assignee.
const (
	AssigneeUser    AssigneeKind = "user"
	AssigneeGroup   AssigneeKind = "group"
	AssigneeService AssigneeKind = "service-principal"
)

// Validate checks the kind.
func (k AssigneeKind) Validate(field string) error {
	switch k {
	case AssigneeUser, AssigneeGroup, AssigneeService:
		return nil
	}
	return enclave.FieldError(field, "%s must be user, group or service-principal", field)
}

// Assignment gives a role to a user, a group or a service principal at a
// scope and every scope below it.
type Assignment struct {
	ID           string       `json:"id"`
	AssigneeID   string       `json:"assignee_id"`
	AssigneeKind AssigneeKind `json:"assignee_kind"`
	AssigneeName string       `json:"assignee_name"`
	Role         string       `json:"role"`
	Scope        Scope        `json:"scope"`
	CreatedBy    string       `json:"created_by"`
	CreatedAt    time.Time    `json:"created_at"`
	// ElevationID and ExpiresAt are set on assignments that a just-in-time
	// elevation created; they stop counting when they expire.
	ElevationID string     `json:"elevation_id,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	// ViaGroup names the group through which a principal holds it, in
	// answers about one principal's access.
	ViaGroup string `json:"via_group,omitempty"`
}

// Grant is the request to create an assignment.
type Grant struct {
	AssigneeKind AssigneeKind `json:"assignee_kind"`
	Assignee     string       `json:"assignee"`
	Role         string       `json:"role"`
	Scope        Scope        `json:"scope"`
}

// AssignmentFilter narrows a listing; empty fields match everything.
type AssignmentFilter struct {
	// Scope lists assignments at this scope and below it.
	Scope      Scope
	AssigneeID string
	// AssigneeKind and AssigneeName name the assignee; the service
	// resolves them to AssigneeID once the caller may list.
	AssigneeKind AssigneeKind
	AssigneeName string
	Role         string
}

// Assignee is a resolved user, group or service principal.
type Assignee struct {
	ID   string
	Kind AssigneeKind
	Name string
	// PlatformAdmin marks the bootstrap administrator.
	PlatformAdmin bool
}

// Store persists assignments and elevations and answers the directory
// questions the access rules need.
type Store interface {
	CreateAssignment(ctx context.Context, a *Assignment) error
	GetAssignment(ctx context.Context, id string) (*Assignment, error)
	DeleteAssignment(ctx context.Context, id string) error
	// ListAssignments returns at most limit assignments ordered by ID after the given one.
	ListAssignments(ctx context.Context, f AssignmentFilter, after string, limit int) ([]*Assignment, error)
	// AssignmentsOf returns the unexpired assignments a principal holds,
	// directly or through its groups (with ViaGroup set).
	AssignmentsOf(ctx context.Context, principalID string, now time.Time) ([]*Assignment, error)

	// ResolveAssignee finds a user, group or service principal by name;
	// deleted ones are never found, disabled ones only when asked.
	ResolveAssignee(ctx context.Context, kind AssigneeKind, name string, disabledToo bool) (*Assignee, error)
	IsGroupMember(ctx context.Context, groupID, principalID string) (bool, error)
	// ScopeExists reports whether the zone, project or environment a scope names exists.
	ScopeExists(ctx context.Context, s Scope) (bool, error)

	CreateElevation(ctx context.Context, e *Elevation) error
	GetElevation(ctx context.Context, id string) (*Elevation, error)
	// UpdateElevation saves e if it is still in state from; otherwise it
	// returns conflict, so two concurrent decisions cannot both take effect.
	UpdateElevation(ctx context.Context, e *Elevation, from ElevationState) error
	ListElevations(ctx context.Context, f ElevationFilter, before string, limit int) ([]*Elevation, error)
}

// ParseScope checks a scope's form and returns its level: "/",
// "/zones/Z", "/zones/Z/environments/E", "/zones/Z/projects/P",
// "/zones/Z/projects/P/environments/E", with every name a DNS label.
func ParseScope(field string, s Scope) (Level, error) {
	if s == PlatformScope {
		return LevelPlatform, nil
	}
	bad := enclave.FieldError(field, "%s must be /, /zones/Z, /zones/Z/projects/P or …/environments/E, not %q", field, enclave.Truncate(string(s), 100))
	if !strings.HasPrefix(string(s), "/") {
		return "", bad
	}
	parts := strings.Split(string(s)[1:], "/")
	if len(parts)%2 != 0 || len(parts) > 6 {
		return "", bad
	}
	want := [][]string{{"zones"}, {"projects", "environments"}, {"environments"}}
	for i := 0; i < len(parts); i += 2 {
		ok := false
		for _, w := range want[i/2] {
			ok = ok || parts[i] == w
		}
		if !ok || (i == 4 && parts[2] != "projects") {
			return "", bad
		}
		if err := enclave.ValidateName(field, parts[i+1]); err != nil {
			return "", bad
		}
	}
	switch {
	case len(parts) == 2:
		return LevelZone, nil
	case len(parts) == 4 && parts[2] == "projects":
		return LevelProject, nil
	}
	return LevelEnvironment, nil
}
