package cli

import (
	"strings"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/spf13/cobra"
)

var roleColumns = []column[*access.Role]{
	{"ID", func(r *access.Role) string { return r.ID }},
	{"NAME", func(r *access.Role) string { return r.Name }},
	{"LEVELS", func(r *access.Role) string { return joinLevels(r.Levels) }},
	{"JIT ONLY", func(r *access.Role) string { return yesNo(r.JITOnly) }},
	{"MAX ELEVATION", func(r *access.Role) string { return r.MaxElevation.String() }},
	{"DESCRIPTION", func(r *access.Role) string { return r.Description }},
}

var roleDetailColumns = append(append([]column[*access.Role]{}, roleColumns[:4]...),
	column[*access.Role]{"ACTIONS", func(r *access.Role) string { return joinPerms(r.Actions) }},
	column[*access.Role]{"NOT ACTIONS", func(r *access.Role) string { return joinPerms(r.NotActions) }},
)

func joinLevels(ls []access.Level) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, ",")
}

func joinPerms(ps []access.Permission) string {
	if len(ps) == 0 {
		return "-"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func roleIDs() []string {
	var ids []string
	for _, r := range access.Roles() {
		ids = append(ids, r.ID)
	}
	return ids
}

// NewRoleCommand returns "enclave role": the built-in roles.
func NewRoleCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "role", Aliases: []string{"roles"}, Short: "Show the built-in roles", Args: noArgs, RunE: showHelp}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the built-in roles",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			rs, err := c.ListRoles(cmd.Context())
			if err != nil {
				return err
			}
			return printList(app, rs, roleColumns)
		}),
	}, &cobra.Command{
		Use:   "show ROLE",
		Short: "Show a role's actions and not-actions",
		Args:  exactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return roleIDs(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			r, err := c.GetRole(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, r, roleDetailColumns)
		}),
	})
	return cmd
}
