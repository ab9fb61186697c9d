package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

// ListProjects returns one page of the projects of a zone that match f, and
// the token of the next page ("" after the last).
func (c *Client) ListProjects(ctx context.Context, zoneName string, f zone.ProjectFilter, page enclave.Page) ([]*zone.Project, string, error) {
	p, err := escapePath("zones", zoneName, "projects")
	if err != nil {
		return nil, "", err
	}
	q := url.Values{}
	setIf(q, "state", string(f.State))
	return list[zone.Project](ctx, c, p, q, page)
}

// CreateProject creates a project in a zone.
func (c *Client) CreateProject(ctx context.Context, zoneName string, in zone.ProjectCreate) (*zone.Project, error) {
	p, err := escapePath("zones", zoneName, "projects")
	if err != nil {
		return nil, err
	}
	return send[zone.Project](ctx, c, http.MethodPost, p, in)
}

// GetProject returns a zone's project called name.
func (c *Client) GetProject(ctx context.Context, zoneName, name string) (*zone.Project, error) {
	p, err := escapePath("zones", zoneName, "projects", name)
	if err != nil {
		return nil, err
	}
	return get[zone.Project](ctx, c, p)
}

// UpdateProject changes the fields of a project that in sets.
func (c *Client) UpdateProject(ctx context.Context, zoneName, name string, in zone.ProjectUpdate) (*zone.Project, error) {
	p, err := escapePath("zones", zoneName, "projects", name)
	if err != nil {
		return nil, err
	}
	return send[zone.Project](ctx, c, http.MethodPatch, p, in)
}

// DeleteProject deletes a zone's project called name.
func (c *Client) DeleteProject(ctx context.Context, zoneName, name string) error {
	p, err := escapePath("zones", zoneName, "projects", name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}
