package catalog

import (
	"context"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

// Zone-shared datasets. A landing zone is the unit of data residency; data
// that several of its projects need (reference data, a curated registry
// extract) is kept once, by the project that curates it, and shared with
// the zone by its data owner. Members of the zone's projects then find it
// (ListShared) and read it in their own project's environments, each
// certified for the data's classification as for the project's own data;
// every read of confidential or restricted data is audited under the
// dataset's scope, naming the reading project. The data stays under its
// project's key, data owner, retention and immutability; sharing grants
// reading, never writing or re-sharing.

// Share shares a dataset with its zone, or stops sharing it. Only its
// data owner decides, and only raw or curated data is shared (a workspace
// is one project's own; grant copies stay with their grant).
func (s *Service) Share(ctx context.Context, zoneName, project, name string, shared bool) (*Dataset, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *Dataset
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, d, err := s.projectDataset(ctx, zoneName, project, name)
		if err != nil {
			return err
		}
		switch {
		case a.PrincipalID != d.OwnerID:
			return enclave.Errorf(enclave.CodePermissionDenied, "only the data owner (%s) shares %s", d.OwnerName, d.Name)
		case shared && d.Area != Raw && d.Area != Curated:
			return enclave.Errorf(enclave.CodeFailedPrecondition, "%s is in the %s area: only raw and curated data is shared with the zone", d.Name, d.Area)
		case shared && d.GrantID != "":
			return enclave.Errorf(enclave.CodeFailedPrecondition, "%s is a copy under a grant: it is not shared", d.Name)
		}
		if d.Shared == shared {
			out = d
			return nil
		}
		old := *d
		d.Shared, d.UpdatedAt = shared, s.Clock.Now()
		if err := s.admit(ctx, KindDataset, enclave.OpUpdate, p, d, &old, checkDataset(p, d, &old)); err != nil {
			return err
		}
		if err := s.Store.UpdateDataset(ctx, d); err != nil {
			return err
		}
		out = d
		action := "dataset.share"
		if !shared {
			action = "dataset.unshare"
		}
		return s.record(ctx, d, action, map[string]any{"zone": d.Zone})
	})
	return out, err
}

// ListShared returns one page of the datasets shared with the zone of a
// project, for its members.
func (s *Service) ListShared(ctx context.Context, zoneName, project string, page enclave.Page) ([]*Dataset, string, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, "", err
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	ds, err := s.Store.ListShared(ctx, p.ZoneID, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	ds, next := enclave.PageOf(ds, page.Size, func(d *Dataset) string { return d.ID })
	return ds, next, nil
}

// shared finds a dataset of owner (a project of the zone) shared with the
// zone, for a member of project; one that is not shared is not found.
func (s *Service) shared(ctx context.Context, zoneName, project, owner, name string) (*zone.Project, *Dataset, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.GetDataset(ctx, zoneName, owner, name)
	if err == nil && !d.Shared {
		err = enclave.Errorf(enclave.CodeNotFound, "no dataset %s/%s is shared with zone %s", owner, name, zoneName)
	}
	if err != nil {
		return nil, nil, err
	}
	return p, d, nil
}

// GetSharedVersion returns a version of a shared dataset with its files.
func (s *Service) GetSharedVersion(ctx context.Context, zoneName, project, owner, name string, number int) (*Dataset, *Version, error) {
	_, d, err := s.shared(ctx, zoneName, project, owner, name)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.GetVersion(ctx, zoneName, owner, name, number)
	if err != nil {
		return nil, nil, err
	}
	return d, v, nil
}

// OpenSharedFile opens a file of a shared dataset for a member of project,
// in one of project's environments, which must be certified for the data.
func (s *Service) OpenSharedFile(ctx context.Context, zoneName, project, env, owner, name string, number int, filePath string) (*Contents, error) {
	p, d, err := s.shared(ctx, zoneName, project, owner, name)
	if err != nil {
		return nil, err
	}
	if p.State != zone.Active {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "project %s is %s", p.Name, p.State)
	}
	return s.openFile(ctx, d, zoneName, project, env, number, filePath)
}
