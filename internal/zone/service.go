package zone

import (
	"context"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Service applies the rules of the resource hierarchy. Callers have been
// authorized for the route; the service validates, keeps the lifecycle and
// the classification ordering, and writes each change with its audit record
// in one transaction.
type Service struct {
	// Admission runs every create, update and delete through the assigned
	// policies, in the transaction that stores it (policy.Service).
	Admission enclave.Admitter
	Store     Store
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Clock     enclave.Clock
	// ProjectChildren are consulted before a project is deleted.
	ProjectChildren []ChildCounter
	// OnScopeDelete run in the transaction that deletes a zone or a
	// project, with its scope, so that what hangs on the scope by name
	// (role assignments, elevations) goes with it.
	OnScopeDelete []func(ctx context.Context, scope string) error
}

func (s *Service) scopeDeleted(ctx context.Context, scope access.Scope) error {
	for _, fn := range s.OnScopeDelete {
		if err := fn(ctx, string(scope)); err != nil {
			return err
		}
	}
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// CreateZone creates a zone together with its shared staging and QA environments.
func (s *Service) CreateZone(ctx context.Context, in ZoneCreate) (*Zone, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	z := &Zone{ID: newID(), Name: in.Name, DisplayName: in.DisplayName, Region: in.Region,
		Tags: orEmpty(in.Tags), MaxClassification: in.MaxClassification, State: Active, CreatedAt: now, UpdatedAt: now}
	if z.DisplayName == "" {
		z.DisplayName = z.Name
	}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.admitZone(ctx, enclave.OpCreate, z, nil); err != nil {
			return err
		}
		if err := s.Store.CreateZone(ctx, z); err != nil {
			return err
		}
		for _, name := range ZoneEnvironments {
			e := &Environment{ID: newID(), Name: name, Zone: z.Name, ZoneID: z.ID,
				CertifiedClassification: defaultCertification(name, enclave.Restricted),
				State:                   Active, CreatedAt: now, UpdatedAt: now}
			if err := s.Store.CreateEnvironment(ctx, e); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Action: "zone.create", TargetType: "zone", TargetID: z.ID,
			Scope:   string(access.ZoneScope(z.Name)),
			Details: map[string]any{"name": z.Name, "region": z.Region, "max_classification": z.MaxClassification}})
	})
	if err != nil {
		return nil, err
	}
	return z, nil
}

// GetZone returns a zone by name.
func (s *Service) GetZone(ctx context.Context, name string) (*Zone, error) {
	if err := enclave.ValidateName("zone", name); err != nil {
		return nil, err
	}
	return s.Store.GetZone(ctx, name)
}

// ListZones returns one page of zones ordered by name and the token of the next page.
func (s *Service) ListZones(ctx context.Context, f ZoneFilter, page enclave.Page) ([]*Zone, string, error) {
	if f.State != "" {
		if err := f.State.Validate("state"); err != nil {
			return nil, "", err
		}
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	zs, err := s.Store.ListZones(ctx, f, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	zs, next := enclave.PageOf(zs, page.Size, func(z *Zone) string { return z.Name })
	return zs, next, nil
}

// UpdateZone changes a zone's display name, tags or lifecycle state. A zone
// retires only once every project in it has retired, and its shared
// environments retire with it.
func (s *Service) UpdateZone(ctx context.Context, name string, in ZoneUpdate) (*Zone, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var z *Zone
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if z, err = s.GetZone(ctx, name); err != nil {
			return err
		}
		if z.State == Retired {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "zone %s is retired and cannot change", z.Name)
		}
		old := *z
		changed := map[string]any{}
		if in.DisplayName != nil {
			z.DisplayName = *in.DisplayName
			changed["display_name"] = z.DisplayName
		}
		if in.Tags != nil {
			z.Tags = orEmpty(*in.Tags)
			changed["tags"] = z.Tags
		}
		if in.MaxClassification != nil && *in.MaxClassification != z.MaxClassification {
			changed["max_classification"] = map[string]any{"from": z.MaxClassification, "to": *in.MaxClassification}
			z.MaxClassification = *in.MaxClassification
		}
		if in.State != nil && *in.State != z.State {
			if err := checkTransition(z.State, *in.State); err != nil {
				return err
			}
			if *in.State == Retired {
				if err := s.requireProjectsRetired(ctx, z); err != nil {
					return err
				}
				if err := s.retireEnvironments(ctx, z.ID, ""); err != nil {
					return err
				}
			}
			changed["state"] = map[string]any{"from": z.State, "to": *in.State}
			z.State = *in.State
		}
		z.UpdatedAt = s.Clock.Now()
		if err := s.admitZone(ctx, enclave.OpUpdate, z, &old); err != nil {
			return err
		}
		if err := s.Store.UpdateZone(ctx, z); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "zone.update", TargetType: "zone", TargetID: z.ID,
			Scope: string(access.ZoneScope(z.Name)), Details: changed})
	})
	if err != nil {
		return nil, err
	}
	return z, nil
}

func (s *Service) requireProjectsRetired(ctx context.Context, z *Zone) error {
	for _, st := range []State{Active, Retiring} {
		ps, err := s.Store.ListProjects(ctx, z.ID, ProjectFilter{State: st}, "", 1)
		if err != nil {
			return err
		}
		if len(ps) > 0 {
			return &enclave.Error{Code: enclave.CodeFailedPrecondition, Field: "state",
				Message: "zone " + z.Name + " cannot retire while project " + ps[0].Name + " is " + string(st)}
		}
	}
	return nil
}

func (s *Service) retireEnvironments(ctx context.Context, zoneID, projectID string) error {
	envs, err := s.Store.ListEnvironments(ctx, zoneID, projectID)
	if err != nil {
		return err
	}
	for _, e := range envs {
		e.State, e.UpdatedAt = Retired, s.Clock.Now()
		if err := s.Store.UpdateEnvironment(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// DeleteZone deletes a zone and its shared environments. It is refused while
// the zone still holds projects.
func (s *Service) DeleteZone(ctx context.Context, name string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		z, err := s.GetZone(ctx, name)
		if err != nil {
			return err
		}
		n, err := s.Store.CountProjects(ctx, z.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			return enclave.Errorf(enclave.CodeFailedPrecondition,
				"zone %s still holds %d project(s); delete them first", z.Name, n)
		}
		if err := s.admitZone(ctx, enclave.OpDelete, z, z); err != nil {
			return err
		}
		if err := s.scopeDeleted(ctx, access.ZoneScope(z.Name)); err != nil {
			return err
		}
		if err := s.Store.DeleteEnvironments(ctx, z.ID, ""); err != nil {
			return err
		}
		if err := s.Store.DeleteZone(ctx, z.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "zone.delete", TargetType: "zone", TargetID: z.ID,
			Scope: string(access.ZoneScope(z.Name)), Details: map[string]any{"name": z.Name}})
	})
}

func orEmpty(t enclave.Tags) enclave.Tags {
	if t == nil {
		return enclave.Tags{}
	}
	return t
}
