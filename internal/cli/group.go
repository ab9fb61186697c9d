package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/spf13/cobra"
)

// groupColumns is the table of groups.
var groupColumns = []column[*identity.Group]{
	{"NAME", func(g *identity.Group) string { return g.Name }},
	{"MEMBERS", func(g *identity.Group) string { return strconv.Itoa(g.MemberCount) }},
	{"DESCRIPTION", func(g *identity.Group) string { return g.Description }},
	{"CREATED", func(g *identity.Group) string { return formatTime(g.CreatedAt) }},
}

// memberColumns is the table of a group's members.
var memberColumns = []column[*identity.GroupMember]{
	{"MEMBER", func(m *identity.GroupMember) string { return m.Name }},
	{"KIND", func(m *identity.GroupMember) string {
		if m.ServiceKind != "" {
			return string(m.Kind) + "/" + string(m.ServiceKind)
		}
		return string(m.Kind)
	}},
	{"DISPLAY NAME", func(m *identity.GroupMember) string { return m.DisplayName }},
	{"ADDED", func(m *identity.GroupMember) string { return formatTime(m.AddedAt) }},
}

// groupDetail is what group show prints: the group and its members.
type groupDetail struct {
	*identity.Group
	Members []*identity.GroupMember `json:"members"`
}

// NewGroupCommand returns "enclave group": groups of users and service principals.
func NewGroupCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "group", Aliases: []string{"groups"}, Short: "Manage groups and their members", Args: noArgs, RunE: showHelp}
	cmd.AddCommand(
		newGroupCreateCommand(app),
		newGroupListCommand(app),
		newGroupShowCommand(app),
		newGroupDeleteCommand(app),
		newGroupMemberCommand(app, "add-member"),
		newGroupMemberCommand(app, "remove-member"),
	)
	return cmd
}

func newGroupCreateCommand(app *App) *cobra.Command {
	var in identity.GroupCreate
	cmd := &cobra.Command{
		Use:   "create NAME [--description TEXT]",
		Short: "Create a group",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Name = args[0]
			g, err := c.CreateGroup(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, g, groupColumns)
		}),
	}
	cmd.Flags().StringVar(&in.Description, "description", "", "what the group is for")
	return cmd
}

func newGroupListCommand(app *App) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List groups",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			gs, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*identity.Group, string, error) {
				return c.ListGroups(ctx, p)
			})
			if err != nil {
				return err
			}
			return printList(app, gs, groupColumns)
		}),
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many groups (0 for all)")
	return cmd
}

func newGroupShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a group and its members",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			g, err := c.GetGroup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ms, err := client.Collect(cmd.Context(), 0, func(ctx context.Context, p enclave.Page) ([]*identity.GroupMember, string, error) {
				return c.ListGroupMembers(ctx, g.Name, p)
			})
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, groupDetail{Group: g, Members: ms})
			}
			if err := printItem(app, g, groupColumns); err != nil {
				return err
			}
			fmt.Fprintln(app.Stdout)
			return printList(app, ms, memberColumns)
		}),
	}
}

func newGroupDeleteCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a group and its memberships",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteGroup(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Deleted group %s", args[0])
		}),
	}
}

func newGroupMemberCommand(app *App, verb string) *cobra.Command {
	short := "Add a user or service principal to a group"
	if verb == "remove-member" {
		short = "Remove a member from a group"
	}
	return &cobra.Command{
		Use:   verb + " GROUP MEMBER",
		Short: short,
		Args:  exactArgs(2),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if verb == "remove-member" {
				if err := c.RemoveGroupMember(cmd.Context(), args[0], args[1]); err != nil {
					return err
				}
				return app.printDone("Removed %s from %s", args[1], args[0])
			}
			m, err := c.AddGroupMember(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return printItem(app, m, memberColumns)
		}),
	}
}
