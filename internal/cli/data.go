package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/spf13/cobra"
)

var datasetColumns = []column[*catalog.Dataset]{
	{"NAME", func(d *catalog.Dataset) string { return d.Name }},
	{"AREA", func(d *catalog.Dataset) string { return string(d.Area) }},
	{"CLASSIFICATION", func(d *catalog.Dataset) string { return string(d.Classification) }},
	{"OWNER", func(d *catalog.Dataset) string { return d.OwnerName }},
	{"VERSIONS", func(d *catalog.Dataset) string { return strconv.Itoa(d.LatestVersion) }},
	{"RETENTION", func(d *catalog.Dataset) string { return days(d.RetentionDays) }},
	{"TAGS", func(d *catalog.Dataset) string { return formatTags(d.Tags) }},
	{"SHARED", func(d *catalog.Dataset) string {
		if d.Shared {
			return "zone"
		}
		return ""
	}},
}

var versionColumns = []column[*catalog.Version]{
	{"VERSION", func(v *catalog.Version) string { return strconv.Itoa(v.Number) }},
	{"STATE", func(v *catalog.Version) string { return string(v.State) }},
	{"OPERATION", func(v *catalog.Version) string { return v.Operation }},
	{"FILES", func(v *catalog.Version) string { return strconv.Itoa(v.FileCount) }},
	{"SIZE", func(v *catalog.Version) string { return humanBytes(v.Size) }},
	{"SHA256", func(v *catalog.Version) string { return v.SHA256 }},
	{"COMMITTED", func(v *catalog.Version) string {
		if v.CommittedAt == nil {
			return ""
		}
		return formatTime(*v.CommittedAt)
	}},
}

var fileColumns = []column[*catalog.File]{
	{"PATH", func(f *catalog.File) string { return f.Path }},
	{"SIZE", func(f *catalog.File) string { return humanBytes(f.Size) }},
	{"FORMAT", func(f *catalog.File) string { return f.Format }},
	{"TIER", func(f *catalog.File) string { return f.Tier }},
	{"SHA256", func(f *catalog.File) string { return f.SHA256 }},
}

func days(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%dd", n)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// NewDataCommand returns "enclave data": datasets, their versions and files.
func NewDataCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "data",
		Aliases: []string{"dataset", "datasets"},
		Short:   "Catalog, upload and download datasets",
		Args:    noArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(newDataListCommand(app), newDataCreateCommand(app), newDataShowCommand(app), newDataVersionsCommand(app),
		newDataUploadCommand(app), newDataDownloadCommand(app), newDataClassifyCommand(app), newDataLineageCommand(app),
		newDataLabelCommand(app), newDataRequestsCommand(app), newDataGrantCommand(app), newDataTierCommand(app), newDataCopyCommand(app),
		newDataShareCommand(app), newDataSharedCommand(app))
	return cmd
}

// projectFlags adds --zone and --project, both required.
func (app *App) projectFlags(cmd *cobra.Command, zoneName, project *string) {
	app.zoneFlag(cmd, zoneName)
	cmd.Flags().StringVar(project, "project", "", "name of the project (required)")
}

func newDataListCommand(app *App) *cobra.Command {
	var zoneName, project, class, area string
	var f catalog.Filter
	var limit int
	cmd := &cobra.Command{
		Use:     "ls --zone ZONE --project PROJECT",
		Aliases: []string{"list"},
		Short:   "List and search a project's datasets",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return errors.Join(requireFlags(cmd, "zone", "project"), checkLimit(limit))
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			f.Classification, f.Area = enclave.Classification(class), catalog.Area(area)
			ds, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*catalog.Dataset, string, error) {
				return c.ListDatasets(ctx, zoneName, project, f, p)
			})
			if err != nil {
				return err
			}
			return printList(app, ds, datasetColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&f.NamePrefix, "name", "", "only datasets whose names start with this")
	cmd.Flags().StringVar(&f.Tag, "tag", "", "only datasets with this tag key, or key=value")
	cmd.Flags().StringVar(&class, "classification", "", "only datasets of this classification")
	cmd.Flags().StringVar(&area, "area", "", "only datasets in this area: raw, curated, workspace, inbox or export")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many datasets (0 for all)")
	return cmd
}

func newDataCreateCommand(app *App) *cobra.Command {
	var zoneName, project, area, class string
	var tags []string
	var in catalog.DatasetCreate
	cmd := &cobra.Command{
		Use:   "create NAME --zone ZONE --project PROJECT --area AREA --classification CLASS",
		Short: "Catalog a dataset; you become its data owner",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			in.Tags, err = parseTags(tags)
			return errors.Join(requireFlags(cmd, "zone", "project", "area", "classification"), err)
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in.Name, in.Area, in.Classification = args[0], catalog.Area(area), enclave.Classification(class)
			d, err := c.CreateDataset(cmd.Context(), zoneName, project, in)
			if err != nil {
				return err
			}
			return printItem(app, d, datasetColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&area, "area", "", "data area: raw, curated, workspace, inbox or export (required)")
	cmd.Flags().StringVar(&class, "classification", "", "public, internal, confidential or restricted (required)")
	cmd.Flags().StringVar(&in.Description, "description", "", "what the data is")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag as key=value (repeatable)")
	cmd.Flags().IntVar(&in.RetentionDays, "retention-days", 0, "keep each version at least this many days after it is committed")
	return cmd
}

func newDataShowCommand(app *App) *cobra.Command {
	var zoneName, project string
	var version int
	cmd := &cobra.Command{
		Use:     "show DATASET --zone ZONE --project PROJECT [--version N]",
		Short:   "Show a dataset, or one version's files",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if version > 0 {
				v, err := c.GetVersion(cmd.Context(), zoneName, project, args[0], version)
				if err != nil {
					return err
				}
				if app.Output != formatTable {
					return printItem(app, v, versionColumns)
				}
				if err := printItem(app, v, versionColumns); err != nil {
					return err
				}
				fmt.Fprintln(app.Stdout)
				return printList(app, v.Files, fileColumns)
			}
			d, err := c.GetDataset(cmd.Context(), zoneName, project, args[0])
			if err != nil {
				return err
			}
			return printItem(app, d, datasetColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&version, "version", 0, "show this version and its files")
	return cmd
}

func newDataVersionsCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:     "versions DATASET --zone ZONE --project PROJECT",
		Short:   "List a dataset's versions",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			vs, err := client.Collect(cmd.Context(), 0, func(ctx context.Context, p enclave.Page) ([]*catalog.Version, string, error) {
				return c.ListVersions(ctx, zoneName, project, args[0], p)
			})
			if err != nil {
				return err
			}
			return printList(app, vs, versionColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	return cmd
}

func newDataClassifyCommand(app *App) *cobra.Command {
	var zoneName, project, class, reason string
	cmd := &cobra.Command{
		Use:   "classify DATASET --classification CLASS [--reason TEXT]",
		Short: "Raise a dataset's classification, or lower it (its data owner only, with a reason)",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "classification")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.ClassifyDataset(cmd.Context(), zoneName, project, args[0], enclave.Classification(class), reason)
			if err != nil {
				return err
			}
			return printItem(app, d, datasetColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().StringVar(&class, "classification", "", "public, internal, confidential or restricted (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required to lower it)")
	return cmd
}

func newDataCopyCommand(app *App) *cobra.Command {
	var zoneName, project, area, to, description string
	var version int
	cmd := &cobra.Command{
		Use:   "copy DATASET --version N --area curated|workspace --to DATASET",
		Short: "Copy a committed version into another area: curate raw data, provision data to the workspace",
		Long: "Copy a committed version into another area of the project, the only way data moves between areas:\n" +
			"raw to curated (curate), raw or curated to workspace (provision). The copy becomes the next version\n" +
			"of --to, which is created when it does not exist, with the source's classification, tags, retention\n" +
			"and column labels; its lineage names the source. The airlock alone moves data into and out of a project.",
		Args: exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "version", "area", "to")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			v, err := c.CopyToArea(cmd.Context(), zoneName, project, args[0], version,
				catalog.AreaCopy{Area: catalog.Area(area), Dataset: to, Description: description})
			if err != nil {
				return err
			}
			return printItem(app, v, versionColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&version, "version", 0, "the committed version to copy (required)")
	cmd.Flags().StringVar(&area, "area", "", "the target area: curated or workspace (required)")
	cmd.Flags().StringVar(&to, "to", "", "the target dataset (required)")
	cmd.Flags().StringVar(&description, "description", "", "the target's description, when it is created")
	return cmd
}

func newDataShareCommand(app *App) *cobra.Command {
	var zoneName, project string
	var stop bool
	cmd := &cobra.Command{
		Use:   "share DATASET [--stop]",
		Short: "Share a raw or curated dataset with the zone's other projects (its data owner only), or stop",
		Long: "Share a raw or curated dataset with the landing zone: members of its other projects find it with\n" +
			"'enclave data shared' and read it with 'enclave data download --from PROJECT' in their own\n" +
			"environments, each certified for its classification. It stays under this project's key and data owner.",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.ShareDataset(cmd.Context(), zoneName, project, args[0], !stop)
			if err != nil {
				return err
			}
			return printItem(app, d, datasetColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().BoolVar(&stop, "stop", false, "stop sharing it")
	return cmd
}

func newDataSharedCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:     "shared --zone ZONE --project PROJECT",
		Short:   "List the datasets shared with the project's zone",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var all []*catalog.Dataset
			for page := (enclave.Page{}); ; {
				ds, next, err := c.ListShared(cmd.Context(), zoneName, project, page)
				if err != nil {
					return err
				}
				all = append(all, ds...)
				if next == "" {
					break
				}
				page.Token = next
			}
			return printList(app, all, sharedColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	return cmd
}

var sharedColumns = []column[*catalog.Dataset]{
	{"PROJECT", func(d *catalog.Dataset) string { return d.Project }},
	{"NAME", func(d *catalog.Dataset) string { return d.Name }},
	{"AREA", func(d *catalog.Dataset) string { return string(d.Area) }},
	{"CLASSIFICATION", func(d *catalog.Dataset) string { return string(d.Classification) }},
	{"LATEST", func(d *catalog.Dataset) string { return strconv.Itoa(d.LatestVersion) }},
	{"OWNER", func(d *catalog.Dataset) string { return d.OwnerName }},
}

func newDataTierCommand(app *App) *cobra.Command {
	var zoneName, project string
	var version int
	cmd := &cobra.Command{
		Use:   "tier DATASET hot|cold --version N",
		Short: "Move a committed version's files to the hot or the cheaper cold storage tier",
		Long: "Move a committed version's files to the hot or the cold storage tier (S3 Glacier Instant Retrieval,\n" +
			"Azure Cold, GCS Coldline by default; storage.url's cold_class= changes it). Both tiers read at once.\n" +
			"A local directory has no tiers: the move is refused.",
		Args: exactArgs(2),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "version")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			v, err := c.SetVersionTier(cmd.Context(), zoneName, project, args[0], version, args[1])
			if err != nil {
				return err
			}
			return printList(app, v.Files, fileColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&version, "version", 0, "the version (required)")
	return cmd
}

// localFile is a file to upload: where it is and what it will be called.
type localFile struct {
	path, name string
	size       int64
}

// collectFiles walks the arguments: files keep their base names,
// directories contribute every regular file under them by relative path.
func collectFiles(args []string) ([]localFile, error) {
	var out []localFile
	for _, a := range args {
		info, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, localFile{path: a, name: filepath.Base(a), size: info.Size()})
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !d.Type().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(a, p)
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, localFile{path: p, name: filepath.ToSlash(rel), size: fi.Size()})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	for i := 1; i < len(out); i++ {
		if out[i].name == out[i-1].name {
			return nil, usageError{fmt.Errorf("two files would both be called %s", out[i].name)}
		}
	}
	for _, f := range out {
		if err := catalog.ValidatePath(f.name); err != nil {
			return nil, usageError{fmt.Errorf("%s: %v", f.path, enclave.ErrorMessage(err))}
		}
	}
	return out, nil
}

// hashFile returns a file's SHA-256, so the server can check the upload.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// defaultPartSize is the part size of multipart uploads: files larger
// than it are sent in parts, so a broken connection costs one part.
const defaultPartSize = 64 << 20

func newDataUploadCommand(app *App) *cobra.Command {
	var zoneName, project string
	var progress, noCommit bool
	var version int
	var partSize int64
	cmd := &cobra.Command{
		Use:   "upload DATASET FILE|DIR... --zone ZONE --project PROJECT",
		Short: "Upload files or directories as a new version of a dataset, and commit it",
		Long: "Upload files or directories as a new version of a dataset. Files keep their names; directories\n" +
			"their relative paths. Each file is hashed first and the server checks the hash, so a file that\n" +
			"changes during the upload is refused. The version is committed (made immutable) at the end\n" +
			"unless --no-commit is given.\n\n" +
			"Files larger than --part-size are sent in parts. When an upload breaks, run the same command\n" +
			"again with --version N (the version it opened, which the error names): files already stored\n" +
			"are kept, and of a file sent in parts only the parts the server lacks are sent again.",
		Args:    cobra.MinimumNArgs(2),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			files, err := collectFiles(args[1:])
			if err != nil {
				return err
			}
			if partSize < 1<<20 {
				return usageError{fmt.Errorf("--part-size must be at least 1048576 bytes")}
			}
			ctx := cmd.Context()
			u := &uploader{app: app, c: c, zone: zoneName, project: project, dataset: args[0], progress: progress, partSize: partSize}
			var v *catalog.Version
			if version > 0 {
				// Resume: keep what the version already holds, continue the uploads under way.
				if v, err = c.GetVersion(ctx, zoneName, project, args[0], version); err != nil {
					return err
				}
				if v.State != catalog.Open {
					return usageError{fmt.Errorf("version %d of %s is %s: only an open version takes more files", version, args[0], v.State)}
				}
				if u.pending, err = c.ListUploads(ctx, zoneName, project, args[0], version); err != nil {
					return err
				}
			} else if v, err = c.CreateVersion(ctx, zoneName, project, args[0]); err != nil {
				return err
			}
			u.version = v.Number
			stored := map[string]string{}
			for _, f := range v.Files {
				stored[f.Path] = f.SHA256
			}
			for _, f := range files {
				if err := u.upload(ctx, f, stored[f.name]); err != nil {
					return fmt.Errorf("%s: %w (to resume: the same command with --version %d)", f.name, err, v.Number)
				}
			}
			if noCommit {
				v, err = c.GetVersion(ctx, zoneName, project, args[0], v.Number)
			} else {
				v, err = c.CommitVersion(ctx, zoneName, project, args[0], v.Number)
			}
			if err != nil {
				return err
			}
			return printItem(app, v, versionColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().BoolVar(&progress, "progress", false, "show progress (the default on a terminal)")
	cmd.Flags().BoolVar(&noCommit, "no-commit", false, "leave the version open for more files")
	cmd.Flags().IntVar(&version, "version", 0, "add to (or resume an upload into) this open version instead of opening a new one")
	cmd.Flags().Int64Var(&partSize, "part-size", defaultPartSize, "send files larger than this many bytes in parts of this size")
	return cmd
}

// uploader sends files into one open version.
type uploader struct {
	app                    *App
	c                      *client.Client
	zone, project, dataset string
	version                int
	progress               bool
	partSize               int64
	pending                []*catalog.FileUpload // the caller's uploads under way in the version
}

// upload sends one file, unless the version already holds it unchanged
// (storedSHA256 is the stored file's hash, "" when there is none).
func (u *uploader) upload(ctx context.Context, f localFile, storedSHA256 string) error {
	sum, err := hashFile(f.path)
	if err != nil {
		return err
	}
	if sum == storedSHA256 {
		fmt.Fprintf(u.app.Stderr, "%s: already stored\n", f.name)
		return nil
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := u.app.progress(u.progress, "upload "+f.name, f.size, fh)
	defer r.done()
	if f.size <= u.partSize {
		_, err = u.c.UploadFile(ctx, u.zone, u.project, u.dataset, u.version, f.name, r, f.size, sum)
		return err
	}
	return u.multipart(ctx, f, fh, r, sum)
}

// multipart sends a file in parts, continuing an upload of it under way
// when there is one: parts the server holds with the right size and hash
// are not sent again.
func (u *uploader) multipart(ctx context.Context, f localFile, fh *os.File, r *progressReader, sum string) error {
	partSize := max(u.partSize, (f.size+objects.MaxParts-1)/objects.MaxParts)
	count := int((f.size + partSize - 1) / partSize)
	var up *catalog.FileUpload
	for _, p := range u.pending {
		if p.Path == f.name {
			up = p // the newest wins
		}
	}
	have := map[int]objects.UploadPart{}
	if up != nil {
		for _, p := range up.Parts {
			if p.Number > count { // sent with another part size: start again
				if err := u.c.AbortUpload(ctx, u.zone, u.project, u.dataset, u.version, up.ID); err != nil {
					return err
				}
				up, have = nil, map[int]objects.UploadPart{}
				break
			}
			have[p.Number] = p
		}
	}
	if up == nil {
		var err error
		if up, err = u.c.StartUpload(ctx, u.zone, u.project, u.dataset, u.version, f.name); err != nil {
			return err
		}
	}
	for n := 1; n <= count; n++ {
		off := int64(n-1) * partSize
		size := min(partSize, f.size-off)
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(fh, off, size)); err != nil {
			return err
		}
		partSum := hex.EncodeToString(h.Sum(nil))
		if p, ok := have[n]; ok && p.Size == size && p.SHA256 == partSum {
			r.n.Add(size)
			continue
		}
		r.r = io.NewSectionReader(fh, off, size)
		if _, err := u.c.PutUploadPart(ctx, u.zone, u.project, u.dataset, u.version, up.ID, n, r, size, partSum); err != nil {
			return fmt.Errorf("part %d of %d: %w", n, count, err)
		}
	}
	_, err := u.c.CompleteUpload(ctx, u.zone, u.project, u.dataset, u.version, up.ID, sum)
	return err
}

func newDataDownloadCommand(app *App) *cobra.Command {
	var zoneName, project, env, file, out, from string
	var version int
	var progress bool
	cmd := &cobra.Command{
		Use:   "download DATASET --version N --env ENV --zone ZONE --project PROJECT [--file PATH] --out PATH",
		Short: "Download a version's files, or one of them, as read in an environment",
		Long: "Download a version's files (or one with --file) into --out, a directory (or, with --file, a file\n" +
			"name; - for standard output). Data is read in the environment --env names, which must be certified\n" +
			"for its classification. Each file is written under a temporary name, checked against its SHA-256\n" +
			"and only then renamed, so a broken download leaves nothing that looks complete.\n\n" +
			"With --from PROJECT, the dataset is one PROJECT shares with the zone, read in --project's environment.",
		Args: exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "version", "env", "out")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			ctx := cmd.Context()
			var v *catalog.Version
			var err error
			if from != "" {
				v, err = c.GetSharedVersion(ctx, zoneName, project, from, args[0], version)
			} else {
				v, err = c.GetVersion(ctx, zoneName, project, args[0], version)
			}
			if err != nil {
				return err
			}
			files := v.Files
			if file != "" {
				files = nil
				for _, f := range v.Files {
					if f.Path == file {
						files = append(files, f)
					}
				}
				if len(files) == 0 {
					return enclave.Errorf(enclave.CodeNotFound, "version %d of %s has no file %s", version, args[0], file)
				}
			}
			for _, f := range files {
				dest := filepath.Join(out, filepath.FromSlash(f.Path))
				if file != "" {
					dest = out
				}
				if err := app.downloadOne(ctx, c, zoneName, project, env, from, args[0], version, f, dest, progress); err != nil {
					return fmt.Errorf("%s: %w", f.Path, err)
				}
			}
			return nil
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&version, "version", 0, "version to download (required)")
	cmd.Flags().StringVar(&env, "env", "", "environment to read the data in, such as dev or prod (required)")
	cmd.Flags().StringVar(&file, "file", "", "download only this file")
	cmd.Flags().StringVar(&out, "out", "", "directory to write into; with --file, the file name (- for standard output)")
	cmd.Flags().BoolVar(&progress, "progress", false, "show progress (the default on a terminal)")
	cmd.Flags().StringVar(&from, "from", "", "the project that shares the dataset with the zone")
	return cmd
}

func (app *App) downloadOne(ctx context.Context, c *client.Client, zoneName, project, env, from, dataset string, version int,
	f *catalog.File, dest string, progress bool) error {
	d, err := c.DownloadSharedFile(ctx, zoneName, project, env, from, dataset, version, f.Path, "")
	if err != nil {
		return err
	}
	return app.saveVerified(d, f.Path, f.Size, f.SHA256, dest, progress)
}

// saveVerified writes a download to dest (- for standard output) under a
// temporary name, checks its size and SHA-256, and only then renames it, so
// a broken download leaves nothing that looks complete.
func (app *App) saveVerified(d *client.Download, label string, size int64, sum, dest string, progress bool) error {
	defer d.Body.Close()
	h := sha256.New()
	r := app.progress(progress, "download "+label, size, io.TeeReader(d.Body, h))
	defer r.done()
	if dest == "-" {
		if _, err := io.Copy(app.Stdout, r); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sum {
			return enclave.Errorf(enclave.CodeInternal, "the data received hashes to %s, not %s", got, sum)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download broken off after %d bytes: %w", n, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != sum {
		return enclave.Errorf(enclave.CodeInternal, "received %d bytes hashing to %s; expected %d bytes, %s", n, got, size, sum)
	}
	return os.Rename(tmp.Name(), dest)
}

// progressReader reports a transfer's progress on standard error, at most
// twice a second, when asked to or when standard error is a terminal.
type progressReader struct {
	r       io.Reader
	n       atomic.Int64
	total   int64
	label   string
	w       io.Writer
	last    time.Time
	start   time.Time
	enabled bool
}

func (app *App) progress(force bool, label string, total int64, r io.Reader) *progressReader {
	enabled := force
	if f, ok := app.Stderr.(*os.File); ok && !force {
		enabled = isTerminal(f)
	}
	return &progressReader{r: r, total: total, label: label, w: app.Stderr, enabled: enabled, start: time.Now()}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	if p.enabled && time.Since(p.last) > 500*time.Millisecond {
		p.last = time.Now()
		p.print("\r")
	}
	return n, err
}

func (p *progressReader) print(prefix string) {
	n := p.n.Load()
	pct := 100.0
	if p.total > 0 {
		pct = float64(n) * 100 / float64(p.total)
	}
	rate := float64(n) / max(time.Since(p.start).Seconds(), 0.001)
	fmt.Fprintf(p.w, "%s%s: %s of %s (%.0f%%, %s/s)   ", prefix, p.label, humanBytes(n), humanBytes(p.total), pct, humanBytes(int64(rate)))
}

func (p *progressReader) done() {
	if p.enabled {
		p.print("\r")
		fmt.Fprintln(p.w)
	}
}

// lineageRow is one edge of a version's lineage, with its direction.
type lineageRow struct {
	dir string
	catalog.LineageEdge
}

var lineageColumns = []column[lineageRow]{
	{"DIRECTION", func(e lineageRow) string { return e.dir }},
	{"DATASET", func(e lineageRow) string { return e.Project + "/" + e.Dataset }},
	{"VERSION", func(e lineageRow) string { return strconv.Itoa(e.Version) }},
	{"OPERATION", func(e lineageRow) string { return e.Operation }},
}

func newDataLineageCommand(app *App) *cobra.Command {
	var zoneName, project string
	var version int
	cmd := &cobra.Command{
		Use:     "lineage DATASET --version N --zone ZONE --project PROJECT",
		Short:   "Show where a version came from and what was made from it",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project", "version") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			l, err := c.Lineage(cmd.Context(), zoneName, project, args[0], version)
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printItem(app, l, nil)
			}
			var rows []lineageRow
			for _, e := range l.Parents {
				rows = append(rows, lineageRow{"from", e})
			}
			for _, e := range l.Children {
				rows = append(rows, lineageRow{"to", e})
			}
			return printList(app, rows, lineageColumns)
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	cmd.Flags().IntVar(&version, "version", 0, "version (required)")
	return cmd
}

func newDataLabelCommand(app *App) *cobra.Command {
	var zoneName, project string
	cmd := &cobra.Command{
		Use:     "label DATASET COLUMN direct-identifier|quasi-identifier|sensitive-attribute|none --zone ZONE --project PROJECT",
		Short:   "Label a column of a dataset (none removes the label)",
		Args:    exactArgs(3),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			label := catalog.ColumnLabel(args[2])
			if label == "none" {
				label = ""
			}
			ls, err := c.LabelColumn(cmd.Context(), zoneName, project, args[0], args[1], label)
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printItem(app, ls, nil)
			}
			names := make([]string, 0, len(ls))
			for n := range ls {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(app.Stdout, "%s\t%s\n", n, ls[n])
			}
			return nil
		}),
	}
	app.projectFlags(cmd, &zoneName, &project)
	return cmd
}

var requestColumns = []column[*catalog.Request]{
	{"ID", func(r *catalog.Request) string { return r.ID }},
	{"KIND", func(r *catalog.Request) string { return string(r.Kind) }},
	{"STATE", func(r *catalog.Request) string { return string(r.State) }},
	{"DATASET", func(r *catalog.Request) string {
		if r.Dataset == "" {
			return ""
		}
		return r.Dataset + " v" + strconv.Itoa(r.Version)
	}},
	{"REQUESTER", func(r *catalog.Request) string { return r.RequesterName }},
	{"DECIDER", func(r *catalog.Request) string { return r.DeciderName }},
	{"CREATED", func(r *catalog.Request) string { return formatTime(r.CreatedAt) }},
}

func newDataRequestsCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "requests", Short: "See and decide a project's data requests (grants, deletions, key destructions)",
		Args: noArgs, RunE: showHelp}
	var zoneName, project string
	ls := &cobra.Command{
		Use: "list --zone ZONE --project PROJECT", Short: "List a project's data requests, newest first", Args: noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			rs, err := client.Collect(cmd.Context(), 0, func(ctx context.Context, p enclave.Page) ([]*catalog.Request, string, error) {
				return c.ListRequests(ctx, zoneName, project, p)
			})
			if err != nil {
				return err
			}
			return printList(app, rs, requestColumns)
		}),
	}
	app.projectFlags(ls, &zoneName, &project)
	cmd.AddCommand(ls)
	for _, approve := range []bool{true, false} {
		var zoneName, project, comment string
		verb := map[bool]string{true: "approve", false: "reject"}[approve]
		c := &cobra.Command{
			Use: verb + " ID --zone ZONE --project PROJECT", Short: strings.ToUpper(verb[:1]) + verb[1:] + " a request (never your own)",
			Args:    exactArgs(1),
			PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
			RunE: app.withClient(func(cmd *cobra.Command, cl *client.Client, args []string) error {
				r, err := cl.DecideRequest(cmd.Context(), zoneName, project, args[0], approve, comment)
				if err != nil {
					return err
				}
				return printItem(app, r, requestColumns)
			}),
		}
		app.projectFlags(c, &zoneName, &project)
		c.Flags().StringVar(&comment, "comment", "", "why")
		cmd.AddCommand(c)
	}
	return cmd
}

func newDataGrantCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "grant", Short: "Time-boxed access to production data from dev, approved by its data owner",
		Args: noArgs, RunE: showHelp}
	var zoneName, project, env, why string
	var version int
	var dur time.Duration
	req := &cobra.Command{
		Use:   "request DATASET --version N --env ENV --justification TEXT [--duration 8h]",
		Short: "Ask the data owner for access to a version from an environment not certified for it",
		Args:  exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "version", "env", "justification")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			r, err := c.RequestGrant(cmd.Context(), zoneName, project, args[0], version,
				catalog.GrantRequest{Environment: env, Justification: why, Duration: catalog.Duration(dur)})
			if err != nil {
				return err
			}
			return printItem(app, r, requestColumns)
		}),
	}
	app.projectFlags(req, &zoneName, &project)
	req.Flags().IntVar(&version, "version", 0, "version (required)")
	req.Flags().StringVar(&env, "env", "", "environment to read it in, such as dev (required)")
	req.Flags().StringVar(&why, "justification", "", "why (required)")
	req.Flags().DurationVar(&dur, "duration", 0, "how long (default 8h, at most 168h)")
	var cz, cp, name string
	cp2 := &cobra.Command{
		Use:     "copy REQUEST --name NAME --zone ZONE --project PROJECT",
		Short:   "Use an approved grant: copy the version into the workspace area as a new dataset",
		Args:    exactArgs(1),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project", "name") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.CopyUnderGrant(cmd.Context(), cz, cp, args[0], name)
			if err != nil {
				return err
			}
			return printItem(app, d, datasetColumns)
		}),
	}
	app.projectFlags(cp2, &cz, &cp)
	cp2.Flags().StringVar(&name, "name", "", "name of the new dataset (required)")
	cmd.AddCommand(req, cp2)
	return cmd
}
