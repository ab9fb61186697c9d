package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/spf13/cobra"
)

// The tracking and registry commands read what the mlflow client wrote
// through the project's tracking URI; nothing here writes.

var experimentColumns = []column[*tracking.Experiment]{
	{"ID", func(e *tracking.Experiment) string { return e.ID }},
	{"NAME", func(e *tracking.Experiment) string { return e.Name }},
	{"STAGE", func(e *tracking.Experiment) string { return e.LifecycleStage }},
	{"RUNS", func(e *tracking.Experiment) string {
		if e.Runs == nil {
			return ""
		}
		return strconv.Itoa(e.Runs.Active)
	}},
	{"CREATED BY", func(e *tracking.Experiment) string { return e.CreatedBy }},
	{"CREATED", func(e *tracking.Experiment) string { return millis(e.CreationTime) }},
	{"TAGS", func(e *tracking.Experiment) string { return truncate(keyVals(e.Tags, false), 40) }},
}

var runColumns = []column[*tracking.Run]{
	{"RUN ID", func(r *tracking.Run) string { return r.Info.ID }},
	{"NAME", func(r *tracking.Run) string { return r.Info.Name }},
	{"STATUS", func(r *tracking.Run) string { return r.Info.Status }},
	{"USER", func(r *tracking.Run) string { return r.Info.UserID }},
	{"STARTED", func(r *tracking.Run) string { return millis(r.Info.StartTime) }},
	{"METRICS", func(r *tracking.Run) string { return truncate(metricVals(r.Metrics, 0), 40) }},
	{"PARAMS", func(r *tracking.Run) string { return truncate(keyVals(r.Params, false), 40) }},
}

var modelColumns = []column[*registry.Model]{
	{"NAME", func(m *registry.Model) string { return m.Name }},
	{"LATEST", func(m *registry.Model) string {
		n := 0
		for _, v := range m.Latest {
			n = max(n, v.Version)
		}
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}},
	{"ALIASES", func(m *registry.Model) string { return aliases(m.Aliases) }},
	{"UPDATED", func(m *registry.Model) string { return millis(m.LastUpdatedTime) }},
	{"DESCRIPTION", func(m *registry.Model) string { return truncate(m.Description, 40) }},
}

var modelVersionColumns = []column[*registry.Version]{
	{"VERSION", func(v *registry.Version) string { return strconv.Itoa(v.Version) }},
	{"STAGE", func(v *registry.Version) string { return v.Stage }},
	{"STATUS", func(v *registry.Version) string { return v.Status }},
	{"ALIASES", func(v *registry.Version) string { return strings.Join(v.Aliases, ",") }},
	{"RUN ID", func(v *registry.Version) string { return v.RunID }},
	{"LOGGED MODEL", func(v *registry.Version) string { return v.LoggedModelID }},
	{"CREATED", func(v *registry.Version) string { return millis(v.CreationTime) }},
	{"SOURCE", func(v *registry.Version) string { return v.Source }},
}

// millis formats a time in milliseconds since the epoch, as MLflow keeps
// them.
func millis(ms int64) string {
	if ms == 0 {
		return ""
	}
	return formatTime(time.UnixMilli(ms))
}

// keyVals joins parameters or tags as k=v, sorted by key; system tags
// (mlflow.*) only with system.
func keyVals(kvs []tracking.KeyVal, system bool) string {
	var parts []string
	for _, kv := range kvs {
		if system || !strings.HasPrefix(kv.Key, "mlflow.") {
			parts = append(parts, kv.Key+"="+kv.Value)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// metricVal prints a metric's value; the store keeps infinities as the
// largest finite doubles, as MLflow's does.
func metricVal(v float64) string {
	switch v {
	case math.MaxFloat64:
		return "+Inf"
	case -math.MaxFloat64:
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// metricVals joins metrics as k=v, sorted by key, at most limit of them (0:
// all), saying how many more there are.
func metricVals(ms []tracking.Metric, limit int) string {
	ms = append([]tracking.Metric(nil), ms...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
	var parts []string
	for i, m := range ms {
		if limit > 0 && i == limit {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(ms)-limit))
			break
		}
		parts = append(parts, m.Key+"="+metricVal(m.Value))
	}
	return strings.Join(parts, ", ")
}

func aliases(as []registry.Alias) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("%s=v%d", a.Alias, a.Version)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// NewExperimentCommand returns "enclave experiment": a project's experiments.
func NewExperimentCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "experiment",
		Aliases: []string{"experiments", "exp"},
		Short:   "See a project's experiments (the mlflow client writes them)",
		Long: "Experiments group the runs the mlflow client logs to a project's tracking URI,\n" +
			"http(s)://HOST/mlflow/ZONE/PROJECT. These commands read them; see also enclave run and enclave model.",
		Args: noArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newExperimentListCommand(app), newExperimentShowCommand(app))
	return cmd
}

func newExperimentListCommand(app *App) *cobra.Command {
	var zoneName, project string
	var f client.ExperimentFilter
	var limit int
	cmd := &cobra.Command{
		Use:     "ls --zone ZONE --project PROJECT [--filter F] [--order-by K]... [--view active|deleted|all]",
		Aliases: []string{"list"},
		Short:   "List and search a project's experiments",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return errors.Join(requireFlags(cmd, "zone", "project"), checkLimit(limit))
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			es, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*tracking.Experiment, string, error) {
				return c.ListExperiments(ctx, zoneName, project, f, p)
			})
			if err != nil {
				return err
			}
			return printList(app, es, experimentColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&f.Filter, "filter", "", "MLflow search filter, e.g. \"name LIKE 'churn%'\"")
	cmd.Flags().StringArrayVar(&f.OrderBy, "order-by", nil, "order, e.g. \"creation_time DESC\" (repeatable)")
	cmd.Flags().StringVar(&f.View, "view", "", "active (default), deleted or all")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many experiments (0 for all)")
	return cmd
}

func newExperimentShowCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:     "show NAME|ID --zone ZONE --project PROJECT",
		Short:   "Show an experiment with its tags and run counts",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			e, err := c.GetExperiment(cmd.Context(), zoneName, project, args[0])
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, e)
			}
			return writeExperiment(app.Stdout, e)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	return cmd
}

func writeExperiment(w io.Writer, e *tracking.Experiment) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("experiment %s (%s)", e.Name, e.ID)
	p("  project:   %s/%s", e.Zone, e.Project)
	p("  stage:     %s", e.LifecycleStage)
	if e.Runs != nil {
		p("  runs:      %d active, %d deleted", e.Runs.Active, e.Runs.Deleted)
	}
	p("  created:   %s by %s", millis(e.CreationTime), e.CreatedBy)
	p("  updated:   %s", millis(e.LastUpdateTime))
	p("  artifacts: %s", e.ArtifactLocation)
	if len(e.Tags) > 0 {
		p("tags:")
		for _, t := range sortedKeyVals(e.Tags) {
			p("  %s = %s", t.Key, t.Value)
		}
	}
	return nil
}

func sortedKeyVals(kvs []tracking.KeyVal) []tracking.KeyVal {
	out := append([]tracking.KeyVal(nil), kvs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// NewRunCommand returns "enclave run": the runs of a project's experiments.
func NewRunCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "run",
		Aliases: []string{"runs"},
		Short:   "See the runs the mlflow client logged: metrics, parameters, datasets and models",
		Args:    noArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(newRunListCommand(app), newRunShowCommand(app))
	return cmd
}

func newRunListCommand(app *App) *cobra.Command {
	var zoneName, project string
	var f client.RunFilter
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:     "ls --experiment NAME|ID --zone ZONE --project PROJECT [--filter F] [--order-by K]... [--all]",
		Aliases: []string{"list"},
		Short:   "List and search the runs of experiments",
		Long: "List and search the runs of one or more experiments (--experiment is repeatable), with MLflow's\n" +
			"search grammar: --filter \"metrics.auc > 0.8 and params.lr = '0.01'\" --order-by \"metrics.auc DESC\".",
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return errors.Join(requireFlags(cmd, "zone", "project", "experiment"), checkLimit(limit))
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			if all {
				f.View = "all"
			}
			rs, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*tracking.Run, string, error) {
				return c.ListRuns(ctx, zoneName, project, f, p)
			})
			if err != nil {
				return err
			}
			return printList(app, rs, runColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringArrayVar(&f.Experiments, "experiment", nil, "experiment name or ID (required, repeatable)")
	cmd.Flags().StringVar(&f.Filter, "filter", "", "MLflow search filter, e.g. \"metrics.auc > 0.8\"")
	cmd.Flags().StringArrayVar(&f.OrderBy, "order-by", nil, "order, e.g. \"metrics.auc DESC\" (repeatable)")
	cmd.Flags().BoolVar(&all, "all", false, "deleted runs too")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many runs (0 for all)")
	return cmd
}

func newRunShowCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:     "show RUN_ID --zone ZONE --project PROJECT",
		Short:   "Show a run: parameters, latest metrics, tags, dataset inputs and model outputs",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			r, err := c.GetRun(cmd.Context(), zoneName, project, args[0])
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, r)
			}
			return writeRun(app.Stdout, r, "")
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	return cmd
}

// writeRun prints a run for a person; experiment names its experiment
// when known.
func writeRun(w io.Writer, r *tracking.Run, experiment string) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("run %s (%s)", r.Info.ID, r.Info.Name)
	if experiment != "" {
		p("  experiment: %s (%s)", experiment, r.Info.ExperimentID)
	} else {
		p("  experiment: %s", r.Info.ExperimentID)
	}
	p("  status:     %s", r.Info.Status)
	if r.Info.LifecycleStage != tracking.Active {
		p("  stage:      %s", r.Info.LifecycleStage)
	}
	p("  user:       %s", r.Info.UserID)
	p("  started:    %s", millis(r.Info.StartTime))
	if r.Info.EndTime != nil {
		p("  ended:      %s", millis(*r.Info.EndTime))
	}
	p("  artifacts:  %s", r.Info.ArtifactURI)
	if len(r.Params) > 0 {
		p("params:")
		for _, kv := range sortedKeyVals(r.Params) {
			p("  %s = %s", kv.Key, kv.Value)
		}
	}
	if len(r.Metrics) > 0 {
		p("metrics (latest):")
		ms := append([]tracking.Metric(nil), r.Metrics...)
		sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
		for _, m := range ms {
			p("  %s = %s  (step %d)", m.Key, metricVal(m.Value), m.Step)
		}
	}
	if tags := keyVals(r.Tags, false); tags != "" {
		p("tags:")
		for _, kv := range sortedKeyVals(r.Tags) {
			if !strings.HasPrefix(kv.Key, "mlflow.") {
				p("  %s = %s", kv.Key, kv.Value)
			}
		}
	}
	writeDatasets(w, r.Inputs)
	if len(r.ModelInputs) > 0 {
		p("models used:")
		for _, m := range r.ModelInputs {
			p("  %s", m)
		}
	}
	if len(r.Outputs) > 0 {
		p("models made:")
		for _, o := range r.Outputs {
			p("  %s  (step %d)", o.ModelID, o.Step)
		}
	}
	return nil
}

// writeDatasets prints the datasets a run used, with the catalog dataset
// version each names, if any.
func writeDatasets(w io.Writer, in []tracking.DatasetInput) {
	if len(in) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("datasets:")
	for _, d := range in {
		line := fmt.Sprintf("  %s  digest %s", d.Dataset.Name, d.Dataset.Digest)
		for _, t := range d.Tags {
			if t.Key == "mlflow.data.context" {
				line += "  context " + t.Value
			}
		}
		p("%s", line)
		if ref := d.Dataset.VersionRef; ref != nil {
			p("    enclave dataset %s/%s/%s@%d", ref.Zone, ref.Project, ref.Dataset, ref.Version)
			if ref.ContentSHA256 != "" {
				p("    sha256 %s", ref.ContentSHA256)
			}
			if ref.Classification != "" {
				p("    classification %s", ref.Classification)
			}
		} else {
			p("    %s source %s", d.Dataset.SourceType, truncate(d.Dataset.Source, 100))
		}
	}
}

// NewModelCommand returns "enclave model": the project's model registry.
func NewModelCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "model",
		Aliases: []string{"models"},
		Short:   "See the registered models, their versions and where each came from",
		Args:    noArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(newModelListCommand(app), newModelShowCommand(app), newModelVersionsCommand(app), newModelLineageCommand(app))
	return cmd
}

func newModelListCommand(app *App) *cobra.Command {
	var zoneName, project string
	var f client.ModelFilter
	var limit int
	cmd := &cobra.Command{
		Use:     "ls --zone ZONE --project PROJECT [--filter F] [--order-by K]...",
		Aliases: []string{"list"},
		Short:   "List and search a project's registered models",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return errors.Join(requireFlags(cmd, "zone", "project"), checkLimit(limit))
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ms, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*registry.Model, string, error) {
				return c.ListModels(ctx, zoneName, project, f, p)
			})
			if err != nil {
				return err
			}
			return printList(app, ms, modelColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&f.Filter, "filter", "", "MLflow search filter, e.g. \"name LIKE 'churn%'\"")
	cmd.Flags().StringArrayVar(&f.OrderBy, "order-by", nil, "order, e.g. \"last_updated_timestamp DESC\" (repeatable)")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many models (0 for all)")
	return cmd
}

func newModelShowCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:     "show NAME --zone ZONE --project PROJECT",
		Short:   "Show a registered model with its aliases and latest version per stage",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			m, err := c.GetModel(cmd.Context(), zoneName, project, args[0])
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, m)
			}
			return writeModel(app.Stdout, m)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	return cmd
}

func writeModel(w io.Writer, m *registry.Model) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("model %s", m.Name)
	p("  project:     %s/%s", m.Zone, m.Project)
	if m.Description != "" {
		p("  description: %s", m.Description)
	}
	p("  created:     %s by %s", millis(m.CreationTime), m.CreatedBy)
	p("  updated:     %s", millis(m.LastUpdatedTime))
	if a := aliases(m.Aliases); a != "" {
		p("  aliases:     %s", a)
	}
	if len(m.Tags) > 0 {
		p("tags:")
		for _, t := range sortedKeyVals(m.Tags) {
			p("  %s = %s", t.Key, t.Value)
		}
	}
	if len(m.Latest) > 0 {
		p("latest versions:")
		for _, v := range m.Latest {
			p("  %-10s v%d  %s", v.Stage, v.Version, v.Source)
		}
	}
	return nil
}

func newModelVersionsCommand(app *App) *cobra.Command {
	var zoneName, project string
	var limit int
	cmd := &cobra.Command{
		Use:   "versions NAME --zone ZONE --project PROJECT",
		Short: "List a registered model's versions, newest first",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return errors.Join(requireFlags(cmd, "zone", "project"), checkLimit(limit))
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			vs, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*registry.Version, string, error) {
				return c.ListModelVersions(ctx, zoneName, project, args[0], p)
			})
			if err != nil {
				return err
			}
			return printList(app, vs, modelVersionColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many versions (0 for all)")
	return cmd
}

func newModelLineageCommand(app *App) *cobra.Command {
	var zoneName, project string
	var version int
	cmd := &cobra.Command{
		Use:   "lineage NAME --version N --zone ZONE --project PROJECT",
		Short: "Show where a model version came from: logged model, run, experiment and datasets",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "zone", "project", "version"); err != nil {
				return err
			}
			if version < 1 {
				return usageError{fmt.Errorf("--version must be a version number, 1 or more")}
			}
			return nil
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			l, err := c.ModelLineage(cmd.Context(), zoneName, project, args[0], version)
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, l)
			}
			return writeLineage(app.Stdout, l)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&version, "version", 0, "version number (required)")
	return cmd
}

// keyMetrics is how many metrics and parameters lineage prints of a run.
const keyMetrics = 8

// writeLineage prints the chain from a model version back to its data:
// version → logged model → run → datasets, each step under the one before.
func writeLineage(w io.Writer, l *registry.Lineage) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	depth := 0
	// step prints the head of the next link of the chain; detail prints
	// under it.
	step := func(format string, args ...any) {
		p(strings.Repeat("   ", depth)+"└─ "+format, args...)
		depth++
	}
	detail := func(format string, args ...any) { p(strings.Repeat("   ", depth)+"  "+format, args...) }
	v := l.Version
	p("model %s version %d", l.Model, v.Version)
	detail("stage:    %s", v.Stage)
	if len(v.Aliases) > 0 {
		detail("aliases:  %s", strings.Join(v.Aliases, ", "))
	}
	detail("status:   %s", v.Status)
	detail("source:   %s", v.Source)
	detail("created:  %s by %s", millis(v.CreationTime), v.UserID)
	if m := l.LoggedModel; m != nil {
		step("logged model %s (%s)", m.ID, m.Name)
		detail("status:    %s", m.Status)
		detail("artifacts: %s", m.ArtifactLocation)
		if len(m.Metrics) > 0 {
			detail("metrics:   %s", metricVals(m.Metrics, keyMetrics))
		}
	} else if v.LoggedModelID != "" {
		step("logged model %s (not found)", v.LoggedModelID)
	}
	r := l.Run
	if r == nil {
		if v.RunID != "" {
			step("run %s (not found)", v.RunID)
		} else {
			step("no run: the version was registered from artifacts no run made")
		}
		return nil
	}
	step("run %s (%s)", r.Info.ID, r.Info.Name)
	if e := l.Experiment; e != nil {
		detail("experiment: %s (%s)", e.Name, e.ID)
	} else {
		detail("experiment: %s", r.Info.ExperimentID)
	}
	detail("status:     %s", r.Info.Status)
	detail("started:    %s by %s", millis(r.Info.StartTime), r.Info.UserID)
	if len(r.Params) > 0 {
		ps := sortedKeyVals(r.Params)
		var parts []string
		for i, kv := range ps {
			if i == keyMetrics {
				parts = append(parts, fmt.Sprintf("… (%d more)", len(ps)-keyMetrics))
				break
			}
			parts = append(parts, kv.Key+"="+kv.Value)
		}
		detail("params:     %s", strings.Join(parts, ", "))
	}
	if len(r.Metrics) > 0 {
		detail("metrics:    %s", metricVals(r.Metrics, keyMetrics))
	}
	if len(l.Datasets) == 0 {
		step("no datasets logged")
		return nil
	}
	runDepth := depth
	for _, d := range l.Datasets {
		depth = runDepth
		line := fmt.Sprintf("dataset %s  digest %s", d.Dataset.Name, d.Dataset.Digest)
		for _, t := range d.Tags {
			if t.Key == "mlflow.data.context" {
				line += "  context " + t.Value
			}
		}
		step("%s", line)
		if ref := d.Dataset.VersionRef; ref != nil {
			detail("enclave dataset: %s/%s/%s@%d", ref.Zone, ref.Project, ref.Dataset, ref.Version)
			if ref.ContentSHA256 != "" {
				detail("sha256:          %s", ref.ContentSHA256)
			}
			if ref.Classification != "" {
				detail("classification:  %s", ref.Classification)
			}
		} else {
			detail("source (%s): %s", d.Dataset.SourceType, truncate(d.Dataset.Source, 100))
		}
	}
	return nil
}
