package search

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
)

func cmp(t KeyType, key, op string, v any) Comparison {
	return Comparison{Type: t, Key: key, Op: op, Value: v}
}

// acceptedFilters are filters MLflow accepts, with the AST they parse to.
var acceptedFilters = []struct {
	e      Entity
	filter string
	want   Filter
}{
	// Empty filters are no filter.
	{Runs, "", nil},
	{Runs, "  \t\n ", nil},

	// Runs: key types and their aliases.
	{Runs, "metrics.acc > 0.9", Filter{cmp(Metric, "acc", ">", 0.9)}},
	{Runs, "metric.acc >= 1", Filter{cmp(Metric, "acc", ">=", 1.0)}},
	{Runs, "params.lr = '0.01'", Filter{cmp(Param, "lr", "=", "0.01")}},
	{Runs, "param.lr != '0.01'", Filter{cmp(Param, "lr", "!=", "0.01")}},
	{Runs, "parameter.lr LIKE '0.%'", Filter{cmp(Param, "lr", "LIKE", "0.%")}},
	{Runs, "parameters.lr ILIKE '0.%'", Filter{cmp(Param, "lr", "ILIKE", "0.%")}},
	{Runs, `tags.team = "ml"`, Filter{cmp(Tag, "team", "=", "ml")}},
	{Runs, "tag.team = 'ml'", Filter{cmp(Tag, "team", "=", "ml")}},
	{Runs, "attributes.status = 'RUNNING'", Filter{cmp(Attribute, "status", "=", "RUNNING")}},
	{Runs, "attribute.status = 'RUNNING'", Filter{cmp(Attribute, "status", "=", "RUNNING")}},
	{Runs, "attr.user_id = 'ada'", Filter{cmp(Attribute, "user_id", "=", "ada")}},
	{Runs, "run.artifact_uri LIKE 's3://%'", Filter{cmp(Attribute, "artifact_uri", "LIKE", "s3://%")}},
	{Runs, "status != 'FAILED'", Filter{cmp(Attribute, "status", "!=", "FAILED")}},
	{Runs, "datasets.name IN ('d1', 'd2')", Filter{cmp(Dataset, "name", "IN", []string{"d1", "d2"})}},
	{Runs, "dataset.digest = 'abc'", Filter{cmp(Dataset, "digest", "=", "abc")}},
	{Runs, "datasets.context LIKE 'train%'", Filter{cmp(Dataset, "context", "LIKE", "train%")}},
	{Runs, "datasets.context NOT IN ('eval')", Filter{cmp(Dataset, "context", "NOT IN", []string{"eval"})}},

	// Runs: attribute aliases resolve to canonical names.
	{Runs, "run_name = 'x'", Filter{cmp(Attribute, "run_name", "=", "x")}},
	{Runs, "`run name` = 'x'", Filter{cmp(Attribute, "run_name", "=", "x")}},
	{Runs, `"Run Name" = 'x'`, Filter{cmp(Attribute, "run_name", "=", "x")}},
	{Runs, "attributes.`Run name` = 'x'", Filter{cmp(Attribute, "run_name", "=", "x")}},
	{Runs, "created > 5", Filter{cmp(Attribute, "start_time", ">", 5.0)}},
	{Runs, "Created < 5", Filter{cmp(Attribute, "start_time", "<", 5.0)}},
	{Runs, "start_time >= 1700000000000", Filter{cmp(Attribute, "start_time", ">=", 1700000000000.0)}},
	{Runs, "end_time <= 1.5", Filter{cmp(Attribute, "end_time", "<=", 1.5)}},

	// IN lists hold Python string literals.
	{Runs, "run_id IN ('a','b')", Filter{cmp(Attribute, "run_id", "IN", []string{"a", "b"})}},
	{Runs, "run_id not in ('a')", Filter{cmp(Attribute, "run_id", "NOT IN", []string{"a"})}},
	{Runs, `run_id in ("a",)`, Filter{cmp(Attribute, "run_id", "IN", []string{"a"})}},
	{Runs, `run_id IN ( 'a\'b' , "c'd" , 'e' "f" )`, Filter{cmp(Attribute, "run_id", "IN", []string{"a'b", "c'd", "ef"})}},
	{Runs, `run_id IN ('\x41\n\t\\', '\u00e9\101\q')`, Filter{cmp(Attribute, "run_id", "IN", []string{"A\n\t\\", "éA\\q"})}},
	{Runs, "run_id IN ('a''b')", Filter{cmp(Attribute, "run_id", "IN", []string{"ab"})}},
	{Runs, "run_id IN ('\\a\\b\\f\\v\\r\\x7f', 'x\\\ny', 'p\\\r\nq')", Filter{cmp(Attribute, "run_id", "IN", []string{"\a\b\f\v\r\x7f", "xy", "pq"})}},

	// IS NULL and IS NOT NULL, for params and tags.
	{Runs, "params.a IS NULL", Filter{cmp(Param, "a", "IS NULL", nil)}},
	{Runs, "tags.b is not null", Filter{cmp(Tag, "b", "IS NOT NULL", nil)}},
	{Runs, "tags.b Is\tNoT\n nUlL", Filter{cmp(Tag, "b", "IS NOT NULL", nil)}},

	// Quoting of keys: backquotes, double and single quotes, dotted words.
	{Runs, "metrics.`my key` > 1", Filter{cmp(Metric, "my key", ">", 1.0)}},
	{Runs, `metrics."my key" > 1`, Filter{cmp(Metric, "my key", ">", 1.0)}},
	{Runs, "metrics.'my key' > 1", Filter{cmp(Metric, "my key", ">", 1.0)}},
	{Runs, "metrics.`val.loss` < 0.2", Filter{cmp(Metric, "val.loss", "<", 0.2)}},
	{Runs, "metrics.val.loss < 0.2", Filter{cmp(Metric, "val.loss", "<", 0.2)}},
	{Runs, "tags.mlflow.runName = 'x'", Filter{cmp(Tag, "mlflow.runName", "=", "x")}},
	{Runs, "`metrics`.acc > 1", Filter{cmp(Metric, "acc", ">", 1.0)}},
	{Runs, "metrics.1acc$x#y > 1", Filter{cmp(Metric, "1acc$x#y", ">", 1.0)}},
	{Runs, "tags.`a``b` = 'x'", Filter{cmp(Tag, "a``b", "=", "x")}}, // verbatim, as MLflow
	{Runs, "tags.`naïve` = 'x'", Filter{cmp(Tag, "naïve", "=", "x")}},
	{Runs, "tags.naïve = 'x'", Filter{cmp(Tag, "naïve", "=", "x")}},

	// Quoting of values: verbatim between the quotes, as MLflow.
	{Runs, "params.a = 'it''s'", Filter{cmp(Param, "a", "=", "it''s")}},
	{Runs, `params.a = "it's"`, Filter{cmp(Param, "a", "=", "it's")}},
	{Runs, `params.a = 'say "hi"'`, Filter{cmp(Param, "a", "=", `say "hi"`)}},
	{Runs, `params.a = 'C:\dir\'`, Filter{cmp(Param, "a", "=", `C:\dir\`)}},
	{Runs, `params.a = 'C:\dir\' AND params.b = 'y'`, Filter{cmp(Param, "a", "=", `C:\dir\`), cmp(Param, "b", "=", "y")}},
	{Runs, "params.a = ''", Filter{cmp(Param, "a", "=", "")}},
	{Runs, "params.a = 'two\nlines'", Filter{cmp(Param, "a", "=", "two\nlines")}},
	{Runs, "params.a = 'AND metrics.b > 1'", Filter{cmp(Param, "a", "=", "AND metrics.b > 1")}},

	// Numbers.
	{Runs, "metrics.a > -1", Filter{cmp(Metric, "a", ">", -1.0)}},
	{Runs, "metrics.a > 1e5", Filter{cmp(Metric, "a", ">", 1e5)}},
	{Runs, "metrics.a > 1E-5", Filter{cmp(Metric, "a", ">", 1e-5)}},
	{Runs, "metrics.a > -2.5e10", Filter{cmp(Metric, "a", ">", -2.5e10)}},
	{Runs, "metrics.a > .5", Filter{cmp(Metric, "a", ">", 0.5)}},
	{Runs, "metrics.a > -.5", Filter{cmp(Metric, "a", ">", -0.5)}},
	{Runs, "metrics.a > 1.", Filter{cmp(Metric, "a", ">", 1.0)}},
	{Runs, "metrics.a > 007", Filter{cmp(Metric, "a", ">", 7.0)}},
	{Runs, "metrics.a = 0", Filter{cmp(Metric, "a", "=", 0.0)}},

	// AND, LIKE, IN... are case-insensitive; spacing is free.
	{Runs, "params.a = 'x' and metrics.b > 1", Filter{cmp(Param, "a", "=", "x"), cmp(Metric, "b", ">", 1.0)}},
	{Runs, "params.a like 'x' AnD params.b iLiKe 'y' aND run_id In ('z')",
		Filter{cmp(Param, "a", "LIKE", "x"), cmp(Param, "b", "ILIKE", "y"), cmp(Attribute, "run_id", "IN", []string{"z"})}},
	{Runs, "metrics.a>1 and metrics.b<2", Filter{cmp(Metric, "a", ">", 1.0), cmp(Metric, "b", "<", 2.0)}},
	{Runs, "params.a='x'AND params.b='y'", Filter{cmp(Param, "a", "=", "x"), cmp(Param, "b", "=", "y")}},
	{Runs, "\n\tparams.a\t=\t'x'\n", Filter{cmp(Param, "a", "=", "x")}},
	{Runs, "run_id IN('a')AND params.b='y'", Filter{cmp(Attribute, "run_id", "IN", []string{"a"}), cmp(Param, "b", "=", "y")}},

	// Identifiers are data: quotes and SQL in them are kept verbatim.
	{Runs, "tags.`a'--` = 'b'", Filter{cmp(Tag, "a'--", "=", "b")}},
	{Runs, "params.a = 'x''; DROP TABLE runs; --'", Filter{cmp(Param, "a", "=", "x''; DROP TABLE runs; --")}},
	{Runs, "tags.`x\" OR 1=1 --` = '1'", Filter{cmp(Tag, `x" OR 1=1 --`, "=", "1")}},
	{Runs, `run_id IN ('a'') OR 1=1 --')`, Filter{cmp(Attribute, "run_id", "IN", []string{"a) OR 1=1 --"})}},

	// Experiments.
	{Experiments, "name = 'x'", Filter{cmp(Attribute, "name", "=", "x")}},
	{Experiments, "attribute.name LIKE 'x%'", Filter{cmp(Attribute, "name", "LIKE", "x%")}},
	{Experiments, "name ILIKE '%X%'", Filter{cmp(Attribute, "name", "ILIKE", "%X%")}},
	{Experiments, "experiment_id IN ('1', '2')", Filter{cmp(Attribute, "experiment_id", "IN", []string{"1", "2"})}},
	{Experiments, "experiment_id != '3'", Filter{cmp(Attribute, "experiment_id", "!=", "3")}},
	{Experiments, "creation_time > 5", Filter{cmp(Attribute, "creation_time", ">", 5.0)}},
	{Experiments, "last_update_time <= 1e3", Filter{cmp(Attribute, "last_update_time", "<=", 1000.0)}},
	{Experiments, "tags.a IS NULL", Filter{cmp(Tag, "a", "IS NULL", nil)}},
	{Experiments, "tag.a = 'x' AND tags.b IS NOT NULL", Filter{cmp(Tag, "a", "=", "x"), cmp(Tag, "b", "IS NOT NULL", nil)}},

	// Registered models.
	{RegisteredModels, "name = 'm'", Filter{cmp(Attribute, "name", "=", "m")}},
	{RegisteredModels, "attribute.name != 'm'", Filter{cmp(Attribute, "name", "!=", "m")}},
	{RegisteredModels, "name IN ('a', 'b')", Filter{cmp(Attribute, "name", "IN", []string{"a", "b"})}},
	{RegisteredModels, "name NOT IN ('a')", Filter{cmp(Attribute, "name", "NOT IN", []string{"a"})}},
	{RegisteredModels, "tags.`mlflow.prompt.is_prompt` != 'true'", Filter{cmp(Tag, "mlflow.prompt.is_prompt", "!=", "true")}},
	{RegisteredModels, "tags.a ILIKE 'x' AND name LIKE 'm%'", Filter{cmp(Tag, "a", "ILIKE", "x"), cmp(Attribute, "name", "LIKE", "m%")}},

	// Model versions.
	{ModelVersions, "name = 'm' AND version_number = 3", Filter{cmp(Attribute, "name", "=", "m"), cmp(Attribute, "version_number", "=", 3.0)}},
	{ModelVersions, "version_number = '3'", Filter{cmp(Attribute, "version_number", "=", 3.0)}},
	{ModelVersions, "version_number >= 2", Filter{cmp(Attribute, "version_number", ">=", 2.0)}},
	{ModelVersions, "run_id IN ('r1', 'r2')", Filter{cmp(Attribute, "run_id", "IN", []string{"r1", "r2"})}},
	{ModelVersions, "name NOT IN ('m')", Filter{cmp(Attribute, "name", "NOT IN", []string{"m"})}},
	{ModelVersions, "source_path LIKE 's3://%'", Filter{cmp(Attribute, "source_path", "LIKE", "s3://%")}},
	{ModelVersions, "tags.a = 'b'", Filter{cmp(Tag, "a", "=", "b")}},

	// Logged models.
	{LoggedModels, "metrics.acc > 0.5", Filter{cmp(Metric, "acc", ">", 0.5)}},
	{LoggedModels, "params.a = 'x' AND tags.t LIKE 'y%'", Filter{cmp(Param, "a", "=", "x"), cmp(Tag, "t", "LIKE", "y%")}},
	{LoggedModels, "creation_time > 1", Filter{cmp(Attribute, "creation_timestamp", ">", 1.0)}},
	{LoggedModels, "attributes.last_updated_time < 2", Filter{cmp(Attribute, "last_updated_timestamp", "<", 2.0)}},
	{LoggedModels, "last_updated_timestamp != 2", Filter{cmp(Attribute, "last_updated_timestamp", "!=", 2.0)}},
	{LoggedModels, "status IN ('READY')", Filter{cmp(Attribute, "status", "IN", []string{"READY"})}},
	{LoggedModels, "model_type = 'agent' AND source_run_id = 'r' AND model_id NOT IN ('m')",
		Filter{cmp(Attribute, "model_type", "=", "agent"), cmp(Attribute, "source_run_id", "=", "r"), cmp(Attribute, "model_id", "NOT IN", []string{"m"})}},
	{LoggedModels, "name ILIKE 'x'", Filter{cmp(Attribute, "name", "ILIKE", "x")}},
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range acceptedFilters {
		got, err := Parse(tc.e, tc.filter)
		if err != nil {
			t.Errorf("Parse(%v, %q): %v", tc.e, tc.filter, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%v, %q)\n got %#v\nwant %#v", tc.e, tc.filter, got, tc.want)
			continue
		}
		// What String renders parses back to the same filter.
		back, err := Parse(tc.e, got.String())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("round trip of %q through %q: %#v, %v", tc.filter, got.String(), back, err)
		}
	}
}

// rejectedFilters are filters that must fail, with a part of the message.
var rejectedFilters = []struct {
	e      Entity
	filter string
	want   string
}{
	// Syntax.
	{Runs, "metrics.acc >>> 1", `unknown operator ">>>"`},
	{Runs, "metrics.acc == 1", `unknown operator "=="`},
	{Runs, "metrics.acc <> 1", `unknown operator "<>"`},
	{Runs, "metrics.acc >", "expected a value"},
	{Runs, "metrics.acc", "expected an operator"},
	{Runs, "metrics.acc 1", "expected an operator"},
	{Runs, "= 1", "expected a key"},
	{Runs, "params.a = 'x", "unterminated single-quoted string"},
	{Runs, `params.a = "x`, "unterminated double-quoted string"},
	{Runs, "tags.`x = 'a'", "unterminated backquoted key"},
	{Runs, "params.a = 'it\\'s'", `expected AND at offset 16, found "s'"`},
	{Runs, "params.a = 'x' AND", "ends with AND"},
	{Runs, "params.a = 'x' and  \n", "ends with AND"},
	{Runs, "AND params.a = 'x'", "found AND"},
	{Runs, "params.a = 'x' AND AND params.b = 'y'", "found AND"},
	{Runs, "params.a = 'x' OR params.b = 'y'", "OR at offset 15 is not supported"},
	{Runs, "NOT params.a = 'x'", "found NOT"},
	{Runs, "(params.a = 'x')", "parentheses at offset 0 are not supported"},
	{Runs, "params.a = 'x' AND (params.b = 'y' OR params.c = 'z')", "parentheses at offset 19 are not supported"},
	{Runs, "params.a = 'x')", "parentheses at offset 14 are not supported"},
	{Runs, "run_id = ('a', 'b')", "needs IN or NOT IN"},
	{Runs, "params.a NOT LIKE 'x'", "NOT LIKE at offset 9 is not supported"},
	{Runs, "params.a RLIKE 'x'", "RLIKE at offset 9 is not supported"},
	{Runs, "params.a IS 'x'", "expected IS NULL or IS NOT NULL"},
	{Runs, "params.a IS NOT 'x'", "expected IS NULL or IS NOT NULL"},
	{Runs, "params.a NOT 'x'", "expected an operator"},
	{Runs, "metrics.a > 1e+5", `malformed number "1e+5"`},
	{Runs, "metrics.a > 0x10", `malformed number "0x10"`},
	{Runs, "metrics.a > 1abc", `malformed number "1abc"`},
	{Runs, "metrics.a > 1.5.3", `malformed number "1.5.3"`},
	{Runs, "metrics.a > .5e3", `malformed number ".5e3"`},
	{Runs, "metrics.a > -", `malformed number "-"`},
	{Runs, "metrics.a > - 1", `malformed number "-"`},
	{Runs, "metrics.a > 1e999", "out of range"},
	{Runs, "metrics.a>1AND metrics.b<2", `malformed number "1AND"`},
	{Runs, "metrics.a > 1 metrics.b > 2", `expected AND at offset 14, found "metrics.b > 2"`},
	{Runs, "params.a = x", "needs a quoted string"},
	{Runs, "params.a = NULL", "needs a quoted string"},
	{Runs, "params.a = `x`", "backquotes at offset 11 are for keys"},
	{Runs, "params.a = 'x' -- comment", `expected AND at offset 15, found "-- comment"`},
	{Runs, "params.a = 'x'ANDparams.b = 'y'", `expected AND at offset 14, found "ANDparams.b = 'y'"`},
	{Runs, "metrics.my-metric > 1", "quote keys with special characters"},
	{Runs, "tags.s3:path = 'x'", "quote keys with special characters"},
	{Runs, "tags.path -1", `expected an operator at offset 10, found "-1"`},

	// Unknown key types and keys.
	{Runs, "foo.bar = 1", `unknown key type "foo"`},
	{Runs, "METRICS.a > 1", `unknown key type "METRICS"`},
	{Runs, `"metrics".a > 1`, `unknown key type "metrics"`},
	{Runs, "lifecycle_stage = 'active'", `unknown attribute "lifecycle_stage" for runs`},
	{Runs, "id = 'x'", `unknown attribute "id"`},
	{Runs, "run_uuid = 'x'", `unknown attribute "run_uuid"`},
	{Runs, "`a.b` = 'x'", `unknown attribute "a.b"`},
	{Runs, "datasets.foo = 'x'", `unknown dataset key "foo"`},
	{Runs, "tags.a.`b` = 'x'", "mixes quoted and bare parts"},
	{Runs, "tags.`` = 'x'", "must not be empty"},
	{Runs, "tags." + strings.Repeat("k", MaxKeyBytes+1) + " = 'x'", "longer than 250 bytes"},

	// Values of the wrong type, operators the key does not support.
	{Runs, "metrics.a = 'x'", `metrics.a needs a number, found the string "x"`},
	{Runs, "metrics.a LIKE 'x'", "operator LIKE is not supported for metrics.a"},
	{Runs, "metrics.a IS NULL", "operator IS NULL is not supported for metrics.a"},
	{Runs, "metrics.a IN ('1')", "operator IN is not supported"},
	{Runs, "params.p > 1", "operator > is not supported for params.p"},
	{Runs, "params.p = 1", "params.p needs a quoted string, found the number 1"},
	{Runs, "tags.t IN ('a')", "operator IN is not supported for tags.t"},
	{Runs, "start_time = 'x'", `start_time needs a number, found the string "x"`},
	{Runs, "created LIKE 'x'", "operator LIKE is not supported for created"},
	{Runs, "status > 'x'", "operator > is not supported for status"},
	{Runs, "status IN ('a', 'b')", "operator IN is not supported for status"},
	{Runs, "run_id IS NULL", "operator IS NULL is not supported for run_id"},
	{Runs, "datasets.name IS NULL", "operator IS NULL is not supported"},
	{Runs, "datasets.name = 1", "needs a quoted string"},

	// IN lists.
	{Runs, "run_id IN ()", "is empty"},
	{Runs, "run_id IN (1, 2)", "lists hold quoted strings"},
	{Runs, "run_id IN 'a'", "needs a parenthesised list"},
	{Runs, "run_id IN", "needs a parenthesised list"},
	{Runs, "run_id IN ('a',,)", "lists hold quoted strings"},
	{Runs, "run_id IN ('a' 'b' x)", "expected ',' or ')'"},
	{Runs, "run_id IN ('a'", "unterminated list"},
	{Runs, "run_id IN ('a", "unterminated string in the list"},
	{Runs, "run_id IN (('a'))", "lists hold quoted strings"},
	{Runs, `run_id IN ('\N{EM DASH}')`, `\N{...} escapes`},
	{Runs, `run_id IN ('\x00')`, "not an allowed character"},
	{Runs, `run_id IN ('\0')`, "not an allowed character"},
	{Runs, `run_id IN ('\ud800')`, "not an allowed character"},
	{Runs, `run_id IN ('\U00110000')`, "not an allowed character"},
	{Runs, `run_id IN ('\x4')`, "malformed \\x escape"},
	{Runs, `run_id IN ('\x4`, "truncated \\x escape"},
	{Runs, `run_id IN ('\xzz')`, "malformed \\x escape"},
	{Runs, "run_id IN ('a\nb')", "line break inside the list value"},
	{Runs, "run_id IN ('a') OR run_id IN ('b')", "OR at offset 16"},

	// Injection attempts fail as syntax; nothing of them reaches SQL.
	{Runs, "params.a = 'x'; DROP TABLE runs; --", "unexpected ';' at offset 14"},
	{Runs, "params.a = 'x' OR 1=1", "OR at offset 15 is not supported"},
	{Runs, "params.a = 'x' UNION SELECT * FROM users", `expected AND at offset 15, found "UNION`},
	{Runs, "params.a = 'x' AND 1=1", `unknown attribute "1"`},
	{Runs, "params.a = 'x' /* c */", `expected AND at offset 15, found "/* c */"`},

	// Experiments.
	{Experiments, "attributes.name = 'x'", `unknown key type "attributes"`},
	{Experiments, "params.a = 'x'", `unknown key type "params"`},
	{Experiments, "metrics.a > 1", `unknown key type "metrics"`},
	{Experiments, "name IN ('a')", "operator IN is not supported for name"},
	{Experiments, "experiment_id = 1", "experiment_id needs a quoted string"},
	{Experiments, "experiment_id LIKE '1%'", "operator LIKE is not supported for experiment_id"},
	{Experiments, "creation_time > 5.5", "creation_time needs a whole number, found 5.5"},
	{Experiments, "creation_time > 1e300", "creation_time needs a whole number"},
	{Experiments, "creation_time > '5'", `creation_time needs a number, found the string "5"`},
	{Experiments, "name IS NULL", "operator IS NULL is not supported for name"},
	{Experiments, "lifecycle_stage = 'active'", `unknown attribute "lifecycle_stage" for experiments`},

	// Registered models.
	{RegisteredModels, "tags.a IS NULL", "operator IS NULL is not supported for tags.a"},
	{RegisteredModels, "creation_timestamp > 1", `unknown attribute "creation_timestamp" for registered models`},
	{RegisteredModels, "name = 1", "name needs a quoted string"},
	{RegisteredModels, "metrics.a > 1", `unknown key type "metrics"`},
	{RegisteredModels, "tags.a IN ('x')", "operator IN is not supported"},

	// Model versions.
	{ModelVersions, "version_number IN ('1')", "operator IN is not supported for version_number"},
	{ModelVersions, "version_number > 1.5", "version_number needs a whole number"},
	{ModelVersions, "version_number = 'abc'", `version_number needs a number, found the string "abc"`},
	{ModelVersions, "version_number LIKE '1'", "operator LIKE is not supported"},
	{ModelVersions, "source_path IN ('x')", "operator IN is not supported for source_path"},
	{ModelVersions, "creation_timestamp > 1", `unknown attribute "creation_timestamp" for model versions`},
	{ModelVersions, "tags.a IS NOT NULL", "operator IS NOT NULL is not supported"},

	// Logged models.
	{LoggedModels, "datasets.name = 'x'", `unknown key type "datasets"`},
	{LoggedModels, "params.a IS NULL", "operator IS NULL is not supported for params.a"},
	{LoggedModels, "metrics.a LIKE 'x'", "operator LIKE is not supported"},
	{LoggedModels, "creation_time = 'x'", "creation_time needs a number"},
	{LoggedModels, "experiment_id = '1'", `unknown attribute "experiment_id" for logged models`},
}

func TestParseRejects(t *testing.T) {
	for _, tc := range rejectedFilters {
		got, err := Parse(tc.e, tc.filter)
		if err == nil {
			t.Errorf("Parse(%v, %q) = %v, want an error", tc.e, tc.filter, got)
			continue
		}
		checkError(t, err, "filter", tc.filter)
		if msg := enclave.ErrorMessage(err); !strings.Contains(msg, tc.want) {
			t.Errorf("Parse(%v, %q): %q does not contain %q", tc.e, tc.filter, msg, tc.want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	clauses := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "metrics.m" + strconv.Itoa(i) + " > 1"
		}
		return strings.Join(parts, " AND ")
	}
	list := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = "'r" + strconv.Itoa(i) + "'"
		}
		return "run_id IN (" + strings.Join(vals, ",") + ")"
	}
	long := "params.p = '" + strings.Repeat("x", MaxFilterBytes) + "'"

	for _, f := range []string{clauses(MaxClauses), list(MaxListValues), "tags." + strings.Repeat("k", MaxKeyBytes) + " = 'x'"} {
		if _, err := Parse(Runs, f); err != nil {
			t.Errorf("Parse at the limit: %v", err)
		}
	}
	for _, tc := range []struct{ filter, want string }{
		{clauses(MaxClauses + 1), "more than 100 comparisons"},
		{list(MaxListValues + 1), "more than 1000 values"},
		{long, "longer than 65536 bytes"},
		{"params.p = 'a\x00b'", "NUL byte"},
		{"params.p = '\xff'", "not valid UTF-8"},
		{"tags.`" + strings.Repeat("ü", 200) + "` = 'x'", "longer than 250 bytes"},
		{"params.p = '" + strings.Repeat("y", 5000), "unterminated"},
		{"params.p = 'x' AND " + strings.Repeat("z", 5000), "longer than 250 bytes"},
		{"params.p = 'x' AND tags.t " + strings.Repeat("z", 5000), "expected an operator"},
		{"params.p = " + strings.Repeat("1", 300), "needs a quoted string, found the number 1111"},
		{"start_time > 0." + strings.Repeat("1", 300) + "x", "malformed number"},
		{"metrics.m > " + strings.Repeat("9", 400), "out of range"},
		{"metrics.m > 1" + strings.Repeat("e", 300), "malformed number"},
		{"tags." + strings.Repeat("t", 200) + " > 1", "operator > is not supported"},
		{strings.Repeat("u", 200) + ".k = 'x'", "unknown key type"},
		{"params.p = '" + strings.Repeat("v", 200) + "' extra", "expected AND"},
		{"run_id IN (" + strings.Repeat("'w',", 50) + strings.Repeat("w", 300) + ")", "lists hold quoted strings"},
	} {
		_, err := Parse(Runs, tc.filter)
		if err == nil {
			t.Errorf("Parse(%.40q…) succeeded, want %q", tc.filter, tc.want)
			continue
		}
		checkError(t, err, "filter", tc.filter)
		if msg := enclave.ErrorMessage(err); !strings.Contains(msg, tc.want) {
			t.Errorf("Parse(%.40q…): %q does not contain %q", tc.filter, msg, tc.want)
		}
	}
}

// checkError asserts what every parse error must be: invalid_argument on
// the field, with a message that echoes little of the inputs.
func checkError(t *testing.T, err error, field string, inputs ...string) {
	t.Helper()
	if code := enclave.ErrorCode(err); code != enclave.CodeInvalidArgument {
		t.Errorf("error %v has code %s, want invalid_argument", err, code)
	}
	if f := enclave.ErrorField(err); f != field {
		t.Errorf("error %v names field %q, want %q", err, f, field)
	}
	msg := enclave.ErrorMessage(err)
	if len(msg) > 400 {
		t.Errorf("message is %d bytes: %.80q…", len(msg), msg)
	}
	if echoesInput(msg, inputs...) {
		t.Errorf("message echoes more than 64 bytes of input: %.100q…", msg)
	}
}

// echoesInput reports whether msg holds more than 64 bytes in a row of
// any of the inputs.
func echoesInput(msg string, inputs ...string) bool {
	for _, in := range inputs {
		for i := 0; i+65 <= len(in) && i < 8<<10; i++ {
			if strings.Contains(msg, in[i:i+65]) {
				return true
			}
		}
	}
	return false
}

// acceptedOrderBy are order_by lists MLflow accepts, with their AST.
var acceptedOrderBy = []struct {
	e       Entity
	clauses []string
	want    []OrderBy
}{
	{Runs, nil, nil},
	{Runs, []string{"metrics.acc"}, []OrderBy{{Metric, "acc", true}}},
	{Runs, []string{"metrics.acc DESC"}, []OrderBy{{Metric, "acc", false}}},
	{Runs, []string{"metric.acc desc", "params.lr Asc"}, []OrderBy{{Metric, "acc", false}, {Param, "lr", true}}},
	{Runs, []string{"  metrics.acc\tASC "}, []OrderBy{{Metric, "acc", true}}},
	{Runs, []string{"metrics.`a b` DESC"}, []OrderBy{{Metric, "a b", false}}},
	{Runs, []string{`metrics."a b"`}, []OrderBy{{Metric, "a b", true}}},
	{Runs, []string{"metrics.'a b' DESC"}, []OrderBy{{Metric, "a b", false}}},
	{Runs, []string{"tags.mlflow.runName"}, []OrderBy{{Tag, "mlflow.runName", true}}},
	{Runs, []string{"tags.`a'--` DESC"}, []OrderBy{{Tag, "a'--", false}}},
	{Runs, []string{"created"}, []OrderBy{{Attribute, "start_time", true}}},
	{Runs, []string{"attributes.start_time DESC", "run_name"}, []OrderBy{{Attribute, "start_time", false}, {Attribute, "run_name", true}}},
	{Runs, []string{"attr.status", "run.end_time", "user_id", "artifact_uri", "run_id"},
		[]OrderBy{{Attribute, "status", true}, {Attribute, "end_time", true}, {Attribute, "user_id", true}, {Attribute, "artifact_uri", true}, {Attribute, "run_id", true}}},
	{Runs, []string{"metrics.a", "params.a", "tags.a"}, []OrderBy{{Metric, "a", true}, {Param, "a", true}, {Tag, "a", true}}},
	{Experiments, []string{"name", "attribute.creation_time DESC"}, []OrderBy{{Attribute, "name", true}, {Attribute, "creation_time", false}}},
	{Experiments, []string{"experiment_id", "last_update_time desc"}, []OrderBy{{Attribute, "experiment_id", true}, {Attribute, "last_update_time", false}}},
	{Experiments, []string{"name", "name DESC"}, []OrderBy{{Attribute, "name", true}, {Attribute, "name", false}}},
	{RegisteredModels, []string{"name"}, []OrderBy{{Attribute, "name", true}}},
	{RegisteredModels, []string{"timestamp DESC"}, []OrderBy{{Attribute, "last_updated_timestamp", false}}},
	{RegisteredModels, []string{"creation_timestamp", "attribute.name DESC"}, []OrderBy{{Attribute, "creation_timestamp", true}, {Attribute, "name", false}}},
	{RegisteredModels, []string{"last_updated_timestamp DESC"}, []OrderBy{{Attribute, "last_updated_timestamp", false}}},
	{ModelVersions, []string{"version_number DESC", "name"}, []OrderBy{{Attribute, "version_number", false}, {Attribute, "name", true}}},
	{ModelVersions, []string{"creation_timestamp", "last_updated_timestamp"}, []OrderBy{{Attribute, "creation_timestamp", true}, {Attribute, "last_updated_timestamp", true}}},
	{LoggedModels, []string{"creation_time DESC", "metrics.acc"}, []OrderBy{{Attribute, "creation_timestamp", false}, {Metric, "acc", true}}},
	{LoggedModels, []string{"name", "model_id"}, []OrderBy{{Attribute, "name", true}, {Attribute, "model_id", true}}},
}

func TestParseOrderByAccepts(t *testing.T) {
	for _, tc := range acceptedOrderBy {
		got, err := ParseOrderBy(tc.e, tc.clauses)
		if err != nil {
			t.Errorf("ParseOrderBy(%v, %q): %v", tc.e, tc.clauses, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseOrderBy(%v, %q)\n got %v\nwant %v", tc.e, tc.clauses, got, tc.want)
			continue
		}
		rendered := make([]string, len(got))
		for i, o := range got {
			rendered[i] = o.String()
		}
		back, err := ParseOrderBy(tc.e, rendered)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("round trip of %q through %q: %v, %v", tc.clauses, rendered, back, err)
		}
	}
}

var rejectedOrderBy = []struct {
	e       Entity
	clauses []string
	want    string
}{
	{Runs, []string{""}, "order_by clause 1: the clause is empty"},
	{Runs, []string{"metrics.a", "  "}, "order_by clause 2: the clause is empty"},
	{Runs, []string{"datasets.name"}, `cannot order runs by dataset "name"`},
	{Runs, []string{"`run name`"}, `cannot order runs by attribute "run name"`},
	{Runs, []string{"lifecycle_stage"}, `cannot order runs by attribute "lifecycle_stage"`},
	{Runs, []string{"foo.bar"}, `unknown key type "foo"`},
	{Runs, []string{"metrics.acc DESC NULLS LAST"}, `unexpected "NULLS LAST" after the direction`},
	{Runs, []string{"metrics.acc DESC ASC"}, `unexpected "ASC"`},
	{Runs, []string{"metrics.acc FOO"}, `expected ASC or DESC after the key, found "FOO"`},
	{Runs, []string{"metrics.acc,metrics.b"}, `expected ASC or DESC after the key, found ",metrics.b"`},
	{Runs, []string{"metrics.acc; DROP TABLE runs"}, `expected ASC or DESC after the key, found "; DROP TABLE runs"`},
	{Runs, []string{"metrics.`acc"}, "unterminated backquoted key"},
	{Runs, []string{"metrics.a", "metric.a DESC"}, `order_by clause 2 orders by metric "a" again`},
	{Runs, []string{"created", "start_time"}, `orders by attribute "start_time" again`},
	{Runs, []string{"tags.`" + strings.Repeat("k", MaxKeyBytes+1) + "`"}, "longer than 250 bytes"},
	{Runs, []string{"metrics.a\x00"}, "NUL byte"},
	{Runs, []string{"metrics.\xff"}, "not valid UTF-8"},
	{Runs, []string{strings.Repeat("x", 2000)}, "longer than 1024 bytes"},
	{Runs, make([]string, MaxClauses+1), "at most 100 order_by clauses"},
	{Experiments, []string{"tags.a"}, `cannot order experiments by tag "a"`},
	{Experiments, []string{"attributes.name"}, `unknown key type "attributes"`},
	{Experiments, []string{"lifecycle_stage"}, "cannot order experiments by attribute"},
	{RegisteredModels, []string{"tags.a"}, "cannot order registered models by tag"},
	{RegisteredModels, []string{"version_number"}, "cannot order registered models by attribute"},
	{RegisteredModels, []string{"timestamp", "last_updated_timestamp DESC"}, "again"},
	{ModelVersions, []string{"run_id"}, `cannot order model versions by attribute "run_id"`},
	{ModelVersions, []string{"name", "name DESC"}, "again"},
	{LoggedModels, []string{"params.a"}, "cannot order logged models by param"},
	{LoggedModels, []string{"tags.a"}, "cannot order logged models by tag"},
}

func TestParseOrderByRejects(t *testing.T) {
	for _, tc := range rejectedOrderBy {
		got, err := ParseOrderBy(tc.e, tc.clauses)
		if err == nil {
			t.Errorf("ParseOrderBy(%v, %.60q) = %v, want an error", tc.e, tc.clauses, got)
			continue
		}
		checkError(t, err, "order_by", tc.clauses...)
		if msg := enclave.ErrorMessage(err); !strings.Contains(msg, tc.want) {
			t.Errorf("ParseOrderBy(%v, %.60q): %q does not contain %q", tc.e, tc.clauses, msg, tc.want)
		}
	}
}

func TestParseLoggedModelOrderBy(t *testing.T) {
	for _, tc := range []struct {
		field string
		asc   bool
		want  OrderBy
	}{
		{"metrics.acc", false, OrderBy{Metric, "acc", false}},
		{"metrics.my key", true, OrderBy{Metric, "my key", true}},
		{"metrics.`a`", true, OrderBy{Metric, "`a`", true}}, // verbatim, as MLflow's store
		{"creation_time", true, OrderBy{Attribute, "creation_timestamp", true}},
		{" name ", false, OrderBy{Attribute, "name", false}},
		{"last_updated_timestamp", true, OrderBy{Attribute, "last_updated_timestamp", true}},
	} {
		got, err := ParseLoggedModelOrderBy(tc.field, tc.asc)
		if err != nil || got != tc.want {
			t.Errorf("ParseLoggedModelOrderBy(%q, %v) = %v, %v; want %v", tc.field, tc.asc, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ field, want string }{
		{"params.a", "only attributes and metrics.<name>"},
		{"foo", `cannot order logged models by "foo"`},
		{"metrics.", "must not be empty"},
		{"", `cannot order logged models by ""`},
		{"metrics." + strings.Repeat("k", MaxKeyBytes+1), "longer than 250 bytes"},
		{"metrics.\x00", "NUL byte"},
	} {
		_, err := ParseLoggedModelOrderBy(tc.field, true)
		if err == nil {
			t.Errorf("ParseLoggedModelOrderBy(%q) succeeded, want %q", tc.field, tc.want)
			continue
		}
		checkError(t, err, "order_by", tc.field)
		if msg := enclave.ErrorMessage(err); !strings.Contains(msg, tc.want) {
			t.Errorf("ParseLoggedModelOrderBy(%q): %q does not contain %q", tc.field, msg, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		f    Filter
		want string
	}{
		{Filter{cmp(Metric, "acc", ">", 0.9), cmp(Param, "lr", "=", "0.01")}, "metrics.acc > 0.9 AND params.lr = '0.01'"},
		{Filter{cmp(Tag, "my key", "=", "it's")}, `tags.` + "`my key`" + ` = "it's"`},
		{Filter{cmp(Tag, "a`b", "LIKE", "x''y")}, `tags."a` + "`" + `b" LIKE 'x''y'`},
		{Filter{cmp(Attribute, "run_id", "NOT IN", []string{"a'b", "c\\d\n"})}, `run_id NOT IN ('a\'b', 'c\\d\n')`},
		{Filter{cmp(Attribute, "start_time", ">=", 1.7e12), cmp(Metric, "m", "<", 1.5e-7), cmp(Metric, "m", "<", 2e20)},
			"start_time >= 1700000000000 AND metrics.m < 1.5e-07 AND metrics.m < 2e20"},
		{Filter{cmp(Metric, "m", ">", 1e300)}, "metrics.m > 1e300"},
		{Filter{cmp(Tag, "t", "IS NOT NULL", nil)}, "tags.t IS NOT NULL"},
		{Filter{cmp(Dataset, "context", "IN", []string{"train"})}, "datasets.context IN ('train')"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("String() = %s, want %s", got, tc.want)
		}
	}
	if got := (OrderBy{Metric, "a b", false}).String(); got != "metrics.`a b` DESC" {
		t.Errorf("OrderBy.String() = %s", got)
	}
	if got := Runs.String() + ", " + ModelVersions.String(); got != "runs, model versions" {
		t.Errorf("Entity.String() = %s", got)
	}
}

func TestExcerpt(t *testing.T) {
	long := "a" + strings.Repeat("ü", 40) // the cut at 32 bytes falls inside a rune
	got := excerpt(long)
	if !strings.HasSuffix(got, "…") || len(got) > 32+len("…") || !utf8.ValidString(got) || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("excerpt(%q) = %q", long, got)
	}
	if got := excerpt("short"); got != "short" {
		t.Errorf("excerpt(short) = %q", got)
	}
}

func TestParseUnknownEntity(t *testing.T) {
	if got := Entity(99).String(); got != "Entity(99)" {
		t.Errorf("Entity(99).String() = %q", got)
	}
	if _, err := Parse(Entity(99), "name = 'x'"); enclave.ErrorCode(err) != enclave.CodeInternal {
		t.Errorf("Parse(Entity(99)): %v, want an internal error", err)
	}
	if _, err := ParseOrderBy(Entity(99), []string{"name"}); enclave.ErrorCode(err) != enclave.CodeInternal {
		t.Errorf("ParseOrderBy(Entity(99)): %v, want an internal error", err)
	}
}
