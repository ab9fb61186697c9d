package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/spf13/cobra"
)

// zoneColumns is the table of zones.
var zoneColumns = []column[*zone.Zone]{
	{"NAME", func(z *zone.Zone) string { return z.Name }},
	{"REGION", func(z *zone.Zone) string { return z.Region }},
	{"STATE", func(z *zone.Zone) string { return string(z.State) }},
	{"MAX CLASSIFICATION", func(z *zone.Zone) string { return string(z.MaxClassification) }},
	{"DISPLAY NAME", func(z *zone.Zone) string { return z.DisplayName }},
	{"TAGS", func(z *zone.Zone) string { return formatTags(z.Tags) }},
	{"CREATED", func(z *zone.Zone) string { return formatTime(z.CreatedAt) }},
}

// lifecycleStates are the values of --state for zones, projects and environments.
var lifecycleStates = []string{string(zone.Active), string(zone.Retiring), string(zone.Retired)}

// NewZoneCommand returns "enclave zone": landing zones, the units of scale
// and data residency.
func NewZoneCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "zone",
		Aliases: []string{"zones"},
		Short:   "Manage landing zones",
		Args:    noArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(
		newZoneCreateCommand(app),
		newZoneListCommand(app),
		newZoneShowCommand(app),
		newZoneUpdateCommand(app),
		newZoneDeleteCommand(app),
	)
	return cmd
}

func newZoneCreateCommand(app *App) *cobra.Command {
	var in zone.ZoneCreate
	var tags []string
	cmd := &cobra.Command{
		Use:   "create NAME --region REGION",
		Short: "Create a zone with its shared staging and QA environments",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			in.Tags, err = parseTags(tags)
			return errors.Join(requireFlags(cmd, "region"), err)
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Name = args[0]
			z, err := c.CreateZone(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, z, zoneColumns)
		}),
	}
	cmd.Flags().StringVar(&in.Region, "region", "", "data-residency region of the zone, such as eu-west (required, immutable)")
	cmd.Flags().StringVar(&in.DisplayName, "display-name", "", "human-readable name")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag as key=value (repeatable)")
	cmd.Flags().Var((*classificationFlag)(&in.MaxClassification), "max-classification", "most sensitive data the zone's projects may hold (default restricted)")
	_ = cmd.RegisterFlagCompletionFunc("max-classification", fixedCompletion(classifications...))
	return cmd
}

// classificationFlag is a classification given on the command line.
type classificationFlag enclave.Classification

func (c *classificationFlag) String() string { return string(*c) }
func (c *classificationFlag) Type() string   { return "classification" }
func (c *classificationFlag) Set(v string) error {
	if err := enclave.Classification(v).Validate("max-classification"); err != nil {
		return err
	}
	*c = classificationFlag(v)
	return nil
}

func newZoneListCommand(app *App) *cobra.Command {
	var f zone.ZoneFilter
	var state string
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List zones",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			f.State = zone.State(state)
			zones, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*zone.Zone, string, error) {
				return c.ListZones(ctx, f, p)
			})
			if err != nil {
				return err
			}
			return printList(app, zones, zoneColumns)
		}),
	}
	cmd.Flags().StringVar(&f.Region, "region", "", "only zones in this region")
	cmd.Flags().StringVar(&state, "state", "", "only zones in this state: active, retiring or retired")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many zones (0 for all)")
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletion(lifecycleStates...))
	return cmd
}

func newZoneShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a zone",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completeZoneArg,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			z, err := c.GetZone(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, z, zoneColumns)
		}),
	}
}

func newZoneUpdateCommand(app *App) *cobra.Command {
	var displayName, state string
	var tags []string
	var clearTags bool
	var maxClass enclave.Classification
	var in zone.ZoneUpdate
	cmd := &cobra.Command{
		Use:               "update NAME",
		Short:             "Change a zone's display name, tags or lifecycle state",
		Long:              "Change a zone's display name, tags, maximum classification or lifecycle state. Only the flags given are changed;\n--tag replaces all tags. The name and region cannot change.",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completeZoneArg,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireOneOf(cmd, "display-name", "tag", "clear-tags", "state", "max-classification"); err != nil {
				return err
			}
			var err error
			in.Tags, err = tagsUpdate(cmd, tags, clearTags)
			return err
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if cmd.Flags().Changed("display-name") {
				in.DisplayName = &displayName
			}
			if cmd.Flags().Changed("state") {
				s := zone.State(state)
				in.State = &s
			}
			if cmd.Flags().Changed("max-classification") {
				m := enclave.Classification(maxClass)
				in.MaxClassification = &m
			}
			z, err := c.UpdateZone(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return printItem(app, z, zoneColumns)
		}),
	}
	cmd.Flags().StringVar(&displayName, "display-name", "", "new human-readable name")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag as key=value (repeatable); replaces all tags")
	cmd.Flags().BoolVar(&clearTags, "clear-tags", false, "remove all tags")
	cmd.Flags().StringVar(&state, "state", "", "new lifecycle state: active, retiring or retired")
	cmd.Flags().Var((*classificationFlag)(&maxClass), "max-classification", "new maximum classification of the zone's projects")
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletion(lifecycleStates...))
	_ = cmd.RegisterFlagCompletionFunc("max-classification", fixedCompletion(classifications...))
	return cmd
}

func newZoneDeleteCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:               "delete NAME",
		Short:             "Delete a zone that holds no projects",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completeZoneArg,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteZone(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Deleted zone %s", args[0])
		}),
	}
}

// printDone confirms an action that returns no resource. Only the table
// format prints it: a script asking for JSON or YAML reads the exit code.
func (app *App) printDone(format string, args ...any) error {
	if app.Output != formatTable {
		return nil
	}
	_, err := fmt.Fprintf(app.Stdout, format+"\n", args...)
	return err
}

// parseTags parses repeated --tag key=value flags.
func parseTags(flags []string) (enclave.Tags, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	tags := enclave.Tags{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--tag %q must be key=value", f)}
		}
		if _, dup := tags[k]; dup {
			return nil, usageError{fmt.Errorf("--tag %s is given twice", k)}
		}
		tags[k] = v
	}
	return tags, nil
}

// tagsUpdate returns the tags an update sends: the --tag values, an empty
// set for --clear-tags, or nil when neither flag was given.
func tagsUpdate(cmd *cobra.Command, flags []string, clear bool) (*enclave.Tags, error) {
	switch {
	case cmd.Flags().Changed("tag") && clear:
		return nil, usageError{fmt.Errorf("--tag and --clear-tags cannot be used together")}
	case clear:
		return &enclave.Tags{}, nil
	case cmd.Flags().Changed("tag"):
		t, err := parseTags(flags)
		return &t, err
	}
	return nil, nil
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// noArgs refuses positional arguments (and unknown subcommands) as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}

// requireFlags checks that required flags were given. Cobra's own check is
// not a usage error, so it is done here.
func requireFlags(cmd *cobra.Command, names ...string) error {
	var missing []string
	for _, n := range names {
		if !cmd.Flags().Changed(n) {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return usageError{fmt.Errorf("%s is required", strings.Join(missing, " and "))}
	}
	return nil
}

// requireOneOf checks that at least one of the flags was given.
func requireOneOf(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return nil
		}
	}
	return usageError{fmt.Errorf("nothing to change: give at least one of --%s", strings.Join(names, ", --"))}
}

func checkLimit(limit int) error {
	if limit < 0 {
		return usageError{fmt.Errorf("--limit must not be negative")}
	}
	return nil
}

// completeZoneArg completes a zone name as the first argument.
func (app *App) completeZoneArg(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return app.completeZones(cmd, nil, "")
}

// completeZones completes zone names from the server, when logged in.
func (app *App) completeZones(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := app.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	zones, _, err := c.ListZones(ctx, zone.ZoneFilter{}, enclave.Page{Size: enclave.MaxPageSize})
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	names := make([]cobra.Completion, len(zones))
	for i, z := range zones {
		names[i] = z.Name
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// showHelp is the RunE of a command group: run without a subcommand it
// prints its help; with an unknown one, noArgs has refused it already.
func showHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }

// minArgs is cobra.MinimumNArgs with a usage error.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
