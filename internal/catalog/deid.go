package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sort"
	"strconv"

	"github.com/enclave-ml/enclave/internal/deid"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/zone"
)

// MaxRecipeSize bounds a de-identification recipe's YAML.
const MaxRecipeSize = 64 << 10

// DeidRequest asks for a committed version to be de-identified by a recipe
// into a workspace dataset.
type DeidRequest struct {
	// Recipe is the recipe's YAML (see deid.ParseRecipe), at most 64 KiB.
	Recipe string `json:"recipe"`
	// Target names a workspace dataset of the project, which gets the
	// result as its next version, or a new one, created with the source's
	// classification, tags and retention, with the caller as its data
	// owner.
	Target string `json:"target"`
	// Paths selects the files to de-identify; none means every CSV and
	// Parquet file of the version. Only the de-identified files go into
	// the new version.
	Paths []string `json:"paths,omitempty"`
}

// DeidResult is the version a recipe made and what it did to each file.
type DeidResult struct {
	Version *Version                     `json:"version"`
	Reports map[string]*deid.ApplyReport `json:"reports"`
}

// deidOperation names the versions Deidentify makes and their lineage.
const deidOperation = "deid"

// Deidentify applies a de-identification recipe to the CSV and Parquet
// files of a committed version of a raw, curated or workspace dataset and
// stores the results as the next version of a workspace dataset (created
// when missing), with a lineage edge to the source. Each file is read,
// de-identified and written encrypted in one streaming pass, in bounded
// memory. The result keeps the source's classification: a target
// classified lower is refused. Pseudonyms are keyed by the project's
// pseudonymisation key, so the same value gets the same pseudonym in every
// run. The caller needs the right to read the source's contents.
func (s *Service) Deidentify(ctx context.Context, zoneName, project, name string, number int, in DeidRequest) (*DeidResult, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if len(in.Recipe) > MaxRecipeSize {
		return nil, enclave.FieldError("recipe", "the recipe is %d bytes; at most %d are accepted", len(in.Recipe), MaxRecipeSize)
	}
	rc, err := deid.ParseRecipe([]byte(in.Recipe))
	if err != nil {
		return nil, err
	}
	if err := enclave.ValidateName("target", in.Target); err != nil {
		return nil, err
	}
	src, sv, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	switch src.Area {
	case Raw, Curated, Workspace:
	default:
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition,
			"%s is in the %s area: only raw, curated and workspace data is de-identified", src.Name, src.Area)
	}
	if sv.State != Committed {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is %s", sv.Number, src.Name, sv.State)
	}
	if err := s.Authorize(ctx, "datasets/contents/read", src.Scope()); err != nil {
		return nil, err
	}
	if src.GrantID != "" {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "%s is a copy made under a time-boxed grant: it is not copied further", src.Name)
	}
	all, err := s.Store.ListFiles(ctx, sv.ID)
	if err != nil {
		return nil, err
	}
	p, place, err := s.projectPlacement(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	target := AreaCopy{Area: Workspace, Dataset: in.Target}
	// A quick check before any byte is read; the transaction checks again.
	if _, err := s.deidTarget(ctx, src, target); err != nil {
		return nil, err
	}
	files, formats, err := s.deidFiles(ctx, src, sv, all, in.Paths)
	if err != nil {
		return nil, err
	}
	opts := deid.ApplyOptions{TempDir: os.TempDir()}
	if pseudonymises(rc) {
		if s.PseudonymKey == nil {
			return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "this server has no pseudonymisation key")
		}
		key, err := s.PseudonymKey(ctx, p)
		if err != nil {
			return nil, keyErr(err)
		}
		opts.Pseudonymiser = deid.NewHMACPseudonymiser(key)
		clear(key)
	}

	reports := map[string]*deid.ApplyReport{}
	var made []copiedFile
	for i, f := range files {
		c, rep, err := s.deidFile(ctx, f, formats[i], place, rc, opts)
		if err != nil {
			s.discardCopies(ctx, made)
			return nil, err
		}
		made = append(made, c)
		reports[f.Path] = rep
	}

	sum := sha256.Sum256([]byte(in.Recipe))
	recipeHash := hex.EncodeToString(sum[:])
	var out *Version
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		d, err := s.deidTarget(ctx, src, target)
		if err != nil {
			return err
		}
		if d == nil {
			if d, err = s.createDeidTarget(ctx, a, p, src, sv, in.Target); err != nil {
				return err
			}
		}
		v, err := s.commitCopies(ctx, p, d, d.LatestVersion+1, deidOperation, a.PrincipalID, made, sv)
		if err != nil {
			return err
		}
		out = v
		return s.record(ctx, d, "dataset.deid", map[string]any{"source": src.Name, "source_version": sv.Number,
			"from_area": src.Area, "version": v.Number, "recipe_sha256": recipeHash, "sha256": v.SHA256,
			"files": deidAudit(files, reports)})
	})
	if err != nil {
		s.discardCopies(ctx, made)
		return nil, err
	}
	return &DeidResult{Version: out, Reports: reports}, nil
}

// deidTarget returns the workspace dataset a de-identified version goes
// into, or nil when it is to be created.
func (s *Service) deidTarget(ctx context.Context, src *Dataset, target AreaCopy) (*Dataset, error) {
	d, err := s.copyTarget(ctx, src, target)
	if err != nil {
		var fe *enclave.Error
		if errors.As(err, &fe) && fe.Code == enclave.CodeInvalidArgument {
			return nil, enclave.FieldError("target", "%s", fe.Message)
		}
		return nil, err
	}
	return d, nil
}

// createDeidTarget creates the workspace dataset a de-identified version
// goes into, in ctx's transaction.
func (s *Service) createDeidTarget(ctx context.Context, a *enclave.Actor, p *zone.Project, src *Dataset, sv *Version, name string) (*Dataset, error) {
	now := s.Clock.Now()
	d := &Dataset{ID: newID(), Zone: src.Zone, Project: src.Project, ZoneID: src.ZoneID, ProjectID: src.ProjectID,
		Name: name, Area: Workspace, OwnerID: a.PrincipalID, OwnerName: a.Name,
		Description: "de-identified from " + src.Name + " version " + strconv.Itoa(sv.Number),
		Tags:        orEmpty(src.Tags), Classification: src.Classification, RetentionDays: src.RetentionDays,
		CreatedBy: a.PrincipalID, CreatedAt: now, UpdatedAt: now}
	if err := s.admit(ctx, KindDataset, enclave.OpCreate, p, d, nil, checkDataset(p, d, nil)); err != nil {
		return nil, err
	}
	if err := s.Store.CreateDataset(ctx, d); err != nil {
		return nil, err
	}
	if err := s.record(ctx, d, "dataset.create", map[string]any{"name": d.Name, "area": d.Area,
		"classification": d.Classification, "retention_days": d.RetentionDays, "from": src.Name}); err != nil {
		return nil, err
	}
	return d, nil
}

// deidFiles selects the files to de-identify, with their formats: the
// named paths, each of which must be a CSV or Parquet file, or every CSV
// and Parquet file.
func (s *Service) deidFiles(ctx context.Context, src *Dataset, sv *Version, all []*File, paths []string) ([]*File, []string, error) {
	byPath := map[string]*File{}
	for _, f := range all {
		byPath[f.Path] = f
	}
	var files []*File
	var formats []string
	if len(paths) > 0 {
		seen := map[string]bool{}
		for _, path := range paths {
			if seen[path] {
				return nil, nil, enclave.FieldError("paths", "%s is listed twice", path)
			}
			seen[path] = true
			f, ok := byPath[path]
			if !ok {
				return nil, nil, enclave.FieldError("paths", "version %d of %s has no file %s", sv.Number, src.Name, path)
			}
			format, err := s.tabularFormat(ctx, f)
			if err != nil {
				return nil, nil, err
			}
			if format == "" {
				return nil, nil, enclave.FieldError("paths", "%s is neither CSV nor Parquet", path)
			}
			files, formats = append(files, f), append(formats, format)
		}
		return files, formats, nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Path < all[j].Path })
	for _, f := range all {
		format, err := s.tabularFormat(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		if format != "" {
			files, formats = append(files, f), append(formats, format)
		}
	}
	if len(files) == 0 {
		return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s has no CSV or Parquet file", sv.Number, src.Name)
	}
	return files, formats, nil
}

// tabularFormat returns "csv" or "parquet" for a tabular file, from the
// format recorded when it was written or else from its first bytes, and ""
// for any other file.
func (s *Service) tabularFormat(ctx context.Context, f *File) (string, error) {
	switch f.Format {
	case "csv", "parquet":
		return f.Format, nil
	case "":
	default:
		return "", nil
	}
	so, err := s.Objects.Store.GetObject(ctx, f.ObjectID)
	if err != nil {
		return "", err
	}
	rd, err := s.Objects.Open(ctx, so)
	if err != nil {
		return "", keyErr(err)
	}
	head := make([]byte, min(f.Size, 8<<10))
	if n, err := (objectReaderAt{ctx: ctx, r: rd}).ReadAt(head, 0); err != nil && err != io.EOF {
		return "", err
	} else {
		head = head[:n]
	}
	return deid.DetectFormat(f.Path, head), nil
}

// deidFile de-identifies one file into a new object at place, not yet
// committed: the stored object is decrypted, passed through the recipe and
// encrypted afresh in one streaming pass, through a pipe.
func (s *Service) deidFile(ctx context.Context, f *File, format string, place objects.Placement, rc *deid.Recipe, opts deid.ApplyOptions) (copiedFile, *deid.ApplyReport, error) {
	so, err := s.Objects.Store.GetObject(ctx, f.ObjectID)
	if err != nil {
		return copiedFile{}, nil, err
	}
	rd, err := s.Objects.Open(ctx, so)
	if err != nil {
		return copiedFile{}, nil, keyErr(err)
	}
	pr, pw := io.Pipe()
	var r io.Reader = pr
	var prof *csvProfiler
	if format == "csv" {
		prof = newCSVProfiler(ctx)
		r = io.TeeReader(pr, prof)
	}
	type written struct {
		o   *objects.Object
		err error
	}
	done := make(chan written, 1)
	go func() {
		o, err := s.Objects.Write(ctx, place, r, 0)
		if err != nil {
			pr.CloseWithError(err) // the applier stops at its next write
		} else {
			pr.Close()
		}
		done <- written{o, err}
	}()
	var rep *deid.ApplyReport
	var aerr error
	switch format {
	case "csv":
		var in io.ReadCloser
		if in, aerr = rd.ReadRange(ctx, 0, -1); aerr == nil {
			rep, aerr = deid.ApplyCSV(ctx, in, pw, rc, opts)
			in.Close()
		}
	case "parquet":
		rep, aerr = deid.ApplyParquet(ctx, objectReaderAt{ctx: ctx, r: rd}, so.Size, pw, rc, opts)
	}
	pw.CloseWithError(aerr) // nil: the writer sees the end of the file
	w := <-done
	if aerr != nil || w.err != nil {
		if w.o != nil {
			s.Objects.Discard(context.WithoutCancel(ctx), w.o)
		}
		err := aerr
		if w.err != nil && (aerr == nil || errors.Is(aerr, w.err) || errors.Is(aerr, io.ErrClosedPipe)) {
			err = w.err
		}
		if errors.Is(err, objects.ErrCorrupt) {
			return copiedFile{}, nil, enclave.Wrap(enclave.CodeInternal, err, "the stored data of %s is corrupt", f.Path)
		}
		var e *enclave.Error
		if errors.As(err, &e) && e.Code == enclave.CodeInvalidArgument {
			named := *e // a recipe that does not fit the file, or a file the reader refuses
			named.Message = f.Path + ": " + e.Message
			return copiedFile{}, nil, &named
		}
		return copiedFile{}, nil, err
	}
	o := w.o
	var schema []byte
	if prof != nil {
		schema = marshalSchema(prof.finish(true))
	} else {
		schema = marshalSchema(s.profileParquet(ctx, o))
	}
	nf := &File{Path: f.Path, ObjectID: o.ID, Size: o.Size, SHA256: o.SHA256, Format: format, Schema: schema,
		Tier: objects.TierHot, CreatedAt: s.Clock.Now()}
	return copiedFile{f: nf, o: o}, rep, nil
}

// pseudonymises reports whether a recipe pseudonymises any column.
func pseudonymises(rc *deid.Recipe) bool {
	for _, c := range rc.Columns {
		if c.Action == deid.ActionPseudonymise {
			return true
		}
	}
	return false
}

// deidAudit is what the audit record says about each file: counts, never
// values.
func deidAudit(files []*File, reports map[string]*deid.ApplyReport) []map[string]any {
	out := make([]map[string]any, 0, len(files))
	for _, f := range files {
		r := reports[f.Path]
		e := map[string]any{"path": f.Path, "source_sha256": f.SHA256, "rows_in": r.RowsIn, "rows_out": r.RowsOut,
			"rows_suppressed": r.RowsSuppressed, "rows_dropped": r.RowsDropped}
		if r.KAnonymity != nil {
			e["k"], e["k_achieved"] = r.KAnonymity.K, r.KAnonymity.KAchieved
		}
		out = append(out, e)
	}
	return out
}
