package cli

import (
	"strconv"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/spf13/cobra"
)

// settingsColumns is the table of platform settings.
var settingsColumns = []column[*identity.Settings]{
	{"MFA REQUIRED FOR PEOPLE", func(s *identity.Settings) string { return strconv.FormatBool(s.MFARequiredForPeople) }},
	{"UPDATED", func(s *identity.Settings) string { return formatOptTime(s.UpdatedAt) }},
	{"UPDATED BY", func(s *identity.Settings) string { return s.UpdatedBy }},
}

// NewSettingsCommand returns "enclave settings": platform security settings.
func NewSettingsCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "settings", Short: "Show and change platform security settings", Args: noArgs, RunE: showHelp}
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the platform settings",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			s, err := c.GetSettings(cmd.Context())
			if err != nil {
				return err
			}
			return printItem(app, s, settingsColumns)
		}),
	}
	var mfa bool
	set := &cobra.Command{
		Use:     "set --mfa-required-for-people=true|false",
		Short:   "Change platform settings (audited)",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireOneOf(cmd, "mfa-required-for-people") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var in identity.SettingsUpdate
			if cmd.Flags().Changed("mfa-required-for-people") {
				in.MFARequiredForPeople = &mfa
			}
			s, err := c.UpdateSettings(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, s, settingsColumns)
		}),
	}
	set.Flags().BoolVar(&mfa, "mfa-required-for-people", true, "whether a person without MFA may only enrol")
	cmd.AddCommand(show, set)
	return cmd
}
