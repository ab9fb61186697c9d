package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

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
	res := &Result{Object: obj}
	for _, phase := range [][]Effect{{Modify, Append}, {Deny}, {Audit}} {
		for _, a := range applied {
			d := a.Policy.Def
			if !slices.Contains(phase, d.Effect) || !d.AppliesTo(in.Kind) {
				continue
			}
			step := in
			step.Object, step.Params = res.Object, a.Params
			o := Outcome{Policy: d.ID, Assignment: a.Assignment, Effect: d.Effect, Mode: a.Mode, Message: d.Message}
			matched, err := a.Policy.Matches(ctx, &step)
			if err != nil {
				o.Error, matched = err.Error(), true
			}
			if !matched {
				continue
			}
			switch d.Effect {
			case Modify, Append:
				if o.Error == "" {
					if o.Changes, err = a.Policy.Changes(ctx, &step); err != nil {
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
						return res, nil
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
				}
				res.Outcomes = append(res.Outcomes, o)
			case Deny:
				res.Outcomes = append(res.Outcomes, o)
				if a.Mode == Enforce {
					res.Denied = &res.Outcomes[len(res.Outcomes)-1]
					return res, nil
				}
			case Audit:
				res.Outcomes = append(res.Outcomes, o)
			}
		}
	}
	return res, nil
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

// Into writes a (possibly changed) resource map back into v.
func Into(m map[string]any, v any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
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
