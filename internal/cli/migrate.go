package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/spf13/cobra"
)

type localEnv struct {
	db  *sqlstore.DB
	cfg config.Config
}

// NewMigrateCommand returns `enclave migrate` and `enclave migrate status`.
func NewMigrateCommand(app *App) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database schema migrations",
		Long: "Apply the schema migrations embedded in this binary that the database has not yet applied.\n" +
			"Each is recorded in the " + sqlstore.MigrationsTable + " table; on PostgreSQL an advisory lock\n" +
			"makes replicas that start together apply them once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLocal(cmd, &f, func(ctx context.Context, env *localEnv) error {
				applied, err := env.db.Migrate(ctx)
				if err != nil {
					return fmt.Errorf("migrate %s: %w", config.DatabaseURL(env.cfg.DatabaseURL()), err)
				}
				if len(applied) == 0 {
					fmt.Fprintln(app.Stdout, "database schema is up to date")
					return nil
				}
				for _, v := range applied {
					fmt.Fprintf(app.Stdout, "applied migration %05d\n", v)
				}
				return nil
			})
		},
	}
	f.register(cmd.PersistentFlags(), false)
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List schema migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLocal(cmd, &f, func(ctx context.Context, env *localEnv) error {
				st, err := env.db.MigrationStatus(ctx)
				if err != nil {
					return err
				}
				if app.Output != "table" {
					return printValue(app, st)
				}
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
				for _, s := range st {
					applied := "pending"
					if s.AppliedAt != nil {
						applied = s.AppliedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%05d\t%s\t%s\n", s.Version, s.Name, applied)
				}
				return tw.Flush()
			})
		},
	})
	return cmd
}
