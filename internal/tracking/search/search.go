// Package search parses MLflow's search grammar: the filter strings and
// order_by clauses of search-runs, search-experiments,
// search-registered-models, search-model-versions and search-logged-models,
// as the mlflow client sends them. The result is a small AST the stores
// compile to SQL with bound parameters; no filter text ever reaches SQL.
package search

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Entity is what a search looks for: each accepts its own keys and
// comparators, as MLflow's SearchUtils classes define them.
type Entity int

// The searchable entities.
const (
	Runs Entity = iota
	Experiments
	RegisteredModels
	ModelVersions
	LoggedModels
)

// KeyType is the kind of key a comparison or an ordering names.
type KeyType string

// The key types.
const (
	Metric    KeyType = "metric"
	Param     KeyType = "param"
	Tag       KeyType = "tag"
	Attribute KeyType = "attribute"
	Dataset   KeyType = "dataset"
)

// Comparison is one clause of a filter: Type.Key Op Value.
type Comparison struct {
	Type KeyType
	// Key is the metric, parameter or tag name, or the canonical attribute
	// name (MLflow's aliases resolved: "run name" → "run_name", "created" →
	// "start_time"...; the names are listed at specs), or for datasets one
	// of "name", "digest", "context".
	Key string
	// Op is one of "=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN",
	// "NOT IN", "IS NULL", "IS NOT NULL" (upper case).
	Op string
	// Value is a float64 for numeric comparisons, a string for string
	// ones, a []string for IN and NOT IN, nil for IS [NOT] NULL.
	Value any
}

// Filter is a conjunction of comparisons (MLflow's grammar has only AND).
type Filter []Comparison

// OrderBy is one order_by clause.
type OrderBy struct {
	Type KeyType
	// Key is the metric, parameter or tag name, or the canonical attribute
	// name.
	Key string
	Asc bool
}

// String names the entity as messages do: "runs", "model versions"...
func (e Entity) String() string {
	if sp, ok := specs[e]; ok {
		return sp.name
	}
	return "Entity(" + strconv.Itoa(int(e)) + ")"
}

// String renders f in the filter grammar, comparisons joined by AND; Parse
// reads it back to an equal Filter.
func (f Filter) String() string {
	parts := make([]string, len(f))
	for i, c := range f {
		parts[i] = c.String()
	}
	return strings.Join(parts, " AND ")
}

// String renders c in the filter grammar. Keys are written bare where they
// can be, else quoted; strings are quoted with whichever quote they can
// hold, and IN lists are written as Python literals, as MLflow reads them.
func (c Comparison) String() string {
	s := renderKey(c.Type, c.Key) + " " + c.Op
	switch v := c.Value.(type) {
	case float64:
		s += " " + renderNumber(v)
	case string:
		s += " " + renderQuoted(v, "'\"")
	case []string:
		items := make([]string, len(v))
		for i, x := range v {
			items[i] = pyQuote(x)
		}
		s += " (" + strings.Join(items, ", ") + ")"
	}
	return s
}

// String renders o as an order_by clause.
func (o OrderBy) String() string {
	if o.Asc {
		return renderKey(o.Type, o.Key) + " ASC"
	}
	return renderKey(o.Type, o.Key) + " DESC"
}

// renderPrefixes are prefixes every entity that has the key type accepts.
var renderPrefixes = map[KeyType]string{Metric: "metrics.", Param: "params.", Tag: "tags.", Dataset: "datasets."}

// renderKey writes a key bare when the scanner reads it back as written,
// else quoted. Attributes go bare, or with the prefix "attribute" (which
// every entity accepts) when quoted.
func renderKey(t KeyType, key string) string {
	if t == Attribute {
		if isBareWord(key) {
			switch strings.ToUpper(key) {
			case "AND", "OR", "NOT":
			default:
				return key
			}
		}
		return "attribute." + renderQuoted(key, "`\"'")
	}
	if bare := strings.Split(key, "."); !slices.ContainsFunc(bare, func(w string) bool { return !isBareWord(w) }) {
		return renderPrefixes[t] + key
	}
	return renderPrefixes[t] + renderQuoted(key, "`\"'")
}

func isBareWord(s string) bool {
	for i, r := range s {
		if !isWord(r, i == 0) {
			return false
		}
	}
	return s != ""
}

// renderQuoted quotes s with the first of quotes it can be read back from:
// quoted text is verbatim, so s must not hold a lone one of that quote.
func renderQuoted(s, quotes string) string {
	for _, q := range []byte(quotes) {
		if evenRuns(s, q) {
			return string(q) + s + string(q)
		}
	}
	// Unreachable for parsed input, which came in one of the quotes.
	return string(quotes[0]) + s + string(quotes[0])
}

// evenRuns reports whether every run of q in s has an even length, so that
// the scanner reads each pair as text rather than as the closing quote.
func evenRuns(s string, q byte) bool {
	n := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] == q {
			n++
			continue
		}
		if n%2 != 0 {
			return false
		}
		n = 0
	}
	return true
}

// renderNumber writes v so that the scanner reads it back: digits for
// whole numbers, else Go's shortest form with the exponent's '+' dropped
// (sqlparse reads 1e+5 as no number).
func renderNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strings.Replace(strconv.FormatFloat(v, 'g', -1, 64), "e+", "e", 1)
}

// pyQuote writes s as a single-quoted Python string literal.
func pyQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(r)|0x100, 16)[1:])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// opSet is a set of comparison operators.
type opSet uint16

// The operators, one bit each, in the order of opNames.
const (
	opEq opSet = 1 << iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opLike
	opILike
	opIn
	opNotIn
	opIsNull
	opIsNotNull

	numericOps = opEq | opNe | opLt | opLe | opGt | opGe
	matchOps   = opEq | opNe | opLike | opILike
	listOps    = opIn | opNotIn
	nullOps    = opIsNull | opIsNotNull
	idOps      = opEq | opNe | listOps
)

// opNames are the operators as Comparison.Op holds them.
var opNames = []string{"=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"}

func opBit(op string) opSet {
	for i, n := range opNames {
		if n == op {
			return 1 << i
		}
	}
	return 0
}

func (o opSet) String() string {
	var names []string
	for i, n := range opNames {
		if o&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

type valueKind int

const (
	stringValue  valueKind = iota
	numberValue            // any finite number
	integerValue           // a whole number: MLflow's SQL stores refuse fractions here
)

// fieldSpec is what one key accepts.
type fieldSpec struct {
	kind valueKind
	ops  opSet
	// quotedInt also accepts a whole number in quotes ('3'), which
	// MLflow's store converts with int().
	quotedInt bool
}

var (
	str     = fieldSpec{kind: stringValue, ops: matchOps}
	strList = fieldSpec{kind: stringValue, ops: matchOps | listOps}
	num     = fieldSpec{kind: numberValue, ops: numericOps}
	whole   = fieldSpec{kind: integerValue, ops: numericOps}
	strNull = fieldSpec{kind: stringValue, ops: matchOps | nullOps}
)

// attr is an attribute as a filter names it: its canonical name and what it accepts.
type attr struct {
	name string
	fieldSpec
}

// entitySpec is what one entity's filters and order_by accept, after
// MLflow's SearchUtils class for it and the SQL store that runs the search.
type entitySpec struct {
	name string
	// prefixes maps each accepted key-type prefix to its type.
	prefixes   map[string]KeyType
	prefixHint string
	// attrs maps filter attribute names and their aliases.
	attrs     map[string]attr
	attrNames []string
	// keyed says what metrics, params and tags accept, whatever their name.
	keyed map[KeyType]fieldSpec
	// orderAttrs maps order_by attribute names and aliases to canonical names.
	orderAttrs map[string]string
	orderNames []string
	// orderTypes are the key types besides attributes order_by accepts.
	orderTypes  map[KeyType]bool
	orderHint   string
	uniqueOrder bool
}

var datasetFields = map[string]fieldSpec{"name": strList, "digest": strList, "context": strList}

var (
	runPrefixes = map[string]KeyType{
		"metric": Metric, "metrics": Metric,
		"param": Param, "params": Param, "parameter": Param, "parameters": Param,
		"tag": Tag, "tags": Tag,
		"attribute": Attribute, "attributes": Attribute, "attr": Attribute, "run": Attribute,
		"dataset": Dataset, "datasets": Dataset,
	}
	loggedModelPrefixes = map[string]KeyType{
		"metric": Metric, "metrics": Metric,
		"param": Param, "params": Param, "parameter": Param, "parameters": Param,
		"tag": Tag, "tags": Tag,
		"attribute": Attribute, "attributes": Attribute, "attr": Attribute, "run": Attribute,
	}
	registryPrefixes = map[string]KeyType{"attribute": Attribute, "tag": Tag, "tags": Tag}
)

// specs holds each entity's table. The canonical attribute names, which
// Comparison.Key and OrderBy.Key hold for attributes, are:
//
//	Runs:             run_id, run_name, status, user_id, artifact_uri (strings);
//	                  start_time, end_time (numbers). Aliases: "created",
//	                  "Created" → start_time; "run name", "Run name",
//	                  "Run Name" → run_name (filters only). Datasets: name,
//	                  digest, context.
//	Experiments:      name, experiment_id (strings); creation_time,
//	                  last_update_time (whole numbers).
//	RegisteredModels: name; order_by also creation_timestamp and
//	                  last_updated_timestamp ("timestamp" → last_updated_timestamp).
//	ModelVersions:    name, run_id, source_path (strings); version_number
//	                  (whole number); order_by name, version_number,
//	                  creation_timestamp, last_updated_timestamp.
//	LoggedModels:     name, model_id, model_type, status, source_run_id
//	                  (strings); creation_timestamp, last_updated_timestamp
//	                  (numbers; aliases creation_time, last_updated_time).
var specs = map[Entity]*entitySpec{
	Runs: {
		name:       "runs",
		prefixes:   runPrefixes,
		prefixHint: "metrics, params, tags, attributes, datasets",
		attrs: map[string]attr{
			"run_id":   {"run_id", strList},
			"run_name": {"run_name", str}, "run name": {"run_name", str}, "Run name": {"run_name", str}, "Run Name": {"run_name", str},
			"status": {"status", str}, "user_id": {"user_id", str}, "artifact_uri": {"artifact_uri", str},
			"start_time": {"start_time", num}, "created": {"start_time", num}, "Created": {"start_time", num},
			"end_time": {"end_time", num},
		},
		keyed: map[KeyType]fieldSpec{
			Metric: num,
			Param:  strNull,
			Tag:    strNull,
		},
		orderAttrs: map[string]string{
			"run_id": "run_id", "run_name": "run_name", "status": "status", "user_id": "user_id", "artifact_uri": "artifact_uri",
			"start_time": "start_time", "created": "start_time", "Created": "start_time", "end_time": "end_time",
		},
		orderTypes:  map[KeyType]bool{Metric: true, Param: true, Tag: true},
		orderHint:   "an attribute, a metric, a param or a tag",
		uniqueOrder: true,
	},
	Experiments: {
		name:       "experiments",
		prefixes:   registryPrefixes,
		prefixHint: "attribute, tag, tags",
		attrs: map[string]attr{
			"name":             {"name", str},
			"experiment_id":    {"experiment_id", fieldSpec{kind: stringValue, ops: idOps}},
			"creation_time":    {"creation_time", whole},
			"last_update_time": {"last_update_time", whole},
		},
		keyed: map[KeyType]fieldSpec{Tag: strNull},
		orderAttrs: map[string]string{
			"name": "name", "experiment_id": "experiment_id", "creation_time": "creation_time", "last_update_time": "last_update_time",
		},
		orderHint: "an attribute",
	},
	RegisteredModels: {
		name:       "registered models",
		prefixes:   registryPrefixes,
		prefixHint: "attribute, tag, tags",
		attrs:      map[string]attr{"name": {"name", strList}},
		keyed:      map[KeyType]fieldSpec{Tag: str},
		orderAttrs: map[string]string{
			"name": "name", "creation_timestamp": "creation_timestamp",
			"last_updated_timestamp": "last_updated_timestamp", "timestamp": "last_updated_timestamp",
		},
		orderHint:   "an attribute",
		uniqueOrder: true,
	},
	ModelVersions: {
		name:       "model versions",
		prefixes:   registryPrefixes,
		prefixHint: "attribute, tag, tags",
		attrs: map[string]attr{
			"name": {"name", strList}, "run_id": {"run_id", strList}, "source_path": {"source_path", str},
			"version_number": {"version_number", fieldSpec{kind: integerValue, ops: numericOps, quotedInt: true}},
		},
		keyed: map[KeyType]fieldSpec{Tag: str},
		orderAttrs: map[string]string{
			"name": "name", "version_number": "version_number",
			"creation_timestamp": "creation_timestamp", "last_updated_timestamp": "last_updated_timestamp",
		},
		orderHint:   "an attribute",
		uniqueOrder: true,
	},
	LoggedModels: {
		name:       "logged models",
		prefixes:   loggedModelPrefixes,
		prefixHint: "metrics, params, tags, attributes",
		attrs: map[string]attr{
			"name": {"name", strList}, "model_id": {"model_id", strList}, "model_type": {"model_type", strList},
			"status": {"status", strList}, "source_run_id": {"source_run_id", strList},
			"creation_timestamp": {"creation_timestamp", num}, "creation_time": {"creation_timestamp", num},
			"last_updated_timestamp": {"last_updated_timestamp", num}, "last_updated_time": {"last_updated_timestamp", num},
		},
		keyed: map[KeyType]fieldSpec{Metric: num, Param: str, Tag: str},
		orderAttrs: map[string]string{
			"name": "name", "model_id": "model_id", "model_type": "model_type", "status": "status", "source_run_id": "source_run_id",
			"creation_timestamp": "creation_timestamp", "creation_time": "creation_timestamp",
			"last_updated_timestamp": "last_updated_timestamp", "last_updated_time": "last_updated_timestamp",
		},
		orderTypes: map[KeyType]bool{Metric: true},
		orderHint:  "an attribute or a metric",
	},
}

func init() {
	for _, sp := range specs {
		sp.attrNames = canonicalNames(sp.attrs)
		seen := map[string]bool{}
		for _, n := range sp.orderAttrs {
			if !seen[n] {
				seen[n] = true
				sp.orderNames = append(sp.orderNames, n)
			}
		}
		slices.Sort(sp.orderNames)
	}
}

func canonicalNames(attrs map[string]attr) []string {
	var names []string
	for _, a := range attrs {
		if !slices.Contains(names, a.name) {
			names = append(names, a.name)
		}
	}
	slices.Sort(names)
	return names
}
