package server

import (
	"context"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/mlflowapi"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/zone"
)

// newTrackingServices wires experiment tracking and the model registry;
// artifacts go to the project's storage location under its key, like its
// datasets, and count against the same quota.
func newTrackingServices(svc *Services, db *sqlstore.DB, clock enclave.Clock, cfg config.Config) {
	store := &sqlstore.TrackingStore{DB: db}
	svc.Tracking = &tracking.Service{Store: store, Zones: svc.Zones, Catalog: svc.Catalog, Objects: svc.Objects,
		Placement: svc.Catalog.Placement, Quota: svc.Catalog.Quota, Tx: db, Audit: svc.Audit, Admission: svc.Policy, Clock: clock,
		Authorize: func(ctx context.Context, perm, scope string) error {
			return svc.Access.Authorize(ctx, access.Permission(perm), access.Scope(scope))
		},
		DatasetVersion: store.DatasetVersionRef}
	svc.Registry = &registry.Service{Store: &sqlstore.RegistryStore{DB: db}, Tracking: svc.Tracking, Tx: db, Audit: svc.Audit,
		Admission: svc.Policy, Clock: clock}
	for _, c := range []zone.ChildCounter{
		{Kind: "experiments", Count: func(ctx context.Context, p *zone.Project) (int, error) { return store.CountExperiments(ctx, p.ID) }},
		{Kind: "registered models", Count: func(ctx context.Context, p *zone.Project) (int, error) {
			return (&sqlstore.RegistryStore{DB: db}).CountModels(ctx, p.ID)
		}},
	} {
		svc.Zones.ProjectChildren = append(svc.Zones.ProjectChildren, c)
	}
}

// MLflow returns the MLflow-compatible API over these services.
func (s *Services) MLflow() *mlflowapi.Server {
	return &mlflowapi.Server{Tracking: s.Tracking, Registry: s.Registry, Identity: s.Identity, Authorizer: s.Access,
		Audit: s.AuditReader, WriteGate: s.Sinks.WriteGate}
}

// metricsFlushLoop moves freshly logged metric values into the history
// every second (on SQLite; a no-op elsewhere), so that the staging table
// stays small. Reads of the history flush first, so none waits for this.
func (m *Main) metricsFlushLoop(ctx context.Context) {
	store := &sqlstore.TrackingStore{DB: m.DB}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// One last flush, so that a clean shutdown leaves nothing staged.
			_ = store.FlushStaged(context.WithoutCancel(ctx))
			return
		case <-tick.C:
		}
		if err := store.FlushStaged(ctx); err != nil && ctx.Err() == nil {
			m.Logger.ErrorContext(ctx, "metric flush", "error", err)
		}
	}
}
