package api

import (
	"net/http"
	"sort"
	"strings"

	"github.com/enclave-ml/enclave/internal/access"
)

// route is one entry of the route table.
type route struct {
	method  string
	pattern string
	// perm is the permission a caller needs. Public routes have none; every
	// other route must declare one (a test enforces it).
	perm   access.Permission
	public bool
	// secretResponse marks responses that carry a secret: they are never
	// stored for idempotent replay.
	secretResponse bool
	// secretRequest marks requests whose body carries a secret (a
	// password, a code): they are never fingerprinted for idempotency,
	// since even a hash of a password is an offline-guessing target.
	secretRequest bool
	summary       string
	tag           string
	in            any // request body type, for the OpenAPI document
	out           any // response body type
	status        int // success status
	query         []param
	// scope says where the permission is checked. The default, scopePath,
	// is the scope the path names (platform, zone or project).
	scope scopeRule
	// stream marks routes whose bodies are data of any size (uploads and
	// downloads): no body limit but the storage quota, and no request
	// deadline but the connection's.
	stream bool
	// kind is the resource kind a mutating route creates, updates or
	// deletes: the service runs that change through policy admission, and
	// the dispatcher checks that it did. A mutating route that changes no
	// resource says why in noAdmission instead (a test enforces one or the
	// other).
	kind        string
	noAdmission string
	handle      func(w http.ResponseWriter, r *http.Request) error
}

// scopeRule says how a route's scope is found.
type scopeRule int

const (
	// scopePath: the scope is named by the path's zone and project values,
	// or is the platform when it names neither.
	scopePath scopeRule = iota
	// scopeInService: the scope is in the body or in the resource the route
	// acts on (an assignment's scope, an elevation's). The dispatcher checks
	// that the caller holds the permission at some scope; the service checks
	// it again at the resource's own scope.
	scopeInService
)

type param struct{ name, desc string }

var (
	pageQuery = []param{{"page_size", "items per page (default 50, at most 500)"}, {"page_token", "token from a previous page"}}
	stateQ    = param{"state", "only resources in this lifecycle state"}
)

// routes is the route table: the router, authorization and the OpenAPI
// document are all built from it.
func (s *Server) routes() []route {
	var rs []route
	rs = append(rs, s.coreRoutes()...)
	rs = append(rs, s.identityRoutes()...)
	rs = append(rs, s.accessRoutes()...)
	rs = append(rs, s.auditRoutes()...)
	rs = append(rs, s.sinkRoutes()...)
	rs = append(rs, s.datasetRoutes()...)
	rs = append(rs, s.policyRoutes()...)
	rs = append(rs, s.airlockRoutes()...)
	rs = append(rs, s.deidRoutes()...)
	rs = append(rs, s.trackingRoutes()...)
	return rs
}

// coreRoutes are the platform core's: operations, sign-in, zones,
// projects, environments and tasks.
func (s *Server) coreRoutes() []route {
	return []route{
		{method: "GET", pattern: "/healthz", public: true, summary: "Liveness: the process serves requests", tag: "operations", out: Status{}, status: 200, handle: s.healthz},
		{method: "GET", pattern: "/readyz", public: true, summary: "Readiness: the database answers", tag: "operations", out: Status{}, status: 200, handle: s.readyz},
		{method: "GET", pattern: "/metrics", perm: access.MetricsRead, summary: "Prometheus metrics", tag: "operations", status: 200, handle: s.metricsHandler},
		{method: "GET", pattern: "/api/v1/openapi.json", perm: access.Authenticated, summary: "This API's OpenAPI document", tag: "operations", status: 200, handle: s.openapi},

		{method: "POST", pattern: "/api/v1/auth/login", kind: "token", public: true, secretResponse: true, secretRequest: true, summary: "Exchange a one-time credential for an API token", tag: "auth", in: loginRequest{}, out: loginResponse{}, status: 200, handle: s.login},
		{method: "POST", pattern: "/api/v1/auth/logout", kind: "token", perm: access.Authenticated, summary: "Revoke the calling token", tag: "auth", status: 204, handle: s.logout},
		{method: "GET", pattern: "/api/v1/auth/whoami", perm: access.SelfRead, summary: "The calling principal", tag: "auth", out: principalOut, status: 200, handle: s.whoami},

		{method: "GET", pattern: "/api/v1/zones", perm: access.ZonesRead, summary: "List zones", tag: "zones", out: zoneList, status: 200, query: append([]param{{"region", "only zones in this region"}, stateQ}, pageQuery...), handle: s.listZones},
		{method: "POST", pattern: "/api/v1/zones", kind: "zone", perm: access.ZonesWrite, summary: "Create a zone with its shared staging and QA environments", tag: "zones", in: zoneCreate, out: zoneOut, status: 201, handle: s.createZone},
		{method: "GET", pattern: "/api/v1/zones/{zone}", perm: access.ZonesRead, summary: "Get a zone", tag: "zones", out: zoneOut, status: 200, handle: s.getZone},
		{method: "PATCH", pattern: "/api/v1/zones/{zone}", kind: "zone", perm: access.ZonesWrite, summary: "Update a zone", tag: "zones", in: zoneUpdate, out: zoneOut, status: 200, handle: s.updateZone},
		{method: "DELETE", pattern: "/api/v1/zones/{zone}", kind: "zone", perm: access.ZonesDelete, summary: "Delete a zone that holds no projects", tag: "zones", status: 204, handle: s.deleteZone},
		{method: "GET", pattern: "/api/v1/zones/{zone}/environments", perm: access.EnvironmentsRead, summary: "List a zone's shared environments", tag: "environments", out: envList, status: 200, handle: s.listEnvironments},
		{method: "GET", pattern: "/api/v1/zones/{zone}/environments/{environment}", perm: access.EnvironmentsRead, summary: "Get a shared environment", tag: "environments", out: envOut, status: 200, handle: s.getEnvironment},
		{method: "PATCH", pattern: "/api/v1/zones/{zone}/environments/{environment}", kind: "environment", perm: access.EnvironmentsWrite, summary: "Update a shared environment", tag: "environments", in: envUpdate, out: envOut, status: 200, handle: s.updateEnvironment},

		{method: "GET", pattern: "/api/v1/zones/{zone}/projects", perm: access.ProjectsRead, summary: "List a zone's projects", tag: "projects", out: projectList, status: 200, query: append([]param{stateQ}, pageQuery...), handle: s.listProjects},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects", kind: "project", perm: access.ProjectsWrite, summary: "Create a project with its dev and prod environments", tag: "projects", in: projectCreate, out: projectOut, status: 201, handle: s.createProject},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}", perm: access.ProjectsRead, summary: "Get a project", tag: "projects", out: projectOut, status: 200, handle: s.getProject},
		{method: "PATCH", pattern: "/api/v1/zones/{zone}/projects/{project}", kind: "project", perm: access.ProjectsWrite, summary: "Update a project", tag: "projects", in: projectUpdate, out: projectOut, status: 200, handle: s.updateProject},
		{method: "DELETE", pattern: "/api/v1/zones/{zone}/projects/{project}", kind: "project", perm: access.ProjectsDelete, summary: "Delete a project", tag: "projects", status: 204, handle: s.deleteProject},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/environments", perm: access.EnvironmentsRead, summary: "List a project's environments", tag: "environments", out: envList, status: 200, handle: s.listEnvironments},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/environments/{environment}", perm: access.EnvironmentsRead, summary: "Get a project's environment", tag: "environments", out: envOut, status: 200, handle: s.getEnvironment},
		{method: "PATCH", pattern: "/api/v1/zones/{zone}/projects/{project}/environments/{environment}", kind: "environment", perm: access.EnvironmentsWrite, summary: "Update a project's environment", tag: "environments", in: envUpdate, out: envOut, status: 200, handle: s.updateEnvironment},

		{method: "GET", pattern: "/api/v1/tasks", perm: access.TasksRead, summary: "List background tasks, newest first", tag: "tasks", out: taskList, status: 200, query: append([]param{{"state", "only tasks in this state"}, {"kind", "only tasks of this kind"}}, pageQuery...), handle: s.listTasks},
		{method: "GET", pattern: "/api/v1/tasks/{id}", perm: access.TasksRead, summary: "Get a background task", tag: "tasks", out: taskOut, status: 200, handle: s.getTask},
		{method: "POST", pattern: "/api/v1/tasks/{id}/retry", kind: "task", perm: access.TasksWrite, summary: "Retry a dead task", tag: "tasks", out: taskOut, status: 200, handle: s.retryTask},
	}
}

func groupByPattern(rs []route) map[string][]route {
	m := map[string][]route{}
	for _, r := range rs {
		if !r.public && !r.perm.Valid() {
			panic("api: route " + r.method + " " + r.pattern + " declares no valid permission")
		}
		m[r.pattern] = append(m[r.pattern], r)
	}
	return m
}

// scopeOf is the scope a request acts at, from its path values: an
// environment of a project or of a zone, a project, a zone, or the platform.
func scopeOf(r *http.Request) access.Scope {
	z, p, e := r.PathValue("zone"), r.PathValue("project"), r.PathValue("environment")
	switch {
	case z != "" && p != "" && e != "":
		return access.ProjectScope(z, p) + "/environments/" + access.Scope(e)
	case z != "" && p != "":
		return access.ProjectScope(z, p)
	case z != "" && e != "":
		return access.ZoneScope(z) + "/environments/" + access.Scope(e)
	case z != "":
		return access.ZoneScope(z)
	}
	return access.PlatformScope
}

func allowed(rs []route) string {
	var ms []string
	for _, r := range rs {
		ms = append(ms, r.method)
	}
	sort.Strings(ms)
	return strings.Join(ms, ", ")
}
