package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/spf13/cobra"
)

var assignmentColumns = []column[*access.Assignment]{
	{"ID", func(a *access.Assignment) string { return a.ID }},
	{"ASSIGNEE", func(a *access.Assignment) string { return string(a.AssigneeKind) + ":" + a.AssigneeName }},
	{"ROLE", func(a *access.Assignment) string { return a.Role }},
	{"SCOPE", func(a *access.Assignment) string { return string(a.Scope) }},
	{"EXPIRES", func(a *access.Assignment) string {
		if a.ExpiresAt == nil {
			return "-"
		}
		return formatTime(*a.ExpiresAt)
	}},
	{"CREATED BY", func(a *access.Assignment) string { return a.CreatedBy }},
}

// assigneeFlags select who an assignment is for: exactly one of --user,
// --group and --service-principal.
type assigneeFlags struct{ user, group, sp string }

func (f *assigneeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.user, "user", "", "a user")
	cmd.Flags().StringVar(&f.group, "group", "", "a group (its members hold the role)")
	cmd.Flags().StringVar(&f.sp, "service-principal", "", "a service principal")
}

func (f *assigneeFlags) get(required bool) (access.AssigneeKind, string, error) {
	var kind access.AssigneeKind
	var name string
	n := 0
	for _, c := range []struct {
		k access.AssigneeKind
		v string
	}{{access.AssigneeUser, f.user}, {access.AssigneeGroup, f.group}, {access.AssigneeService, f.sp}} {
		if c.v != "" {
			kind, name = c.k, c.v
			n++
		}
	}
	if n > 1 || (required && n == 0) {
		return "", "", usageError{fmt.Errorf("give exactly one of --user, --group and --service-principal")}
	}
	return kind, name, nil
}

// NewAccessCommand returns "enclave access": role assignments and checks.
func NewAccessCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "access", Short: "Grant, revoke, list and check access", Args: noArgs, RunE: showHelp}
	cmd.AddCommand(newAccessGrantCommand(app), newAccessRevokeCommand(app), newAccessListCommand(app), newAccessCheckCommand(app))
	return cmd
}

func newAccessGrantCommand(app *App) *cobra.Command {
	var who assigneeFlags
	var role, scope string
	cmd := &cobra.Command{
		Use:     "grant (--user U | --group G | --service-principal S) --role ROLE --scope SCOPE",
		Short:   "Assign a role at a scope (and everything below it)",
		Example: "  enclave access grant --group oncologists --role data-scientist --scope /zones/eu-west/projects/oncology",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "role", "scope") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			kind, name, err := who.get(true)
			if err != nil {
				return err
			}
			a, err := c.Grant(cmd.Context(), access.Grant{AssigneeKind: kind, Assignee: name, Role: role, Scope: access.Scope(scope)})
			if err != nil {
				return err
			}
			return printItem(app, a, assignmentColumns)
		}),
	}
	who.register(cmd)
	cmd.Flags().StringVar(&role, "role", "", "built-in role ID (see enclave role list)")
	cmd.Flags().StringVar(&scope, "scope", "", "scope: /, /zones/Z, /zones/Z/projects/P or …/environments/E")
	_ = cmd.RegisterFlagCompletionFunc("role", fixedCompletion(roleIDs()...))
	return cmd
}

func newAccessRevokeCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ASSIGNMENT-ID",
		Short: "Delete a role assignment",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.Revoke(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Revoked assignment %s\n", args[0])
			return nil
		}),
	}
}

func newAccessListCommand(app *App) *cobra.Command {
	var who assigneeFlags
	var q client.AssignmentQuery
	var scope string
	var limit int
	cmd := &cobra.Command{
		Use:     "list [--scope SCOPE] [--user U | --group G | --service-principal S] [--role ROLE]",
		Short:   "List role assignments at a scope and below",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			kind, name, err := who.get(false)
			if err != nil {
				return err
			}
			q.Scope, q.AssigneeKind, q.Assignee = access.Scope(scope), kind, name
			as, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*access.Assignment, string, error) {
				return c.ListAssignments(ctx, q, p)
			})
			if err != nil {
				return err
			}
			return printList(app, as, assignmentColumns)
		}),
	}
	who.register(cmd)
	cmd.Flags().StringVar(&scope, "scope", "/", "scope to list, with everything below it")
	cmd.Flags().StringVar(&q.Role, "role", "", "only this role")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many (0 for all)")
	return cmd
}

func newAccessCheckCommand(app *App) *cobra.Command {
	var service bool
	cmd := &cobra.Command{
		Use:   "check PRINCIPAL ACTION SCOPE",
		Short: "Explain whether a principal may perform an action at a scope",
		Long: "Explain whether a principal may perform an action at a scope: which assignment allows it, or\n" +
			"why none does (no role there, or roles that do not include or that exclude the action).\n" +
			"PRINCIPAL is a user name (a service principal with --service-principal), or - for yourself.",
		Example: "  enclave access check ana jobs/write /zones/eu-west/projects/oncology",
		Args:    exactArgs(3),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			kind, name := access.AssigneeUser, args[0]
			if service {
				kind = access.AssigneeService
			}
			if name == "-" {
				kind, name = "", ""
			}
			d, err := c.CheckAccess(cmd.Context(), kind, name, access.Permission(args[1]), access.Scope(args[2]))
			if err != nil {
				return err
			}
			if app.Output != "table" {
				return printValue(app, d)
			}
			verdict := "DENIED"
			if d.Allowed {
				verdict = "ALLOWED"
			}
			fmt.Fprintf(app.Stdout, "%s: %s %s at %s\n  because: %s\n", verdict, d.Principal, d.Permission, d.Scope, d.Reason)
			for _, a := range d.Granting {
				fmt.Fprintf(app.Stdout, "  granted by: %s\n", describeAssignment(a))
			}
			for _, x := range d.Considered {
				fmt.Fprintf(app.Stdout, "  considered: %s — %s\n", describeAssignment(x.Assignment), x.Why)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&service, "service-principal", false, "PRINCIPAL is a service principal")
	return cmd
}

func describeAssignment(a *access.Assignment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s at %s (assignment %s", a.Role, a.Scope, a.ID)
	if a.ViaGroup != "" {
		fmt.Fprintf(&b, ", through group %s", a.ViaGroup)
	}
	if a.ElevationID != "" {
		fmt.Fprintf(&b, ", elevation %s until %s", a.ElevationID, formatTime(*a.ExpiresAt))
	}
	b.WriteString(")")
	return b.String()
}
