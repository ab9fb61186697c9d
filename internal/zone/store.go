package zone

import "context"

// Store persists zones, projects and environments. Lookups of a missing
// resource return a not_found error; creating a duplicate returns conflict;
// deleting a zone that still has projects returns failed_precondition. Every
// method joins the transaction carried by ctx, if any.
type Store interface {
	CreateZone(ctx context.Context, z *Zone) error
	GetZone(ctx context.Context, name string) (*Zone, error)
	// ListZones returns at most limit zones ordered by name, after the given name.
	ListZones(ctx context.Context, f ZoneFilter, after string, limit int) ([]*Zone, error)
	UpdateZone(ctx context.Context, z *Zone) error
	DeleteZone(ctx context.Context, id string) error
	CountProjects(ctx context.Context, zoneID string) (int, error)

	CreateProject(ctx context.Context, p *Project) error
	GetProject(ctx context.Context, zone, name string) (*Project, error)
	// ListProjects returns at most limit projects of a zone ordered by name, after the given name.
	ListProjects(ctx context.Context, zoneID string, f ProjectFilter, after string, limit int) ([]*Project, error)
	UpdateProject(ctx context.Context, p *Project) error
	DeleteProject(ctx context.Context, id string) error

	CreateEnvironment(ctx context.Context, e *Environment) error
	// ListEnvironments lists a project's environments, or a zone's shared
	// ones when projectID is empty.
	ListEnvironments(ctx context.Context, zoneID, projectID string) ([]*Environment, error)
	UpdateEnvironment(ctx context.Context, e *Environment) error
	// DeleteEnvironments deletes a project's environments, or a zone's
	// shared ones when projectID is empty.
	DeleteEnvironments(ctx context.Context, zoneID, projectID string) error
}

// ChildCounter counts the resources of one kind that live in a project, so
// that later domains (datasets, experiments, endpoints) can hold a project's
// deletion back without this package knowing them.
type ChildCounter struct {
	Kind  string
	Count func(ctx context.Context, p *Project) (int, error)
}
