package client

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/tracking"
)

func projectPath(zoneName, project string, rest ...string) (string, error) {
	return escapePath(append([]string{"zones", zoneName, "projects", project}, rest...)...)
}

// ExperimentFilter narrows a listing of experiments.
type ExperimentFilter struct {
	// View is active (the default), deleted or all.
	View string
	// Filter and OrderBy are in MLflow's search grammar.
	Filter  string
	OrderBy []string
}

// ListExperiments returns one page of a project's experiments.
func (c *Client) ListExperiments(ctx context.Context, zoneName, project string, f ExperimentFilter, page enclave.Page) ([]*tracking.Experiment, string, error) {
	p, err := projectPath(zoneName, project, "experiments")
	if err != nil {
		return nil, "", err
	}
	q := url.Values{}
	setIf(q, "view", f.View)
	setIf(q, "filter", f.Filter)
	q["order_by"] = f.OrderBy
	return list[tracking.Experiment](ctx, c, p, q, page)
}

// GetExperiment returns an experiment by ID or name.
func (c *Client) GetExperiment(ctx context.Context, zoneName, project, experiment string) (*tracking.Experiment, error) {
	p, err := projectPath(zoneName, project, "experiments", experiment)
	if err != nil {
		return nil, err
	}
	return get[tracking.Experiment](ctx, c, p)
}

// RunFilter chooses the runs to list.
type RunFilter struct {
	// Experiments are IDs or names; at least one is required.
	Experiments []string
	// View is active (the default), deleted or all.
	View string
	// Filter and OrderBy are in MLflow's search grammar.
	Filter  string
	OrderBy []string
}

// ListRuns returns one page of the runs of some experiments.
func (c *Client) ListRuns(ctx context.Context, zoneName, project string, f RunFilter, page enclave.Page) ([]*tracking.Run, string, error) {
	p, err := projectPath(zoneName, project, "runs")
	if err != nil {
		return nil, "", err
	}
	q := url.Values{"experiment": f.Experiments}
	setIf(q, "view", f.View)
	setIf(q, "filter", f.Filter)
	q["order_by"] = f.OrderBy
	return list[tracking.Run](ctx, c, p, q, page)
}

// GetRun returns a run with its metrics, parameters, tags, inputs and outputs.
func (c *Client) GetRun(ctx context.Context, zoneName, project, runID string) (*tracking.Run, error) {
	p, err := projectPath(zoneName, project, "runs", runID)
	if err != nil {
		return nil, err
	}
	return get[tracking.Run](ctx, c, p)
}

// MetricHistory returns one page of the values logged of a run's metric.
func (c *Client) MetricHistory(ctx context.Context, zoneName, project, runID, key string, page enclave.Page) ([]*tracking.Metric, string, error) {
	// Metric keys may hold slashes: each part is a segment of the path.
	p, err := projectPath(zoneName, project, append([]string{"runs", runID, "metrics"}, strings.Split(key, "/")...)...)
	if err != nil {
		return nil, "", err
	}
	return list[tracking.Metric](ctx, c, p, nil, page)
}

// ModelFilter narrows a listing of registered models.
type ModelFilter struct {
	// Filter and OrderBy are in MLflow's search grammar.
	Filter  string
	OrderBy []string
}

// ListModels returns one page of a project's registered models.
func (c *Client) ListModels(ctx context.Context, zoneName, project string, f ModelFilter, page enclave.Page) ([]*registry.Model, string, error) {
	p, err := projectPath(zoneName, project, "models")
	if err != nil {
		return nil, "", err
	}
	q := url.Values{}
	setIf(q, "filter", f.Filter)
	q["order_by"] = f.OrderBy
	return list[registry.Model](ctx, c, p, q, page)
}

// GetModel returns a registered model with its aliases and latest versions.
func (c *Client) GetModel(ctx context.Context, zoneName, project, name string) (*registry.Model, error) {
	p, err := projectPath(zoneName, project, "models", name)
	if err != nil {
		return nil, err
	}
	return get[registry.Model](ctx, c, p)
}

// ListModelVersions returns one page of a registered model's versions,
// newest first.
func (c *Client) ListModelVersions(ctx context.Context, zoneName, project, name string, page enclave.Page) ([]*registry.Version, string, error) {
	p, err := projectPath(zoneName, project, "models", name, "versions")
	if err != nil {
		return nil, "", err
	}
	return list[registry.Version](ctx, c, p, nil, page)
}

// GetModelVersion returns a version of a registered model.
func (c *Client) GetModelVersion(ctx context.Context, zoneName, project, name string, version int) (*registry.Version, error) {
	p, err := projectPath(zoneName, project, "models", name, "versions", strconv.Itoa(version))
	if err != nil {
		return nil, err
	}
	return get[registry.Version](ctx, c, p)
}

// ModelLineage returns where a model version came from: its logged model,
// run, experiment and the datasets the run used.
func (c *Client) ModelLineage(ctx context.Context, zoneName, project, name string, version int) (*registry.Lineage, error) {
	p, err := projectPath(zoneName, project, "models", name, "versions", strconv.Itoa(version), "lineage")
	if err != nil {
		return nil, err
	}
	return get[registry.Lineage](ctx, c, p)
}
