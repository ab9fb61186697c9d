package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
)

// RegistryStore implements registry.Store.
type RegistryStore struct{ DB *DB }

var _ registry.Store = (*RegistryStore)(nil)

// stageDeleted marks a deleted version. As in MLflow, a deleted version's
// row stays (emptied of its details) so that its number is never given
// again; no lookup or search returns it.
const stageDeleted = "Deleted_Internal"

// promptTag marks MLflow's prompts, registered models that searches leave
// out unless the filter asks for them.
const promptTag = "mlflow.prompt.is_prompt"

const registeredModelCols = `rm.id, rm.project_id, z.name, p.name, rm.name, rm.description, rm.created_by, rm.creation_time,
	rm.last_updated_time`

const registeredModelFrom = ` FROM registry_models rm JOIN projects p ON p.id = rm.project_id JOIN zones z ON z.id = p.zone_id`

func scanRegisteredModel(r scanner) (*registry.Model, error) {
	var m registry.Model
	err := r.Scan(&m.ID, &m.ProjectID, &m.Zone, &m.Project, &m.Name, &m.Description, &m.CreatedBy, &m.CreationTime, &m.LastUpdatedTime)
	return &m, err
}

const modelVersionCols = `v.model_id, rm.name, v.version, v.creation_time, v.last_updated_time, v.user_id, v.stage, v.description,
	v.source, v.run_id, v.run_link, v.logged_model_id, v.status, v.status_message`

const modelVersionFrom = ` FROM registry_versions v JOIN registry_models rm ON rm.id = v.model_id`

func scanModelVersion(r scanner) (*registry.Version, error) {
	var v registry.Version
	err := r.Scan(&v.ModelID, &v.Name, &v.Version, &v.CreationTime, &v.LastUpdatedTime, &v.UserID, &v.Stage, &v.Description, &v.Source,
		&v.RunID, &v.RunLink, &v.LoggedModelID, &v.Status, &v.StatusMessage)
	return &v, err
}

func modelMissing(id string) string { return "Registered Model with id=" + id }

// versionMissing is MLflow's error for a missing version, naming the model.
func (s *RegistryStore) versionMissing(ctx context.Context, modelID string, version int) error {
	name := modelID
	if err := s.DB.queryRow(ctx, `SELECT name FROM registry_models WHERE id = ?`, modelID).Scan(&name); errors.Is(err, sql.ErrNoRows) {
		return enclave.Errorf(enclave.CodeNotFound, "%s not found", modelMissing(modelID))
	}
	return enclave.Errorf(enclave.CodeNotFound, "Model Version (name=%s, version=%d) not found", name, version)
}

// CreateModel implements registry.Store.
func (s *RegistryStore) CreateModel(ctx context.Context, m *registry.Model) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		_, err := s.DB.exec(ctx, `INSERT INTO registry_models (id, project_id, name, description, created_by, creation_time,
			last_updated_time) VALUES (?, ?, ?, ?, ?, ?, ?)`, m.ID, m.ProjectID, m.Name, m.Description, m.CreatedBy, m.CreationTime,
			m.LastUpdatedTime)
		if err != nil {
			return s.DB.translate(err, "Registered Model (name="+m.Name+")")
		}
		return s.DB.translate(upsertKeyVals(ctx, s.DB, "registry_model_tags", []string{"model_id"}, []any{m.ID}, m.Tags), "model tags")
	})
}

// GetModel implements registry.Store.
func (s *RegistryStore) GetModel(ctx context.Context, projectID, name string) (*registry.Model, error) {
	m, err := scanRegisteredModel(s.DB.queryRow(ctx, `SELECT `+registeredModelCols+registeredModelFrom+` WHERE rm.project_id = ? AND rm.name = ?`,
		projectID, name))
	if err != nil {
		return nil, s.DB.translate(err, "Registered Model with name="+name)
	}
	return m, s.fillModels(ctx, []*registry.Model{m})
}

// fillModels reads the tags, aliases and latest versions of models, with
// a fixed number of queries.
func (s *RegistryStore) fillModels(ctx context.Context, ms []*registry.Model) error {
	if len(ms) == 0 {
		return nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	tags, err := keyValsByOwner(ctx, s.DB, "registry_model_tags", "model_id", ids)
	if err != nil {
		return err
	}
	aliases, err := s.aliases(ctx, ids)
	if err != nil {
		return err
	}
	latest, err := s.latest(ctx, ids, nil)
	if err != nil {
		return err
	}
	byModel := map[string][]*registry.Version{}
	for _, v := range latest {
		byModel[v.ModelID] = append(byModel[v.ModelID], v)
	}
	for _, m := range ms {
		m.Tags = orEmpty(tags[m.ID])
		m.Aliases = []registry.Alias{}
		for _, a := range aliases[m.ID] {
			m.Aliases = append(m.Aliases, registry.Alias{Alias: a.alias, Version: a.version})
		}
		m.Latest = orEmpty(byModel[m.ID])
	}
	return nil
}

type versionAlias struct {
	alias   string
	version int
}

func (s *RegistryStore) aliases(ctx context.Context, modelIDs []string) (map[string][]versionAlias, error) {
	out := map[string][]versionAlias{}
	in, arg := inIDs(s.DB, "model_id", uniq(modelIDs))
	rows, err := s.DB.query(ctx, `SELECT model_id, alias, version FROM registry_aliases WHERE `+in+` ORDER BY model_id, alias`, arg)
	if err != nil {
		return nil, s.DB.translate(err, "model aliases")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a versionAlias
		if err := rows.Scan(&id, &a.alias, &a.version); err != nil {
			return nil, s.DB.translate(err, "model aliases")
		}
		out[id] = append(out[id], a)
	}
	return out, s.DB.translate(rows.Err(), "model aliases")
}

// latest reads the newest version in each stage (of stages, or all) of
// models, in version order, with their tags and aliases.
func (s *RegistryStore) latest(ctx context.Context, modelIDs []string, stages []string) ([]*registry.Version, error) {
	in, arg := inIDs(s.DB, "model_id", uniq(modelIDs))
	args := []any{arg, stageDeleted}
	inStages := ""
	if len(stages) > 0 {
		inStages = ` AND stage IN (` + marks(len(stages)) + `)`
		args = append(args, anys(stages)...)
	}
	q := `SELECT ` + modelVersionCols + modelVersionFrom + `
		JOIN (SELECT model_id, MAX(version) AS newest FROM registry_versions WHERE ` + in + ` AND stage <> ?` + inStages + `
		GROUP BY model_id, stage) l ON l.model_id = v.model_id AND l.newest = v.version ORDER BY v.model_id, v.version`
	var rows *sql.Rows
	var err error
	if len(stages) > 0 {
		rows, err = queryVar(ctx, s.DB, q, args...)
	} else {
		rows, err = s.DB.query(ctx, q, args...)
	}
	if err != nil {
		return nil, s.DB.translate(err, "model versions")
	}
	out, err := collect(rows, scanModelVersion, s.DB, "model versions")
	if err != nil {
		return nil, err
	}
	return out, s.fillVersions(ctx, out)
}

// fillVersions reads the tags and aliases of versions.
func (s *RegistryStore) fillVersions(ctx context.Context, vs []*registry.Version) error {
	if len(vs) == 0 {
		return nil
	}
	type key struct {
		model   string
		version int
	}
	byKey := make(map[key]*registry.Version, len(vs))
	ids := make([]string, 0, len(vs))
	for _, v := range vs {
		v.Tags, v.Aliases = []tracking.KeyVal{}, []string{}
		byKey[key{v.ModelID, v.Version}] = v
		ids = append(ids, v.ModelID)
	}
	ids = uniq(ids)
	in, arg := inIDs(s.DB, "model_id", ids)
	rows, err := s.DB.query(ctx, `SELECT model_id, version, key, value FROM registry_version_tags WHERE `+in+`
		ORDER BY model_id, version, key`, arg)
	if err != nil {
		return s.DB.translate(err, "version tags")
	}
	defer rows.Close()
	for rows.Next() {
		var k key
		var t tracking.KeyVal
		if err := rows.Scan(&k.model, &k.version, &t.Key, &t.Value); err != nil {
			return s.DB.translate(err, "version tags")
		}
		if v := byKey[k]; v != nil {
			v.Tags = append(v.Tags, t)
		}
	}
	if err := rows.Err(); err != nil {
		return s.DB.translate(err, "version tags")
	}
	aliases, err := s.aliases(ctx, ids)
	if err != nil {
		return err
	}
	for id, as := range aliases {
		for _, a := range as {
			if v := byKey[key{id, a.version}]; v != nil {
				v.Aliases = append(v.Aliases, a.alias)
			}
		}
	}
	return nil
}

// UpdateModel implements registry.Store.
func (s *RegistryStore) UpdateModel(ctx context.Context, m *registry.Model) error {
	res, err := s.DB.exec(ctx, `UPDATE registry_models SET name = ?, description = ?, last_updated_time = ? WHERE id = ?`,
		m.Name, m.Description, m.LastUpdatedTime, m.ID)
	if err != nil {
		return s.DB.translate(err, "Registered Model (name="+m.Name+")")
	}
	return one(res, nil, s.DB, modelMissing(m.ID))
}

// DeleteModel implements registry.Store.
func (s *RegistryStore) DeleteModel(ctx context.Context, id string) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		for _, q := range []string{
			`DELETE FROM registry_aliases WHERE model_id = ?`,
			`DELETE FROM registry_version_tags WHERE model_id = ?`,
			`DELETE FROM registry_versions WHERE model_id = ?`,
			`DELETE FROM registry_model_tags WHERE model_id = ?`,
		} {
			if _, err := s.DB.exec(ctx, q, id); err != nil {
				return s.DB.translate(err, "model")
			}
		}
		res, err := s.DB.exec(ctx, `DELETE FROM registry_models WHERE id = ?`, id)
		return one(res, err, s.DB, modelMissing(id))
	})
}

// SetModelTag implements registry.Store.
func (s *RegistryStore) SetModelTag(ctx context.Context, modelID string, t tracking.KeyVal) error {
	err := upsertKeyVals(ctx, s.DB, "registry_model_tags", []string{"model_id"}, []any{modelID}, []tracking.KeyVal{t})
	return notFoundIfFK(s.DB, err, "model tag", modelMissing(modelID))
}

// DeleteModelTag implements registry.Store; a missing tag is no error, as
// in MLflow.
func (s *RegistryStore) DeleteModelTag(ctx context.Context, modelID, key string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM registry_model_tags WHERE model_id = ? AND key = ?`, modelID, key)
	return s.DB.translate(err, "model tag")
}

// CreateVersion implements registry.Store. The model's row is locked
// first, so that concurrent creators number their versions one after the
// other.
func (s *RegistryStore) CreateVersion(ctx context.Context, v *registry.Version) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		var name string
		err := s.DB.queryRow(ctx, `SELECT name FROM registry_models WHERE id = ?`+s.DB.Dialect.LockForUpdate(), v.ModelID).Scan(&name)
		if err != nil {
			return s.DB.translate(err, modelMissing(v.ModelID))
		}
		var newest int
		if err := s.DB.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM registry_versions WHERE model_id = ?`, v.ModelID).Scan(&newest); err != nil {
			return s.DB.translate(err, "model versions")
		}
		v.Version, v.Name = newest+1, name
		_, err = s.DB.exec(ctx, `INSERT INTO registry_versions (model_id, version, user_id, stage, description, source, run_id, run_link,
			logged_model_id, status, status_message, creation_time, last_updated_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.ModelID, v.Version, v.UserID, v.Stage, v.Description, v.Source, v.RunID, v.RunLink, v.LoggedModelID, v.Status, v.StatusMessage,
			v.CreationTime, v.LastUpdatedTime)
		if err != nil {
			return s.DB.translate(err, fmt.Sprintf("Model Version (name=%s, version=%d)", name, v.Version))
		}
		return s.DB.translate(upsertKeyVals(ctx, s.DB, "registry_version_tags", []string{"model_id", "version"},
			[]any{v.ModelID, v.Version}, v.Tags), "version tags")
	})
}

// GetVersion implements registry.Store.
func (s *RegistryStore) GetVersion(ctx context.Context, modelID string, version int) (*registry.Version, error) {
	v, err := scanModelVersion(s.DB.queryRow(ctx, `SELECT `+modelVersionCols+modelVersionFrom+`
		WHERE v.model_id = ? AND v.version = ? AND v.stage <> ?`, modelID, version, stageDeleted))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.versionMissing(ctx, modelID, version)
	}
	if err != nil {
		return nil, s.DB.translate(err, "model version")
	}
	return v, s.fillVersions(ctx, []*registry.Version{v})
}

// UpdateVersion implements registry.Store.
func (s *RegistryStore) UpdateVersion(ctx context.Context, v *registry.Version) error {
	res, err := s.DB.exec(ctx, `UPDATE registry_versions SET stage = ?, description = ?, status = ?, last_updated_time = ?
		WHERE model_id = ? AND version = ? AND stage <> ?`, v.Stage, v.Description, v.Status, v.LastUpdatedTime, v.ModelID, v.Version,
		stageDeleted)
	if err != nil {
		return s.DB.translate(err, "model version")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.versionMissing(ctx, v.ModelID, v.Version)
	}
	return nil
}

// DeleteVersion implements registry.Store: the version's tags and aliases
// go, and its row is emptied and marked deleted, keeping its number taken.
func (s *RegistryStore) DeleteVersion(ctx context.Context, modelID string, version int) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		res, err := s.DB.exec(ctx, `UPDATE registry_versions SET stage = ?, user_id = '', description = '', source = ?, run_id = '',
			run_link = '', logged_model_id = '', status_message = '' WHERE model_id = ? AND version = ? AND stage <> ?`,
			stageDeleted, "REDACTED-SOURCE-PATH", modelID, version, stageDeleted)
		if err != nil {
			return s.DB.translate(err, "model version")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.versionMissing(ctx, modelID, version)
		}
		for _, q := range []string{
			`DELETE FROM registry_aliases WHERE model_id = ? AND version = ?`,
			`DELETE FROM registry_version_tags WHERE model_id = ? AND version = ?`,
		} {
			if _, err := s.DB.exec(ctx, q, modelID, version); err != nil {
				return s.DB.translate(err, "model version")
			}
		}
		return nil
	})
}

// SetVersionTag implements registry.Store.
func (s *RegistryStore) SetVersionTag(ctx context.Context, modelID string, version int, t tracking.KeyVal) error {
	res, err := s.DB.exec(ctx, `INSERT INTO registry_version_tags (model_id, version, key, value)
		SELECT model_id, version, ?, ? FROM registry_versions WHERE model_id = ? AND version = ? AND stage <> ?
		ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value`, t.Key, t.Value, modelID, version, stageDeleted)
	if err != nil {
		return s.DB.translate(err, "version tag")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.versionMissing(ctx, modelID, version)
	}
	return nil
}

// DeleteVersionTag implements registry.Store; a missing tag is no error.
func (s *RegistryStore) DeleteVersionTag(ctx context.Context, modelID string, version int, key string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM registry_version_tags WHERE model_id = ? AND version = ? AND key = ?`, modelID, version, key)
	return s.DB.translate(err, "version tag")
}

// LatestVersions implements registry.Store.
func (s *RegistryStore) LatestVersions(ctx context.Context, modelID string, stages []string) ([]*registry.Version, error) {
	vs, err := s.latest(ctx, []string{modelID}, uniq(stages))
	return orEmpty(vs), err
}

// SetAlias implements registry.Store.
func (s *RegistryStore) SetAlias(ctx context.Context, modelID, alias string, version int) error {
	res, err := s.DB.exec(ctx, `INSERT INTO registry_aliases (model_id, alias, version)
		SELECT model_id, ?, version FROM registry_versions WHERE model_id = ? AND version = ? AND stage <> ?
		ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version`, alias, modelID, version, stageDeleted)
	if err != nil {
		return s.DB.translate(err, "alias "+alias)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.versionMissing(ctx, modelID, version)
	}
	return nil
}

// DeleteAlias implements registry.Store; a missing alias is no error.
func (s *RegistryStore) DeleteAlias(ctx context.Context, modelID, alias string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM registry_aliases WHERE model_id = ? AND alias = ?`, modelID, alias)
	return s.DB.translate(err, "alias "+alias)
}

// GetAlias implements registry.Store.
func (s *RegistryStore) GetAlias(ctx context.Context, modelID, alias string) (int, error) {
	var v int
	err := s.DB.queryRow(ctx, `SELECT version FROM registry_aliases WHERE model_id = ? AND alias = ?`, modelID, alias).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, enclave.Errorf(enclave.CodeNotFound, "Registered model alias %s not found.", alias)
	}
	return v, s.DB.translate(err, "alias "+alias)
}

// Searches.

var registeredModelColumns = map[string]column{
	"name":                   {sql: "rm.name"},
	"creation_timestamp":     {sql: "rm.creation_time", kind: intCol},
	"last_updated_timestamp": {sql: "rm.last_updated_time", kind: intCol},
}

var modelVersionColumns = map[string]column{
	"name":                   {sql: "rm.name"},
	"run_id":                 {sql: "v.run_id"},
	"source_path":            {sql: "v.source"},
	"version_number":         {sql: "v.version", kind: intCol},
	"creation_timestamp":     {sql: "v.creation_time", kind: intCol},
	"last_updated_timestamp": {sql: "v.last_updated_time", kind: intCol},
}

// withoutPrompts returns the filter without its conditions on the prompt
// tag, and whether it asks for prompts (tags.`mlflow.prompt.is_prompt` =
// 'true', or != 'false'), which MLflow's searches return only then.
func withoutPrompts(f search.Filter) (search.Filter, bool) {
	for _, c := range f {
		if c.Type != search.Tag || c.Key != promptTag {
			continue
		}
		v, _ := c.Value.(string)
		if (c.Op == "=" && strings.EqualFold(v, "true")) || (c.Op == "!=" && strings.EqualFold(v, "false")) {
			return f, true
		}
		break
	}
	out := make(search.Filter, 0, len(f))
	for _, c := range f {
		if c.Type != search.Tag || c.Key != promptTag {
			out = append(out, c)
		}
	}
	return out, false
}

// registryFilter compiles a filter of attributes and tags; tagLink ties a
// row of the tag table (k) to the searched row.
func registryFilter(b *sqlSearch, f search.Filter, cols map[string]column, tagTable, tagLink string) error {
	for _, c := range f {
		var err error
		switch c.Type {
		case search.Attribute:
			err = b.attribute(cols, c)
		case search.Tag:
			err = b.keyed(tagTable, tagLink, textCol, false, c)
		default:
			err = filterError("invalid search expression type %q", c.Type)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// registryOrder compiles order_by clauses on attributes.
func registryOrder(b *sqlSearch, order []search.OrderBy, cols map[string]column) (map[string]bool, error) {
	seen := map[string]bool{}
	for _, o := range order {
		col, ok := cols[o.Key]
		if o.Type != search.Attribute || !ok {
			return nil, orderError("invalid order_by key %s.%s", o.Type, o.Key)
		}
		if err := checkOrder(seen, o); err != nil {
			return nil, err
		}
		b.orderColumn(col, o.Asc)
	}
	return seen, nil
}

// SearchModels implements registry.Store. Models are ordered by name
// unless asked otherwise.
func (s *RegistryStore) SearchModels(ctx context.Context, q registry.ModelSearch) ([]*registry.Model, error) {
	b := newSearch(s.DB)
	seen, err := registryOrder(b, q.OrderBy, registeredModelColumns)
	if err != nil {
		return nil, err
	}
	if !seen["attribute.name"] {
		b.orderBy("rm.name")
	}
	b.where("rm.project_id = ?", q.ProjectID)
	f, prompts := withoutPrompts(q.Filter)
	if !prompts {
		b.where("NOT EXISTS (SELECT 1 FROM registry_model_tags pt WHERE pt.model_id = rm.id AND pt.key = ? AND pt.value = ?)",
			promptTag, "true")
	}
	if err := registryFilter(b, f, registeredModelColumns, "registry_model_tags", "k.model_id = rm.id"); err != nil {
		return nil, err
	}
	stmt, args := b.statement("SELECT "+registeredModelCols+registeredModelFrom, pageSize(q.Max, registry.DefaultSearchLimit), q.Offset)
	rows, err := queryVar(ctx, s.DB, stmt, args...)
	if err != nil {
		return nil, s.DB.translate(err, "registered models")
	}
	ms, err := collect(rows, scanRegisteredModel, s.DB, "registered models")
	if err != nil {
		return nil, err
	}
	return orEmpty(ms), s.fillModels(ctx, ms)
}

// SearchVersions implements registry.Store. The default order is MLflow's:
// last updated first, then by model name and newest version.
func (s *RegistryStore) SearchVersions(ctx context.Context, q registry.VersionSearch) ([]*registry.Version, error) {
	b := newSearch(s.DB)
	order := q.OrderBy
	if len(order) == 0 {
		order = []search.OrderBy{{Type: search.Attribute, Key: "last_updated_timestamp"}, {Type: search.Attribute, Key: "name", Asc: true},
			{Type: search.Attribute, Key: "version_number"}}
	}
	seen, err := registryOrder(b, order, modelVersionColumns)
	if err != nil {
		return nil, err
	}
	if !seen["attribute.name"] {
		b.orderBy("rm.name")
	}
	if !seen["attribute.version_number"] {
		b.orderBy("v.version DESC")
	}
	b.where("rm.project_id = ?", q.ProjectID)
	b.where("v.stage <> ?", stageDeleted)
	f, prompts := withoutPrompts(q.Filter)
	if !prompts {
		b.where("NOT EXISTS (SELECT 1 FROM registry_version_tags pt WHERE pt.model_id = v.model_id AND pt.key = ? AND pt.value = ?)",
			promptTag, "true")
	}
	if err := registryFilter(b, f, modelVersionColumns, "registry_version_tags", "k.model_id = v.model_id AND k.version = v.version"); err != nil {
		return nil, err
	}
	stmt, args := b.statement("SELECT "+modelVersionCols+modelVersionFrom, pageSize(q.Max, registry.DefaultSearchLimit), q.Offset)
	rows, err := queryVar(ctx, s.DB, stmt, args...)
	if err != nil {
		return nil, s.DB.translate(err, "model versions")
	}
	vs, err := collect(rows, scanModelVersion, s.DB, "model versions")
	if err != nil {
		return nil, err
	}
	return orEmpty(vs), s.fillVersions(ctx, vs)
}
