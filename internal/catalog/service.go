package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/google/uuid"
)

// Service catalogs datasets and moves their contents in and out. Callers
// were authorized for the route (datasets/write to catalog, contents/write
// to upload, contents/read at an environment to read); the service keeps
// the rules no role can bypass: classification against the project and the
// environment, immutability of committed versions, who may lower a
// classification, and the audit record of every change and every
// sensitive read.
type Service struct {
	// Admission runs every create, update and delete through the assigned
	// policies, in the transaction that stores it (policy.Service).
	Admission enclave.Admitter
	Store     Store
	Zones     *zone.Service
	Objects   *objects.Service
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Clock     enclave.Clock
	// Placement says where a project's objects go (bucket and key).
	Placement func(ctx context.Context, p *zone.Project) (objects.Placement, error)
	// Quota returns a project's storage quota in bytes (0: none).
	Quota func(p *zone.Project) int64
	// Requests keeps the requests that need a second person.
	Requests RequestStore
	// Authorize checks a permission of the caller at a scope (the access
	// service's), for rules a route's own permission cannot express.
	Authorize func(ctx context.Context, perm, scope string) error
	// PseudonymKey returns a project's pseudonymisation key: stable across
	// runs and never returned by any API (see Deidentify).
	PseudonymKey func(ctx context.Context, p *zone.Project) ([]byte, error)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func (s *Service) record(ctx context.Context, d *Dataset, action string, details map[string]any) error {
	return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: "dataset", TargetID: d.ID, Scope: d.Scope(),
		Classification: string(d.Classification), Details: details})
}

// CreateDataset catalogs a new, empty dataset in a project. The caller
// becomes its data owner. Its classification cannot exceed the project's.
func (s *Service) CreateDataset(ctx context.Context, zoneName, project string, in DatasetCreate) (*Dataset, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.Area.Airlock() {
		return nil, enclave.FieldError("area", "the %s area is the airlock's: its datasets come from airlock requests", in.Area)
	}
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	if p.State != zone.Active {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "project %s is %s", p.Name, p.State)
	}
	if !in.Classification.AtMost(p.MaxClassification) {
		return nil, enclave.FieldError("classification", "project %s holds data up to %s, not %s", p.Name, p.MaxClassification, in.Classification)
	}
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	d := &Dataset{ID: newID(), Zone: p.Zone, Project: p.Name, ZoneID: p.ZoneID, ProjectID: p.ID, Name: in.Name, Area: in.Area,
		OwnerID: a.PrincipalID, OwnerName: a.Name, Description: in.Description, Tags: orEmpty(in.Tags),
		Classification: in.Classification, RetentionDays: in.RetentionDays, CreatedBy: a.PrincipalID, CreatedAt: now, UpdatedAt: now}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.admit(ctx, KindDataset, enclave.OpCreate, p, d, nil, checkDataset(p, d, nil)); err != nil {
			return err
		}
		if err := s.Store.CreateDataset(ctx, d); err != nil {
			return err
		}
		return s.record(ctx, d, "dataset.create", map[string]any{"name": d.Name, "area": d.Area,
			"classification": d.Classification, "retention_days": d.RetentionDays})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func orEmpty(t enclave.Tags) enclave.Tags {
	if t == nil {
		return enclave.Tags{}
	}
	return t
}

// GetDataset returns a dataset's metadata.
func (s *Service) GetDataset(ctx context.Context, zoneName, project, name string) (*Dataset, error) {
	for field, v := range map[string]string{"zone": zoneName, "project": project, "dataset": name} {
		if err := enclave.ValidateName(field, v); err != nil {
			return nil, err
		}
	}
	return s.Store.GetDataset(ctx, zoneName, project, name)
}

// ListDatasets returns one page of a project's datasets matching f.
func (s *Service) ListDatasets(ctx context.Context, zoneName, project string, f Filter, page enclave.Page) ([]*Dataset, string, error) {
	if f.Classification != "" {
		if err := f.Classification.Validate("classification"); err != nil {
			return nil, "", err
		}
	}
	if f.Area != "" {
		if err := f.Area.Validate(); err != nil {
			return nil, "", err
		}
	}
	if err := validateText("name", f.NamePrefix, 200); err != nil {
		return nil, "", err
	}
	if err := validateText("tag", f.Tag, 400); err != nil {
		return nil, "", err
	}
	if err := validateText("column", f.Column, 256); err != nil {
		return nil, "", err
	}
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, "", err
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	ds, err := s.Store.ListDatasets(ctx, p.ID, f, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	ds, next := enclave.PageOf(ds, page.Size, func(d *Dataset) string { return d.Name })
	return ds, next, nil
}

// UpdateDataset changes a dataset's description, tags or retention.
func (s *Service) UpdateDataset(ctx context.Context, zoneName, project, name string, in DatasetUpdate) (*Dataset, error) {
	var out *Dataset
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, d, err := s.projectDataset(ctx, zoneName, project, name)
		if err != nil {
			return err
		}
		old := *d
		changes := map[string]any{}
		if in.Description != nil {
			if err := validateText("description", *in.Description, 2000); err != nil {
				return err
			}
			d.Description, changes["description"] = *in.Description, true
		}
		if in.Tags != nil {
			if err := in.Tags.Validate("tags"); err != nil {
				return err
			}
			d.Tags, changes["tags"] = orEmpty(*in.Tags), *in.Tags
		}
		if in.RetentionDays != nil {
			r := *in.RetentionDays
			if r < 0 || r > 36500 {
				return enclave.FieldError("retention_days", "retention_days must be between 0 and 36500")
			}
			if r < d.RetentionDays {
				return enclave.FieldError("retention_days", "retention can be lengthened, not shortened (now %d days)", d.RetentionDays)
			}
			changes["retention_days"] = map[string]int{"from": d.RetentionDays, "to": r}
			d.RetentionDays = r
		}
		d.UpdatedAt = s.Clock.Now()
		if err := s.admit(ctx, KindDataset, enclave.OpUpdate, p, d, &old, checkDataset(p, d, &old)); err != nil {
			return err
		}
		if err := s.Store.UpdateDataset(ctx, d); err != nil {
			return err
		}
		out = d
		return s.record(ctx, d, "dataset.update", changes)
	})
	return out, err
}

// Classify changes a dataset's classification. Anyone who may catalog the
// dataset may raise it (up to the project's maximum); only its data owner
// may lower it, with a reason, since lowering opens it to environments
// certified for less.
func (s *Service) Classify(ctx context.Context, zoneName, project, name string, to enclave.Classification, reason string) (*Dataset, error) {
	if err := to.Validate("classification"); err != nil {
		return nil, err
	}
	if err := validateText("reason", reason, 1000); err != nil {
		return nil, err
	}
	var out *Dataset
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, d, err := s.projectDataset(ctx, zoneName, project, name)
		if err != nil {
			return err
		}
		if !to.AtMost(p.MaxClassification) {
			return enclave.FieldError("classification", "project %s holds data up to %s, not %s", p.Name, p.MaxClassification, to)
		}
		from := d.Classification
		if to == from {
			out = d
			return nil
		}
		if !from.AtMost(to) { // lowering
			if a := enclave.ActorFrom(ctx); a == nil || a.PrincipalID != d.OwnerID {
				return enclave.Errorf(enclave.CodePermissionDenied, "only the data owner (%s) may lower the classification of %s", d.OwnerName, d.Name)
			}
			if reason == "" {
				return enclave.FieldError("reason", "lowering a classification needs a reason")
			}
		}
		old := *d
		d.Classification, d.UpdatedAt = to, s.Clock.Now()
		if err := s.admit(ctx, KindDataset, enclave.OpUpdate, p, d, &old, checkDataset(p, d, &old)); err != nil {
			return err
		}
		if err := s.Store.UpdateDataset(ctx, d); err != nil {
			return err
		}
		out = d
		return s.record(ctx, d, "dataset.classify", map[string]any{"from": from, "to": d.Classification, "reason": reason})
	})
	return out, err
}

// CreateVersion opens the dataset's next version for uploads.
func (s *Service) CreateVersion(ctx context.Context, zoneName, project, name string, in VersionCreate) (*Version, error) {
	op := in.Operation
	if op == "" {
		op = "upload"
	}
	if op != "upload" {
		return nil, enclave.FieldError("operation", "operation must be upload (other operations are the platform's own)")
	}
	var out *Version
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, d, err := s.projectDataset(ctx, zoneName, project, name)
		if err != nil {
			return err
		}
		if err := airlockOnly(ctx, d); err != nil {
			return err
		}
		a := enclave.ActorFrom(ctx)
		v := &Version{ID: newID(), DatasetID: d.ID, Number: d.LatestVersion + 1, State: Open, Operation: op,
			CreatedBy: a.PrincipalID, CreatedAt: s.Clock.Now()}
		if err := s.admit(ctx, KindVersion, enclave.OpCreate, p, v, nil, onlyAmends(v)); err != nil {
			return err
		}
		if err := s.Store.CreateVersion(ctx, v); err != nil {
			return err
		}
		out = v
		return s.record(ctx, d, "dataset.version.create", map[string]any{"version": v.Number, "operation": op})
	})
	return out, err
}

// projectDataset returns a dataset with its project.
func (s *Service) projectDataset(ctx context.Context, zoneName, project, name string) (*zone.Project, *Dataset, error) {
	d, err := s.GetDataset(ctx, zoneName, project, name)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, nil, err
	}
	return p, d, nil
}

func (s *Service) version(ctx context.Context, zoneName, project, name string, number int) (*Dataset, *Version, error) {
	d, err := s.GetDataset(ctx, zoneName, project, name)
	if err != nil {
		return nil, nil, err
	}
	if number < 1 {
		return nil, nil, enclave.FieldError("version", "version must be a positive number")
	}
	v, err := s.Store.GetVersion(ctx, d.ID, number)
	if err != nil {
		return nil, nil, err
	}
	return d, v, nil
}

// GetVersion returns a version with its files.
func (s *Service) GetVersion(ctx context.Context, zoneName, project, name string, number int) (*Version, error) {
	_, v, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	if v.Files, err = s.Store.ListFiles(ctx, v.ID); err != nil {
		return nil, err
	}
	return v, nil
}

// ListVersions returns one page of a dataset's versions, oldest first.
func (s *Service) ListVersions(ctx context.Context, zoneName, project, name string, page enclave.Page) ([]*Version, string, error) {
	d, err := s.GetDataset(ctx, zoneName, project, name)
	if err != nil {
		return nil, "", err
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	after := 0
	if cur.After != "" {
		if after, err = strconv.Atoi(cur.After); err != nil {
			return nil, "", enclave.FieldError("page_token", "page_token is not a token this server issued")
		}
	}
	vs, err := s.Store.ListVersions(ctx, d.ID, after, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	vs, next := enclave.PageOf(vs, page.Size, func(v *Version) string { return strconv.Itoa(v.Number) })
	return vs, next, nil
}

// PutFile streams r into a file of an open version: encrypted, hashed and
// counted against the project's quota on the way. A file of the same path
// is replaced. When wantSHA256 is set, the content must hash to it. Nothing
// is recorded unless every byte was stored.
func (s *Service) PutFile(ctx context.Context, zoneName, project, name string, number int, filePath string, r io.Reader, wantSHA256 string) (*File, error) {
	fw, err := s.prepareFile(ctx, zoneName, project, name, number, filePath, wantSHA256)
	if err != nil {
		return nil, err
	}
	return s.writeFile(ctx, fw, r, 0, nil, nil)
}

// projectPlacement returns a project and where its objects go.
func (s *Service) projectPlacement(ctx context.Context, zoneName, project string) (*zone.Project, objects.Placement, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, objects.Placement{}, err
	}
	place, err := s.Placement(ctx, p)
	if err != nil {
		return nil, objects.Placement{}, err
	}
	return p, place, nil
}

// committedFiles returns the files of a committed version; any other
// version is refused.
func (s *Service) committedFiles(ctx context.Context, d *Dataset, v *Version) ([]*File, error) {
	if v.State != Committed {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is %s", v.Number, d.Name, v.State)
	}
	return s.Store.ListFiles(ctx, v.ID)
}

// fileWrite is a file about to be written into an open version.
type fileWrite struct {
	d      *Dataset
	v      *Version
	p      *zone.Project
	place  objects.Placement
	path   string
	sha256 string
}

// prepareFile checks what a file write needs before any byte is read: a
// valid path and hash, an open version, and where the bytes go.
func (s *Service) prepareFile(ctx context.Context, zoneName, project, name string, number int, filePath, wantSHA256 string) (*fileWrite, error) {
	if err := ValidatePath(filePath); err != nil {
		return nil, err
	}
	if wantSHA256 != "" {
		if b, err := hex.DecodeString(wantSHA256); err != nil || len(b) != sha256.Size {
			return nil, enclave.FieldError("sha256", "the expected SHA-256 must be 64 hexadecimal digits")
		}
	}
	d, v, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	if err := airlockOnly(ctx, d); err != nil {
		return nil, err
	}
	if v.State != Open {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is committed: versions are immutable", v.Number, d.Name)
	}
	p, place, err := s.projectPlacement(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	return &fileWrite{d: d, v: v, p: p, place: place, path: filePath, sha256: wantSHA256}, nil
}

// quotaLeft returns how many bytes fw's project may still store (0: no
// limit), counting reclaimable bytes as free: those of upload parts that
// the write replaces.
func (s *Service) quotaLeft(ctx context.Context, fw *fileWrite, reclaimable int64) (int64, error) {
	if s.Quota == nil {
		return 0, nil
	}
	q := s.Quota(fw.p)
	if q <= 0 {
		return 0, nil
	}
	used, err := s.Objects.Store.OwnerUsage(ctx, fw.place.Owner)
	if err != nil {
		return 0, err
	}
	limit := q - used + reclaimable
	if limit <= 0 {
		return 0, enclave.Errorf(enclave.CodeTooLarge, "project %s has used its storage quota of %d bytes", fw.p.Name, q)
	}
	return limit, nil
}

// writeFile streams r into the file fw describes and records it. inTx runs
// in the transaction that records the file; details are added to its
// audit record.
func (s *Service) writeFile(ctx context.Context, fw *fileWrite, r io.Reader, reclaimable int64, inTx func(ctx context.Context) error, details map[string]any) (*File, error) {
	d, v, p, filePath := fw.d, fw.v, fw.p, fw.path
	limit, err := s.quotaLeft(ctx, fw, reclaimable)
	if err != nil {
		return nil, err
	}
	format := formatOf(filePath)
	var prof *csvProfiler
	if format == "csv" {
		prof = newCSVProfiler(ctx)
		r = io.TeeReader(r, prof)
	}
	o, err := s.Objects.Write(ctx, fw.place, r, limit)
	var schema []byte
	if prof != nil {
		schema = marshalSchema(prof.finish(err == nil))
	} else if err == nil && format == "parquet" {
		schema = marshalSchema(s.profileParquet(ctx, o))
	}
	if err != nil {
		if enclave.ErrorCode(err) == enclave.CodeTooLarge && limit > 0 {
			return nil, enclave.Errorf(enclave.CodeTooLarge, "the file would exceed project %s's storage quota (%d bytes left)", p.Name, limit)
		}
		return nil, err
	}
	if fw.sha256 != "" && !strings.EqualFold(fw.sha256, o.SHA256) {
		s.Objects.Discard(context.WithoutCancel(ctx), o)
		return nil, enclave.FieldError("sha256", "the content's SHA-256 is %s, not the %s expected: nothing was stored", o.SHA256, fw.sha256)
	}
	f := &File{VersionID: v.ID, Path: filePath, ObjectID: o.ID, Size: o.Size, SHA256: o.SHA256, Format: format,
		Schema: schema, CreatedAt: s.Clock.Now()}
	var replaced *File
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.GetVersion(ctx, d.ID, v.Number) // committed meanwhile?
		if err != nil {
			return err
		}
		if cur.State != Open {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s was committed during the upload", v.Number, d.Name)
		}
		if old, err := s.Store.GetFile(ctx, v.ID, filePath); err == nil {
			replaced = old
		} else if enclave.ErrorCode(err) != enclave.CodeNotFound {
			return err
		}
		op, old := enclave.OpCreate, any(nil)
		if replaced != nil {
			op, old = enclave.OpUpdate, replaced
		}
		if err := s.admit(ctx, KindFile, op, p, f, old, onlyAmends(f)); err != nil {
			return err
		}
		if err := s.Objects.Commit(ctx, o); err != nil {
			return err
		}
		if err := s.Store.PutFile(ctx, f); err != nil {
			return err
		}
		if inTx != nil {
			if err := inTx(ctx); err != nil {
				return err
			}
		}
		rec := map[string]any{"version": v.Number, "path": filePath, "size": f.Size, "sha256": f.SHA256, "replaced": replaced != nil}
		for k, val := range details {
			rec[k] = val
		}
		return s.record(ctx, d, "dataset.file.write", rec)
	})
	if err != nil {
		s.Objects.Discard(context.WithoutCancel(ctx), o)
		return nil, err
	}
	if replaced != nil {
		s.dropObject(ctx, replaced.ObjectID)
	}
	return f, nil
}

// dropObject deletes an object nothing refers to any more; a failure leaves
// it for the sweeper.
func (s *Service) dropObject(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	if o, err := s.Objects.Store.GetObject(ctx, id); err == nil {
		_ = s.Objects.Delete(ctx, o)
	}
}

// CommitVersion makes an open version immutable: its manifest is hashed,
// its retention starts, and from now on no file of it can change.
func (s *Service) CommitVersion(ctx context.Context, zoneName, project, name string, number int) (*Version, error) {
	var out *Version
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		d, v, err := s.version(ctx, zoneName, project, name, number)
		if err != nil {
			return err
		}
		if err := airlockOnly(ctx, d); err != nil {
			return err
		}
		if v.State != Open {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is already committed", v.Number, d.Name)
		}
		p, err := s.Zones.GetProject(ctx, zoneName, project)
		if err != nil {
			return err
		}
		files, err := s.Store.ListFiles(ctx, v.ID)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s has no files", v.Number, d.Name)
		}
		old := *v
		s.seal(d, v, files)
		if err := s.admit(ctx, KindVersion, enclave.OpUpdate, p, v, &old, onlyAmends(v)); err != nil {
			return err
		}
		if err := s.storeSeal(ctx, v); err != nil {
			return err
		}
		out = v
		return s.record(ctx, d, "dataset.version.commit", map[string]any{"version": v.Number, "sha256": v.SHA256,
			"files": v.FileCount, "size": v.Size})
	})
	return out, err
}

// seal makes v, a version of d, committed with files: the manifest hash,
// size and count are fixed and retention starts. storeSeal stores it.
func (s *Service) seal(d *Dataset, v *Version, files []*File) {
	now := s.Clock.Now()
	v.State, v.SHA256, v.CommittedAt = Committed, ManifestHash(files), &now
	v.FileCount, v.Size, v.Files = len(files), 0, files
	for _, f := range files {
		v.Size += f.Size
	}
	if d.RetentionDays > 0 {
		until := now.Add(time.Duration(d.RetentionDays) * 24 * time.Hour)
		v.RetainUntil = &until
	}
}

// storeSeal commits a sealed version in ctx's transaction: from then on
// its files cannot change, and its columns are indexed for search.
func (s *Service) storeSeal(ctx context.Context, v *Version) error {
	if err := s.Store.CommitVersion(ctx, v); err != nil {
		return err
	}
	return s.Store.SetVersionColumns(ctx, v.ID, columnsOf(v.Files))
}

// ManifestHash is the SHA-256 of a version's manifest: one line per file,
// "path NUL size NUL sha256 LF", in path order.
func ManifestHash(files []*File) string {
	sorted := append([]*File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%s\x00%d\x00%s\n", f.Path, f.Size, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Contents is an opened file of a committed version, for reading.
type Contents struct {
	Dataset *Dataset
	Version *Version
	File    *File
	reader  *objects.Reader
	svc     *Service
	env     string
	// envScope is the scope of the environment it is read in: the
	// dataset's project's, or another project's of the zone for a shared
	// dataset.
	envScope string
}

// ReadRange returns a reader of length bytes from offset (length < 0: to
// the end). A read of confidential or restricted contents is recorded
// (data.read, with the range) before any byte is returned. Ciphertext found
// corrupt is recorded as a security event naming the object, and the read
// fails.
func (c *Contents) ReadRange(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
	if !c.Dataset.Classification.AtMost(enclave.Internal) {
		d, v, f := c.Dataset, c.Version, c.File
		err := c.svc.Tx.InTx(ctx, func(ctx context.Context) error {
			return c.svc.Audit.Record(ctx, audit.Event{Action: "data.read", TargetType: "dataset", TargetID: d.ID,
				Scope: c.envScope, Classification: string(d.Classification),
				Details: map[string]any{"dataset": d.Name, "project": d.Project, "version": v.Number, "path": f.Path, "sha256": f.SHA256,
					"environment": c.env, "offset": offset, "length": length}})
		})
		if err != nil {
			return nil, err
		}
	}
	rc, err := c.reader.ReadRange(ctx, offset, length)
	if err != nil {
		return nil, c.corrupt(ctx, err)
	}
	return &contentsReader{rc: rc, c: c, ctx: ctx}, nil
}

func (c *Contents) corrupt(ctx context.Context, err error) error {
	if !errors.Is(err, objects.ErrCorrupt) {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	_ = c.svc.Tx.InTx(ctx, func(ctx context.Context) error {
		return c.svc.Audit.Record(ctx, audit.Event{Action: "data.corrupt", TargetType: "object", TargetID: c.File.ObjectID,
			Scope: c.Dataset.Scope(), Outcome: audit.Failed, Reason: err.Error(), Classification: string(c.Dataset.Classification),
			Details: map[string]any{"dataset": c.Dataset.Name, "version": c.Version.Number, "path": c.File.Path, "object": c.File.ObjectID}})
	})
	return enclave.Wrap(enclave.CodeInternal, err, "the stored data of %s version %d, %s, is corrupt; the incident was recorded",
		c.Dataset.Name, c.Version.Number, c.File.Path)
}

type contentsReader struct {
	rc  io.ReadCloser
	c   *Contents
	ctx context.Context
}

func (r *contentsReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		err = r.c.corrupt(r.ctx, err)
	}
	return n, err
}

func (r *contentsReader) Close() error { return r.rc.Close() }

// Size returns the file's size.
func (c *Contents) Size() int64 { return c.File.Size }

// OpenFile opens a file of a committed version for reading in an
// environment of the dataset's project. It is refused, whatever the
// caller's role, when the dataset's classification exceeds what the
// environment is certified for. Reading is recorded by ReadRange.
func (s *Service) OpenFile(ctx context.Context, zoneName, project, env, name string, number int, filePath string) (*Contents, error) {
	if err := ValidatePath(filePath); err != nil {
		return nil, err
	}
	d, err := s.GetDataset(ctx, zoneName, project, name)
	if err != nil {
		return nil, err
	}
	return s.openFile(ctx, d, zoneName, project, env, number, filePath)
}

// openFile opens a file of d in an environment of project (d's own, or
// another of the zone for a shared dataset).
func (s *Service) openFile(ctx context.Context, d *Dataset, zoneName, project, env string, number int, filePath string) (*Contents, error) {
	if err := ValidatePath(filePath); err != nil {
		return nil, err
	}
	if number < 1 {
		return nil, enclave.FieldError("version", "version must be a positive number")
	}
	if d.Area.Airlock() {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition,
			"%s is in the airlock's %s area: its files are read through its airlock request", d.Name, d.Area)
	}
	v, err := s.Store.GetVersion(ctx, d.ID, number)
	if err != nil {
		return nil, err
	}
	e, err := s.Zones.GetEnvironment(ctx, zoneName, project, env)
	if err != nil {
		return nil, err
	}
	if e.State != zone.Active {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "environment %s is %s", e.Name, e.State)
	}
	if d.GrantID != "" {
		if err := s.grantAllows(ctx, d, string(e.Name)); err != nil {
			return nil, err
		}
	} else if !d.Classification.AtMost(e.CertifiedClassification) {
		return nil, enclave.Errorf(enclave.CodePermissionDenied,
			"%s is %s data; environment %s is certified for data up to %s, so it cannot be read there whatever the role",
			d.Name, d.Classification, e.Name, e.CertifiedClassification)
	}
	if v.State != Committed {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is not committed yet", v.Number, d.Name)
	}
	f, err := s.Store.GetFile(ctx, v.ID, filePath)
	if err != nil {
		return nil, err
	}
	o, err := s.Objects.Store.GetObject(ctx, f.ObjectID)
	if err != nil {
		return nil, err
	}
	c := &Contents{Dataset: d, Version: v, File: f, svc: s, env: string(e.Name),
		envScope: "/zones/" + zoneName + "/projects/" + project + "/environments/" + string(e.Name)}
	r, err := s.Objects.Open(ctx, o)
	if err != nil {
		return nil, c.corrupt(ctx, err)
	}
	c.reader = r
	return c, nil
}

func formatOf(p string) string {
	for ext, f := range map[string]string{".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".json": "json",
		".jsonl": "jsonl", ".txt": "text"} {
		if len(p) > len(ext) && strings.EqualFold(p[len(p)-len(ext):], ext) {
			return f
		}
	}
	return ""
}

// KeyVersion is one version of a project's key-encryption key, as shown to
// administrators: never the key, only where it is kept.
type KeyVersion struct {
	Version   uint32    `json:"version"`
	Provider  string    `json:"provider"`
	KeyURI    string    `json:"key_uri"`
	Objects   int64     `json:"objects"`
	CreatedAt time.Time `json:"created_at"`
}

// ProjectKeys lists the versions of a project's key-encryption key and how
// many objects each protects.
func (s *Service) ProjectKeys(ctx context.Context, zoneName, project string) ([]KeyVersion, error) {
	_, place, err := s.projectPlacement(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	keks, err := s.Objects.KEKs.ListKEKs(ctx, place.Owner)
	if err != nil {
		return nil, keyErr(err)
	}
	out := []KeyVersion{}
	for _, k := range keks {
		n, err := s.Objects.Store.CountByKEKVersion(ctx, place.Owner, k.Version)
		if err != nil {
			return nil, err
		}
		out = append(out, KeyVersion{Version: k.Version, Provider: k.Provider, KeyURI: keys.RedactKeyURI(k.KeyURI), Objects: n, CreatedAt: k.CreatedAt})
	}
	return out, nil
}

// RotateProjectKey gives a project's data a new key-encryption key version
// and re-wraps every object's data key under it, without re-encrypting any
// data; old versions no object uses any more are deleted. It is recorded
// as a change to a protection.
func (s *Service) RotateProjectKey(ctx context.Context, zoneName, project string) (*objects.Rotation, error) {
	p, place, err := s.projectPlacement(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	cur, err := s.Objects.KEKs.CurrentKEK(ctx, place.Owner)
	if err != nil {
		return nil, keyErr(err)
	}
	ref := place.Key
	if ref.IsZero() {
		ref = cur.Ref()
	}
	scope := "/zones/" + p.Zone + "/projects/" + p.Name
	rot, err := s.Objects.RotateKey(ctx, place.Owner, place.Key, func(ctx context.Context, action string, version uint32) error {
		if action == "keys.rotate" {
			old := &ProjectKey{Name: p.Name, Zone: p.Zone, Version: cur.Version, Provider: cur.Provider, KeyURI: keys.RedactKeyURI(cur.KeyURI)}
			next := &ProjectKey{Name: p.Name, Zone: p.Zone, Version: version, Provider: ref.Provider, KeyURI: keys.RedactKeyURI(ref.KeyURI)}
			if err := s.admit(ctx, KindProjectKey, enclave.OpUpdate, p, next, old, onlyAmends(next)); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: "project", TargetID: p.ID, Scope: scope,
			Details: map[string]any{"kek_version": version}})
	})
	if err != nil {
		return nil, err
	}
	return rot, nil
}

func keyErr(err error) error {
	switch {
	case errors.Is(err, objects.ErrKeyDestroyed):
		return enclave.Wrap(enclave.CodeFailedPrecondition, err, "this project's keys were destroyed")
	case errors.Is(err, keys.ErrKeyNotFound):
		return enclave.Wrap(enclave.CodeNotFound, err, "this project has no key yet: it has stored no data")
	}
	return err
}

// grantAllows decides a read of a copy made under a grant: only in the
// grant's environment, only while it lasts (or where the data could be read
// anyway).
func (s *Service) grantAllows(ctx context.Context, d *Dataset, env string) error {
	e, err := s.Zones.GetEnvironment(ctx, d.Zone, d.Project, env)
	if err != nil {
		return err
	}
	if d.Classification.AtMost(e.CertifiedClassification) {
		return nil
	}
	r, err := s.Requests.GetRequest(ctx, d.ProjectID, d.GrantID)
	if err != nil {
		return err
	}
	switch {
	case r.State != Approved || r.ExpiresAt == nil:
		return enclave.Errorf(enclave.CodePermissionDenied, "%s is a copy under grant %s, which is %s", d.Name, r.ID, r.State)
	case r.Environment != env:
		return enclave.Errorf(enclave.CodePermissionDenied, "%s may be read only in %s, under grant %s", d.Name, r.Environment, r.ID)
	case !s.Clock.Now().Before(*r.ExpiresAt):
		return enclave.Errorf(enclave.CodePermissionDenied, "the grant for %s expired on %s", d.Name, r.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

// columnsOf collects the columns of a version's tables, by name.
func columnsOf(files []*File) map[string]string {
	cols := map[string]string{}
	for _, f := range files {
		if len(f.Schema) == 0 {
			continue
		}
		var sc struct {
			Columns []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"columns"`
		}
		if json.Unmarshal(f.Schema, &sc) != nil {
			continue
		}
		for _, c := range sc.Columns {
			if _, ok := cols[c.Name]; !ok {
				cols[c.Name] = c.Type
			}
		}
	}
	return cols
}

// Lineage returns where a version came from and what was made from it.
func (s *Service) Lineage(ctx context.Context, zoneName, project, name string, number int) (parents, children []LineageEdge, err error) {
	_, v, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, nil, err
	}
	return s.Store.Lineage(ctx, v.ID)
}

// LabelColumn labels (or, with "", unlabels) a column of a dataset.
func (s *Service) LabelColumn(ctx context.Context, zoneName, project, name, column string, label ColumnLabel) (map[string]ColumnLabel, error) {
	if err := label.Validate(); err != nil {
		return nil, err
	}
	if err := validColumn(column); err != nil {
		return nil, err
	}
	var out map[string]ColumnLabel
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, d, err := s.projectDataset(ctx, zoneName, project, name)
		if err != nil {
			return err
		}
		before, err := s.Store.ColumnLabels(ctx, d.ID)
		if err != nil {
			return err
		}
		old := *d
		next := &labeledDataset{Dataset: d, Columns: maps.Clone(before)}
		if next.Columns == nil {
			next.Columns = map[string]ColumnLabel{}
		}
		if label == "" {
			delete(next.Columns, column)
		} else {
			next.Columns[column] = label
		}
		d.UpdatedAt = s.Clock.Now()
		if err := s.admit(ctx, KindDataset, enclave.OpUpdate, p, next, &labeledDataset{Dataset: &old, Columns: before},
			next.check(p, &old)); err != nil {
			return err
		}
		if err := s.Store.UpdateDataset(ctx, d); err != nil {
			return err
		}
		for col, l := range next.Columns {
			if before[col] != l {
				if err := s.Store.SetColumnLabel(ctx, d.ID, col, l); err != nil {
					return err
				}
			}
		}
		for col := range before {
			if _, ok := next.Columns[col]; !ok {
				if err := s.Store.SetColumnLabel(ctx, d.ID, col, ""); err != nil {
					return err
				}
			}
		}
		if out, err = s.Store.ColumnLabels(ctx, d.ID); err != nil {
			return err
		}
		return s.record(ctx, d, "dataset.label", map[string]any{"column": column, "label": label})
	})
	return out, err
}

func validColumn(column string) error {
	if column == "" || len(column) > 256 {
		return enclave.FieldError("column", "column must be 1 to 256 bytes")
	}
	return validateText("column", column, 256)
}

// ColumnLabels returns a dataset's column labels.
func (s *Service) ColumnLabels(ctx context.Context, zoneName, project, name string) (map[string]ColumnLabel, error) {
	d, err := s.GetDataset(ctx, zoneName, project, name)
	if err != nil {
		return nil, err
	}
	return s.Store.ColumnLabels(ctx, d.ID)
}

// SetVersionTier moves a committed version's files to a storage tier (cold
// for old versions, where the backend has one; the local directory has
// none and says so).
func (s *Service) SetVersionTier(ctx context.Context, zoneName, project, name string, number int, tier string) (*Version, error) {
	if tier != objects.TierHot && tier != objects.TierCold {
		return nil, enclave.FieldError("tier", "tier must be hot or cold")
	}
	d, v, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	files, err := s.committedFiles(ctx, d, v)
	if err != nil {
		return nil, err
	}
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	old, next := *v, *v
	old.Files, next.Files = files, make([]*File, len(files))
	for i, f := range files {
		nf := *f
		nf.Tier = tier
		next.Files[i] = &nf
	}
	// The objects' rows change with the audit record, in one transaction;
	// a blob whose tier moved before a failure only costs a repeat call.
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.admit(ctx, KindVersion, enclave.OpUpdate, p, &next, &old, onlyAmends(&next)); err != nil {
			return err
		}
		for _, f := range next.Files {
			o, err := s.Objects.Store.GetObject(ctx, f.ObjectID)
			if err != nil {
				return err
			}
			if o.Tier != tier {
				if err := s.Objects.SetTier(ctx, o, tier); err != nil {
					return err
				}
			}
		}
		return s.record(ctx, d, "dataset.version.tier", map[string]any{"version": v.Number, "tier": tier, "files": len(files)})
	})
	if err != nil {
		return nil, err
	}
	return &next, nil
}
