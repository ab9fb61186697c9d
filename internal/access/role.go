package access

import (
	"sort"
	"time"
)

// Level is a depth of the scope tree.
type Level string

// The scope levels, from the root down.
const (
	LevelPlatform    Level = "platform"
	LevelZone        Level = "zone"
	LevelProject     Level = "project"
	LevelEnvironment Level = "environment"
)

// Role is a built-in role: what it allows is its actions minus its
// not-actions. A not-action only narrows this role; it is not a deny, so
// another assignment may still grant what it removes.
type Role struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Actions     []Permission `json:"actions"`
	NotActions  []Permission `json:"not_actions,omitempty"`
	// Levels are the scope levels the role may be assigned at.
	Levels []Level `json:"levels"`
	// JITOnly roles are held only through an approved, expiring elevation.
	JITOnly bool `json:"jit_only"`
	// MaxElevation is the longest elevation to this role that may be requested.
	MaxElevation time.Duration `json:"max_elevation"`
}

// Allows reports whether the role grants p.
func (r *Role) Allows(p Permission) bool {
	granted := false
	for _, a := range r.Actions {
		if Matches(a, p) {
			granted = true
			break
		}
	}
	if !granted {
		return false
	}
	for _, n := range r.NotActions {
		if Matches(n, p) {
			return false
		}
	}
	return true
}

// excluding explains which not-action removes p, if any.
func (r *Role) excluding(p Permission) (Permission, bool) {
	for _, n := range r.NotActions {
		if Matches(n, p) {
			return n, true
		}
	}
	return "", false
}

// AssignableAt reports whether the role may be assigned at level l.
func (r *Role) AssignableAt(l Level) bool {
	for _, x := range r.Levels {
		if x == l {
			return true
		}
	}
	return false
}

var (
	allLevels     = []Level{LevelPlatform, LevelZone, LevelProject, LevelEnvironment}
	belowPlatform = []Level{LevelZone, LevelProject, LevelEnvironment}
	projectDown   = []Level{LevelProject, LevelEnvironment}

	// dataPlane are the data-plane actions that only roles made for them hold.
	dataPlane = []Permission{"*/contents/*", "airlock/*/approve", "airlock/*/write", "endpoints/score", "endpoints/traffic/*",
		"experiments/write", "models/write", "models/artifacts/*", "jobs/write", "releases/approve", "tests/write"}
	// administration is what only owner-level roles do: grant access, manage identities and keys.
	administration = []Permission{"access/*", "identity/*", "keys/write", "platform/settings/write", "audit/sinks/write", "policy/definitions/write"}
)

func join(lists ...[]Permission) []Permission {
	var out []Permission
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// builtinRoles are the only roles: the reference design rejects custom
// roles for their upkeep. Changing one changes who may do what everywhere;
// the role-matrix golden test makes every such change visible.
var builtinRoles = []*Role{
	{ID: "platform-admin", Name: "Platform Admin", Levels: []Level{LevelPlatform}, MaxElevation: 4 * time.Hour,
		Description: "Runs the platform: zones, identities, keys, policies, audit sinks, settings. Manages resources, never reads their data.",
		Actions:     []Permission{"*"}, NotActions: dataPlane},
	{ID: "owner", Name: "Owner", Levels: allLevels, MaxElevation: 8 * time.Hour,
		Description: "Full control of the resources at its scope, including who has access; no data-plane access.",
		Actions:     []Permission{"*"}, NotActions: join(dataPlane, []Permission{"identity/*", "platform/*", "keys/write", "audit/sinks/write", "policy/definitions/write"})},
	{ID: "contributor", Name: "Contributor", Levels: allLevels, MaxElevation: 8 * time.Hour,
		Description: "Creates and manages resources at its scope but cannot grant access, manage identities or keys; no data-plane access.",
		Actions:     []Permission{"*"}, NotActions: join(dataPlane, administration, []Permission{"platform/*", "access/*", "audit/*"})},
	{ID: "reader", Name: "Reader", Levels: allLevels, MaxElevation: 8 * time.Hour,
		Description: "Sees metadata at its scope; reads no contents, keys or audit records.",
		Actions:     []Permission{"*/read"}, NotActions: []Permission{"*/contents/*", "endpoints/traffic/*", "models/artifacts/*", "keys/*", "audit/*", "identity/*", "platform/*"}},
	{ID: "project-lead", Name: "Project Lead", Levels: projectDown, MaxElevation: 8 * time.Hour,
		Description: "Administers one project and does break/fix of its models, jobs and endpoints; cannot grant access or read keys.",
		Actions: []Permission{"projects/read", "projects/write", "environments/*", "datasets/read", "datasets/contents/read", "experiments/*",
			"models/*", "jobs/*", "compute/*", "releases/read", "releases/write", "tests/*", "endpoints/*", "monitors/*", "budgets/read",
			"airlock/*/read", "access/assignments/read"},
		NotActions: []Permission{"endpoints/score"}},
	{ID: "project-owner", Name: "Project Owner", Levels: projectDown, MaxElevation: 8 * time.Hour,
		Description: "The business owner accountable for the project's data: sees everything about it, approves releases, sets budgets.",
		Actions:     []Permission{"*/read", "releases/approve", "budgets/write"},
		NotActions:  []Permission{"*/contents/*", "endpoints/traffic/*", "models/artifacts/*", "keys/*", "audit/*", "identity/*", "platform/*"}},
	{ID: "data-owner", Name: "Data Owner", Levels: belowPlatform, MaxElevation: 8 * time.Hour,
		Description: "Brings data in and keeps it: catalogs and classifies datasets, uploads imports, reads and writes contents.",
		Actions: []Permission{"datasets/*", "airlock/imports/read", "airlock/imports/write", "projects/read", "environments/read",
			"zones/read", "policy/compliance/read"}},
	{ID: "data-scientist", Name: "Data Scientist", Levels: projectDown, MaxElevation: 8 * time.Hour,
		Description: "Explores data, tracks experiments, runs jobs, registers models and deploys to dev; cannot create compute, change the project, read keys or grant access.",
		Actions: []Permission{"projects/read", "environments/read", "datasets/read", "datasets/contents/read", "experiments/*", "models/*",
			"jobs/*", "compute/read", "releases/read", "tests/read", "endpoints/read", "endpoints/write", "endpoints/score",
			"monitors/read", "airlock/exports/read", "airlock/exports/write", "airlock/imports/read", "budgets/read"}},
	{ID: "data-analyst", Name: "Data Analyst", Levels: projectDown, MaxElevation: 8 * time.Hour,
		Description: "Explores curated data and results; runs no compute and manages nothing.",
		Actions: []Permission{"projects/read", "environments/read", "datasets/read", "datasets/contents/read", "experiments/read",
			"models/read", "monitors/read", "airlock/exports/read", "airlock/exports/write"}},
	{ID: "model-tester", Name: "Model Tester", Levels: projectDown, MaxElevation: 8 * time.Hour,
		Description: "Runs the staging and QA test harness against candidate models and records results.",
		Actions: []Permission{"projects/read", "environments/read", "models/read", "models/artifacts/read", "releases/read",
			"tests/*", "endpoints/read", "endpoints/score"}},
	{ID: "airlock-reviewer", Name: "Airlock Reviewer", Levels: belowPlatform, MaxElevation: 8 * time.Hour,
		Description: "Reviews import and export requests with their scan and de-identification reports, and approves or rejects them.",
		Actions:     []Permission{"airlock/*/read", "airlock/*/approve", "projects/read", "zones/read", "datasets/read"}},
	{ID: "model-consumer", Name: "Model Consumer", Levels: belowPlatform, MaxElevation: 8 * time.Hour,
		Description: "Calls production endpoints, as a person or a process.",
		Actions:     []Permission{"endpoints/read", "endpoints/score"}},
	{ID: "platform-support", Name: "Platform Support", Levels: allLevels, JITOnly: true, MaxElevation: 4 * time.Hour,
		Description: "Break/fix of the platform. Held only through an approved, expiring elevation; sees metadata, retries work, restarts nothing it cannot see.",
		Actions:     []Permission{"*/read", "platform/tasks/write", "jobs/write", "endpoints/write", "compute/write"},
		NotActions:  []Permission{"*/contents/*", "endpoints/traffic/*", "models/artifacts/*", "keys/*", "audit/*"}},
	{ID: "auditor", Name: "Auditor", Levels: []Level{LevelPlatform, LevelZone}, MaxElevation: 8 * time.Hour,
		Description: "Reads and verifies the audit trail and compliance, and the metadata needed to interpret them.",
		Actions:     []Permission{"audit/events/read", "audit/verify", "policy/*/read", "*/read"},
		NotActions:  []Permission{"*/contents/*", "endpoints/traffic/*", "models/artifacts/*", "keys/*"}},
	{ID: "cicd", Name: "CI/CD", Levels: projectDown, MaxElevation: time.Hour,
		Description: "The pipeline identity: registers models, runs tests, promotes releases and deploys endpoints.",
		Actions: []Permission{"projects/read", "environments/read", "models/*", "tests/*", "releases/read", "releases/write",
			"endpoints/read", "endpoints/write", "jobs/read", "jobs/write"}},
	{ID: "workspace-identity", Name: "Workspace Identity", Levels: projectDown, MaxElevation: time.Hour,
		Description: "The identity jobs and notebooks run as: reads the project's data, logs runs, writes models.",
		Actions: []Permission{"projects/read", "environments/read", "datasets/read", "datasets/contents/read", "experiments/*",
			"models/*", "jobs/read"}},
	{ID: "monitoring", Name: "Monitoring", Levels: allLevels, MaxElevation: time.Hour,
		Description: "The monitoring identity: scrapes metrics, reads traffic for drift, writes monitor results.",
		Actions: []Permission{"platform/metrics/read", "monitors/*", "endpoints/read", "endpoints/traffic/read", "models/read",
			"projects/read", "zones/read", "environments/read", "budgets/read"}},
	{ID: "governance-scanner", Name: "Governance Scanner", Levels: allLevels, MaxElevation: time.Hour,
		Description: "Scans the catalog and resources for compliance; reads metadata and schemas, never contents.",
		Actions:     []Permission{"*/read", "policy/compliance/write"},
		NotActions:  []Permission{"*/contents/*", "endpoints/traffic/*", "models/artifacts/*", "keys/*", "audit/*", "identity/*"}},
}

var rolesByID = func() map[string]*Role {
	m := map[string]*Role{}
	for _, r := range builtinRoles {
		m[r.ID] = r
	}
	return m
}()

// Roles returns the built-in roles, ordered by ID.
func Roles() []*Role {
	out := append([]*Role{}, builtinRoles...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// RoleByID returns a built-in role.
func RoleByID(id string) (*Role, bool) {
	r, ok := rolesByID[id]
	return r, ok
}

// PlatformAdminRole is the role the bootstrap administrator holds at the root.
const PlatformAdminRole = "platform-admin"
