package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/enclave-ml/enclave/internal/policy"
)

// NewPolicyCommand returns `enclave policy`: guardrails as code.
func NewPolicyCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "policy",
		Aliases: []string{"policies"},
		Short:   "Guardrails as code: definitions, assignments, exemptions and compliance",
		Long: "Guardrails as code. A definition (YAML) says which resources it covers, a CEL condition and an\n" +
			"effect: deny, audit, append, modify. An assignment applies a definition at the platform, a zone or a\n" +
			"project, enforced or dry-run; an exemption, approved by a second Platform Admin, lets a scope or one\n" +
			"resource off an assignment until it expires. A compliance scan measures the existing resources.",
		Example: "  enclave policy test ./policies\n" +
			"  enclave policy apply -f ./policies/require-description.yaml\n" +
			"  enclave policy assign require-cost-center-tag --name cost-centers --scope /zones/eu --mode dry-run\n" +
			"  enclave policy assignment set cost-centers --mode enforce\n" +
			"  enclave policy scan --wait\n" +
			"  enclave policy compliance --scope /zones/eu",
		Args: noArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(
		newPolicyTestCommand(app),
		newPolicyListCommand(app),
		newPolicyShowCommand(app),
		newPolicyApplyCommand(app),
		newPolicyDeleteCommand(app),
		newPolicyAssignCommand(app),
		newPolicyAssignmentsCommand(app),
		newPolicyAssignmentCommand(app),
		newPolicyUnassignCommand(app),
		newPolicyExemptCommand(app),
		newPolicyExemptionsCommand(app),
		newPolicyExemptionCommand(app),
		newPolicyScanCommand(app),
		newPolicyComplianceCommand(app),
	)
	return cmd
}

func newPolicyTestCommand(app *App) *cobra.Command {
	var builtin bool
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run policy definitions against example resources, locally, and fail on a mismatch",
		Long: "Run the policy definitions in DIR (YAML files; a document with a condition is a definition, one\n" +
			"with cases a fixture) against their fixtures' example resources, as an enforced assignment would,\n" +
			"and print each case's verdict. The exit code is 1 when any case does not meet its expected effect,\n" +
			"so organisations can test their guardrails in their own pipelines before they enforce them. No\n" +
			"server is needed. --builtin runs the platform's built-in policies and fixtures instead.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var defs []*policy.Definition
			var fixtures []*policy.Fixture
			var err error
			switch {
			case builtin && len(args) == 0:
				defs, fixtures, err = policy.Builtin()
			case !builtin && len(args) == 1:
				defs, fixtures, err = policy.LoadDir(args[0])
			default:
				return usageError{fmt.Errorf("give a directory, or --builtin")}
			}
			if err != nil {
				return err
			}
			if len(fixtures) == 0 {
				return usageError{fmt.Errorf("no fixtures found: nothing was tested")}
			}
			results, err := policy.RunTests(cmd.Context(), defs, fixtures)
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range results {
				verdict := "PASS"
				if !r.Passed {
					verdict, failed = "FAIL", failed+1
				}
				fmt.Fprintf(app.Stdout, "%s  %s  %s: got %s", verdict, r.Policy, r.Case, r.Got)
				if r.Detail != "" {
					fmt.Fprintf(app.Stdout, " (%s)", r.Detail)
				}
				fmt.Fprintln(app.Stdout)
			}
			fmt.Fprintf(app.Stdout, "%d cases, %d failed\n", len(results), failed)
			if failed > 0 {
				return &exitError{code: ExitError, err: fmt.Errorf("%d of %d policy cases failed", failed, len(results))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&builtin, "builtin", false, "test the built-in policies")
	return cmd
}
