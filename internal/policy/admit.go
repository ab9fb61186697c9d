package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"google.golang.org/protobuf/types/known/structpb"
)

// Mode is how an assignment applies its policy.
type Mode string

// The modes: enforce applies the effect; dry-run records what enforcing
// would have done and changes nothing.
const (
	Enforce Mode = "enforce"
	DryRun  Mode = "dry-run"
)

// Applied is a compiled definition as one assignment applies it.
type Applied struct {
	Policy     *Compiled
	Assignment string
	Mode       Mode
	// Params are the assignment's values, resolved against the definition.
	Params map[string]any
	// params is Params as a CEL value, converted once per assignment.
	params ref.Val
}

// paramsVal returns the parameters as a CEL value.
func (a *Applied) paramsVal() ref.Val {
	if a.params == nil {
		p := a.Params
		if p == nil {
			p = map[string]any{}
		}
		a.params = types.DefaultTypeAdapter.NativeToValue(p)
	}
	return a.params
}

// Outcome is what one applied policy did, or would have done, to a change.
type Outcome struct {
	Policy     string   `json:"policy"`
	Assignment string   `json:"assignment,omitempty"`
	Effect     Effect   `json:"effect"`
	Mode       Mode     `json:"mode"`
	Message    string   `json:"message,omitempty"`
	Changes    []Change `json:"changes,omitempty"`
	// Error says the condition could not be evaluated; deny and audit
	// then count as matched (admission fails closed).
	Error string `json:"error,omitempty"`
}

// Result is the outcome of admission.
type Result struct {
	// Object is the resource after the enforced appends and modifies.
	Object map[string]any
	// Denied is the enforced deny that refused the change, if any.
	Denied *Outcome
	// Outcomes lists every policy that matched, in evaluation order.
	Outcomes []Outcome
}

// Admit runs the applied policies over a create or update, in the order
// modify/append → deny → audit: the enforced changes are made to a copy of
// the object first, so deny and audit judge the resource as it would be
// stored. Disabled policies and those for other kinds are skipped.
func Admit(ctx context.Context, in Input, applied []Applied) (*Result, error) {
	obj, err := deepCopy(in.Object)
	if err != nil {
		return nil, err
	}
	in.Object = obj
	return admit(ctx, in, applied), nil
}

// admit is Admit over an object the caller owns: its changes are made in place.
func admit(ctx context.Context, in Input, applied []Applied) *Result {
	if in.Object == nil {
		in.Object = map[string]any{}
	}
	res := &Result{Object: in.Object}
	v := in.vars()
	for _, phase := range [][]Effect{{Modify, Append}, {Deny}, {Audit}} {
		for i := range applied {
			a := &applied[i]
			d := a.Policy.Def
			if !slices.Contains(phase, d.Effect) || !d.AppliesTo(in.Kind) || !d.Judges(in.Operation) {
				continue
			}
			act := &activation{v: v, params: a.paramsVal()}
			o := Outcome{Policy: d.ID, Assignment: a.Assignment, Effect: d.Effect, Mode: a.Mode, Message: d.Message}
			matched, err := a.Policy.matches(ctx, act)
			if err != nil {
				o.Error, matched = err.Error(), true
			}
			if !matched {
				continue
			}
			switch d.Effect {
			case Modify, Append:
				if o.Error == "" {
					if o.Changes, err = a.Policy.changes(ctx, act, res.Object); err != nil {
						o.Error = err.Error()
					}
				}
				if o.Error != "" {
					// A policy that should change the resource and cannot
					// is not skipped: the change is refused.
					o.Effect = Deny
					if a.Mode == Enforce {
						res.Outcomes = append(res.Outcomes, o)
						res.Denied = &res.Outcomes[len(res.Outcomes)-1]
						return res
					}
					res.Outcomes = append(res.Outcomes, o)
					continue
				}
				if len(o.Changes) == 0 {
					continue // already compliant
				}
				if a.Mode == Enforce {
					for _, c := range o.Changes {
						set(res.Object, c.Path, c.New)
					}
					v = in.vars() // later policies judge the changed object
				}
				res.Outcomes = append(res.Outcomes, o)
			case Deny:
				res.Outcomes = append(res.Outcomes, o)
				if a.Mode == Enforce {
					res.Denied = &res.Outcomes[len(res.Outcomes)-1]
					return res
				}
			case Audit:
				res.Outcomes = append(res.Outcomes, o)
			}
		}
	}
	return res
}

// Resource turns a resource into the map policies see: its JSON form.
func Resource(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("policy: a resource must be a JSON object: %w", err)
	}
	return m, nil
}

// Into writes a (possibly changed) resource map back into v, a pointer to
// a struct. Fields the JSON form does not carry (json:"-": secrets, IDs
// kept for the service) are left as they are; maps and slices it carries
// are replaced, not merged, so a policy that sets a smaller map is obeyed.
func Into(m map[string]any, v any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Struct {
		st := rv.Elem()
		for i := range st.NumField() {
			f := st.Type().Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			if k := f.Type.Kind(); k == reflect.Map || k == reflect.Slice {
				st.Field(i).SetZero()
			}
		}
	}
	return json.Unmarshal(b, v)
}

func deepCopy(m map[string]any) (map[string]any, error) {
	if m == nil {
		return map[string]any{}, nil
	}
	return Resource(m)
}

// valueType is what field values convert to from CEL: JSON values.
var valueType = reflect.TypeOf(&structpb.Value{})

func lookup(obj map[string]any, path []string) (any, bool) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// set writes v at a dotted path, creating the maps on the way.
func set(obj map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	cur := obj
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = v
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// nativeValue turns a CEL value into a JSON value.
func nativeValue(v any) any {
	if pv, ok := v.(*structpb.Value); ok {
		return pv.AsInterface()
	}
	return v
}
