package cli

import (
	"context"
	"fmt"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/spf13/cobra"
)

// servicePrincipalColumns is the table of service principals.
var servicePrincipalColumns = []column[*identity.Principal]{
	{"NAME", func(p *identity.Principal) string { return p.Name }},
	{"KIND", func(p *identity.Principal) string { return string(p.ServiceKind) }},
	{"DISPLAY NAME", func(p *identity.Principal) string { return p.DisplayName }},
	{"STATE", principalState},
	{"CREATED", func(p *identity.Principal) string { return formatTime(p.CreatedAt) }},
}

// secretColumns is the table of client secrets.
var secretColumns = []column[*identity.ClientSecret]{
	{"ID", func(c *identity.ClientSecret) string { return c.ID }},
	{"DESCRIPTION", func(c *identity.ClientSecret) string { return c.Description }},
	{"CREATED", func(c *identity.ClientSecret) string { return formatTime(c.CreatedAt) }},
	{"EXPIRES", func(c *identity.ClientSecret) string { return formatTime(c.ExpiresAt) }},
	{"LAST USED", func(c *identity.ClientSecret) string { return formatOptTime(c.LastUsedAt) }},
	{"REVOKED", func(c *identity.ClientSecret) string { return formatOptTime(c.RevokedAt) }},
}

func serviceKindNames() []string {
	var out []string
	for _, k := range identity.ServiceKinds() {
		out = append(out, string(k))
	}
	return out
}

// NewServicePrincipalCommand returns "enclave service-principal": the
// identities of CI/CD, workspaces, monitoring and governance scanners.
func NewServicePrincipalCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "service-principal",
		Aliases: []string{"service-principals", "sp"},
		Short:   "Manage service principals and their client secrets",
		Args:    noArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(newSPCreateCommand(app), newSPListCommand(app), newSPShowCommand(app), newSPDeleteCommand(app), newSecretCommand(app))
	return cmd
}

func newSPCreateCommand(app *App) *cobra.Command {
	var in identity.ServicePrincipalCreate
	var kind string
	cmd := &cobra.Command{
		Use:     "create NAME --kind cicd|workspace|monitoring|governance [--display-name TEXT]",
		Short:   "Create a service principal (then give it a secret with secret create)",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "kind") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Name, in.ServiceKind = args[0], identity.ServiceKind(kind)
			p, err := c.CreateServicePrincipal(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, p, servicePrincipalColumns)
		}),
	}
	cmd.Flags().StringVar(&kind, "kind", "", "what it is for: cicd, workspace, monitoring or governance")
	cmd.Flags().StringVar(&in.DisplayName, "display-name", "", "human-readable name")
	_ = cmd.RegisterFlagCompletionFunc("kind", fixedCompletion(serviceKindNames()...))
	return cmd
}

func newSPListCommand(app *App) *cobra.Command {
	var kind string
	var limit int
	cmd := &cobra.Command{
		Use:     "list [--kind KIND]",
		Short:   "List service principals",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ps, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*identity.Principal, string, error) {
				return c.ListServicePrincipals(ctx, identity.ServiceKind(kind), p)
			})
			if err != nil {
				return err
			}
			return printList(app, ps, servicePrincipalColumns)
		}),
	}
	cmd.Flags().StringVar(&kind, "kind", "", "only service principals of this kind")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many (0 for all)")
	_ = cmd.RegisterFlagCompletionFunc("kind", fixedCompletion(serviceKindNames()...))
	return cmd
}

func newSPShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a service principal",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			p, err := c.GetServicePrincipal(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, p, servicePrincipalColumns)
		}),
	}
}

func newSPDeleteCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a service principal: its secrets and tokens are revoked",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteServicePrincipal(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Deleted service principal %s", args[0])
		}),
	}
}

func newSecretCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Aliases: []string{"secrets"}, Short: "Manage a service principal's client secrets", Args: noArgs, RunE: showHelp}
	var in identity.ClientSecretCreate
	create := &cobra.Command{
		Use:   "create SP [--description TEXT] [--expires-in-days N]",
		Short: "Create a client secret; it is shown only now",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			s, err := c.CreateClientSecret(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, s)
			}
			_, err = fmt.Fprintf(app.Stdout, "client_id:     %s\nclient_secret: %s\nsecret id:     %s\nexpires:       %s\n"+
				"The secret is shown only now. Sign in with: enclave login --client-id %s < secret-file\n",
				s.ClientID, s.ClientSecret, s.Info.ID, formatTime(s.Info.ExpiresAt), s.ClientID)
			return err
		}),
	}
	create.Flags().StringVar(&in.Description, "description", "", "what the secret is for, such as the job that holds it")
	create.Flags().IntVar(&in.ExpiresInDays, "expires-in-days", 0, fmt.Sprintf("lifetime in days (default %d, at most %d)", identity.DefaultClientSecretDays, identity.MaxClientSecretDays))
	list := &cobra.Command{
		Use:   "list SP",
		Short: "List a service principal's client secrets",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			cs, err := c.ListClientSecrets(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(app, cs, secretColumns)
		}),
	}
	revoke := &cobra.Command{
		Use:   "revoke SP ID",
		Short: "Revoke a client secret and the tokens obtained with it",
		Args:  exactArgs(2),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.RevokeClientSecret(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			return app.printDone("Revoked client secret %s of %s", args[1], args[0])
		}),
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
