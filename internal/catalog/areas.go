package catalog

import (
	"context"
	"fmt"
	"strconv"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/zone"
)

// Data moves between areas only through platform operations, each a copy
// of a committed version into a dataset of the target area, recorded as a
// lineage edge with the operation's name. The airlock (inbox → raw,
// workspace → export) is the only way into and out of the project; these
// are the moves inside it.
var areaMoves = map[[2]Area]string{
	{Raw, Curated}:       "curate",
	{Raw, Workspace}:     "provision",
	{Curated, Workspace}: "provision",
}

// AreaCopy asks for a committed version to be copied into another area.
type AreaCopy struct {
	// Area is the target area: curated (from raw) or workspace (from raw
	// or curated).
	Area Area `json:"area"`
	// Dataset names the target: a dataset of the project in Area, which
	// gets the copy as its next version, or a new one, created with the
	// source's classification, tags, retention and column labels, with the
	// caller as its data owner.
	Dataset     string `json:"dataset"`
	Description string `json:"description,omitempty"`
}

// copiedFile is a file's bytes copied into a new object, not yet committed.
type copiedFile struct {
	f *File
	o *objects.Object
}

// copyFiles copies files' contents into new objects at place, decrypting
// and encrypting afresh under new data keys. Nothing refers to the copies
// until the caller commits them; on failure they are discarded.
func (s *Service) copyFiles(ctx context.Context, files []*File, place objects.Placement) ([]copiedFile, error) {
	var done []copiedFile
	fail := func(err error) ([]copiedFile, error) {
		s.discardCopies(ctx, done)
		return nil, err
	}
	for _, f := range files {
		so, err := s.Objects.Store.GetObject(ctx, f.ObjectID)
		if err != nil {
			return fail(err)
		}
		rd, err := s.Objects.Open(ctx, so)
		if err != nil {
			return fail(err)
		}
		rc, err := rd.ReadRange(ctx, 0, -1)
		if err != nil {
			return fail(err)
		}
		o, err := s.Objects.Write(ctx, place, rc, 0)
		rc.Close()
		if err != nil {
			return fail(err)
		}
		if o.SHA256 != f.SHA256 {
			s.Objects.Discard(context.WithoutCancel(ctx), o)
			return fail(fmt.Errorf("%w: copy of %s hashes to %s, not %s", objects.ErrCorrupt, f.Path, o.SHA256, f.SHA256))
		}
		nf := *f
		nf.ObjectID, nf.CreatedAt, nf.Tier = o.ID, s.Clock.Now(), objects.TierHot
		done = append(done, copiedFile{f: &nf, o: o})
	}
	return done, nil
}

func (s *Service) discardCopies(ctx context.Context, cs []copiedFile) {
	for _, c := range cs {
		s.Objects.Discard(context.WithoutCancel(ctx), c.o)
	}
}

// commitCopies records copies as the committed version number of d (of
// project p), made by operation from parent, in ctx's transaction.
func (s *Service) commitCopies(ctx context.Context, p *zone.Project, d *Dataset, number int, operation, by string, cs []copiedFile, parent *Version) (*Version, error) {
	open := Version{ID: newID(), DatasetID: d.ID, Number: number, State: Open, Operation: operation, CreatedBy: by, CreatedAt: s.Clock.Now()}
	var fs []*File
	for _, c := range cs {
		c.f.VersionID = open.ID
		fs = append(fs, c.f)
	}
	// The version is admitted as it will be stored: committed, with its
	// files; it is written open, filled, then committed.
	sealed := open
	v := &sealed
	s.seal(d, v, fs)
	if err := s.admit(ctx, KindVersion, enclave.OpCreate, p, v, nil, onlyAmends(v)); err != nil {
		return nil, err
	}
	if err := s.Store.CreateVersion(ctx, &open); err != nil {
		return nil, err
	}
	for _, c := range cs {
		if err := s.Objects.Commit(ctx, c.o); err != nil {
			return nil, err
		}
		if err := s.Store.PutFile(ctx, c.f); err != nil {
			return nil, err
		}
	}
	if err := s.storeSeal(ctx, v); err != nil {
		return nil, err
	}
	if err := s.Store.AddLineage(ctx, v.ID, parent.ID, operation); err != nil {
		return nil, err
	}
	d.LatestVersion = number
	return v, nil
}

// CopyToArea copies a committed version into another area of its project
// — curate (raw → curated) or provision (raw or curated → workspace) — as
// the next version of the target dataset, created when missing. The copy
// keeps the source's classification: a target classified lower is
// refused, since copying into it would declassify the data. The caller
// needs the route's right to catalog datasets and the right to read their
// contents.
func (s *Service) CopyToArea(ctx context.Context, zoneName, project, name string, number int, in AreaCopy) (*Version, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Area.Validate(); err != nil {
		return nil, err
	}
	if err := enclave.ValidateName("dataset", in.Dataset); err != nil {
		return nil, err
	}
	if err := validateText("description", in.Description, 2000); err != nil {
		return nil, err
	}
	src, sv, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	op, ok := areaMoves[[2]Area{src.Area, in.Area}]
	if !ok {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition,
			"data does not move from %s to %s: the platform curates raw data, provisions raw or curated data to the workspace, and the airlock alone moves data in and out", src.Area, in.Area)
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
	files, err := s.Store.ListFiles(ctx, sv.ID)
	if err != nil {
		return nil, err
	}
	p, place, err := s.projectPlacement(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	// A quick check before the bytes are copied; the transaction checks again.
	if _, err := s.copyTarget(ctx, src, in); err != nil {
		return nil, err
	}
	copies, err := s.copyFiles(ctx, files, place)
	if err != nil {
		return nil, err
	}
	var out *Version
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		d, err := s.copyTarget(ctx, src, in)
		if err != nil {
			return err
		}
		if d == nil {
			now := s.Clock.Now()
			d = &Dataset{ID: newID(), Zone: src.Zone, Project: src.Project, ZoneID: src.ZoneID, ProjectID: src.ProjectID,
				Name: in.Dataset, Area: in.Area, OwnerID: a.PrincipalID, OwnerName: a.Name, Description: in.Description,
				Tags: orEmpty(src.Tags), Classification: src.Classification, RetentionDays: src.RetentionDays,
				CreatedBy: a.PrincipalID, CreatedAt: now, UpdatedAt: now}
			if d.Description == "" {
				d.Description = op + "d from " + src.Name + " version " + strconv.Itoa(sv.Number)
			}
			if err := s.admit(ctx, KindDataset, enclave.OpCreate, p, d, nil, checkDataset(p, d, nil)); err != nil {
				return err
			}
			if err := s.Store.CreateDataset(ctx, d); err != nil {
				return err
			}
			labels, err := s.Store.ColumnLabels(ctx, src.ID)
			if err != nil {
				return err
			}
			for col, l := range labels {
				if err := s.Store.SetColumnLabel(ctx, d.ID, col, l); err != nil {
					return err
				}
			}
			if err := s.record(ctx, d, "dataset.create", map[string]any{"name": d.Name, "area": d.Area,
				"classification": d.Classification, "retention_days": d.RetentionDays, "from": src.Name}); err != nil {
				return err
			}
		}
		v, err := s.commitCopies(ctx, p, d, d.LatestVersion+1, op, a.PrincipalID, copies, sv)
		if err != nil {
			return err
		}
		out = v
		return s.record(ctx, d, "dataset.copy", map[string]any{"operation": op, "source": src.Name, "source_version": sv.Number,
			"from_area": src.Area, "to_area": d.Area, "version": v.Number, "files": v.FileCount, "sha256": v.SHA256})
	})
	if err != nil {
		s.discardCopies(ctx, copies)
		return nil, err
	}
	return out, nil
}

// copyTarget returns the dataset a copy goes into, or nil when it is to be
// created; it refuses a target in another area or classified lower than
// the source.
func (s *Service) copyTarget(ctx context.Context, src *Dataset, in AreaCopy) (*Dataset, error) {
	d, err := s.Store.GetDataset(ctx, src.Zone, src.Project, in.Dataset)
	if enclave.ErrorCode(err) == enclave.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case d.Area != in.Area:
		return nil, enclave.FieldError("dataset", "%s is in the %s area, not %s", d.Name, d.Area, in.Area)
	case !src.Classification.AtMost(d.Classification):
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "%s is %s and %s only %s: a copy cannot lower a classification (its data owner can, with a reason)",
			src.Name, src.Classification, d.Name, d.Classification)
	case d.GrantID != "":
		return nil, enclave.FieldError("dataset", "%s holds a copy made under a grant", d.Name)
	}
	return d, nil
}
