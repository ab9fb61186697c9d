package search

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// fuzzSeeds are inputs the fuzzers found interesting or that once broke
// the parser; they join the examples of the table tests as seeds.
var fuzzSeeds = []struct {
	e      Entity
	filter string
}{
	{Runs, "tags.`a`.`b` = 'x'"},
	{Runs, "run_id IN ('\\\n')"},
	{Runs, "params.a = '\"' AND params.b = \"'\""},
	{Runs, "metrics.a > -0"},
	{Runs, "metrics.a > 4.9e-324"},
	{Runs, "metrics.a > 1.7976931348623157e308"},
	{Experiments, "creation_time > 9007199254740993"},
	{ModelVersions, "version_number = ' 9007199254740992 '"},
	{Runs, "tags.AND = 'x' AND attribute.`OR` = 'y'"},
	{Runs, "`attribute`.`run name` = 'x'"},
}

// FuzzParse checks that Parse never panics, that its errors are
// invalid_argument errors on "filter", that what it accepts is valid for
// the entity, and that rendering an accepted filter parses back to it.
func FuzzParse(f *testing.F) {
	for _, tc := range acceptedFilters {
		f.Add(uint8(tc.e), tc.filter)
	}
	for _, tc := range rejectedFilters {
		f.Add(uint8(tc.e), tc.filter)
	}
	for _, tc := range fuzzSeeds {
		f.Add(uint8(tc.e), tc.filter)
	}
	f.Fuzz(func(t *testing.T, entity uint8, filter string) {
		e := Entity(entity % 5)
		got, err := Parse(e, filter)
		if err != nil {
			if got != nil {
				t.Fatalf("Parse returned %v and an error", got)
			}
			checkFuzzError(t, err, "filter", filter)
			return
		}
		for _, c := range got {
			if msg := checkComparison(e, c); msg != "" {
				t.Fatalf("Parse(%v, %q) accepted %#v: %s", e, filter, c, msg)
			}
		}
		if got == nil {
			if strings.TrimFunc(filter, unicode.IsSpace) != "" {
				t.Fatalf("Parse(%v, %q) returned no filter", e, filter)
			}
			return
		}
		text := got.String()
		back, err := Parse(e, text)
		if err != nil {
			t.Fatalf("Parse(%v, %q) = %#v renders as %q, which does not parse: %v", e, filter, got, text, err)
		}
		if !reflect.DeepEqual(back, got) {
			t.Fatalf("Parse(%v, %q) = %#v renders as %q, which parses to %#v", e, filter, got, text, back)
		}
		if again := back.String(); again != text {
			t.Fatalf("rendering is not stable: %q then %q", text, again)
		}
	})
}

// FuzzParseOrderBy checks ParseOrderBy and ParseLoggedModelOrderBy the
// same way, on one or two clauses.
func FuzzParseOrderBy(f *testing.F) {
	for _, tc := range acceptedOrderBy {
		if len(tc.clauses) > 0 {
			f.Add(uint8(tc.e), tc.clauses[0], strings.Join(tc.clauses[1:], ""))
		}
	}
	for _, tc := range rejectedOrderBy {
		if len(tc.clauses) > 0 && len(tc.clauses) <= 2 {
			f.Add(uint8(tc.e), tc.clauses[0], strings.Join(tc.clauses[1:], ""))
		}
	}
	f.Add(uint8(LoggedModels), "metrics.a b", "")
	f.Fuzz(func(t *testing.T, entity uint8, a, b string) {
		e := Entity(entity % 5)
		clauses := []string{a}
		if b != "" {
			clauses = append(clauses, b)
		}
		got, err := ParseOrderBy(e, clauses)
		if err != nil {
			if got != nil {
				t.Fatalf("ParseOrderBy returned %v and an error", got)
			}
			checkFuzzError(t, err, "order_by", a, b)
		} else {
			if len(got) != len(clauses) {
				t.Fatalf("ParseOrderBy(%v, %q) = %v", e, clauses, got)
			}
			rendered := make([]string, len(got))
			for i, o := range got {
				if msg := checkOrderBy(e, o); msg != "" {
					t.Fatalf("ParseOrderBy(%v, %q) accepted %v: %s", e, clauses, o, msg)
				}
				rendered[i] = o.String()
			}
			back, err := ParseOrderBy(e, rendered)
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("ParseOrderBy(%v, %q) = %v renders as %q, which parses to %v, %v", e, clauses, got, rendered, back, err)
			}
		}

		o, err := ParseLoggedModelOrderBy(a, b == "")
		if err != nil {
			checkFuzzError(t, err, "order_by", a)
			return
		}
		if msg := checkOrderBy(LoggedModels, o); msg != "" {
			t.Fatalf("ParseLoggedModelOrderBy(%q) accepted %v: %s", a, o, msg)
		}
	})
}

// checkFuzzError checks an error the way checkError does, and that its
// message echoes no more than 64 bytes in a row of any input.
func checkFuzzError(t *testing.T, err error, field string, inputs ...string) {
	t.Helper()
	msg := enclave.ErrorMessage(err)
	if echoesInput(msg, inputs...) {
		t.Fatalf("message echoes more than 64 bytes of input: %.100q…", msg)
	}
	if code := enclave.ErrorCode(err); code != enclave.CodeInvalidArgument {
		t.Fatalf("error %v has code %s, want invalid_argument", err, code)
	}
	if f := enclave.ErrorField(err); f != field {
		t.Fatalf("error %v names field %q, want %q", err, f, field)
	}
	if len(msg) > 600 {
		t.Fatalf("message is %d bytes: %.100q…", len(msg), msg)
	}
}

// The rules below restate what MLflow accepts, apart from the tables in
// search.go, so that the fuzzers check the tables rather than trust them.
var (
	opsNumeric = []string{"=", "!=", "<", "<=", ">", ">="}
	opsMatch   = []string{"=", "!=", "LIKE", "ILIKE"}
	opsList    = []string{"IN", "NOT IN"}
	opsNull    = []string{"IS NULL", "IS NOT NULL"}
)

type rule struct {
	ops    []string
	number bool
	whole  bool
}

func attrRules(e Entity) map[string]rule {
	s, sl, n, w := rule{ops: opsMatch}, rule{ops: append(slices.Clone(opsMatch), opsList...)}, rule{ops: opsNumeric, number: true}, rule{ops: opsNumeric, number: true, whole: true}
	switch e {
	case Runs:
		return map[string]rule{"run_id": sl, "run_name": s, "status": s, "user_id": s, "artifact_uri": s, "start_time": n, "end_time": n}
	case Experiments:
		return map[string]rule{"name": s, "experiment_id": {ops: []string{"=", "!=", "IN", "NOT IN"}}, "creation_time": w, "last_update_time": w}
	case RegisteredModels:
		return map[string]rule{"name": sl}
	case ModelVersions:
		return map[string]rule{"name": sl, "run_id": sl, "source_path": s, "version_number": w}
	case LoggedModels:
		return map[string]rule{"name": sl, "model_id": sl, "model_type": sl, "status": sl, "source_run_id": sl, "creation_timestamp": n, "last_updated_timestamp": n}
	}
	return nil
}

func ruleFor(e Entity, c Comparison) (rule, bool) {
	switch c.Type {
	case Attribute:
		r, ok := attrRules(e)[c.Key]
		return r, ok
	case Metric:
		return rule{ops: opsNumeric, number: true}, e == Runs || e == LoggedModels
	case Param:
		if e == Runs {
			return rule{ops: append(slices.Clone(opsMatch), opsNull...)}, true
		}
		return rule{ops: opsMatch}, e == LoggedModels
	case Tag:
		if e == Runs || e == Experiments {
			return rule{ops: append(slices.Clone(opsMatch), opsNull...)}, true
		}
		return rule{ops: opsMatch}, true
	case Dataset:
		return rule{ops: append(slices.Clone(opsMatch), opsList...)}, e == Runs && slices.Contains([]string{"name", "digest", "context"}, c.Key)
	}
	return rule{}, false
}

// checkComparison says what is wrong with c for entity e, or "".
func checkComparison(e Entity, c Comparison) string {
	r, ok := ruleFor(e, c)
	switch {
	case !ok:
		return "not a key of the entity"
	case !slices.Contains(r.ops, c.Op):
		return "operator not allowed for the key"
	case c.Key == "" || len(c.Key) > MaxKeyBytes:
		return "bad key length"
	}
	switch v := c.Value.(type) {
	case nil:
		if !slices.Contains(opsNull, c.Op) {
			return "nil value for a comparison"
		}
	case float64:
		if !r.number || !slices.Contains(opsNumeric, c.Op) || math.IsNaN(v) || math.IsInf(v, 0) {
			return "number where none belongs"
		}
		if r.whole && (v != math.Trunc(v) || math.Abs(v) > 1<<53) {
			return "fraction for a whole-number attribute"
		}
	case string:
		if r.number || slices.Contains(opsList, c.Op) || slices.Contains(opsNull, c.Op) {
			return "string where none belongs"
		}
	case []string:
		if r.number || !slices.Contains(opsList, c.Op) || len(v) == 0 || len(v) > MaxListValues {
			return "list where none belongs"
		}
		for _, s := range v {
			if strings.IndexByte(s, 0) >= 0 {
				return "NUL in a list value"
			}
		}
	default:
		return "value of an unexpected type"
	}
	return ""
}

// checkOrderBy says what is wrong with o for entity e, or "".
func checkOrderBy(e Entity, o OrderBy) string {
	if o.Key == "" || len(o.Key) > MaxKeyBytes {
		return "bad key length"
	}
	var attrs []string
	var types []KeyType
	switch e {
	case Runs:
		attrs, types = []string{"run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time"}, []KeyType{Metric, Param, Tag}
	case Experiments:
		attrs = []string{"name", "experiment_id", "creation_time", "last_update_time"}
	case RegisteredModels:
		attrs = []string{"name", "creation_timestamp", "last_updated_timestamp"}
	case ModelVersions:
		attrs = []string{"name", "version_number", "creation_timestamp", "last_updated_timestamp"}
	case LoggedModels:
		attrs, types = []string{"name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp", "last_updated_timestamp"}, []KeyType{Metric}
	}
	if o.Type == Attribute && !slices.Contains(attrs, o.Key) || o.Type != Attribute && !slices.Contains(types, o.Type) {
		return "not an orderable key of the entity"
	}
	return ""
}
