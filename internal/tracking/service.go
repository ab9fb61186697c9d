package tracking

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/google/uuid"
)

// Permissions the service checks itself (the transport checks the route's
// permission at the project before calling).
const (
	PermRead           = "experiments/read"
	PermWrite          = "experiments/write"
	PermArtifactsRead  = "models/artifacts/read"
	PermDatasetsRead   = "datasets/read"
	DefaultExperiment  = "Default"
	defaultExperiment0 = "0"
)

// Service runs experiment tracking for the projects of every zone.
type Service struct {
	Store     Store
	Zones     *zone.Service
	Catalog   *catalog.Service
	Objects   *objects.Service
	Placement func(ctx context.Context, p *zone.Project) (objects.Placement, error)
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Admission enclave.Admitter
	Clock     enclave.Clock
	// Authorize checks a permission of the caller at a scope.
	Authorize func(ctx context.Context, perm, scope string) error
	// DatasetVersion describes a catalog dataset version by its ID, for
	// lineage.
	DatasetVersion func(ctx context.Context, id string) (*DatasetVersionRef, error)
	// MaxArtifactBytes bounds one artifact file (0: no bound but the
	// storage quota's).
	MaxArtifactBytes int64
	// Quota is a project's storage quota in bytes (0: none); artifacts
	// count against it with the project's datasets.
	Quota  func(p *zone.Project) int64
	Logger *slog.Logger
}

// Scope is a project's access scope.
func Scope(p *zone.Project) string { return string(access.ProjectScope(p.Zone, p.Name)) }

func newID() string {
	u := uuid.Must(uuid.NewV7())
	return hex.EncodeToString(u[:])
}

// validID reports whether id looks like an ID this service issues (or the
// default experiment's "0"), before any lookup.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

func caller(ctx context.Context) (*enclave.Actor, error) {
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return nil, enclave.Errorf(enclave.CodeUnauthenticated, "no caller")
	}
	return a, nil
}

func (s *Service) now() int64 { return s.Clock.Now().UnixMilli() }

// Project returns an active project.
func (s *Service) Project(ctx context.Context, zoneName, project string) (*zone.Project, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	if p.State != zone.Active {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "project %s is %s", p.Name, p.State)
	}
	return p, nil
}

func (s *Service) record(ctx context.Context, p *zone.Project, action, targetType, targetID string, details map[string]any) error {
	return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: targetType, TargetID: targetID, Scope: Scope(p), Details: details})
}

func (s *Service) admit(ctx context.Context, p *zone.Project, kind, op string, obj, old any, validate func() error) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: kind, Operation: op, Scope: Scope(p), Object: obj, Old: old, Validate: validate})
}

// --- validation -----------------------------------------------------------

func validText(field, v string, max int) error {
	switch {
	case len(v) > max:
		return enclave.FieldError(field, "%s must be at most %d bytes, got %d", field, max, len(v))
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return enclave.FieldError(field, "%s must be UTF-8 text without NUL", field)
	}
	return nil
}

// validKey checks a metric, parameter or tag key as MLflow does: not
// empty, at most 250 bytes, alphanumerics, underscores, dashes, periods,
// spaces and slashes, and not a path that climbs out (MLflow's keys name
// files in its file store).
func validKey(field, key string) error {
	if key == "" {
		return enclave.FieldError(field, "Missing value for required parameter '%s'", field)
	}
	if len(key) > MaxEntityKeyLength {
		return enclave.FieldError(field, "'%s' exceeds the maximum length of %d characters: %q…", field, MaxEntityKeyLength, key[:40])
	}
	for _, r := range key {
		if !(r == '_' || r == '-' || r == '.' || r == ' ' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 && r != utf8.RuneError) {
			return enclave.FieldError(field, "Invalid value %q for parameter '%s': names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/)", enclave.Truncate(key, 100), field)
		}
	}
	if slices.Contains(strings.Split(key, "/"), "..") || strings.HasPrefix(key, "/") {
		return enclave.FieldError(field, "Invalid value %q for parameter '%s': names may be treated as files in certain cases, and must not resolve to other names when treated as such", enclave.Truncate(key, 100), field)
	}
	return nil
}

func validKeyVals(field string, kvs []KeyVal, maxVal int) error {
	for _, kv := range kvs {
		if err := validKey(field, kv.Key); err != nil {
			return err
		}
		if err := validText(field, kv.Value, maxVal); err != nil {
			return enclave.FieldError(field, "%s '%s' had value length %d, which exceeded length limit of %d", field, kv.Key, len(kv.Value), maxVal)
		}
	}
	return nil
}

// normaliseMetric stores ±Inf as MLflow does and checks the key.
func normaliseMetric(m *Metric) error {
	if err := validKey("metrics", m.Key); err != nil {
		return err
	}
	switch {
	case math.IsNaN(m.Value):
		m.IsNaN, m.Value = true, 0
	case math.IsInf(m.Value, 1):
		m.Value = PosInf
	case math.IsInf(m.Value, -1):
		m.Value = NegInf
	}
	if m.ModelID != "" && !validModelID(m.ModelID) {
		return enclave.FieldError("metrics", "model_id %q is not a logged model ID", enclave.Truncate(m.ModelID, 80))
	}
	if err := validText("dataset_name", m.DatasetName, MaxDatasetNameSize); err != nil {
		return err
	}
	return validText("dataset_digest", m.DatasetDigest, MaxDatasetDigestSize)
}

func validModelID(id string) bool {
	rest, ok := strings.CutPrefix(id, "m-")
	return ok && validID(rest)
}

// --- experiments ----------------------------------------------------------

// CreateExperiment creates an experiment in a project.
func (s *Service) CreateExperiment(ctx context.Context, zoneName, project, name string, tags []KeyVal) (*Experiment, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		return nil, enclave.FieldError("name", "Invalid experiment name: ''")
	}
	if err := validText("name", name, MaxExperimentNameLen); err != nil {
		return nil, err
	}
	if err := validKeyVals("tags", tags, MaxExperimentTagValLen); err != nil {
		return nil, err
	}
	var out *Experiment
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		out, err = s.createExperiment(ctx, p, a, name, tags)
		return err
	})
	return out, err
}

func (s *Service) createExperiment(ctx context.Context, p *zone.Project, a *enclave.Actor, name string, tags []KeyVal) (*Experiment, error) {
	now := s.now()
	id := newID()
	e := &Experiment{ID: id, ProjectID: p.ID, Zone: p.Zone, Project: p.Name, Name: name, ArtifactLocation: "mlflow-artifacts:/" + id,
		LifecycleStage: Active, CreationTime: now, LastUpdateTime: now, CreatedBy: a.Name, Tags: tags}
	if err := s.admit(ctx, p, KindExperiment, enclave.OpCreate, e, nil, func() error {
		if e.ID != id || e.ProjectID != p.ID || e.ArtifactLocation != "mlflow-artifacts:/"+id {
			return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change an experiment's identity")
		}
		return validText("name", e.Name, MaxExperimentNameLen)
	}); err != nil {
		return nil, err
	}
	if err := s.Store.CreateExperiment(ctx, e); err != nil {
		if enclave.IsCode(err, enclave.CodeConflict) {
			return nil, &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: fmt.Sprintf("Experiment '%s' already exists.", name)}
		}
		return nil, err
	}
	for _, t := range e.Tags {
		if err := s.Store.SetExperimentTag(ctx, e.ID, t); err != nil {
			return nil, err
		}
	}
	return e, s.record(ctx, p, "tracking.experiment.create", KindExperiment, e.ID, map[string]any{"name": e.Name})
}

// experiment returns an experiment of the project; "0" names the project's
// default experiment, made when first written to if create is set.
func (s *Service) experiment(ctx context.Context, p *zone.Project, id string, create bool) (*Experiment, error) {
	if id == defaultExperiment0 {
		e, err := s.Store.GetExperimentByName(ctx, p.ID, DefaultExperiment)
		if err == nil || !create || !enclave.IsCode(err, enclave.CodeNotFound) {
			return e, err
		}
		a, err := caller(ctx)
		if err != nil {
			return nil, err
		}
		return s.createExperiment(ctx, p, a, DefaultExperiment, nil)
	}
	notFound := enclave.Errorf(enclave.CodeNotFound, "No Experiment with id=%s exists", enclave.Truncate(id, 64))
	if !validID(id) {
		return nil, notFound
	}
	e, err := s.Store.GetExperiment(ctx, id)
	if err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return nil, notFound
		}
		return nil, err
	}
	if e.ProjectID != p.ID {
		return nil, notFound
	}
	return e, nil
}

// GetExperiment returns an experiment of the project.
func (s *Service) GetExperiment(ctx context.Context, zoneName, project, id string) (*Experiment, error) {
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	return s.experiment(ctx, p, id, false)
}

// GetExperimentByName returns an experiment of the project by name.
func (s *Service) GetExperimentByName(ctx context.Context, zoneName, project, name string) (*Experiment, error) {
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	if err := validText("experiment_name", name, MaxExperimentNameLen); err != nil {
		return nil, err
	}
	e, err := s.Store.GetExperimentByName(ctx, p.ID, name)
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return nil, enclave.Errorf(enclave.CodeNotFound, "Could not find experiment with name '%s'", enclave.Truncate(name, 200))
	}
	return e, err
}

// ExperimentChange is an update of an experiment.
type ExperimentChange struct {
	Name  *string
	Stage *string // Active (restore) or Deleted
}

// UpdateExperiment renames, deletes or restores an experiment.
func (s *Service) UpdateExperiment(ctx context.Context, zoneName, project, id string, c ExperimentChange) (*Experiment, error) {
	if c.Name != nil {
		if strings.TrimSpace(*c.Name) == "" {
			return nil, enclave.FieldError("new_name", "Invalid experiment name: ''")
		}
		if err := validText("new_name", *c.Name, MaxExperimentNameLen); err != nil {
			return nil, err
		}
	}
	var out *Experiment
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		e, err := s.experiment(ctx, p, id, false)
		if err != nil {
			return err
		}
		old := *e
		action := "tracking.experiment.update"
		switch {
		case c.Name != nil:
			if e.LifecycleStage != Active {
				return enclave.Errorf(enclave.CodeFailedPrecondition, "Cannot rename a non-active experiment.")
			}
			e.Name = *c.Name
		case c.Stage != nil && *c.Stage == Deleted:
			if e.LifecycleStage == Deleted {
				return enclave.Errorf(enclave.CodeFailedPrecondition, "Cannot delete an already deleted experiment.")
			}
			e.LifecycleStage, action = Deleted, "tracking.experiment.delete"
		case c.Stage != nil && *c.Stage == Active:
			if e.LifecycleStage != Deleted {
				return enclave.Errorf(enclave.CodeFailedPrecondition, "Cannot restore an experiment that is not deleted.")
			}
			e.LifecycleStage, action = Active, "tracking.experiment.restore"
		}
		e.LastUpdateTime = s.now()
		if err := s.admit(ctx, p, KindExperiment, enclave.OpUpdate, e, &old, func() error {
			if e.ID != old.ID || e.ProjectID != old.ProjectID || e.LifecycleStage != old.LifecycleStage && c.Stage == nil {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change an experiment's identity or stage")
			}
			return nil
		}); err != nil {
			return err
		}
		if err := s.Store.UpdateExperiment(ctx, e); err != nil {
			if enclave.IsCode(err, enclave.CodeConflict) {
				return &enclave.Error{Code: enclave.CodeConflict, Field: "new_name", Message: fmt.Sprintf("Experiment '%s' already exists.", e.Name)}
			}
			return err
		}
		out = e
		return s.record(ctx, p, action, KindExperiment, e.ID, map[string]any{"name": e.Name, "old_name": old.Name})
	})
	return out, err
}

// SetExperimentTag sets (or, with del, deletes) a tag of an experiment.
func (s *Service) SetExperimentTag(ctx context.Context, zoneName, project, id string, t KeyVal, del bool) error {
	if err := validKeyVals("key", []KeyVal{t}, MaxExperimentTagValLen); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		e, err := s.experiment(ctx, p, id, false)
		if err != nil {
			return err
		}
		if e.LifecycleStage != Active {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "The experiment %s must be in the 'active' state. Current state is %s.", e.ID, e.LifecycleStage)
		}
		action := "tracking.experiment.tag.set"
		if del {
			action = "tracking.experiment.tag.delete"
			err = s.Store.DeleteExperimentTag(ctx, e.ID, t.Key)
		} else {
			err = s.Store.SetExperimentTag(ctx, e.ID, t)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, p, action, KindExperiment, e.ID, map[string]any{"key": t.Key})
	})
}

// SearchExperiments returns a page of the project's experiments.
func (s *Service) SearchExperiments(ctx context.Context, zoneName, project string, q ExperimentSearch) ([]*Experiment, error) {
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	q.ProjectID = p.ID
	if q.ViewType == "" {
		q.ViewType = ActiveOnly
	}
	return s.Store.SearchExperiments(ctx, q)
}

// --- runs -----------------------------------------------------------------

// RunCreate is the input of CreateRun.
type RunCreate struct {
	ExperimentID string
	Name         string
	UserID       string
	StartTime    int64
	Tags         []KeyVal
}

var adjectives = []string{"amber", "brisk", "calm", "deft", "eager", "fair", "gentle", "hardy", "keen", "lucid", "merry", "nimble", "placid", "quiet", "rapid", "sage", "tidy", "vivid", "wise", "zesty"}
var nouns = []string{"auk", "bison", "crane", "dingo", "egret", "finch", "gecko", "heron", "ibis", "jay", "koala", "lynx", "mole", "newt", "otter", "puffin", "quail", "robin", "stoat", "tern"}

func runName(id string) string {
	b, _ := hex.DecodeString(id[len(id)-6:])
	return fmt.Sprintf("%s-%s-%d", adjectives[int(b[0])%len(adjectives)], nouns[int(b[1])%len(nouns)], int(b[2])%1000)
}

// CreateRun starts a run in an experiment of the project.
func (s *Service) CreateRun(ctx context.Context, zoneName, project string, in RunCreate) (*Run, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validKeyVals("tags", in.Tags, MaxTagValueLength); err != nil {
		return nil, err
	}
	if err := validText("run_name", in.Name, MaxRunNameLength); err != nil {
		return nil, err
	}
	if in.StartTime < 0 {
		return nil, enclave.FieldError("start_time", "start_time must not be negative")
	}
	var out *Run
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		e, err := s.experiment(ctx, p, in.ExperimentID, true)
		if err != nil {
			return err
		}
		if e.LifecycleStage != Active {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "The experiment %s must be in the 'active' state. Current state is %s.", e.ID, e.LifecycleStage)
		}
		id := newID()
		name := in.Name
		tags := slices.Clone(in.Tags)
		for _, t := range tags {
			if t.Key == "mlflow.runName" && name == "" {
				name = t.Value
			}
		}
		if name == "" {
			name = runName(id)
		}
		if i := slices.IndexFunc(tags, func(t KeyVal) bool { return t.Key == "mlflow.runName" }); i >= 0 {
			tags[i].Value = name
		} else {
			tags = append(tags, KeyVal{Key: "mlflow.runName", Value: name})
		}
		// The user is who the platform authenticated, whatever the client
		// claims: the audit trail and the run agree.
		user := a.Name
		if i := slices.IndexFunc(tags, func(t KeyVal) bool { return t.Key == "mlflow.user" }); i >= 0 {
			tags[i].Value = user
		} else {
			tags = append(tags, KeyVal{Key: "mlflow.user", Value: user})
		}
		start := in.StartTime
		if start == 0 {
			start = s.now()
		}
		info := &RunInfo{ID: id, ExperimentID: e.ID, ProjectID: p.ID, Name: name, UserID: user, PrincipalID: a.PrincipalID,
			Status: Running, StartTime: start, ArtifactURI: e.ArtifactLocation + "/" + id + "/artifacts", LifecycleStage: Active}
		run := &Run{Info: *info, Tags: tags}
		if err := s.admit(ctx, p, KindRun, enclave.OpCreate, run, nil, func() error {
			if run.Info != *info {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy can change a run's tags only")
			}
			return validKeyVals("tags", run.Tags, MaxTagValueLength)
		}); err != nil {
			return err
		}
		if err := s.Store.CreateRun(ctx, info, run.Tags); err != nil {
			return err
		}
		run.Metrics, run.Params, run.Inputs, run.Outputs = []Metric{}, []KeyVal{}, []DatasetInput{}, []ModelOutput{}
		out = run
		return s.record(ctx, p, "tracking.run.create", KindRun, id, map[string]any{"experiment_id": e.ID, "name": name})
	})
	return out, err
}

// run returns a run of the project.
func (s *Service) run(ctx context.Context, p *zone.Project, id string) (*RunInfo, error) {
	notFound := enclave.Errorf(enclave.CodeNotFound, "Run with id=%s not found", enclave.Truncate(id, 64))
	if !validID(id) {
		return nil, notFound
	}
	r, err := s.Store.GetRunInfo(ctx, id)
	if err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return nil, notFound
		}
		return nil, err
	}
	if r.ProjectID != p.ID {
		return nil, notFound
	}
	return r, nil
}

// activeRun returns a run that may be written to.
func (s *Service) activeRun(ctx context.Context, p *zone.Project, id string) (*RunInfo, error) {
	r, err := s.run(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if r.LifecycleStage != Active {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "The run %s must be in the 'active' state. Current state is %s.", r.ID, r.LifecycleStage)
	}
	return r, nil
}

// GetRun returns a whole run of the project.
func (s *Service) GetRun(ctx context.Context, zoneName, project, id string) (*Run, error) {
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	if _, err := s.run(ctx, p, id); err != nil {
		return nil, err
	}
	rs, err := s.Store.GetRuns(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, enclave.Errorf(enclave.CodeNotFound, "Run with id=%s not found", id)
	}
	return rs[0], nil
}

// RunChange is an update of a run.
type RunChange struct {
	Status  *string
	EndTime *int64
	Name    *string
	Stage   *string // Deleted or Active (restore)
}

// UpdateRun changes a run's status, end time or name, or deletes or
// restores it.
func (s *Service) UpdateRun(ctx context.Context, zoneName, project, id string, c RunChange) (*RunInfo, error) {
	if c.Status != nil && !ValidStatus(*c.Status) {
		return nil, enclave.FieldError("status", "Invalid value %q for parameter 'status'", enclave.Truncate(*c.Status, 40))
	}
	if c.Name != nil {
		if err := validText("run_name", *c.Name, MaxRunNameLength); err != nil {
			return nil, err
		}
	}
	var out *RunInfo
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		var r *RunInfo
		if c.Stage != nil && *c.Stage == Active {
			r, err = s.run(ctx, p, id)
		} else {
			r, err = s.activeRun(ctx, p, id)
		}
		if err != nil {
			return err
		}
		action := "tracking.run.update"
		details := map[string]any{}
		if c.Status != nil {
			r.Status, details["status"] = *c.Status, *c.Status
		}
		if c.EndTime != nil {
			r.EndTime = c.EndTime
		}
		if c.Name != nil && *c.Name != "" {
			r.Name, details["name"] = *c.Name, *c.Name
			if err := s.Store.LogBatch(ctx, r.ID, Batch{Tags: []KeyVal{{Key: "mlflow.runName", Value: *c.Name}}}); err != nil {
				return err
			}
		}
		if c.Stage != nil {
			r.LifecycleStage = *c.Stage
			action = "tracking.run.delete"
			if *c.Stage == Active {
				action = "tracking.run.restore"
			}
		}
		if err := s.Store.UpdateRunInfo(ctx, r); err != nil {
			return err
		}
		out = r
		return s.record(ctx, p, action, KindRun, r.ID, details)
	})
	return out, err
}

// LogBatch logs metrics, parameters and tags to a run at once. It is
// idempotent: a client's retry of the same batch changes nothing.
func (s *Service) LogBatch(ctx context.Context, zoneName, project, runID string, b Batch) error {
	if len(b.Metrics) > MaxMetricsPerBatch {
		return enclave.FieldError("metrics", "A batch logging request can contain at most %d metrics. Got %d metrics. Please split up metrics across multiple requests and try again.", MaxMetricsPerBatch, len(b.Metrics))
	}
	if len(b.Params) > MaxParamsTagsPerBatch {
		return enclave.FieldError("params", "A batch logging request can contain at most %d params. Got %d params. Please split up params across multiple requests and try again.", MaxParamsTagsPerBatch, len(b.Params))
	}
	if len(b.Tags) > MaxParamsTagsPerBatch {
		return enclave.FieldError("tags", "A batch logging request can contain at most %d tags. Got %d tags. Please split up tags across multiple requests and try again.", MaxParamsTagsPerBatch, len(b.Tags))
	}
	if n := len(b.Metrics) + len(b.Params) + len(b.Tags); n > MaxEntitiesPerBatch {
		return enclave.FieldError("metrics", "A batch logging request can contain at most %d metrics, params, and tags in total. Got %d.", MaxEntitiesPerBatch, n)
	}
	for i := range b.Metrics {
		if err := normaliseMetric(&b.Metrics[i]); err != nil {
			return err
		}
	}
	if err := validKeyVals("params", b.Params, MaxParamValueLength); err != nil {
		return err
	}
	if err := validKeyVals("tags", b.Tags, MaxTagValueLength); err != nil {
		return err
	}
	seen := map[string]string{}
	for _, kv := range b.Params {
		if v, ok := seen[kv.Key]; ok && v != kv.Value {
			return enclave.FieldError("params", "Duplicate parameter keys have been submitted: %s. Please ensure the request contains only one param value per param key.", kv.Key)
		}
		seen[kv.Key] = kv.Value
	}
	if len(b.Metrics)+len(b.Params)+len(b.Tags) == 0 {
		return nil
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		r, err := s.activeRun(ctx, p, runID)
		if err != nil {
			return err
		}
		for i := range b.Tags {
			if b.Tags[i].Key == "mlflow.user" {
				return enclave.FieldError("tags", "tag mlflow.user is the authenticated user and cannot be changed")
			}
		}
		if err := s.Store.LogBatch(ctx, r.ID, b); err != nil {
			return err
		}
		for _, t := range b.Tags {
			if t.Key == "mlflow.runName" && t.Value != r.Name {
				r.Name = t.Value
				if err := s.Store.UpdateRunInfo(ctx, r); err != nil {
					return err
				}
			}
		}
		details := map[string]any{"metrics": len(b.Metrics), "params": len(b.Params), "tags": len(b.Tags)}
		if keys := batchKeys(b); len(keys) > 0 {
			details["keys"] = keys
		}
		return s.record(ctx, p, "tracking.run.log", KindRun, r.ID, details)
	})
}

// batchKeys lists up to 20 distinct keys a batch wrote, for the audit record.
func batchKeys(b Batch) []string {
	var keys []string
	add := func(prefix, k string) {
		k = prefix + k
		if len(keys) < 20 && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, m := range b.Metrics {
		add("metrics.", m.Key)
	}
	for _, p := range b.Params {
		add("params.", p.Key)
	}
	for _, t := range b.Tags {
		add("tags.", t.Key)
	}
	return keys
}

// DeleteRunTag removes a tag of a run.
func (s *Service) DeleteRunTag(ctx context.Context, zoneName, project, runID, key string) error {
	if err := validKey("key", key); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		r, err := s.activeRun(ctx, p, runID)
		if err != nil {
			return err
		}
		if err := s.Store.DeleteRunTag(ctx, r.ID, key); err != nil {
			return err
		}
		return s.record(ctx, p, "tracking.run.tag.delete", KindRun, r.ID, map[string]any{"key": key})
	})
}

// SearchRuns returns whole runs of the project's experiments matching q.
func (s *Service) SearchRuns(ctx context.Context, zoneName, project string, q RunSearch) ([]*Run, error) {
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	q.ProjectID = p.ID
	ids := q.ExperimentIDs[:0:0]
	for _, id := range q.ExperimentIDs {
		if id == defaultExperiment0 {
			e, err := s.experiment(ctx, p, id, false)
			if err != nil {
				continue
			}
			id = e.ID
		}
		if validID(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return []*Run{}, nil
	}
	q.ExperimentIDs = ids
	if q.ViewType == "" {
		q.ViewType = ActiveOnly
	}
	runIDs, err := s.Store.SearchRuns(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.Store.GetRuns(ctx, runIDs)
}

// MetricHistory returns a page of a metric's values in a run, in step and
// timestamp order.
func (s *Service) MetricHistory(ctx context.Context, zoneName, project, runID, key string, afterStep, afterTS int64, limit int) ([]Metric, error) {
	if err := validKey("metric_key", key); err != nil {
		return nil, err
	}
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	r, err := s.run(ctx, p, runID)
	if err != nil {
		return nil, err
	}
	return s.Store.MetricHistory(ctx, r.ID, key, afterStep, afterTS, limit)
}

// --- inputs and outputs ---------------------------------------------------

// enclaveDatasetPath matches the path of a catalog dataset version, as the
// native API names it: …/zones/Z/projects/P/datasets/D/versions/N.
var enclaveDatasetPath = regexp.MustCompile(`/zones/([a-z0-9][a-z0-9-]*)/projects/([a-z0-9][a-z0-9-]*)/datasets/([a-z0-9][a-z0-9._-]*)/versions/([0-9]+)/?$`)

// datasetURI finds the URL or URI a dataset source names.
func datasetURI(source string) string {
	for _, k := range []string{`"url"`, `"uri"`, `"path"`} {
		i := strings.Index(source, k)
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(source[i+len(k):], " :")
		if !strings.HasPrefix(rest, `"`) {
			continue
		}
		if j := strings.Index(rest[1:], `"`); j >= 0 {
			return rest[1 : j+1]
		}
	}
	return source
}

// resolveDatasetVersion links a dataset whose source names a catalog
// dataset version to it. A source that names one the caller cannot read,
// or that does not exist, is refused: lineage must not point at nothing.
func (s *Service) resolveDatasetVersion(ctx context.Context, d *Dataset) error {
	u, err := url.Parse(datasetURI(d.Source))
	if err != nil {
		return nil
	}
	m := enclaveDatasetPath.FindStringSubmatch(u.Path)
	if m == nil {
		return nil
	}
	n, err := strconv.Atoi(m[4])
	if err != nil || n < 1 {
		return enclave.FieldError("datasets", "dataset %s names version %s, which is not a version number", d.Name, m[4])
	}
	ref := &DatasetVersionRef{Zone: m[1], Project: m[2], Dataset: m[3], Version: n}
	missing := enclave.FieldError("datasets", "dataset %s names %s/%s dataset %s version %d, which does not exist", d.Name, ref.Zone, ref.Project, ref.Dataset, n)
	if err := s.Authorize(ctx, PermDatasetsRead, string(access.ProjectScope(ref.Zone, ref.Project))); err != nil {
		return missing
	}
	v, err := s.Catalog.GetVersion(ctx, ref.Zone, ref.Project, ref.Dataset, n)
	if err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) || enclave.IsCode(err, enclave.CodeInvalidArgument) {
			return missing
		}
		return err
	}
	if v.State != catalog.Committed {
		return enclave.FieldError("datasets", "dataset %s names %s version %d, which is %s, not committed", d.Name, ref.Dataset, n, v.State)
	}
	ref.VersionID, ref.ContentSHA256 = v.ID, v.SHA256
	d.VersionRef = ref
	return nil
}

// LogInputs records datasets (and models) a run used.
func (s *Service) LogInputs(ctx context.Context, zoneName, project, runID string, in []DatasetInput, models []string) error {
	if len(in) > MaxDatasetsPerBatch {
		return enclave.FieldError("datasets", "at most %d datasets per request, got %d", MaxDatasetsPerBatch, len(in))
	}
	for i := range in {
		d := &in[i].Dataset
		switch {
		case d.Name == "" || d.Digest == "" || d.SourceType == "" || d.Source == "":
			return enclave.FieldError("datasets", "a dataset needs a name, a digest, a source_type and a source")
		case len(d.Name) > MaxDatasetNameSize:
			return enclave.FieldError("datasets", "Dataset name exceeds the maximum length of %d", MaxDatasetNameSize)
		case len(d.Digest) > MaxDatasetDigestSize:
			return enclave.FieldError("datasets", "Dataset digest exceeds the maximum length of %d", MaxDatasetDigestSize)
		case len(d.Source) > MaxDatasetSourceSize:
			return enclave.FieldError("datasets", "Dataset source exceeds the maximum length of %d", MaxDatasetSourceSize)
		case len(d.Schema) > MaxDatasetSchemaSize:
			return enclave.FieldError("datasets", "Dataset schema exceeds the maximum length of %d", MaxDatasetSchemaSize)
		case len(d.Profile) > MaxDatasetProfileSize:
			return enclave.FieldError("datasets", "Dataset profile exceeds the maximum length of %d", MaxDatasetProfileSize)
		}
		for _, f := range []string{d.Name, d.Digest, d.SourceType, d.Source, d.Schema, d.Profile} {
			if err := validText("datasets", f, MaxDatasetProfileSize); err != nil {
				return err
			}
		}
		for _, t := range in[i].Tags {
			if len(t.Key) > MaxInputTagKeySize || len(t.Value) > MaxInputTagValueSize || t.Key == "" {
				return enclave.FieldError("datasets", "input tag keys must be 1-%d bytes and values at most %d", MaxInputTagKeySize, MaxInputTagValueSize)
			}
		}
	}
	for _, m := range models {
		if !validModelID(m) {
			return enclave.FieldError("models", "model_id %q is not a logged model ID", enclave.Truncate(m, 80))
		}
	}
	for i := range in {
		if err := s.resolveDatasetVersion(ctx, &in[i].Dataset); err != nil {
			return err
		}
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		r, err := s.activeRun(ctx, p, runID)
		if err != nil {
			return err
		}
		for _, m := range models {
			if _, err := s.loggedModel(ctx, p, m); err != nil {
				return err
			}
		}
		if err := s.Store.LogInputs(ctx, r.ExperimentID, r.ID, in, models); err != nil {
			return err
		}
		var names, versions []string
		for _, d := range in {
			names = append(names, d.Dataset.Name)
			if ref := d.Dataset.VersionRef; ref != nil {
				versions = append(versions, fmt.Sprintf("%s/%s/%s@%d", ref.Zone, ref.Project, ref.Dataset, ref.Version))
			}
		}
		return s.record(ctx, p, "tracking.run.inputs", KindRun, r.ID, map[string]any{"datasets": names, "dataset_versions": versions, "models": models})
	})
}

// LogOutputs records the models a run made.
func (s *Service) LogOutputs(ctx context.Context, zoneName, project, runID string, out []ModelOutput) error {
	for _, o := range out {
		if !validModelID(o.ModelID) {
			return enclave.FieldError("models", "model_id %q is not a logged model ID", enclave.Truncate(o.ModelID, 80))
		}
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		r, err := s.activeRun(ctx, p, runID)
		if err != nil {
			return err
		}
		var ids []string
		for _, o := range out {
			if _, err := s.loggedModel(ctx, p, o.ModelID); err != nil {
				return err
			}
			ids = append(ids, o.ModelID)
		}
		if err := s.Store.LogOutputs(ctx, r.ID, out); err != nil {
			return err
		}
		return s.record(ctx, p, "tracking.run.outputs", KindRun, r.ID, map[string]any{"models": ids})
	})
}

// DescribeDataset fills a dataset's catalog reference for lineage views.
func (s *Service) DescribeDataset(ctx context.Context, d *Dataset) {
	if d.VersionRef == nil || d.VersionRef.VersionID == "" || s.DatasetVersion == nil {
		return
	}
	if ref, err := s.DatasetVersion(ctx, d.VersionRef.VersionID); err == nil {
		d.VersionRef = ref
	}
}
