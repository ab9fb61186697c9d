package tracking

import (
	"context"
	"io"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/zone"
)

// MaxArtifactPath bounds an artifact's path below its run or model.
const MaxArtifactPath = 1024

// ArtifactRoot is the run or logged model an artifact path belongs to.
type ArtifactRoot struct {
	Project    *zone.Project
	Experiment string
	// Run or Model is set.
	Run   *RunInfo
	Model *LoggedModel
	// Prefix is the root's path in the artifact proxy:
	// "<exp>/<run>/artifacts" or "<exp>/models/<model>/artifacts".
	Prefix string
}

// ID is the run's or model's ID.
func (r *ArtifactRoot) ID() string {
	if r.Run != nil {
		return r.Run.ID
	}
	return r.Model.ID
}

func (r *ArtifactRoot) kind() string {
	if r.Run != nil {
		return KindRun
	}
	return KindLoggedModel
}

// CleanArtifactPath checks a relative artifact path: no absolute paths, no
// "." or ".." segments, no empty segments, backslashes, control characters
// or invalid UTF-8. "" is the root.
func CleanArtifactPath(field, p string) (string, error) {
	if p == "" {
		return "", nil
	}
	bad := func(why string) error {
		return enclave.FieldError(field, "Invalid artifact path %q: %s", enclave.Truncate(p, 200), why)
	}
	switch {
	case len(p) > MaxArtifactPath:
		return "", bad("too long")
	case !utf8.ValidString(p):
		return "", bad("not UTF-8")
	case strings.HasPrefix(p, "/"):
		return "", bad("absolute paths are not allowed")
	case strings.ContainsRune(p, '\\'):
		return "", bad("backslashes are not allowed")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "", bad("control characters are not allowed")
		}
	}
	p = strings.TrimSuffix(p, "/")
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", bad("it must not contain empty, '.' or '..' segments")
		}
	}
	return p, nil
}

// ResolveArtifact finds the run or model a proxy path names and the path
// of the artifact below it. The proxy path is "<exp>/<run>/artifacts[/p]"
// or "<exp>/models/<model>/artifacts[/p]".
func (s *Service) ResolveArtifact(ctx context.Context, zoneName, project, full string) (*ArtifactRoot, string, error) {
	full = strings.Trim(full, "/")
	full, err := CleanArtifactPath("path", full)
	if err != nil {
		return nil, "", err
	}
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return nil, "", err
	}
	segs := strings.SplitN(full, "/", 5)
	notFound := enclave.Errorf(enclave.CodeNotFound, "No artifact root at %q: paths are <experiment>/<run>/artifacts/… or <experiment>/models/<model>/artifacts/…", enclave.Truncate(full, 200))
	if len(segs) < 3 {
		return nil, "", notFound
	}
	e, err := s.experiment(ctx, p, segs[0], false)
	if err != nil {
		return nil, "", notFound
	}
	root := &ArtifactRoot{Project: p, Experiment: e.ID}
	var rest string
	switch {
	case segs[1] == "models" && len(segs) >= 4 && segs[3] == "artifacts":
		m, err := s.loggedModel(ctx, p, segs[2])
		if err != nil || m.ExperimentID != e.ID {
			return nil, "", notFound
		}
		root.Model, root.Prefix = m, strings.Join(segs[:4], "/")
		if len(segs) == 5 {
			rest = segs[4]
		}
	case segs[2] == "artifacts":
		r, err := s.run(ctx, p, segs[1])
		if err != nil || r.ExperimentID != e.ID {
			return nil, "", notFound
		}
		root.Run, root.Prefix = r, strings.Join(segs[:3], "/")
		rest = strings.Join(segs[3:], "/")
	default:
		return nil, "", notFound
	}
	return root, rest, nil
}

func (s *Service) quotaLeft(ctx context.Context, p *zone.Project, place objects.Placement, reclaim int64) (int64, error) {
	if s.Quota == nil {
		return s.MaxArtifactBytes, nil
	}
	q := s.Quota(p)
	if q <= 0 {
		return s.MaxArtifactBytes, nil
	}
	used, err := s.Objects.Store.OwnerUsage(ctx, place.Owner)
	if err != nil {
		return 0, err
	}
	limit := q - used + reclaim
	if limit <= 0 {
		return 0, enclave.Errorf(enclave.CodeTooLarge, "project %s has used its storage quota of %d bytes", p.Name, q)
	}
	if s.MaxArtifactBytes > 0 && s.MaxArtifactBytes < limit {
		limit = s.MaxArtifactBytes
	}
	return limit, nil
}

func (s *Service) writable(root *ArtifactRoot) error {
	if root.Run != nil && root.Run.LifecycleStage != Active || root.Model != nil && root.Model.LifecycleStage != Active {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "%s %s is deleted: its artifacts cannot change", root.kind(), root.ID())
	}
	return nil
}

// PutArtifact stores a file of a run or model as an encrypted object under
// the project's key, replacing the file at that path if there is one.
func (s *Service) PutArtifact(ctx context.Context, root *ArtifactRoot, rel string, body io.Reader) (*Artifact, error) {
	if rel == "" {
		return nil, enclave.FieldError("path", "an artifact needs a file path below its run or model")
	}
	if err := s.writable(root); err != nil {
		return nil, err
	}
	place, err := s.Placement(ctx, root.Project)
	if err != nil {
		return nil, err
	}
	var reclaim int64
	if old, err := s.Store.GetArtifact(ctx, root.ID(), rel); err == nil {
		reclaim = old.Size
	}
	limit, err := s.quotaLeft(ctx, root.Project, place, reclaim)
	if err != nil {
		return nil, err
	}
	o, err := s.Objects.Write(ctx, place, body, limit)
	if err != nil {
		return nil, err
	}
	return s.commitArtifact(ctx, root, rel, o, nil, map[string]any{})
}

// commitArtifact records a written object as the artifact at rel, in one
// transaction with its audit record (and inTx), then deletes the object it
// replaced.
func (s *Service) commitArtifact(ctx context.Context, root *ArtifactRoot, rel string, o *objects.Object, inTx func(ctx context.Context) error, details map[string]any) (*Artifact, error) {
	a := &Artifact{Root: root.ID(), Path: rel, Size: o.Size, ObjectID: o.ID, SHA256: o.SHA256}
	var replaced string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Objects.Commit(ctx, o); err != nil {
			return err
		}
		var err error
		if replaced, err = s.Store.PutArtifact(ctx, a); err != nil {
			return err
		}
		if replaced != "" {
			if err := s.markDeleting(ctx, replaced); err != nil {
				return err
			}
		}
		if inTx != nil {
			if err := inTx(ctx); err != nil {
				return err
			}
		}
		details["path"], details["size"], details["sha256"], details["replaced"] = rel, o.Size, o.SHA256, replaced != ""
		return s.record(ctx, root.Project, "tracking.artifact.write", root.kind(), root.ID(), details)
	})
	if err != nil {
		s.Objects.Discard(context.WithoutCancel(ctx), o)
		return nil, err
	}
	if replaced != "" {
		s.dropObject(context.WithoutCancel(ctx), replaced)
	}
	return a, nil
}

func (s *Service) markDeleting(ctx context.Context, id string) error {
	o, err := s.Objects.Store.GetObject(ctx, id)
	if err != nil {
		return err
	}
	o.State, o.UpdatedAt = objects.Deleting, s.Clock.Now()
	return s.Objects.Store.UpdateObject(ctx, o)
}

// dropObject deletes an object marked deleting; a failure is left to the
// sweeper.
func (s *Service) dropObject(ctx context.Context, id string) {
	o, err := s.Objects.Store.GetObject(ctx, id)
	if err != nil {
		return
	}
	if err := s.Objects.Delete(ctx, o); err != nil && s.Logger != nil {
		s.Logger.WarnContext(ctx, "artifact object not deleted; the sweeper will retry", "object", id, "error", err.Error())
	}
}

// OpenArtifact opens a file of a run or model for reading; the read is
// recorded.
func (s *Service) OpenArtifact(ctx context.Context, root *ArtifactRoot, rel string) (*Artifact, io.ReadCloser, error) {
	a, err := s.Store.GetArtifact(ctx, root.ID(), rel)
	if err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return nil, nil, enclave.Errorf(enclave.CodeNotFound, "Artifact %s not found", enclave.Truncate(path.Join(root.Prefix, rel), 300))
		}
		return nil, nil, err
	}
	o, err := s.Objects.Store.GetObject(ctx, a.ObjectID)
	if err != nil {
		return nil, nil, err
	}
	rd, err := s.Objects.Open(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	rc, err := rd.ReadRange(ctx, 0, -1)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.record(ctx, root.Project, "tracking.artifact.read", root.kind(), root.ID(), map[string]any{"path": rel, "size": a.Size})
	}); err != nil {
		rc.Close()
		return nil, nil, err
	}
	return a, rc, nil
}

// ListArtifacts lists the files and directories directly under dir of a
// run or model, with paths relative to the root.
func (s *Service) ListArtifacts(ctx context.Context, root *ArtifactRoot, dir string) ([]*Artifact, error) {
	all, err := s.Store.ListArtifacts(ctx, root.ID(), dir)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	seen := map[string]bool{}
	out := []*Artifact{}
	for _, a := range all {
		rest, ok := strings.CutPrefix(a.Path, prefix)
		if !ok || rest == "" {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			d := prefix + rest[:i]
			if !seen[d] {
				seen[d] = true
				out = append(out, &Artifact{Root: a.Root, Path: d, IsDir: true})
			}
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// DeleteArtifact deletes a file, or every file under a directory, of a run
// or model.
func (s *Service) DeleteArtifact(ctx context.Context, root *ArtifactRoot, rel string) error {
	if err := s.writable(root); err != nil {
		return err
	}
	var gone []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var victims []*Artifact
		if a, err := s.Store.GetArtifact(ctx, root.ID(), rel); err == nil {
			victims = append(victims, a)
		}
		under, err := s.Store.ListArtifacts(ctx, root.ID(), rel)
		if err != nil {
			return err
		}
		victims = append(victims, under...)
		if len(victims) == 0 {
			return enclave.Errorf(enclave.CodeNotFound, "Artifact %s not found", enclave.Truncate(path.Join(root.Prefix, rel), 300))
		}
		for _, a := range victims {
			if err := s.Store.DeleteArtifact(ctx, root.ID(), a.Path); err != nil {
				return err
			}
			if err := s.markDeleting(ctx, a.ObjectID); err != nil {
				return err
			}
			gone = append(gone, a.ObjectID)
		}
		return s.record(ctx, root.Project, "tracking.artifact.delete", root.kind(), root.ID(), map[string]any{"path": rel, "files": len(victims)})
	})
	if err != nil {
		return err
	}
	for _, id := range gone {
		s.dropObject(context.WithoutCancel(ctx), id)
	}
	return nil
}

// --- multipart uploads ----------------------------------------------------

// uploadTarget names, in an upload's target, the artifact it writes.
func uploadTarget(root, rel string) string { return "artifact:" + root + ":" + rel }

func parseUploadTarget(t string) (root, rel string, ok bool) {
	rest, ok := strings.CutPrefix(t, "artifact:")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// MaxUploadParts bounds the parts an upload is created with.
const MaxUploadParts = objects.MaxParts

// CreateMultipart starts a multipart upload of an artifact; only its
// creator sends parts to it, completes or aborts it.
func (s *Service) CreateMultipart(ctx context.Context, root *ArtifactRoot, rel string, parts int) (*objects.Upload, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if rel == "" {
		return nil, enclave.FieldError("path", "an artifact needs a file path below its run or model")
	}
	if parts < 1 || parts > MaxUploadParts {
		return nil, enclave.FieldError("num_parts", "num_parts must be between 1 and %d", MaxUploadParts)
	}
	if err := s.writable(root); err != nil {
		return nil, err
	}
	place, err := s.Placement(ctx, root.Project)
	if err != nil {
		return nil, err
	}
	var out *objects.Upload
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		u, err := s.Objects.CreateUpload(ctx, place, uploadTarget(root.ID(), rel), a.PrincipalID)
		if err != nil {
			return err
		}
		out = u
		return s.record(ctx, root.Project, "tracking.artifact.upload.start", root.kind(), root.ID(), map[string]any{"path": rel, "upload": u.ID, "parts": parts})
	})
	return out, err
}

// upload finds an upload of the caller's in the project; with root set,
// it must write rel of root.
func (s *Service) upload(ctx context.Context, p *zone.Project, root *ArtifactRoot, rel, id string) (*objects.Upload, string, string, error) {
	notFound := enclave.Errorf(enclave.CodeNotFound, "upload %s not found", enclave.Truncate(id, 64))
	u, err := s.Objects.GetUpload(ctx, id)
	if err != nil {
		return nil, "", "", notFound
	}
	r, path, ok := parseUploadTarget(u.Target)
	if !ok || root != nil && (r != root.ID() || path != rel) {
		return nil, "", "", notFound
	}
	if a := enclave.ActorFrom(ctx); a == nil || a.PrincipalID != u.CreatedBy {
		return nil, "", "", notFound
	}
	place, err := s.Placement(ctx, p)
	if err != nil {
		return nil, "", "", err
	}
	if u.Owner != place.Owner {
		return nil, "", "", notFound
	}
	return u, r, path, nil
}

// PutPart stores part n of one of the caller's uploads in the project; it
// returns the part's ETag (its SHA-256).
func (s *Service) PutPart(ctx context.Context, zoneName, project, id string, n int, body io.Reader) (string, error) {
	p, err := s.Project(ctx, zoneName, project)
	if err != nil {
		return "", err
	}
	u, rootID, rel, err := s.upload(ctx, p, nil, "", id)
	if err != nil {
		return "", err
	}
	place, err := s.Placement(ctx, p)
	if err != nil {
		return "", err
	}
	var reclaim int64
	for _, part := range u.Parts {
		if part.Number == n {
			reclaim = part.Size
		}
	}
	limit, err := s.quotaLeft(ctx, p, place, reclaim)
	if err != nil {
		return "", err
	}
	part, err := s.Objects.PutPart(ctx, u, n, body, limit, func(ctx context.Context, part objects.UploadPart) error {
		return s.record(ctx, p, "tracking.artifact.upload.part", "artifact-upload", u.ID,
			map[string]any{"root": rootID, "path": rel, "part": part.Number, "size": part.Size, "sha256": part.SHA256})
	})
	if err != nil {
		return "", err
	}
	return part.SHA256, nil
}

// CompletePart is a part the client says it sent, with the ETag it got.
type CompletePart struct {
	Number int
	ETag   string
}

// CompleteMultipart joins an upload's parts into the artifact.
func (s *Service) CompleteMultipart(ctx context.Context, root *ArtifactRoot, rel, id string, parts []CompletePart) (*Artifact, error) {
	if err := s.writable(root); err != nil {
		return nil, err
	}
	u, _, _, err := s.upload(ctx, root.Project, root, rel, id)
	if err != nil {
		return nil, err
	}
	if err := objects.CheckComplete(u); err != nil {
		return nil, err
	}
	if len(parts) > 0 {
		if len(parts) != len(u.Parts) {
			return nil, enclave.FieldError("parts", "the upload holds %d parts, the request lists %d", len(u.Parts), len(parts))
		}
		for i, p := range parts {
			got := u.Parts[i]
			if p.Number != got.Number || p.ETag != "" && !strings.EqualFold(strings.Trim(p.ETag, `"`), got.SHA256) {
				return nil, enclave.FieldError("parts", "part %d does not match what was received", p.Number)
			}
		}
	}
	place, err := s.Placement(ctx, root.Project)
	if err != nil {
		return nil, err
	}
	var reclaim int64
	if old, err := s.Store.GetArtifact(ctx, root.ID(), rel); err == nil {
		reclaim = old.Size
	}
	limit, err := s.quotaLeft(ctx, root.Project, place, reclaim+u.Size())
	if err != nil {
		return nil, err
	}
	r, err := s.Objects.OpenUpload(ctx, u)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	o, err := s.Objects.Write(ctx, place, r, limit)
	if err != nil {
		return nil, err
	}
	a, err := s.commitArtifact(ctx, root, rel, o, func(ctx context.Context) error { return s.Objects.FinishUpload(ctx, u) },
		map[string]any{"upload": u.ID, "parts": len(u.Parts)})
	if err != nil {
		return nil, err
	}
	s.Objects.RemoveParts(context.WithoutCancel(ctx), u)
	return a, nil
}

// AbortMultipart ends an upload without an artifact.
func (s *Service) AbortMultipart(ctx context.Context, root *ArtifactRoot, rel, id string) error {
	u, _, _, err := s.upload(ctx, root.Project, root, rel, id)
	if err != nil {
		return err
	}
	if err := s.Objects.AbortUpload(ctx, u); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.record(ctx, root.Project, "tracking.artifact.upload.abort", root.kind(), root.ID(), map[string]any{"path": rel, "upload": u.ID})
	})
}
