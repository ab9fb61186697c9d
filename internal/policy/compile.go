package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// CostLimit bounds the work one expression may do in one evaluation (CEL
// cost units: roughly one per operation, more for string and list work).
const CostLimit = 100_000

// env is the CEL environment every expression is checked in.
var env = func() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable("object", cel.DynType),
		cel.Variable("oldObject", cel.DynType),
		cel.Variable("principal", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("scope", cel.StringType),
		cel.Variable("operation", cel.StringType),
		cel.Variable("params", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		panic(err)
	}
	return e
}()

// ExprError is a compile error that points into an expression.
type ExprError struct {
	// Field names the expression: condition or fields[i].value.
	Field   string
	Line    int
	Column  int
	Message string
}

func (e *ExprError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Field, e.Line, e.Column, e.Message)
}

// Compiled is a definition ready to evaluate.
type Compiled struct {
	Def       *Definition
	condition cel.Program
	fields    []compiledField
}

type compiledField struct {
	path  []string
	value cel.Program
}

// Compile validates a definition and type-checks its expressions; errors
// are invalid_argument problems naming the expression, line and column.
func Compile(d *Definition) (*Compiled, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	c := &Compiled{Def: d}
	var err error
	if c.condition, err = compileExpr(d, "condition", d.Condition, cel.BoolType); err != nil {
		return nil, err
	}
	for i, f := range d.Fields {
		p, err := compileExpr(d, fmt.Sprintf("fields[%d].value", i), f.Value, nil)
		if err != nil {
			return nil, err
		}
		c.fields = append(c.fields, compiledField{path: strings.Split(f.Path, "."), value: p})
	}
	return c, nil
}

func compileExpr(d *Definition, field, src string, want *cel.Type) (cel.Program, error) {
	checked, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		errs := iss.Errors()
		e := &ExprError{Field: field, Message: iss.Err().Error()}
		if len(errs) > 0 {
			e.Line, e.Column, e.Message = errs[0].Location.Line(), errs[0].Location.Column()+1, errs[0].Message
		}
		return nil, exprProblem(e)
	}
	if want != nil && !checked.OutputType().IsExactType(want) && !checked.OutputType().IsExactType(cel.DynType) {
		return nil, exprProblem(&ExprError{Field: field, Line: 1, Column: 1,
			Message: fmt.Sprintf("the expression is of type %s, not %s", checked.OutputType(), want)})
	}
	// params.X must name a declared parameter: a typo would otherwise
	// fail only when the policy runs.
	var bad *ExprError
	ast.PostOrderVisit(checked.NativeRep().Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if bad != nil || e.Kind() != ast.SelectKind {
			return
		}
		sel := e.AsSelect()
		if op := sel.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "params" {
			if _, ok := d.Parameters[sel.FieldName()]; !ok {
				loc := checked.NativeRep().SourceInfo().GetStartLocation(op.ID())
				bad = &ExprError{Field: field, Line: loc.Line(), Column: loc.Column() + 1,
					Message: fmt.Sprintf("params.%s: the policy declares no parameter %s", sel.FieldName(), sel.FieldName())}
			}
		}
	}))
	if bad != nil {
		return nil, exprProblem(bad)
	}
	prg, err := env.Program(checked, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, exprProblem(&ExprError{Field: field, Line: 1, Column: 1, Message: err.Error()})
	}
	return prg, nil
}

func exprProblem(e *ExprError) error {
	return &enclave.Error{Code: enclave.CodeInvalidArgument, Field: e.Field,
		Message: fmt.Sprintf("%s, line %d, column %d: %s", e.Field, e.Line, e.Column, e.Message), Err: e}
}

// Input is what an expression sees.
type Input struct {
	Kind      string
	Operation string // create or update
	Object    map[string]any
	OldObject map[string]any // nil on create
	Principal map[string]any
	Scope     string
	Params    map[string]any
}

func (in *Input) activation() map[string]any {
	var old any
	if in.OldObject != nil {
		old = in.OldObject
	}
	principal := in.Principal
	if principal == nil {
		principal = map[string]any{}
	}
	params := in.Params
	if params == nil {
		params = map[string]any{}
	}
	return map[string]any{"object": in.Object, "oldObject": old, "principal": principal, "scope": in.Scope,
		"operation": in.Operation, "params": params}
}

// ErrCost means an expression exceeded its cost limit.
var ErrCost = errors.New("policy: the expression exceeded its cost limit")

func eval(ctx context.Context, p cel.Program, act map[string]any) (ref.Val, error) {
	v, _, err := p.ContextEval(ctx, act)
	if err != nil {
		if strings.Contains(err.Error(), "cost limit") {
			return nil, fmt.Errorf("%w: %v", ErrCost, err)
		}
		return nil, err
	}
	return v, nil
}

// Matches evaluates the condition. An evaluation error (a missing field,
// the cost limit) is returned; admission treats it as a match for deny and
// audit, failing closed.
func (c *Compiled) Matches(ctx context.Context, in *Input) (bool, error) {
	v, err := eval(ctx, c.condition, in.activation())
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("policy %s: the condition gave %s, not a bool", c.Def.ID, v.Type())
	}
	return bool(b), nil
}

// Change is one field an append or modify policy sets.
type Change struct {
	Path string `json:"path"`
	Old  any    `json:"old,omitempty"`
	New  any    `json:"new"`
}

// Changes evaluates the fields an append or modify policy sets on obj:
// append only those absent, modify those that differ.
func (c *Compiled) Changes(ctx context.Context, in *Input) ([]Change, error) {
	var out []Change
	act := in.activation()
	for i, f := range c.fields {
		v, err := eval(ctx, f.value, act)
		if err != nil {
			return nil, fmt.Errorf("fields[%d]: %w", i, err)
		}
		pv, err := v.ConvertToNative(valueType)
		if err != nil {
			return nil, fmt.Errorf("fields[%d]: %w", i, err)
		}
		nv := nativeValue(pv)
		cur, present := lookup(in.Object, f.path)
		if c.Def.Effect == Append && present {
			continue
		}
		if present && equalJSON(cur, nv) {
			continue
		}
		out = append(out, Change{Path: c.Def.Fields[i].Path, Old: cur, New: nv})
	}
	return out, nil
}
