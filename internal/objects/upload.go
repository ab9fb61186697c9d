package objects

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Multipart uploads let a client send a large file in parts and, when its
// connection breaks, resume with the parts it has not sent. Each part is
// stored on arrival as an encrypted object of its own (state stored,
// referenced by the upload), so nothing of it is ever in the clear or in
// memory. Completing joins the parts, decrypted in order, into one new
// object through Write, which hashes, counts and encrypts it afresh: the
// object is then like any other, with one data key, one SHA-256 of the
// whole content and ranges readable by segment. The cost is one more pass
// over the data on the server; the gain is that parts can arrive in any
// order, again, or concurrently, and that no reader ever needs to know an
// object was uploaded in parts.

// MaxParts is the highest part number of an upload.
const MaxParts = 10000

// DefaultUploadTTL is how long an upload may stay incomplete before it is
// swept with its parts.
const DefaultUploadTTL = 24 * time.Hour

// Upload is a multipart upload in progress.
type Upload struct {
	ID     string `json:"id"`
	Owner  string `json:"-"`
	Bucket string `json:"-"`
	// Target says, for the caller that started the upload, what it is for.
	Target    string       `json:"-"`
	CreatedBy string       `json:"created_by"`
	CreatedAt time.Time    `json:"created_at"`
	ExpiresAt time.Time    `json:"expires_at"`
	Parts     []UploadPart `json:"parts"`
}

// UploadPart is one part received.
type UploadPart struct {
	Number    int       `json:"number"`
	ObjectID  string    `json:"-"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

// Size returns the bytes received so far.
func (u *Upload) Size() int64 {
	var n int64
	for _, p := range u.Parts {
		n += p.Size
	}
	return n
}

// UploadStore keeps uploads and their parts. Methods run in the caller's
// transaction when the context carries one.
type UploadStore interface {
	CreateUpload(ctx context.Context, u *Upload) error
	// GetUpload returns an upload with its parts in number order; lock
	// holds its row until the transaction ends.
	GetUpload(ctx context.Context, id string, lock bool) (*Upload, error)
	// ListUploads returns the uploads whose target starts with prefix,
	// oldest first.
	ListUploads(ctx context.Context, prefix string) ([]*Upload, error)
	// PutUploadPart records a part, replacing one of the same number, and
	// returns the object ID of the part replaced ("" when none was).
	PutUploadPart(ctx context.Context, uploadID string, p UploadPart) (string, error)
	// DeleteUpload deletes an upload and its part rows; not_found when it
	// is already gone.
	DeleteUpload(ctx context.Context, id string) error
	// ExpiredUploads returns up to limit uploads that expired before t.
	ExpiredUploads(ctx context.Context, t time.Time, limit int) ([]*Upload, error)
}

// validUploadID checks an upload ID that arrives from a client.
func validUploadID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// CreateUpload starts a multipart upload of an object of p.Owner in
// p.Bucket, in ctx's transaction when there is one, so that the caller's
// audit record commits with it.
func (s *Service) CreateUpload(ctx context.Context, p Placement, target, createdBy string) (*Upload, error) {
	if _, err := s.place(ctx, p, "upload"); err != nil {
		return nil, err
	}
	ttl := s.UploadTTL
	if ttl <= 0 {
		ttl = DefaultUploadTTL
	}
	now := s.Clock.Now()
	u := &Upload{ID: uuid.Must(uuid.NewV7()).String(), Owner: p.Owner, Bucket: p.Bucket, Target: target,
		CreatedBy: createdBy, CreatedAt: now, ExpiresAt: now.Add(ttl), Parts: []UploadPart{}}
	if err := s.Uploads.CreateUpload(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// GetUpload returns an upload with the parts received; not_found for an
// ID that is malformed, unknown, completed, aborted or expired.
func (s *Service) GetUpload(ctx context.Context, id string) (*Upload, error) {
	if !validUploadID(id) {
		return nil, enclave.Errorf(enclave.CodeNotFound, "upload %q not found", id)
	}
	u, err := s.Uploads.GetUpload(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if !s.Clock.Now().Before(u.ExpiresAt) {
		return nil, enclave.Errorf(enclave.CodeNotFound, "upload %s has expired", id)
	}
	return u, nil
}

// PutPart streams r into part n of u, encrypted as an object of its own,
// reading at most limit bytes (<= 0: no limit). A part sent again replaces
// the earlier one. When record is set it runs in the transaction that
// records the part, for the caller's audit record.
func (s *Service) PutPart(ctx context.Context, u *Upload, n int, r io.Reader, limit int64, record func(context.Context, UploadPart) error) (UploadPart, error) {
	if n < 1 || n > MaxParts {
		return UploadPart{}, enclave.FieldError("part", "part numbers run from 1 to %d", MaxParts)
	}
	o, err := s.Write(ctx, Placement{Owner: u.Owner, Bucket: u.Bucket}, r, limit)
	if err != nil {
		return UploadPart{}, err
	}
	part := UploadPart{Number: n, ObjectID: o.ID, Size: o.Size, SHA256: o.SHA256, CreatedAt: s.Clock.Now()}
	var replaced string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Uploads.GetUpload(ctx, u.ID, true) // completed, aborted or swept meanwhile?
		if err != nil {
			return err
		}
		if !s.Clock.Now().Before(cur.ExpiresAt) {
			return enclave.Errorf(enclave.CodeNotFound, "upload %s has expired", u.ID)
		}
		if err := s.Commit(ctx, o); err != nil {
			return err
		}
		if replaced, err = s.Uploads.PutUploadPart(ctx, u.ID, part); err != nil {
			return err
		}
		if replaced != "" {
			if err := s.markDeleting(ctx, replaced); err != nil {
				return err
			}
		}
		if record != nil {
			return record(ctx, part)
		}
		return nil
	})
	if err != nil {
		s.Discard(context.WithoutCancel(ctx), o)
		return UploadPart{}, err
	}
	if replaced != "" {
		s.remove(context.WithoutCancel(ctx), replaced)
	}
	return part, nil
}

// markDeleting moves an object nothing refers to any more to state
// deleting, in ctx's transaction; remove finishes the job after it commits,
// or Sweep does after a crash.
func (s *Service) markDeleting(ctx context.Context, id string) error {
	o, err := s.Store.GetObject(ctx, id)
	if err != nil {
		return err
	}
	o.State, o.UpdatedAt = Deleting, s.Clock.Now()
	return s.Store.UpdateObject(ctx, o)
}

// remove deletes an object already marked deleting; a failure leaves it
// for Sweep.
func (s *Service) remove(ctx context.Context, id string) {
	o, err := s.Store.GetObject(ctx, id)
	if err != nil {
		return
	}
	bucket, err := s.Buckets.Bucket(o.Bucket)
	if err != nil {
		return
	}
	if err := bucket.Delete(ctx, o.Key); err != nil && enclave.ErrorCode(err) != enclave.CodeNotFound {
		return
	}
	_ = s.Store.DeleteObject(ctx, id)
}

// CheckComplete says whether u's parts run from 1 without a gap; the error
// names the missing parts.
func CheckComplete(u *Upload) error {
	if len(u.Parts) == 0 {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "upload %s has no parts", u.ID)
	}
	var missing []string
	next := 1
	for _, p := range u.Parts {
		for ; next < p.Number && len(missing) < 10; next++ {
			missing = append(missing, fmt.Sprint(next))
		}
		next = p.Number + 1
	}
	if len(missing) > 0 {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "upload %s lacks parts %s", u.ID, strings.Join(missing, ", "))
	}
	return nil
}

// OpenUpload returns the plaintext of u's parts in order, as one stream,
// decrypting one part at a time.
func (s *Service) OpenUpload(ctx context.Context, u *Upload) (io.ReadCloser, error) {
	if err := CheckComplete(u); err != nil {
		return nil, err
	}
	return &partsReader{ctx: ctx, s: s, parts: u.Parts}, nil
}

type partsReader struct {
	ctx   context.Context
	s     *Service
	parts []UploadPart
	cur   io.ReadCloser
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.parts) == 0 {
				return 0, io.EOF
			}
			part := p.parts[0]
			p.parts = p.parts[1:]
			o, err := p.s.Store.GetObject(p.ctx, part.ObjectID)
			if err != nil {
				return 0, fmt.Errorf("part %d: %w", part.Number, err)
			}
			r, err := p.s.Open(p.ctx, o)
			if err != nil {
				return 0, fmt.Errorf("part %d: %w", part.Number, err)
			}
			if p.cur, err = r.ReadRange(p.ctx, 0, -1); err != nil {
				return 0, fmt.Errorf("part %d: %w", part.Number, err)
			}
		}
		n, err := p.cur.Read(b)
		if err == io.EOF {
			p.cur.Close()
			p.cur, err = nil, nil
			if n == 0 {
				continue
			}
		}
		return n, err
	}
}

func (p *partsReader) Close() error {
	if p.cur != nil {
		return p.cur.Close()
	}
	return nil
}

// FinishUpload ends u in ctx's transaction, after its parts were joined
// into an object: the upload goes, and its parts are marked for deletion.
// It fails with failed_precondition when a part was replaced since u was
// read, so that what was joined is exactly what the upload holds. Call
// RemoveParts after the transaction commits.
func (s *Service) FinishUpload(ctx context.Context, u *Upload) error {
	cur, err := s.Uploads.GetUpload(ctx, u.ID, true)
	if err != nil {
		return err
	}
	if len(cur.Parts) != len(u.Parts) {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "upload %s received parts while it was being completed: complete it again", u.ID)
	}
	for i := range cur.Parts {
		if cur.Parts[i].ObjectID != u.Parts[i].ObjectID {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "part %d of upload %s was replaced while the upload was being completed: complete it again", cur.Parts[i].Number, u.ID)
		}
	}
	return s.dropUpload(ctx, cur)
}

func (s *Service) dropUpload(ctx context.Context, u *Upload) error {
	if err := s.Uploads.DeleteUpload(ctx, u.ID); err != nil {
		return err
	}
	for _, p := range u.Parts {
		if err := s.markDeleting(ctx, p.ObjectID); err != nil {
			return err
		}
	}
	return nil
}

// RemoveParts deletes the parts of a finished or aborted upload.
func (s *Service) RemoveParts(ctx context.Context, u *Upload) {
	ctx = context.WithoutCancel(ctx)
	for _, p := range u.Parts {
		s.remove(ctx, p.ObjectID)
	}
}

// AbortUpload ends u without an object, in ctx's transaction when there is
// one (call RemoveParts after it commits).
func (s *Service) AbortUpload(ctx context.Context, u *Upload) error {
	cur, err := s.Uploads.GetUpload(ctx, u.ID, true)
	if err != nil {
		return err
	}
	u.Parts = cur.Parts
	return s.dropUpload(ctx, cur)
}

// SweepUploads aborts the uploads that expired, with their parts, and
// returns how many it removed.
func (s *Service) SweepUploads(ctx context.Context) (int, error) {
	n := 0
	for {
		ups, err := s.Uploads.ExpiredUploads(ctx, s.Clock.Now(), 100)
		if err != nil || len(ups) == 0 {
			return n, err
		}
		for _, u := range ups {
			err := s.Tx.InTx(ctx, func(ctx context.Context) error { return s.AbortUpload(ctx, u) })
			if err != nil && enclave.ErrorCode(err) != enclave.CodeNotFound {
				return n, err
			}
			s.RemoveParts(ctx, u)
			n++
		}
	}
}
