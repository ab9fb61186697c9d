package sqlstore

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
)

// The searches compile MLflow's filter AST (internal/tracking/search) to
// SQL. Values are always bound parameters; keys of metrics, params and tags
// are bound too, and the only identifiers written into the text are column
// names chosen from the tables below. A key or operator outside them fails
// with invalid_argument, so a filter the parser let through by mistake
// still cannot reach SQL.
//
// LIKE is case-sensitive and ILIKE is not, on both engines, with '\' as the
// escape character (PostgreSQL's default). PostgreSQL runs them as written;
// SQLite's LIKE ignores ASCII case, so a case-sensitive LIKE runs as GLOB
// with the pattern translated, and ILIKE as SQLite's LIKE.

// colKind is how a column compares.
type colKind int

const (
	textCol colKind = iota
	intCol
	floatCol
)

// column is a searchable column: its SQL (fixed text) and kind.
type column struct {
	sql      string
	kind     colKind
	nullable bool
}

// sqlSearch builds one search statement: the joins orderings need, the
// filter's conditions and the order, each keeping its arguments in the order
// they appear in the text.
type sqlSearch struct {
	pg                          bool
	joins, conds, order         []string
	joinArgs, condArgs, ordArgs []any
	aliases                     int
}

func newSearch(db *DB) *sqlSearch { return &sqlSearch{pg: db.Dialect.Name() == "postgres"} }

func (b *sqlSearch) join(s string, args ...any) {
	b.joins = append(b.joins, s)
	b.joinArgs = append(b.joinArgs, args...)
}

func (b *sqlSearch) where(s string, args ...any) {
	b.conds = append(b.conds, s)
	b.condArgs = append(b.condArgs, args...)
}

func (b *sqlSearch) orderBy(s string, args ...any) {
	b.order = append(b.order, s)
	b.ordArgs = append(b.ordArgs, args...)
}

func (b *sqlSearch) alias() string {
	b.aliases++
	return fmt.Sprintf("o%d", b.aliases)
}

// statement is head (SELECT … FROM …) with the joins, conditions, order and
// page.
func (b *sqlSearch) statement(head string, limit, offset int) (string, []any) {
	var q strings.Builder
	q.WriteString(head)
	for _, j := range b.joins {
		q.WriteString(" " + j)
	}
	if len(b.conds) > 0 {
		q.WriteString(" WHERE " + strings.Join(b.conds, " AND "))
	}
	if len(b.order) > 0 {
		q.WriteString(" ORDER BY " + strings.Join(b.order, ", "))
	}
	q.WriteString(" LIMIT ? OFFSET ?")
	args := make([]any, 0, len(b.joinArgs)+len(b.condArgs)+len(b.ordArgs)+2)
	args = append(append(append(append(args, b.joinArgs...), b.condArgs...), b.ordArgs...), limit, max(offset, 0))
	return q.String(), args
}

func filterError(format string, args ...any) error {
	return enclave.FieldError("filter", format, args...)
}

func orderError(format string, args ...any) error {
	return enclave.FieldError("order_by", format, args...)
}

// compare compiles "expr op value" for a column of the given kind.
func (b *sqlSearch) compare(expr string, kind colKind, c search.Comparison) (string, []any, error) {
	switch c.Op {
	case "=", "!=", "<", "<=", ">", ">=":
		if kind == textCol {
			if c.Op != "=" && c.Op != "!=" {
				return "", nil, filterError("operator %s does not apply to %s", c.Op, c.Key)
			}
			s, ok := c.Value.(string)
			if !ok {
				return "", nil, filterError("%s takes a string value", c.Key)
			}
			return expr + " " + c.Op + " ?", []any{s}, nil
		}
		f, err := number(c)
		if err != nil {
			return "", nil, err
		}
		if kind == intCol {
			if f == math.Trunc(f) && math.Abs(f) < 1<<62 {
				return expr + " " + c.Op + " ?", []any{int64(f)}, nil
			}
			return expr + " " + c.Op + " CAST(? AS DOUBLE PRECISION)", []any{f}, nil
		}
		return expr + " " + c.Op + " ?", []any{f}, nil
	case "LIKE", "ILIKE":
		s, ok := c.Value.(string)
		if kind != textCol || !ok {
			return "", nil, filterError("operator %s applies to strings only (%s)", c.Op, c.Key)
		}
		p, arg := b.like(expr, c.Op == "ILIKE", s)
		return p, []any{arg}, nil
	case "IN", "NOT IN":
		list, ok := c.Value.([]string)
		if kind != textCol || !ok {
			return "", nil, filterError("operator %s takes a list of strings (%s)", c.Op, c.Key)
		}
		if len(list) == 0 {
			if c.Op == "IN" {
				return "1 = 0", nil, nil
			}
			return "1 = 1", nil, nil
		}
		return expr + " " + c.Op + " (" + marks(len(list)) + ")", anys(list), nil
	}
	return "", nil, filterError("operator %q is not supported for %s", c.Op, c.Key)
}

// number reads a numeric comparison's value.
func number(c search.Comparison) (float64, error) {
	var f float64
	switch v := c.Value.(type) {
	case float64:
		f = v
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return 0, filterError("%s takes a number, not %q", c.Key, v)
		}
	default:
		return 0, filterError("%s takes a number", c.Key)
	}
	if math.IsNaN(f) {
		return 0, filterError("%s cannot be compared with NaN", c.Key)
	}
	return f, nil
}

// likeToken is one element of a LIKE pattern: a literal rune, or a
// wildcard ('%' any run, '_' one character).
type likeToken struct {
	r        rune
	wildcard bool
}

// parseLike splits a LIKE pattern, '\' escaping the next character (a
// trailing '\' stands for itself, where PostgreSQL would fail).
func parseLike(p string) []likeToken {
	rs := []rune(p)
	out := make([]likeToken, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\' && i+1 < len(rs):
			i++
			out = append(out, likeToken{r: rs[i]})
		case r == '%' || r == '_':
			out = append(out, likeToken{r: r, wildcard: true})
		default:
			out = append(out, likeToken{r: r})
		}
	}
	return out
}

// likePattern writes tokens as a LIKE pattern escaped with '\'.
func likePattern(ts []likeToken) string {
	var b strings.Builder
	for _, t := range ts {
		if !t.wildcard && (t.r == '%' || t.r == '_' || t.r == '\\') {
			b.WriteByte('\\')
		}
		b.WriteRune(t.r)
	}
	return b.String()
}

// globPattern writes tokens as a SQLite GLOB pattern: '*' and '?' are the
// wildcards, and a literal '*', '?' or '[' is written as a one-character
// class.
func globPattern(ts []likeToken) string {
	var b strings.Builder
	for _, t := range ts {
		switch {
		case t.wildcard && t.r == '%':
			b.WriteByte('*')
		case t.wildcard:
			b.WriteByte('?')
		case t.r == '*' || t.r == '?' || t.r == '[':
			b.WriteString("[" + string(t.r) + "]")
		default:
			b.WriteRune(t.r)
		}
	}
	return b.String()
}

func (b *sqlSearch) like(expr string, fold bool, pattern string) (string, string) {
	ts := parseLike(pattern)
	switch {
	case b.pg && fold:
		return expr + ` ILIKE ? ESCAPE '\'`, likePattern(ts)
	case b.pg:
		return expr + ` LIKE ? ESCAPE '\'`, likePattern(ts)
	case fold:
		return expr + ` LIKE ? ESCAPE '\'`, likePattern(ts)
	}
	return expr + ` GLOB ?`, globPattern(ts)
}

// keyed compiles a comparison on a key-value table (parameters, tags,
// latest metrics) aliased k, whose rows belong to the searched row when
// link (fixed SQL such as "k.run_id = r.id") holds: the row matches when it
// has the key with a matching value (IS NULL: when it lacks the key). In a
// table with is_nan, a NaN matches only "!=", as in MLflow.
func (b *sqlSearch) keyed(table, link string, kind colKind, hasNaN bool, c search.Comparison) error {
	sub := "SELECT 1 FROM " + table + " k WHERE " + link + " AND k.key = ?"
	switch c.Op {
	case "IS NULL":
		b.where("NOT EXISTS ("+sub+")", c.Key)
		return nil
	case "IS NOT NULL":
		b.where("EXISTS ("+sub+")", c.Key)
		return nil
	}
	p, args, err := b.compare("k.value", kind, c)
	if err != nil {
		return err
	}
	if hasNaN {
		if c.Op == "!=" {
			p = "(" + p + " OR k.is_nan)"
		} else {
			p += " AND NOT k.is_nan"
		}
	}
	b.where("EXISTS ("+sub+" AND "+p+")", append([]any{c.Key}, args...)...)
	return nil
}

// attribute compiles a comparison on a column of the searched table.
func (b *sqlSearch) attribute(cols map[string]column, c search.Comparison) error {
	col, ok := cols[c.Key]
	if !ok {
		return filterError("invalid attribute key %q", c.Key)
	}
	if c.Op == "IS NULL" || c.Op == "IS NOT NULL" {
		return filterError("operator %s does not apply to attribute %s", c.Op, c.Key)
	}
	p, args, err := b.compare(col.sql, col.kind, c)
	if err != nil {
		return err
	}
	b.where(p, args...)
	return nil
}

// orderColumn orders by a column, missing values last whatever the
// direction, as MLflow's stores do.
func (b *sqlSearch) orderColumn(col column, asc bool) {
	if col.nullable {
		b.orderBy("CASE WHEN " + col.sql + " IS NULL THEN 1 ELSE 0 END")
	}
	b.orderBy(col.sql + direction(asc))
}

func direction(asc bool) string {
	if asc {
		return ""
	}
	return " DESC"
}

// checkOrder refuses an ordering named twice.
func checkOrder(seen map[string]bool, o search.OrderBy) error {
	k := string(o.Type) + "." + o.Key
	if seen[k] {
		return orderError("order_by names %s twice", k)
	}
	seen[k] = true
	return nil
}

func stageFilter(b *sqlSearch, col, viewType string) error {
	switch viewType {
	case "", tracking.ActiveOnly:
		b.where(col+" = ?", tracking.Active)
	case tracking.DeletedOnly:
		b.where(col+" = ?", tracking.Deleted)
	case tracking.AllViews:
	default:
		return enclave.FieldError("view_type", "view type must be ACTIVE_ONLY, DELETED_ONLY or ALL")
	}
	return nil
}

func pageSize(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Runs.

var runColumns = map[string]column{
	"run_id":          {sql: "r.id"},
	"run_name":        {sql: "r.name"},
	"status":          {sql: "r.status"},
	"user_id":         {sql: "r.user_id"},
	"artifact_uri":    {sql: "r.artifact_uri"},
	"lifecycle_stage": {sql: "r.lifecycle_stage"},
	"experiment_id":   {sql: "r.experiment_id"},
	"start_time":      {sql: "r.start_time", kind: intCol},
	"end_time":        {sql: "r.end_time", kind: intCol, nullable: true},
}

// inputContext is the context tag of a run's input (i), from its tags'
// JSON object.
func (b *sqlSearch) inputContext() string {
	if b.pg {
		return `(CAST(i.tags AS jsonb) ->> 'mlflow.data.context')`
	}
	return `json_extract(i.tags, '$."mlflow.data.context"')`
}

// SearchRuns implements tracking.Store with one query; missing values of
// an ordering sort last (NaN metrics just before them), then runs by start
// time (newest first) and ID.
func (s *TrackingStore) SearchRuns(ctx context.Context, q tracking.RunSearch) ([]string, error) {
	exps := uniq(q.ExperimentIDs)
	if len(exps) == 0 {
		return []string{}, nil
	}
	b := newSearch(s.DB)
	seen := map[string]bool{}
	for _, o := range q.OrderBy {
		if err := checkOrder(seen, o); err != nil {
			return nil, err
		}
		switch o.Type {
		case search.Attribute:
			col, ok := runColumns[o.Key]
			if !ok {
				return nil, orderError("invalid order_by attribute %q", o.Key)
			}
			b.orderColumn(col, o.Asc)
		case search.Metric:
			a := b.alias()
			b.join("LEFT JOIN tracking_latest_metrics "+a+" ON "+a+".run_id = r.id AND "+a+".key = ?", o.Key)
			b.orderBy("CASE WHEN " + a + ".is_nan THEN 1 WHEN " + a + ".value IS NULL THEN 2 ELSE 0 END")
			b.orderBy(a + ".value" + direction(o.Asc))
		case search.Param, search.Tag:
			table := "tracking_params"
			if o.Type == search.Tag {
				table = "tracking_run_tags"
			}
			a := b.alias()
			b.join("LEFT JOIN "+table+" "+a+" ON "+a+".run_id = r.id AND "+a+".key = ?", o.Key)
			b.orderColumn(column{sql: a + ".value", nullable: true}, o.Asc)
		default:
			return nil, orderError("runs cannot be ordered by %s", o.Type)
		}
	}
	if !seen["attribute.start_time"] {
		b.orderBy("r.start_time DESC")
	}
	b.orderBy("r.id")

	b.where("r.project_id = ?", q.ProjectID)
	b.where("r.experiment_id IN ("+marks(len(exps))+")", anys(exps)...)
	if err := stageFilter(b, "r.lifecycle_stage", q.ViewType); err != nil {
		return nil, err
	}
	for _, c := range q.Filter {
		var err error
		switch c.Type {
		case search.Attribute:
			err = b.attribute(runColumns, c)
		case search.Metric:
			err = b.keyed("tracking_latest_metrics", "k.run_id = r.id", floatCol, true, c)
		case search.Param:
			err = b.keyed("tracking_params", "k.run_id = r.id", textCol, false, c)
		case search.Tag:
			err = b.keyed("tracking_run_tags", "k.run_id = r.id", textCol, false, c)
		case search.Dataset:
			err = b.datasetFilter(c)
		default:
			err = filterError("invalid search expression type %q", c.Type)
		}
		if err != nil {
			return nil, err
		}
	}
	stmt, args := b.statement("SELECT r.id FROM tracking_runs r", pageSize(q.Max, tracking.DefaultSearchResults), q.Offset)
	rows, err := queryVar(ctx, s.DB, stmt, args...)
	if err != nil {
		return nil, s.DB.translate(err, "runs")
	}
	ids, err := collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, s.DB, "runs")
	return orEmpty(ids), err
}

// datasetFilter matches runs with an input whose dataset matches, as
// MLflow joins them.
func (b *sqlSearch) datasetFilter(c search.Comparison) error {
	var expr string
	switch c.Key {
	case "name":
		expr = "d.name"
	case "digest":
		expr = "d.digest"
	case "context":
		expr = b.inputContext()
	default:
		return filterError("invalid dataset key %q (valid keys are name, digest, context)", c.Key)
	}
	p, args, err := b.compare(expr, textCol, c)
	if err != nil {
		return err
	}
	b.where("EXISTS (SELECT 1 FROM tracking_inputs i JOIN tracking_datasets d ON d.id = i.dataset_id WHERE i.run_id = r.id AND "+p+")",
		args...)
	return nil
}

// Experiments.

var experimentColumns = map[string]column{
	"name":             {sql: "e.name"},
	"experiment_id":    {sql: "e.id"},
	"creation_time":    {sql: "e.creation_time", kind: intCol},
	"last_update_time": {sql: "e.last_update_time", kind: intCol},
}

// SearchExperiments implements tracking.Store. The default order is
// MLflow's: newest first, then by ID.
func (s *TrackingStore) SearchExperiments(ctx context.Context, q tracking.ExperimentSearch) ([]*tracking.Experiment, error) {
	b := newSearch(s.DB)
	order := q.OrderBy
	if len(order) == 0 {
		order = []search.OrderBy{{Type: search.Attribute, Key: "creation_time"}, {Type: search.Attribute, Key: "experiment_id", Asc: true}}
	}
	seen := map[string]bool{}
	for _, o := range order {
		col, ok := experimentColumns[o.Key]
		if o.Type != search.Attribute || !ok {
			return nil, orderError("invalid order_by key %s.%s for experiments", o.Type, o.Key)
		}
		if err := checkOrder(seen, o); err != nil {
			return nil, err
		}
		b.orderColumn(col, o.Asc)
	}
	if !seen["attribute.experiment_id"] {
		b.orderBy("e.id DESC")
	}
	b.where("e.project_id = ?", q.ProjectID)
	if err := stageFilter(b, "e.lifecycle_stage", q.ViewType); err != nil {
		return nil, err
	}
	for _, c := range q.Filter {
		var err error
		switch c.Type {
		case search.Attribute:
			err = b.attribute(experimentColumns, c)
		case search.Tag:
			err = b.keyed("tracking_experiment_tags", "k.experiment_id = e.id", textCol, false, c)
		default:
			err = filterError("invalid search expression type %q for experiments", c.Type)
		}
		if err != nil {
			return nil, err
		}
	}
	stmt, args := b.statement("SELECT "+experimentCols+experimentFrom, pageSize(q.Max, tracking.DefaultSearchResults), q.Offset)
	rows, err := queryVar(ctx, s.DB, stmt, args...)
	if err != nil {
		return nil, s.DB.translate(err, "experiments")
	}
	es, err := collect(rows, scanExperiment, s.DB, "experiments")
	if err != nil {
		return nil, err
	}
	return orEmpty(es), s.fillExperiments(ctx, es)
}

// Logged models.

var loggedModelColumns = map[string]column{
	"name":                   {sql: "m.name"},
	"model_id":               {sql: "m.id"},
	"model_type":             {sql: "m.model_type"},
	"status":                 {sql: "m.status"},
	"source_run_id":          {sql: "m.source_run_id"},
	"experiment_id":          {sql: "m.experiment_id"},
	"creation_timestamp":     {sql: "m.creation_time", kind: intCol},
	"creation_time":          {sql: "m.creation_time", kind: intCol},
	"last_updated_timestamp": {sql: "m.last_updated_time", kind: intCol},
	"last_updated_time":      {sql: "m.last_updated_time", kind: intCol},
}

// defaultLoggedModels is MLflow's default page of logged models.
const defaultLoggedModels = 100

// SearchLoggedModels implements tracking.Store: the project's models of
// the experiments that are not deleted. A metric filter matches any value
// logged with the model; a metric ordering uses its latest value (by
// timestamp, then step), as MLflow's store does.
func (s *TrackingStore) SearchLoggedModels(ctx context.Context, q tracking.LoggedModelSearch) ([]*tracking.LoggedModel, error) {
	if err := s.flushFirst(ctx); err != nil {
		return nil, err
	}
	exps := uniq(q.ExperimentIDs)
	if len(exps) == 0 {
		return []*tracking.LoggedModel{}, nil
	}
	b := newSearch(s.DB)
	seen := map[string]bool{}
	for _, o := range q.OrderBy {
		if err := checkOrder(seen, o); err != nil {
			return nil, err
		}
		switch o.Type {
		case search.Attribute:
			col, ok := loggedModelColumns[o.Key]
			if !ok {
				return nil, orderError("invalid order_by attribute %q for logged models", o.Key)
			}
			seen["attribute."+strings.TrimPrefix(col.sql, "m.")] = true
			b.orderColumn(col, o.Asc)
		case search.Metric:
			latest := `(SELECT CASE WHEN mm.is_nan THEN NULL ELSE mm.value END FROM tracking_metrics mm
				WHERE mm.model_id = m.id AND mm.model_id <> '' AND mm.key = ? ORDER BY mm.ts DESC, mm.step DESC, mm.run_id LIMIT 1)`
			b.orderBy("CASE WHEN "+latest+" IS NULL THEN 1 ELSE 0 END", o.Key)
			b.orderBy(latest+direction(o.Asc), o.Key)
		default:
			return nil, orderError("logged models cannot be ordered by %s", o.Type)
		}
	}
	if !seen["attribute.creation_time"] {
		b.orderBy("m.creation_time DESC")
	}
	if !seen["attribute.id"] {
		b.orderBy("m.id")
	}
	b.where("m.project_id = ?", q.ProjectID)
	b.where("m.experiment_id IN ("+marks(len(exps))+")", anys(exps)...)
	b.where("m.lifecycle_stage <> ?", tracking.Deleted)
	for _, c := range q.Filter {
		var err error
		switch c.Type {
		case search.Attribute:
			err = b.attribute(loggedModelColumns, c)
		case search.Metric:
			if c.Op == "IS NULL" || c.Op == "IS NOT NULL" {
				return nil, filterError("operator %s does not apply to metrics of logged models", c.Op)
			}
			// model_id <> '' lets the engines use the partial index on model_id.
			err = b.keyed("tracking_metrics", "k.model_id = m.id AND k.model_id <> ''", floatCol, true, c)
		case search.Param:
			err = b.keyed("tracking_logged_model_params", "k.model_id = m.id", textCol, false, c)
		case search.Tag:
			err = b.keyed("tracking_logged_model_tags", "k.model_id = m.id", textCol, false, c)
		default:
			err = filterError("invalid search expression type %q for logged models", c.Type)
		}
		if err != nil {
			return nil, err
		}
	}
	stmt, args := b.statement("SELECT "+prefixed("m", loggedModelCols)+" FROM tracking_logged_models m",
		pageSize(q.Max, defaultLoggedModels), q.Offset)
	rows, err := queryVar(ctx, s.DB, stmt, args...)
	if err != nil {
		return nil, s.DB.translate(err, "logged models")
	}
	ms, err := collect(rows, scanLoggedModel, s.DB, "logged models")
	if err != nil {
		return nil, err
	}
	return orEmpty(ms), s.fillLoggedModels(ctx, ms)
}

// prefixed qualifies a list of columns with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
