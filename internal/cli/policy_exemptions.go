package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/spf13/cobra"
)

// policyExemptionColumns is the table of policy exemptions. An exemption
// past its expiry shows as expired, whatever its state: it no longer
// applies.
var policyExemptionColumns = []column[*policy.Exemption]{
	{"ID", func(e *policy.Exemption) string { return e.ID }},
	{"ASSIGNMENT", func(e *policy.Exemption) string { return e.Assignment }},
	{"SCOPE", func(e *policy.Exemption) string { return e.Scope }},
	{"RESOURCE", func(e *policy.Exemption) string { return strings.TrimSuffix(e.ResourceKind+"/"+e.ResourceName, "/") }},
	{"STATE", func(e *policy.Exemption) string { return exemptionState(e, time.Now()) }},
	{"EXPIRES", func(e *policy.Exemption) string { return formatTime(e.ExpiresAt) }},
	{"REQUESTED BY", func(e *policy.Exemption) string { return e.RequestedBy }},
	{"DECIDED BY", func(e *policy.Exemption) string { return e.DecidedBy }},
	{"REASON", func(e *policy.Exemption) string { return truncate(e.Reason, 40) }},
}

func exemptionState(e *policy.Exemption, now time.Time) string {
	if e.State != policy.ExemptionRejected && !e.ExpiresAt.After(now) {
		return "expired"
	}
	return string(e.State)
}

func newPolicyExemptCommand(app *App) *cobra.Command {
	var in policy.ExemptionCreate
	var expires, resource string
	cmd := &cobra.Command{
		Use:   "exempt ASSIGNMENT --reason TEXT --expires 30d|TIME [--scope SCOPE] [--resource KIND/NAME]",
		Short: "Request an exemption from a policy assignment, for a scope or one resource, until a time",
		Long: "Request an exemption from a policy assignment. It covers the assignment's scope, or --scope below\n" +
			"it, or with --resource one resource there (a project, a dataset, … by kind and name, whether it\n" +
			"exists yet or not). It applies once a Platform Admin other than the requester approves it\n" +
			"(`enclave policy exemption approve ID`), until it expires: --expires is a time (RFC 3339) or a\n" +
			"duration from now (90m, 72h, 30d; at most a year). Exempted changes are still audited.",
		Example: "  enclave policy exempt cost-centers --scope /zones/eu --resource project/pilot \\\n" +
			"      --reason 'CHG-1234 pilot before the cost centre exists' --expires 14d",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completeAssignmentArg,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cmd.Flags().Changed("expires") {
				in.ExpiresAt, err = parseExpiry(expires, time.Now())
			}
			var rerr error
			if cmd.Flags().Changed("resource") {
				var ok bool
				in.ResourceKind, in.ResourceName, ok = strings.Cut(resource, "/")
				if !ok || in.ResourceKind == "" || in.ResourceName == "" {
					rerr = usageError{fmt.Errorf("--resource %q must be KIND/NAME, such as project/onc", resource)}
				}
			}
			return errors.Join(requireFlags(cmd, "reason", "expires"), err, rerr)
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Assignment = args[0]
			e, err := c.RequestPolicyExemption(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, e, policyExemptionColumns)
		}),
	}
	cmd.Flags().StringVar(&in.Reason, "reason", "", "why the exemption is needed: a ticket or change reference (required)")
	cmd.Flags().StringVar(&expires, "expires", "", "when it ends: an RFC 3339 time or a duration from now such as 72h or 30d (required)")
	cmd.Flags().StringVar(&in.Scope, "scope", "", "where it applies, at or below the assignment's scope (default: the assignment's)")
	cmd.Flags().StringVar(&resource, "resource", "", "only this resource in the scope, as KIND/NAME")
	return cmd
}

// parseExpiry reads an RFC 3339 time or a duration from now; a number of
// days is written Nd.
func parseExpiry(v string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= 3660 {
			return now.Add(time.Duration(n) * 24 * time.Hour).UTC().Truncate(time.Second), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(d).UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--expires must be an RFC 3339 time or a duration from now such as 72h or 30d")}
	}
	return t, nil
}

func newPolicyExemptionsCommand(app *App) *cobra.Command {
	var state string
	cmd := &cobra.Command{
		Use:   "exemptions [--state pending|approved|rejected]",
		Short: "List policy exemptions, newest first",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			es, err := client.Collect(cmd.Context(), 0, func(ctx context.Context, p enclave.Page) ([]*policy.Exemption, string, error) {
				return c.ListPolicyExemptions(ctx, p)
			})
			if err != nil {
				return err
			}
			if state != "" {
				kept := es[:0]
				for _, e := range es {
					if string(e.State) == state {
						kept = append(kept, e)
					}
				}
				es = kept
			}
			return printList(app, es, policyExemptionColumns)
		}),
	}
	cmd.Flags().StringVar(&state, "state", "", "only exemptions in this state: pending, approved or rejected")
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletion(string(policy.ExemptionPending), string(policy.ExemptionApproved), string(policy.ExemptionRejected)))
	return cmd
}

// newPolicyExemptionCommand returns "enclave policy exemption": one exemption.
func newPolicyExemptionCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exemption",
		Short: "Show, approve, reject or withdraw one policy exemption",
		Args:  noArgs,
		RunE:  showHelp,
	}
	cmd.AddCommand(
		newPolicyExemptionShowCommand(app),
		newPolicyExemptionDecideCommand(app, true),
		newPolicyExemptionDecideCommand(app, false),
		newPolicyExemptionDeleteCommand(app),
	)
	return cmd
}

func newPolicyExemptionShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a policy exemption",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			e, err := c.GetPolicyExemption(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, e, policyExemptionColumns)
		}),
	}
}

func newPolicyExemptionDecideCommand(app *App, approve bool) *cobra.Command {
	var comment string
	verb, short := "reject", "Reject a pending exemption (not one's own)"
	if approve {
		verb, short = "approve", "Approve a pending exemption (not one's own); it applies until it expires"
	}
	cmd := &cobra.Command{
		Use:   verb + " ID [--comment TEXT]",
		Short: short,
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			e, err := c.DecidePolicyExemption(cmd.Context(), args[0], approve, comment)
			if err != nil {
				return err
			}
			return printItem(app, e, policyExemptionColumns)
		}),
	}
	cmd.Flags().StringVar(&comment, "comment", "", "a comment recorded with the decision")
	return cmd
}

func newPolicyExemptionDeleteCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Withdraw a policy exemption, whatever its state",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeletePolicyExemption(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Withdrew policy exemption %s", args[0])
		}),
	}
}
