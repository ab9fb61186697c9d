package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// CatalogStore implements catalog.Store.
type CatalogStore struct{ DB *DB }

var _ catalog.Store = (*CatalogStore)(nil)

const datasetCols = `d.id, z.name, p.name, d.zone_id, d.project_id, d.name, d.area, d.owner_id, d.owner_name, d.description, d.tags,
	d.classification, d.retention_days, d.latest_version, d.created_by, d.created_at, d.updated_at, d.grant_id, d.shared`

const datasetFrom = ` FROM datasets d JOIN projects p ON p.id = d.project_id JOIN zones z ON z.id = d.zone_id`

func scanDataset(r scanner) (*catalog.Dataset, error) {
	var d catalog.Dataset
	var tags string
	var created, updated int64
	if err := r.Scan(&d.ID, &d.Zone, &d.Project, &d.ZoneID, &d.ProjectID, &d.Name, &d.Area, &d.OwnerID, &d.OwnerName,
		&d.Description, &tags, &d.Classification, &d.RetentionDays, &d.LatestVersion, &d.CreatedBy, &created, &updated, &d.GrantID, &d.Shared); err != nil {
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
		classification, retention_days, latest_version, created_by, created_at, updated_at, grant_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.ZoneID, d.ProjectID, d.Name, d.Area, d.OwnerID, d.OwnerName,
		d.Description, string(tags), d.Classification, d.RetentionDays, d.LatestVersion, d.CreatedBy, micros(d.CreatedAt), micros(d.UpdatedAt), d.GrantID)
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
		AND (? = '' OR EXISTS (SELECT 1 FROM version_columns vc JOIN dataset_versions v ON v.id = vc.version_id
			WHERE v.dataset_id = d.id AND v.state = 'committed' AND vc.name = ?))
		ORDER BY d.name LIMIT ?`, projectID, after, f.NamePrefix, escapeLike(f.NamePrefix)+"%", tagPattern, tagPattern,
		string(f.Classification), string(f.Classification), string(f.Area), string(f.Area), f.Column, f.Column, limit)
	if err != nil {
		return nil, s.DB.translate(err, "datasets")
	}
	return collect(rows, scanDataset, s.DB, "datasets")
}

// ListShared implements catalog.Store.
func (s *CatalogStore) ListShared(ctx context.Context, zoneID, afterID string, limit int) ([]*catalog.Dataset, error) {
	rows, err := s.DB.query(ctx, `SELECT `+datasetCols+datasetFrom+` WHERE d.zone_id = ? AND d.shared AND d.id > ?
		ORDER BY d.id LIMIT ?`, zoneID, afterID, limit)
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
	res, err := s.DB.exec(ctx, `UPDATE datasets SET description = ?, tags = ?, classification = ?, retention_days = ?, updated_at = ?,
		shared = ? WHERE id = ?`, d.Description, string(tags), d.Classification, d.RetentionDays, micros(d.UpdatedAt), d.Shared, d.ID)
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
	v.CreatedAt, v.CommittedAt, v.RetainUntil = fromMicros(created), fromNullMicros(committed), fromNullMicros(retain)
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
	res, err := s.DB.exec(ctx, `UPDATE dataset_versions SET state = ?, sha256 = ?, size = ?, file_count = ?, committed_at = ?, retain_until = ?
		WHERE id = ? AND state = ?`, catalog.Committed, v.SHA256, v.Size, v.FileCount, micros(*v.CommittedAt), nullMicros(v.RetainUntil), v.ID, catalog.Open)
	if err != nil {
		return s.DB.translate(err, "dataset version")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeConflict, "version %d is not open", v.Number)
	}
	return nil
}

const fileCols = `version_id, path, object_id, size, sha256, format, schema, created_at`

// fileSelect reads files with the storage tier of their objects.
const fileSelect = `SELECT f.version_id, f.path, f.object_id, f.size, f.sha256, f.format, f.schema, f.created_at,
	COALESCE(o.tier, '') FROM dataset_files f LEFT JOIN objects o ON o.id = f.object_id`

func scanFile(r scanner) (*catalog.File, error) {
	var f catalog.File
	var schema string
	var created int64
	if err := r.Scan(&f.VersionID, &f.Path, &f.ObjectID, &f.Size, &f.SHA256, &f.Format, &schema, &created, &f.Tier); err != nil {
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
	f, err := scanFile(s.DB.queryRow(ctx, fileSelect+` WHERE f.version_id = ? AND f.path = ?`, versionID, path))
	return f, s.DB.translate(err, "file "+path)
}

// ListFiles implements catalog.Store.
func (s *CatalogStore) ListFiles(ctx context.Context, versionID string) ([]*catalog.File, error) {
	rows, err := s.DB.query(ctx, fileSelect+` WHERE f.version_id = ? ORDER BY f.path`, versionID)
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

// MarkVersionDeleted implements catalog.Store.
func (s *CatalogStore) MarkVersionDeleted(ctx context.Context, versionID string) error {
	res, err := s.DB.exec(ctx, `UPDATE dataset_versions SET state = ? WHERE id = ? AND state = ?`, catalog.Deleted, versionID, catalog.Committed)
	if err != nil {
		return s.DB.translate(err, "dataset version")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeConflict, "the version is not committed")
	}
	return nil
}

// AddLineage implements catalog.Store.
func (s *CatalogStore) AddLineage(ctx context.Context, versionID, parentID, operation string) error {
	_, err := s.DB.exec(ctx, `INSERT INTO dataset_lineage (version_id, parent_version_id, operation) VALUES (?, ?, ?)`, versionID, parentID, operation)
	return s.DB.translate(err, "lineage")
}

// Lineage implements catalog.Store.
func (s *CatalogStore) Lineage(ctx context.Context, versionID string) (parents, children []catalog.LineageEdge, err error) {
	q := func(join, where string) ([]catalog.LineageEdge, error) {
		rows, err := s.DB.query(ctx, `SELECT d.name, p.name, v.number, l.operation FROM dataset_lineage l
			JOIN dataset_versions v ON v.id = l.`+join+` JOIN datasets d ON d.id = v.dataset_id JOIN projects p ON p.id = d.project_id
			WHERE l.`+where+` = ? ORDER BY d.name, v.number`, versionID)
		if err != nil {
			return nil, s.DB.translate(err, "lineage")
		}
		return collect(rows, func(r scanner) (catalog.LineageEdge, error) {
			var e catalog.LineageEdge
			err := r.Scan(&e.Dataset, &e.Project, &e.Version, &e.Operation)
			return e, err
		}, s.DB, "lineage")
	}
	if parents, err = q("parent_version_id", "version_id"); err != nil {
		return nil, nil, err
	}
	children, err = q("version_id", "parent_version_id")
	return parents, children, err
}

// SetColumnLabel implements catalog.Store.
func (s *CatalogStore) SetColumnLabel(ctx context.Context, datasetID, column string, label catalog.ColumnLabel) error {
	if label == "" {
		_, err := s.DB.exec(ctx, `DELETE FROM dataset_columns WHERE dataset_id = ? AND name = ?`, datasetID, column)
		return s.DB.translate(err, "column label")
	}
	_, err := s.DB.exec(ctx, `INSERT INTO dataset_columns (dataset_id, name, label) VALUES (?, ?, ?)
		ON CONFLICT (dataset_id, name) DO UPDATE SET label = excluded.label`, datasetID, column, label)
	return s.DB.translate(err, "column label")
}

// ColumnLabels implements catalog.Store.
func (s *CatalogStore) ColumnLabels(ctx context.Context, datasetID string) (map[string]catalog.ColumnLabel, error) {
	rows, err := s.DB.query(ctx, `SELECT name, label FROM dataset_columns WHERE dataset_id = ? ORDER BY name`, datasetID)
	if err != nil {
		return nil, s.DB.translate(err, "column labels")
	}
	defer rows.Close()
	out := map[string]catalog.ColumnLabel{}
	for rows.Next() {
		var n string
		var l catalog.ColumnLabel
		if err := rows.Scan(&n, &l); err != nil {
			return nil, s.DB.translate(err, "column labels")
		}
		out[n] = l
	}
	return out, s.DB.translate(rows.Err(), "column labels")
}

// SetVersionColumns implements catalog.Store.
func (s *CatalogStore) SetVersionColumns(ctx context.Context, versionID string, cols map[string]string) error {
	for name, typ := range cols {
		if _, err := s.DB.exec(ctx, `INSERT INTO version_columns (version_id, name, type) VALUES (?, ?, ?) ON CONFLICT (version_id, name) DO NOTHING`,
			versionID, name, typ); err != nil {
			return s.DB.translate(err, "version columns")
		}
	}
	return nil
}

// RequestStore implements catalog.RequestStore.
type RequestStore struct{ DB *DB }

var _ catalog.RequestStore = (*RequestStore)(nil)

const requestCols = `r.id, r.kind, r.project_id, r.scope, r.dataset_id, COALESCE(d.name, ''), r.version, r.environment, r.justification,
	r.duration_seconds, r.state, r.requested_by, r.requester_name, r.decided_by, r.decider_name, r.comment, r.created_at, r.decided_at,
	r.expires_at, r.used_at`

const requestFrom = ` FROM data_requests r LEFT JOIN datasets d ON d.id = r.dataset_id`

func scanRequest(r scanner) (*catalog.Request, error) {
	var q catalog.Request
	var dur, created int64
	var decided, expires, used sql.NullInt64
	if err := r.Scan(&q.ID, &q.Kind, &q.ProjectID, &q.Scope, &q.DatasetID, &q.Dataset, &q.Version, &q.Environment, &q.Justification,
		&dur, &q.State, &q.RequestedBy, &q.RequesterName, &q.DecidedBy, &q.DeciderName, &q.Comment, &created, &decided, &expires, &used); err != nil {
		return nil, err
	}
	q.Duration = catalog.Duration(time.Duration(dur) * time.Second)
	q.CreatedAt, q.DecidedAt, q.ExpiresAt, q.UsedAt = fromMicros(created), fromNullMicros(decided), fromNullMicros(expires), fromNullMicros(used)
	return &q, nil
}

// CreateRequest implements catalog.RequestStore.
func (s *RequestStore) CreateRequest(ctx context.Context, q *catalog.Request) error {
	_, err := s.DB.exec(ctx, `INSERT INTO data_requests (id, kind, project_id, scope, dataset_id, version, environment, justification,
		duration_seconds, state, requested_by, requester_name, decided_by, decider_name, comment, created_at, decided_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, q.ID, q.Kind, q.ProjectID, q.Scope, q.DatasetID, q.Version,
		q.Environment, q.Justification, int64(time.Duration(q.Duration)/time.Second), q.State, q.RequestedBy, q.RequesterName, q.DecidedBy,
		q.DeciderName, q.Comment, micros(q.CreatedAt), nullMicros(q.DecidedAt), nullMicros(q.ExpiresAt), nullMicros(q.UsedAt))
	return s.DB.translate(err, "request")
}

// GetRequest implements catalog.RequestStore.
func (s *RequestStore) GetRequest(ctx context.Context, projectID, id string) (*catalog.Request, error) {
	q, err := scanRequest(s.DB.queryRow(ctx, `SELECT `+requestCols+requestFrom+` WHERE r.project_id = ? AND r.id = ?`, projectID, id))
	return q, s.DB.translate(err, "request")
}

// ListRequests implements catalog.RequestStore: newest first (IDs are
// time-ordered).
func (s *RequestStore) ListRequests(ctx context.Context, projectID, after string, limit int) ([]*catalog.Request, error) {
	rows, err := s.DB.query(ctx, `SELECT `+requestCols+requestFrom+` WHERE r.project_id = ? AND (? = '' OR r.id < ?) ORDER BY r.id DESC LIMIT ?`,
		projectID, after, after, limit)
	if err != nil {
		return nil, s.DB.translate(err, "requests")
	}
	return collect(rows, scanRequest, s.DB, "requests")
}

// UpdateRequest implements catalog.RequestStore.
func (s *RequestStore) UpdateRequest(ctx context.Context, q *catalog.Request, from catalog.RequestState) error {
	res, err := s.DB.exec(ctx, `UPDATE data_requests SET state = ?, decided_by = ?, decider_name = ?, comment = ?, decided_at = ?,
		expires_at = ?, used_at = ? WHERE id = ? AND state = ? AND (CAST(? AS BIGINT) IS NULL OR used_at IS NULL)`, q.State, q.DecidedBy,
		q.DeciderName, q.Comment, nullMicros(q.DecidedAt), nullMicros(q.ExpiresAt), nullMicros(q.UsedAt), q.ID, from, nullMicros(q.UsedAt))
	if err != nil {
		return s.DB.translate(err, "request")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeConflict, "the request changed meanwhile; look again")
	}
	return nil
}
