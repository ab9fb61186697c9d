package catalog

import (
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
)

// FileUpload is a multipart upload of one file of an open version: a large
// file sent in parts, so that a broken connection costs one part and not
// the whole file. Only the person who started it sees it or adds to it.
type FileUpload struct {
	ID        string               `json:"id"`
	Version   int                  `json:"version"`
	Path      string               `json:"path"`
	CreatedBy string               `json:"created_by"`
	CreatedAt time.Time            `json:"created_at"`
	ExpiresAt time.Time            `json:"expires_at"`
	Size      int64                `json:"size"`
	Parts     []objects.UploadPart `json:"parts"`
}

// uploadTarget names, in an upload's target, the file of a version it
// writes.
func uploadTarget(versionID, path string) string { return "dataset-file:" + versionID + ":" + path }

func uploadPrefix(versionID string) string { return "dataset-file:" + versionID + ":" }

func fileUpload(v *Version, u *objects.Upload) *FileUpload {
	return &FileUpload{ID: u.ID, Version: v.Number, Path: strings.TrimPrefix(u.Target, uploadPrefix(v.ID)),
		CreatedBy: u.CreatedBy, CreatedAt: u.CreatedAt, ExpiresAt: u.ExpiresAt, Size: u.Size(), Parts: u.Parts}
}

func caller(ctx context.Context) (*enclave.Actor, error) {
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return nil, enclave.Errorf(enclave.CodeUnauthenticated, "no caller")
	}
	return a, nil
}

// StartUpload begins a multipart upload of a file of an open version.
func (s *Service) StartUpload(ctx context.Context, zoneName, project, name string, number int, filePath string) (*FileUpload, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	fw, err := s.prepareFile(ctx, zoneName, project, name, number, filePath, "")
	if err != nil {
		return nil, err
	}
	var out *FileUpload
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		u, err := s.Objects.CreateUpload(ctx, fw.place, uploadTarget(fw.v.ID, filePath), a.PrincipalID)
		if err != nil {
			return keyErr(err)
		}
		// Its fields are all the platform's, so it is admitted once built:
		// a policy may refuse it, not change it.
		out = fileUpload(fw.v, u)
		if err := s.admit(ctx, KindUpload, enclave.OpCreate, fw.p, out, nil, onlyAmends(out)); err != nil {
			return err
		}
		return s.record(ctx, fw.d, "dataset.upload.start", map[string]any{"version": number, "path": filePath, "upload": u.ID})
	})
	return out, err
}

// upload finds an upload of the caller's for a version; anyone else's, or
// one of another version, is not found.
func (s *Service) upload(ctx context.Context, zoneName, project, name string, number int, id string) (*Dataset, *Version, *objects.Upload, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	d, v, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := s.Objects.GetUpload(ctx, id)
	if err == nil && (!strings.HasPrefix(u.Target, uploadPrefix(v.ID)) || u.CreatedBy != a.PrincipalID) {
		err = enclave.Errorf(enclave.CodeNotFound, "upload %s not found", id)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return d, v, u, nil
}

// GetUpload returns one of the caller's uploads with the parts received,
// for a client that resumes.
func (s *Service) GetUpload(ctx context.Context, zoneName, project, name string, number int, id string) (*FileUpload, error) {
	_, v, u, err := s.upload(ctx, zoneName, project, name, number, id)
	if err != nil {
		return nil, err
	}
	return fileUpload(v, u), nil
}

// ListUploads returns the caller's uploads into a version, oldest first.
func (s *Service) ListUploads(ctx context.Context, zoneName, project, name string, number int) ([]*FileUpload, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	_, v, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	us, err := s.Objects.Uploads.ListUploads(ctx, uploadPrefix(v.ID))
	if err != nil {
		return nil, err
	}
	out := []*FileUpload{}
	now := s.Clock.Now()
	for _, u := range us {
		if u.CreatedBy == a.PrincipalID && strings.HasPrefix(u.Target, uploadPrefix(v.ID)) && now.Before(u.ExpiresAt) {
			out = append(out, fileUpload(v, u))
		}
	}
	return out, nil
}

// PutUploadPart streams part n of an upload, encrypted as it arrives and
// counted against the project's quota. A part sent again replaces the
// earlier one. When wantSHA256 is set the part must hash to it.
func (s *Service) PutUploadPart(ctx context.Context, zoneName, project, name string, number int, id string, n int, r io.Reader, wantSHA256 string) (*objects.UploadPart, error) {
	d, v, u, err := s.upload(ctx, zoneName, project, name, number, id)
	if err != nil {
		return nil, err
	}
	fw, err := s.prepareFile(ctx, zoneName, project, name, number, strings.TrimPrefix(u.Target, uploadPrefix(v.ID)), wantSHA256)
	if err != nil {
		return nil, err
	}
	var reclaim int64 // a part sent again frees the one it replaces
	for _, p := range u.Parts {
		if p.Number == n {
			reclaim = p.Size
		}
	}
	limit, err := s.quotaLeft(ctx, fw, reclaim)
	if err != nil {
		return nil, err
	}
	part, err := s.Objects.PutPart(ctx, u, n, r, limit, func(ctx context.Context, p objects.UploadPart) error {
		if wantSHA256 != "" && !strings.EqualFold(wantSHA256, p.SHA256) {
			return enclave.FieldError("sha256", "the part's SHA-256 is %s, not the %s expected: nothing was stored", p.SHA256, wantSHA256)
		}
		// Recorded by now in this transaction, like a new upload: admission
		// may refuse the part, not change it.
		old, next := fileUpload(v, u), fileUpload(v, withPart(u, p))
		if err := s.admit(ctx, KindUpload, enclave.OpUpdate, fw.p, next, old, onlyAmends(next)); err != nil {
			return err
		}
		return s.record(ctx, d, "dataset.upload.part", map[string]any{"version": number, "path": fw.path, "upload": u.ID,
			"part": p.Number, "size": p.Size, "sha256": p.SHA256})
	})
	if err != nil {
		if enclave.ErrorCode(err) == enclave.CodeTooLarge && limit > 0 {
			return nil, enclave.Errorf(enclave.CodeTooLarge, "the part would exceed project %s's storage quota (%d bytes left)", fw.p.Name, limit)
		}
		return nil, err
	}
	return &part, nil
}

// withPart returns u with part p added, or replacing the part of its number.
func withPart(u *objects.Upload, p objects.UploadPart) *objects.Upload {
	next := *u
	next.Parts = slices.DeleteFunc(slices.Clone(u.Parts), func(q objects.UploadPart) bool { return q.Number == p.Number })
	next.Parts = append(next.Parts, p)
	slices.SortFunc(next.Parts, func(a, b objects.UploadPart) int { return a.Number - b.Number })
	return &next
}

// CompleteUpload joins an upload's parts, 1 to N without a gap, into the
// file it was started for, as PutFile would have stored it, and ends the
// upload. When wantSHA256 is set the whole file must hash to it.
func (s *Service) CompleteUpload(ctx context.Context, zoneName, project, name string, number int, id, wantSHA256 string) (*File, error) {
	_, v, u, err := s.upload(ctx, zoneName, project, name, number, id)
	if err != nil {
		return nil, err
	}
	fw, err := s.prepareFile(ctx, zoneName, project, name, number, strings.TrimPrefix(u.Target, uploadPrefix(v.ID)), wantSHA256)
	if err != nil {
		return nil, err
	}
	r, err := s.Objects.OpenUpload(ctx, u)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// The parts are freed as the file is recorded, so they do not count
	// twice against the quota.
	f, err := s.writeFile(ctx, fw, r, u.Size(), func(ctx context.Context) error { return s.Objects.FinishUpload(ctx, u) },
		map[string]any{"upload": u.ID, "parts": len(u.Parts)})
	if err != nil {
		return nil, err
	}
	s.Objects.RemoveParts(ctx, u)
	return f, nil
}

// AbortUpload ends an upload without a file and removes its parts.
func (s *Service) AbortUpload(ctx context.Context, zoneName, project, name string, number int, id string) error {
	d, v, u, err := s.upload(ctx, zoneName, project, name, number, id)
	if err != nil {
		return err
	}
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		fu := fileUpload(v, u)
		if err := s.admit(ctx, KindUpload, enclave.OpDelete, p, fu, fu, nil); err != nil {
			return err
		}
		if err := s.Objects.AbortUpload(ctx, u); err != nil {
			return err
		}
		return s.record(ctx, d, "dataset.upload.abort", map[string]any{"version": number, "upload": u.ID,
			"parts": len(u.Parts), "size": u.Size()})
	})
	if err != nil {
		return err
	}
	s.Objects.RemoveParts(ctx, u)
	return nil
}
