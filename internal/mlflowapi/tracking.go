package mlflowapi

import (
	"math"
	"strings"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
)

// The permissions of the MLflow routes.
const (
	expRead   access.Permission = "experiments/read"
	expWrite  access.Permission = "experiments/write"
	modRead   access.Permission = "models/read"
	modWrite  access.Permission = "models/write"
	artRead   access.Permission = "models/artifacts/read"
	artWriteP access.Permission = "experiments/write"
)

const (
	api2 = "/api/2.0/mlflow"
	api3 = "/api/3.0/mlflow"
)

// table is every route of the MLflow API.
func (s *Server) table() []route {
	rt := func(method, path string, perm access.Permission, h func(c *call) error) route {
		hide := expRead
		if strings.HasPrefix(string(perm), "models") {
			hide = modRead
		}
		return route{method: method, path: path, perm: perm, hide: hide, handle: h}
	}
	rs := []route{
		rt("GET", api3+"/server-info", expRead, s.serverInfo),
		rt("GET", api2+"/server-info", expRead, s.serverInfo),

		rt("POST", api2+"/experiments/create", expWrite, s.createExperiment),
		rt("GET", api2+"/experiments/get", expRead, s.getExperiment),
		rt("GET", api2+"/experiments/get-by-name", expRead, s.getExperimentByName),
		rt("POST", api2+"/experiments/search", expRead, s.searchExperiments),
		rt("GET", api2+"/experiments/search", expRead, s.searchExperiments),
		rt("POST", api2+"/experiments/update", expWrite, s.updateExperiment),
		rt("POST", api2+"/experiments/delete", expWrite, s.experimentStage(tracking.Deleted)),
		rt("POST", api2+"/experiments/restore", expWrite, s.experimentStage(tracking.Active)),
		rt("POST", api2+"/experiments/set-experiment-tag", expWrite, s.setExperimentTag(false)),
		rt("POST", api2+"/experiments/delete-experiment-tag", expWrite, s.setExperimentTag(true)),

		rt("POST", api2+"/runs/create", expWrite, s.createRun),
		rt("GET", api2+"/runs/get", expRead, s.getRun),
		rt("POST", api2+"/runs/update", expWrite, s.updateRun),
		rt("POST", api2+"/runs/delete", expWrite, s.runStage(tracking.Deleted)),
		rt("POST", api2+"/runs/restore", expWrite, s.runStage(tracking.Active)),
		rt("POST", api2+"/runs/log-metric", expWrite, s.logMetric),
		rt("POST", api2+"/runs/log-parameter", expWrite, s.logParam),
		rt("POST", api2+"/runs/set-tag", expWrite, s.setTag),
		rt("POST", api2+"/runs/delete-tag", expWrite, s.deleteTag),
		rt("POST", api2+"/runs/log-batch", expWrite, s.logBatch),
		rt("POST", api2+"/runs/log-inputs", expWrite, s.logInputs),
		rt("POST", api2+"/runs/outputs", expWrite, s.logOutputs),
		rt("POST", api2+"/runs/log-model", expWrite, s.logModelHistory),
		rt("POST", api2+"/runs/search", expRead, s.searchRuns),
		rt("GET", api2+"/metrics/get-history", expRead, s.metricHistory),
		rt("GET", api2+"/artifacts/list", artRead, s.listRunArtifacts),

		rt("POST", api2+"/logged-models", expWrite, s.createLoggedModel),
		rt("POST", api2+"/logged-models/search", expRead, s.searchLoggedModels),
		rt("GET", api2+"/logged-models/", expRead, s.getLoggedModel),
		rt("PATCH", api2+"/logged-models/", expWrite, s.patchLoggedModel),
		rt("DELETE", api2+"/logged-models/", expWrite, s.deleteLoggedModel),
		rt("POST", api2+"/logged-models/", expWrite, s.logLoggedModelParams),
	}
	rs = append(rs, s.registryRoutes(rt)...)
	rs = append(rs, s.artifactRoutes()...)
	return rs
}

func (s *Server) serverInfo(c *call) error {
	return c.ok(map[string]any{
		"store_type": "SqlStore", "workspaces_enabled": false, "trace_archival_enabled": false,
		"multipart_uploads_enabled": true, "multipart_downloads_enabled": false,
		"presigned_upload_run_id_supported": false, "presigned_upload_model_id_supported": false,
		"features_enabled": map[string]bool{}})
}

// --- encoding -------------------------------------------------------------

type kvOut struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func kvs(in []tracking.KeyVal) []kvOut {
	if len(in) == 0 {
		return nil
	}
	out := make([]kvOut, len(in))
	for i, kv := range in {
		out[i] = kvOut(kv)
	}
	return out
}

type metricOut struct {
	Key           string `json:"key"`
	Value         float  `json:"value"`
	Timestamp     int64  `json:"timestamp"`
	Step          int64  `json:"step"`
	ModelID       string `json:"model_id,omitempty"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
	RunID         string `json:"run_id,omitempty"`
}

func metricsOut(in []tracking.Metric) []metricOut {
	if len(in) == 0 {
		return nil
	}
	out := make([]metricOut, len(in))
	for i, m := range in {
		v := m.Value
		if m.IsNaN {
			v = math.NaN()
		}
		out[i] = metricOut{Key: m.Key, Value: float(v), Timestamp: m.Timestamp, Step: m.Step, ModelID: m.ModelID,
			DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest, RunID: m.RunID}
	}
	return out
}

type experimentOut struct {
	ID               string  `json:"experiment_id"`
	Name             string  `json:"name"`
	ArtifactLocation string  `json:"artifact_location"`
	LifecycleStage   string  `json:"lifecycle_stage"`
	LastUpdateTime   int64   `json:"last_update_time"`
	CreationTime     int64   `json:"creation_time"`
	Tags             []kvOut `json:"tags,omitempty"`
}

func experimentJSON(e *tracking.Experiment) experimentOut {
	return experimentOut{ID: e.ID, Name: e.Name, ArtifactLocation: e.ArtifactLocation, LifecycleStage: e.LifecycleStage,
		LastUpdateTime: e.LastUpdateTime, CreationTime: e.CreationTime, Tags: kvs(e.Tags)}
}

type runInfoOut struct {
	RunUUID        string `json:"run_uuid"`
	RunID          string `json:"run_id"`
	ExperimentID   string `json:"experiment_id"`
	RunName        string `json:"run_name"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

func runInfoJSON(r *tracking.RunInfo) runInfoOut {
	return runInfoOut{RunUUID: r.ID, RunID: r.ID, ExperimentID: r.ExperimentID, RunName: r.Name, UserID: r.UserID,
		Status: r.Status, StartTime: r.StartTime, EndTime: r.EndTime, ArtifactURI: r.ArtifactURI, LifecycleStage: r.LifecycleStage}
}

type datasetOut struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type datasetInputOut struct {
	Tags    []kvOut    `json:"tags,omitempty"`
	Dataset datasetOut `json:"dataset"`
}

type modelIDOut struct {
	ModelID string `json:"model_id"`
}

type modelOutputOut struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

type runOut struct {
	Info runInfoOut `json:"info"`
	Data struct {
		Metrics []metricOut `json:"metrics,omitempty"`
		Params  []kvOut     `json:"params,omitempty"`
		Tags    []kvOut     `json:"tags,omitempty"`
	} `json:"data"`
	Inputs struct {
		DatasetInputs []datasetInputOut `json:"dataset_inputs,omitempty"`
		ModelInputs   []modelIDOut      `json:"model_inputs,omitempty"`
	} `json:"inputs"`
	Outputs struct {
		ModelOutputs []modelOutputOut `json:"model_outputs,omitempty"`
	} `json:"outputs"`
}

func runJSON(r *tracking.Run) *runOut {
	out := &runOut{Info: runInfoJSON(&r.Info)}
	out.Data.Metrics, out.Data.Params, out.Data.Tags = metricsOut(r.Metrics), kvs(r.Params), kvs(r.Tags)
	for _, in := range r.Inputs {
		d := in.Dataset
		out.Inputs.DatasetInputs = append(out.Inputs.DatasetInputs, datasetInputOut{Tags: kvs(in.Tags),
			Dataset: datasetOut{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType, Source: d.Source, Schema: d.Schema, Profile: d.Profile}})
	}
	for _, m := range r.ModelInputs {
		out.Inputs.ModelInputs = append(out.Inputs.ModelInputs, modelIDOut{m})
	}
	for _, o := range r.Outputs {
		out.Outputs.ModelOutputs = append(out.Outputs.ModelOutputs, modelOutputOut(o))
	}
	return out
}

type kvIn struct {
	Key   str `json:"key"`
	Value str `json:"value"`
}

func kvsIn(in []kvIn) []tracking.KeyVal {
	out := make([]tracking.KeyVal, len(in))
	for i, kv := range in {
		out[i] = tracking.KeyVal{Key: string(kv.Key), Value: string(kv.Value)}
	}
	return out
}

// --- experiments ----------------------------------------------------------

func (s *Server) createExperiment(c *call) error {
	var in struct {
		Name             str    `json:"name"`
		ArtifactLocation str    `json:"artifact_location"`
		Tags             []kvIn `json:"tags"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("name", string(in.Name)); err != nil {
		return err
	}
	if in.ArtifactLocation != "" {
		return enclave.FieldError("artifact_location", "artifacts are stored encrypted by the platform: artifact_location cannot be chosen")
	}
	e, err := s.Tracking.CreateExperiment(c.ctx, c.zone, c.project, string(in.Name), kvsIn(in.Tags))
	if err != nil {
		return err
	}
	return c.ok(map[string]string{"experiment_id": e.ID})
}

func (s *Server) getExperiment(c *call) error {
	var in struct {
		ID str `json:"experiment_id"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("experiment_id", string(in.ID)); err != nil {
		return err
	}
	e, err := s.Tracking.GetExperiment(c.ctx, c.zone, c.project, string(in.ID))
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"experiment": experimentJSON(e)})
}

func (s *Server) getExperimentByName(c *call) error {
	var in struct {
		Name str `json:"experiment_name"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("experiment_name", string(in.Name)); err != nil {
		return err
	}
	e, err := s.Tracking.GetExperimentByName(c.ctx, c.zone, c.project, string(in.Name))
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"experiment": experimentJSON(e)})
}

func viewType(v string) (string, error) {
	switch v {
	case "", "1", tracking.ActiveOnly:
		return tracking.ActiveOnly, nil
	case "2", tracking.DeletedOnly:
		return tracking.DeletedOnly, nil
	case "3", tracking.AllViews:
		return tracking.AllViews, nil
	}
	return "", enclave.FieldError("view_type", "Invalid view type %q: one of ACTIVE_ONLY, DELETED_ONLY, ALL", enclave.Truncate(v, 40))
}

func (s *Server) searchExperiments(c *call) error {
	var in struct {
		searchIn
		ViewType str `json:"view_type"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	p, err := in.parse(search.Experiments, tracking.DefaultSearchResults, tracking.MaxSearchResults, true)
	if err != nil {
		return err
	}
	vt, err := viewType(string(in.ViewType))
	if err != nil {
		return err
	}
	es, err := s.Tracking.SearchExperiments(c.ctx, c.zone, c.project, tracking.ExperimentSearch{Filter: p.filter, OrderBy: p.order,
		ViewType: vt, Max: p.max + 1, Offset: p.offset})
	if err != nil {
		return err
	}
	out := struct {
		Experiments []experimentOut `json:"experiments"`
		Next        string          `json:"next_page_token,omitempty"`
	}{Experiments: []experimentOut{}}
	es, out.Next = cut(es, p)
	for _, e := range es {
		out.Experiments = append(out.Experiments, experimentJSON(e))
	}
	return c.ok(out)
}

func (s *Server) updateExperiment(c *call) error {
	var in struct {
		ID      str `json:"experiment_id"`
		NewName str `json:"new_name"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("experiment_id", string(in.ID)); err != nil {
		return err
	}
	if err := required("new_name", string(in.NewName)); err != nil {
		return err
	}
	name := string(in.NewName)
	_, err := s.Tracking.UpdateExperiment(c.ctx, c.zone, c.project, string(in.ID), tracking.ExperimentChange{Name: &name})
	if err != nil {
		return err
	}
	return c.ok(nil)
}

func (s *Server) experimentStage(stage string) func(c *call) error {
	return func(c *call) error {
		var in struct {
			ID str `json:"experiment_id"`
		}
		if err := c.args(&in); err != nil {
			return err
		}
		if err := required("experiment_id", string(in.ID)); err != nil {
			return err
		}
		if _, err := s.Tracking.UpdateExperiment(c.ctx, c.zone, c.project, string(in.ID), tracking.ExperimentChange{Stage: &stage}); err != nil {
			return err
		}
		return c.ok(nil)
	}
}

func (s *Server) setExperimentTag(del bool) func(c *call) error {
	return func(c *call) error {
		var in struct {
			ID    str `json:"experiment_id"`
			Key   str `json:"key"`
			Value str `json:"value"`
		}
		if err := c.args(&in); err != nil {
			return err
		}
		if err := required("experiment_id", string(in.ID)); err != nil {
			return err
		}
		if err := required("key", string(in.Key)); err != nil {
			return err
		}
		if err := s.Tracking.SetExperimentTag(c.ctx, c.zone, c.project, string(in.ID), tracking.KeyVal{Key: string(in.Key), Value: string(in.Value)}, del); err != nil {
			return err
		}
		return c.ok(nil)
	}
}

// --- runs -----------------------------------------------------------------

// runID reads a run's ID as the client sends it: run_id, or the older
// run_uuid.
func runID(id, uuid str) (string, error) {
	v := string(id)
	if v == "" {
		v = string(uuid)
	}
	return v, required("run_id", v)
}

func (s *Server) createRun(c *call) error {
	var in struct {
		ExperimentID str    `json:"experiment_id"`
		UserID       str    `json:"user_id"`
		RunName      str    `json:"run_name"`
		StartTime    i64    `json:"start_time"`
		Tags         []kvIn `json:"tags"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	exp := string(in.ExperimentID)
	if exp == "" {
		exp = "0"
	}
	r, err := s.Tracking.CreateRun(c.ctx, c.zone, c.project, tracking.RunCreate{ExperimentID: exp, Name: string(in.RunName),
		UserID: string(in.UserID), StartTime: in.StartTime.v, Tags: kvsIn(in.Tags)})
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"run": runJSON(r)})
}

func (s *Server) getRun(c *call) error {
	var in struct {
		RunID   str `json:"run_id"`
		RunUUID str `json:"run_uuid"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return err
	}
	r, err := s.Tracking.GetRun(c.ctx, c.zone, c.project, id)
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"run": runJSON(r)})
}

func (s *Server) updateRun(c *call) error {
	var in struct {
		RunID   str `json:"run_id"`
		RunUUID str `json:"run_uuid"`
		Status  str `json:"status"`
		EndTime i64 `json:"end_time"`
		RunName str `json:"run_name"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return err
	}
	var ch tracking.RunChange
	if in.Status != "" {
		st := string(in.Status)
		ch.Status = &st
	}
	if in.EndTime.set {
		ch.EndTime = &in.EndTime.v
	}
	if in.RunName != "" {
		n := string(in.RunName)
		ch.Name = &n
	}
	info, err := s.Tracking.UpdateRun(c.ctx, c.zone, c.project, id, ch)
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"run_info": runInfoJSON(info)})
}

func (s *Server) runStage(stage string) func(c *call) error {
	return func(c *call) error {
		var in struct {
			RunID str `json:"run_id"`
		}
		if err := c.args(&in); err != nil {
			return err
		}
		if err := required("run_id", string(in.RunID)); err != nil {
			return err
		}
		if _, err := s.Tracking.UpdateRun(c.ctx, c.zone, c.project, string(in.RunID), tracking.RunChange{Stage: &stage}); err != nil {
			return err
		}
		return c.ok(nil)
	}
}

type metricIn struct {
	Key           str `json:"key"`
	Value         f64 `json:"value"`
	Timestamp     i64 `json:"timestamp"`
	Step          i64 `json:"step"`
	ModelID       str `json:"model_id"`
	DatasetName   str `json:"dataset_name"`
	DatasetDigest str `json:"dataset_digest"`
}

func (m metricIn) metric() (tracking.Metric, error) {
	if !m.Value.set {
		return tracking.Metric{}, required("value", "")
	}
	if !m.Timestamp.set {
		return tracking.Metric{}, required("timestamp", "")
	}
	return tracking.Metric{Key: string(m.Key), Value: m.Value.v, Timestamp: m.Timestamp.v, Step: m.Step.v,
		ModelID: string(m.ModelID), DatasetName: string(m.DatasetName), DatasetDigest: string(m.DatasetDigest)}, nil
}

func (s *Server) logMetric(c *call) error {
	var in struct {
		metricIn
		RunID   str `json:"run_id"`
		RunUUID str `json:"run_uuid"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return err
	}
	if err := required("key", string(in.Key)); err != nil {
		return err
	}
	m, err := in.metric()
	if err != nil {
		return err
	}
	return s.logged(c, s.Tracking.LogBatch(c.ctx, c.zone, c.project, id, tracking.Batch{Metrics: []tracking.Metric{m}}))
}

func (s *Server) logged(c *call, err error) error {
	if err != nil {
		return err
	}
	return c.ok(nil)
}

// logParam is runs/log-parameter, setTag runs/set-tag: one key and value,
// written as a batch of one.
func (s *Server) logParam(c *call) error { return s.logKeyValue(c, false) }

func (s *Server) setTag(c *call) error { return s.logKeyValue(c, true) }

func (s *Server) logKeyValue(c *call, tag bool) error {
	var in struct {
		RunID   str `json:"run_id"`
		RunUUID str `json:"run_uuid"`
		Key     str `json:"key"`
		Value   str `json:"value"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return err
	}
	if err := required("key", string(in.Key)); err != nil {
		return err
	}
	kv := []tracking.KeyVal{{Key: string(in.Key), Value: string(in.Value)}}
	b := tracking.Batch{Params: kv}
	if tag {
		b = tracking.Batch{Tags: kv}
	}
	return s.logged(c, s.Tracking.LogBatch(c.ctx, c.zone, c.project, id, b))
}

func (s *Server) deleteTag(c *call) error {
	var in struct {
		RunID str `json:"run_id"`
		Key   str `json:"key"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("run_id", string(in.RunID)); err != nil {
		return err
	}
	return s.logged(c, s.Tracking.DeleteRunTag(c.ctx, c.zone, c.project, string(in.RunID), string(in.Key)))
}

func (s *Server) logBatch(c *call) error {
	var in struct {
		RunID   str        `json:"run_id"`
		Metrics []metricIn `json:"metrics"`
		Params  []kvIn     `json:"params"`
		Tags    []kvIn     `json:"tags"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("run_id", string(in.RunID)); err != nil {
		return err
	}
	b := tracking.Batch{Params: kvsIn(in.Params), Tags: kvsIn(in.Tags)}
	if len(in.Metrics) > tracking.MaxMetricsPerBatch {
		return enclave.FieldError("metrics", "A batch logging request can contain at most %d metrics. Got %d metrics. Please split up metrics across multiple requests and try again.", tracking.MaxMetricsPerBatch, len(in.Metrics))
	}
	b.Metrics = make([]tracking.Metric, 0, len(in.Metrics))
	for _, m := range in.Metrics {
		mm, err := m.metric()
		if err != nil {
			return err
		}
		b.Metrics = append(b.Metrics, mm)
	}
	return s.logged(c, s.Tracking.LogBatch(c.ctx, c.zone, c.project, string(in.RunID), b))
}

func (s *Server) logInputs(c *call) error {
	var in struct {
		RunID    str `json:"run_id"`
		Datasets []struct {
			Tags    []kvIn `json:"tags"`
			Dataset struct {
				Name       str `json:"name"`
				Digest     str `json:"digest"`
				SourceType str `json:"source_type"`
				Source     str `json:"source"`
				Schema     str `json:"schema"`
				Profile    str `json:"profile"`
			} `json:"dataset"`
		} `json:"datasets"`
		Models []struct {
			ModelID str `json:"model_id"`
		} `json:"models"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("run_id", string(in.RunID)); err != nil {
		return err
	}
	var ds []tracking.DatasetInput
	for _, d := range in.Datasets {
		ds = append(ds, tracking.DatasetInput{Tags: kvsIn(d.Tags), Dataset: tracking.Dataset{Name: string(d.Dataset.Name),
			Digest: string(d.Dataset.Digest), SourceType: string(d.Dataset.SourceType), Source: string(d.Dataset.Source),
			Schema: string(d.Dataset.Schema), Profile: string(d.Dataset.Profile)}})
	}
	var models []string
	for _, m := range in.Models {
		models = append(models, string(m.ModelID))
	}
	return s.logged(c, s.Tracking.LogInputs(c.ctx, c.zone, c.project, string(in.RunID), ds, models))
}

func (s *Server) logOutputs(c *call) error {
	var in struct {
		RunID  str `json:"run_id"`
		Models []struct {
			ModelID str `json:"model_id"`
			Step    i64 `json:"step"`
		} `json:"models"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("run_id", string(in.RunID)); err != nil {
		return err
	}
	var out []tracking.ModelOutput
	for _, m := range in.Models {
		out = append(out, tracking.ModelOutput{ModelID: string(m.ModelID), Step: m.Step.v})
	}
	return s.logged(c, s.Tracking.LogOutputs(c.ctx, c.zone, c.project, string(in.RunID), out))
}

// logModelHistory is MLflow 2's runs/log-model: it records the model's
// metadata in the run's mlflow.log-model.history tag.
func (s *Server) logModelHistory(c *call) error {
	var in struct {
		RunID     str `json:"run_id"`
		ModelJSON str `json:"model_json"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("run_id", string(in.RunID)); err != nil {
		return err
	}
	r, err := s.Tracking.GetRun(c.ctx, c.zone, c.project, string(in.RunID))
	if err != nil {
		return err
	}
	hist := "[]"
	for _, t := range r.Tags {
		if t.Key == "mlflow.log-model.history" {
			hist = t.Value
		}
	}
	hist = strings.TrimSuffix(strings.TrimSpace(hist), "]")
	if strings.TrimSpace(strings.TrimPrefix(hist, "[")) != "" {
		hist += ", "
	}
	hist += string(in.ModelJSON) + "]"
	return s.logged(c, s.Tracking.LogBatch(c.ctx, c.zone, c.project, r.Info.ID, tracking.Batch{Tags: []tracking.KeyVal{{Key: "mlflow.log-model.history", Value: hist}}}))
}

func (s *Server) searchRuns(c *call) error {
	var in struct {
		searchIn
		ExperimentIDs strs `json:"experiment_ids"`
		RunViewType   str  `json:"run_view_type"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	p, err := in.parse(search.Runs, tracking.DefaultSearchResults, tracking.MaxSearchResults, true)
	if err != nil {
		return err
	}
	vt, err := viewType(string(in.RunViewType))
	if err != nil {
		return err
	}
	rs, err := s.Tracking.SearchRuns(c.ctx, c.zone, c.project, tracking.RunSearch{ExperimentIDs: in.ExperimentIDs, Filter: p.filter,
		ViewType: vt, OrderBy: p.order, Max: p.max + 1, Offset: p.offset})
	if err != nil {
		return err
	}
	out := struct {
		Runs []*runOut `json:"runs,omitempty"`
		Next string    `json:"next_page_token,omitempty"`
	}{}
	rs, out.Next = cut(rs, p)
	for _, r := range rs {
		out.Runs = append(out.Runs, runJSON(r))
	}
	return c.ok(out)
}

func (s *Server) metricHistory(c *call) error {
	var in struct {
		RunID      str `json:"run_id"`
		RunUUID    str `json:"run_uuid"`
		MetricKey  str `json:"metric_key"`
		MaxResults i64 `json:"max_results"`
		PageToken  str `json:"page_token"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return err
	}
	if err := required("metric_key", string(in.MetricKey)); err != nil {
		return err
	}
	max, err := page("max_results", in.MaxResults, tracking.MaxHistoryResults, tracking.MaxHistoryResults)
	if err != nil {
		return err
	}
	offset, err := decodeToken(string(in.PageToken))
	if err != nil {
		return err
	}
	// The store pages by position; offset counts values already returned.
	ms, err := s.Tracking.MetricHistory(c.ctx, c.zone, c.project, id, string(in.MetricKey), math.MinInt64, 0, offset+max+1)
	if err != nil {
		return err
	}
	if offset > len(ms) {
		offset = len(ms)
	}
	ms = ms[offset:]
	out := struct {
		Metrics []metricOut `json:"metrics,omitempty"`
		Next    string      `json:"next_page_token,omitempty"`
	}{}
	if len(ms) > max {
		ms, out.Next = ms[:max], encodeToken(offset+max)
	}
	out.Metrics = metricsOut(ms)
	return c.ok(out)
}

// --- logged models --------------------------------------------------------

type loggedModelOut struct {
	Info struct {
		ModelID         string  `json:"model_id"`
		ExperimentID    string  `json:"experiment_id"`
		Name            string  `json:"name"`
		CreationTime    int64   `json:"creation_timestamp_ms"`
		LastUpdatedTime int64   `json:"last_updated_timestamp_ms"`
		ArtifactURI     string  `json:"artifact_uri"`
		Status          string  `json:"status"`
		StatusMessage   string  `json:"status_message,omitempty"`
		ModelType       string  `json:"model_type"`
		SourceRunID     string  `json:"source_run_id,omitempty"`
		CreatorID       string  `json:"creator_id,omitempty"`
		Tags            []kvOut `json:"tags,omitempty"`
	} `json:"info"`
	Data struct {
		Params  []kvOut     `json:"params,omitempty"`
		Metrics []metricOut `json:"metrics,omitempty"`
	} `json:"data"`
}

func loggedModelJSON(m *tracking.LoggedModel) *loggedModelOut {
	out := &loggedModelOut{}
	i := &out.Info
	i.ModelID, i.ExperimentID, i.Name, i.CreationTime, i.LastUpdatedTime = m.ID, m.ExperimentID, m.Name, m.CreationTime, m.LastUpdatedTime
	i.ArtifactURI, i.Status, i.StatusMessage, i.ModelType, i.SourceRunID = m.ArtifactLocation, m.Status, m.StatusMessage, m.ModelType, m.SourceRunID
	i.Tags = kvs(m.Tags)
	out.Data.Params, out.Data.Metrics = kvs(m.Params), metricsOut(m.Metrics)
	return out
}

func (s *Server) createLoggedModel(c *call) error {
	var in struct {
		ExperimentID str    `json:"experiment_id"`
		Name         str    `json:"name"`
		ModelType    str    `json:"model_type"`
		SourceRunID  str    `json:"source_run_id"`
		Params       []kvIn `json:"params"`
		Tags         []kvIn `json:"tags"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	if err := required("experiment_id", string(in.ExperimentID)); err != nil {
		return err
	}
	m, err := s.Tracking.CreateLoggedModel(c.ctx, c.zone, c.project, tracking.LoggedModelCreate{ExperimentID: string(in.ExperimentID),
		Name: string(in.Name), ModelType: string(in.ModelType), SourceRunID: string(in.SourceRunID), Params: kvsIn(in.Params), Tags: kvsIn(in.Tags)})
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"model": loggedModelJSON(m)})
}

// modelPath splits what follows logged-models/ into the model ID and the
// rest ("tags", "tags/KEY", "params" or "").
func modelPath(rest string) (string, string) {
	id, sub, _ := strings.Cut(rest, "/")
	return id, sub
}

func (s *Server) getLoggedModel(c *call) error {
	id, sub := modelPath(c.rest)
	if sub != "" {
		if sub == "artifacts/directories" {
			return s.listModelArtifacts(c, id)
		}
		return errEndpoint(c.r)
	}
	m, err := s.Tracking.GetLoggedModel(c.ctx, c.zone, c.project, id)
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"model": loggedModelJSON(m)})
}

func (s *Server) patchLoggedModel(c *call) error {
	id, sub := modelPath(c.rest)
	switch sub {
	case "":
		var in struct {
			Status str `json:"status"`
		}
		if err := c.args(&in); err != nil {
			return err
		}
		st := string(in.Status)
		switch st {
		case "2", "READY":
			st = tracking.ModelReady
		case "3", "FAILED":
			st = tracking.ModelFailed
		}
		m, err := s.Tracking.FinalizeLoggedModel(c.ctx, c.zone, c.project, id, st)
		if err != nil {
			return err
		}
		return c.ok(map[string]any{"model": loggedModelJSON(m)})
	case "tags":
		var in struct {
			Tags []kvIn `json:"tags"`
		}
		if err := c.args(&in); err != nil {
			return err
		}
		if err := s.Tracking.SetLoggedModelTags(c.ctx, c.zone, c.project, id, kvsIn(in.Tags), false); err != nil {
			return err
		}
		m, err := s.Tracking.GetLoggedModel(c.ctx, c.zone, c.project, id)
		if err != nil {
			return err
		}
		return c.ok(map[string]any{"model": loggedModelJSON(m)})
	}
	return errEndpoint(c.r)
}

func (s *Server) deleteLoggedModel(c *call) error {
	id, sub := modelPath(c.rest)
	if key, ok := strings.CutPrefix(sub, "tags/"); ok {
		return s.logged(c, s.Tracking.SetLoggedModelTags(c.ctx, c.zone, c.project, id, []tracking.KeyVal{{Key: key}}, true))
	}
	if sub != "" {
		return errEndpoint(c.r)
	}
	return s.logged(c, s.Tracking.DeleteLoggedModel(c.ctx, c.zone, c.project, id))
}

func (s *Server) logLoggedModelParams(c *call) error {
	id, sub := modelPath(c.rest)
	if sub != "params" {
		return errEndpoint(c.r)
	}
	var in struct {
		Params []kvIn `json:"params"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	return s.logged(c, s.Tracking.LogLoggedModelParams(c.ctx, c.zone, c.project, id, kvsIn(in.Params)))
}

func (s *Server) searchLoggedModels(c *call) error {
	var in struct {
		ExperimentIDs strs `json:"experiment_ids"`
		Filter        str  `json:"filter"`
		MaxResults    i64  `json:"max_results"`
		PageToken     str  `json:"page_token"`
		OrderBy       []struct {
			FieldName str      `json:"field_name"`
			Ascending *boolean `json:"ascending"`
		} `json:"order_by"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	p, err := searchIn{Filter: in.Filter, MaxResults: in.MaxResults, PageToken: in.PageToken}.parse(search.LoggedModels, 100, tracking.MaxSearchResults, false)
	if err != nil {
		return err
	}
	for _, o := range in.OrderBy {
		o, err := search.ParseLoggedModelOrderBy(string(o.FieldName), o.Ascending == nil || bool(*o.Ascending))
		if err != nil {
			return err
		}
		p.order = append(p.order, o)
	}
	ms, err := s.Tracking.SearchLoggedModels(c.ctx, c.zone, c.project, tracking.LoggedModelSearch{ExperimentIDs: in.ExperimentIDs,
		Filter: p.filter, OrderBy: p.order, Max: p.max + 1, Offset: p.offset})
	if err != nil {
		return err
	}
	out := struct {
		Models []*loggedModelOut `json:"models,omitempty"`
		Next   string            `json:"next_page_token,omitempty"`
	}{}
	ms, out.Next = cut(ms, p)
	for _, m := range ms {
		out.Models = append(out.Models, loggedModelJSON(m))
	}
	return c.ok(out)
}
