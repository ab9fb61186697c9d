package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/spf13/cobra"
)

// tokenColumns is the table of API tokens.
var tokenColumns = []column[*identity.Token]{
	{"ID", func(t *identity.Token) string { return t.ID }},
	{"NAME", func(t *identity.Token) string { return t.Name }},
	{"KIND", func(t *identity.Token) string { return string(t.Kind) }},
	{"SCOPES", func(t *identity.Token) string {
		if len(t.Scopes) == 0 {
			return "all"
		}
		return strings.Join(t.Scopes, ",")
	}},
	{"MFA", func(t *identity.Token) string { return yesNo(t.MFA) }},
	{"EXPIRES", func(t *identity.Token) string { return formatTime(t.ExpiresAt) }},
	{"LAST USED", func(t *identity.Token) string { return formatOptTime(t.LastUsedAt) }},
	{"REVOKED", func(t *identity.Token) string { return formatOptTime(t.RevokedAt) }},
}

// formatOptTime renders an optional time; nil is empty.
func formatOptTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

// NewTokenCommand returns "enclave token": personal access tokens.
func NewTokenCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Aliases: []string{"tokens"}, Short: "Manage personal access tokens", Args: noArgs, RunE: showHelp}
	cmd.AddCommand(newTokenCreateCommand(app), newTokenListCommand(app), newTokenRevokeCommand(app))
	return cmd
}

func newTokenCreateCommand(app *App) *cobra.Command {
	var in identity.TokenCreate
	cmd := &cobra.Command{
		Use:   "create NAME [--scope PERMISSION]... [--expires-in-days N]",
		Short: "Create a personal access token for scripts; it is shown only now",
		Long: "Create a personal access token. --scope limits it to permission patterns such as\n" +
			"zones/read or datasets/* (repeatable); without one it carries all your permissions.\n" +
			"It is made only with a sign-in session (enclave login, with MFA while MFA is required),\n" +
			"never with another personal access token.",
		Example: "  enclave token create nightly-report --scope zones/read --scope projects/read --expires-in-days 90 -o json",
		Args:    exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Name = args[0]
			t, err := c.CreateToken(cmd.Context(), in)
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, t)
			}
			if err := printItem(app, t.Token, tokenColumns); err != nil {
				return err
			}
			_, err = fmt.Fprintf(app.Stdout, "\nToken (shown only now; store it safely):\n  %s\n", t.Secret)
			return err
		}),
	}
	cmd.Flags().StringArrayVar(&in.Scopes, "scope", nil, "permission pattern the token is limited to (repeatable)")
	cmd.Flags().IntVar(&in.ExpiresInDays, "expires-in-days", 0, fmt.Sprintf("lifetime in days (default %d, at most %d)", identity.DefaultPATDays, identity.MaxPATDays))
	return cmd
}

func newTokenListCommand(app *App) *cobra.Command {
	var user, kind string
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:     "list [--user NAME] [--kind KIND] [--all]",
		Short:   "List your tokens (or a user's, for an administrator), newest first",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			f := identity.TokenListFilter{Kind: identity.TokenKind(kind), IncludeInactive: all}
			ts, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*identity.Token, string, error) {
				return c.ListTokens(ctx, user, f, p)
			})
			if err != nil {
				return err
			}
			return printList(app, ts, tokenColumns)
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "list this user's tokens (needs identity/users/read)")
	cmd.Flags().StringVar(&kind, "kind", "", "only tokens of this kind: login, session, pat or service")
	cmd.Flags().BoolVar(&all, "all", false, "include revoked and expired tokens")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many tokens (0 for all)")
	_ = cmd.RegisterFlagCompletionFunc("kind", fixedCompletion("login", "session", "pat", "service"))
	return cmd
}

func newTokenRevokeCommand(app *App) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "revoke ID [--user NAME]",
		Short: "Revoke one of your tokens (or a user's, for an administrator)",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.RevokeToken(cmd.Context(), user, args[0]); err != nil {
				return err
			}
			return app.printDone("Revoked token %s", args[0])
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "revoke a token of this user (needs identity/users/write)")
	return cmd
}
