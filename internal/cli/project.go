package cli

import (
	"context"
	"errors"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/spf13/cobra"
)

// projectColumns is the table of projects.
var projectColumns = []column[*zone.Project]{
	{"NAME", func(p *zone.Project) string { return p.Name }},
	{"ZONE", func(p *zone.Project) string { return p.Zone }},
	{"STATE", func(p *zone.Project) string { return string(p.State) }},
	{"OWNER", func(p *zone.Project) string { return p.Owner }},
	{"COST CENTER", func(p *zone.Project) string { return p.CostCenter }},
	{"MAX CLASSIFICATION", func(p *zone.Project) string { return string(p.MaxClassification) }},
	{"TAGS", func(p *zone.Project) string { return formatTags(p.Tags) }},
	{"CREATED", func(p *zone.Project) string { return formatTime(p.CreatedAt) }},
}

// classifications are the values of the classification flags.
var classifications = func() []string {
	var out []string
	for _, c := range enclave.Classifications() {
		out = append(out, string(c))
	}
	return out
}()

// NewProjectCommand returns "enclave project": the projects of a zone.
func NewProjectCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "project",
		Aliases: []string{"projects"},
		Short:   "Manage the projects of a zone",
		Args:    noArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(
		newProjectCreateCommand(app),
		newProjectListCommand(app),
		newProjectShowCommand(app),
		newProjectUpdateCommand(app),
		newProjectDeleteCommand(app),
	)
	return cmd
}

// zoneFlag adds the --zone flag every project and environment command needs.
func (app *App) zoneFlag(cmd *cobra.Command, zoneName *string) {
	cmd.Flags().StringVar(zoneName, "zone", "", "name of the zone (required)")
	_ = cmd.RegisterFlagCompletionFunc("zone", app.completeZones)
}

func newProjectCreateCommand(app *App) *cobra.Command {
	var zoneName, maxClass string
	var in zone.ProjectCreate
	var tags []string
	cmd := &cobra.Command{
		Use:   "create NAME --zone ZONE --owner OWNER --cost-center CC",
		Short: "Create a project with its dev and prod environments",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			in.Tags, err = parseTags(tags)
			return errors.Join(requireFlags(cmd, "zone", "owner", "cost-center"), err)
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Name = args[0]
			in.MaxClassification = enclave.Classification(maxClass)
			p, err := c.CreateProject(cmd.Context(), zoneName, in)
			if err != nil {
				return err
			}
			return printItem(app, p, projectColumns)
		}),
	}
	app.zoneFlag(cmd, &zoneName)
	cmd.Flags().StringVar(&in.Owner, "owner", "", "person accountable for the project (required)")
	cmd.Flags().StringVar(&in.CostCenter, "cost-center", "", "cost center to charge (required)")
	cmd.Flags().StringVar(&in.Description, "description", "", "what the project is for")
	cmd.Flags().StringVar(&maxClass, "max-classification", "", "most sensitive data the project may hold (default internal)")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag as key=value (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("max-classification", fixedCompletion(classifications...))
	return cmd
}

func newProjectListCommand(app *App) *cobra.Command {
	var zoneName, state string
	var limit int
	cmd := &cobra.Command{
		Use:   "list --zone ZONE",
		Short: "List the projects of a zone",
		Args:  noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return errors.Join(requireFlags(cmd, "zone"), checkLimit(limit))
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			f := zone.ProjectFilter{State: zone.State(state)}
			projects, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*zone.Project, string, error) {
				return c.ListProjects(ctx, zoneName, f, p)
			})
			if err != nil {
				return err
			}
			return printList(app, projects, projectColumns)
		}),
	}
	app.zoneFlag(cmd, &zoneName)
	cmd.Flags().StringVar(&state, "state", "", "only projects in this state: active, retiring or retired")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many projects (0 for all)")
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletion(lifecycleStates...))
	return cmd
}

func newProjectShowCommand(app *App) *cobra.Command {
	var zoneName string
	cmd := &cobra.Command{
		Use:     "show NAME --zone ZONE",
		Short:   "Show a project",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			p, err := c.GetProject(cmd.Context(), zoneName, args[0])
			if err != nil {
				return err
			}
			return printItem(app, p, projectColumns)
		}),
	}
	app.zoneFlag(cmd, &zoneName)
	return cmd
}

func newProjectUpdateCommand(app *App) *cobra.Command {
	var zoneName, description, owner, costCenter, maxClass, state string
	var tags []string
	var clearTags bool
	var in zone.ProjectUpdate
	cmd := &cobra.Command{
		Use:   "update NAME --zone ZONE",
		Short: "Change a project's description, owner, cost center, tags, classification or state",
		Long: "Change a project's description, owner, cost center, tags, maximum classification or\n" +
			"lifecycle state. Only the flags given are changed; --tag replaces all tags.",
		Args: exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "zone"); err != nil {
				return err
			}
			if err := requireOneOf(cmd, "description", "owner", "cost-center", "tag", "clear-tags", "max-classification", "state"); err != nil {
				return err
			}
			var err error
			in.Tags, err = tagsUpdate(cmd, tags, clearTags)
			return err
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			changed := cmd.Flags().Changed
			if changed("description") {
				in.Description = &description
			}
			if changed("owner") {
				in.Owner = &owner
			}
			if changed("cost-center") {
				in.CostCenter = &costCenter
			}
			if changed("max-classification") {
				mc := enclave.Classification(maxClass)
				in.MaxClassification = &mc
			}
			if changed("state") {
				s := zone.State(state)
				in.State = &s
			}
			p, err := c.UpdateProject(cmd.Context(), zoneName, args[0], in)
			if err != nil {
				return err
			}
			return printItem(app, p, projectColumns)
		}),
	}
	app.zoneFlag(cmd, &zoneName)
	cmd.Flags().StringVar(&description, "description", "", "new description")
	cmd.Flags().StringVar(&owner, "owner", "", "new owner")
	cmd.Flags().StringVar(&costCenter, "cost-center", "", "new cost center")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag as key=value (repeatable); replaces all tags")
	cmd.Flags().BoolVar(&clearTags, "clear-tags", false, "remove all tags")
	cmd.Flags().StringVar(&maxClass, "max-classification", "", "new maximum classification")
	cmd.Flags().StringVar(&state, "state", "", "new lifecycle state: active, retiring or retired")
	_ = cmd.RegisterFlagCompletionFunc("max-classification", fixedCompletion(classifications...))
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletion(lifecycleStates...))
	return cmd
}

func newProjectDeleteCommand(app *App) *cobra.Command {
	var zoneName string
	cmd := &cobra.Command{
		Use:     "delete NAME --zone ZONE",
		Short:   "Delete a project",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteProject(cmd.Context(), zoneName, args[0]); err != nil {
				return err
			}
			return app.printDone("Deleted project %s in zone %s", args[0], zoneName)
		}),
	}
	app.zoneFlag(cmd, &zoneName)
	return cmd
}
