package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/deid"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// NewDeidCommand returns "enclave deid": de-identification of tabular data.
func NewDeidCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deid",
		Short: "Find and remove personal identifiers in CSV and Parquet files",
		Long: "Scan a local CSV or Parquet file for identifiers and measure its k-anonymity (deid scan), or apply a\n" +
			"recipe to a committed version on the server, making the next version of a workspace dataset (deid apply).",
		Args: noArgs,
		RunE: showHelp,
	}
	cmd.AddCommand(newDeidApplyCommand(app), newDeidScanCommand(app))
	return cmd
}

// deidFileRow is one file's line of an apply report.
type deidFileRow struct {
	path string
	r    *deid.ApplyReport
}

var deidFileColumns = []column[deidFileRow]{
	{"PATH", func(f deidFileRow) string { return f.path }},
	{"ROWS IN", func(f deidFileRow) string { return strconv.FormatInt(f.r.RowsIn, 10) }},
	{"ROWS OUT", func(f deidFileRow) string { return strconv.FormatInt(f.r.RowsOut, 10) }},
	{"SUPPRESSED", func(f deidFileRow) string { return strconv.FormatInt(f.r.RowsSuppressed, 10) }},
	{"DROPPED", func(f deidFileRow) string { return strconv.FormatInt(f.r.RowsDropped, 10) }},
	{"K", func(f deidFileRow) string {
		if f.r.KAnonymity == nil {
			return "-"
		}
		return fmt.Sprintf("%d (asked %d)", f.r.KAnonymity.KAchieved, f.r.KAnonymity.K)
	}},
}

func newDeidApplyCommand(app *App) *cobra.Command {
	var zoneName, project, recipeFile, target string
	var version int
	var paths []string
	cmd := &cobra.Command{
		Use:   "apply DATASET --version N --recipe FILE --target NAME",
		Short: "De-identify a committed version's CSV and Parquet files with a recipe into a workspace dataset",
		Long: "Apply a de-identification recipe (YAML: an action per column — keep, drop, mask, pseudonymise,\n" +
			"generalise-date, generalise-age, generalise-postcode, redact — and optionally k-anonymity) to the\n" +
			"CSV and Parquet files of a committed version (or the --path files). The results become the next\n" +
			"version of --target, a workspace dataset created when missing with the source's classification;\n" +
			"its lineage names the source. Pseudonyms are keyed by the project's secret key, which never leaves\n" +
			"the server: the same value always gets the same pseudonym in the project.",
		Args: exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "version", "recipe", "target")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			recipe, err := readRecipe(recipeFile)
			if err != nil {
				return err
			}
			res, err := c.Deidentify(cmd.Context(), zoneName, project, args[0], version,
				catalog.DeidRequest{Recipe: recipe, Target: target, Paths: paths})
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, res)
			}
			if err := writeTable(app.Stdout, []*catalog.Version{res.Version}, versionColumns); err != nil {
				return err
			}
			rows := make([]deidFileRow, 0, len(res.Reports))
			for p, r := range res.Reports {
				rows = append(rows, deidFileRow{path: p, r: r})
			}
			sort.Slice(rows, func(i, j int) bool { return rows[i].path < rows[j].path })
			fmt.Fprintln(app.Stdout)
			return writeTable(app.Stdout, rows, deidFileColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&version, "version", 0, "the committed version to de-identify (required)")
	cmd.Flags().StringVar(&recipeFile, "recipe", "", "the recipe's YAML file, - for standard input (required)")
	cmd.Flags().StringVar(&target, "target", "", "the workspace dataset that gets the result (required)")
	cmd.Flags().StringArrayVar(&paths, "path", nil, "a file of the version to de-identify (repeatable; default every CSV and Parquet file)")
	return cmd
}

// readRecipe reads a recipe file (- for standard input), checking it
// locally first so that a mistake is reported before anything is sent.
func readRecipe(name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, catalog.MaxRecipeSize+1))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot read the recipe %s", name)
	}
	if len(b) > catalog.MaxRecipeSize {
		return "", enclave.FieldError("recipe", "the recipe is larger than %d bytes", catalog.MaxRecipeSize)
	}
	if _, err := deid.ParseRecipe(b); err != nil {
		return "", err
	}
	return string(b), nil
}

func newDeidScanCommand(app *App) *cobra.Command {
	var quasi, sensitive []string
	cmd := &cobra.Command{
		Use:   "scan FILE [--quasi COL,...] [--sensitive COL,...]",
		Short: "Scan a local CSV or Parquet file for identifiers and measure its k-anonymity (the file stays here)",
		Long: "Scan a CSV or Parquet file on this machine for personal identifiers, column by column; with --quasi,\n" +
			"measure k-anonymity over those columns, and with --sensitive the l-diversity of those. No server is\n" +
			"needed and the file never leaves the machine; the report holds counts and row numbers, never values.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.checkOutput(); err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot open %s", args[0])
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot read %s", args[0])
			}
			head := make([]byte, min(st.Size(), 64<<10))
			if _, err := io.ReadFull(f, head); err != nil {
				return enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot read %s", args[0])
			}
			opts := deid.ScanOptions{QuasiIdentifiers: splitColumns(quasi), SensitiveAttributes: splitColumns(sensitive)}
			var rep *deid.Report
			switch deid.DetectFormat(args[0], head) {
			case "csv":
				rep, err = deid.ScanCSV(cmd.Context(), io.NewSectionReader(f, 0, st.Size()), opts)
			case "parquet":
				rep, err = deid.ScanParquet(cmd.Context(), f, st.Size(), opts)
			default:
				return enclave.Errorf(enclave.CodeInvalidArgument, "%s is neither CSV nor Parquet", args[0])
			}
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, rep)
			}
			_, err = io.WriteString(app.Stdout, rep.Text())
			return err
		},
	}
	cmd.Flags().StringSliceVar(&quasi, "quasi", nil, "quasi-identifier columns to measure k-anonymity over (comma-separated or repeated)")
	cmd.Flags().StringSliceVar(&sensitive, "sensitive", nil, "sensitive columns to measure l-diversity of (comma-separated or repeated)")
	return cmd
}

// splitColumns trims column names and drops empty ones.
func splitColumns(cols []string) []string {
	var out []string
	for _, c := range cols {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}
