package registry

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/google/uuid"
)

// Service runs the model registry of every project. The transport checks
// models/read or models/write at the project; the service keeps the rules:
// a version's source is an artifact location of the same project (so a
// registered model never points outside the encrypted store), its run and
// logged model are the project's, and every change is audited.
type Service struct {
	Store     Store
	Tracking  *tracking.Service
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Admission enclave.Admitter
	Clock     enclave.Clock
}

func (s *Service) now() int64 { return s.Clock.Now().UnixMilli() }

func caller(ctx context.Context) (*enclave.Actor, error) {
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return nil, enclave.Errorf(enclave.CodeUnauthenticated, "no caller")
	}
	return a, nil
}

func (s *Service) record(ctx context.Context, p *zone.Project, action, kind, id string, details map[string]any) error {
	return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: kind, TargetID: id, Scope: tracking.Scope(p), Details: details})
}

func (s *Service) admit(ctx context.Context, p *zone.Project, kind, op string, obj, old any, validate func() error) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: kind, Operation: op, Scope: tracking.Scope(p), Object: obj, Old: old, Validate: validate})
}

func validName(field, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return enclave.FieldError(field, "Registered model name cannot be empty.")
	case len(name) > MaxNameLength:
		return enclave.FieldError(field, "Registered model name must be at most %d bytes", MaxNameLength)
	case !utf8.ValidString(name) || strings.ContainsAny(name, "\x00/:%"):
		return enclave.FieldError(field, "Invalid registered model name %q: it must be UTF-8 text without '/', ':', '%%' or NUL", enclave.Truncate(name, 100))
	}
	return nil
}

func validText(field, v string, max int) error {
	switch {
	case len(v) > max:
		return enclave.FieldError(field, "%s must be at most %d bytes", field, max)
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return enclave.FieldError(field, "%s must be UTF-8 text without NUL", field)
	}
	return nil
}

func validTag(t tracking.KeyVal) error {
	if t.Key == "" || len(t.Key) > MaxTagKeyLength {
		return enclave.FieldError("key", "tag keys must be 1-%d bytes", MaxTagKeyLength)
	}
	if err := validText("key", t.Key, MaxTagKeyLength); err != nil {
		return err
	}
	return validText("value", t.Value, MaxTagValueLength)
}

func validTags(ts []tracking.KeyVal) error {
	for _, t := range ts {
		if err := validTag(t); err != nil {
			return err
		}
	}
	return nil
}

var aliasRE = regexp.MustCompile(`^[\w\-]+$`)
var versionAliasRE = regexp.MustCompile(`^[vV]\d+$`)

func validAlias(a string) error {
	switch {
	case a == "" || len(a) > MaxAliasLength:
		return enclave.FieldError("alias", "aliases must be 1-%d characters", MaxAliasLength)
	case !aliasRE.MatchString(a):
		return enclave.FieldError("alias", "Invalid alias name: '%s'. Aliases may only contain alphanumerics, underscores, and dashes.", enclave.Truncate(a, 100))
	case strings.EqualFold(a, "latest") || versionAliasRE.MatchString(a):
		return enclave.FieldError("alias", "'%s' is reserved and cannot be used as an alias.", a)
	}
	return nil
}

// ParseVersion reads a version number as the client sends it.
func ParseVersion(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, enclave.FieldError("version", "Model version must be an integer, got %q", enclave.Truncate(v, 40))
	}
	return n, nil
}

// model returns a registered model of the project.
func (s *Service) model(ctx context.Context, p *zone.Project, name string) (*Model, error) {
	if err := validName("name", name); err != nil {
		return nil, err
	}
	m, err := s.Store.GetModel(ctx, p.ID, name)
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return nil, enclave.Errorf(enclave.CodeNotFound, "Registered Model with name=%s not found", name)
	}
	if err != nil {
		return nil, err
	}
	m.Zone, m.Project = p.Zone, p.Name
	return m, nil
}

func (s *Service) version(ctx context.Context, p *zone.Project, name string, n int) (*Model, *Version, error) {
	m, err := s.model(ctx, p, name)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.Store.GetVersion(ctx, m.ID, n)
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return nil, nil, enclave.Errorf(enclave.CodeNotFound, "Model Version (name=%s, version=%d) not found", name, n)
	}
	if err != nil {
		return nil, nil, err
	}
	v.Name = m.Name
	return m, v, nil
}

// inProject runs fn in a transaction with the active project.
func (s *Service) inProject(ctx context.Context, zoneName, project string, fn func(ctx context.Context, p *zone.Project) error) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Tracking.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		return fn(ctx, p)
	})
}

// read runs fn with the active project, outside a transaction.
func (s *Service) read(ctx context.Context, zoneName, project string, fn func(p *zone.Project) error) error {
	p, err := s.Tracking.Project(ctx, zoneName, project)
	if err != nil {
		return err
	}
	return fn(p)
}

// --- registered models ----------------------------------------------------

// CreateModel registers a model name in a project.
func (s *Service) CreateModel(ctx context.Context, zoneName, project, name, description string, tags []tracking.KeyVal) (*Model, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validName("name", name); err != nil {
		return nil, err
	}
	if err := validText("description", description, MaxDescription); err != nil {
		return nil, err
	}
	if err := validTags(tags); err != nil {
		return nil, err
	}
	var out *Model
	err = s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		now := s.now()
		id := uuid.Must(uuid.NewV7()).String()
		m := &Model{ID: id, ProjectID: p.ID, Zone: p.Zone, Project: p.Name, Name: name, Description: description,
			CreationTime: now, LastUpdatedTime: now, CreatedBy: a.Name, Tags: orEmpty(tags), Aliases: []Alias{}, Latest: []*Version{}}
		if err := s.admit(ctx, p, KindModel, enclave.OpCreate, m, nil, func() error {
			if m.ID != id || m.ProjectID != p.ID {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change a model's identity")
			}
			return validName("name", m.Name)
		}); err != nil {
			return err
		}
		if err := s.Store.CreateModel(ctx, m); err != nil {
			if enclave.IsCode(err, enclave.CodeConflict) {
				return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: fmt.Sprintf("Registered Model (name=%s) already exists.", name)}
			}
			return err
		}
		for _, t := range m.Tags {
			if err := s.Store.SetModelTag(ctx, m.ID, t); err != nil {
				return err
			}
		}
		out = m
		return s.record(ctx, p, "registry.model.create", KindModel, m.ID, map[string]any{"name": name})
	})
	return out, err
}

func orEmpty(kv []tracking.KeyVal) []tracking.KeyVal {
	if kv == nil {
		return []tracking.KeyVal{}
	}
	return kv
}

// GetModel returns a registered model with its latest versions and aliases.
func (s *Service) GetModel(ctx context.Context, zoneName, project, name string) (*Model, error) {
	var out *Model
	err := s.read(ctx, zoneName, project, func(p *zone.Project) error {
		m, err := s.model(ctx, p, name)
		out = m
		return err
	})
	return out, err
}

// ModelChange is an update of a registered model.
type ModelChange struct {
	NewName     *string
	Description *string
}

// UpdateModel renames a registered model or changes its description.
func (s *Service) UpdateModel(ctx context.Context, zoneName, project, name string, c ModelChange) (*Model, error) {
	if c.NewName != nil {
		if err := validName("new_name", *c.NewName); err != nil {
			return nil, err
		}
	}
	if c.Description != nil {
		if err := validText("description", *c.Description, MaxDescription); err != nil {
			return nil, err
		}
	}
	var out *Model
	err := s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, err := s.model(ctx, p, name)
		if err != nil {
			return err
		}
		old := *m
		action := "registry.model.update"
		if c.NewName != nil {
			m.Name, action = *c.NewName, "registry.model.rename"
		}
		if c.Description != nil {
			m.Description = *c.Description
		}
		m.LastUpdatedTime = s.now()
		if err := s.admit(ctx, p, KindModel, enclave.OpUpdate, m, &old, func() error {
			if m.ID != old.ID || m.ProjectID != old.ProjectID {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change a model's identity")
			}
			return validName("name", m.Name)
		}); err != nil {
			return err
		}
		if err := s.Store.UpdateModel(ctx, m); err != nil {
			if enclave.IsCode(err, enclave.CodeConflict) {
				return &enclave.Error{Code: enclave.CodeConflict, Field: "new_name", Message: fmt.Sprintf("Registered Model (name=%s) already exists.", m.Name)}
			}
			return err
		}
		out = m
		return s.record(ctx, p, action, KindModel, m.ID, map[string]any{"name": m.Name, "old_name": old.Name})
	})
	return out, err
}

// DeleteModel deletes a registered model with its versions. The artifacts
// stay with the runs and logged models they belong to.
func (s *Service) DeleteModel(ctx context.Context, zoneName, project, name string) error {
	return s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, err := s.model(ctx, p, name)
		if err != nil {
			return err
		}
		if err := s.admit(ctx, p, KindModel, enclave.OpDelete, m, m, nil); err != nil {
			return err
		}
		if err := s.Store.DeleteModel(ctx, m.ID); err != nil {
			return err
		}
		return s.record(ctx, p, "registry.model.delete", KindModel, m.ID, map[string]any{"name": m.Name})
	})
}

// SetModelTag sets (or, with del, deletes) a tag of a registered model.
func (s *Service) SetModelTag(ctx context.Context, zoneName, project, name string, t tracking.KeyVal, del bool) error {
	if err := validTag(t); err != nil {
		return err
	}
	return s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, err := s.model(ctx, p, name)
		if err != nil {
			return err
		}
		action := "registry.model.tag.set"
		if del {
			action, err = "registry.model.tag.delete", s.Store.DeleteModelTag(ctx, m.ID, t.Key)
		} else {
			err = s.Store.SetModelTag(ctx, m.ID, t)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, p, action, KindModel, m.ID, map[string]any{"name": m.Name, "key": t.Key})
	})
}

// SearchModels returns a page of the project's registered models.
func (s *Service) SearchModels(ctx context.Context, zoneName, project string, q ModelSearch) ([]*Model, error) {
	var out []*Model
	err := s.read(ctx, zoneName, project, func(p *zone.Project) error {
		q.ProjectID = p.ID
		ms, err := s.Store.SearchModels(ctx, q)
		for _, m := range ms {
			m.Zone, m.Project = p.Zone, p.Name
		}
		out = ms
		return err
	})
	return out, err
}

// LatestVersions returns the newest version of a model per stage.
func (s *Service) LatestVersions(ctx context.Context, zoneName, project, name string, stages []string) ([]*Version, error) {
	var out []*Version
	for i, st := range stages {
		c, err := canonicalStage(st)
		if err != nil {
			return nil, err
		}
		stages[i] = c
	}
	err := s.read(ctx, zoneName, project, func(p *zone.Project) error {
		m, err := s.model(ctx, p, name)
		if err != nil {
			return err
		}
		vs, err := s.Store.LatestVersions(ctx, m.ID, stages)
		for _, v := range vs {
			v.Name = m.Name
		}
		out = vs
		return err
	})
	return out, err
}

func canonicalStage(st string) (string, error) {
	for _, c := range []string{StageNone, StageStaging, StageProduction, StageArchived} {
		if strings.EqualFold(st, c) {
			return c, nil
		}
	}
	return "", enclave.FieldError("stage", "Invalid Model Version stage: %s. Value must be one of None, Staging, Production, Archived.", enclave.Truncate(st, 40))
}

// --- versions -------------------------------------------------------------

// VersionCreate is the input of CreateVersion.
type VersionCreate struct {
	Name        string
	Source      string
	RunID       string
	RunLink     string
	Description string
	ModelID     string
	Tags        []tracking.KeyVal
}

// resolveSource checks that a version's source is an artifact location of
// the project (a logged model, a run's artifacts, or a path below either)
// and returns the logged model and run it names.
func (s *Service) resolveSource(ctx context.Context, p *zone.Project, in *VersionCreate) error {
	refuse := func(why string) error {
		return enclave.FieldError("source", "Invalid model version source %q: %s", enclave.Truncate(in.Source, 200), why)
	}
	src := in.Source
	switch {
	case strings.HasPrefix(src, "models:/"):
		id := strings.TrimPrefix(src, "models:/")
		id, _, _ = strings.Cut(id, "/")
		m, err := s.Tracking.GetLoggedModel(ctx, p.Zone, p.Name, id)
		if err != nil {
			return refuse("it names no logged model of this project")
		}
		if in.ModelID != "" && in.ModelID != m.ID {
			return enclave.FieldError("model_id", "model_id %s differs from the source's logged model %s", in.ModelID, m.ID)
		}
		in.ModelID = m.ID
		if in.RunID == "" {
			in.RunID = m.SourceRunID
		}
	case strings.HasPrefix(src, "mlflow-artifacts:/"):
		root, _, err := s.Tracking.ResolveArtifact(ctx, p.Zone, p.Name, strings.TrimPrefix(src, "mlflow-artifacts:"))
		if err != nil {
			return refuse("it is not an artifact location of this project")
		}
		if root.Model != nil {
			in.ModelID = root.Model.ID
			if in.RunID == "" {
				in.RunID = root.Model.SourceRunID
			}
		} else if in.RunID == "" {
			in.RunID = root.Run.ID
		} else if in.RunID != root.Run.ID {
			return enclave.FieldError("run_id", "run_id %s differs from the source's run %s", in.RunID, root.Run.ID)
		}
	case strings.HasPrefix(src, "runs:/"):
		rest := strings.TrimPrefix(src, "runs:/")
		runID, rel, _ := strings.Cut(rest, "/")
		r, err := s.Tracking.GetRun(ctx, p.Zone, p.Name, runID)
		if err != nil {
			return refuse("it names no run of this project")
		}
		if _, err := tracking.CleanArtifactPath("source", rel); err != nil {
			return err
		}
		if in.RunID != "" && in.RunID != r.Info.ID {
			return enclave.FieldError("run_id", "run_id %s differs from the source's run %s", in.RunID, r.Info.ID)
		}
		in.RunID = r.Info.ID
		in.Source = strings.TrimSuffix(r.Info.ArtifactURI+"/"+rel, "/")
	default:
		return refuse("sources must be artifacts stored by this project (models:/…, runs:/… or mlflow-artifacts:/…)")
	}
	if in.ModelID != "" {
		if _, err := s.Tracking.GetLoggedModel(ctx, p.Zone, p.Name, in.ModelID); err != nil {
			return enclave.FieldError("model_id", "model_id names no logged model of this project")
		}
	}
	if in.RunID != "" {
		if _, err := s.Tracking.GetRun(ctx, p.Zone, p.Name, in.RunID); err != nil {
			return enclave.FieldError("run_id", "Run with id=%s not found in this project", enclave.Truncate(in.RunID, 64))
		}
	}
	return nil
}

// CreateVersion registers a new version of a model.
func (s *Service) CreateVersion(ctx context.Context, zoneName, project string, in VersionCreate) (*Version, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validName("name", in.Name); err != nil {
		return nil, err
	}
	if err := validText("description", in.Description, MaxDescription); err != nil {
		return nil, err
	}
	if err := validText("run_link", in.RunLink, 2048); err != nil {
		return nil, err
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	var out *Version
	err = s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, err := s.model(ctx, p, in.Name)
		if err != nil {
			return err
		}
		if err := s.resolveSource(ctx, p, &in); err != nil {
			return err
		}
		now := s.now()
		v := &Version{ModelID: m.ID, Name: m.Name, CreationTime: now, LastUpdatedTime: now, UserID: a.Name, Stage: StageNone,
			Description: in.Description, Source: in.Source, RunID: in.RunID, RunLink: in.RunLink, LoggedModelID: in.ModelID,
			Status: VersionReady, Tags: orEmpty(in.Tags), Aliases: []string{}}
		if err := s.admit(ctx, p, KindVersion, enclave.OpCreate, v, nil, func() error {
			if v.ModelID != m.ID || v.Source != in.Source || v.RunID != in.RunID || v.LoggedModelID != in.ModelID || v.Stage != StageNone {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change a version's source, run or stage")
			}
			return nil
		}); err != nil {
			return err
		}
		if err := s.Store.CreateVersion(ctx, v); err != nil {
			return err
		}
		for _, t := range v.Tags {
			if err := s.Store.SetVersionTag(ctx, m.ID, v.Version, t); err != nil {
				return err
			}
		}
		m.LastUpdatedTime = now
		if err := s.Store.UpdateModel(ctx, m); err != nil {
			return err
		}
		out = v
		return s.record(ctx, p, "registry.version.create", KindVersion, fmt.Sprintf("%s/%d", m.ID, v.Version),
			map[string]any{"name": m.Name, "version": v.Version, "source": v.Source, "run_id": v.RunID, "model_id": v.LoggedModelID})
	})
	return out, err
}

// GetVersion returns a version of a model.
func (s *Service) GetVersion(ctx context.Context, zoneName, project, name string, n int) (*Version, error) {
	var out *Version
	err := s.read(ctx, zoneName, project, func(p *zone.Project) error {
		_, v, err := s.version(ctx, p, name, n)
		out = v
		return err
	})
	return out, err
}

// VersionChange is an update of a version.
type VersionChange struct {
	Description *string
	// Stage moves the version to a stage; Archive moves the other versions
	// in that stage to Archived.
	Stage   *string
	Archive bool
}

// UpdateVersion changes a version's description or stage.
func (s *Service) UpdateVersion(ctx context.Context, zoneName, project, name string, n int, c VersionChange) (*Version, error) {
	if c.Description != nil {
		if err := validText("description", *c.Description, MaxDescription); err != nil {
			return nil, err
		}
	}
	if c.Stage != nil {
		st, err := canonicalStage(*c.Stage)
		if err != nil {
			return nil, err
		}
		c.Stage = &st
	}
	var out *Version
	err := s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, v, err := s.version(ctx, p, name, n)
		if err != nil {
			return err
		}
		old := *v
		now := s.now()
		action, details := "registry.version.update", map[string]any{"name": m.Name, "version": n}
		if c.Description != nil {
			v.Description = *c.Description
		}
		if c.Stage != nil {
			v.Stage, action = *c.Stage, "registry.version.stage"
			details["from"], details["to"] = old.Stage, v.Stage
		}
		v.LastUpdatedTime = now
		if err := s.admit(ctx, p, KindVersion, enclave.OpUpdate, v, &old, func() error {
			if v.ModelID != old.ModelID || v.Version != old.Version || v.Source != old.Source || v.RunID != old.RunID {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change a version's identity or source")
			}
			return nil
		}); err != nil {
			return err
		}
		if err := s.Store.UpdateVersion(ctx, v); err != nil {
			return err
		}
		if c.Stage != nil && c.Archive && (v.Stage == StageStaging || v.Stage == StageProduction) {
			others, err := s.Store.SearchVersions(ctx, VersionSearch{ProjectID: p.ID, Max: 1 << 30,
				Filter: search.Filter{{Type: search.Attribute, Key: "name", Op: "=", Value: m.Name}}})
			if err != nil {
				return err
			}
			var archived []int
			for _, o := range others {
				if o.ModelID == m.ID && o.Version != v.Version && o.Stage == v.Stage {
					o.Stage, o.LastUpdatedTime = StageArchived, now
					if err := s.Store.UpdateVersion(ctx, o); err != nil {
						return err
					}
					archived = append(archived, o.Version)
				}
			}
			details["archived"] = archived
		}
		out = v
		return s.record(ctx, p, action, KindVersion, fmt.Sprintf("%s/%d", m.ID, n), details)
	})
	return out, err
}

// DeleteVersion deletes a version of a model.
func (s *Service) DeleteVersion(ctx context.Context, zoneName, project, name string, n int) error {
	return s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, v, err := s.version(ctx, p, name, n)
		if err != nil {
			return err
		}
		if err := s.admit(ctx, p, KindVersion, enclave.OpDelete, v, v, nil); err != nil {
			return err
		}
		if err := s.Store.DeleteVersion(ctx, m.ID, n); err != nil {
			return err
		}
		return s.record(ctx, p, "registry.version.delete", KindVersion, fmt.Sprintf("%s/%d", m.ID, n), map[string]any{"name": m.Name, "version": n})
	})
}

// SetVersionTag sets (or, with del, deletes) a tag of a version.
func (s *Service) SetVersionTag(ctx context.Context, zoneName, project, name string, n int, t tracking.KeyVal, del bool) error {
	if err := validTag(t); err != nil {
		return err
	}
	return s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, _, err := s.version(ctx, p, name, n)
		if err != nil {
			return err
		}
		action := "registry.version.tag.set"
		if del {
			action, err = "registry.version.tag.delete", s.Store.DeleteVersionTag(ctx, m.ID, n, t.Key)
		} else {
			err = s.Store.SetVersionTag(ctx, m.ID, n, t)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, p, action, KindVersion, fmt.Sprintf("%s/%d", m.ID, n), map[string]any{"name": m.Name, "version": n, "key": t.Key})
	})
}

// SearchVersions returns a page of the project's model versions.
func (s *Service) SearchVersions(ctx context.Context, zoneName, project string, q VersionSearch) ([]*Version, error) {
	var out []*Version
	err := s.read(ctx, zoneName, project, func(p *zone.Project) error {
		q.ProjectID = p.ID
		vs, err := s.Store.SearchVersions(ctx, q)
		out = vs
		return err
	})
	return out, err
}

// DownloadURI is where a version's artifacts are, for the client to fetch
// through the artifact proxy.
func (s *Service) DownloadURI(ctx context.Context, zoneName, project, name string, n int) (string, error) {
	var out string
	err := s.read(ctx, zoneName, project, func(p *zone.Project) error {
		_, v, err := s.version(ctx, p, name, n)
		if err != nil {
			return err
		}
		if v.LoggedModelID != "" && strings.HasPrefix(v.Source, "models:/") {
			lm, err := s.Tracking.GetLoggedModel(ctx, p.Zone, p.Name, v.LoggedModelID)
			if err != nil {
				return err
			}
			out = lm.ArtifactLocation
			return nil
		}
		out = v.Source
		return nil
	})
	return out, err
}

// --- aliases --------------------------------------------------------------

// SetAlias points an alias of a model at a version.
func (s *Service) SetAlias(ctx context.Context, zoneName, project, name, alias string, n int) error {
	if err := validAlias(alias); err != nil {
		return err
	}
	return s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, v, err := s.version(ctx, p, name, n)
		if err != nil {
			return err
		}
		old := *v
		v.Aliases = append(slices.Clone(v.Aliases), alias)
		if err := s.admit(ctx, p, KindVersion, enclave.OpUpdate, v, &old, func() error {
			if !slices.Contains(v.Aliases, alias) || v.Stage != old.Stage || v.Source != old.Source {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change a version's aliases, stage or source")
			}
			return nil
		}); err != nil {
			return err
		}
		prev, _ := s.Store.GetAlias(ctx, m.ID, alias)
		if err := s.Store.SetAlias(ctx, m.ID, alias, n); err != nil {
			return err
		}
		return s.record(ctx, p, "registry.alias.set", KindVersion, fmt.Sprintf("%s/%d", m.ID, n),
			map[string]any{"name": m.Name, "alias": alias, "version": n, "previous_version": prev})
	})
}

// DeleteAlias removes an alias of a model.
func (s *Service) DeleteAlias(ctx context.Context, zoneName, project, name, alias string) error {
	if err := validAlias(alias); err != nil {
		return err
	}
	return s.inProject(ctx, zoneName, project, func(ctx context.Context, p *zone.Project) error {
		m, err := s.model(ctx, p, name)
		if err != nil {
			return err
		}
		n, err := s.Store.GetAlias(ctx, m.ID, alias)
		if err != nil {
			return enclave.Errorf(enclave.CodeNotFound, "Registered model alias %s not found.", alias)
		}
		if err := s.Store.DeleteAlias(ctx, m.ID, alias); err != nil {
			return err
		}
		return s.record(ctx, p, "registry.alias.delete", KindModel, m.ID, map[string]any{"name": m.Name, "alias": alias, "version": n})
	})
}

// VersionByAlias returns the version an alias names.
func (s *Service) VersionByAlias(ctx context.Context, zoneName, project, name, alias string) (*Version, error) {
	if err := validAlias(alias); err != nil {
		return nil, err
	}
	var out *Version
	err := s.read(ctx, zoneName, project, func(p *zone.Project) error {
		m, err := s.model(ctx, p, name)
		if err != nil {
			return err
		}
		n, err := s.Store.GetAlias(ctx, m.ID, alias)
		if err != nil {
			return enclave.Errorf(enclave.CodeNotFound, "Registered model alias %s not found.", alias)
		}
		_, out, err = s.version(ctx, p, name, n)
		return err
	})
	return out, err
}

// --- lineage --------------------------------------------------------------

// Lineage is where a model version came from: its logged model, the run
// that trained it, and the dataset versions the run used.
type Lineage struct {
	Model       string                  `json:"model"`
	Version     *Version                `json:"version"`
	LoggedModel *tracking.LoggedModel   `json:"logged_model,omitempty"`
	Experiment  *tracking.Experiment    `json:"experiment,omitempty"`
	Run         *tracking.Run           `json:"run,omitempty"`
	Datasets    []tracking.DatasetInput `json:"datasets"`
	// RunHidden says the caller may read models but not experiments: the
	// run, its experiment and its datasets are left out.
	RunHidden bool `json:"run_hidden,omitempty"`
}

// Lineage follows a version back to its run and the run's datasets.
func (s *Service) Lineage(ctx context.Context, zoneName, project, name string, n int) (*Lineage, error) {
	var out *Lineage
	err := s.read(ctx, zoneName, project, func(p *zone.Project) error {
		_, v, err := s.version(ctx, p, name, n)
		if err != nil {
			return err
		}
		l := &Lineage{Model: name, Version: v, Datasets: []tracking.DatasetInput{}}
		if v.LoggedModelID != "" {
			if l.LoggedModel, err = s.Tracking.GetLoggedModel(ctx, zoneName, project, v.LoggedModelID); err != nil && !enclave.IsCode(err, enclave.CodeNotFound) {
				return err
			}
		}
		if v.RunID == "" {
			out = l
			return nil
		}
		if s.Tracking.Authorize(ctx, tracking.PermRead, tracking.Scope(p)) != nil {
			l.RunHidden = true
			out = l
			return nil
		}
		run, err := s.Tracking.GetRun(ctx, zoneName, project, v.RunID)
		if err != nil {
			if enclave.IsCode(err, enclave.CodeNotFound) {
				out = l
				return nil
			}
			return err
		}
		l.Run = run
		if l.Experiment, err = s.Tracking.GetExperiment(ctx, zoneName, project, run.Info.ExperimentID); err != nil && !enclave.IsCode(err, enclave.CodeNotFound) {
			return err
		}
		for _, in := range run.Inputs {
			s.Tracking.DescribeDataset(ctx, &in.Dataset)
			l.Datasets = append(l.Datasets, in)
		}
		out = l
		return nil
	})
	return out, err
}
