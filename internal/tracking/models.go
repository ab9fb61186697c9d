package tracking

import (
	"context"
	"slices"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

// LoggedModelCreate is the input of CreateLoggedModel.
type LoggedModelCreate struct {
	ExperimentID string
	Name         string
	ModelType    string
	SourceRunID  string
	Params       []KeyVal
	Tags         []KeyVal
}

func (s *Service) loggedModel(ctx context.Context, p *zone.Project, id string) (*LoggedModel, error) {
	notFound := enclave.Errorf(enclave.CodeNotFound, "Logged model with ID '%s' not found.", enclave.Truncate(id, 64))
	if !validModelID(id) {
		return nil, notFound
	}
	m, err := s.Store.GetLoggedModel(ctx, id)
	if err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return nil, notFound
		}
		return nil, err
	}
	if m.ProjectID != p.ID {
		return nil, notFound
	}
	return m, nil
}

// CreateLoggedModel creates a logged model, pending until its artifacts
// are uploaded and it is finalized.
func (s *Service) CreateLoggedModel(ctx context.Context, zoneName, project string, in LoggedModelCreate) (*LoggedModel, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validText("name", in.Name, MaxEntityKeyLength); err != nil {
		return nil, err
	}
	if err := validText("model_type", in.ModelType, MaxEntityKeyLength); err != nil {
		return nil, err
	}
	if err := validKeyVals("params", in.Params, MaxParamValueLength); err != nil {
		return nil, err
	}
	if err := validKeyVals("tags", in.Tags, MaxTagValueLength); err != nil {
		return nil, err
	}
	var out *LoggedModel
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
			return enclave.Errorf(enclave.CodeFailedPrecondition, "The experiment %s must be in the 'active' state.", e.ID)
		}
		if in.SourceRunID != "" {
			r, err := s.run(ctx, p, in.SourceRunID)
			if err != nil {
				return err
			}
			if r.ExperimentID != e.ID {
				return enclave.FieldError("source_run_id", "run %s is not in experiment %s", r.ID, e.ID)
			}
		}
		id := "m-" + newID()
		name := in.Name
		if name == "" {
			name = runName(id)
		}
		now := s.now()
		m := &LoggedModel{ID: id, ExperimentID: e.ID, ProjectID: p.ID, Name: name,
			ArtifactLocation: e.ArtifactLocation + "/models/" + id + "/artifacts", CreationTime: now, LastUpdatedTime: now,
			Status: ModelPending, LifecycleStage: Active, ModelType: in.ModelType, SourceRunID: in.SourceRunID, CreatedBy: a.Name,
			Params: orEmpty(in.Params), Tags: orEmpty(in.Tags), Metrics: []Metric{}}
		if err := s.admit(ctx, p, KindLoggedModel, enclave.OpCreate, m, nil, func() error {
			if m.ID != id || m.ProjectID != p.ID || m.ExperimentID != e.ID {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change a logged model's identity")
			}
			return nil
		}); err != nil {
			return err
		}
		if err := s.Store.CreateLoggedModel(ctx, m); err != nil {
			return err
		}
		out = m
		return s.record(ctx, p, "tracking.model.create", KindLoggedModel, id, map[string]any{"name": name, "experiment_id": e.ID, "source_run_id": in.SourceRunID})
	})
	return out, err
}

func orEmpty(kv []KeyVal) []KeyVal {
	if kv == nil {
		return []KeyVal{}
	}
	return kv
}

// GetLoggedModel returns a logged model of the project.
func (s *Service) GetLoggedModel(ctx context.Context, zoneName, project, id string) (*LoggedModel, error) {
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	return s.loggedModel(ctx, p, id)
}

// FinalizeLoggedModel sets a logged model's status once its upload ended.
func (s *Service) FinalizeLoggedModel(ctx context.Context, zoneName, project, id, status string) (*LoggedModel, error) {
	if !slices.Contains([]string{ModelReady, ModelFailed}, status) {
		return nil, enclave.FieldError("status", "status must be %s or %s", ModelReady, ModelFailed)
	}
	var out *LoggedModel
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		m, err := s.loggedModel(ctx, p, id)
		if err != nil {
			return err
		}
		m.Status, m.LastUpdatedTime = status, s.now()
		if err := s.Store.UpdateLoggedModel(ctx, m); err != nil {
			return err
		}
		out = m
		return s.record(ctx, p, "tracking.model.finalize", KindLoggedModel, id, map[string]any{"status": status})
	})
	return out, err
}

// DeleteLoggedModel marks a logged model deleted.
func (s *Service) DeleteLoggedModel(ctx context.Context, zoneName, project, id string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		m, err := s.loggedModel(ctx, p, id)
		if err != nil {
			return err
		}
		m.LifecycleStage, m.LastUpdatedTime = Deleted, s.now()
		if err := s.Store.UpdateLoggedModel(ctx, m); err != nil {
			return err
		}
		return s.record(ctx, p, "tracking.model.delete", KindLoggedModel, id, nil)
	})
}

// SetLoggedModelTags sets tags of a logged model, or deletes one (del).
func (s *Service) SetLoggedModelTags(ctx context.Context, zoneName, project, id string, tags []KeyVal, del bool) error {
	if err := validKeyVals("tags", tags, MaxTagValueLength); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		m, err := s.loggedModel(ctx, p, id)
		if err != nil {
			return err
		}
		var keys []string
		for _, t := range tags {
			keys = append(keys, t.Key)
		}
		action := "tracking.model.tag.set"
		if del {
			action = "tracking.model.tag.delete"
			for _, k := range keys {
				if err := s.Store.DeleteLoggedModelTag(ctx, m.ID, k); err != nil {
					return err
				}
			}
		} else if err := s.Store.SetLoggedModelTags(ctx, m.ID, tags); err != nil {
			return err
		}
		return s.record(ctx, p, action, KindLoggedModel, id, map[string]any{"keys": keys})
	})
}

// SearchLoggedModels returns logged models of the project's experiments.
func (s *Service) SearchLoggedModels(ctx context.Context, zoneName, project string, q LoggedModelSearch) ([]*LoggedModel, error) {
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	q.ProjectID = p.ID
	ids := q.ExperimentIDs[:0:0]
	for _, id := range q.ExperimentIDs {
		if e, err := s.experiment(ctx, p, id, false); err == nil {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 {
		return []*LoggedModel{}, nil
	}
	q.ExperimentIDs = ids
	return s.Store.SearchLoggedModels(ctx, q)
}

// LogLoggedModelParams adds parameters to a logged model.
func (s *Service) LogLoggedModelParams(ctx context.Context, zoneName, project, id string, params []KeyVal) error {
	if len(params) > MaxParamsTagsPerBatch {
		return enclave.FieldError("params", "at most %d params per request, got %d", MaxParamsTagsPerBatch, len(params))
	}
	if err := validKeyVals("params", params, MaxParamValueLength); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Project(ctx, zoneName, project)
		if err != nil {
			return err
		}
		m, err := s.loggedModel(ctx, p, id)
		if err != nil {
			return err
		}
		if err := s.Store.LogLoggedModelParams(ctx, m.ID, params); err != nil {
			return err
		}
		var keys []string
		for _, kv := range params {
			keys = append(keys, kv.Key)
		}
		return s.record(ctx, p, "tracking.model.params", KindLoggedModel, id, map[string]any{"keys": keys})
	})
}
