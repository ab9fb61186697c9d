// Package policy holds guardrails as code: definitions that deny, audit,
// append to or modify a resource whenever it is created or changed,
// written as CEL conditions (cel.dev/cel-go, the engine Kubernetes
// admission uses) with effects modelled on Azure Policy.
//
// A definition is type-checked when it is compiled; its errors point into
// the expression (line and column). Evaluation has a cost limit, so no
// condition can stall admission. Resources reach the engine as their JSON
// form (a map), so any resource kind is subject to policy without the
// engine knowing it.
package policy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Effect is what a definition does to a resource its condition matches.
type Effect string

// The effects, applied in the order modify/append → deny → audit.
const (
	Deny     Effect = "deny"
	Audit    Effect = "audit"
	Append   Effect = "append" // sets fields that are absent
	Modify   Effect = "modify" // sets fields whatever they hold
	Disabled Effect = "disabled"
)

func (e Effect) valid() bool {
	return slices.Contains([]Effect{Deny, Audit, Append, Modify, Disabled}, e)
}

// Definition is one guardrail.
type Definition struct {
	ID          string `json:"id" yaml:"id"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Kinds are the resource kinds it applies to ("zone", "project", …;
	// "*" for every kind).
	Kinds []string `json:"kinds" yaml:"kinds"`
	// Operations are the operations it judges: create, update, delete.
	// Without a list, creates and updates — a guardrail does not stand in
	// the way of removing what breaks it unless it says so. A compliance
	// scan judges existing resources by every policy for create or update.
	Operations []string `json:"operations,omitempty" yaml:"operations"`
	// Condition is a CEL expression of type bool over object, oldObject
	// (null on create), principal, scope, operation ("create" or "update")
	// and params. True means the effect applies.
	Condition string `json:"condition" yaml:"condition"`
	Effect    Effect `json:"effect" yaml:"effect"`
	// Message explains a denial or a non-compliance to whoever meets it.
	Message string `json:"message,omitempty" yaml:"message"`
	// Fields are what append and modify set: each a dotted path into the
	// object and a CEL expression for its value.
	Fields []Field `json:"fields,omitempty" yaml:"fields"`
	// Parameters are the definition's inputs, given per assignment.
	Parameters map[string]Parameter `json:"parameters,omitempty" yaml:"parameters"`
}

// Field is a field that append or modify sets.
type Field struct {
	Path  string `json:"path" yaml:"path"`
	Value string `json:"value" yaml:"value"`
}

// Parameter is a definition's input.
type Parameter struct {
	// Type is string, int, bool, list or map.
	Type        string `json:"type" yaml:"type"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Default is used when an assignment gives no value; without one the
	// value is required.
	Default any `json:"default,omitempty" yaml:"default"`
}

var (
	idRe   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)
	pathRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-zA-Z0-9_-]+)*$`)
	// Kinds are resource kinds: lower-case names with dots or dashes.
	kindRe = regexp.MustCompile(`^(\*|[a-z][a-z0-9.-]{0,62})$`)
	// Parameter names are CEL identifiers.
	paramRe = regexp.MustCompile(`^[a-z_][a-zA-Z0-9_]{0,62}$`)
)

// platformFields are what identifies a resource and its lifecycle: the
// platform keeps them, no policy sets them (a state change has rules of its
// own that an amendment would skip).
var platformFields = []string{"id", "name", "state", "created_at", "created_by", "updated_at", "updated_by", "deleted_at"}

// Validate checks a definition's shape; Compile checks its expressions.
func (d *Definition) Validate() error {
	if !idRe.MatchString(d.ID) {
		return enclave.FieldError("id", "id must be a lowercase name of letters, digits and '-' (at most 64)")
	}
	if len(d.Description) > 2000 || len(d.Message) > 1000 {
		return enclave.FieldError("description", "description (2000) or message (1000) is too long")
	}
	if len(d.Kinds) == 0 {
		return enclave.FieldError("kinds", "kinds names the resource kinds the policy applies to (or *)")
	}
	for _, k := range d.Kinds {
		if !kindRe.MatchString(k) {
			return enclave.FieldError("kinds", "%q is not a resource kind", k)
		}
	}
	for _, op := range d.Operations {
		if !slices.Contains([]string{"create", "update", "delete"}, op) {
			return enclave.FieldError("operations", "%q is not an operation (create, update, delete)", op)
		}
	}
	if !d.Effect.valid() {
		return enclave.FieldError("effect", "effect must be deny, audit, append, modify or disabled")
	}
	if strings.TrimSpace(d.Condition) == "" {
		return enclave.FieldError("condition", "condition is required")
	}
	if len(d.Condition) > 8192 {
		return enclave.FieldError("condition", "condition is longer than 8192 characters")
	}
	switch d.Effect {
	case Append, Modify:
		if len(d.Fields) == 0 {
			return enclave.FieldError("fields", "an %s policy names the fields it sets", d.Effect)
		}
	default:
		if len(d.Fields) > 0 {
			return enclave.FieldError("fields", "only append and modify policies set fields")
		}
	}
	for i, f := range d.Fields {
		if !pathRe.MatchString(f.Path) || len(f.Path) > 256 {
			return enclave.FieldError(fmt.Sprintf("fields[%d].path", i), "%q is not a field path (name.name…)", f.Path)
		}
		if slices.Contains(platformFields, strings.SplitN(f.Path, ".", 2)[0]) {
			return enclave.FieldError(fmt.Sprintf("fields[%d].path", i), "a policy cannot change a resource's %s: the platform keeps it", f.Path)
		}
	}
	names := make([]string, 0, len(d.Parameters))
	for n := range d.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := d.Parameters[n]
		if !paramRe.MatchString(n) {
			return enclave.FieldError("parameters", "%q is not a parameter name", n)
		}
		if !slices.Contains([]string{"string", "int", "bool", "list", "map"}, p.Type) {
			return enclave.FieldError("parameters."+n+".type", "type must be string, int, bool, list or map")
		}
		if p.Default != nil {
			if _, err := coerce(p.Type, p.Default); err != nil {
				return enclave.FieldError("parameters."+n+".default", "default: %v", err)
			}
		}
	}
	return nil
}

// AppliesTo says whether the definition covers a resource kind.
func (d *Definition) AppliesTo(kind string) bool {
	return slices.Contains(d.Kinds, "*") || slices.Contains(d.Kinds, kind)
}

// Judges says whether the definition judges an operation ("scan" is a
// compliance scan of an existing resource).
func (d *Definition) Judges(op string) bool {
	ops := d.Operations
	if len(ops) == 0 {
		ops = []string{"create", "update"}
	}
	if op == "scan" {
		return slices.Contains(ops, "create") || slices.Contains(ops, "update")
	}
	return slices.Contains(ops, op)
}

// Params resolves an assignment's parameter values against the
// definition's parameters: defaults fill gaps, types are checked, unknown
// names and missing required values are refused.
func (d *Definition) Params(given map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for n := range given {
		if _, ok := d.Parameters[n]; !ok {
			return nil, enclave.FieldError("params."+n, "policy %s has no parameter %s", d.ID, n)
		}
	}
	for n, p := range d.Parameters {
		v, ok := given[n]
		if !ok || v == nil {
			if p.Default == nil {
				return nil, enclave.FieldError("params."+n, "policy %s needs a value for %s", d.ID, n)
			}
			v = p.Default
		}
		c, err := coerce(p.Type, v)
		if err != nil {
			return nil, enclave.FieldError("params."+n, "%s: %v", n, err)
		}
		out[n] = c
	}
	return out, nil
}

// coerce checks v against a parameter type and normalises it to what CEL
// expects (int64 for int, []any, map[string]any).
func coerce(typ string, v any) (any, error) {
	switch typ {
	case "string":
		if s, ok := v.(string); ok {
			return s, nil
		}
	case "bool":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case "int":
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case int64:
			return n, nil
		case uint64:
			if n <= 1<<63-1 {
				return int64(n), nil
			}
		case float64:
			if n == float64(int64(n)) {
				return int64(n), nil
			}
		}
	case "list":
		if l, ok := v.([]any); ok {
			return l, nil
		}
	case "map":
		switch m := v.(type) {
		case map[string]any:
			return m, nil
		case map[any]any:
			out := map[string]any{}
			for k, val := range m {
				ks, ok := k.(string)
				if !ok {
					return nil, fmt.Errorf("map keys must be strings")
				}
				out[ks] = val
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("want a %s, got %T", typ, v)
}
