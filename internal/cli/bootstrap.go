package cli

import (
	"context"
	"fmt"

	"github.com/enclave-ml/enclave/internal/server"
	"github.com/spf13/cobra"
)

// NewBootstrapCommand returns `enclave bootstrap reset`, the break-glass
// path for an operator who lost the administrator's token.
func NewBootstrapCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "bootstrap", Short: "Break-glass access for the platform administrator"}
	var f serverFlags
	reset := &cobra.Command{
		Use:   "reset",
		Short: "Issue a new one-time credential for the administrator (needs database access)",
		Long: "Issue a new one-time credential for the platform administrator and void any unused one.\n" +
			"It also removes the administrator's password and MFA and revokes every token the administrator\n" +
			"holds (sessions and personal access tokens), so signing in with the credential runs the\n" +
			"first-start steps again. It works on the database directly, so only someone who can read the\n" +
			"server's data can run it; the reset is audited.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLocal(cmd, &f, func(ctx context.Context, env *localEnv) error {
				svc := server.NewServices(env.db, nil, env.cfg)
				secret, err := svc.Identity.ResetBootstrap(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "New one-time credential for the administrator (shown only now):\n\n    %s\n\n"+
					"Sign in with: enclave login --server URL --ca-file CA\n", secret)
				return nil
			})
		},
	}
	f.register(reset.Flags(), false)
	cmd.AddCommand(reset)
	return cmd
}
