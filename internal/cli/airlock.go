package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/spf13/cobra"
)

var airlockColumns = []column[*airlock.Request]{
	{"ID", func(r *airlock.Request) string { return r.ID }},
	{"TYPE", func(r *airlock.Request) string { return string(r.Type) }},
	{"STATE", func(r *airlock.Request) string { return string(r.State) }},
	{"TITLE", func(r *airlock.Request) string { return truncate(r.Title, 40) }},
	{"REQUESTER", func(r *airlock.Request) string { return r.RequesterName }},
	{"FILES", func(r *airlock.Request) string { return strconv.Itoa(len(r.Files)) }},
	{"CLASSIFICATION", func(r *airlock.Request) string { return string(r.Classification) }},
	{"ACTIONS", func(r *airlock.Request) string { return strings.Join(r.Actions, ",") }},
}

// NewAirlockCommand returns "enclave airlock": import and export requests.
func NewAirlockCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "airlock",
		Short: "Import data into a project and export results, scanned and reviewed",
		Long: "Data comes into a project, and results leave it, only through airlock requests. An import is\n" +
			"uploaded by a data owner, scanned for malware, reviewed and becomes a version of a raw dataset. An\n" +
			"export is a selection of workspace files, scanned and checked for identifiers; an airlock reviewer\n" +
			"other than the requester approves it, and the requester downloads it through a short-lived link.",
		Args: noArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newAirlockListCommand(app), newAirlockImportCommand(app), newAirlockExportCommand(app),
		newAirlockUploadCommand(app), newAirlockAddCommand(app), newAirlockShowCommand(app),
		newAirlockActionCommand(app, "submit", "Submit a draft: its files are fixed and scanned"),
		newAirlockActionCommand(app, "cancel", "Cancel a draft or a request in review; its files are deleted"),
		newAirlockActionCommand(app, "approve", "Approve a request in review (an airlock reviewer other than the requester)"),
		newAirlockActionCommand(app, "reject", "Reject a request in review, with --comment"),
		newAirlockActionCommand(app, "revoke", "Revoke an approved export: no more downloads"),
		newAirlockOpenCommand(app), newAirlockDownloadCommand(app), newAirlockSettingsCommand(app), newAirlockQuarantineCommand(app))
	return cmd
}

// findRequest finds a request by ID among the project's imports, then its exports.
func findRequest(ctx context.Context, c *client.Client, zoneName, project, id string) (*airlock.Request, error) {
	r, err := c.GetAirlock(ctx, zoneName, project, airlock.Import, id)
	if enclave.ErrorCode(err) == enclave.CodeNotFound {
		return c.GetAirlock(ctx, zoneName, project, airlock.Export, id)
	}
	return r, err
}

func newAirlockListCommand(app *App) *cobra.Command {
	var zoneName, project, typ, state string
	var limit int
	cmd := &cobra.Command{
		Use:     "ls --zone ZONE --project PROJECT [--type import|export] [--state STATE]",
		Aliases: []string{"list"},
		Short:   "List a project's requests, newest first",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return errors.Join(requireFlags(cmd, "zone", "project"), checkLimit(limit))
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var all []*airlock.Request
			for _, t := range []airlock.Type{airlock.Import, airlock.Export} {
				if typ != "" && typ != string(t) {
					continue
				}
				rs, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*airlock.Request, string, error) {
					return c.ListAirlock(ctx, zoneName, project, t, state, p)
				})
				if err != nil {
					return err
				}
				all = append(all, rs...)
			}
			return printList(app, all, airlockColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&typ, "type", "", "only imports or only exports")
	cmd.Flags().StringVar(&state, "state", "", "only requests in this state")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many requests of each type (0 for all)")
	return cmd
}

func labelFlags(labels []string) (map[string]catalog.ColumnLabel, error) {
	out := map[string]catalog.ColumnLabel{}
	for _, l := range labels {
		col, lab, ok := strings.Cut(l, "=")
		if !ok || col == "" {
			return nil, usageError{fmt.Errorf("--label %q: want COLUMN=quasi-identifier|sensitive-attribute|direct-identifier", l)}
		}
		out[col] = catalog.ColumnLabel(lab)
	}
	return out, nil
}

func newAirlockImportCommand(app *App) *cobra.Command {
	var zoneName, project, class string
	var labels []string
	var submit bool
	var in airlock.Create
	cmd := &cobra.Command{
		Use:   "import [FILE|DIR...] --zone ZONE --project PROJECT --title T --justification J --classification C --target DATASET",
		Short: "Open an import request, upload files and directories into it, and optionally submit it",
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			in.Labels, err = labelFlags(labels)
			return errors.Join(requireFlags(cmd, "zone", "project", "title", "justification", "classification", "target"), err)
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			ctx := cmd.Context()
			files, err := collectFiles(args)
			if err != nil {
				return err
			}
			in.Classification = enclave.Classification(class)
			r, err := c.CreateAirlock(ctx, zoneName, project, airlock.Import, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stderr, "import request %s opened\n", r.ID)
			if err := app.uploadAirlock(ctx, c, zoneName, project, r.ID, files); err != nil {
				return err
			}
			if submit {
				if r, err = c.AirlockAction(ctx, zoneName, project, airlock.Import, r.ID, "submit", ""); err != nil {
					return err
				}
			} else if r, err = c.GetAirlock(ctx, zoneName, project, airlock.Import, r.ID); err != nil {
				return err
			}
			return printItem(app, r, airlockColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&in.Title, "title", "", "what is imported (required)")
	cmd.Flags().StringVar(&in.Justification, "justification", "", "why the project needs it (required)")
	cmd.Flags().StringVar(&class, "classification", "", "public, internal, confidential or restricted (required)")
	cmd.Flags().StringVar(&in.Target, "target", "", "the raw dataset the import becomes a version of (required)")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label a column: COLUMN=quasi-identifier|sensitive-attribute|direct-identifier")
	cmd.Flags().BoolVar(&submit, "submit", false, "submit the request once the files are uploaded")
	return cmd
}

func (app *App) uploadAirlock(ctx context.Context, c *client.Client, zoneName, project, id string, files []localFile) error {
	for _, f := range files {
		sum, err := hashFile(f.path)
		if err != nil {
			return err
		}
		fh, err := os.Open(f.path)
		if err != nil {
			return err
		}
		r := app.progress(false, "upload "+f.name, f.size, fh)
		_, err = c.UploadAirlockFile(ctx, zoneName, project, id, f.name, r, f.size, sum)
		r.done()
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

func newAirlockExportCommand(app *App) *cobra.Command {
	var zoneName, project string
	var labels []string
	var submit bool
	var in airlock.Create
	var add airlock.AddFiles
	cmd := &cobra.Command{
		Use:   "export --zone ZONE --project PROJECT --title T --justification J --dataset D --version N [--path P]... [--dir DIR]",
		Short: "Open an export request of workspace files, and optionally submit it",
		Args:  noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			in.Labels, err = labelFlags(labels)
			return errors.Join(requireFlags(cmd, "zone", "project", "title", "justification", "dataset", "version"), err)
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ctx := cmd.Context()
			r, err := c.CreateAirlock(ctx, zoneName, project, airlock.Export, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stderr, "export request %s opened\n", r.ID)
			if _, err := c.AddAirlockFiles(ctx, zoneName, project, r.ID, add); err != nil {
				return err
			}
			if submit {
				if r, err = c.AirlockAction(ctx, zoneName, project, airlock.Export, r.ID, "submit", ""); err != nil {
					return err
				}
			} else if r, err = c.GetAirlock(ctx, zoneName, project, airlock.Export, r.ID); err != nil {
				return err
			}
			return printItem(app, r, airlockColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&in.Title, "title", "", "what is exported (required)")
	cmd.Flags().StringVar(&in.Justification, "justification", "", "why it may leave the project (required)")
	addFlags(cmd, &add)
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label a column: COLUMN=quasi-identifier|sensitive-attribute|direct-identifier")
	cmd.Flags().BoolVar(&submit, "submit", false, "submit the request once the files are added")
	return cmd
}

func addFlags(cmd *cobra.Command, add *airlock.AddFiles) {
	cmd.Flags().StringVar(&add.Dataset, "dataset", "", "the workspace dataset to export from (required)")
	cmd.Flags().IntVar(&add.Version, "version", 0, "its version (required)")
	cmd.Flags().StringArrayVar(&add.Paths, "path", nil, "a file to export (repeatable; default every file)")
	cmd.Flags().StringVar(&add.Dir, "dir", "", "export every file under this directory")
	cmd.Flags().StringVar(&add.Prefix, "prefix", "", "put the files under this directory (ending in /) in the request")
}

func newAirlockUploadCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:   "upload REQUEST FILE|DIR... --zone ZONE --project PROJECT",
		Short: "Upload files and directories into an import's draft",
		Args:  minArgs(2),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			files, err := collectFiles(args[1:])
			if err != nil {
				return err
			}
			if err := app.uploadAirlock(cmd.Context(), c, zoneName, project, args[0], files); err != nil {
				return err
			}
			return app.printDone("uploaded %d file(s) into %s", len(files), args[0])
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	return cmd
}

func newAirlockAddCommand(app *App) *cobra.Command {
	var zoneName, project string
	var add airlock.AddFiles
	cmd := &cobra.Command{
		Use:   "add REQUEST --dataset D --version N [--path P]... [--dir DIR] --zone ZONE --project PROJECT",
		Short: "Add workspace files to an export's draft",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "dataset", "version")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			fs, err := c.AddAirlockFiles(cmd.Context(), zoneName, project, args[0], add)
			if err != nil {
				return err
			}
			return app.printDone("added %d file(s) to %s", len(fs), args[0])
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	addFlags(cmd, &add)
	return cmd
}

func newAirlockShowCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:   "show REQUEST --zone ZONE --project PROJECT",
		Short: "Show a request: files, scan, de-identification report, reviews, history and your actions",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			r, err := findRequest(cmd.Context(), c, zoneName, project, args[0])
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, r)
			}
			return writeRequest(app.Stdout, r)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	return cmd
}

// writeRequest prints a request for a human reviewer.
func writeRequest(w io.Writer, r *airlock.Request) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("%s request %s: %s", r.Type, r.ID, r.Title)
	p("  state:          %s", r.State)
	p("  requester:      %s", r.RequesterName)
	p("  classification: %s", r.Classification)
	p("  justification:  %s", r.Justification)
	if r.Target != "" {
		p("  target:         raw dataset %s", r.Target)
	}
	if r.Result != nil {
		p("  result:         %s dataset %s version %d", r.Result.Area, r.Result.Dataset, r.Result.Version)
	}
	if r.Failure != "" {
		p("  failure:        %s", r.Failure)
	}
	p("  approvals:      %d required", r.ApprovalsRequired)
	p("  actions:        %s", strings.Join(r.Actions, ", "))
	p("files:")
	for _, f := range r.Files {
		p("  %s  %s  %s", f.Path, humanBytes(f.Size), f.SHA256)
	}
	if c := r.Checks; c != nil {
		if c.WaitingSince != nil {
			p("scan: waiting for the malware scanner since %s", formatTime(*c.WaitingSince))
		}
		if c.ScannedAt != nil {
			p("scan (%s, %s):", c.Scanner, formatTime(*c.ScannedAt))
			for _, f := range c.Files {
				verdict := "clean"
				if f.Infected {
					verdict = "INFECTED: " + f.Signature
				}
				p("  %s: %s", f.Path, verdict)
			}
		}
		for _, t := range c.Deid {
			p("de-identification report of %s:", t.Path)
			if t.Error != "" {
				p("  not checked: %s", t.Error)
				continue
			}
			for _, line := range strings.Split(strings.TrimRight(t.Report.Text(), "\n"), "\n") {
				p("  %s", line)
			}
		}
	}
	if len(r.Reviews) > 0 {
		p("reviews:")
		for _, rv := range r.Reviews {
			p("  %s %s %s: %s", formatTime(rv.At), rv.ReviewerName, rv.Decision, rv.Comment)
		}
	}
	if len(r.Previous) > 0 {
		p("the requester's previous %s requests:", r.Type)
		for _, s := range r.Previous {
			p("  %s  %-22s %3d file(s) %10s  %s", s.ID, s.State, s.Files, humanBytes(s.Size), s.Title)
		}
	}
	p("history:")
	for _, s := range r.History {
		from := string(s.From)
		if from == "" {
			from = "-"
		}
		line := fmt.Sprintf("  %s %s → %s (%s by %s)", formatTime(s.At), from, s.To, s.Action, s.ActorName)
		if s.Comment != "" {
			line += ": " + s.Comment
		}
		p("%s", line)
	}
	return nil
}

func newAirlockActionCommand(app *App, action, short string) *cobra.Command {
	var zoneName, project, comment string
	cmd := &cobra.Command{
		Use:   action + " REQUEST --zone ZONE --project PROJECT",
		Short: short,
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if action == "reject" {
				return requireFlags(cmd, "zone", "project", "comment")
			}
			return requireFlags(cmd, "zone", "project")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			r, err := findRequest(cmd.Context(), c, zoneName, project, args[0])
			if err != nil {
				return err
			}
			if r, err = c.AirlockAction(cmd.Context(), zoneName, project, r.Type, r.ID, action, comment); err != nil {
				return err
			}
			return printItem(app, r, airlockColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	if action == "approve" || action == "reject" || action == "revoke" {
		cmd.Flags().StringVar(&comment, "comment", "", "a comment for the record and the requester")
	}
	return cmd
}

func newAirlockOpenCommand(app *App) *cobra.Command {
	var zoneName, project, out string
	cmd := &cobra.Command{
		Use:   "open REQUEST PATH --zone ZONE --project PROJECT [--out FILE]",
		Short: "Open a file of a request in review, as its reviewer (recorded)",
		Args:  exactArgs(2),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			r, err := findRequest(cmd.Context(), c, zoneName, project, args[0])
			if err != nil {
				return err
			}
			var f *airlock.File
			for _, x := range r.Files {
				if x.Path == args[1] {
					f = x
				}
			}
			if f == nil {
				return enclave.Errorf(enclave.CodeNotFound, "the request has no file %s", args[1])
			}
			d, err := c.OpenAirlockFile(cmd.Context(), zoneName, project, r.Type, r.ID, f.Path)
			if err != nil {
				return err
			}
			return app.saveVerified(d, f.Path, f.Size, f.SHA256, out, false)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&out, "out", "-", "where to write the file (- for standard output)")
	return cmd
}

func newAirlockDownloadCommand(app *App) *cobra.Command {
	var zoneName, project, out string
	var ttl int
	cmd := &cobra.Command{
		Use:   "download REQUEST --zone ZONE --project PROJECT --out DIR",
		Short: "Download an approved export through a short-lived link (its requester only)",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "out")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			ctx := cmd.Context()
			r, err := c.GetAirlock(ctx, zoneName, project, airlock.Export, args[0])
			if err != nil {
				return err
			}
			l, err := c.CreateAirlockLink(ctx, zoneName, project, r.ID, ttl)
			if err != nil {
				return err
			}
			for _, f := range r.Files {
				d, err := c.DownloadAirlock(ctx, zoneName, project, l.Token, f.Path)
				if err != nil {
					return fmt.Errorf("%s: %w", f.Path, err)
				}
				if err := app.saveVerified(d, f.Path, f.Size, f.SHA256, filepath.Join(out, filepath.FromSlash(f.Path)), false); err != nil {
					return fmt.Errorf("%s: %w", f.Path, err)
				}
			}
			return app.printDone("downloaded %d file(s) into %s (link valid until %s)", len(r.Files), out, formatTime(l.ExpiresAt))
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&out, "out", "", "directory to write the files into (required)")
	cmd.Flags().IntVar(&ttl, "ttl", 0, "how many seconds the link lasts (default the server's, 15 minutes)")
	return cmd
}

func newAirlockSettingsCommand(app *App) *cobra.Command {
	var zoneName, project string
	var approvals int
	var review bool
	cmd := &cobra.Command{
		Use:   "settings --zone ZONE --project PROJECT [--approvals 1|2] [--import-review=true|false]",
		Short: "Show or set a project's airlock rules",
		Args:  noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ctx := cmd.Context()
			st, err := c.GetAirlockSettings(ctx, zoneName, project)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("approvals") || cmd.Flags().Changed("import-review") {
				if cmd.Flags().Changed("approvals") {
					st.ApprovalsRequired = approvals
				}
				if cmd.Flags().Changed("import-review") {
					st.ImportReview = review
				}
				if st, err = c.PutAirlockSettings(ctx, zoneName, project, *st); err != nil {
					return err
				}
			}
			return printValue(app, st)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&approvals, "approvals", 1, "approvals a request needs: 1, or 2 for a second approver")
	cmd.Flags().BoolVar(&review, "import-review", true, "whether clean imports need a reviewer's approval")
	return cmd
}

func newAirlockQuarantineCommand(app *App) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "quarantine",
		Short: "List the requests the malware scan blocked, platform-wide, with their signatures",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			rs, err := client.Collect(cmd.Context(), limit, c.ListQuarantine)
			if err != nil {
				return err
			}
			cols := append(append([]column[*airlock.Request]{}, airlockColumns[:3]...),
				column[*airlock.Request]{"PROJECT", func(r *airlock.Request) string { return r.Zone + "/" + r.Project }},
				column[*airlock.Request]{"QUARANTINE", func(r *airlock.Request) string {
					if r.Result == nil {
						return ""
					}
					return r.Result.Dataset
				}},
				column[*airlock.Request]{"SIGNATURES", func(r *airlock.Request) string {
					var s []string
					for _, f := range r.Checks.Infected() {
						s = append(s, f.Path+": "+f.Signature)
					}
					return strings.Join(s, "; ")
				}})
			return printList(app, rs, cols)
		}),
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many (0 for all)")
	return cmd
}
