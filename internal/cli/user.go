package cli

import (
	"context"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/spf13/cobra"
)

// userColumns is the table of users.
var userColumns = []column[*identity.Principal]{
	{"NAME", func(p *identity.Principal) string { return p.Name }},
	{"DISPLAY NAME", func(p *identity.Principal) string { return p.DisplayName }},
	{"EMAIL", func(p *identity.Principal) string { return p.Email }},
	{"STATE", principalState},
	{"PASSWORD", func(p *identity.Principal) string { return yesNo(p.PasswordSet) }},
	{"MFA", func(p *identity.Principal) string { return yesNo(p.MFAEnrolled) }},
	{"CREATED", func(p *identity.Principal) string { return formatTime(p.CreatedAt) }},
}

func principalState(p *identity.Principal) string {
	switch {
	case p.DeletedAt != nil:
		return "deleted"
	case p.Disabled:
		return "disabled"
	}
	return "active"
}

// NewUserCommand returns "enclave user": people and their accounts.
func NewUserCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Aliases: []string{"users"}, Short: "Manage users (people)", Args: noArgs, RunE: showHelp}
	cmd.AddCommand(
		newUserCreateCommand(app),
		newUserListCommand(app),
		newUserShowCommand(app),
		newUserUpdateCommand(app),
		newUserToggleCommand(app, "disable", true),
		newUserToggleCommand(app, "enable", false),
		newUserDeleteCommand(app),
	)
	return cmd
}

func newUserCreateCommand(app *App) *cobra.Command {
	var in identity.UserCreate
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create NAME [--display-name TEXT] [--email ADDRESS] [--password-stdin]",
		Short: "Create a user, with a first password read from stdin",
		Long: "Create a user. With --password-stdin the first password is read from stdin (asked twice\n" +
			"at a terminal); without one the user cannot sign in until it is set with user update.",
		Example: "  printf '%s\\n' \"$FIRST_PASSWORD\" | enclave user create ana --display-name 'Ana Lima' --email ana@example.org --password-stdin",
		Args:    exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Name = args[0]
			if passwordStdin {
				var err error
				if in.Password, err = app.prompter().newPassword(); err != nil {
					return err
				}
			}
			u, err := c.CreateUser(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, u, userColumns)
		}),
	}
	cmd.Flags().StringVar(&in.DisplayName, "display-name", "", "the person's name")
	cmd.Flags().StringVar(&in.Email, "email", "", "the person's email address")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read a first password from stdin")
	return cmd
}

func newUserListCommand(app *App) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List users",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			us, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*identity.Principal, string, error) {
				return c.ListUsers(ctx, p)
			})
			if err != nil {
				return err
			}
			return printList(app, us, userColumns)
		}),
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many users (0 for all)")
	return cmd
}

func newUserShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a user",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			u, err := c.GetUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, u, userColumns)
		}),
	}
}

func newUserUpdateCommand(app *App) *cobra.Command {
	var displayName, email string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "update NAME [--display-name TEXT] [--email ADDRESS] [--password-stdin]",
		Short: "Change a user's display name or email, or reset their password",
		Long: "Change a user's display name or email, or (--password-stdin) reset their password, which\n" +
			"revokes all their tokens, personal access tokens included. Only the flags given change.\n" +
			"Your own password you change with enclave password set; the platform administrator's is\n" +
			"reset only with enclave bootstrap reset.",
		Args: exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireOneOf(cmd, "display-name", "email", "password-stdin")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			var in identity.UserUpdate
			if cmd.Flags().Changed("display-name") {
				in.DisplayName = &displayName
			}
			if cmd.Flags().Changed("email") {
				in.Email = &email
			}
			if passwordStdin {
				pw, err := app.prompter().newPassword()
				if err != nil {
					return err
				}
				in.Password = &pw
			}
			u, err := c.UpdateUser(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return printItem(app, u, userColumns)
		}),
	}
	cmd.Flags().StringVar(&displayName, "display-name", "", "the person's name")
	cmd.Flags().StringVar(&email, "email", "", "the person's email address")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read a new password from stdin")
	return cmd
}

func newUserToggleCommand(app *App, verb string, disabled bool) *cobra.Command {
	short := "Disable a user: their tokens stop working at once"
	if !disabled {
		short = "Enable a disabled user (they sign in again; old tokens stay revoked)"
	}
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			u, err := c.UpdateUser(cmd.Context(), args[0], identity.UserUpdate{Disabled: &disabled})
			if err != nil {
				return err
			}
			return printItem(app, u, userColumns)
		}),
	}
}

func newUserDeleteCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user: their tokens stop working and the name is never reused",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Deleted user %s", args[0])
		}),
	}
}
