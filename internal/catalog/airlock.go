package catalog

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/zone"
)

// The airlock keeps each request's files as a dataset of its own in one of
// the airlock's areas — the inbox for imports, export for exports — whose
// version 1 is filled while the request is a draft and committed when it is
// submitted, so what is scanned is what is reviewed is what is released.
// Moving files on (into raw, the external area or quarantine) copies them,
// re-encrypted under new data keys, into a version of the target dataset and
// turns the staging version into a tombstone, in one transaction: a crash
// leaves them in one area or the other, never both and never neither.

type airlockKey struct{}

// ViaAirlock marks ctx as the airlock's own: only such calls write into or
// read from the airlock's areas.
func ViaAirlock(ctx context.Context) context.Context {
	return context.WithValue(ctx, airlockKey{}, true)
}

func airlockOnly(ctx context.Context, d *Dataset) error {
	if d.Area.Airlock() && ctx.Value(airlockKey{}) == nil {
		return enclave.Errorf(enclave.CodeFailedPrecondition,
			"%s is in the airlock's %s area: it changes only through its airlock request", d.Name, d.Area)
	}
	return nil
}

// Staging describes a dataset the airlock creates for a request.
type Staging struct {
	Area           Area
	Name           string
	Description    string
	Classification enclave.Classification
	Tags           enclave.Tags
	// OwnerID and OwnerName are the request's requester.
	OwnerID, OwnerName string
}

// CreateStaging creates a dataset in one of the airlock's areas with version
// 1 open for files, in ctx's transaction.
func (s *Service) CreateStaging(ctx context.Context, p *zone.Project, in Staging) (*Dataset, error) {
	if !in.Area.Airlock() {
		return nil, enclave.FieldError("area", "%s is not one of the airlock's areas", in.Area)
	}
	if err := enclave.ValidateName("name", in.Name); err != nil {
		return nil, err
	}
	if !in.Classification.AtMost(p.MaxClassification) {
		return nil, enclave.FieldError("classification", "project %s holds data up to %s, not %s", p.Name, p.MaxClassification, in.Classification)
	}
	now := s.Clock.Now()
	d := &Dataset{ID: newID(), Zone: p.Zone, Project: p.Name, ZoneID: p.ZoneID, ProjectID: p.ID, Name: in.Name, Area: in.Area,
		OwnerID: in.OwnerID, OwnerName: in.OwnerName, Description: in.Description, Tags: orEmpty(in.Tags),
		Classification: in.Classification, CreatedBy: in.OwnerID, CreatedAt: now, UpdatedAt: now}
	if err := s.admit(ctx, KindDataset, enclave.OpCreate, p, d, nil, checkDataset(p, d, nil)); err != nil {
		return nil, err
	}
	if err := s.Store.CreateDataset(ctx, d); err != nil {
		return nil, err
	}
	if err := s.record(ctx, d, "dataset.create", map[string]any{"name": d.Name, "area": d.Area, "classification": d.Classification}); err != nil {
		return nil, err
	}
	v := &Version{ID: newID(), DatasetID: d.ID, Number: 1, State: Open, Operation: "airlock", CreatedBy: in.OwnerID, CreatedAt: now}
	if err := s.admit(ctx, KindVersion, enclave.OpCreate, p, v, nil, onlyAmends(v)); err != nil {
		return nil, err
	}
	if err := s.Store.CreateVersion(ctx, v); err != nil {
		return nil, err
	}
	d.LatestVersion = 1
	return d, nil
}

// StagingByID returns an airlock dataset with its version 1.
func (s *Service) StagingByID(ctx context.Context, zoneName, project, name string) (*Dataset, *Version, error) {
	d, v, err := s.version(ctx, zoneName, project, name, 1)
	if err != nil {
		return nil, nil, err
	}
	if !d.Area.Airlock() {
		return nil, nil, enclave.Errorf(enclave.CodeInternal, "%s is not in an airlock area", d.Name)
	}
	return d, v, nil
}

// StageFile streams r into the open staging version of d.
func (s *Service) StageFile(ctx context.Context, d *Dataset, filePath string, r io.Reader, wantSHA256 string) (*File, error) {
	return s.PutFile(ViaAirlock(ctx), d.Zone, d.Project, d.Name, 1, filePath, r, wantSHA256)
}

// UnstageFile removes a file from the open staging version of d.
func (s *Service) UnstageFile(ctx context.Context, d *Dataset, filePath string) error {
	if err := ValidatePath(filePath); err != nil {
		return err
	}
	var objectID string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		v, err := s.Store.GetVersion(ctx, d.ID, 1)
		if err != nil {
			return err
		}
		if v.State != Open {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "the request's files are fixed once it is submitted")
		}
		f, err := s.Store.GetFile(ctx, v.ID, filePath)
		if err != nil {
			return err
		}
		p, err := s.Zones.GetProject(ctx, d.Zone, d.Project)
		if err != nil {
			return err
		}
		if err := s.admit(ctx, KindFile, enclave.OpDelete, p, f, f, nil); err != nil {
			return err
		}
		if err := s.Store.DeleteFile(ctx, v.ID, filePath); err != nil {
			return err
		}
		if err := s.markDeleting(ctx, f.ObjectID); err != nil {
			return err
		}
		objectID = f.ObjectID
		return s.record(ctx, d, "dataset.file.delete", map[string]any{"version": 1, "path": filePath})
	})
	if err == nil {
		s.dropObject(ctx, objectID)
	}
	return err
}

// StageCopy copies files of a committed version of a dataset of the same
// project into the open staging version of d, under prefix + their path:
// those under dir (a directory, "" for all) or the given paths. The caller
// must be allowed to read the source's contents; its classification is the
// staging dataset's at least (raised if need be, never lowered). It returns
// the files staged, and the source's column labels.
func (s *Service) StageCopy(ctx context.Context, d *Dataset, source string, number int, paths []string, dir, prefix string) ([]*File, map[string]ColumnLabel, error) {
	src, sv, err := s.version(ctx, d.Zone, d.Project, source, number)
	if err != nil {
		return nil, nil, err
	}
	if src.Area != Workspace {
		return nil, nil, enclave.FieldError("dataset", "exports are made from the workspace area; %s is in %s", src.Name, src.Area)
	}
	if err := s.Authorize(ctx, "datasets/contents/read", src.Scope()); err != nil {
		return nil, nil, err
	}
	if src.GrantID != "" {
		return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "%s is a copy made under a time-boxed grant: it is not exported", src.Name)
	}
	all, err := s.committedFiles(ctx, src, sv)
	if err != nil {
		return nil, nil, err
	}
	var pick []*File
	switch {
	case len(paths) > 0:
		byPath := map[string]*File{}
		for _, f := range all {
			byPath[f.Path] = f
		}
		for _, p := range paths {
			f, ok := byPath[p]
			if !ok {
				return nil, nil, enclave.FieldError("paths", "version %d of %s has no file %q", sv.Number, src.Name, p)
			}
			pick = append(pick, f)
		}
	default:
		dir = strings.TrimSuffix(dir, "/")
		for _, f := range all {
			if dir == "" || strings.HasPrefix(f.Path, dir+"/") {
				pick = append(pick, f)
			}
		}
		if len(pick) == 0 {
			return nil, nil, enclave.FieldError("dir", "version %d of %s has no files under %q", sv.Number, src.Name, dir)
		}
	}
	for _, f := range pick {
		if err := ValidatePath(prefix + f.Path); err != nil {
			return nil, nil, err
		}
	}
	p, place, err := s.projectPlacement(ctx, d.Zone, d.Project)
	if err != nil {
		return nil, nil, err
	}
	copies, err := s.copyFiles(ctx, pick, place)
	if err != nil {
		return nil, nil, err
	}
	var out []*File
	var labels map[string]ColumnLabel
	var replaced []string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		v, err := s.Store.GetVersion(ctx, d.ID, 1)
		if err != nil {
			return err
		}
		if v.State != Open {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "the request's files are fixed once it is submitted")
		}
		cur, err := s.Store.GetDataset(ctx, d.Zone, d.Project, d.Name)
		if err != nil {
			return err
		}
		if !src.Classification.AtMost(cur.Classification) {
			old := *cur
			cur.Classification, cur.UpdatedAt = src.Classification, s.Clock.Now()
			if err := s.admit(ctx, KindDataset, enclave.OpUpdate, p, cur, &old, checkDataset(p, cur, &old)); err != nil {
				return err
			}
			if err := s.Store.UpdateDataset(ctx, cur); err != nil {
				return err
			}
			*d = *cur
		}
		for _, c := range copies {
			c.f.VersionID, c.f.Path = v.ID, prefix+c.f.Path
			if old, err := s.Store.GetFile(ctx, v.ID, c.f.Path); err == nil {
				replaced = append(replaced, old.ObjectID)
				if err := s.markDeleting(ctx, old.ObjectID); err != nil {
					return err
				}
			}
			if err := s.admit(ctx, KindFile, enclave.OpCreate, p, c.f, nil, onlyAmends(c.f)); err != nil {
				return err
			}
			if err := s.Objects.Commit(ctx, c.o); err != nil {
				return err
			}
			if err := s.Store.PutFile(ctx, c.f); err != nil {
				return err
			}
			out = append(out, c.f)
		}
		if err := s.Store.AddLineage(ctx, v.ID, sv.ID, "export"); err != nil && enclave.ErrorCode(err) != enclave.CodeConflict {
			return err
		}
		if labels, err = s.Store.ColumnLabels(ctx, src.ID); err != nil {
			return err
		}
		return s.record(ctx, d, "dataset.copy", map[string]any{"operation": "export", "source": src.Name, "source_version": sv.Number,
			"from_area": src.Area, "to_area": d.Area, "files": len(out)})
	})
	if err != nil {
		s.discardCopies(ctx, copies)
		return nil, nil, err
	}
	for _, id := range replaced {
		s.dropObject(ctx, id)
	}
	return out, labels, nil
}

// CommitStaging commits the staging version of d in ctx's transaction: its
// manifest is fixed. It returns the version with its files.
func (s *Service) CommitStaging(ctx context.Context, d *Dataset) (*Version, error) {
	if _, err := s.CommitVersion(ViaAirlock(ctx), d.Zone, d.Project, d.Name, 1); err != nil {
		return nil, err
	}
	return s.GetVersion(ctx, d.Zone, d.Project, d.Name, 1)
}

// stagedFile returns a file of the version of an airlock dataset that holds
// its files now.
func (s *Service) stagedFile(ctx context.Context, d *Dataset, filePath string) (*File, *objects.Object, error) {
	if !d.Area.Airlock() {
		return nil, nil, enclave.Errorf(enclave.CodeInternal, "%s is not in an airlock area", d.Name)
	}
	v, err := s.Store.GetVersion(ctx, d.ID, d.LatestVersion)
	if err != nil {
		return nil, nil, err
	}
	if v.State == Deleted {
		return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the files of %s were deleted", d.Name)
	}
	f, err := s.Store.GetFile(ctx, v.ID, filePath)
	if err != nil {
		return nil, nil, err
	}
	o, err := s.Objects.Store.GetObject(ctx, f.ObjectID)
	if err != nil {
		return nil, nil, err
	}
	return f, o, nil
}

// OpenStaged opens a file of an airlock dataset for reading, whole.
func (s *Service) OpenStaged(ctx context.Context, d *Dataset, filePath string) (*File, io.ReadCloser, error) {
	f, o, err := s.stagedFile(ctx, d, filePath)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.Objects.Open(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	rc, err := r.ReadRange(ctx, 0, -1)
	if err != nil {
		return nil, nil, err
	}
	return f, rc, nil
}

// OpenStagedAt opens a file of an airlock dataset for random access
// (Parquet), decrypting only the segments each read needs; it returns the
// reader and the file's size.
func (s *Service) OpenStagedAt(ctx context.Context, d *Dataset, filePath string) (io.ReaderAt, int64, error) {
	_, o, err := s.stagedFile(ctx, d, filePath)
	if err != nil {
		return nil, 0, err
	}
	r, err := s.Objects.Open(ctx, o)
	if err != nil {
		return nil, 0, err
	}
	return objectReaderAt{ctx: ctx, r: r}, r.Size(), nil
}

// Move is a prepared move of files from a staging version to another
// dataset: the copies exist, nothing refers to them yet. Commit records it
// in the caller's transaction; Discard throws the copies away.
type Move struct {
	s      *Service
	p      *zone.Project
	src    *Dataset
	sv     *Version
	to     Area
	target string
	op     string
	copies []copiedFile
	// gone are the objects of the staging version, deleted after the commit.
	gone []string
}

// PrepareMove copies the files of the staging dataset src (all of them, or
// those whose paths keep says to keep) into new objects, for a move into
// the dataset target of area to by operation.
func (s *Service) PrepareMove(ctx context.Context, src *Dataset, keep func(path string) bool, to Area, target, operation string) (*Move, error) {
	if !src.Area.Airlock() {
		return nil, enclave.Errorf(enclave.CodeInternal, "%s is not in an airlock area", src.Name)
	}
	sv, err := s.Store.GetVersion(ctx, src.ID, 1)
	if err != nil {
		return nil, err
	}
	files, err := s.committedFiles(ctx, src, sv)
	if err != nil {
		return nil, err
	}
	var pick []*File
	for _, f := range files {
		if keep == nil || keep(f.Path) {
			pick = append(pick, f)
		}
	}
	p, place, err := s.projectPlacement(ctx, src.Zone, src.Project)
	if err != nil {
		return nil, err
	}
	m := &Move{s: s, p: p, src: src, sv: sv, to: to, target: target, op: operation}
	if len(pick) > 0 {
		if m.copies, err = s.copyFiles(ctx, pick, place); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Discard throws away the copies of a move that was not committed.
func (m *Move) Discard(ctx context.Context) { m.s.discardCopies(ctx, m.copies) }

// Commit records the move in ctx's transaction: the copies become the next
// version of the target dataset (created when missing, with the source's
// classification, tags and, for an import, owner by, with lineage to the
// staging version), and the staging version becomes a tombstone whose
// objects are marked for deletion. It returns the new version, or nil when
// no file was kept.
func (m *Move) Commit(ctx context.Context, ownerID, ownerName string) (*Dataset, *Version, error) {
	s := m.s
	var d *Dataset
	var v *Version
	if len(m.copies) > 0 {
		cur, err := s.Store.GetDataset(ctx, m.src.Zone, m.src.Project, m.target)
		switch {
		case enclave.ErrorCode(err) == enclave.CodeNotFound:
			now := s.Clock.Now()
			cur = &Dataset{ID: newID(), Zone: m.src.Zone, Project: m.src.Project, ZoneID: m.src.ZoneID, ProjectID: m.src.ProjectID,
				Name: m.target, Area: m.to, OwnerID: ownerID, OwnerName: ownerName,
				Description: fmt.Sprintf("%s through the airlock", m.op), Tags: orEmpty(m.src.Tags),
				Classification: m.src.Classification, CreatedBy: ownerID, CreatedAt: now, UpdatedAt: now}
			if err := s.admit(ctx, KindDataset, enclave.OpCreate, m.p, cur, nil, checkDataset(m.p, cur, nil)); err != nil {
				return nil, nil, err
			}
			if err := s.Store.CreateDataset(ctx, cur); err != nil {
				return nil, nil, err
			}
			if err := s.record(ctx, cur, "dataset.create", map[string]any{"name": cur.Name, "area": cur.Area,
				"classification": cur.Classification, "from": m.src.Name}); err != nil {
				return nil, nil, err
			}
		case err != nil:
			return nil, nil, err
		case cur.Area != m.to:
			return nil, nil, enclave.FieldError("dataset", "%s is in the %s area, not %s", cur.Name, cur.Area, m.to)
		case !m.src.Classification.AtMost(cur.Classification):
			return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "%s is %s and %s only %s: a move cannot lower a classification",
				m.src.Name, m.src.Classification, cur.Name, cur.Classification)
		case cur.GrantID != "":
			return nil, nil, enclave.FieldError("dataset", "%s holds a copy made under a grant", cur.Name)
		}
		nv, err := s.commitCopies(ctx, m.p, cur, cur.LatestVersion+1, m.op, ownerID, m.copies, m.sv)
		if err != nil {
			return nil, nil, err
		}
		if err := s.record(ctx, cur, "dataset.copy", map[string]any{"operation": m.op, "source": m.src.Name, "source_version": 1,
			"from_area": m.src.Area, "to_area": cur.Area, "version": nv.Number, "files": nv.FileCount, "sha256": nv.SHA256}); err != nil {
			return nil, nil, err
		}
		d, v = cur, nv
	}
	gone, err := s.tombstone(ctx, m.src, m.sv)
	if err != nil {
		return nil, nil, err
	}
	m.gone = gone
	return d, v, nil
}

// Finish deletes the staging objects after the move committed; a failure
// (or a crash) leaves them marked for the sweeper.
func (m *Move) Finish(ctx context.Context) { m.s.DropObjects(ctx, m.gone) }

// DropStaging turns the staging version of d into a tombstone in ctx's
// transaction — committing it first if it is still open — and returns the
// objects to delete once the transaction commits (DropObjects).
func (s *Service) DropStaging(ctx context.Context, d *Dataset) ([]string, error) {
	v, err := s.Store.GetVersion(ctx, d.ID, 1)
	if err != nil {
		return nil, err
	}
	switch v.State {
	case Deleted:
		return nil, nil
	case Open:
		files, err := s.Store.ListFiles(ctx, v.ID)
		if err != nil {
			return nil, err
		}
		s.seal(d, v, files)
		if err := s.storeSeal(ctx, v); err != nil {
			return nil, err
		}
	}
	return s.tombstone(ctx, d, v)
}

// tombstone deletes the files of a committed version of d, marking their
// objects for deletion, and records it.
func (s *Service) tombstone(ctx context.Context, d *Dataset, v *Version) ([]string, error) {
	ids, err := s.deleteVersion(ctx, d, v.Number)
	if err != nil {
		return nil, err
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := s.markDeleting(ctx, id); err != nil {
			return nil, err
		}
	}
	return ids, s.record(ctx, d, "dataset.version.delete", map[string]any{"version": v.Number, "sha256": v.SHA256, "files": len(ids)})
}

// markDeleting marks an object nothing refers to any more for deletion, in
// ctx's transaction, so that the sweeper removes it if the deletion that
// follows the commit never happens.
func (s *Service) markDeleting(ctx context.Context, id string) error {
	o, err := s.Objects.Store.GetObject(ctx, id)
	if err != nil {
		return err
	}
	o.State, o.UpdatedAt = objects.Deleting, s.Clock.Now()
	return s.Objects.Store.UpdateObject(ctx, o)
}

// DropObjects deletes objects marked for deletion; failures are left to the
// sweeper.
func (s *Service) DropObjects(ctx context.Context, ids []string) {
	for _, id := range ids {
		s.dropObject(ctx, id)
	}
}
