package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// CatalogStore implements catalog.Store.
type CatalogStore struct{ DB *DB }

var _ catalog.Store = (*CatalogStore)(nil)

const datasetCols = `d.id, z.name, p.name, d.zone_id, d.project_id, d.name, d.area, d.owner_id, d.owner_name, d.description, d.tags,
	d.classification, d.retention_days, d.latest_version, d.created_by, d.created_at, d.updated_at`

const datasetFrom = ` FROM datasets d JOIN projects p ON p.id = d.project_id JOIN zones z ON z.id = d.zone_id`

func scanDataset(r scanner) (*catalog.Dataset, error) {
	var d catalog.Dataset
	var tags string
	var created, updated int64
	if err := r.Scan(&d.ID, &d.Zone, &d.Project, &d.ZoneID, &d.ProjectID, &d.Name, &d.Area, &d.OwnerID, &d.OwnerName,
		&d.Description, &tags, &d.Classification, &d.RetentionDays, &d.LatestVersion, &d.CreatedBy, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &d, nil
}

// CreateDataset implements catalog.Store.
func (s *CatalogStore) CreateDataset(ctx context.Context, d *catalog.Dataset) error {
	tags, err := json.Marshal(d.Tags)
	if err != nil {
		return err
	}
	_, err = s.DB.exec(ctx, `INSERT INTO datasets (id, zone_id, project_id, name, area, owner_id, owner_name, description, tags,
		classification, retention_days, latest_version, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.ZoneID, d.ProjectID, d.Name, d.Area, d.OwnerID, d.OwnerName,
		d.Description, string(tags), d.Classification, d.RetentionDays, d.LatestVersion, d.CreatedBy, micros(d.CreatedAt), micros(d.UpdatedAt))
	return s.DB.translate(err, "dataset "+d.Name)
}

// GetDataset implements catalog.Store.
func (s *CatalogStore) GetDataset(ctx context.Context, zone, project, name string) (*catalog.Dataset, error) {
	d, err := scanDataset(s.DB.queryRow(ctx, `SELECT `+datasetCols+datasetFrom+` WHERE z.name = ? AND p.name = ? AND d.name = ?`,
		zone, project, name))
	return d, s.DB.translate(err, "dataset "+name)
}

// ListDatasets implements catalog.Store.
func (s *CatalogStore) ListDatasets(ctx context.Context, projectID string, f catalog.Filter, after string, limit int) ([]*catalog.Dataset, error) {
	tagKey, tagValue, hasValue := strings.Cut(f.Tag, "=")
	tagPattern := ""
	if f.Tag != "" {
		// Tags are stored as a JSON object with sorted keys; match the key
		// (and value) as JSON would write them.
		k, _ := json.Marshal(tagKey)
		tagPattern = "%" + escapeLike(string(k)) + ":"
		if hasValue {
			v, _ := json.Marshal(tagValue)
			tagPattern += escapeLike(string(v))
		}
		tagPattern += "%"
	}
	rows, err := s.DB.query(ctx, `SELECT `+datasetCols+datasetFrom+` WHERE d.project_id = ? AND d.name > ?
		AND (? = '' OR d.name LIKE ? ESCAPE '\') AND (? = '' OR d.tags LIKE ? ESCAPE '\')
		AND (? = '' OR d.classification = ?) AND (? = '' OR d.area = ?)
		ORDER BY d.name LIMIT ?`, projectID, after, f.NamePrefix, escapeLike(f.NamePrefix)+"%", tagPattern, tagPattern,
		string(f.Classification), string(f.Classification), string(f.Area), string(f.Area), limit)
	if err != nil {
		return nil, s.DB.translate(err, "datasets")
	}
	return collect(rows, scanDataset, s.DB, "datasets")
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateDataset implements catalog.Store.
func (s *CatalogStore) UpdateDataset(ctx context.Context, d *catalog.Dataset) error {
	tags, err := json.Marshal(d.Tags)
	if err != nil {
		return err
	}
	res, err := s.DB.exec(ctx, `UPDATE datasets SET description = ?, tags = ?, classification = ?, retention_days = ?, updated_at = ?
		WHERE id = ?`, d.Description, string(tags), d.Classification, d.RetentionDays, micros(d.UpdatedAt), d.ID)
	if err != nil {
		return s.DB.translate(err, "dataset "+d.Name)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "dataset %s not found", d.Name)
	}
	return nil
}

// CountDatasets implements catalog.Store.
func (s *CatalogStore) CountDatasets(ctx context.Context, projectID string) (int, error) {
	var n int
	err := s.DB.queryRow(ctx, `SELECT COUNT(*) FROM datasets WHERE project_id = ?`, projectID).Scan(&n)
	return n, s.DB.translate(err, "datasets")
}

const versionCols = `id, dataset_id, number, state, sha256, size, file_count, operation, created_by, created_at, committed_at, retain_until`

func scanVersion(r scanner) (*catalog.Version, error) {
	var v catalog.Version
	var created int64
	var committed, retain sql.NullInt64
	if err := r.Scan(&v.ID, &v.DatasetID, &v.Number, &v.State, &v.SHA256, &v.Size, &v.FileCount, &v.Operation, &v.CreatedBy,
		&created, &committed, &retain); err != nil {
		return nil, err
	}
	v.CreatedAt = fromMicros(created)
	if committed.Valid {
		t := fromMicros(committed.Int64)
		v.CommittedAt = &t
	}
	if retain.Valid {
		t := fromMicros(retain.Int64)
		v.RetainUntil = &t
	}
	return &v, nil
}

// CreateVersion implements catalog.Store.
func (s *CatalogStore) CreateVersion(ctx context.Context, v *catalog.Version) error {
	res, err := s.DB.exec(ctx, `UPDATE datasets SET latest_version = ? WHERE id = ? AND latest_version = ?`, v.Number, v.DatasetID, v.Number-1)
	if err != nil {
		return s.DB.translate(err, "dataset version")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeConflict, "another version was opened at the same time; try again")
	}
	_, err = s.DB.exec(ctx, `INSERT INTO dataset_versions (`+versionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
		v.ID, v.DatasetID, v.Number, v.State, v.SHA256, v.Size, v.FileCount, v.Operation, v.CreatedBy, micros(v.CreatedAt))
	return s.DB.translate(err, "dataset version")
}

// GetVersion implements catalog.Store.
func (s *CatalogStore) GetVersion(ctx context.Context, datasetID string, number int) (*catalog.Version, error) {
	v, err := scanVersion(s.DB.queryRow(ctx, `SELECT `+versionCols+` FROM dataset_versions WHERE dataset_id = ? AND number = ?`, datasetID, number))
	return v, s.DB.translate(err, "dataset version")
}

// ListVersions implements catalog.Store.
func (s *CatalogStore) ListVersions(ctx context.Context, datasetID string, after, limit int) ([]*catalog.Version, error) {
	rows, err := s.DB.query(ctx, `SELECT `+versionCols+` FROM dataset_versions WHERE dataset_id = ? AND number > ? ORDER BY number LIMIT ?`,
		datasetID, after, limit)
	if err != nil {
		return nil, s.DB.translate(err, "dataset versions")
	}
	return collect(rows, scanVersion, s.DB, "dataset versions")
}

// CommitVersion implements catalog.Store.
func (s *CatalogStore) CommitVersion(ctx context.Context, v *catalog.Version) error {
	var retain any
	if v.RetainUntil != nil {
		retain = micros(*v.RetainUntil)
	}
	res, err := s.DB.exec(ctx, `UPDATE dataset_versions SET state = ?, sha256 = ?, size = ?, file_count = ?, committed_at = ?, retain_until = ?
		WHERE id = ? AND state = ?`, catalog.Committed, v.SHA256, v.Size, v.FileCount, micros(*v.CommittedAt), retain, v.ID, catalog.Open)
	if err != nil {
		return s.DB.translate(err, "dataset version")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeConflict, "version %d is not open", v.Number)
	}
	return nil
}

const fileCols = `version_id, path, object_id, size, sha256, format, schema, created_at`

func scanFile(r scanner) (*catalog.File, error) {
	var f catalog.File
	var schema string
	var created int64
	if err := r.Scan(&f.VersionID, &f.Path, &f.ObjectID, &f.Size, &f.SHA256, &f.Format, &schema, &created); err != nil {
		return nil, err
	}
	if schema != "" {
		f.Schema = []byte(schema)
	}
	f.CreatedAt = fromMicros(created)
	return &f, nil
}

// PutFile implements catalog.Store.
func (s *CatalogStore) PutFile(ctx context.Context, f *catalog.File) error {
	_, err := s.DB.exec(ctx, `INSERT INTO dataset_files (`+fileCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (version_id, path) DO UPDATE SET object_id = excluded.object_id, size = excluded.size, sha256 = excluded.sha256,
		format = excluded.format, schema = excluded.schema, created_at = excluded.created_at`,
		f.VersionID, f.Path, f.ObjectID, f.Size, f.SHA256, f.Format, string(f.Schema), micros(f.CreatedAt))
	return s.DB.translate(err, "file "+f.Path)
}

// GetFile implements catalog.Store.
func (s *CatalogStore) GetFile(ctx context.Context, versionID, path string) (*catalog.File, error) {
	f, err := scanFile(s.DB.queryRow(ctx, `SELECT `+fileCols+` FROM dataset_files WHERE version_id = ? AND path = ?`, versionID, path))
	return f, s.DB.translate(err, "file "+path)
}

// ListFiles implements catalog.Store.
func (s *CatalogStore) ListFiles(ctx context.Context, versionID string) ([]*catalog.File, error) {
	rows, err := s.DB.query(ctx, `SELECT `+fileCols+` FROM dataset_files WHERE version_id = ? ORDER BY path`, versionID)
	if err != nil {
		return nil, s.DB.translate(err, "files")
	}
	return collect(rows, scanFile, s.DB, "files")
}

// DeleteFile implements catalog.Store.
func (s *CatalogStore) DeleteFile(ctx context.Context, versionID, path string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM dataset_files WHERE version_id = ? AND path = ?`, versionID, path)
	return s.DB.translate(err, "file "+path)
}
