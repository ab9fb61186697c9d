// Package tracking is experiment tracking: experiments, runs with their
// parameters, metrics (full history), tags, dataset inputs and model
// outputs, logged models (MLflow 3) and the artifacts of runs and models.
// Every experiment belongs to one project; a run, a logged model or an
// artifact of another project does not exist for the caller.
//
// The model follows MLflow's, so that the mlflow client works against it
// unchanged (internal/mlflowapi is that transport), with what MLflow's own
// server lacks: per-project roles, an audit record of every write, and
// artifacts stored as encrypted objects under the project's key.
package tracking

import (
	"context"
	"encoding/json"
	"math"

	"github.com/enclave-ml/enclave/internal/tracking/search"
)

// Resource kinds, for policy admission and audit targets.
const (
	KindExperiment  = "experiment"
	KindRun         = "run"
	KindLoggedModel = "logged-model"
)

// Lifecycle stages of experiments, runs and logged models.
const (
	Active  = "active"
	Deleted = "deleted"
)

// Run statuses, as MLflow names them.
const (
	Running   = "RUNNING"
	Scheduled = "SCHEDULED"
	Finished  = "FINISHED"
	Failed    = "FAILED"
	Killed    = "KILLED"
)

// ValidStatus reports whether s is a run status.
func ValidStatus(s string) bool {
	switch s {
	case Running, Scheduled, Finished, Failed, Killed:
		return true
	}
	return false
}

// Logged model statuses.
const (
	ModelPending = "LOGGED_MODEL_PENDING"
	ModelReady   = "LOGGED_MODEL_READY"
	ModelFailed  = "LOGGED_MODEL_UPLOAD_FAILED"
)

// MLflow's limits, enforced as MLflow's server enforces them.
const (
	MaxEntityKeyLength     = 250
	MaxParamValueLength    = 6000
	MaxTagValueLength      = 8000
	MaxExperimentNameLen   = 500
	MaxExperimentTagValLen = 20000
	MaxParamsTagsPerBatch  = 100
	MaxMetricsPerBatch     = 1000
	MaxEntitiesPerBatch    = 1000
	MaxDatasetsPerBatch    = 1000
	MaxDatasetNameSize     = 500
	MaxDatasetDigestSize   = 36
	MaxDatasetSchemaSize   = 1048575
	MaxDatasetSourceSize   = 65535
	MaxDatasetProfileSize  = 16777215
	MaxInputTagKeySize     = 255
	MaxInputTagValueSize   = 500
	MaxRunNameLength       = 250
	MaxSearchResults       = 50000
	DefaultSearchResults   = 1000
	MaxHistoryResults      = 25000
)

// Infinities are stored as the largest finite doubles, as MLflow's SQL
// store does: a metric logged as +Inf reads back as math.MaxFloat64.
const (
	PosInf = math.MaxFloat64
	NegInf = -math.MaxFloat64
)

// Experiment groups runs.
type Experiment struct {
	ID               string    `json:"experiment_id"`
	ProjectID        string    `json:"-"`
	Zone             string    `json:"zone"`
	Project          string    `json:"project"`
	Name             string    `json:"name"`
	ArtifactLocation string    `json:"artifact_location"`
	LifecycleStage   string    `json:"lifecycle_stage"`
	CreationTime     int64     `json:"creation_time"`
	LastUpdateTime   int64     `json:"last_update_time"`
	CreatedBy        string    `json:"created_by"`
	Tags             []KeyVal  `json:"tags,omitempty"`
	Runs             *RunCount `json:"runs,omitempty"`
}

// RunCount is how many runs an experiment holds, for the native views.
type RunCount struct {
	Active  int `json:"active"`
	Deleted int `json:"deleted"`
}

// KeyVal is a parameter or a tag.
type KeyVal struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one logged value of a metric.
type Metric struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
	// IsNaN marks a NaN, stored (and in Value) as 0.
	IsNaN     bool  `json:"is_nan,omitempty"`
	Timestamp int64 `json:"timestamp"`
	Step      int64 `json:"step"`
	// ModelID, DatasetName and DatasetDigest link the value to a logged
	// model and a dataset (MLflow 3); all optional.
	ModelID       string `json:"model_id,omitempty"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
	RunID         string `json:"run_id,omitempty"`
}

// MarshalJSON writes NaN as "NaN" (JSON has no NaN), as MLflow's JSON
// does; infinities are already stored as the largest finite doubles.
func (m Metric) MarshalJSON() ([]byte, error) {
	out := struct {
		Key           string `json:"key"`
		Value         any    `json:"value"`
		IsNaN         bool   `json:"is_nan,omitempty"`
		Timestamp     int64  `json:"timestamp"`
		Step          int64  `json:"step"`
		ModelID       string `json:"model_id,omitempty"`
		DatasetName   string `json:"dataset_name,omitempty"`
		DatasetDigest string `json:"dataset_digest,omitempty"`
		RunID         string `json:"run_id,omitempty"`
	}{m.Key, m.Value, m.IsNaN, m.Timestamp, m.Step, m.ModelID, m.DatasetName, m.DatasetDigest, m.RunID}
	switch {
	case m.IsNaN || math.IsNaN(m.Value):
		out.Value, out.IsNaN = "NaN", true
	case math.IsInf(m.Value, 1):
		out.Value = PosInf
	case math.IsInf(m.Value, -1):
		out.Value = NegInf
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var in struct {
		Key           string          `json:"key"`
		Value         json.RawMessage `json:"value"`
		IsNaN         bool            `json:"is_nan"`
		Timestamp     int64           `json:"timestamp"`
		Step          int64           `json:"step"`
		ModelID       string          `json:"model_id"`
		DatasetName   string          `json:"dataset_name"`
		DatasetDigest string          `json:"dataset_digest"`
		RunID         string          `json:"run_id"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*m = Metric{Key: in.Key, IsNaN: in.IsNaN, Timestamp: in.Timestamp, Step: in.Step, ModelID: in.ModelID,
		DatasetName: in.DatasetName, DatasetDigest: in.DatasetDigest, RunID: in.RunID}
	switch string(in.Value) {
	case `"NaN"`:
		m.Value, m.IsNaN = math.NaN(), true
	case "", "null":
	default:
		if err := json.Unmarshal(in.Value, &m.Value); err != nil {
			return err
		}
	}
	return nil
}

// RunInfo is a run's identity and state.
type RunInfo struct {
	ID             string `json:"run_id"`
	ExperimentID   string `json:"experiment_id"`
	ProjectID      string `json:"-"`
	Name           string `json:"run_name"`
	UserID         string `json:"user_id"`
	PrincipalID    string `json:"-"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

// Run is a run with its latest metrics, parameters, tags, inputs and
// outputs.
type Run struct {
	Info    RunInfo        `json:"info"`
	Metrics []Metric       `json:"metrics"`
	Params  []KeyVal       `json:"params"`
	Tags    []KeyVal       `json:"tags"`
	Inputs  []DatasetInput `json:"inputs"`
	// ModelInputs and Outputs are the logged models the run used and made.
	ModelInputs []string      `json:"model_inputs,omitempty"`
	Outputs     []ModelOutput `json:"outputs"`
}

// Dataset is a dataset as MLflow describes it: a name, a digest of its
// contents, where it came from, its schema and profile.
type Dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
	// VersionRef is the Enclave dataset version the source names, when it
	// names one; lineage follows it.
	VersionRef *DatasetVersionRef `json:"enclave_dataset,omitempty"`
}

// DatasetVersionRef is a catalog dataset version a run's input names.
type DatasetVersionRef struct {
	VersionID      string `json:"version_id"`
	Zone           string `json:"zone"`
	Project        string `json:"project"`
	Dataset        string `json:"dataset"`
	Version        int    `json:"version"`
	ContentSHA256  string `json:"content_sha256,omitempty"`
	Classification string `json:"classification,omitempty"`
}

// DatasetInput is a dataset a run used, with tags such as its context
// ("training", "validation").
type DatasetInput struct {
	Dataset Dataset  `json:"dataset"`
	Tags    []KeyVal `json:"tags"`
}

// ModelOutput is a logged model a run produced, at a step.
type ModelOutput struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

// LoggedModel is an MLflow 3 logged model: a model's artifacts and
// metadata, made by a run or on its own.
type LoggedModel struct {
	ID               string   `json:"model_id"`
	ExperimentID     string   `json:"experiment_id"`
	ProjectID        string   `json:"-"`
	Name             string   `json:"name"`
	ArtifactLocation string   `json:"artifact_uri"`
	CreationTime     int64    `json:"creation_timestamp_ms"`
	LastUpdatedTime  int64    `json:"last_updated_timestamp_ms"`
	Status           string   `json:"status"`
	StatusMessage    string   `json:"status_message,omitempty"`
	LifecycleStage   string   `json:"lifecycle_stage"`
	ModelType        string   `json:"model_type,omitempty"`
	SourceRunID      string   `json:"source_run_id,omitempty"`
	CreatedBy        string   `json:"creator_id,omitempty"`
	Params           []KeyVal `json:"params"`
	Tags             []KeyVal `json:"tags"`
	Metrics          []Metric `json:"metrics"`
}

// Artifact is a file (or, in listings, a directory) of a run or a logged
// model. Its bytes are an encrypted object.
type Artifact struct {
	// Root is the run or logged model the artifact belongs to.
	Root     string `json:"-"`
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	Size     int64  `json:"file_size,omitempty"`
	ObjectID string `json:"-"`
	SHA256   string `json:"sha256,omitempty"`
}

// RunSearch is a search of runs in some experiments of a project.
type RunSearch struct {
	ProjectID     string
	ExperimentIDs []string
	Filter        search.Filter
	// ViewType is ACTIVE_ONLY, DELETED_ONLY or ALL.
	ViewType string
	OrderBy  []search.OrderBy
	Max      int
	// Offset is where the page starts (decoded from the page token).
	Offset int
}

// ExperimentSearch is a search of a project's experiments.
type ExperimentSearch struct {
	ProjectID string
	Filter    search.Filter
	ViewType  string
	OrderBy   []search.OrderBy
	Max       int
	Offset    int
}

// LoggedModelSearch is a search of logged models.
type LoggedModelSearch struct {
	ProjectID     string
	ExperimentIDs []string
	Filter        search.Filter
	OrderBy       []search.OrderBy
	Max           int
	Offset        int
}

// View types of searches.
const (
	ActiveOnly  = "ACTIVE_ONLY"
	DeletedOnly = "DELETED_ONLY"
	AllViews    = "ALL"
)

// Batch is what log-batch writes to a run at once.
type Batch struct {
	Metrics []Metric
	Params  []KeyVal
	Tags    []KeyVal
}

// Store keeps tracking data. Methods run in the caller's transaction when
// the context carries one. Lookups of a missing row fail with an error of
// code not_found.
type Store interface {
	CreateExperiment(ctx context.Context, e *Experiment) error
	GetExperiment(ctx context.Context, id string) (*Experiment, error)
	GetExperimentByName(ctx context.Context, projectID, name string) (*Experiment, error)
	// UpdateExperiment writes name, lifecycle stage and last update time.
	UpdateExperiment(ctx context.Context, e *Experiment) error
	SetExperimentTag(ctx context.Context, experimentID string, t KeyVal) error
	DeleteExperimentTag(ctx context.Context, experimentID, key string) error
	SearchExperiments(ctx context.Context, q ExperimentSearch) ([]*Experiment, error)

	CreateRun(ctx context.Context, r *RunInfo, tags []KeyVal) error
	GetRunInfo(ctx context.Context, id string) (*RunInfo, error)
	// GetRuns returns whole runs (latest metrics, params, tags, inputs,
	// outputs) by ID, in the order given, skipping IDs not found.
	GetRuns(ctx context.Context, ids []string) ([]*Run, error)
	// UpdateRunInfo writes name, status, end time and lifecycle stage.
	UpdateRunInfo(ctx context.Context, r *RunInfo) error
	// LogBatch writes metrics (ignoring exact duplicates, keeping the
	// latest value per key), parameters (a parameter already logged with a
	// different value fails with invalid_argument naming it) and tags
	// (overwritten).
	LogBatch(ctx context.Context, runID string, b Batch) error
	DeleteRunTag(ctx context.Context, runID, key string) error
	// SearchRuns returns the IDs of the runs matching, in order.
	SearchRuns(ctx context.Context, q RunSearch) ([]string, error)
	// MetricHistory returns up to limit values of a metric in (step,
	// timestamp, value) order, after the given (step, timestamp) unless
	// afterStep is math.MinInt64 (from the start).
	MetricHistory(ctx context.Context, runID, key string, afterStep int64, afterTimestamp int64, limit int) ([]Metric, error)
	// LogInputs records the datasets a run used (a dataset already known
	// to the experiment by name and digest is reused) and the models it
	// used.
	LogInputs(ctx context.Context, experimentID, runID string, in []DatasetInput, modelIDs []string) error
	LogOutputs(ctx context.Context, runID string, out []ModelOutput) error

	CreateLoggedModel(ctx context.Context, m *LoggedModel) error
	// GetLoggedModel returns a logged model with its params, tags and the
	// latest value of each metric logged with its ID.
	GetLoggedModel(ctx context.Context, id string) (*LoggedModel, error)
	// UpdateLoggedModel writes status, status message, lifecycle stage and
	// last update time.
	UpdateLoggedModel(ctx context.Context, m *LoggedModel) error
	SetLoggedModelTags(ctx context.Context, modelID string, tags []KeyVal) error
	// LogLoggedModelParams adds parameters to a logged model (a parameter
	// already set to another value fails with invalid_argument).
	LogLoggedModelParams(ctx context.Context, modelID string, params []KeyVal) error
	DeleteLoggedModelTag(ctx context.Context, modelID, key string) error
	SearchLoggedModels(ctx context.Context, q LoggedModelSearch) ([]*LoggedModel, error)

	// PutArtifact records a file of a run or model, returning the object
	// of the file it replaces ("" if new).
	PutArtifact(ctx context.Context, a *Artifact) (replaced string, err error)
	GetArtifact(ctx context.Context, root, path string) (*Artifact, error)
	// ListArtifacts lists the files under a directory of root, with their
	// paths relative to root (all files, at any depth; the caller groups
	// them into directories).
	ListArtifacts(ctx context.Context, root, dir string) ([]*Artifact, error)
	DeleteArtifact(ctx context.Context, root, path string) error
}
