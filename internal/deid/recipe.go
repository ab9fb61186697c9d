package deid

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Action is what a recipe does to a column.
type Action string

// The actions. Every action leaves a null cell null.
const (
	// ActionKeep copies the column unchanged.
	ActionKeep Action = "keep"
	// ActionDrop removes the column.
	ActionDrop Action = "drop"
	// ActionMask replaces every value with MaskText.
	ActionMask Action = "mask"
	// ActionPseudonymise replaces every value with its pseudonym (see
	// Pseudonymiser): the same value always gets the same pseudonym.
	ActionPseudonymise Action = "pseudonymise"
	// ActionGeneraliseDate keeps only the year of a date. A value that is
	// not a date becomes null rather than leak.
	ActionGeneraliseDate Action = "generalise-date"
	// ActionGeneraliseAge writes ages over 89 as "90+" (HIPAA Safe
	// Harbor). A value that is not a number becomes null.
	ActionGeneraliseAge Action = "generalise-age"
	// ActionGeneralisePostcode cuts a US ZIP code to its first three
	// digits and "**" ("000**" for the restricted prefixes of
	// Config.RestrictedZIP3) and a UK postcode to its outward code
	// ("SW1A 1AA" to "SW1A"). A value that is neither becomes null.
	ActionGeneralisePostcode Action = "generalise-postcode"
	// ActionRedact replaces every identifier FindAll finds in the text
	// with its kind in brackets: "[EMAIL]", "[UK-NHS]".
	ActionRedact Action = "redact"
)

// MaskText is what ActionMask writes.
const MaskText = "****"

var actions = []Action{ActionKeep, ActionDrop, ActionMask, ActionPseudonymise, ActionGeneraliseDate,
	ActionGeneraliseAge, ActionGeneralisePostcode, ActionRedact}

func knownAction(a Action) bool {
	for _, k := range actions {
		if a == k {
			return true
		}
	}
	return false
}

func actionList() string {
	s := make([]string, len(actions))
	for i, a := range actions {
		s[i] = string(a)
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Recipe declares how to de-identify a table, column by column:
//
//	version: 1
//	columns:
//	  patient_name: drop
//	  email: mask
//	  patient_id: pseudonymise
//	  dob: generalise-date
//	  age: generalise-age
//	  zip: generalise-postcode
//	  notes: redact
//	default: keep            # or drop: only the listed columns survive
//	k_anonymity: {k: 5, quasi_identifiers: [zip, age, sex]}
type Recipe struct {
	Version int
	// Columns are the rules, in the recipe's order.
	Columns []ColumnRule
	// Default is the action for the columns the recipe does not list:
	// keep (also when empty) or drop.
	Default Action
	// KAnonymity, if set, suppresses rows whose quasi-identifiers are
	// shared by fewer than K rows (see ApplyCSV).
	KAnonymity *KAnonymityRule
}

// ColumnRule is one column's action.
type ColumnRule struct {
	Column string
	Action Action
	// Line is where the rule is in the recipe's YAML, for errors.
	Line int
}

// KAnonymityRule asks for k-anonymity over the quasi-identifiers.
type KAnonymityRule struct {
	K                int
	QuasiIdentifiers []string
	Line             int
}

type recipeYAML struct {
	Version    *int      `yaml:"version"`
	Columns    yaml.Node `yaml:"columns"`
	Default    string    `yaml:"default"`
	KAnonymity *struct {
		K                int      `yaml:"k"`
		QuasiIdentifiers []string `yaml:"quasi_identifiers"`
	} `yaml:"k_anonymity"`
}

// unknownField rewrites yaml.v3's "line 3: field foo not found in type
// deid.recipeYAML".
var unknownField = regexp.MustCompile(`line (\d+): field (.+) not found in type \S+`)

// ParseRecipe reads a recipe from YAML. Unknown keys, unknown actions, a
// column listed twice and a missing version are errors naming the key or
// the column and its line.
func ParseRecipe(data []byte) (*Recipe, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var y recipeYAML
	if err := dec.Decode(&y); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, recipeError("the recipe is empty")
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = unknownField.ReplaceAllString(m, "line $1: unknown key \"$2\"")
			}
			return nil, recipeError("%s", strings.Join(msgs, "; "))
		}
		return nil, recipeError("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	r := &Recipe{Default: Action(y.Default)}
	if y.Version == nil {
		return nil, recipeError("the recipe has no version (write version: 1)")
	}
	r.Version = *y.Version
	if y.Columns.Kind != 0 {
		if y.Columns.Kind != yaml.MappingNode {
			return nil, recipeError("line %d: columns must map column names to actions", y.Columns.Line)
		}
		for i := 0; i+1 < len(y.Columns.Content); i += 2 {
			k, v := y.Columns.Content[i], y.Columns.Content[i+1]
			if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
				return nil, recipeError("line %d: columns must map column names to actions", k.Line)
			}
			r.Columns = append(r.Columns, ColumnRule{Column: k.Value, Action: Action(v.Value), Line: k.Line})
		}
	}
	if y.KAnonymity != nil {
		r.KAnonymity = &KAnonymityRule{K: y.KAnonymity.K, QuasiIdentifiers: y.KAnonymity.QuasiIdentifiers}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

func recipeError(format string, args ...any) error {
	return enclave.FieldError("recipe", "the recipe is not valid: "+format, args...)
}

// at names a rule's line, when known.
func at(line int) string {
	if line > 0 {
		return fmt.Sprintf("line %d: ", line)
	}
	return ""
}

// Validate checks the recipe on its own: the version, the actions, no
// column twice, and a k-anonymity rule with k of at least 2 over distinct
// columns the recipe does not drop. Whether the columns exist is checked
// against the file, when it is applied.
func (r *Recipe) Validate() error {
	if r.Version != 1 {
		return recipeError("version %d is not supported (write version: 1)", r.Version)
	}
	switch r.Default {
	case "", ActionKeep, ActionDrop: // "" means keep
	default:
		return recipeError("default must be keep or drop, not %q", r.Default)
	}
	seen := map[string]int{}
	for _, c := range r.Columns {
		if c.Column == "" {
			return recipeError("%san empty column name", at(c.Line))
		}
		if !knownAction(c.Action) {
			return recipeError("%scolumn %s: unknown action %q (want %s)", at(c.Line), quoteName(c.Column), c.Action, actionList())
		}
		if line, dup := seen[c.Column]; dup {
			return recipeError("%scolumn %s is listed twice (first on line %d)", at(c.Line), quoteName(c.Column), line)
		}
		seen[c.Column] = c.Line
	}
	if k := r.KAnonymity; k != nil {
		if k.K < 2 {
			return recipeError("k_anonymity: k must be at least 2, not %d", k.K)
		}
		if len(k.QuasiIdentifiers) == 0 {
			return recipeError("k_anonymity: no quasi_identifiers")
		}
		qs := map[string]bool{}
		for _, q := range k.QuasiIdentifiers {
			if qs[q] {
				return recipeError("k_anonymity: quasi-identifier %s is listed twice", quoteName(q))
			}
			qs[q] = true
			if a := r.action(q); a == ActionDrop {
				return recipeError("k_anonymity: quasi-identifier %s is dropped by the recipe", quoteName(q))
			}
		}
	}
	return nil
}

// action returns the recipe's action for a column.
func (r *Recipe) action(name string) Action {
	for _, c := range r.Columns {
		if c.Column == name {
			return c.Action
		}
	}
	if r.Default == "" {
		return ActionKeep
	}
	return r.Default
}

// plan is a recipe resolved against a file's columns.
type plan struct {
	names   []string
	actions []Action // per input column
	out     []int    // the input column of each output column
	qi      []int    // output positions of the quasi-identifiers
	qiIn    []bool   // per input column: a quasi-identifier
	k       int
}

// plan resolves the recipe against the file's column names: every column
// the recipe names must be in the file, once.
func (r *Recipe) plan(names []string) (*plan, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	count := map[string]int{}
	for _, n := range names {
		count[n]++
	}
	for _, c := range r.Columns {
		switch count[c.Column] {
		case 0:
			return nil, recipeError("%scolumn %s is not in the file", at(c.Line), quoteName(c.Column))
		case 1:
		default:
			return nil, recipeError("%sthe file has %d columns named %s", at(c.Line), count[c.Column], quoteName(c.Column))
		}
	}
	p := &plan{names: names, actions: make([]Action, len(names)), qiIn: make([]bool, len(names))}
	pos := map[string]int{}
	for i, n := range names {
		p.actions[i] = r.action(n)
		if p.actions[i] != ActionDrop {
			pos[n] = len(p.out)
			p.out = append(p.out, i)
		}
	}
	if len(p.out) == 0 {
		return nil, recipeError("the recipe drops every column")
	}
	if k := r.KAnonymity; k != nil {
		p.k = k.K
		for _, q := range k.QuasiIdentifiers {
			if count[q] == 0 {
				return nil, recipeError("k_anonymity: quasi-identifier %s is not in the file", quoteName(q))
			}
			if count[q] > 1 {
				return nil, recipeError("k_anonymity: the file has %d columns named %s", count[q], quoteName(q))
			}
			o, ok := pos[q]
			if !ok {
				return nil, recipeError("k_anonymity: quasi-identifier %s is dropped by the recipe", quoteName(q))
			}
			p.qi = append(p.qi, o)
			p.qiIn[p.out[o]] = true
		}
	}
	return p, nil
}
