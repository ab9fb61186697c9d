// Package cli is the enclave command line: the server and migration
// commands that operators run next to the database, and the client commands
// that people and scripts run against a server's API. One constructor per
// command, in one file per command group.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/spf13/cobra"
)

// App carries what every command shares: its streams and the global flags.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// Output is the -o flag: table, json or yaml.
	Output string
	// ClientConfigPath is the --client-config flag: the per-user CLI
	// configuration (server URL, CA, token). Empty means the default path.
	ClientConfigPath string
}

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Exit codes. Scripts can tell a refused request from a broken setup.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitAPI         = 3 // the server refused the request (4xx)
	ExitUnavailable = 4 // the server or database could not be reached
)

// Main runs the command line and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &App{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	root := NewRootCommand(app)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "Error:", describe(err))
	var ee *exitError
	var ae *client.APIError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ae):
		if ae.Status >= 500 {
			return ExitUnavailable
		}
		return ExitAPI
	case enclave.IsCode(err, enclave.CodeUnavailable):
		return ExitUnavailable
	case isUsage(err):
		return ExitUsage
	}
	return ExitError
}

func describe(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return err.Error()
}

type usageError struct{ error }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// NewRootCommand returns the enclave command with every subcommand.
func NewRootCommand(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:           "enclave",
		Short:         "Enclave: machine learning on sensitive data, under control",
		Long:          "Enclave is a platform for machine learning on sensitive data: zones, projects, identity,\naudit, encrypted data, an airlock, MLOps and endpoints in one binary.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVarP(&app.Output, "output", "o", "table", "output format: table, json or yaml")
	root.PersistentFlags().StringVar(&app.ClientConfigPath, "client-config", "",
		"path of the per-user CLI configuration (default $ENCLAVE_CLIENT_CONFIG or ~/.config/enclave/client.yaml)")
	_ = root.RegisterFlagCompletionFunc("output", completeOutput)
	root.AddCommand(
		NewServerCommand(app),
		NewMigrateCommand(app),
		NewConfigCommand(app),
		NewBootstrapCommand(app),
		NewLoginCommand(app),
		NewLogoutCommand(app),
		NewWhoamiCommand(app),
		NewZoneCommand(app),
		NewProjectCommand(app),
		NewEnvironmentCommand(app),
		NewDataCommand(app),
		NewAirlockCommand(app),
		NewExperimentCommand(app),
		NewRunCommand(app),
		NewModelCommand(app),
		NewDeidCommand(app),
		NewKeysCommand(app),
		NewPolicyCommand(app),
		NewTaskCommand(app),
		NewRoleCommand(app),
		NewAccessCommand(app),
		NewElevationCommand(app),
		NewAuditCommand(app),
		NewUserCommand(app),
		NewGroupCommand(app),
		NewServicePrincipalCommand(app),
		NewTokenCommand(app),
		NewMFACommand(app),
		NewPasswordCommand(app),
		NewSettingsCommand(app),
		NewVersionCommand(app),
	)
	return root
}
