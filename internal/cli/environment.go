package cli

import (
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/spf13/cobra"
)

// environmentColumns is the table of environments. A zone's shared
// environments have no project.
var environmentColumns = []column[*zone.Environment]{
	{"NAME", func(e *zone.Environment) string { return string(e.Name) }},
	{"ZONE", func(e *zone.Environment) string { return e.Zone }},
	{"PROJECT", func(e *zone.Environment) string { return e.Project }},
	{"CERTIFIED CLASSIFICATION", func(e *zone.Environment) string { return string(e.CertifiedClassification) }},
	{"STATE", func(e *zone.Environment) string { return string(e.State) }},
	{"UPDATED", func(e *zone.Environment) string { return formatTime(e.UpdatedAt) }},
}

// environmentNames are the names an environment can have.
var environmentNames = []string{string(zone.Dev), string(zone.Staging), string(zone.QA), string(zone.Prod)}

// NewEnvironmentCommand returns "enclave environment": the dev and prod
// environments of a project and the staging and QA environments a zone
// shares among its projects.
func NewEnvironmentCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "environment",
		Aliases: []string{"environments", "env"},
		Short:   "Inspect and certify environments",
		Long: "Inspect and certify environments. With --project, the project's dev and prod\n" +
			"environments; without it, the zone's shared staging and qa environments.",
		Args: noArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(
		newEnvironmentListCommand(app),
		newEnvironmentShowCommand(app),
		newEnvironmentUpdateCommand(app),
	)
	return cmd
}

// environmentFlags adds --zone and --project.
func (app *App) environmentFlags(cmd *cobra.Command, zoneName, project *string) {
	app.zoneFlag(cmd, zoneName)
	cmd.Flags().StringVar(project, "project", "", "project of the environment (omit for the zone's shared environments)")
}

func newEnvironmentListCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:     "list --zone ZONE [--project PROJECT]",
		Short:   "List the environments of a project, or the shared ones of a zone",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			envs, err := c.ListEnvironments(cmd.Context(), zoneName, project)
			if err != nil {
				return err
			}
			return printList(app, envs, environmentColumns)
		}),
	}
	app.environmentFlags(cmd, &zoneName, &project)
	return cmd
}

func newEnvironmentShowCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:               "show NAME --zone ZONE [--project PROJECT]",
		Short:             "Show an environment",
		Args:              exactArgs(1),
		ValidArgsFunction: completeEnvironmentArg,
		PreRunE:           func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			e, err := c.GetEnvironment(cmd.Context(), zoneName, project, args[0])
			if err != nil {
				return err
			}
			return printItem(app, e, environmentColumns)
		}),
	}
	app.environmentFlags(cmd, &zoneName, &project)
	return cmd
}

func newEnvironmentUpdateCommand(app *App) *cobra.Command {
	var zoneName, project, certified, state string
	cmd := &cobra.Command{
		Use:               "update NAME --zone ZONE [--project PROJECT]",
		Short:             "Change an environment's certified classification or lifecycle state",
		Args:              exactArgs(1),
		ValidArgsFunction: completeEnvironmentArg,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "zone"); err != nil {
				return err
			}
			return requireOneOf(cmd, "certified-classification", "state")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			var in zone.EnvironmentUpdate
			if cmd.Flags().Changed("certified-classification") {
				cc := enclave.Classification(certified)
				in.CertifiedClassification = &cc
			}
			if cmd.Flags().Changed("state") {
				s := zone.State(state)
				in.State = &s
			}
			e, err := c.UpdateEnvironment(cmd.Context(), zoneName, project, args[0], in)
			if err != nil {
				return err
			}
			return printItem(app, e, environmentColumns)
		}),
	}
	app.environmentFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&certified, "certified-classification", "", "most sensitive data the environment may hold")
	cmd.Flags().StringVar(&state, "state", "", "new lifecycle state: active, retiring or retired")
	_ = cmd.RegisterFlagCompletionFunc("certified-classification", fixedCompletion(classifications...))
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletion(lifecycleStates...))
	return cmd
}

// completeEnvironmentArg completes an environment name as the first argument.
func completeEnvironmentArg(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return environmentNames, cobra.ShellCompDirectiveNoFileComp
}
