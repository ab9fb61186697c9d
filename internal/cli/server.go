package cli

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/enclave-ml/enclave/internal/server"
	"github.com/spf13/cobra"
)

// NewServerCommand returns `enclave server`.
func NewServerCommand(app *App) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Enclave server",
		Long: "Run the Enclave server. With no configuration it keeps everything in ./enclave-data:\n" +
			"an embedded SQLite database and a local CA whose certificate clients trust, and serves\n" +
			"HTTPS on 127.0.0.1:8443. The first start prints the administrator's one-time credential.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			logger := newLogger(app, cfg)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			m := &server.Main{Config: cfg, Version: Version, Out: app.Stdout, Logger: logger}
			if err := m.Run(ctx); err != nil {
				return &exitError{code: ExitUnavailable, err: err}
			}
			<-ctx.Done()
			logger.Info("shutting down")
			return m.Close()
		},
	}
	f.register(cmd.Flags(), true)
	return cmd
}

// runLocal opens the configured database for a command that works on it directly.
func runLocal(cmd *cobra.Command, f *serverFlags, fn func(ctx context.Context, s *localEnv) error) error {
	cfg, err := f.load(cmd)
	if err != nil {
		return err
	}
	db, err := server.OpenDatabase(cmd.Context(), cfg)
	if err != nil {
		return &exitError{code: ExitUnavailable, err: err}
	}
	defer db.Close()
	return fn(cmd.Context(), &localEnv{db: db, cfg: cfg})
}
