package blobstore

import (
	"context"
	"encoding/base64"
	"io"
	"iter"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// PutOptions are the optional properties of a written object.
type PutOptions struct {
	// ContentType is a MIME type; default application/octet-stream. The
	// Store never sniffs content.
	ContentType string
	// Metadata is stored with the object and returned by Stat. Keys are
	// lower-case identifiers ([a-z][a-z0-9_]*); keys and values together
	// take at most MaxMetadataLen bytes.
	Metadata map[string]string
	// IfNotExist refuses to replace an existing object (ErrExists). On the
	// local backend the check and the write are not one atomic step.
	IfNotExist bool
	// MaxSize, when positive, is the most bytes the object may have: a
	// longer stream fails with ErrQuotaExceeded and leaves nothing.
	MaxSize int64
}

// MaxMetadataLen bounds an object's metadata (S3 allows 2 KiB).
const MaxMetadataLen = 2048

// ObjectInfo describes a stored object. List fills Key, Size and ModTime;
// Stat fills every field.
type ObjectInfo struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string
	Metadata    map[string]string
	ETag        string
	// Tier is the object's tier, "" where the backend has none or the
	// object is in a class that is neither the hot nor the cold one.
	Tier Tier
	// StorageClass is the backend's own name for it (S3 and GCS storage
	// class, Azure access tier).
	StorageClass string
}

// Put streams r into the object at key and returns the number of bytes
// written. The object appears whole when Put returns nil and not at all
// otherwise: a cancelled ctx, an error from r, an exceeded MaxSize or a
// backend failure leave any previous object in place and no partial one.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (int64, error) {
	full, err := s.checkKey(key)
	if err != nil {
		return 0, err
	}
	if err := validPutOptions(opts); err != nil {
		return 0, err
	}
	return s.put(ctx, full, r, opts, -1)
}

// put writes a backend key without validating it (internal keys).
//
// gocloud aborts a write when its context is cancelled before Close, so a
// source that fails cancels the write's context before it reports the
// error. The cloud backends get the source whole (Bucket.Upload): their
// drivers stream it themselves, and gocloud's Azure writer crashes when
// Close follows a failed Write. The local backend is written through a
// Writer so that only its final rename runs under the key's lock.
func (s *Store) put(ctx context.Context, full string, r io.Reader, opts PutOptions, sizeHint int64) (int64, error) {
	ct := opts.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.MaxSize > 0 {
		r = NewQuotaReader(r, opts.MaxSize)
	}
	src := &sourceReader{r: r, cancel: cancel}
	bufSize, concurrency := uploadBuffers(s.backend, sizeHint)
	wopts := &blob.WriterOptions{
		BufferSize:                  bufSize,
		MaxConcurrency:              concurrency,
		ContentType:                 ct,
		DisableContentTypeDetection: true,
		Metadata:                    opts.Metadata,
		IfNotExist:                  opts.IfNotExist,
		BeforeWrite:                 s.beforeWrite,
	}
	var err error
	if s.backend == BackendLocal || s.backend == BackendMem {
		err = s.writeLocked(wctx, cancel, full, src, wopts)
	} else {
		err = s.bucket.Upload(wctx, full, src, wopts)
	}
	if src.err != nil {
		err = src.err // the source's error, not the cancellation it caused
	} else if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return 0, fail("put", full, err)
	}
	s.bytesIn.Add(src.n)
	return src.n, nil
}

// uploadBuffers returns the part size and the number of parts in flight of
// a cloud upload of size bytes (-1: unknown), or zeros for the driver's
// defaults. S3 takes at most 10,000 parts and Azure 50,000 blocks, and a
// stream of unknown length cannot choose its part size later: gocloud's
// defaults (5 MiB and 8 MiB) would cap an object at 48.8 GiB on S3 and
// 390 GiB on Azure. 16 MiB parts, four in flight (64 MiB of buffers per
// upload), allow 156 GiB on S3 for a Put of unknown length; a completed
// multipart upload, whose size is known, gets parts large enough for any
// size the service accepts, with fewer in flight.
func uploadBuffers(b Backend, size int64) (bufSize, concurrency int) {
	var maxParts, minPart int64
	switch b {
	case BackendS3:
		maxParts, minPart = 10000, 16<<20
	case BackendAzure:
		maxParts, minPart = 50000, 8<<20
	default:
		return 0, 0
	}
	part := minPart
	if size > 0 {
		const mib = 1 << 20
		part = max(minPart, ((size+maxParts-1)/maxParts+mib-1)/mib*mib)
	}
	switch {
	case part <= 64<<20:
		concurrency = 4
	case part <= 256<<20:
		concurrency = 2
	default:
		concurrency = 1 // S3's 5 TiB in 525 MiB parts
	}
	return int(part), concurrency
}

// writeLocked writes through a blob.Writer and closes it under the key's
// lock (local backend).
func (s *Store) writeLocked(ctx context.Context, cancel context.CancelFunc, full string, src io.Reader, wopts *blob.WriterOptions) error {
	w, err := s.bucket.NewWriter(ctx, full, wopts)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		cancel() // so that Close discards the write
		_ = w.Close()
		return err
	}
	unlock := s.lockKey(full)
	defer unlock()
	if err := w.Close(); err != nil {
		return err
	}
	return s.afterWrite(full)
}

// sourceReader counts what it reads and, when its source fails, cancels the
// write before passing the error on.
type sourceReader struct {
	r      io.Reader
	cancel context.CancelFunc
	n      int64
	err    error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF {
		s.err = err
		s.cancel()
	}
	return n, err
}

func validPutOptions(o PutOptions) error {
	if o.ContentType != "" {
		if _, _, err := mime.ParseMediaType(o.ContentType); err != nil {
			return enclave.FieldError("content_type", "content type %q is not a MIME type", o.ContentType)
		}
	}
	total := 0
	for k, v := range o.Metadata {
		total += len(k) + len(v)
		if !validMetadataKey(k) {
			return enclave.FieldError("metadata", "metadata key %q is not a lower-case identifier", k)
		}
		if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return enclave.FieldError("metadata", "metadata value of %q has invalid characters", k)
		}
	}
	if total > MaxMetadataLen {
		return enclave.FieldError("metadata", "metadata is larger than %d bytes", MaxMetadataLen)
	}
	if o.MaxSize < 0 {
		return enclave.FieldError("max_size", "max_size must not be negative")
	}
	return nil
}

func validMetadataKey(k string) bool {
	if k == "" || len(k) > 64 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Reader streams an object or a range of it. Close it.
type Reader struct {
	r       io.ReadCloser
	s       *Store
	size    int64
	modTime time.Time
	ctype   string
}

// Read reads from the object.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.s.bytesOut.Add(int64(n))
	return n, err
}

// Close releases the reader.
func (r *Reader) Close() error { return r.r.Close() }

// Size is the size of the whole object, not of the range.
func (r *Reader) Size() int64 { return r.size }

// ModTime is when the object was last written.
func (r *Reader) ModTime() time.Time { return r.modTime }

// ContentType is the object's MIME type.
func (r *Reader) ContentType() string { return r.ctype }

// Get returns a reader of the whole object.
func (s *Store) Get(ctx context.Context, key string) (*Reader, error) {
	return s.GetRange(ctx, key, 0, -1)
}

// GetRange returns a reader of length bytes from offset, or of everything
// from offset when length is negative. A range that runs past the end is
// cut at the end; one that starts past the end is ErrInvalidRange (starting
// exactly at the end gives an empty reader, so a range of an empty object
// at 0 works).
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (*Reader, error) {
	full, err := s.checkKey(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, enclave.FieldError("range", "offset must not be negative")
	}
	return s.getRange(ctx, full, offset, length)
}

// NewRangeReader is GetRange under gocloud's name, for callers written
// against a *blob.Bucket.
func (s *Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (*Reader, error) {
	return s.GetRange(ctx, key, offset, length)
}

func (s *Store) getRange(ctx context.Context, full string, offset, length int64) (*Reader, error) {
	br, err := s.bucket.NewRangeReader(ctx, full, offset, length, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, fail("get", full, err)
		}
		// S3 and Azure refuse a range that starts at or past the end
		// (416), even at 0 of an empty object; the Store decides from the
		// object's size instead.
		a, aerr := s.bucket.Attributes(ctx, full)
		switch {
		case aerr != nil:
			return nil, fail("get", full, aerr)
		case offset > a.Size:
			return nil, kindError("get", full, ErrInvalidRange)
		case offset == a.Size:
			return &Reader{r: io.NopCloser(strings.NewReader("")), s: s, size: a.Size, modTime: a.ModTime, ctype: a.ContentType}, nil
		}
		return nil, fail("get", full, err)
	}
	if offset > br.Size() {
		_ = br.Close()
		return nil, kindError("get", full, ErrInvalidRange)
	}
	return &Reader{r: br, s: s, size: br.Size(), modTime: br.ModTime(), ctype: br.ContentType()}, nil
}

// Stat returns an object's attributes.
func (s *Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	full, err := s.checkKey(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	return s.stat(ctx, full)
}

func (s *Store) stat(ctx context.Context, full string) (ObjectInfo, error) {
	a, err := s.bucket.Attributes(ctx, full)
	if err != nil {
		return ObjectInfo{}, fail("stat", full, err)
	}
	info := ObjectInfo{
		Key:          strings.TrimPrefix(full, s.prefix),
		Size:         a.Size,
		ModTime:      a.ModTime,
		ContentType:  a.ContentType,
		Metadata:     a.Metadata,
		ETag:         a.ETag,
		StorageClass: s.storageClass(a),
	}
	info.Tier = s.tierOf(info.StorageClass)
	return info, nil
}

// Delete removes an object; ErrNotFound if there is none.
func (s *Store) Delete(ctx context.Context, key string) error {
	full, err := s.checkKey(key)
	if err != nil {
		return err
	}
	return fail("delete", full, s.bucket.Delete(ctx, full))
}

// Copy copies the object at src, with its content type and metadata, to
// dst, replacing any object there. It copies inside the backend where it
// can (S3 objects over 5 GiB part by part).
func (s *Store) Copy(ctx context.Context, dst, src string) error {
	fullSrc, err := s.checkKey(src)
	if err != nil {
		return err
	}
	fullDst, err := s.checkKey(dst)
	if err != nil {
		return err
	}
	if src == dst {
		_, err := s.stat(ctx, fullSrc)
		return err
	}
	if s.backend == BackendS3 {
		return s.s3Copy(ctx, fullDst, fullSrc, "")
	}
	unlock := s.lockKey(fullDst)
	defer unlock()
	err = s.bucket.Copy(ctx, fullDst, fullSrc, &blob.CopyOptions{BeforeCopy: s.beforeWrite})
	if err == nil {
		err = s.afterWrite(fullDst)
	}
	return fail("copy", fullSrc, err)
}

// ListOptions select one page of a listing.
type ListOptions struct {
	// PageSize is the most objects a page holds: default and maximum 1000.
	// A page may hold fewer even when more follow.
	PageSize int
	// PageToken is the NextPageToken of the previous page, or "".
	PageToken string
}

// ListPage is one page of a listing, in key order.
type ListPage struct {
	Objects []ObjectInfo
	// NextPageToken is "" on the last page.
	NextPageToken string
}

// List returns a page of the objects whose keys start with prefix. It never
// shows the Store's own objects (uploads in progress, the local backend's
// temporary and metadata files).
func (s *Store) List(ctx context.Context, prefix string, opts ListOptions) (ListPage, error) {
	if err := ValidPrefix(prefix); err != nil {
		return ListPage{}, err
	}
	if opts.PageSize < 0 {
		return ListPage{}, enclave.FieldError("page_size", "page_size must not be negative")
	}
	if opts.PageSize == 0 || opts.PageSize > 1000 {
		opts.PageSize = 1000
	}
	token, err := base64.RawURLEncoding.DecodeString(opts.PageToken)
	if err != nil || (opts.PageToken != "" && len(token) == 0) {
		return ListPage{}, enclave.FieldError("page_token", "page_token is not a token this store issued")
	}
	if opts.PageToken == "" {
		token = blob.FirstPageToken
	}
	var page ListPage
	for {
		objs, next, err := s.listPage(ctx, s.full(prefix), token, opts.PageSize)
		if err != nil {
			return ListPage{}, err
		}
		for _, o := range objs {
			key := strings.TrimPrefix(o.Key, s.prefix)
			if ValidKey(key) != nil {
				continue
			}
			page.Objects = append(page.Objects, ObjectInfo{Key: key, Size: o.Size, ModTime: o.ModTime})
		}
		if len(next) == 0 {
			return page, nil
		}
		if len(page.Objects) > 0 {
			page.NextPageToken = base64.RawURLEncoding.EncodeToString(next)
			return page, nil
		}
		token = next // a page of hidden objects only: go on
	}
}

// rawObject is a listed backend key.
type rawObject struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// listPage lists one page of backend keys under a backend prefix, hidden
// ones included, in key order.
func (s *Store) listPage(ctx context.Context, fullPrefix string, token []byte, size int) ([]rawObject, []byte, error) {
	if s.backend == BackendLocal {
		if string(token) == string(blob.FirstPageToken) {
			token = nil
		}
		objs, next, err := s.localPage(fullPrefix, string(token), size)
		return objs, next, fail("list", fullPrefix, err)
	}
	objs, next, err := s.bucket.ListPage(ctx, token, size, &blob.ListOptions{Prefix: fullPrefix})
	if err != nil {
		return nil, nil, fail("list", fullPrefix, err)
	}
	out := make([]rawObject, 0, len(objs))
	for _, o := range objs {
		if !o.IsDir {
			out = append(out, rawObject{Key: o.Key, Size: o.Size, ModTime: o.ModTime})
		}
	}
	return out, next, nil
}

// All iterates over every object under prefix, page by page. It stops at
// the first error, which it yields.
func (s *Store) All(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		opts := ListOptions{}
		for {
			page, err := s.List(ctx, prefix, opts)
			if err != nil {
				yield(ObjectInfo{}, err)
				return
			}
			for _, o := range page.Objects {
				if !yield(o, nil) {
					return
				}
			}
			if page.NextPageToken == "" {
				return
			}
			opts.PageToken = page.NextPageToken
		}
	}
}

// listRaw lists backend keys under a backend prefix, hidden ones included.
func (s *Store) listRaw(ctx context.Context, fullPrefix string) iter.Seq2[rawObject, error] {
	return func(yield func(rawObject, error) bool) {
		token := blob.FirstPageToken
		for {
			objs, next, err := s.listPage(ctx, fullPrefix, token, 1000)
			if err != nil {
				yield(rawObject{}, err)
				return
			}
			for _, o := range objs {
				if !yield(o, nil) {
					return
				}
			}
			if len(next) == 0 {
				return
			}
			token = next
		}
	}
}
