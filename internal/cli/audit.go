package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/spf13/cobra"
)

var auditColumns = []column[*audit.Event]{
	{"SEQ", func(e *audit.Event) string { return fmt.Sprint(e.Seq) }},
	{"TIME", func(e *audit.Event) string { return formatTime(e.Time) }},
	{"ACTOR", func(e *audit.Event) string { return e.ActorName }},
	{"ACTION", func(e *audit.Event) string { return e.Action }},
	{"OUTCOME", func(e *audit.Event) string { return string(e.Outcome) }},
	{"TARGET", func(e *audit.Event) string { return strings.TrimSuffix(e.TargetType+":"+e.TargetID, ":") }},
	{"SCOPE", func(e *audit.Event) string { return e.Scope }},
	{"SOURCE", func(e *audit.Event) string { return orDash(e.SourceAddr) }},
}

// NewAuditCommand returns "enclave audit": the tamper-evident audit trail.
func NewAuditCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Search, verify and export the audit trail", Args: noArgs, RunE: showHelp}
	cmd.AddCommand(newAuditSearchCommand(app), newAuditVerifyCommand(app), newAuditExportCommand(app), newAuditKeysCommand(app))
	cmd.AddCommand(newAuditSinksCommand(app))
	return cmd
}

// parseWhen reads an RFC 3339 time or a duration before now ("24h").
func parseWhen(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d).UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--%s must be an RFC 3339 time or a duration ago such as 24h", flag)}
	}
	return t, nil
}

func newAuditSearchCommand(app *App) *cobra.Command {
	var q client.AuditQuery
	var from, to string
	var limit int
	cmd := &cobra.Command{
		Use:     "search [--from 24h] [--to TIME] [--actor NAME] [--action ACTION] [--outcome denied] [--scope SCOPE]",
		Short:   "Search the audit trail, oldest first (the search is itself audited)",
		Example: "  enclave audit search --from 24h --action access.grant\n  enclave audit search --outcome denied --scope /zones/eu-west -o json",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var err error
			if q.From, err = parseWhen("from", from); err != nil {
				return err
			}
			if q.To, err = parseWhen("to", to); err != nil {
				return err
			}
			evs, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*audit.Event, string, error) {
				return c.SearchAudit(ctx, q, p)
			})
			if err != nil {
				return err
			}
			return printList(app, evs, auditColumns)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "from this time (RFC 3339) or this long ago (24h)")
	f.StringVar(&to, "to", "", "until this time (RFC 3339) or this long ago")
	f.StringVar(&q.Actor, "actor", "", "actor name")
	f.StringVar(&q.Action, "action", "", "action, such as auth.login or access.grant")
	f.StringVar(&q.TargetType, "target-type", "", "target resource type")
	f.StringVar(&q.TargetID, "target-id", "", "target ID")
	f.StringVar(&q.Outcome, "outcome", "", "success, denied or failed")
	f.StringVar(&q.Scope, "scope", "", "scope and everything below it")
	f.StringVar(&q.RequestID, "request-id", "", "request ID")
	f.IntVar(&limit, "limit", 1000, "print at most this many (0 for all)")
	_ = cmd.RegisterFlagCompletionFunc("outcome", fixedCompletion("success", "denied", "failed"))
	return cmd
}

func printReport(app *App, rep *audit.Report, source string) error {
	if app.Output != "table" {
		if err := printValue(app, rep); err != nil {
			return err
		}
	} else if rep.OK {
		fmt.Fprintf(app.Stdout, "OK: %s — %d records (%d to %d), %d signed checkpoints\n", source, rep.Events, rep.FirstSeq, rep.LastSeq, rep.Checkpoints)
	} else {
		fmt.Fprintf(app.Stdout, "BROKEN: %s — %s\n", source, rep.Break.Error())
	}
	if !rep.OK {
		return &exitError{code: ExitError, err: fmt.Errorf("audit chain broken: %s at sequence %d", rep.Break.Kind, rep.Break.Seq)}
	}
	return nil
}

func newAuditVerifyCommand(app *App) *cobra.Command {
	var bundle, pubFile string
	cmd := &cobra.Command{
		Use:   "verify [--bundle FILE [--public-key FILE]]",
		Short: "Verify the audit chain on the server, or an evidence bundle offline",
		Long: "Without --bundle, ask the server to verify the whole chain and its signed checkpoints; the first\n" +
			"broken link is reported with its kind: modified, deleted, inserted, reordered or truncated.\n" +
			"With --bundle, verify an exported bundle here, with no server: pass the public key you obtained\n" +
			"out of band with --public-key, or compare the key ID printed with the one the platform publishes.\n" +
			"Exits non-zero when the chain is broken.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bundle == "" {
				return app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
					rep, err := c.VerifyAudit(cmd.Context())
					if err != nil {
						return err
					}
					return printReport(app, rep, "the server's audit chain")
				})(cmd, nil)
			}
			var trusted ed25519.PublicKey
			if pubFile != "" {
				k, err := readPublicKey(pubFile)
				if err != nil {
					return err
				}
				trusted = k
			}
			f, err := os.Open(bundle)
			if err != nil {
				return err
			}
			defer f.Close()
			rep, m, err := audit.VerifyBundle(f, trusted)
			if err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("bundle %s does not verify: %w", bundle, err)}
			}
			src := fmt.Sprintf("bundle %s (%s to %s, signing key %s)", bundle, m.From.Format(time.RFC3339), m.To.Format(time.RFC3339), m.KeyID)
			return printReport(app, rep, src)
		},
	}
	cmd.Flags().StringVar(&bundle, "bundle", "", "an evidence bundle written by enclave audit export")
	cmd.Flags().StringVar(&pubFile, "public-key", "", "PEM public key to trust (default: the bundle's own)")
	return cmd
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(raw); b != nil {
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if pub, ok := k.(ed25519.PublicKey); ok && err == nil {
			return pub, nil
		}
	}
	if b, err := hex.DecodeString(strings.TrimSpace(string(raw))); err == nil && len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(b), nil
	}
	return nil, usageError{fmt.Errorf("%s is not an Ed25519 public key (PEM or hex)", path)}
}

func newAuditExportCommand(app *App) *cobra.Command {
	var from, to, out string
	cmd := &cobra.Command{
		Use:     "export --from TIME [--to TIME] --out FILE",
		Short:   "Export an evidence bundle that an auditor verifies offline",
		Example: "  enclave audit export --from 720h --out q3-audit.tar && enclave audit verify --bundle q3-audit.tar",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "from", "out") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			f0, err := parseWhen("from", from)
			if err != nil {
				return err
			}
			t0, err := parseWhen("to", to)
			if err != nil {
				return err
			}
			tmp := out + ".part"
			w, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			if err := c.ExportAudit(cmd.Context(), f0, t0, w); err != nil {
				w.Close()
				os.Remove(tmp)
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp, out); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Wrote %s; verify it with: enclave audit verify --bundle %s\n", out, out)
			return nil
		}),
	}
	cmd.Flags().StringVar(&from, "from", "", "from this time (RFC 3339) or this long ago (720h)")
	cmd.Flags().StringVar(&to, "to", "", "until this time (default: now)")
	cmd.Flags().StringVar(&out, "out", "", "file to write")
	return cmd
}

func newAuditKeysCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "keys",
		Short: "Show the public keys that sign audit checkpoints",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			keys, err := c.AuditKeys(cmd.Context())
			if err != nil {
				return err
			}
			if app.Output != "table" {
				return printValue(app, keys)
			}
			for id, k := range keys {
				fmt.Fprintf(app.Stdout, "%s  %s\n", id, k)
			}
			return nil
		}),
	}
}
