package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

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
		cel.Variable("parent", cel.DynType),
		// classification_rank orders classifications (public 1 …
		// restricted 4; anything else 0), so that conditions can compare them.
		cel.Function("classification_rank", cel.Overload("classification_rank_string",
			[]*cel.Type{cel.StringType}, cel.IntType, cel.UnaryBinding(func(v ref.Val) ref.Val {
				s, _ := v.Value().(string)
				return types.Int(enclave.Classification(s).Rank())
			}))),
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
	// uses are the variables its expressions read: admission converts
	// oldObject and parent only when some policy reads them.
	uses map[string]bool
}

// Uses says whether the definition's expressions read a variable.
func (c *Compiled) Uses(name string) bool { return c.uses[name] }

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
	c := &Compiled{Def: d, uses: map[string]bool{}}
	var err error
	if c.condition, err = compileExpr(d, "condition", d.Condition, cel.BoolType, c.uses); err != nil {
		return nil, err
	}
	for i, f := range d.Fields {
		p, err := compileExpr(d, fmt.Sprintf("fields[%d].value", i), f.Value, nil, c.uses)
		if err != nil {
			return nil, err
		}
		c.fields = append(c.fields, compiledField{path: strings.Split(f.Path, "."), value: p})
	}
	return c, nil
}

func compileExpr(d *Definition, field, src string, want *cel.Type, uses map[string]bool) (cel.Program, error) {
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
		if e.Kind() == ast.IdentKind {
			uses[e.AsIdent()] = true
		}
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
	// OptOptimize folds constants and compiles constant regular expressions
	// once, here, instead of at every evaluation. An expression whose
	// worst-case cost is bounded below the limit whatever its input (no
	// comprehension or string function over input of unknown size) runs
	// without the runtime cost tracker, which costs a third of an
	// evaluation; every other one is tracked and stopped at the limit.
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if est, err := env.EstimateCost(checked, unknownSizes{}); err != nil || est.Max > CostLimit {
		opts = append(opts, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	}
	prg, err := env.Program(checked, opts...)
	if err != nil {
		return nil, exprProblem(&ExprError{Field: field, Line: 1, Column: 1, Message: err.Error()})
	}
	return prg, nil
}

// unknownSizes is a cost estimator that knows nothing of the input: every
// list, map and string may be as large as can be.
type unknownSizes struct{}

func (unknownSizes) EstimateSize(checker.AstNode) *checker.SizeEstimate { return nil }

func (unknownSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

func exprProblem(e *ExprError) error {
	return &enclave.Error{Code: enclave.CodeInvalidArgument, Field: e.Field,
		Message: fmt.Sprintf("%s, line %d, column %d: %s", e.Field, e.Line, e.Column, e.Message), Err: e}
}

// Input is what an expression sees.
type Input struct {
	Kind      string
	Operation string // create, update or delete
	Object    map[string]any
	OldObject map[string]any // nil on create
	Principal map[string]any
	Scope     string
	Params    map[string]any
	// Parent is the resource the object lives in (a project's zone, an
	// environment's or a dataset's project), nil at the top.
	Parent map[string]any
}

// vars are an input's variables as CEL values, converted once and shared
// by every policy evaluated over the same input; only params differ.
type vars struct {
	object, oldObject, principal, parent, scope, operation ref.Val
}

func (in *Input) vars() *vars {
	a := types.DefaultTypeAdapter
	val := func(m map[string]any) ref.Val {
		if m == nil {
			return types.NullValue
		}
		return a.NativeToValue(m)
	}
	principal := in.Principal
	if principal == nil {
		principal = map[string]any{}
	}
	return &vars{object: val(in.Object), oldObject: val(in.OldObject), principal: a.NativeToValue(principal),
		parent: val(in.Parent), scope: types.String(in.Scope), operation: types.String(in.Operation)}
}

// activation resolves the variables of one policy's evaluation without
// building a map per evaluation.
type activation struct {
	v      *vars
	params ref.Val
}

func newActivation(v *vars, params map[string]any) *activation {
	if params == nil {
		params = map[string]any{}
	}
	return &activation{v: v, params: types.DefaultTypeAdapter.NativeToValue(params)}
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "object":
		return a.v.object, true
	case "oldObject":
		return a.v.oldObject, true
	case "principal":
		return a.v.principal, true
	case "parent":
		return a.v.parent, true
	case "scope":
		return a.v.scope, true
	case "operation":
		return a.v.operation, true
	case "params":
		return a.params, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// ErrCost means an expression exceeded its cost limit.
var ErrCost = errors.New("policy: the expression exceeded its cost limit")

func eval(ctx context.Context, p cel.Program, act *activation) (ref.Val, error) {
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
	return c.matches(ctx, newActivation(in.vars(), in.Params))
}

func (c *Compiled) matches(ctx context.Context, act *activation) (bool, error) {
	v, err := eval(ctx, c.condition, act)
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
	return c.changes(ctx, newActivation(in.vars(), in.Params), in.Object)
}

func (c *Compiled) changes(ctx context.Context, act *activation, obj map[string]any) ([]Change, error) {
	var out []Change
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
		cur, present := lookup(obj, f.path)
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
