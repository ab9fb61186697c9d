package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// A test directory holds definitions and fixtures as YAML files (.yaml or
// .yml; a file may hold several documents). A document with a condition is
// a definition; one with cases is a fixture:
//
//	policy: require-cost-center
//	cases:
//	  - name: a project without a cost centre is refused
//	    kind: project
//	    operation: create          # default create
//	    params: {}                 # the assignment's values
//	    principal: {name: alice}
//	    scope: /zones/eu
//	    object: {name: onc, tags: {}}
//	    oldObject: null            # the resource before an update
//	    expect: deny               # deny, audit, append, modify or none
//	    expectObject: {tags: {cost_center: unknown}}   # fields the result must have
//
// RunTests evaluates every case against its policy as an enforced
// assignment would and reports each result.

// Fixture is a set of example resources for one policy.
type Fixture struct {
	Policy string `yaml:"policy"`
	Cases  []Case `yaml:"cases"`
	file   string
}

// Case is one example resource and the effect it must meet.
type Case struct {
	Name         string         `yaml:"name"`
	Kind         string         `yaml:"kind"`
	Operation    string         `yaml:"operation"`
	Params       map[string]any `yaml:"params"`
	Principal    map[string]any `yaml:"principal"`
	Scope        string         `yaml:"scope"`
	Object       map[string]any `yaml:"object"`
	OldObject    map[string]any `yaml:"oldObject"`
	Parent       map[string]any `yaml:"parent"`
	Expect       string         `yaml:"expect"`
	ExpectObject map[string]any `yaml:"expectObject"`
}

// CaseResult is one case's verdict.
type CaseResult struct {
	File   string
	Policy string
	Case   string
	Got    string
	Passed bool
	Detail string
}

// LoadDir reads the definitions and fixtures of a directory (not its
// subdirectories).
func LoadDir(dir string) ([]*Definition, []*Fixture, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var defs []*Definition
	var fixtures []*Fixture
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		d, f, err := ParseDocuments(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, x := range f {
			x.file = name
		}
		defs, fixtures = append(defs, d...), append(fixtures, f...)
	}
	return defs, fixtures, nil
}

// ParseDocuments splits YAML documents into definitions and fixtures.
// Unknown keys are errors that name the key.
func ParseDocuments(raw []byte) ([]*Definition, []*Fixture, error) {
	var defs []*Definition
	var fixtures []*Fixture
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for i := 1; ; i++ {
		var node yaml.Node
		if err := dec.Decode(&node); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		var probe map[string]any
		if err := node.Decode(&probe); err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		strict := func(v any) error {
			b, _ := yaml.Marshal(&node)
			d := yaml.NewDecoder(bytes.NewReader(b))
			d.KnownFields(true)
			return d.Decode(v)
		}
		switch {
		case probe["cases"] != nil:
			var f Fixture
			if err := strict(&f); err != nil {
				return nil, nil, fmt.Errorf("document %d: %w", i, err)
			}
			fixtures = append(fixtures, &f)
		case probe["condition"] != nil:
			var d Definition
			if err := strict(&d); err != nil {
				return nil, nil, fmt.Errorf("document %d: %w", i, err)
			}
			defs = append(defs, &d)
		default:
			return nil, nil, fmt.Errorf("document %d is neither a definition (condition:) nor a fixture (cases:)", i)
		}
	}
	return defs, fixtures, nil
}

// RunTests compiles the definitions and runs every fixture's cases.
func RunTests(ctx context.Context, defs []*Definition, fixtures []*Fixture) ([]CaseResult, error) {
	compiled := map[string]*Compiled{}
	for _, d := range defs {
		c, err := Compile(d)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", d.ID, err)
		}
		if compiled[d.ID] != nil {
			return nil, fmt.Errorf("policy %s is defined twice", d.ID)
		}
		compiled[d.ID] = c
	}
	var out []CaseResult
	for _, f := range fixtures {
		c := compiled[f.Policy]
		if c == nil {
			return nil, fmt.Errorf("%s: fixture for unknown policy %q", f.file, f.Policy)
		}
		for i, tc := range f.Cases {
			r := CaseResult{File: f.file, Policy: f.Policy, Case: tc.Name}
			if r.Case == "" {
				r.Case = fmt.Sprintf("case %d", i+1)
			}
			r.Got, r.Detail = runCase(ctx, c, tc)
			want := tc.Expect
			if want == "" {
				want = "none"
			}
			r.Passed = r.Detail == "" && r.Got == want
			if r.Detail == "" && r.Got != want {
				r.Detail = fmt.Sprintf("expected %s, got %s", want, r.Got)
			}
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

func runCase(ctx context.Context, c *Compiled, tc Case) (got, problem string) {
	params, err := c.Def.Params(tc.Params)
	if err != nil {
		return "error", err.Error()
	}
	op := tc.Operation
	if op == "" {
		op = "create"
	}
	kind := tc.Kind
	if kind == "" && len(c.Def.Kinds) > 0 {
		kind = c.Def.Kinds[0]
	}
	in := Input{Kind: kind, Operation: op, Object: tc.Object, OldObject: tc.OldObject, Principal: tc.Principal,
		Scope: tc.Scope, Parent: tc.Parent}
	obj, err := Resource(in.Object)
	if err != nil {
		return "error", err.Error()
	}
	in.Object = obj
	res, err := Admit(ctx, in, []Applied{{Policy: c, Assignment: "test", Mode: Enforce, Params: params}})
	if err != nil {
		return "error", err.Error()
	}
	got = "none"
	for _, o := range res.Outcomes {
		if o.Error != "" {
			return string(o.Effect), "the policy could not be evaluated: " + o.Error
		}
		got = string(o.Effect)
	}
	for k, want := range tc.ExpectObject {
		if have, ok := lookup(res.Object, []string{k}); !ok || !subset(want, have) {
			return got, fmt.Sprintf("the resulting object's %s is %v, expected %v", k, have, want)
		}
	}
	return got, ""
}

// subset says whether want is contained in have: maps by key, other
// values by JSON equality.
func subset(want, have any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		w, _ := Resource(map[string]any{"v": want})
		h, _ := Resource(map[string]any{"v": have})
		return equalJSON(w, h)
	}
	hm, ok := have.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range wm {
		if !subset(v, hm[k]) {
			return false
		}
	}
	return true
}
