package cli

import (
	"context"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/spf13/cobra"
)

var elevationColumns = []column[*access.Elevation]{
	{"ID", func(e *access.Elevation) string { return e.ID }},
	{"PRINCIPAL", func(e *access.Elevation) string { return e.PrincipalName }},
	{"ROLE", func(e *access.Elevation) string { return e.Role }},
	{"SCOPE", func(e *access.Elevation) string { return string(e.Scope) }},
	{"DURATION", func(e *access.Elevation) string { return e.Duration.String() }},
	{"STATE", func(e *access.Elevation) string { return string(e.State) }},
	{"DECIDED BY", func(e *access.Elevation) string { return orDash(e.DecidedBy) }},
	{"EXPIRES", func(e *access.Elevation) string {
		if e.ExpiresAt == nil {
			return "-"
		}
		return formatTime(*e.ExpiresAt)
	}},
	{"JUSTIFICATION", func(e *access.Elevation) string { return e.Justification }},
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var elevationStates = []string{"pending", "active", "rejected", "cancelled", "expired", "revoked"}

// NewElevationCommand returns "enclave elevation": just-in-time access.
func NewElevationCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "elevation", Aliases: []string{"elevations", "jit"}, Short: "Request and decide just-in-time elevations",
		Args: noArgs, RunE: showHelp}
	cmd.AddCommand(newElevationRequestCommand(app), newElevationListCommand(app), newElevationShowCommand(app),
		newElevationDecideCommand(app, "approve", "Approve someone else's elevation (Owner or Platform Admin at its scope)"),
		newElevationDecideCommand(app, "reject", "Reject someone else's elevation"),
		newElevationDecideCommand(app, "cancel", "Withdraw your pending request, or end an active elevation early"))
	return cmd
}

func newElevationRequestCommand(app *App) *cobra.Command {
	var in access.ElevationRequest
	var scope string
	cmd := &cobra.Command{
		Use:     "request --role ROLE --scope SCOPE --duration 2h --justification TEXT",
		Short:   "Ask for a role at a scope for a limited time",
		Example: "  enclave elevation request --role platform-support --scope /zones/eu-west --duration 2h --justification 'INC-123: stuck import'",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "role", "scope", "duration", "justification")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			in.Scope = access.Scope(scope)
			e, err := c.RequestElevation(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, e, elevationColumns)
		}),
	}
	cmd.Flags().StringVar(&in.Role, "role", "", "built-in role ID")
	cmd.Flags().StringVar(&scope, "scope", "", "scope of the elevation")
	cmd.Flags().StringVar(&in.Duration, "duration", "", "how long, such as 2h or 90m (at most the role's maximum)")
	cmd.Flags().StringVar(&in.Justification, "justification", "", "why: an incident or ticket reference")
	_ = cmd.RegisterFlagCompletionFunc("role", fixedCompletion(roleIDs()...))
	return cmd
}

func newElevationListCommand(app *App) *cobra.Command {
	var state string
	var limit int
	cmd := &cobra.Command{
		Use:     "list [--state STATE]",
		Short:   "List your elevations and those you may decide on, active and past",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			es, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*access.Elevation, string, error) {
				return c.ListElevations(ctx, access.ElevationState(state), p)
			})
			if err != nil {
				return err
			}
			return printList(app, es, elevationColumns)
		}),
	}
	cmd.Flags().StringVar(&state, "state", "", "only elevations in this state")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many (0 for all)")
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletion(elevationStates...))
	return cmd
}

func newElevationShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an elevation",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			e, err := c.GetElevation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, e, elevationColumns)
		}),
	}
}

func newElevationDecideCommand(app *App, verb, short string) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			e, err := c.DecideElevation(cmd.Context(), args[0], verb, note)
			if err != nil {
				return err
			}
			return printItem(app, e, elevationColumns)
		}),
	}
	if verb != "cancel" {
		cmd.Flags().StringVar(&note, "note", "", "a note recorded with the decision")
	}
	return cmd
}
