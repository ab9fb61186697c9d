package client

import (
	"context"
	"net/http"

	"github.com/enclave-ml/enclave/internal/zone"
)

// environmentsPath addresses a zone's shared environments when project is
// empty, and a project's own environments otherwise.
func environmentsPath(zoneName, project string, rest ...string) (string, error) {
	segments := []string{"zones", zoneName}
	if project != "" {
		segments = append(segments, "projects", project)
	}
	return escapePath(append(append(segments, "environments"), rest...)...)
}

// ListEnvironments returns the environments of a project (dev and prod), or
// of a zone (its shared staging and qa) when project is empty.
func (c *Client) ListEnvironments(ctx context.Context, zoneName, project string) ([]*zone.Environment, error) {
	p, err := environmentsPath(zoneName, project)
	if err != nil {
		return nil, err
	}
	var out listResponse[*zone.Environment]
	if err := c.do(ctx, request{method: http.MethodGet, path: p}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// GetEnvironment returns one environment of a project, or of the zone when
// project is empty.
func (c *Client) GetEnvironment(ctx context.Context, zoneName, project, name string) (*zone.Environment, error) {
	p, err := environmentsPath(zoneName, project, name)
	if err != nil {
		return nil, err
	}
	return get[zone.Environment](ctx, c, p)
}

// UpdateEnvironment changes an environment's certification or state.
func (c *Client) UpdateEnvironment(ctx context.Context, zoneName, project, name string, in zone.EnvironmentUpdate) (*zone.Environment, error) {
	p, err := environmentsPath(zoneName, project, name)
	if err != nil {
		return nil, err
	}
	return send[zone.Environment](ctx, c, http.MethodPatch, p, in)
}
