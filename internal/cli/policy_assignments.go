package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// policyAssignmentColumns is the table of policy assignments.
var policyAssignmentColumns = []column[*policy.Assignment]{
	{"NAME", func(a *policy.Assignment) string { return a.Name }},
	{"POLICY", func(a *policy.Assignment) string { return a.Definition }},
	{"SCOPE", func(a *policy.Assignment) string { return a.Scope }},
	{"MODE", func(a *policy.Assignment) string { return string(a.Mode) }},
	{"PARAMS", func(a *policy.Assignment) string { return truncate(formatParams(a.Params), 48) }},
	{"UPDATED", func(a *policy.Assignment) string { return formatTime(a.UpdatedAt) }},
	{"DESCRIPTION", func(a *policy.Assignment) string { return truncate(a.Description, 40) }},
}

// policyModes are the values of --mode.
var policyModes = []string{string(policy.Enforce), string(policy.DryRun)}

func checkMode(cmd *cobra.Command, mode string) error {
	if cmd.Flags().Changed("mode") && !slices.Contains(policyModes, mode) {
		return usageError{fmt.Errorf("--mode must be enforce or dry-run")}
	}
	return nil
}

func newPolicyAssignCommand(app *App) *cobra.Command {
	var in policy.AssignmentCreate
	var mode string
	var params []string
	cmd := &cobra.Command{
		Use:   "assign POLICY --name NAME --scope SCOPE [--mode enforce|dry-run] [--param NAME=VALUE ...]",
		Short: "Assign a policy at the platform, a zone or a project, enforced or dry-run",
		Long: "Assign a policy definition at a scope (/, /zones/ZONE or /zones/ZONE/projects/PROJECT); it applies\n" +
			"to every change of the resources it covers at and below the scope. In dry-run mode a change that\n" +
			"enforcing would refuse or amend goes through unchanged and the audit trail records a policy.dryrun\n" +
			"event: switch to enforce with `enclave policy assignment set NAME --mode enforce`.\n" +
			"--param values are YAML: --param max_hours=24 is a number, --param kinds=[a,b] a list,\n" +
			"--param limits={cpu: 4} a map; a string parameter takes the text as it is.",
		Example: "  enclave policy assign require-cost-center-tag --name cost-centers --scope /zones/eu --mode dry-run\n" +
			"  enclave policy assign token-max-lifetime --name short-tokens --scope / --param max_hours=24",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completePolicyArg,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			_, err := splitParams(params)
			return errors.Join(requireFlags(cmd, "name", "scope"), checkMode(cmd, mode), err)
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Definition, in.Mode = args[0], policy.Mode(mode)
			if len(params) > 0 {
				def, err := c.GetPolicy(cmd.Context(), in.Definition)
				if err != nil {
					return err
				}
				raw, _ := splitParams(params)
				if in.Params, err = typedParams(&def.Definition, raw); err != nil {
					return err
				}
			}
			a, err := c.CreatePolicyAssignment(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, a, policyAssignmentColumns)
		}),
	}
	cmd.Flags().StringVar(&in.Name, "name", "", "name of the assignment (required)")
	cmd.Flags().StringVar(&in.Scope, "scope", "", "where it applies: /, /zones/ZONE or /zones/ZONE/projects/PROJECT (required)")
	cmd.Flags().StringVar(&mode, "mode", "", "enforce (default) or dry-run")
	cmd.Flags().StringArrayVar(&params, "param", nil, "parameter as name=value, the value in YAML (repeatable)")
	cmd.Flags().StringVar(&in.Description, "description", "", "why the policy is assigned here")
	_ = cmd.RegisterFlagCompletionFunc("mode", fixedCompletion(policyModes...))
	return cmd
}

func newPolicyAssignmentsCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "assignments",
		Short: "List policy assignments",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			as, err := client.Collect(cmd.Context(), 0, func(ctx context.Context, p enclave.Page) ([]*policy.Assignment, string, error) {
				return c.ListPolicyAssignments(ctx, p)
			})
			if err != nil {
				return err
			}
			return printList(app, as, policyAssignmentColumns)
		}),
	}
}

// newPolicyAssignmentCommand returns "enclave policy assignment": one assignment.
func newPolicyAssignmentCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assignment",
		Short: "Show or change one policy assignment",
		Args:  noArgs,
		RunE:  showHelp,
	}
	cmd.AddCommand(newPolicyAssignmentShowCommand(app), newPolicyAssignmentSetCommand(app))
	return cmd
}

func newPolicyAssignmentShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a policy assignment",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completeAssignmentArg,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			a, err := c.GetPolicyAssignment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, a, policyAssignmentColumns)
		}),
	}
}

func newPolicyAssignmentSetCommand(app *App) *cobra.Command {
	var mode, description string
	var params []string
	var clearParams bool
	cmd := &cobra.Command{
		Use:   "set NAME [--mode enforce|dry-run] [--param NAME=VALUE ...] [--clear-params] [--description TEXT]",
		Short: "Change an assignment's mode, parameters or description",
		Long: "Change an assignment. Only the flags given change. --param sets one parameter and keeps the\n" +
			"others; --clear-params drops them all first (their defaults apply again). Switching --mode from\n" +
			"dry-run to enforce is how a guardrail goes live.",
		Example: "  enclave policy assignment set cost-centers --mode enforce\n" +
			"  enclave policy assignment set short-tokens --param max_hours=48",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completeAssignmentArg,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireOneOf(cmd, "mode", "param", "clear-params", "description"); err != nil {
				return err
			}
			_, err := splitParams(params)
			return errors.Join(checkMode(cmd, mode), err)
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			var in policy.AssignmentUpdate
			if cmd.Flags().Changed("mode") {
				m := policy.Mode(mode)
				in.Mode = &m
			}
			if cmd.Flags().Changed("description") {
				in.Description = &description
			}
			if len(params) > 0 || clearParams {
				cur, err := c.GetPolicyAssignment(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				merged := map[string]any{}
				if !clearParams {
					maps.Copy(merged, cur.Params)
				}
				if len(params) > 0 {
					def, err := c.GetPolicy(cmd.Context(), cur.Definition)
					if err != nil {
						return err
					}
					raw, _ := splitParams(params)
					given, err := typedParams(&def.Definition, raw)
					if err != nil {
						return err
					}
					maps.Copy(merged, given)
				}
				in.Params = &merged
			}
			a, err := c.UpdatePolicyAssignment(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return printItem(app, a, policyAssignmentColumns)
		}),
	}
	cmd.Flags().StringVar(&mode, "mode", "", "enforce or dry-run")
	cmd.Flags().StringArrayVar(&params, "param", nil, "parameter as name=value, the value in YAML (repeatable)")
	cmd.Flags().BoolVar(&clearParams, "clear-params", false, "drop every parameter value first")
	cmd.Flags().StringVar(&description, "description", "", "new description")
	_ = cmd.RegisterFlagCompletionFunc("mode", fixedCompletion(policyModes...))
	return cmd
}

func newPolicyUnassignCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:               "unassign NAME",
		Short:             "Remove a policy assignment and its exemptions",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completeAssignmentArg,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeletePolicyAssignment(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Removed policy assignment %s", args[0])
		}),
	}
}

// splitParams parses repeated --param name=value flags into their raw text.
func splitParams(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageError{fmt.Errorf("--param %q must be name=value", f)}
		}
		if _, dup := out[k]; dup {
			return nil, usageError{fmt.Errorf("--param %s is given twice", k)}
		}
		out[k] = v
	}
	return out, nil
}

// typedParams reads parameter values by the types the definition declares:
// a string parameter takes the text as it is (so that --param tag=4711 is
// the string "4711"); any other value is read as YAML, so that
// max_hours=24 is a number and kinds=[a,b] a list. Parameters the
// definition does not declare are read as YAML too; the server refuses them
// by name.
func typedParams(def *policy.Definition, raw map[string]string) (map[string]any, error) {
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		if p, ok := def.Parameters[k]; ok && p.Type == "string" {
			out[k] = v
			continue
		}
		val, err := yamlValue(v)
		if err != nil {
			return nil, usageError{fmt.Errorf("--param %s: %v", k, err)}
		}
		out[k] = val
	}
	return out, nil
}

// yamlValue reads one flag value as a YAML scalar or flow collection.
func yamlValue(v string) (any, error) {
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	var out any
	if err := yaml.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("%q is not a YAML value: %v", v, err)
	}
	return jsonable(out), nil
}

// jsonable turns the maps YAML gives for non-string keys into maps JSON
// can encode.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}

// formatParams renders parameters as name=value,… sorted by name, the
// values that are not strings in JSON.
func formatParams(params map[string]any) string {
	parts := make([]string, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v, ok := params[k].(string)
		if !ok {
			b, err := json.Marshal(params[k])
			if err != nil {
				b = []byte(fmt.Sprint(params[k]))
			}
			v = string(b)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// completeAssignmentArg completes a policy assignment name as the first argument.
func (app *App) completeAssignmentArg(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeFrom(app, cmd, func(ctx context.Context, c *client.Client) ([]string, error) {
		as, _, err := c.ListPolicyAssignments(ctx, enclave.Page{Size: enclave.MaxPageSize})
		names := make([]string, len(as))
		for i, a := range as {
			names[i] = a.Name
		}
		return names, err
	})
}
