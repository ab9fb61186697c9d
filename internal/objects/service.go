package objects

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/crypto/streamenc"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// Service writes, reads, re-keys and removes encrypted objects. It makes no
// authorization decision: its callers (the catalog, the airlock, tracking)
// do, and record what they did.
type Service struct {
	Store   Store
	Buckets Buckets
	Keys    *keys.Hierarchy
	// KEKs is the store behind Keys; rotation lists the versions in it.
	KEKs  keys.KEKStore
	Tx    enclave.Transactor
	Clock enclave.Clock
	// DefaultKey wraps a new owner's KEK when its placement names none.
	DefaultKey keys.KeyRef
	// SegmentSize is the ciphertext segment size of new objects (default
	// streamenc.DefaultSegmentSize).
	SegmentSize int
	// Uploads keeps multipart uploads; UploadTTL is how long one may stay
	// incomplete (default DefaultUploadTTL).
	Uploads   UploadStore
	UploadTTL time.Duration
}

// Write streams r, encrypted under a fresh data key, into a new object of
// p.Owner in p.Bucket, reading at most limit bytes (limit <= 0: no limit;
// more fails with an error of code too_large and stores nothing). The
// object comes back in state writing: Commit it in the transaction that
// records what it is for, or Discard it.
func (s *Service) Write(ctx context.Context, p Placement, r io.Reader, limit int64) (*Object, error) {
	bucket, err := s.place(ctx, p, "write")
	if err != nil {
		return nil, err
	}
	seg := s.SegmentSize
	if seg == 0 {
		seg = streamenc.DefaultSegmentSize
	}
	id := uuid.Must(uuid.NewV7()).String()
	now := s.Clock.Now()
	o := &Object{ID: id, Owner: p.Owner, Bucket: p.Bucket, Key: objectKey(p.Owner, id), State: Writing,
		SegmentSize: seg, Tier: TierHot, CreatedAt: now, UpdatedAt: now}
	var dek []byte
	// The row exists before any byte reaches the bucket, so a write that
	// dies midway is found and cleaned up by Sweep.
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var w keys.WrappedDEK
		if dek, w, err = s.Keys.NewDEK(ctx, p.Owner, id); err != nil {
			return keyError(err, "write")
		}
		o.WrappedDEK = w
		o.KEKVersion, _ = w.KEKVersion()
		return s.Store.CreateObject(ctx, o)
	}); err != nil {
		return nil, err
	}
	c, err := streamenc.New(dek, seg)
	clear(dek)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	counted := &countingReader{r: r, h: h, limit: limit}
	pr, pw := io.Pipe()
	encrypted := make(chan error, 1)
	go func() {
		_, err := c.Encrypt(pw, counted, []byte(id))
		pw.CloseWithError(err)
		encrypted <- err
	}()
	cipherSize, err := bucket.Put(ctx, o.Key, pr)
	pr.CloseWithError(errors.New("objects: the write ended"))
	if eerr := <-encrypted; err == nil {
		err = eerr
	}
	if counted.err != nil {
		err = counted.err // the reader's own failure says more: too large, or the client went away
	}
	if err != nil {
		s.discard(context.WithoutCancel(ctx), bucket, o)
		return nil, err
	}
	if want, _ := streamenc.CiphertextSize(counted.n, seg); want != cipherSize {
		s.discard(context.WithoutCancel(ctx), bucket, o)
		return nil, fmt.Errorf("objects: stored %d bytes of ciphertext, expected %d", cipherSize, want)
	}
	o.Size, o.CipherSize, o.SHA256 = counted.n, cipherSize, hex.EncodeToString(h.Sum(nil))
	o.UpdatedAt = s.Clock.Now()
	if err := s.Store.UpdateObject(ctx, o); err != nil {
		s.discard(context.WithoutCancel(ctx), bucket, o)
		return nil, err
	}
	return o, nil
}

// place checks a placement and makes sure its owner has a KEK (wrapped
// under the placement's key, or the default one), returning its bucket.
func (s *Service) place(ctx context.Context, p Placement, what string) (Bucket, error) {
	bucket, err := s.Buckets.Bucket(p.Bucket)
	if err != nil {
		return nil, err
	}
	if !validOwner(p.Owner) {
		return nil, fmt.Errorf("objects: invalid owner %q", p.Owner)
	}
	ref := p.Key
	if ref.IsZero() {
		ref = s.DefaultKey
	}
	if _, err := s.Keys.EnsureKEK(ctx, p.Owner, ref); err != nil {
		return nil, keyError(err, what)
	}
	return bucket, nil
}

// countingReader hashes and counts what passes, and refuses more than limit bytes.
type countingReader struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	limit int64
	err   error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.limit > 0 && int64(len(p)) > c.limit-c.n+1 {
		p = p[:c.limit-c.n+1]
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.limit > 0 && c.n > c.limit {
		c.err = enclave.Errorf(enclave.CodeTooLarge, "the data exceeds the %d bytes allowed", c.limit)
		return n, c.err
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// Commit makes a written object stored, in ctx's transaction. Its data key
// is wrapped again under the owner's current KEK, read with a shared lock,
// so that a rotation that ran while the bytes were uploading cannot retire
// the version the key is wrapped under.
func (s *Service) Commit(ctx context.Context, o *Object) error {
	cur, err := s.Store.GetObject(ctx, o.ID) // a rotation may have rewrapped its key meanwhile
	if err != nil {
		return err
	}
	if cur.State != Writing {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "object %s is %s, not being written", o.ID, cur.State)
	}
	dek, err := s.Keys.UnwrapDEK(ctx, o.Owner, o.ID, cur.WrappedDEK)
	if err != nil {
		return keyError(err, "commit")
	}
	w, err := s.Keys.WrapDEK(ctx, o.Owner, o.ID, dek)
	clear(dek)
	if err != nil {
		return keyError(err, "commit")
	}
	next := *o
	next.State, next.WrappedDEK, next.UpdatedAt = Stored, w, s.Clock.Now()
	next.KEKVersion, _ = w.KEKVersion()
	if err := s.Store.UpdateObject(ctx, &next); err != nil {
		return err
	}
	*o = next
	return nil
}

// Discard removes an object that was written but not committed.
func (s *Service) Discard(ctx context.Context, o *Object) {
	if bucket, err := s.Buckets.Bucket(o.Bucket); err == nil {
		s.discard(ctx, bucket, o)
	}
}

func (s *Service) discard(ctx context.Context, bucket Bucket, o *Object) {
	if err := bucket.Delete(ctx, o.Key); err != nil && enclave.ErrorCode(err) != enclave.CodeNotFound {
		return // the row stays: Sweep tries again
	}
	_ = s.Store.DeleteObject(ctx, o.ID)
}

// Reader reads an object's plaintext by range.
type Reader struct {
	o   *Object
	obj *streamenc.Object
}

// Size returns the plaintext's size.
func (r *Reader) Size() int64 { return r.o.Size }

// ReadRange returns a reader of length bytes from offset (length < 0: to
// the end). Ciphertext that fails authentication is reported as ErrCorrupt,
// before any byte of the failing segment is returned.
func (r *Reader) ReadRange(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
	rc, err := r.obj.ReadRange(ctx, offset, length)
	if err != nil {
		return nil, r.wrap(err)
	}
	return &readCloser{rc: rc, r: r}, nil
}

func (r *Reader) wrap(err error) error {
	switch {
	case errors.Is(err, streamenc.ErrCorrupt):
		return fmt.Errorf("%w: object %s: %v", ErrCorrupt, r.o.ID, err)
	case errors.Is(err, streamenc.ErrRange):
		return enclave.Wrap(enclave.CodeInvalidArgument, err, "the range lies outside the data (%d bytes)", r.o.Size)
	}
	return err
}

type readCloser struct {
	rc io.ReadCloser
	r  *Reader
}

func (c *readCloser) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if err != nil && err != io.EOF {
		err = c.r.wrap(err)
	}
	return n, err
}

func (c *readCloser) Close() error { return c.rc.Close() }

// Open prepares a stored object for reading. It unwraps the data key; no
// byte is read until a range is.
func (s *Service) Open(ctx context.Context, o *Object) (*Reader, error) {
	if o.State == Destroyed {
		return nil, keyError(keys.ErrKeyDestroyed, "read")
	}
	if o.State != Stored {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "object %s is %s", o.ID, o.State)
	}
	bucket, err := s.Buckets.Bucket(o.Bucket)
	if err != nil {
		return nil, err
	}
	dek, err := s.Keys.UnwrapDEK(ctx, o.Owner, o.ID, o.WrappedDEK)
	if err != nil {
		if errors.Is(err, keys.ErrUnwrap) {
			return nil, fmt.Errorf("%w: object %s: its wrapped data key does not authenticate", ErrCorrupt, o.ID)
		}
		return nil, keyError(err, "read")
	}
	c, err := streamenc.New(dek, o.SegmentSize)
	clear(dek)
	if err != nil {
		return nil, err
	}
	key := o.Key
	obj, err := c.Open(func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		return bucket.NewRangeReader(ctx, key, off, n)
	}, o.CipherSize, []byte(o.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: object %s: %v", ErrCorrupt, o.ID, err)
	}
	return &Reader{o: o, obj: obj}, nil
}

// Delete removes an object's blob and row. The row goes first to deleting,
// so a crash in between leaves it for Sweep.
func (s *Service) Delete(ctx context.Context, o *Object) error {
	bucket, err := s.Buckets.Bucket(o.Bucket)
	if err != nil {
		return err
	}
	next := *o
	next.State, next.UpdatedAt = Deleting, s.Clock.Now()
	if err := s.Store.UpdateObject(ctx, &next); err != nil {
		return err
	}
	if err := bucket.Delete(ctx, o.Key); err != nil && enclave.ErrorCode(err) != enclave.CodeNotFound {
		return err
	}
	return s.Store.DeleteObject(ctx, o.ID)
}

// SetTier moves an object to a storage tier.
func (s *Service) SetTier(ctx context.Context, o *Object, tier string) error {
	if tier != TierHot && tier != TierCold {
		return enclave.FieldError("tier", "tier must be hot or cold")
	}
	bucket, err := s.Buckets.Bucket(o.Bucket)
	if err != nil {
		return err
	}
	if err := bucket.SetTier(ctx, o.Key, tier); err != nil {
		return err
	}
	next := *o
	next.Tier, next.UpdatedAt = tier, s.Clock.Now()
	if err := s.Store.UpdateObject(ctx, &next); err != nil {
		return err
	}
	*o = next
	return nil
}

// Rotation reports what a key rotation did.
type Rotation struct {
	Owner string `json:"owner"`
	// Version is the KEK version now current.
	Version uint32 `json:"version"`
	// Rewrapped counts the data keys moved to it; no object's data was
	// read or re-encrypted.
	Rewrapped int `json:"rewrapped"`
	// Retired lists the old versions deleted; Kept those still referenced
	// (by writes that were in flight), which a later rotation retires.
	Retired []uint32 `json:"retired"`
	Kept    []uint32 `json:"kept,omitempty"`
}

// RotateKey gives owner a new KEK version (wrapped under ref, or the
// current version's key when ref is zero), re-wraps every object's data key
// under it without touching the data, and retires the old versions that
// nothing refers to any more. A retirement deletes the version and then
// counts what still refers to it, in one transaction; a write committing
// meanwhile holds the version it wrapped under with a shared lock, so the
// deletion waits for it, sees it, and is rolled back: no data key is ever
// left without its KEK.
//
// Record, when set, is called in the transaction that creates the new
// version and in each that retires an old one, so that the caller's audit
// record commits with the change ("keys.rotate", "keys.retire").
func (s *Service) RotateKey(ctx context.Context, owner string, ref keys.KeyRef, record func(ctx context.Context, action string, version uint32) error) (*Rotation, error) {
	if record == nil {
		record = func(context.Context, string, uint32) error { return nil }
	}
	var kek keys.KEK
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if kek, err = s.Keys.Rotate(ctx, owner, ref); err != nil {
			return err
		}
		return record(ctx, "keys.rotate", kek.Version)
	})
	if err != nil {
		return nil, keyError(err, "rotate")
	}
	rot := &Rotation{Owner: owner, Version: kek.Version}
	for after := ""; ; {
		objs, err := s.Store.ListObjects(ctx, owner, after, 500)
		if err != nil {
			return rot, err
		}
		for _, o := range objs {
			if o.KEKVersion == kek.Version {
				continue
			}
			w, err := s.Keys.RewrapDEK(ctx, owner, o.ID, o.WrappedDEK)
			if err != nil {
				return rot, keyError(err, "rewrap")
			}
			v, _ := w.KEKVersion()
			if err := s.Store.UpdateWrappedDEK(ctx, o.ID, w, v, s.Clock.Now()); err != nil {
				return rot, err
			}
			rot.Rewrapped++
		}
		if len(objs) < 500 {
			break
		}
		after = objs[len(objs)-1].ID
	}
	versions, err := s.KEKs.ListKEKs(ctx, owner)
	if err != nil {
		return rot, keyError(err, "rotate")
	}
	for _, v := range versions {
		if v.Version >= kek.Version {
			continue
		}
		errInUse := errors.New("in use")
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.Keys.Retire(ctx, owner, v.Version); err != nil {
				return err
			}
			n, err := s.Store.CountByKEKVersion(ctx, owner, v.Version)
			if err != nil {
				return err
			}
			if n > 0 {
				return errInUse
			}
			return record(ctx, "keys.retire", v.Version)
		})
		switch {
		case errors.Is(err, errInUse):
			rot.Kept = append(rot.Kept, v.Version)
		case err != nil:
			return rot, keyError(err, "retire")
		default:
			rot.Retired = append(rot.Retired, v.Version)
		}
	}
	return rot, nil
}

// DestroyKey deletes every version of owner's KEK: from then on none of its
// objects can be read, on any replica, and nothing can be written for it.
// The blobs stay until Purge removes them; without the key they are noise.
func (s *Service) DestroyKey(ctx context.Context, owner string) error {
	return keyError(s.Keys.Destroy(ctx, owner), "destroy")
}

// Purge follows a key's destruction: it removes the blobs of owner's
// objects and marks their rows destroyed (the rows stay, as the record of
// what was there, for whatever still names them). It returns how many it
// purged.
func (s *Service) Purge(ctx context.Context, owner string) (int, error) {
	n := 0
	for after := ""; ; {
		objs, err := s.Store.ListObjects(ctx, owner, after, 500)
		if err != nil {
			return n, err
		}
		for _, o := range objs {
			if o.State == Destroyed {
				continue
			}
			bucket, err := s.Buckets.Bucket(o.Bucket)
			if err != nil {
				return n, err
			}
			if err := bucket.Delete(ctx, o.Key); err != nil && enclave.ErrorCode(err) != enclave.CodeNotFound {
				return n, err
			}
			next := *o
			next.State, next.UpdatedAt = Destroyed, s.Clock.Now()
			if err := s.Store.UpdateObject(ctx, &next); err != nil {
				return n, err
			}
			n++
		}
		if len(objs) < 500 {
			return n, nil
		}
		after = objs[len(objs)-1].ID
	}
}

// Sweep finishes purges a crash interrupted, removes uploads that expired,
// with their parts, and objects left
// in state writing or deleting for longer than olderThan — writes that
// died midway and deletions a crash interrupted — blobs first, then rows.
// It returns how many objects and uploads it removed.
func (s *Service) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	before := s.Clock.Now().Add(-olderThan)
	n := 0
	if s.Uploads != nil {
		var err error
		if n, err = s.SweepUploads(ctx); err != nil {
			return n, err
		}
	}
	// A crash between a key's destruction and the purge that follows it
	// leaves blobs no key can read: finish the purge.
	owners, err := s.Store.OwnersToPurge(ctx)
	if err != nil {
		return n, err
	}
	for _, owner := range owners {
		m, err := s.Purge(ctx, owner)
		n += m
		if err != nil {
			return n, err
		}
	}
	for _, st := range []State{Writing, Deleting} {
		objs, err := s.Store.StaleObjects(ctx, st, before, 500)
		if err != nil {
			return n, err
		}
		for _, o := range objs {
			bucket, err := s.Buckets.Bucket(o.Bucket)
			if err != nil {
				return n, err
			}
			if err := bucket.Delete(ctx, o.Key); err != nil && enclave.ErrorCode(err) != enclave.CodeNotFound {
				return n, err
			}
			if err := s.Store.DeleteObject(ctx, o.ID); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// objectKey names an object's blob by its owner's ID and its own, never by
// anything a user chose.
func objectKey(owner, id string) string {
	return "objects/" + owner + "/" + id[len(id)-2:] + "/" + id
}

func validOwner(owner string) bool {
	if owner == "" || len(owner) > 64 {
		return false
	}
	for _, c := range owner {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
