package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/google/uuid"
)

// TrackingStore implements tracking.Store. Writes of many rows (a batch of
// metrics, the parts of a page of runs) are a few multi-row statements, never
// a statement per row.
type TrackingStore struct{ DB *DB }

var _ tracking.Store = (*TrackingStore)(nil)

// rowChunk is the most rows one multi-row statement writes, well below
// the engines' bind-parameter limits (32766 for SQLite, 65535 for
// PostgreSQL).
const rowChunk = 500

// queryVar and execVar run statements whose text varies with their input
// (the number of rows or IDs, a search's clauses). They are neither prepared
// nor remembered, so that the statement caches stay bounded.
func queryVar(ctx context.Context, db *DB, q string, args ...any) (*sql.Rows, error) {
	return db.q(ctx).QueryContext(ctx, db.Dialect.Rebind(q), args...)
}

func execVar(ctx context.Context, db *DB, q string, args ...any) (sql.Result, error) {
	return db.q(ctx).ExecContext(ctx, db.Dialect.Rebind(q), args...)
}

// execRows runs a multi-row statement. Small row counts (the common single
// metric or tag) and round ones (batches of 50, 100… 500, as clients chunk
// them) go through the statement cache: parsing a statement of hundreds of
// placeholders costs more than running it. The cache stays bounded: at
// most 14 sizes per statement.
func execRows(ctx context.Context, db *DB, rows int, q string, args ...any) (sql.Result, error) {
	if rows <= 4 || rows%50 == 0 && rows <= rowChunk {
		return db.exec(ctx, q, args...)
	}
	return execVar(ctx, db, q, args...)
}

// valuesSQL is n rows of width placeholders.
func valuesSQL(width, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// inIDs is "col IN (ids)" with the IDs bound as one argument: a JSON array
// for SQLite, an array for PostgreSQL. The statement's text is then the same
// for any number of IDs, so it is prepared once, and no list meets a bind
// parameter limit.
func inIDs(db *DB, col string, ids []string) (string, any) {
	if db.Dialect.Name() == "postgres" {
		return col + " = ANY(?)", ids
	}
	b, _ := json.Marshal(ids)
	return col + " IN (SELECT value FROM json_each(?))", string(b)
}

// marks is n comma-separated placeholders.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// chunked calls fn with consecutive pieces of s of at most n elements.
func chunked[T any](s []T, n int, fn func([]T) error) error {
	for i := 0; i < len(s); i += n {
		if err := fn(s[i:min(i+n, len(s))]); err != nil {
			return err
		}
	}
	return nil
}

func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// notFoundIfFK reports a foreign key violation as the missing parent it
// means (a tag of a run that does not exist), other errors as translate does.
func notFoundIfFK(db *DB, err error, what, parent string) error {
	if err != nil && db.Dialect.IsForeignKeyViolation(err) {
		return enclave.Wrap(enclave.CodeNotFound, err, "%s not found", parent)
	}
	return db.translate(err, what)
}

// dedupKeyVals keeps the last value given for each key, in key order, so
// that one upsert never touches a row twice.
func dedupKeyVals(kv []tracking.KeyVal) []tracking.KeyVal {
	m := make(map[string]string, len(kv))
	for _, t := range kv {
		m[t.Key] = t.Value
	}
	out := make([]tracking.KeyVal, 0, len(m))
	for k, v := range m {
		out = append(out, tracking.KeyVal{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// upsertKeyVals writes tags of one owner (a run, an experiment...), each
// replacing the value of its key. table and ownerCols are constants of this
// package, never input.
func upsertKeyVals(ctx context.Context, db *DB, table string, ownerCols []string, owner []any, kv []tracking.KeyVal) error {
	kv = dedupKeyVals(kv)
	cols := strings.Join(ownerCols, ", ")
	width := len(ownerCols) + 2
	return chunked(kv, rowChunk/2, func(c []tracking.KeyVal) error {
		args := make([]any, 0, len(c)*width)
		for _, t := range c {
			args = append(append(args, owner...), t.Key, t.Value)
		}
		_, err := execRows(ctx, db, len(c), `INSERT INTO `+table+` (`+cols+`, key, value) VALUES `+valuesSQL(width, len(c))+
			` ON CONFLICT (`+cols+`, key) DO UPDATE SET value = excluded.value`, args...)
		return err
	})
}

// keyValsByOwner reads the key-value rows of many owners, sorted by key.
func keyValsByOwner(ctx context.Context, db *DB, table, ownerCol string, ids []string) (map[string][]tracking.KeyVal, error) {
	out := map[string][]tracking.KeyVal{}
	in, arg := inIDs(db, ownerCol, uniq(ids))
	rows, err := db.query(ctx, `SELECT `+ownerCol+`, key, value FROM `+table+` WHERE `+in+` ORDER BY `+ownerCol+`, key`, arg)
	if err != nil {
		return nil, db.translate(err, table)
	}
	defer rows.Close()
	var id sql.RawBytes
	for rows.Next() {
		var t tracking.KeyVal
		if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
			return nil, db.translate(err, table)
		}
		out[string(id)] = append(out[string(id)], t)
	}
	return out, db.translate(rows.Err(), table)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func sortKeyVals(kv []tracking.KeyVal) {
	sort.Slice(kv, func(i, j int) bool { return kv[i].Key < kv[j].Key })
}

// Experiments.

const experimentCols = `e.id, e.project_id, z.name, p.name, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time,
	e.last_update_time, e.created_by`

const experimentFrom = ` FROM tracking_experiments e JOIN projects p ON p.id = e.project_id JOIN zones z ON z.id = p.zone_id`

func scanExperiment(r scanner) (*tracking.Experiment, error) {
	var e tracking.Experiment
	err := r.Scan(&e.ID, &e.ProjectID, &e.Zone, &e.Project, &e.Name, &e.ArtifactLocation, &e.LifecycleStage, &e.CreationTime,
		&e.LastUpdateTime, &e.CreatedBy)
	return &e, err
}

// CreateExperiment implements tracking.Store.
func (s *TrackingStore) CreateExperiment(ctx context.Context, e *tracking.Experiment) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		_, err := s.DB.exec(ctx, `INSERT INTO tracking_experiments (id, project_id, name, artifact_location, lifecycle_stage, created_by,
			creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.ProjectID, e.Name, e.ArtifactLocation,
			e.LifecycleStage, e.CreatedBy, e.CreationTime, e.LastUpdateTime)
		if err != nil {
			return s.DB.translate(err, "Experiment(name="+e.Name+")")
		}
		return s.DB.translate(upsertKeyVals(ctx, s.DB, "tracking_experiment_tags", []string{"experiment_id"}, []any{e.ID}, e.Tags),
			"experiment tags")
	})
}

// GetExperiment implements tracking.Store.
func (s *TrackingStore) GetExperiment(ctx context.Context, id string) (*tracking.Experiment, error) {
	e, err := scanExperiment(s.DB.queryRow(ctx, `SELECT `+experimentCols+experimentFrom+` WHERE e.id = ?`, id))
	if err != nil {
		return nil, s.DB.translate(err, "Experiment with id="+id)
	}
	return e, s.fillExperiments(ctx, []*tracking.Experiment{e})
}

// GetExperimentByName implements tracking.Store.
func (s *TrackingStore) GetExperimentByName(ctx context.Context, projectID, name string) (*tracking.Experiment, error) {
	e, err := scanExperiment(s.DB.queryRow(ctx, `SELECT `+experimentCols+experimentFrom+` WHERE e.project_id = ? AND e.name = ?`,
		projectID, name))
	if err != nil {
		return nil, s.DB.translate(err, "Experiment with name="+name)
	}
	return e, s.fillExperiments(ctx, []*tracking.Experiment{e})
}

// fillExperiments reads the tags and run counts of experiments, with one
// query each.
func (s *TrackingStore) fillExperiments(ctx context.Context, es []*tracking.Experiment) error {
	if len(es) == 0 {
		return nil
	}
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	tags, err := keyValsByOwner(ctx, s.DB, "tracking_experiment_tags", "experiment_id", ids)
	if err != nil {
		return err
	}
	counts := map[string]*tracking.RunCount{}
	in, arg := inIDs(s.DB, "experiment_id", uniq(ids))
	rows, err := s.DB.query(ctx, `SELECT experiment_id, lifecycle_stage, COUNT(*) FROM tracking_runs WHERE `+in+`
		GROUP BY experiment_id, lifecycle_stage`, arg)
	if err != nil {
		return s.DB.translate(err, "run counts")
	}
	defer rows.Close()
	for rows.Next() {
		var id, stage string
		var n int
		if err := rows.Scan(&id, &stage, &n); err != nil {
			return s.DB.translate(err, "run counts")
		}
		rc := counts[id]
		if rc == nil {
			rc = &tracking.RunCount{}
			counts[id] = rc
		}
		switch stage {
		case tracking.Active:
			rc.Active += n
		case tracking.Deleted:
			rc.Deleted += n
		}
	}
	if err := rows.Err(); err != nil {
		return s.DB.translate(err, "run counts")
	}
	for _, e := range es {
		e.Tags = orEmpty(tags[e.ID])
		if e.Runs = counts[e.ID]; e.Runs == nil {
			e.Runs = &tracking.RunCount{}
		}
	}
	return nil
}

// UpdateExperiment implements tracking.Store.
func (s *TrackingStore) UpdateExperiment(ctx context.Context, e *tracking.Experiment) error {
	res, err := s.DB.exec(ctx, `UPDATE tracking_experiments SET name = ?, lifecycle_stage = ?, last_update_time = ? WHERE id = ?`,
		e.Name, e.LifecycleStage, e.LastUpdateTime, e.ID)
	if err != nil {
		return s.DB.translate(err, "Experiment(name="+e.Name+")")
	}
	return one(res, nil, s.DB, "Experiment with id="+e.ID)
}

// SetExperimentTag implements tracking.Store.
func (s *TrackingStore) SetExperimentTag(ctx context.Context, experimentID string, t tracking.KeyVal) error {
	err := upsertKeyVals(ctx, s.DB, "tracking_experiment_tags", []string{"experiment_id"}, []any{experimentID}, []tracking.KeyVal{t})
	return notFoundIfFK(s.DB, err, "experiment tag", "Experiment with id="+experimentID)
}

// DeleteExperimentTag implements tracking.Store.
func (s *TrackingStore) DeleteExperimentTag(ctx context.Context, experimentID, key string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM tracking_experiment_tags WHERE experiment_id = ? AND key = ?`, experimentID, key)
	return one(res, err, s.DB, fmt.Sprintf("No tag with name: %s in experiment with id %s", key, experimentID))
}

// Runs.

const runCols = `id, experiment_id, project_id, name, user_id, principal_id, status, start_time, end_time, artifact_uri, lifecycle_stage`

func scanRunInfo(r scanner) (*tracking.RunInfo, error) {
	var ri tracking.RunInfo
	var end sql.NullInt64
	if err := r.Scan(&ri.ID, &ri.ExperimentID, &ri.ProjectID, &ri.Name, &ri.UserID, &ri.PrincipalID, &ri.Status, &ri.StartTime, &end,
		&ri.ArtifactURI, &ri.LifecycleStage); err != nil {
		return nil, err
	}
	if end.Valid {
		ri.EndTime = &end.Int64
	}
	return &ri, nil
}

func nullInt64(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// CreateRun implements tracking.Store.
func (s *TrackingStore) CreateRun(ctx context.Context, r *tracking.RunInfo, tags []tracking.KeyVal) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		_, err := s.DB.exec(ctx, `INSERT INTO tracking_runs (`+runCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.ExperimentID,
			r.ProjectID, r.Name, r.UserID, r.PrincipalID, r.Status, r.StartTime, nullInt64(r.EndTime), r.ArtifactURI, r.LifecycleStage)
		if err != nil {
			return notFoundIfFK(s.DB, err, "run "+r.ID, "Experiment with id="+r.ExperimentID)
		}
		return s.DB.translate(upsertKeyVals(ctx, s.DB, "tracking_run_tags", []string{"run_id"}, []any{r.ID}, tags), "run tags")
	})
}

// GetRunInfo implements tracking.Store.
func (s *TrackingStore) GetRunInfo(ctx context.Context, id string) (*tracking.RunInfo, error) {
	ri, err := scanRunInfo(s.DB.queryRow(ctx, `SELECT `+runCols+` FROM tracking_runs WHERE id = ?`, id))
	if err != nil {
		return nil, s.DB.translate(err, "Run with id="+id)
	}
	return ri, nil
}

// UpdateRunInfo implements tracking.Store.
func (s *TrackingStore) UpdateRunInfo(ctx context.Context, r *tracking.RunInfo) error {
	res, err := s.DB.exec(ctx, `UPDATE tracking_runs SET name = ?, status = ?, end_time = ?, lifecycle_stage = ? WHERE id = ?`,
		r.Name, r.Status, nullInt64(r.EndTime), r.LifecycleStage, r.ID)
	return one(res, err, s.DB, "Run with id="+r.ID)
}

// DeleteRunTag implements tracking.Store.
func (s *TrackingStore) DeleteRunTag(ctx context.Context, runID, key string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM tracking_run_tags WHERE run_id = ? AND key = ?`, runID, key)
	return one(res, err, s.DB, fmt.Sprintf("No tag with name: %s in run with id %s", key, runID))
}

// GetRuns implements tracking.Store with one query per part of a run
// (infos, latest metrics, parameters, tags, inputs, model inputs, outputs),
// whatever the number of runs.
func (s *TrackingStore) GetRuns(ctx context.Context, ids []string) ([]*tracking.Run, error) {
	ids = uniq(ids)
	if len(ids) == 0 {
		return []*tracking.Run{}, nil
	}
	in, arg := inIDs(s.DB, "id", ids)
	rows, err := s.DB.query(ctx, `SELECT `+runCols+` FROM tracking_runs WHERE `+in, arg)
	if err != nil {
		return nil, s.DB.translate(err, "runs")
	}
	infos, err := collect(rows, scanRunInfo, s.DB, "runs")
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*tracking.Run, len(infos))
	found := make([]string, 0, len(infos))
	for _, ri := range infos {
		byID[ri.ID] = &tracking.Run{Info: *ri, Metrics: []tracking.Metric{}, Params: []tracking.KeyVal{}, Tags: []tracking.KeyVal{},
			Inputs: []tracking.DatasetInput{}, Outputs: []tracking.ModelOutput{}}
		found = append(found, ri.ID)
	}
	if len(found) > 0 {
		if err := s.fillRuns(ctx, found, byID); err != nil {
			return nil, s.DB.translate(err, "runs")
		}
	}
	out := make([]*tracking.Run, 0, len(byID))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// fillRuns reads the parts of runs. Each row names its run first; the
// name is read without a copy (RawBytes), since a page of runs is tens of
// thousands of rows.
func (s *TrackingStore) fillRuns(ctx context.Context, ids []string, byID map[string]*tracking.Run) error {
	var id sql.RawBytes
	each := func(col, q string, scan func(r *sql.Rows) error) error {
		in, arg := inIDs(s.DB, col, ids)
		rows, err := s.DB.query(ctx, strings.Replace(q, "$IN", in, 1), arg)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	run := func() *tracking.Run { return byID[string(id)] }
	if err := each("run_id", `SELECT run_id, key, value, is_nan, ts, step FROM tracking_latest_metrics WHERE $IN ORDER BY run_id, key`,
		func(r *sql.Rows) error {
			var m tracking.Metric
			if err := r.Scan(&id, &m.Key, &m.Value, &m.IsNaN, &m.Timestamp, &m.Step); err != nil {
				return err
			}
			if m.IsNaN {
				m.Value = math.NaN()
			}
			rr := run()
			rr.Metrics = append(rr.Metrics, m)
			return nil
		}); err != nil {
		return err
	}
	for _, kv := range []struct {
		query string
		field func(*tracking.Run) *[]tracking.KeyVal
	}{
		{`SELECT run_id, key, value FROM tracking_params WHERE $IN ORDER BY run_id, key`,
			func(r *tracking.Run) *[]tracking.KeyVal { return &r.Params }},
		{`SELECT run_id, key, value FROM tracking_run_tags WHERE $IN ORDER BY run_id, key`,
			func(r *tracking.Run) *[]tracking.KeyVal { return &r.Tags }},
	} {
		if err := each("run_id", kv.query, func(r *sql.Rows) error {
			var t tracking.KeyVal
			if err := r.Scan(&id, &t.Key, &t.Value); err != nil {
				return err
			}
			f := kv.field(run())
			*f = append(*f, t)
			return nil
		}); err != nil {
			return err
		}
	}
	if err := each("i.run_id", `SELECT i.run_id, i.tags, d.name, d.digest, d.source_type, d.source, d.dataset_schema, d.profile,
		d.dataset_version_id FROM tracking_inputs i JOIN tracking_datasets d ON d.id = i.dataset_id WHERE $IN
		ORDER BY i.run_id, d.name, d.digest`,
		func(r *sql.Rows) error {
			var in tracking.DatasetInput
			var tags string
			var version sql.NullString
			d := &in.Dataset
			if err := r.Scan(&id, &tags, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile, &version); err != nil {
				return err
			}
			var err error
			if in.Tags, err = decodeInputTags(tags); err != nil {
				return err
			}
			if version.Valid {
				d.VersionRef = &tracking.DatasetVersionRef{VersionID: version.String}
			}
			rr := run()
			rr.Inputs = append(rr.Inputs, in)
			return nil
		}); err != nil {
		return err
	}
	if err := each("run_id", `SELECT run_id, model_id FROM tracking_model_inputs WHERE $IN ORDER BY run_id, model_id`,
		func(r *sql.Rows) error {
			var m string
			if err := r.Scan(&id, &m); err != nil {
				return err
			}
			rr := run()
			rr.ModelInputs = append(rr.ModelInputs, m)
			return nil
		}); err != nil {
		return err
	}
	return each("run_id", `SELECT run_id, model_id, step FROM tracking_outputs WHERE $IN ORDER BY run_id, model_id`,
		func(r *sql.Rows) error {
			var o tracking.ModelOutput
			if err := r.Scan(&id, &o.ModelID, &o.Step); err != nil {
				return err
			}
			rr := run()
			rr.Outputs = append(rr.Outputs, o)
			return nil
		})
}

// Input tags are stored as one JSON object per input (keys are unique, as
// MLflow's input_tags table has them), so that a search can reach the
// context tag with the engine's JSON functions.
func encodeInputTags(kv []tracking.KeyVal) (string, error) {
	m := make(map[string]string, len(kv))
	for _, t := range kv {
		m[t.Key] = t.Value
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeInputTags(s string) ([]tracking.KeyVal, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	out := make([]tracking.KeyVal, 0, len(m))
	for k, v := range m {
		out = append(out, tracking.KeyVal{Key: k, Value: v})
	}
	sortKeyVals(out)
	return out, nil
}

// Metrics, parameters and tags.

// storedMetric is a metric as stored: NaN as 0 with is_nan set, infinities
// as the largest finite doubles.
func storedMetric(m tracking.Metric) (value float64, isNaN bool) {
	switch {
	case m.IsNaN || math.IsNaN(m.Value):
		return 0, true
	case math.IsInf(m.Value, 1):
		return tracking.PosInf, false
	case math.IsInf(m.Value, -1):
		return tracking.NegInf, false
	}
	return m.Value, false
}

// LogBatch implements tracking.Store. A batch costs a handful of statements:
// one insert per 500 metrics, one upsert of the latest values, one insert
// and one read-back of the parameters, one upsert of the tags.
func (s *TrackingStore) LogBatch(ctx context.Context, runID string, b tracking.Batch) error {
	if len(b.Metrics)+len(b.Params)+len(b.Tags) == 0 {
		return nil
	}
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		if err := s.logMetrics(ctx, runID, b.Metrics); err != nil {
			return err
		}
		if err := s.logParams(ctx, runID, b.Params); err != nil {
			return err
		}
		err := upsertKeyVals(ctx, s.DB, "tracking_run_tags", []string{"run_id"}, []any{runID}, b.Tags)
		return notFoundIfFK(s.DB, err, "run tags", "Run with id="+runID)
	})
}

type latestMetric struct {
	step, ts int64
	value    float64
	isNaN    bool
}

// newer is MLflow's rule: a value replaces the latest when its (step,
// timestamp, value) is strictly greater, NaN counting as its stored 0.
func (a latestMetric) newer(b latestMetric) bool {
	if a.step != b.step {
		return a.step > b.step
	}
	if a.ts != b.ts {
		return a.ts > b.ts
	}
	return a.value > b.value
}

func (s *TrackingStore) logMetrics(ctx context.Context, runID string, ms []tracking.Metric) error {
	if len(ms) == 0 {
		return nil
	}
	latest := map[string]latestMetric{}
	const width = 9
	err := chunked(ms, rowChunk, func(c []tracking.Metric) error {
		args := make([]any, 0, len(c)*width)
		for _, m := range c {
			v, isNaN := storedMetric(m)
			args = append(args, runID, m.Key, m.Step, m.Timestamp, v, isNaN, m.ModelID, m.DatasetName, m.DatasetDigest)
			l := latestMetric{m.Step, m.Timestamp, v, isNaN}
			if cur, ok := latest[m.Key]; !ok || l.newer(cur) {
				latest[m.Key] = l
			}
		}
		_, err := execRows(ctx, s.DB, len(c), `INSERT INTO `+s.metricsTable()+` (run_id, key, step, ts, value, is_nan, model_id, dataset_name,
			dataset_digest) VALUES `+valuesSQL(width, len(c))+s.onConflict(), args...)
		return err
	})
	if err != nil {
		return notFoundIfFK(s.DB, err, "metrics", "Run with id="+runID)
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys) // one lock order for concurrent writers
	err = chunked(keys, rowChunk, func(c []string) error {
		args := make([]any, 0, len(c)*6)
		for _, k := range c {
			l := latest[k]
			args = append(args, runID, k, l.step, l.ts, l.value, l.isNaN)
		}
		_, err := execRows(ctx, s.DB, len(c), `INSERT INTO tracking_latest_metrics (run_id, key, step, ts, value, is_nan)
			VALUES `+valuesSQL(6, len(c))+` ON CONFLICT (run_id, key) DO UPDATE
			SET step = excluded.step, ts = excluded.ts, value = excluded.value, is_nan = excluded.is_nan
			WHERE (excluded.step, excluded.ts, excluded.value) > (tracking_latest_metrics.step, tracking_latest_metrics.ts,
				tracking_latest_metrics.value)`, args...)
		return err
	})
	return s.DB.translate(err, "latest metrics")
}

// logParams inserts parameters of a run, keeping those already logged,
// then reads them back: one logged before with another value refuses the
// batch.
func (s *TrackingStore) logParams(ctx context.Context, runID string, ps []tracking.KeyVal) error {
	changed, err := insertParams(ctx, s.DB, "tracking_params", "run_id", runID, ps)
	if err != nil {
		return notFoundIfFK(s.DB, err, "params", "Run with id="+runID)
	}
	if changed != nil {
		return enclave.FieldError("params", "Changing param values is not allowed. Param with key='%s' was already logged "+
			"with value='%s' for run ID='%s'. Attempted logging new value '%s'.", changed.Key, changed.old, runID, changed.Value)
	}
	return nil
}

// changedParam is a parameter logged again with another value.
type changedParam struct {
	tracking.KeyVal
	old string
}

// insertParams inserts parameters of one owner (table and ownerCol are
// constants of this package) and reports the first whose stored value
// differs from the one given.
func insertParams(ctx context.Context, db *DB, table, ownerCol, owner string, ps []tracking.KeyVal) (*changedParam, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	err := chunked(ps, rowChunk, func(c []tracking.KeyVal) error {
		args := make([]any, 0, len(c)*3)
		for _, p := range c {
			args = append(args, owner, p.Key, p.Value)
		}
		_, err := execRows(ctx, db, len(c), `INSERT INTO `+table+` (`+ownerCol+`, key, value) VALUES `+valuesSQL(3, len(c))+
			` ON CONFLICT (`+ownerCol+`, key) DO NOTHING`, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	stored := make(map[string]string, len(ps))
	keys := make([]string, 0, len(ps))
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	in, arg := inIDs(db, "key", uniq(keys))
	rows, err := db.query(ctx, `SELECT key, value FROM `+table+` WHERE `+ownerCol+` = ? AND `+in, owner, arg)
	if err != nil {
		return nil, db.translate(err, "params")
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, db.translate(err, "params")
		}
		stored[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, db.translate(err, "params")
	}
	for _, p := range ps {
		if v, ok := stored[p.Key]; ok && v != p.Value {
			return &changedParam{KeyVal: p, old: v}, nil
		}
	}
	return nil, nil
}

// MetricHistory implements tracking.Store: the values of a metric in a
// total order (step, timestamp, value with NaN as its stored 0, NaN after
// a 0), those after (afterStep,
// afterTimestamp) in (step, timestamp) order; afterStep math.MinInt64
// starts at the beginning. A page never ends inside a group of values
// sharing a step and timestamp, since the next page starts after the group,
// so it may hold a few more than limit values.
func (s *TrackingStore) MetricHistory(ctx context.Context, runID, key string, afterStep, afterTimestamp int64, limit int) ([]tracking.Metric, error) {
	if err := s.flushFirst(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = tracking.MaxHistoryResults
	}
	const cols = `SELECT step, ts, value, is_nan, model_id, dataset_name, dataset_digest FROM tracking_metrics WHERE run_id = ? AND key = ?`
	const order = ` ORDER BY step, ts, value, is_nan`
	scan := func(r scanner) (tracking.Metric, error) {
		m := tracking.Metric{Key: key, RunID: runID}
		err := r.Scan(&m.Step, &m.Timestamp, &m.Value, &m.IsNaN, &m.ModelID, &m.DatasetName, &m.DatasetDigest)
		if m.IsNaN {
			m.Value = math.NaN()
		}
		return m, err
	}
	var rows *sql.Rows
	var err error
	if afterStep == math.MinInt64 {
		rows, err = s.DB.query(ctx, cols+order+` LIMIT ?`, runID, key, limit)
	} else {
		rows, err = s.DB.query(ctx, cols+` AND (step > ? OR (step = ? AND ts > ?))`+order+` LIMIT ?`, runID, key, afterStep, afterStep,
			afterTimestamp, limit)
	}
	if err != nil {
		return nil, s.DB.translate(err, "metric history")
	}
	out, err := collect(rows, scan, s.DB, "metric history")
	if err != nil || len(out) < limit {
		return orEmpty(out), err
	}
	last := out[len(out)-1]
	n := 0
	for i := len(out) - 1; i >= 0 && out[i].Step == last.Step && out[i].Timestamp == last.Timestamp; i-- {
		n++
	}
	rows, err = s.DB.query(ctx, cols+` AND step = ? AND ts = ?`+order, runID, key, last.Step, last.Timestamp)
	if err != nil {
		return nil, s.DB.translate(err, "metric history")
	}
	group, err := collect(rows, scan, s.DB, "metric history")
	if err != nil || len(group) <= n {
		return out, err
	}
	return append(out, group[n:]...), nil
}

// Inputs and outputs.

// nameDigest identifies a dataset within an experiment.
type nameDigest struct{ name, digest string }

// LogInputs implements tracking.Store.
func (s *TrackingStore) LogInputs(ctx context.Context, experimentID, runID string, in []tracking.DatasetInput, modelIDs []string) error {
	seen := map[nameDigest]bool{}
	var inputs []tracking.DatasetInput
	for _, di := range in {
		k := nameDigest{di.Dataset.Name, di.Dataset.Digest}
		if !seen[k] { // the first of two inputs of one dataset wins, as in MLflow
			seen[k] = true
			inputs = append(inputs, di)
		}
	}
	modelIDs = uniq(modelIDs)
	if len(inputs) == 0 && len(modelIDs) == 0 {
		return nil
	}
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		if err := s.logDatasetInputs(ctx, experimentID, runID, inputs); err != nil {
			return err
		}
		err := chunked(modelIDs, rowChunk, func(c []string) error {
			args := make([]any, 0, len(c)*2)
			for _, m := range c {
				args = append(args, runID, m)
			}
			_, err := execRows(ctx, s.DB, len(c), `INSERT INTO tracking_model_inputs (run_id, model_id) VALUES `+valuesSQL(2, len(c))+
				` ON CONFLICT (run_id, model_id) DO NOTHING`, args...)
			return err
		})
		return notFoundIfFK(s.DB, err, "model inputs", "Run with id="+runID)
	})
}

// logDatasetInputs records datasets (reusing the experiment's dataset of
// the same name and digest) and the run's inputs of them.
func (s *TrackingStore) logDatasetInputs(ctx context.Context, experimentID, runID string, inputs []tracking.DatasetInput) error {
	if len(inputs) == 0 {
		return nil
	}
	const width = 9
	err := chunked(inputs, rowChunk/5, func(c []tracking.DatasetInput) error {
		args := make([]any, 0, len(c)*width)
		for _, di := range c {
			d := di.Dataset
			var version any
			if d.VersionRef != nil && d.VersionRef.VersionID != "" {
				version = d.VersionRef.VersionID
			}
			args = append(args, uuid.Must(uuid.NewV7()).String(), experimentID, d.Name, d.Digest, d.SourceType, d.Source, d.Schema,
				d.Profile, version)
		}
		_, err := execRows(ctx, s.DB, len(c), `INSERT INTO tracking_datasets (id, experiment_id, name, digest, source_type, source,
			dataset_schema, profile, dataset_version_id) VALUES `+valuesSQL(width, len(c))+
			` ON CONFLICT (experiment_id, name, digest) DO NOTHING`, args...)
		return err
	})
	if err != nil {
		return notFoundIfFK(s.DB, err, "datasets", "Experiment with id="+experimentID)
	}
	ids := map[nameDigest]string{}
	names := make([]string, 0, len(inputs))
	for _, di := range inputs {
		names = append(names, di.Dataset.Name)
	}
	in, arg := inIDs(s.DB, "name", uniq(names))
	rows, err := s.DB.query(ctx, `SELECT id, name, digest FROM tracking_datasets WHERE experiment_id = ? AND `+in, experimentID, arg)
	if err != nil {
		return s.DB.translate(err, "datasets")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var k nameDigest
		if err := rows.Scan(&id, &k.name, &k.digest); err != nil {
			return s.DB.translate(err, "datasets")
		}
		ids[k] = id
	}
	if err := rows.Err(); err != nil {
		return s.DB.translate(err, "datasets")
	}
	rows.Close()
	err = chunked(inputs, rowChunk, func(c []tracking.DatasetInput) error {
		args := make([]any, 0, len(c)*3)
		for _, di := range c {
			tags, err := encodeInputTags(di.Tags)
			if err != nil {
				return err
			}
			id, ok := ids[nameDigest{di.Dataset.Name, di.Dataset.Digest}]
			if !ok {
				return fmt.Errorf("dataset %q (digest %q) not found after insert", di.Dataset.Name, di.Dataset.Digest)
			}
			args = append(args, runID, id, tags)
		}
		_, err := execRows(ctx, s.DB, len(c), `INSERT INTO tracking_inputs (run_id, dataset_id, tags) VALUES `+valuesSQL(3, len(c))+
			` ON CONFLICT (run_id, dataset_id) DO NOTHING`, args...)
		return err
	})
	return notFoundIfFK(s.DB, err, "inputs", "Run with id="+runID)
}

// LogOutputs implements tracking.Store. A model logged again as an output
// of the same run keeps the later step.
func (s *TrackingStore) LogOutputs(ctx context.Context, runID string, out []tracking.ModelOutput) error {
	steps := map[string]int64{}
	var ids []string
	for _, o := range out {
		if _, ok := steps[o.ModelID]; !ok {
			ids = append(ids, o.ModelID)
		}
		steps[o.ModelID] = o.Step
	}
	err := chunked(ids, rowChunk, func(c []string) error {
		args := make([]any, 0, len(c)*3)
		for _, m := range c {
			args = append(args, runID, m, steps[m])
		}
		_, err := execRows(ctx, s.DB, len(c), `INSERT INTO tracking_outputs (run_id, model_id, step) VALUES `+valuesSQL(3, len(c))+
			` ON CONFLICT (run_id, model_id) DO UPDATE SET step = excluded.step`, args...)
		return err
	})
	return notFoundIfFK(s.DB, err, "outputs", "Run with id="+runID)
}

// Logged models.

const loggedModelCols = `id, experiment_id, project_id, name, artifact_location, status, status_message, lifecycle_stage, model_type,
	source_run_id, created_by, creation_time, last_updated_time`

func scanLoggedModel(r scanner) (*tracking.LoggedModel, error) {
	var m tracking.LoggedModel
	err := r.Scan(&m.ID, &m.ExperimentID, &m.ProjectID, &m.Name, &m.ArtifactLocation, &m.Status, &m.StatusMessage, &m.LifecycleStage,
		&m.ModelType, &m.SourceRunID, &m.CreatedBy, &m.CreationTime, &m.LastUpdatedTime)
	return &m, err
}

func loggedModelMissing(id string) string { return fmt.Sprintf("Logged model with ID '%s'", id) }

// CreateLoggedModel implements tracking.Store.
func (s *TrackingStore) CreateLoggedModel(ctx context.Context, m *tracking.LoggedModel) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error {
		_, err := s.DB.exec(ctx, `INSERT INTO tracking_logged_models (`+loggedModelCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.ExperimentID, m.ProjectID, m.Name, m.ArtifactLocation, m.Status, m.StatusMessage, m.LifecycleStage, m.ModelType,
			m.SourceRunID, m.CreatedBy, m.CreationTime, m.LastUpdatedTime)
		if err != nil {
			return notFoundIfFK(s.DB, err, "logged model "+m.ID, "Experiment with id="+m.ExperimentID)
		}
		if err := s.logModelParams(ctx, m.ID, m.Params); err != nil {
			return err
		}
		return s.DB.translate(upsertKeyVals(ctx, s.DB, "tracking_logged_model_tags", []string{"model_id"}, []any{m.ID}, m.Tags),
			"logged model tags")
	})
}

// GetLoggedModel implements tracking.Store.
func (s *TrackingStore) GetLoggedModel(ctx context.Context, id string) (*tracking.LoggedModel, error) {
	m, err := scanLoggedModel(s.DB.queryRow(ctx, `SELECT `+loggedModelCols+` FROM tracking_logged_models WHERE id = ?`, id))
	if err != nil {
		return nil, s.DB.translate(err, loggedModelMissing(id))
	}
	return m, s.fillLoggedModels(ctx, []*tracking.LoggedModel{m})
}

// fillLoggedModels reads the parameters, tags and metrics of models: the
// latest value (by timestamp, then step, as MLflow ranks them) of each
// metric logged with the model's ID, per dataset it was computed on.
func (s *TrackingStore) fillLoggedModels(ctx context.Context, ms []*tracking.LoggedModel) error {
	if len(ms) == 0 {
		return nil
	}
	ids := make([]string, len(ms))
	byID := make(map[string]*tracking.LoggedModel, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
		byID[m.ID] = m
	}
	params, err := keyValsByOwner(ctx, s.DB, "tracking_logged_model_params", "model_id", ids)
	if err != nil {
		return err
	}
	tags, err := keyValsByOwner(ctx, s.DB, "tracking_logged_model_tags", "model_id", ids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		m.Params, m.Tags, m.Metrics = orEmpty(params[m.ID]), orEmpty(tags[m.ID]), []tracking.Metric{}
	}
	if err := s.flushFirst(ctx); err != nil {
		return err
	}
	// model_id <> '' lets the engines use the partial index on model_id.
	in, arg := inIDs(s.DB, "model_id", uniq(ids))
	rows, err := s.DB.query(ctx, `SELECT model_id, run_id, key, value, is_nan, ts, step, dataset_name, dataset_digest
		FROM tracking_metrics WHERE `+in+` AND model_id <> '' ORDER BY model_id, key, dataset_name, dataset_digest, ts DESC, step DESC, run_id`,
		arg)
	if err != nil {
		return s.DB.translate(err, "logged model metrics")
	}
	defer rows.Close()
	for rows.Next() {
		var mt tracking.Metric
		if err := rows.Scan(&mt.ModelID, &mt.RunID, &mt.Key, &mt.Value, &mt.IsNaN, &mt.Timestamp, &mt.Step, &mt.DatasetName,
			&mt.DatasetDigest); err != nil {
			return s.DB.translate(err, "logged model metrics")
		}
		if mt.IsNaN {
			mt.Value = math.NaN()
		}
		m := byID[mt.ModelID]
		if n := len(m.Metrics); n > 0 && m.Metrics[n-1].Key == mt.Key && m.Metrics[n-1].DatasetName == mt.DatasetName &&
			m.Metrics[n-1].DatasetDigest == mt.DatasetDigest {
			continue // an older value
		}
		m.Metrics = append(m.Metrics, mt)
	}
	return s.DB.translate(rows.Err(), "logged model metrics")
}

// UpdateLoggedModel implements tracking.Store.
func (s *TrackingStore) UpdateLoggedModel(ctx context.Context, m *tracking.LoggedModel) error {
	res, err := s.DB.exec(ctx, `UPDATE tracking_logged_models SET status = ?, status_message = ?, lifecycle_stage = ?, last_updated_time = ?
		WHERE id = ?`, m.Status, m.StatusMessage, m.LifecycleStage, m.LastUpdatedTime, m.ID)
	return one(res, err, s.DB, loggedModelMissing(m.ID))
}

// SetLoggedModelTags implements tracking.Store.
func (s *TrackingStore) SetLoggedModelTags(ctx context.Context, modelID string, tags []tracking.KeyVal) error {
	err := upsertKeyVals(ctx, s.DB, "tracking_logged_model_tags", []string{"model_id"}, []any{modelID}, tags)
	return notFoundIfFK(s.DB, err, "logged model tags", loggedModelMissing(modelID))
}

// LogLoggedModelParams implements tracking.Store.
func (s *TrackingStore) LogLoggedModelParams(ctx context.Context, modelID string, params []tracking.KeyVal) error {
	return s.DB.InTx(ctx, func(ctx context.Context) error { return s.logModelParams(ctx, modelID, params) })
}

func (s *TrackingStore) logModelParams(ctx context.Context, modelID string, params []tracking.KeyVal) error {
	changed, err := insertParams(ctx, s.DB, "tracking_logged_model_params", "model_id", modelID, params)
	if err != nil {
		return notFoundIfFK(s.DB, err, "logged model params", loggedModelMissing(modelID))
	}
	if changed != nil {
		return enclave.FieldError("params", "Changing param values is not allowed. Param with key='%s' was already logged "+
			"with value='%s' for logged model ID='%s'. Attempted logging new value '%s'.", changed.Key, changed.old, modelID, changed.Value)
	}
	return nil
}

// DeleteLoggedModelTag implements tracking.Store.
func (s *TrackingStore) DeleteLoggedModelTag(ctx context.Context, modelID, key string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM tracking_logged_model_tags WHERE model_id = ? AND key = ?`, modelID, key)
	if err != nil {
		return s.DB.translate(err, "logged model tag")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "No tag with key '%s' found for model with ID '%s'.", key, modelID)
	}
	return nil
}

// Artifacts.

const artifactCols = `root, path, object_id, size, sha256`

func scanArtifact(r scanner) (*tracking.Artifact, error) {
	var a tracking.Artifact
	err := r.Scan(&a.Root, &a.Path, &a.ObjectID, &a.Size, &a.SHA256)
	return &a, err
}

// PutArtifact implements tracking.Store. Writers of one path are
// serialized: the row is locked when it exists, and an insert that loses a
// race with another reads the winner's row again, so every replaced object
// is reported to exactly one writer.
func (s *TrackingStore) PutArtifact(ctx context.Context, a *tracking.Artifact) (string, error) {
	var replaced string
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		now := time.Now().UnixMilli()
		for range 3 {
			var old string
			err := s.DB.queryRow(ctx, `SELECT object_id FROM tracking_artifacts WHERE root = ? AND path = ?`+s.DB.Dialect.LockForUpdate(),
				a.Root, a.Path).Scan(&old)
			switch {
			case err == nil:
				_, err = s.DB.exec(ctx, `UPDATE tracking_artifacts SET object_id = ?, size = ?, sha256 = ?, created_at = ?
					WHERE root = ? AND path = ?`, a.ObjectID, a.Size, a.SHA256, now, a.Root, a.Path)
				replaced = old
				return s.DB.translate(err, "artifact "+a.Path)
			case !errors.Is(err, sql.ErrNoRows):
				return s.DB.translate(err, "artifact "+a.Path)
			}
			res, err := s.DB.exec(ctx, `INSERT INTO tracking_artifacts (root, path, object_id, size, sha256, created_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (root, path) DO NOTHING`, a.Root, a.Path, a.ObjectID, a.Size, a.SHA256, now)
			if err != nil {
				return s.DB.translate(err, "artifact "+a.Path)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return nil
			}
		}
		return enclave.Errorf(enclave.CodeConflict, "artifact %s is being written by another request; try again", a.Path)
	})
	return replaced, err
}

// GetArtifact implements tracking.Store.
func (s *TrackingStore) GetArtifact(ctx context.Context, root, path string) (*tracking.Artifact, error) {
	a, err := scanArtifact(s.DB.queryRow(ctx, `SELECT `+artifactCols+` FROM tracking_artifacts WHERE root = ? AND path = ?`, root, path))
	if err != nil {
		return nil, s.DB.translate(err, "artifact "+path)
	}
	return a, nil
}

// ListArtifacts implements tracking.Store. The files under dir are the
// paths in [dir+"/", dir+"0"): '0' follows '/' in byte order, and a range
// (unlike LIKE) gives '%' and '_' in names no meaning. PostgreSQL compares
// in byte order only under the "C" collation.
func (s *TrackingStore) ListArtifacts(ctx context.Context, root, dir string) ([]*tracking.Artifact, error) {
	col := "path"
	if s.DB.Dialect.Name() == "postgres" {
		col = `path COLLATE "C"`
	}
	dir = strings.Trim(dir, "/")
	var rows *sql.Rows
	var err error
	if dir == "" {
		rows, err = s.DB.query(ctx, `SELECT `+artifactCols+` FROM tracking_artifacts WHERE root = ? ORDER BY `+col, root)
	} else {
		rows, err = s.DB.query(ctx, `SELECT `+artifactCols+` FROM tracking_artifacts WHERE root = ? AND `+col+` >= ? AND `+col+` < ?
			ORDER BY `+col, root, dir+"/", dir+"0")
	}
	if err != nil {
		return nil, s.DB.translate(err, "artifacts")
	}
	out, err := collect(rows, scanArtifact, s.DB, "artifacts")
	return orEmpty(out), err
}

// DeleteArtifact implements tracking.Store.
func (s *TrackingStore) DeleteArtifact(ctx context.Context, root, path string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM tracking_artifacts WHERE root = ? AND path = ?`, root, path)
	return one(res, err, s.DB, "Artifact "+path)
}

// metricsTable is where logged values go first: on SQLite the staging
// table (see FlushMetrics), elsewhere the history itself.
func (s *TrackingStore) metricsTable() string {
	if s.DB.writer != nil {
		return "tracking_metrics_staged"
	}
	return "tracking_metrics"
}

func (s *TrackingStore) onConflict() string {
	if s.DB.writer != nil {
		return "" // the staging table keeps repeats; the flush drops them
	}
	return " ON CONFLICT DO NOTHING"
}

// FlushMetrics moves staged metric values into the history, in one
// transaction, sorted by run and key so that each page of the history is
// written once per flush; exact repeats (a client's retried batch) are
// dropped. It returns how many staged values it moved. On engines without a
// staging table it does nothing.
func (s *TrackingStore) FlushMetrics(ctx context.Context) (int, error) {
	if s.DB.writer == nil {
		return 0, nil
	}
	var n int
	err := s.DB.InTx(ctx, func(ctx context.Context) error {
		var max sql.NullInt64
		if err := s.DB.queryRow(ctx, `SELECT MAX(seq) FROM tracking_metrics_staged`).Scan(&max); err != nil || !max.Valid {
			return err
		}
		res, err := s.DB.exec(ctx, `INSERT INTO tracking_metrics (run_id, key, step, ts, value, is_nan, model_id, dataset_name, dataset_digest)
			SELECT run_id, key, step, ts, value, is_nan, model_id, dataset_name, dataset_digest FROM tracking_metrics_staged
			WHERE seq <= ? ORDER BY run_id, key, step, ts ON CONFLICT DO NOTHING`, max.Int64)
		if err != nil {
			return err
		}
		if _, err := s.DB.exec(ctx, `DELETE FROM tracking_metrics_staged WHERE seq <= ?`, max.Int64); err != nil {
			return err
		}
		moved, _ := res.RowsAffected()
		n = int(moved)
		return nil
	})
	return n, s.DB.translate(err, "flush metrics")
}

// FlushStaged flushes staged values if there are any, without taking the
// write lock when there are none (an idle server's flush loop).
func (s *TrackingStore) FlushStaged(ctx context.Context) error { return s.flushFirst(ctx) }

// flushFirst flushes staged values before a read of the history, so that
// reads see every value logged.
func (s *TrackingStore) flushFirst(ctx context.Context) error {
	if s.DB.writer == nil {
		return nil
	}
	var staged bool
	if err := s.DB.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tracking_metrics_staged)`).Scan(&staged); err != nil {
		return s.DB.translate(err, "staged metrics")
	}
	if !staged {
		return nil
	}
	_, err := s.FlushMetrics(ctx)
	return err
}
