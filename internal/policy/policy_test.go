package policy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/policy"
)

// TestBuiltinFixtures runs every built-in policy against its compliant and
// non-compliant examples.
func TestBuiltinFixtures(t *testing.T) {
	defs, fixtures, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) < 3 || len(fixtures) < 3 {
		t.Fatalf("%d definitions, %d fixtures", len(defs), len(fixtures))
	}
	covered := map[string]bool{}
	for _, f := range fixtures {
		covered[f.Policy] = true
	}
	for _, d := range defs {
		if !covered[d.ID] {
			t.Errorf("built-in policy %s has no fixture", d.ID)
		}
	}
	results, err := policy.RunTests(context.Background(), defs, fixtures)
	if err != nil {
		t.Fatal(err)
	}
	effects := map[string]map[string]bool{}
	for _, r := range results {
		if !r.Passed {
			t.Errorf("%s / %s: %s", r.Policy, r.Case, r.Detail)
		}
		if effects[r.Policy] == nil {
			effects[r.Policy] = map[string]bool{}
		}
		effects[r.Policy][r.Got] = true
	}
	for id, got := range effects {
		if !got["none"] || len(got) < 2 {
			t.Errorf("policy %s lacks a compliant or a non-compliant example: %v", id, got)
		}
	}
}

func compileErr(t *testing.T, d policy.Definition) *enclave.Error {
	t.Helper()
	_, err := policy.Compile(&d)
	var e *enclave.Error
	if !errors.As(err, &e) || e.Code != enclave.CodeInvalidArgument {
		t.Fatalf("compile %s: %v", d.Condition, err)
	}
	return e
}

func TestCompileErrorsPointIntoTheExpression(t *testing.T) {
	base := policy.Definition{ID: "p", Kinds: []string{"project"}, Effect: policy.Deny}
	d := base
	d.Condition = "object.tags.size() > 0 &&\n  object.name ==== 'x'"
	if e := compileErr(t, d); e.Field != "condition" || !strings.Contains(e.Message, "line 2, column") {
		t.Fatalf("syntax error: %+v", e)
	}
	d.Condition = "object.name + 1"
	if e := compileErr(t, d); !strings.Contains(e.Message, "line 1") {
		t.Fatalf("type error: %+v", e)
	}
	d.Condition = "'a string'"
	if e := compileErr(t, d); !strings.Contains(e.Message, "not bool") {
		t.Fatalf("non-bool condition: %+v", e)
	}
	d.Condition = "object.x == params.missing"
	if e := compileErr(t, d); !strings.Contains(e.Message, "params.missing") || !strings.Contains(e.Message, "column 13") {
		t.Fatalf("undeclared parameter: %+v", e)
	}
	d.Condition = "nosuchvar == 1"
	compileErr(t, d)
	d = base
	d.Effect, d.Condition = policy.Append, "true"
	if e := compileErr(t, d); e.Field != "fields" {
		t.Fatalf("append without fields: %+v", e)
	}
	d.Fields = []policy.Field{{Path: "tags.owner", Value: "1 +"}}
	if e := compileErr(t, d); e.Field != "fields[0].value" {
		t.Fatalf("bad field value: %+v", e)
	}
	d.Fields = []policy.Field{{Path: "name", Value: "'x'"}}
	if e := compileErr(t, d); e.Field != "fields[0].path" {
		t.Fatalf("changing the name: %+v", e)
	}
	for _, bad := range []policy.Definition{
		{ID: "Bad ID", Kinds: []string{"x"}, Effect: policy.Deny, Condition: "true"},
		{ID: "p", Kinds: nil, Effect: policy.Deny, Condition: "true"},
		{ID: "p", Kinds: []string{"x"}, Effect: "block", Condition: "true"},
		{ID: "p", Kinds: []string{"x"}, Effect: policy.Deny, Condition: "true", Parameters: map[string]policy.Parameter{"n": {Type: "float"}}},
		{ID: "p", Kinds: []string{"x"}, Effect: policy.Deny, Condition: "true", Parameters: map[string]policy.Parameter{"n": {Type: "int", Default: "ten"}}},
	} {
		compileErr(t, bad)
	}
}

func TestEvaluationCostIsBounded(t *testing.T) {
	d := &policy.Definition{ID: "slow", Kinds: []string{"*"}, Effect: policy.Deny,
		Condition: "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))"}
	c, err := policy.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Matches(context.Background(), &policy.Input{Kind: "x", Object: map[string]any{}})
	if !errors.Is(err, policy.ErrCost) {
		t.Fatalf("an expensive condition: %v", err)
	}
	// Admission fails closed: a deny that cannot be evaluated denies.
	res, err := policy.Admit(context.Background(), policy.Input{Kind: "x", Operation: "create", Object: map[string]any{}},
		[]policy.Applied{{Policy: c, Mode: policy.Enforce}})
	if err != nil || res.Denied == nil || res.Denied.Error == "" {
		t.Fatalf("admission of an unevaluable deny: %+v %v", res, err)
	}
}

func mustCompile(t *testing.T, d *policy.Definition) *policy.Compiled {
	t.Helper()
	c, err := policy.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAdmissionOrder: modify/append first (deny and audit see the result),
// then deny, then audit; dry-run changes nothing and records what
// enforcing would have done.
func TestAdmissionOrder(t *testing.T) {
	ctx := context.Background()
	tag := mustCompile(t, &policy.Definition{ID: "tag", Kinds: []string{"project"}, Effect: policy.Modify,
		Condition: "true", Fields: []policy.Field{{Path: "tags.env", Value: "'research'"}}})
	denyUntagged := mustCompile(t, &policy.Definition{ID: "need-env", Kinds: []string{"project"}, Effect: policy.Deny,
		Condition: "!has(object.tags) || !('env' in object.tags)", Message: "tag env"})
	auditBig := mustCompile(t, &policy.Definition{ID: "big", Kinds: []string{"project"}, Effect: policy.Audit,
		Condition: "object.size > params.max", Parameters: map[string]policy.Parameter{"max": {Type: "int", Default: 10}}})
	other := mustCompile(t, &policy.Definition{ID: "zones-only", Kinds: []string{"zone"}, Effect: policy.Deny, Condition: "true"})
	params, err := auditBig.Def.Params(nil)
	if err != nil {
		t.Fatal(err)
	}
	in := policy.Input{Kind: "project", Operation: "create", Object: map[string]any{"name": "onc", "size": 50}}
	all := []policy.Applied{
		{Policy: denyUntagged, Mode: policy.Enforce}, {Policy: auditBig, Mode: policy.Enforce, Params: params},
		{Policy: other, Mode: policy.Enforce}, {Policy: tag, Mode: policy.Enforce},
	}
	res, err := policy.Admit(ctx, in, all)
	if err != nil || res.Denied != nil {
		t.Fatalf("the modify should have satisfied the deny: %+v %v", res, err)
	}
	if got := res.Object["tags"].(map[string]any)["env"]; got != "research" {
		t.Fatalf("object after admission: %v", res.Object)
	}
	if len(res.Outcomes) != 2 || res.Outcomes[0].Policy != "tag" || res.Outcomes[1].Policy != "big" {
		t.Fatalf("outcomes %+v", res.Outcomes)
	}
	if _, ok := in.Object["tags"]; ok {
		t.Fatal("admission changed the caller's object")
	}
	// The modify in dry-run: the deny now refuses, and the would-be change is recorded.
	all[3].Mode = policy.DryRun
	res, _ = policy.Admit(ctx, in, all)
	if res.Denied == nil || res.Denied.Policy != "need-env" || res.Denied.Message != "tag env" {
		t.Fatalf("deny after a dry-run modify: %+v", res)
	}
	if res.Outcomes[0].Mode != policy.DryRun || len(res.Outcomes[0].Changes) != 1 {
		t.Fatalf("dry-run record: %+v", res.Outcomes[0])
	}
	// The deny in dry-run too: nothing refused, both recorded, audit still runs.
	all[0].Mode = policy.DryRun
	res, _ = policy.Admit(ctx, in, all)
	if res.Denied != nil || len(res.Outcomes) != 3 {
		t.Fatalf("all dry-run: %+v", res)
	}
	// Append leaves fields that are there.
	app := mustCompile(t, &policy.Definition{ID: "owner", Kinds: []string{"*"}, Effect: policy.Append, Condition: "true",
		Fields: []policy.Field{{Path: "tags.owner", Value: "'team'"}}})
	res, _ = policy.Admit(ctx, policy.Input{Kind: "zone", Operation: "update", Object: map[string]any{"tags": map[string]any{"owner": "me"}}},
		[]policy.Applied{{Policy: app, Mode: policy.Enforce}})
	if len(res.Outcomes) != 0 || res.Object["tags"].(map[string]any)["owner"] != "me" {
		t.Fatalf("append over a value: %+v", res)
	}
}

func TestPolicyTestDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(`id: no-public
kinds: [dataset]
condition: object.classification == "public" && params.strict
effect: deny
parameters:
  strict: {type: bool, default: true}
---
policy: no-public
cases:
  - name: public is refused
    object: {classification: public}
    expect: deny
  - name: internal passes
    object: {classification: internal}
    expect: deny
`), 0o600)
	defs, fixtures, err := policy.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := policy.RunTests(context.Background(), defs, fixtures)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || !res[0].Passed || res[1].Passed || !strings.Contains(res[1].Detail, "expected deny, got none") {
		t.Fatalf("results %+v", res)
	}
	os.WriteFile(filepath.Join(dir, "q.yaml"), []byte("id: x\nkinds: [a]\ncondition: 'true'\neffect: deny\nunknown: 1\n"), 0o600)
	if _, _, err := policy.LoadDir(dir); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Fatalf("unknown key: %v", err)
	}
}

// TestIntoReplacesMapsAndKeepsHiddenFields: a policy's changes are written
// back into the service's struct: a map it set is the map it set (not
// merged with the old one), and fields the JSON form hides stay.
func TestIntoReplacesMapsAndKeepsHiddenFields(t *testing.T) {
	type res struct {
		Name   string            `json:"name"`
		Tags   map[string]string `json:"tags"`
		Secret string            `json:"-"`
	}
	r := &res{Name: "onc", Tags: map[string]string{"a": "1", "b": "2"}, Secret: "s3cret"}
	m, err := policy.Resource(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m["Secret"]; ok {
		t.Fatal("a hidden field reached the policy input")
	}
	m["tags"] = map[string]any{"a": "9"}
	if err := policy.Into(m, r); err != nil {
		t.Fatal(err)
	}
	if len(r.Tags) != 1 || r.Tags["a"] != "9" || r.Secret != "s3cret" || r.Name != "onc" {
		t.Fatalf("written back: %+v", r)
	}
}
