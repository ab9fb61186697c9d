package cli

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/spf13/cobra"
)

func newPolicyScanCommand(app *App) *cobra.Command {
	var wait bool
	var scope string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "scan [--wait [--scope SCOPE]]",
		Short: "Scan every resource for compliance now",
		Long: "Start a compliance scan of every resource against the assignments that cover it, as a background\n" +
			"task; the server also scans on its own schedule. Without --wait the task is printed (follow it with\n" +
			"`enclave task show ID`). With --wait the command waits for the scan to finish and prints the\n" +
			"compliance of --scope (default the platform), as `enclave policy compliance` does; it fails if the\n" +
			"scan fails.",
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if !wait && (cmd.Flags().Changed("scope") || cmd.Flags().Changed("timeout")) {
				return usageError{fmt.Errorf("--scope and --timeout go with --wait")}
			}
			if timeout <= 0 {
				return usageError{fmt.Errorf("--timeout must be positive")}
			}
			return nil
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			t, err := c.RequestPolicyScan(cmd.Context())
			if err != nil {
				return err
			}
			if !wait {
				return printItem(app, t, taskColumns)
			}
			if t, err = waitForTask(cmd, c, t, timeout, pollInterval); err != nil {
				return err
			}
			if t.State == workqueue.Dead {
				return &exitError{code: ExitError, err: fmt.Errorf("compliance scan %s failed after %d attempts: %s", t.ID, t.Attempts, t.LastError)}
			}
			rep, err := c.PolicyCompliance(cmd.Context(), scope)
			if err != nil {
				return err
			}
			return printCompliance(app, rep)
		}),
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the scan to finish and print the compliance it found")
	cmd.Flags().StringVar(&scope, "scope", "", "with --wait: the scope whose compliance to print (default /)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "with --wait: how long to wait")
	return cmd
}

// pollInterval is how often --wait looks at a task; a variable for tests.
var pollInterval = 500 * time.Millisecond

// waitForTask polls a task until it has succeeded or is dead.
func waitForTask(cmd *cobra.Command, c *client.Client, t *workqueue.Task, timeout, every time.Duration) (*workqueue.Task, error) {
	deadline := time.Now().Add(timeout)
	for t.State != workqueue.Succeeded && t.State != workqueue.Dead {
		if time.Now().After(deadline) {
			return nil, &exitError{code: ExitError, err: fmt.Errorf("task %s is still %s after %s: follow it with enclave task show %s", t.ID, t.State, timeout, t.ID)}
		}
		select {
		case <-cmd.Context().Done():
			return nil, cmd.Context().Err()
		case <-time.After(every):
		}
		var err error
		if t, err = c.GetTask(cmd.Context(), t.ID); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func newPolicyComplianceCommand(app *App) *cobra.Command {
	var scope string
	cmd := &cobra.Command{
		Use:   "compliance [--scope SCOPE]",
		Short: "Show the compliance of the platform, a zone or a project as of the last scan",
		Long: "Show the compliance of a scope as of the last scan: the share of its resources that every\n" +
			"assignment covering them finds compliant (exempt ones count as compliant and are counted on their\n" +
			"own), the same per zone (of the platform) or project (of a zone), per assignment, and the\n" +
			"non-compliant resources to fix. -o json prints the report as the API returns it.",
		Example: "  enclave policy compliance\n  enclave policy compliance --scope /zones/eu -o json",
		Args:    noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			rep, err := c.PolicyCompliance(cmd.Context(), scope)
			if err != nil {
				return err
			}
			return printCompliance(app, rep)
		}),
	}
	cmd.Flags().StringVar(&scope, "scope", "", "/ (default), /zones/ZONE or /zones/ZONE/projects/PROJECT")
	return cmd
}

// percent renders a compliance percentage rounded down, so that a scope
// with one non-compliant resource in thousands never shows 100.0%.
func percent(p float64) string {
	return fmt.Sprintf("%.1f%%", math.Floor(p*10+1e-9)/10)
}

var scopeComplianceColumns = []column[policy.ScopeCompliance]{
	{"SCOPE", func(s policy.ScopeCompliance) string { return s.Scope }},
	{"COMPLIANCE", func(s policy.ScopeCompliance) string { return percent(s.Percent) }},
	{"RESOURCES", func(s policy.ScopeCompliance) string { return fmt.Sprint(s.Resources) }},
	{"NON-COMPLIANT", func(s policy.ScopeCompliance) string { return fmt.Sprint(s.NonCompliant) }},
	{"EXEMPT", func(s policy.ScopeCompliance) string { return fmt.Sprint(s.Exempt) }},
}

var assignmentComplianceColumns = []column[policy.AssignmentCompliance]{
	{"ASSIGNMENT", func(a policy.AssignmentCompliance) string { return a.Assignment }},
	{"POLICY", func(a policy.AssignmentCompliance) string { return a.Policy }},
	{"MODE", func(a policy.AssignmentCompliance) string { return string(a.Mode) }},
	{"RESOURCES", func(a policy.AssignmentCompliance) string { return fmt.Sprint(a.Resources) }},
	{"NON-COMPLIANT", func(a policy.AssignmentCompliance) string { return fmt.Sprint(a.NonCompliant) }},
}

var nonCompliantColumns = []column[policy.ComplianceRecord]{
	{"KIND", func(r policy.ComplianceRecord) string { return r.ResourceKind }},
	{"NAME", func(r policy.ComplianceRecord) string { return r.ResourceName }},
	{"SCOPE", func(r policy.ComplianceRecord) string { return r.Scope }},
	{"ASSIGNMENT", func(r policy.ComplianceRecord) string { return r.Assignment }},
	{"MESSAGE", func(r policy.ComplianceRecord) string { return truncate(r.Message, 80) }},
}

// printCompliance prints a compliance report: a summary line, the child
// scopes, the assignments and what to fix; JSON and YAML print it whole.
func printCompliance(app *App, rep *policy.ComplianceReport) error {
	if app.Output != formatTable {
		return printValue(app, rep)
	}
	w := app.Stdout
	if rep.EvaluatedAt == nil {
		_, err := fmt.Fprintf(w, "Compliance of %s: no scan results yet (no scan has run, or no assignment covers any resource)\n", rep.Scope)
		return err
	}
	fmt.Fprintf(w, "Compliance of %s: %s (%d of %d resources compliant, %d exempt) as of %s\n", rep.Scope, percent(rep.Percent),
		rep.Resources-rep.NonCompliant, rep.Resources, rep.Exempt, formatTime(*rep.EvaluatedAt))
	if len(rep.Children) > 0 {
		if err := section(w, "", rep.Children, scopeComplianceColumns); err != nil {
			return err
		}
	}
	if len(rep.Assignments) > 0 {
		if err := section(w, "", rep.Assignments, assignmentComplianceColumns); err != nil {
			return err
		}
	}
	if len(rep.NonCompliantResources) == 0 {
		_, err := fmt.Fprintln(w, "\nNo non-compliant resources.")
		return err
	}
	return section(w, "Non-compliant resources:", rep.NonCompliantResources, nonCompliantColumns)
}

// section prints a blank line, an optional title and a table.
func section[T any](w io.Writer, title string, items []T, cols []column[T]) error {
	fmt.Fprintln(w)
	if title != "" {
		fmt.Fprintln(w, title)
	}
	return writeTable(w, items, cols)
}
