package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/spf13/cobra"
)

// NewConfigCommand returns `enclave config show` and `enclave config vars`.
func NewConfigCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the server configuration"}
	var f serverFlags
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective server configuration, secrets masked",
		Long:  "Print the configuration the server would run with: defaults, then the file, then ENCLAVE_*\nvariables, then flags. Secret values print as " + config.Redacted + ".",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			s, err := cfg.Show()
			if err != nil {
				return err
			}
			fmt.Fprint(app.Stdout, s)
			return nil
		},
	}
	f.register(show.Flags(), true)
	vars := &cobra.Command{
		Use:   "vars",
		Short: "List every setting with its environment variable",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SETTING\tENVIRONMENT\tTYPE")
			for _, fl := range config.Fields() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", fl.Path, fl.Env, fl.Type)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(show, vars)
	return cmd
}
