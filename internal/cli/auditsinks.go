package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/spf13/cobra"
)

// sinkColumns is the table of audit sinks: where each goes and how
// delivery is doing. The last error is cut short; -o yaml shows it whole.
var sinkColumns = []column[*siem.Sink]{
	{"NAME", func(s *siem.Sink) string { return s.Name }},
	{"KIND", func(s *siem.Sink) string { return string(s.Kind) }},
	{"DESTINATION", func(s *siem.Sink) string { return truncate(sinkDestination(s), 48) }},
	{"ENABLED", func(s *siem.Sink) string { return strconv.FormatBool(s.Enabled) }},
	{"REQUIRED", func(s *siem.Sink) string { return strconv.FormatBool(s.Required) }},
	{"STATUS", func(s *siem.Sink) string { return health(s, func(h *siem.Health) string { return string(h.Status) }) }},
	{"LAG", func(s *siem.Sink) string {
		return health(s, func(h *siem.Health) string { return fmt.Sprint(h.LagEvents) })
	}},
	{"DELIVERED", func(s *siem.Sink) string {
		return health(s, func(h *siem.Health) string { return fmt.Sprint(h.Delivered) })
	}},
	{"FAILURES", func(s *siem.Sink) string {
		return health(s, func(h *siem.Health) string { return fmt.Sprint(h.ConsecutiveFailures) })
	}},
	{"LAST SUCCESS", func(s *siem.Sink) string {
		return health(s, func(h *siem.Health) string {
			if h.LastSuccessAt == nil {
				return "-"
			}
			return formatTime(*h.LastSuccessAt)
		})
	}},
	{"LAST ERROR", func(s *siem.Sink) string {
		return health(s, func(h *siem.Health) string { return orDash(truncate(h.LastError, 48)) })
	}},
}

func health(s *siem.Sink, f func(*siem.Health) string) string {
	if s.Health == nil {
		return "-"
	}
	return f(s.Health)
}

func sinkDestination(s *siem.Sink) string {
	switch {
	case s.File != nil:
		return s.File.Path
	case s.Syslog != nil:
		return s.Syslog.Address
	case s.Webhook != nil:
		return s.Webhook.URL
	}
	return ""
}

// sinkKinds and the formats are the values of --kind and --format.
var (
	sinkKinds     = []string{string(siem.KindFile), string(siem.KindSyslog), string(siem.KindWebhook)}
	sinkFormats   = []string{string(siem.SyslogJSON), string(siem.SyslogStructured), string(siem.WebhookSplunkHEC), string(siem.WebhookJSON)}
	sinkStartings = []string{string(siem.StartOldest), string(siem.StartLatest)}
)

// newAuditSinksCommand returns "enclave audit sinks": where the audit trail
// is streamed, and how delivery is doing.
func newAuditSinksCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "sinks",
		Aliases: []string{"sink"},
		Short:   "Manage audit sinks (JSONL file, syslog over TLS, webhook) and see their health",
		Args:    noArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(newSinkListCommand(app), newSinkShowCommand(app), newSinkCreateCommand(app), newSinkUpdateCommand(app),
		newSinkDeleteCommand(app))
	return cmd
}

func newSinkListCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List audit sinks with their delivery health",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			sinks, err := client.Collect(cmd.Context(), 0, func(ctx context.Context, p enclave.Page) ([]*siem.Sink, string, error) {
				return c.ListAuditSinks(ctx, p)
			})
			if err != nil {
				return err
			}
			return printList(app, sinks, sinkColumns)
		}),
	}
}

func newSinkShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show an audit sink, its settings and its delivery health",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			s, err := c.GetAuditSink(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, s, sinkColumns)
		}),
	}
}

// sinkFlags are the settings flags of create and update.
type sinkFlags struct {
	path, address, url, format, caFile, certFile, keyFile, serverName, index string
	maxBytes                                                                 int64
	keep, facility, batchSize                                                int
	tokenStdin, clearToken                                                   bool
}

func (f *sinkFlags) register(cmd *cobra.Command, update bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.path, "path", "", "file: path under the server's audit directory (<data_dir>/audit), such as siem/audit.jsonl")
	fl.Int64Var(&f.maxBytes, "max-bytes", 0, "file: rotate when the file would grow past this size (default 100 MiB)")
	fl.IntVar(&f.keep, "keep", 0, "file: rotated files to keep (default 5)")
	fl.StringVar(&f.address, "address", "", "syslog: host:port of the TLS syslog receiver")
	fl.StringVar(&f.certFile, "cert-file", "", "syslog: client certificate (PEM) on the server, for receivers that require one")
	fl.StringVar(&f.keyFile, "key-file", "", "syslog: the client certificate's key (PEM) on the server")
	fl.StringVar(&f.serverName, "server-name", "", "syslog: name the receiver's certificate must carry (default: the address's host)")
	fl.IntVar(&f.facility, "facility", siem.FacilityLogAudit, "syslog: facility 0-23")
	fl.StringVar(&f.url, "url", "", "webhook: https URL (http only to a loopback address)")
	fl.StringVar(&f.index, "index", "", "webhook: Splunk index (splunk-hec format)")
	fl.BoolVar(&f.tokenStdin, "token-stdin", false, "webhook: read the token (the HEC token, or a bearer token) from stdin")
	fl.StringVar(&f.caFile, "ca-file", "", "syslog and webhook: PEM file on the server of the CAs to trust (default: the system's)")
	fl.StringVar(&f.format, "format", "", "syslog: json or structured (default json); webhook: splunk-hec or json (default splunk-hec)")
	fl.IntVar(&f.batchSize, "batch-size", 0, fmt.Sprintf("events per delivery, 1-%d (default %d)", siem.MaxBatchSize, siem.DefaultBatchSize))
	if update {
		fl.BoolVar(&f.clearToken, "clear-token", false, "webhook: remove the token")
	}
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(sinkFormats...))
}

// token reads the webhook token from stdin when asked to, or clears it.
func (f *sinkFlags) token(app *App) (*string, error) {
	switch {
	case f.tokenStdin && f.clearToken:
		return nil, usageError{fmt.Errorf("--token-stdin and --clear-token exclude each other")}
	case f.clearToken:
		empty := ""
		return &empty, nil
	case f.tokenStdin:
		t, err := app.prompter().secret("Token: ", "token")
		if err != nil {
			return nil, err
		}
		return &t, nil
	}
	return nil, nil
}

// apply sets the changed settings flags on the settings of kind, starting
// from cur (the sink's current settings, for update; empty for create).
func (f *sinkFlags) apply(cmd *cobra.Command, app *App, kind siem.Kind, cur *siem.Sink) (*siem.FileSettings, *siem.SyslogSettings, *siem.WebhookInput, error) {
	changed := cmd.Flags().Changed
	own := map[siem.Kind][]string{
		siem.KindFile:    {"path", "max-bytes", "keep"},
		siem.KindSyslog:  {"address", "ca-file", "cert-file", "key-file", "server-name", "format", "facility"},
		siem.KindWebhook: {"url", "ca-file", "format", "index", "token-stdin", "clear-token"},
	}
	mine := map[string]bool{}
	for _, n := range own[kind] {
		mine[n] = true
	}
	given := false
	for _, k := range siem.Kinds {
		for _, n := range own[k] {
			if changed(n) && !mine[n] {
				return nil, nil, nil, usageError{fmt.Errorf("--%s is not a setting of %s sinks", n, kind)}
			}
			given = given || (changed(n) && mine[n])
		}
	}
	if !given && cur != nil {
		return nil, nil, nil, nil
	}
	switch kind {
	case siem.KindFile:
		s := siem.FileSettings{}
		if cur != nil && cur.File != nil {
			s = *cur.File
		}
		set(changed("path"), &s.Path, f.path)
		set(changed("max-bytes"), &s.MaxBytes, f.maxBytes)
		set(changed("keep"), &s.Keep, f.keep)
		return &s, nil, nil, nil
	case siem.KindSyslog:
		s := siem.SyslogSettings{}
		if cur != nil && cur.Syslog != nil {
			s = *cur.Syslog
		}
		set(changed("address"), &s.Address, f.address)
		set(changed("ca-file"), &s.CAFile, f.caFile)
		set(changed("cert-file"), &s.CertFile, f.certFile)
		set(changed("key-file"), &s.KeyFile, f.keyFile)
		set(changed("server-name"), &s.ServerName, f.serverName)
		set(changed("format"), &s.Format, siem.SyslogFormat(f.format))
		if changed("facility") {
			s.Facility = &f.facility
		}
		return nil, &s, nil, nil
	}
	s := siem.WebhookInput{}
	if cur != nil && cur.Webhook != nil {
		s = siem.WebhookInput{URL: cur.Webhook.URL, Format: cur.Webhook.Format, CAFile: cur.Webhook.CAFile, Index: cur.Webhook.Index}
	}
	set(changed("url"), &s.URL, f.url)
	set(changed("ca-file"), &s.CAFile, f.caFile)
	set(changed("format"), &s.Format, siem.WebhookFormat(f.format))
	set(changed("index"), &s.Index, f.index)
	var err error
	s.Token, err = f.token(app)
	return nil, nil, &s, err
}

func set[T any](changed bool, dst *T, v T) {
	if changed {
		*dst = v
	}
}

func newSinkCreateCommand(app *App) *cobra.Command {
	var f sinkFlags
	var kind, start string
	var disabled, required bool
	cmd := &cobra.Command{
		Use:   "create NAME --kind file|syslog|webhook [settings]",
		Short: "Define an audit sink; delivery starts at once unless --disabled",
		Long: "Define an audit sink. Every audit event is delivered to it at least once, in order, from the\n" +
			"oldest (or with --start latest, from now on). With --required the platform fails closed:\n" +
			"while no required sink can record, changes are refused.",
		Example: "  enclave audit sinks create local --kind file --path siem/audit.jsonl --max-bytes 104857600 --keep 10\n" +
			"  enclave audit sinks create soc --kind syslog --address siem.example.org:6514 --ca-file /etc/enclave/siem-ca.pem\n" +
			"  printf '%s\\n' \"$HEC_TOKEN\" | enclave audit sinks create splunk --kind webhook \\\n" +
			"      --url https://splunk.example.org:8088/services/collector/event --token-stdin --required",
		Args: exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "kind")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in := siem.SinkCreate{Name: args[0], Kind: siem.Kind(kind), Required: required, BatchSize: f.batchSize, Start: siem.Start(start)}
			if err := in.Kind.Validate(); err != nil {
				return usageError{fmt.Errorf("--kind must be file, syslog or webhook")}
			}
			if disabled {
				in.Enabled = new(bool)
			}
			var err error
			if in.File, in.Syslog, in.Webhook, err = f.apply(cmd, app, in.Kind, nil); err != nil {
				return err
			}
			s, err := c.CreateAuditSink(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printItem(app, s, sinkColumns)
		}),
	}
	cmd.Flags().StringVar(&kind, "kind", "", "file, syslog or webhook (required)")
	cmd.Flags().BoolVar(&disabled, "disabled", false, "define the sink without delivering to it yet")
	cmd.Flags().BoolVar(&required, "required", false, "fail closed: refuse changes while no required sink can record")
	cmd.Flags().StringVar(&start, "start", "", "oldest (the whole trail, default) or latest (from now on)")
	f.register(cmd, false)
	_ = cmd.RegisterFlagCompletionFunc("kind", fixedCompletion(sinkKinds...))
	_ = cmd.RegisterFlagCompletionFunc("start", fixedCompletion(sinkStartings...))
	return cmd
}

func newSinkUpdateCommand(app *App) *cobra.Command {
	var f sinkFlags
	var enabled, required bool
	cmd := &cobra.Command{
		Use:   "update NAME [--enabled=false] [--required] [settings]",
		Short: "Change, enable or disable an audit sink",
		Long: "Change an audit sink. Only the flags given change; the name and kind never do. Disabling a\n" +
			"sink keeps its place: enabled again, it catches up from where it stopped. Enabling,\n" +
			"disabling and --required are audited as protection changes.",
		Example: "  enclave audit sinks update soc --enabled=false\n" +
			"  printf '%s\\n' \"$NEW_TOKEN\" | enclave audit sinks update splunk --token-stdin",
		Args: exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireOneOf(cmd, "enabled", "required", "batch-size", "path", "max-bytes", "keep", "address", "ca-file",
				"cert-file", "key-file", "server-name", "facility", "url", "index", "format", "token-stdin", "clear-token")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			var in siem.SinkUpdate
			if cmd.Flags().Changed("enabled") {
				in.Enabled = &enabled
			}
			if cmd.Flags().Changed("required") {
				in.Required = &required
			}
			if cmd.Flags().Changed("batch-size") {
				in.BatchSize = &f.batchSize
			}
			cur, err := c.GetAuditSink(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if in.File, in.Syslog, in.Webhook, err = f.apply(cmd, app, cur.Kind, cur); err != nil {
				return err
			}
			s, err := c.UpdateAuditSink(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return printItem(app, s, sinkColumns)
		}),
	}
	cmd.Flags().BoolVar(&enabled, "enabled", true, "deliver to the sink (--enabled=false stops delivery, keeping the cursor)")
	cmd.Flags().BoolVar(&required, "required", true, "fail closed on this sink (--required=false turns it off)")
	f.register(cmd, true)
	return cmd
}

func newSinkDeleteCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an audit sink and its cursor",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteAuditSink(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Deleted audit sink %s", args[0])
		}),
	}
}
