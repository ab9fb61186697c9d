package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

// ZoneStore implements zone.Store.
type ZoneStore struct{ DB *DB }

var _ zone.Store = (*ZoneStore)(nil)

func tagsJSON(t enclave.Tags) string {
	if t == nil {
		return "{}"
	}
	b, _ := json.Marshal(t)
	return string(b)
}

func parseTags(s string) (enclave.Tags, error) {
	t := enclave.Tags{}
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, err
	}
	return t, nil
}

type scanner interface{ Scan(dest ...any) error }

const zoneCols = `id, name, display_name, region, tags, max_classification, state, created_at, updated_at`

func scanZone(r scanner) (*zone.Zone, error) {
	var z zone.Zone
	var tags string
	var created, updated int64
	if err := r.Scan(&z.ID, &z.Name, &z.DisplayName, &z.Region, &tags, &z.MaxClassification, &z.State, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if z.Tags, err = parseTags(tags); err != nil {
		return nil, err
	}
	z.CreatedAt, z.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &z, nil
}

// CreateZone implements zone.Store.
func (s *ZoneStore) CreateZone(ctx context.Context, z *zone.Zone) error {
	_, err := s.DB.exec(ctx, `INSERT INTO zones (`+zoneCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		z.ID, z.Name, z.DisplayName, z.Region, tagsJSON(z.Tags), z.MaxClassification, z.State, micros(z.CreatedAt), micros(z.UpdatedAt))
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: "zone " + z.Name + " already exists", Err: err}
	}
	return s.DB.translate(err, "zone "+z.Name)
}

// GetZone implements zone.Store.
func (s *ZoneStore) GetZone(ctx context.Context, name string) (*zone.Zone, error) {
	z, err := scanZone(s.DB.queryRow(ctx, `SELECT `+zoneCols+` FROM zones WHERE name = ?`, name))
	if err != nil {
		return nil, s.DB.translate(err, "zone "+name)
	}
	return z, nil
}

// ListZones implements zone.Store.
func (s *ZoneStore) ListZones(ctx context.Context, f zone.ZoneFilter, after string, limit int) ([]*zone.Zone, error) {
	rows, err := s.DB.query(ctx, `SELECT `+zoneCols+` FROM zones
		WHERE name > ? AND (? = '' OR region = ?) AND (? = '' OR state = ?)
		ORDER BY name LIMIT ?`, after, f.Region, f.Region, string(f.State), string(f.State), limit)
	if err != nil {
		return nil, s.DB.translate(err, "zones")
	}
	return collect(rows, scanZone, s.DB, "zones")
}

// UpdateZone implements zone.Store.
func (s *ZoneStore) UpdateZone(ctx context.Context, z *zone.Zone) error {
	res, err := s.DB.exec(ctx, `UPDATE zones SET display_name = ?, tags = ?, max_classification = ?, state = ?, updated_at = ? WHERE id = ?`,
		z.DisplayName, tagsJSON(z.Tags), z.MaxClassification, z.State, micros(z.UpdatedAt), z.ID)
	return one(res, err, s.DB, "zone "+z.Name)
}

// DeleteZone implements zone.Store. The foreign key from projects refuses
// the delete if a project was added concurrently.
func (s *ZoneStore) DeleteZone(ctx context.Context, id string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM zones WHERE id = ?`, id)
	return one(res, err, s.DB, "zone")
}

// CountProjects implements zone.Store.
func (s *ZoneStore) CountProjects(ctx context.Context, zoneID string) (int, error) {
	var n int
	err := s.DB.queryRow(ctx, `SELECT COUNT(*) FROM projects WHERE zone_id = ?`, zoneID).Scan(&n)
	return n, s.DB.translate(err, "projects")
}

const projectCols = `p.id, z.name, p.zone_id, p.name, p.description, p.owner, p.cost_center, p.tags,
	p.max_classification, p.state, p.created_at, p.updated_at`

func scanProject(r scanner) (*zone.Project, error) {
	var p zone.Project
	var tags string
	var created, updated int64
	if err := r.Scan(&p.ID, &p.Zone, &p.ZoneID, &p.Name, &p.Description, &p.Owner, &p.CostCenter, &tags,
		&p.MaxClassification, &p.State, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if p.Tags, err = parseTags(tags); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

// CreateProject implements zone.Store.
func (s *ZoneStore) CreateProject(ctx context.Context, p *zone.Project) error {
	_, err := s.DB.exec(ctx, `INSERT INTO projects (id, zone_id, name, description, owner, cost_center, tags,
		max_classification, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.ZoneID, p.Name, p.Description, p.Owner, p.CostCenter, tagsJSON(p.Tags), p.MaxClassification,
		p.State, micros(p.CreatedAt), micros(p.UpdatedAt))
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name",
			Message: "project " + p.Name + " already exists in zone " + p.Zone, Err: err}
	}
	return s.DB.translate(err, "project "+p.Name)
}

// GetProject implements zone.Store.
func (s *ZoneStore) GetProject(ctx context.Context, zoneName, name string) (*zone.Project, error) {
	p, err := scanProject(s.DB.queryRow(ctx, `SELECT `+projectCols+`
		FROM projects p JOIN zones z ON z.id = p.zone_id WHERE z.name = ? AND p.name = ?`, zoneName, name))
	if err != nil {
		return nil, s.DB.translate(err, "project "+zoneName+"/"+name)
	}
	return p, nil
}

// ListProjects implements zone.Store.
func (s *ZoneStore) ListProjects(ctx context.Context, zoneID string, f zone.ProjectFilter, after string, limit int) ([]*zone.Project, error) {
	rows, err := s.DB.query(ctx, `SELECT `+projectCols+`
		FROM projects p JOIN zones z ON z.id = p.zone_id
		WHERE p.zone_id = ? AND p.name > ? AND (? = '' OR p.state = ?)
		ORDER BY p.name LIMIT ?`, zoneID, after, string(f.State), string(f.State), limit)
	if err != nil {
		return nil, s.DB.translate(err, "projects")
	}
	return collect(rows, scanProject, s.DB, "projects")
}

// UpdateProject implements zone.Store.
func (s *ZoneStore) UpdateProject(ctx context.Context, p *zone.Project) error {
	res, err := s.DB.exec(ctx, `UPDATE projects SET description = ?, owner = ?, cost_center = ?, tags = ?,
		max_classification = ?, state = ?, updated_at = ? WHERE id = ?`,
		p.Description, p.Owner, p.CostCenter, tagsJSON(p.Tags), p.MaxClassification, p.State, micros(p.UpdatedAt), p.ID)
	return one(res, err, s.DB, "project "+p.Name)
}

// DeleteProject implements zone.Store.
func (s *ZoneStore) DeleteProject(ctx context.Context, id string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM projects WHERE id = ?`, id)
	return one(res, err, s.DB, "project")
}

const envCols = `e.id, e.name, z.name, COALESCE(p.name, ''), e.zone_id, COALESCE(e.project_id, ''),
	e.certified_classification, e.state, e.created_at, e.updated_at`

func scanEnvironment(r scanner) (*zone.Environment, error) {
	var e zone.Environment
	var created, updated int64
	if err := r.Scan(&e.ID, &e.Name, &e.Zone, &e.Project, &e.ZoneID, &e.ProjectID,
		&e.CertifiedClassification, &e.State, &created, &updated); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &e, nil
}

// CreateEnvironment implements zone.Store.
func (s *ZoneStore) CreateEnvironment(ctx context.Context, e *zone.Environment) error {
	_, err := s.DB.exec(ctx, `INSERT INTO environments (id, zone_id, project_id, scope_key, name,
		certified_classification, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ZoneID, nullString(e.ProjectID), e.ProjectID, e.Name, e.CertifiedClassification, e.State,
		micros(e.CreatedAt), micros(e.UpdatedAt))
	return s.DB.translate(err, "environment "+string(e.Name))
}

// ListEnvironments implements zone.Store.
func (s *ZoneStore) ListEnvironments(ctx context.Context, zoneID, projectID string) ([]*zone.Environment, error) {
	rows, err := s.DB.query(ctx, `SELECT `+envCols+`
		FROM environments e JOIN zones z ON z.id = e.zone_id LEFT JOIN projects p ON p.id = e.project_id
		WHERE e.zone_id = ? AND e.scope_key = ?
		ORDER BY CASE e.name WHEN 'dev' THEN 1 WHEN 'staging' THEN 2 WHEN 'qa' THEN 3 ELSE 4 END`, zoneID, projectID)
	if err != nil {
		return nil, s.DB.translate(err, "environments")
	}
	return collect(rows, scanEnvironment, s.DB, "environments")
}

// UpdateEnvironment implements zone.Store.
func (s *ZoneStore) UpdateEnvironment(ctx context.Context, e *zone.Environment) error {
	res, err := s.DB.exec(ctx, `UPDATE environments SET certified_classification = ?, state = ?, updated_at = ? WHERE id = ?`,
		e.CertifiedClassification, e.State, micros(e.UpdatedAt), e.ID)
	return one(res, err, s.DB, "environment "+string(e.Name))
}

// DeleteEnvironments implements zone.Store.
func (s *ZoneStore) DeleteEnvironments(ctx context.Context, zoneID, projectID string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM environments WHERE zone_id = ? AND scope_key = ?`, zoneID, projectID)
	return s.DB.translate(err, "environments")
}

func collect[T any](rows *sql.Rows, scan func(scanner) (T, error), db *DB, what string) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.translate(err, what)
		}
		out = append(out, v)
	}
	return out, db.translate(rows.Err(), what)
}
