package zone

import (
	"context"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// CreateProject creates a project in an active zone, with its dev and prod environments.
func (s *Service) CreateProject(ctx context.Context, zoneName string, in ProjectCreate) (*Project, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var p *Project
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		z, err := s.GetZone(ctx, zoneName)
		if err != nil {
			return err
		}
		if z.State != Active {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "zone %s is %s: new projects need an active zone", z.Name, z.State)
		}
		now := s.Clock.Now()
		p = &Project{ID: newID(), Zone: z.Name, ZoneID: z.ID, Name: in.Name, Description: in.Description,
			Owner: in.Owner, CostCenter: in.CostCenter, Tags: orEmpty(in.Tags),
			MaxClassification: in.MaxClassification, State: Active, CreatedAt: now, UpdatedAt: now}
		if err := s.admitProject(ctx, enclave.OpCreate, z, p, nil); err != nil {
			return err
		}
		if err := s.Store.CreateProject(ctx, p); err != nil {
			return err
		}
		for _, name := range ProjectEnvironments {
			e := &Environment{ID: newID(), Name: name, Zone: z.Name, ZoneID: z.ID, Project: p.Name, ProjectID: p.ID,
				CertifiedClassification: defaultCertification(name, p.MaxClassification),
				State:                   Active, CreatedAt: now, UpdatedAt: now}
			if err := s.Store.CreateEnvironment(ctx, e); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Action: "project.create", TargetType: "project", TargetID: p.ID,
			Scope: string(access.ProjectScope(z.Name, p.Name)),
			Details: map[string]any{"name": p.Name, "owner": p.Owner, "cost_center": p.CostCenter,
				"max_classification": p.MaxClassification}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// GetProject returns a project by zone and name.
func (s *Service) GetProject(ctx context.Context, zoneName, name string) (*Project, error) {
	if err := enclave.ValidateName("zone", zoneName); err != nil {
		return nil, err
	}
	if err := enclave.ValidateName("project", name); err != nil {
		return nil, err
	}
	return s.Store.GetProject(ctx, zoneName, name)
}

// ListProjects returns one page of a zone's projects and the token of the next page.
func (s *Service) ListProjects(ctx context.Context, zoneName string, f ProjectFilter, page enclave.Page) ([]*Project, string, error) {
	if f.State != "" {
		if err := f.State.Validate("state"); err != nil {
			return nil, "", err
		}
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	z, err := s.GetZone(ctx, zoneName)
	if err != nil {
		return nil, "", err
	}
	ps, err := s.Store.ListProjects(ctx, z.ID, f, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	ps, next := enclave.PageOf(ps, page.Size, func(p *Project) string { return p.Name })
	return ps, next, nil
}

// UpdateProject changes a project. Lowering its maximum classification
// lowers the certification of its environments with it, so no environment
// of the project is ever certified above what the project may hold.
func (s *Service) UpdateProject(ctx context.Context, zoneName, name string, in ProjectUpdate) (*Project, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var p *Project
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if p, err = s.GetProject(ctx, zoneName, name); err != nil {
			return err
		}
		if p.State == Retired {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "project %s is retired and cannot change", p.Name)
		}
		z, err := s.Store.GetZone(ctx, p.Zone)
		if err != nil {
			return err
		}
		old := *p
		changed := map[string]any{}
		set := func(field string, dst *string, v *string) {
			if v != nil && *v != *dst {
				changed[field] = map[string]any{"from": *dst, "to": *v}
				*dst = *v
			}
		}
		set("description", &p.Description, in.Description)
		set("owner", &p.Owner, in.Owner)
		set("cost_center", &p.CostCenter, in.CostCenter)
		if in.Tags != nil {
			p.Tags = orEmpty(*in.Tags)
			changed["tags"] = p.Tags
		}
		if in.MaxClassification != nil {
			p.MaxClassification = *in.MaxClassification
		}
		if in.State != nil && *in.State != p.State {
			if err := checkTransition(p.State, *in.State); err != nil {
				return err
			}
			if *in.State == Retired {
				if err := s.retireEnvironments(ctx, p.ZoneID, p.ID); err != nil {
					return err
				}
			}
			changed["state"] = map[string]any{"from": p.State, "to": *in.State}
			p.State = *in.State
		}
		p.UpdatedAt = s.Clock.Now()
		if err := s.admitProject(ctx, enclave.OpUpdate, z, p, &old); err != nil {
			return err
		}
		// The environments follow the maximum classification as admitted:
		// a policy may have changed it too.
		if p.MaxClassification != old.MaxClassification {
			changed["max_classification"] = map[string]any{"from": old.MaxClassification, "to": p.MaxClassification}
			lowered, err := s.capEnvironments(ctx, p)
			if err != nil {
				return err
			}
			if len(lowered) > 0 {
				changed["environments_lowered"] = lowered
			}
		}
		if err := s.Store.UpdateProject(ctx, p); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "project.update", TargetType: "project", TargetID: p.ID,
			Scope: string(access.ProjectScope(p.Zone, p.Name)), Details: changed})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) capEnvironments(ctx context.Context, p *Project) ([]string, error) {
	envs, err := s.Store.ListEnvironments(ctx, p.ZoneID, p.ID)
	if err != nil {
		return nil, err
	}
	var lowered []string
	for _, e := range envs {
		if !e.CertifiedClassification.AtMost(p.MaxClassification) {
			e.CertifiedClassification, e.UpdatedAt = p.MaxClassification, s.Clock.Now()
			if err := s.Store.UpdateEnvironment(ctx, e); err != nil {
				return nil, err
			}
			lowered = append(lowered, string(e.Name))
		}
	}
	return lowered, nil
}

// DeleteProject deletes a project and its environments. It is refused while
// any registered kind of child resource remains in the project.
func (s *Service) DeleteProject(ctx context.Context, zoneName, name string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.GetProject(ctx, zoneName, name)
		if err != nil {
			return err
		}
		for _, c := range s.ProjectChildren {
			n, err := c.Count(ctx, p)
			if err != nil {
				return err
			}
			if n > 0 {
				return enclave.Errorf(enclave.CodeFailedPrecondition,
					"project %s still holds %d %s; delete them first", p.Name, n, c.Kind)
			}
		}
		z, err := s.Store.GetZone(ctx, p.Zone)
		if err != nil {
			return err
		}
		if err := s.admitProject(ctx, enclave.OpDelete, z, p, p); err != nil {
			return err
		}
		if err := s.scopeDeleted(ctx, access.ProjectScope(p.Zone, p.Name)); err != nil {
			return err
		}
		if err := s.Store.DeleteEnvironments(ctx, p.ZoneID, p.ID); err != nil {
			return err
		}
		if err := s.Store.DeleteProject(ctx, p.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "project.delete", TargetType: "project", TargetID: p.ID,
			Scope: string(access.ProjectScope(p.Zone, p.Name)), Details: map[string]any{"name": p.Name}})
	})
}
