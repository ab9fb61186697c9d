package sqlstore

import (
	"context"

	"github.com/enclave-ml/enclave/internal/tracking"
)

// DatasetVersionRef describes a catalog dataset version by its ID, for the
// lineage of runs and model versions.
func (s *TrackingStore) DatasetVersionRef(ctx context.Context, id string) (*tracking.DatasetVersionRef, error) {
	ref := &tracking.DatasetVersionRef{VersionID: id}
	err := s.DB.queryRow(ctx, `SELECT z.name, p.name, d.name, v.number, v.sha256, d.classification
		FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id JOIN projects p ON p.id = d.project_id
		JOIN zones z ON z.id = p.zone_id WHERE v.id = ?`, id).
		Scan(&ref.Zone, &ref.Project, &ref.Dataset, &ref.Version, &ref.ContentSHA256, &ref.Classification)
	if err != nil {
		return nil, s.DB.translate(err, "dataset version "+id)
	}
	return ref, nil
}

// CountExperiments counts a project's experiments, deleted ones included:
// a project that holds any is not empty.
func (s *TrackingStore) CountExperiments(ctx context.Context, projectID string) (int, error) {
	var n int
	err := s.DB.queryRow(ctx, `SELECT COUNT(*) FROM tracking_experiments WHERE project_id = ?`, projectID).Scan(&n)
	return n, err
}

// CountModels counts a project's registered models.
func (s *RegistryStore) CountModels(ctx context.Context, projectID string) (int, error) {
	var n int
	err := s.DB.queryRow(ctx, `SELECT COUNT(*) FROM registry_models WHERE project_id = ?`, projectID).Scan(&n)
	return n, err
}
