package api

import (
	"context"
	"math"
	"net/http"
	"strconv"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
)

// ModelVersionList is a page of model versions. It is List[*registry.Version]
// under its own name: the OpenAPI document names generic lists after their
// item type alone, and ListVersion is already the dataset versions' list.
type ModelVersionList List[*registry.Version]

// Example values of the tracking and registry routes' bodies, for the
// OpenAPI document.
var (
	experimentList = List[*tracking.Experiment]{}
	runList        = List[*tracking.Run]{}
	metricList     = List[tracking.Metric]{}
	modelList      = List[*registry.Model]{}
)

const (
	projectBase    = "/api/v1/zones/{zone}/projects/{project}"
	experimentPath = projectBase + "/experiments/{experiment}"
	runPath        = projectBase + "/runs/{run}"
	modelPath      = projectBase + "/models/{model}"
	modelVersion   = modelPath + "/versions/{version}"
)

var (
	filterQ  = param{"filter", "MLflow search filter, e.g. metrics.auc > 0.8 and params.lr = '0.1'"}
	orderByQ = param{"order_by", "MLflow order_by clause, e.g. metrics.auc DESC (repeatable)"}
	viewQ    = param{"view", "active (default), deleted or all"}
)

// trackingRoutes are the native, read-only views of experiment tracking and
// the model registry. Clients write through the MLflow-compatible API
// (internal/mlflowapi), so every route here is a GET.
func (s *Server) trackingRoutes() []route {
	const exp, mod = "experiments", "models"
	const expRead, modRead = tracking.PermRead, "models/read"
	return []route{
		{method: "GET", pattern: projectBase + "/experiments", perm: expRead, summary: "List and search a project's experiments",
			tag: exp, out: experimentList, status: 200, handle: s.listExperiments,
			query: append([]param{viewQ, filterQ, orderByQ}, pageQuery...)},
		{method: "GET", pattern: experimentPath, perm: expRead, summary: "An experiment, by ID or name, with its tags and run counts",
			tag: exp, out: tracking.Experiment{}, status: 200, handle: s.getExperiment},
		{method: "GET", pattern: projectBase + "/runs", perm: expRead, summary: "Search the runs of some of a project's experiments",
			tag: exp, out: runList, status: 200, handle: s.listRuns,
			query: append([]param{{"experiment", "experiment ID or name (required, repeatable)"}, filterQ, orderByQ, viewQ}, pageQuery...)},
		{method: "GET", pattern: runPath, perm: expRead,
			summary: "A run with its latest metrics, parameters, tags, dataset inputs (with the catalog versions they name) and model outputs",
			tag:     exp, out: tracking.Run{}, status: 200, handle: s.getRun},
		{method: "GET", pattern: runPath + "/metrics/{key...}", perm: expRead, summary: "Every value logged of a run's metric, by step and time",
			tag: exp, out: metricList, status: 200, handle: s.metricHistory, query: pageQuery},

		{method: "GET", pattern: projectBase + "/models", perm: modRead, summary: "List and search a project's registered models",
			tag: mod, out: modelList, status: 200, handle: s.listModels, query: append([]param{filterQ, orderByQ}, pageQuery...)},
		{method: "GET", pattern: modelPath, perm: modRead, summary: "A registered model with its aliases and latest version per stage",
			tag: mod, out: registry.Model{}, status: 200, handle: s.getModel},
		{method: "GET", pattern: modelPath + "/versions", perm: modRead, summary: "A registered model's versions, newest first",
			tag: mod, out: ModelVersionList{}, status: 200, handle: s.listModelVersions, query: pageQuery},
		{method: "GET", pattern: modelVersion, perm: modRead, summary: "A version of a registered model",
			tag: mod, out: registry.Version{}, status: 200, handle: s.getModelVersion},
		{method: "GET", pattern: modelVersion + "/lineage", perm: modRead,
			summary: "Where a model version came from: its logged model, the run that trained it, and the dataset versions the run used",
			tag:     mod, out: registry.Lineage{}, status: 200, handle: s.modelLineage},
	}
}

// offsetPage reads page_size and page_token for the searches of tracking
// and the registry, which page by position: the token carries the offset
// of the next page where other lists carry the sort key of the last item.
func offsetPage(r *http.Request) (size, offset int, err error) {
	p, err := pageParams(r)
	if err != nil {
		return 0, 0, err
	}
	p, c, err := p.Normalize()
	if err != nil {
		return 0, 0, err
	}
	if c.After != "" {
		offset, err = strconv.Atoi(c.After)
		if err != nil || offset < 0 || offset > tracking.MaxSearchResults {
			return 0, 0, enclave.FieldError("page_token", "page_token is not a token this server issued")
		}
	}
	return p.Size, offset, nil
}

// offsetList trims items, fetched with one more than size, to the page,
// with the token of the next page when there is one.
func offsetList[T any](items []T, size, offset int) List[T] {
	next := ""
	if len(items) > size {
		items, next = items[:size], enclave.EncodeCursor(strconv.Itoa(offset+size))
	}
	return listOf(items, next)
}

// viewParam reads view: active (the default), deleted or all.
func viewParam(r *http.Request) (string, error) {
	switch v := r.URL.Query().Get("view"); v {
	case "", "active":
		return tracking.ActiveOnly, nil
	case "deleted":
		return tracking.DeletedOnly, nil
	case "all":
		return tracking.AllViews, nil
	}
	return "", enclave.FieldError("view", "view must be active, deleted or all")
}

// searchParams reads filter and order_by in the MLflow grammar of entity e.
func searchParams(r *http.Request, e search.Entity) (search.Filter, []search.OrderBy, error) {
	q := r.URL.Query()
	f, err := search.Parse(e, q.Get("filter"))
	if err != nil {
		return nil, nil, err
	}
	ob, err := search.ParseOrderBy(e, q["order_by"])
	return f, ob, err
}

func (s *Server) listExperiments(w http.ResponseWriter, r *http.Request) error {
	size, offset, err := offsetPage(r)
	if err != nil {
		return err
	}
	view, err := viewParam(r)
	if err != nil {
		return err
	}
	f, ob, err := searchParams(r, search.Experiments)
	if err != nil {
		return err
	}
	es, err := s.Tracking.SearchExperiments(r.Context(), r.PathValue("zone"), r.PathValue("project"),
		tracking.ExperimentSearch{Filter: f, OrderBy: ob, ViewType: view, Max: size + 1, Offset: offset})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, offsetList(es, size, offset))
}

// experimentByRef finds an experiment by ID, else by name: a name may look
// like an ID, so a reference that is no experiment's ID is tried as a name.
func (s *Server) experimentByRef(ctx context.Context, zoneName, project, ref string) (*tracking.Experiment, error) {
	e, err := s.Tracking.GetExperiment(ctx, zoneName, project, ref)
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return s.Tracking.GetExperimentByName(ctx, zoneName, project, ref)
	}
	return e, err
}

func (s *Server) getExperiment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.experimentByRef(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("experiment"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	size, offset, err := offsetPage(r)
	if err != nil {
		return err
	}
	view, err := viewParam(r)
	if err != nil {
		return err
	}
	f, ob, err := searchParams(r, search.Runs)
	if err != nil {
		return err
	}
	refs := r.URL.Query()["experiment"]
	if len(refs) == 0 {
		return enclave.FieldError("experiment", "experiment is required: the ID or name of an experiment whose runs to search")
	}
	zoneName, project := r.PathValue("zone"), r.PathValue("project")
	ids := make([]string, 0, len(refs))
	for _, ref := range refs {
		e, err := s.experimentByRef(r.Context(), zoneName, project, ref)
		if err != nil {
			return err
		}
		ids = append(ids, e.ID)
	}
	rs, err := s.Tracking.SearchRuns(r.Context(), zoneName, project,
		tracking.RunSearch{ExperimentIDs: ids, Filter: f, OrderBy: ob, ViewType: view, Max: size + 1, Offset: offset})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, offsetList(rs, size, offset))
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	run, err := s.Tracking.GetRun(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("run"))
	if err != nil {
		return err
	}
	for i := range run.Inputs {
		s.Tracking.DescribeDataset(r.Context(), &run.Inputs[i].Dataset)
	}
	return writeJSON(w, http.StatusOK, run)
}

func (s *Server) metricHistory(w http.ResponseWriter, r *http.Request) error {
	size, offset, err := offsetPage(r)
	if err != nil {
		return err
	}
	// The store pages by (step, timestamp), which several values may
	// share; the page starts at a position counted from the first value.
	ms, err := s.Tracking.MetricHistory(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("run"), r.PathValue("key"),
		math.MinInt64, 0, offset+size+1)
	if err != nil {
		return err
	}
	ms = ms[min(offset, len(ms)):]
	return writeJSON(w, http.StatusOK, offsetList(ms, size, offset))
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	size, offset, err := offsetPage(r)
	if err != nil {
		return err
	}
	f, ob, err := searchParams(r, search.RegisteredModels)
	if err != nil {
		return err
	}
	ms, err := s.Models.SearchModels(r.Context(), r.PathValue("zone"), r.PathValue("project"),
		registry.ModelSearch{Filter: f, OrderBy: ob, Max: size + 1, Offset: offset})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, offsetList(ms, size, offset))
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) error {
	m, err := s.Models.GetModel(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("model"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

func (s *Server) listModelVersions(w http.ResponseWriter, r *http.Request) error {
	size, offset, err := offsetPage(r)
	if err != nil {
		return err
	}
	zoneName, project, name := r.PathValue("zone"), r.PathValue("project"), r.PathValue("model")
	// The search of versions finds none of a model that does not exist;
	// asking for the model first makes that a not_found.
	if _, err := s.Models.GetModel(r.Context(), zoneName, project, name); err != nil {
		return err
	}
	vs, err := s.Models.SearchVersions(r.Context(), zoneName, project, registry.VersionSearch{
		Filter:  search.Filter{{Type: search.Attribute, Key: "name", Op: "=", Value: name}},
		OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "version_number"}},
		Max:     size + 1, Offset: offset})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ModelVersionList(offsetList(vs, size, offset)))
}

func (s *Server) getModelVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := registry.ParseVersion(r.PathValue("version"))
	if err != nil {
		return err
	}
	v, err := s.Models.GetVersion(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("model"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) modelLineage(w http.ResponseWriter, r *http.Request) error {
	n, err := registry.ParseVersion(r.PathValue("version"))
	if err != nil {
		return err
	}
	l, err := s.Models.Lineage(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("model"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}
