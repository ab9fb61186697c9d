package zone

import (
	"context"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// ListEnvironments lists a project's environments, or a zone's shared
// environments when project is empty.
func (s *Service) ListEnvironments(ctx context.Context, zoneName, project string) ([]*Environment, error) {
	z, p, err := s.owner(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	return s.Store.ListEnvironments(ctx, z.ID, projectID(p))
}

// GetEnvironment returns one environment of a project, or a shared one of a
// zone when project is empty.
func (s *Service) GetEnvironment(ctx context.Context, zoneName, project, name string) (*Environment, error) {
	envs, err := s.ListEnvironments(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	for _, e := range envs {
		if string(e.Name) == name {
			return e, nil
		}
	}
	where := "zone " + zoneName
	if project != "" {
		where = "project " + project
		if validEnvironmentName(name, ZoneEnvironments) {
			return nil, enclave.Errorf(enclave.CodeNotFound,
				"environment %s is shared by the zone: find it at /zones/%s/environments/%s", name, zoneName, name)
		}
	}
	return nil, enclave.Errorf(enclave.CodeNotFound, "%s has no environment %q", where, name)
}

// UpdateEnvironment changes an environment's certification or state. A
// project's environment is never certified above the project's maximum
// classification.
func (s *Service) UpdateEnvironment(ctx context.Context, zoneName, project, name string, in EnvironmentUpdate) (*Environment, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var e *Environment
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		z, p, err := s.owner(ctx, zoneName, project)
		if err != nil {
			return err
		}
		if e, err = s.GetEnvironment(ctx, zoneName, project, name); err != nil {
			return err
		}
		if e.State == Retired {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "environment %s is retired and cannot change", e.Name)
		}
		old := *e
		changed := map[string]any{}
		if c := in.CertifiedClassification; c != nil && *c != e.CertifiedClassification {
			if err := certifiable(p, *c); err != nil {
				return err
			}
			changed["certified_classification"] = map[string]any{"from": e.CertifiedClassification, "to": *c}
			e.CertifiedClassification = *c
		}
		if in.State != nil && *in.State != e.State {
			if err := checkTransition(e.State, *in.State); err != nil {
				return err
			}
			changed["state"] = map[string]any{"from": e.State, "to": *in.State}
			e.State = *in.State
		}
		e.UpdatedAt = s.Clock.Now()
		var parent any = z
		if p != nil {
			parent = p
		}
		if err := enclave.Admit(ctx, s.Admission, enclave.Change{Kind: KindEnvironment, Operation: enclave.OpUpdate,
			Scope: EnvironmentScope(e), Object: e, Old: &old, Parent: parent,
			Validate: func() error { return e.validate(p) }}); err != nil {
			return err
		}
		if err := s.Store.UpdateEnvironment(ctx, e); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "environment.update", TargetType: "environment", TargetID: e.ID,
			Scope: EnvironmentScope(e), Details: changed})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Service) owner(ctx context.Context, zoneName, project string) (*Zone, *Project, error) {
	z, err := s.GetZone(ctx, zoneName)
	if err != nil {
		return nil, nil, err
	}
	if project == "" {
		return z, nil, nil
	}
	p, err := s.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, nil, err
	}
	return z, p, nil
}

func projectID(p *Project) string {
	if p == nil {
		return ""
	}
	return p.ID
}
