package blobstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Multipart uploads are built from ordinary objects so that they work alike
// on every backend: an upload ID names the directory .uploads/ID/ holding a
// manifest (the target key and its options) and one object per part,
// part-00001 to part-10000. Complete streams the parts in order into the
// target with one Put, then removes the upload. Nothing is held in memory
// or in a database; whatever a crash leaves is removed by SweepUploads.

// MaxParts is the highest part number.
const MaxParts = 10000

// UploadInfo describes an upload in progress.
type UploadInfo struct {
	ID          string            `json:"-"`
	Key         string            `json:"key"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	IfNotExist  bool              `json:"if_not_exist,omitempty"`
	MaxSize     int64             `json:"max_size,omitempty"`
	Created     time.Time         `json:"created"`
}

// Part is one uploaded part.
type Part struct {
	Number  int
	Size    int64
	ModTime time.Time
}

func (s *Store) uploadPrefix(id string) string { return s.prefix + uploadsDir + "/" + id + "/" }
func (s *Store) manifestKey(id string) string  { return s.uploadPrefix(id) + "upload.json" }
func (s *Store) partKey(id string, n int) string {
	return s.uploadPrefix(id) + fmt.Sprintf("part-%05d", n)
}

// validUploadID checks an ID that arrives from a client: 32 lower-case hex
// digits, as CreateUpload makes them.
func validUploadID(id string) error {
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return enclave.FieldError("upload_id", "upload_id is not an upload ID")
	}
	return nil
}

func validPartNumber(n int) error {
	if n < 1 || n > MaxParts {
		return enclave.FieldError("part_number", "part number must be 1 to %d", MaxParts)
	}
	return nil
}

// CreateUpload starts a multipart upload of the object at key and returns
// its ID. The options apply to the object Complete writes; MaxSize bounds
// the sum of the parts.
func (s *Store) CreateUpload(ctx context.Context, key string, opts PutOptions) (string, error) {
	if _, err := s.checkKey(key); err != nil {
		return "", err
	}
	if err := validPutOptions(opts); err != nil {
		return "", err
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	m, err := json.Marshal(UploadInfo{Key: key, ContentType: opts.ContentType, Metadata: opts.Metadata,
		IfNotExist: opts.IfNotExist, MaxSize: opts.MaxSize, Created: time.Now().UTC()})
	if err != nil {
		return "", err
	}
	if _, err := s.put(ctx, s.manifestKey(id), bytes.NewReader(m), PutOptions{ContentType: "application/json"}, int64(len(m))); err != nil {
		return "", err
	}
	return id, nil
}

// StatUpload returns an upload's target and options; ErrUploadNotFound when
// it was never created, or was completed, aborted or swept.
func (s *Store) StatUpload(ctx context.Context, id string) (UploadInfo, error) {
	if err := validUploadID(id); err != nil {
		return UploadInfo{}, err
	}
	r, err := s.bucket.NewReader(ctx, s.manifestKey(id), nil)
	if err != nil {
		if err = fail("upload", id, err); isNotFound(err) {
			return UploadInfo{}, kindError("upload", id, ErrUploadNotFound)
		}
		return UploadInfo{}, err
	}
	defer r.Close()
	var u UploadInfo
	if err := json.NewDecoder(io.LimitReader(r, 64<<10)).Decode(&u); err != nil {
		return UploadInfo{}, fail("upload", id, fmt.Errorf("manifest: %w", err))
	}
	u.ID = id
	return u, nil
}

// PutPart streams one part of an upload, replacing any earlier part with
// that number (a client resumes by sending again what ListParts does not
// show). Parts may arrive in any order and concurrently.
func (s *Store) PutPart(ctx context.Context, id string, n int, r io.Reader) (Part, error) {
	if err := validPartNumber(n); err != nil {
		return Part{}, err
	}
	if _, err := s.StatUpload(ctx, id); err != nil {
		return Part{}, err
	}
	size, err := s.put(ctx, s.partKey(id, n), r, PutOptions{}, -1)
	if err != nil {
		return Part{}, err
	}
	return Part{Number: n, Size: size, ModTime: time.Now().UTC()}, nil
}

// ListParts returns the parts an upload holds, by number.
func (s *Store) ListParts(ctx context.Context, id string) ([]Part, error) {
	if _, err := s.StatUpload(ctx, id); err != nil {
		return nil, err
	}
	return s.parts(ctx, id)
}

func (s *Store) parts(ctx context.Context, id string) ([]Part, error) {
	var parts []Part
	for o, err := range s.listRaw(ctx, s.uploadPrefix(id)+"part-") {
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(strings.TrimPrefix(o.Key, s.uploadPrefix(id)+"part-"))
		if err != nil || validPartNumber(n) != nil {
			continue // a temporary file of the local backend, or junk
		}
		parts = append(parts, Part{Number: n, Size: o.Size, ModTime: o.ModTime})
	}
	return parts, nil // keys are zero-padded, so listed in number order
}

// Complete writes the upload's object from the listed parts, in that order
// (ascending numbers; parts not listed are discarded), and removes the
// upload. When it fails the upload stays as it was and Complete can be
// called again; once it has succeeded the upload is gone
// (ErrUploadNotFound) and the object is there.
func (s *Store) Complete(ctx context.Context, id string, partNumbers []int) (ObjectInfo, error) {
	u, err := s.StatUpload(ctx, id)
	if err != nil {
		return ObjectInfo{}, err
	}
	if len(partNumbers) == 0 || len(partNumbers) > MaxParts {
		return ObjectInfo{}, enclave.FieldError("parts", "list 1 to %d parts", MaxParts)
	}
	for i, n := range partNumbers {
		if err := validPartNumber(n); err != nil {
			return ObjectInfo{}, err
		}
		if i > 0 && n <= partNumbers[i-1] {
			return ObjectInfo{}, enclave.FieldError("parts", "parts must be listed in ascending order without repeats")
		}
	}
	have, err := s.parts(ctx, id)
	if err != nil {
		return ObjectInfo{}, err
	}
	sizes := make(map[int]int64, len(have))
	for _, p := range have {
		sizes[p.Number] = p.Size
	}
	keys := make([]string, len(partNumbers))
	var total int64
	for i, n := range partNumbers {
		size, ok := sizes[n]
		if !ok {
			return ObjectInfo{}, &enclave.Error{Code: enclave.CodeFailedPrecondition, Field: "parts",
				Message: fmt.Sprintf("part %d was not uploaded", n), Err: ErrPartMissing}
		}
		keys[i] = s.partKey(id, n)
		total += size
	}
	if u.MaxSize > 0 && total > u.MaxSize {
		return ObjectInfo{}, kindError("complete", id, ErrQuotaExceeded)
	}
	full := s.full(u.Key)
	pr := &partsReader{ctx: ctx, s: s, keys: keys}
	_, err = s.put(ctx, full, pr, PutOptions{ContentType: u.ContentType, Metadata: u.Metadata,
		IfNotExist: u.IfNotExist, MaxSize: u.MaxSize}, total)
	pr.close()
	if err != nil {
		return ObjectInfo{}, err
	}
	// The manifest goes first: from here on the upload is finished for
	// every caller, and parts a crash leaves behind are swept.
	if err := s.removeUpload(ctx, id); err != nil {
		return ObjectInfo{}, err
	}
	return s.stat(ctx, full)
}

// Abort discards an upload and its parts.
func (s *Store) Abort(ctx context.Context, id string) error {
	if _, err := s.StatUpload(ctx, id); err != nil {
		return err
	}
	return s.removeUpload(ctx, id)
}

// removeUpload deletes the manifest, then every part.
func (s *Store) removeUpload(ctx context.Context, id string) error {
	if err := s.bucket.Delete(ctx, s.manifestKey(id)); err != nil && !isNotFound(fail("", "", err)) {
		return fail("remove upload", id, err)
	}
	var keys []string
	for o, err := range s.listRaw(ctx, s.uploadPrefix(id)) {
		if err != nil {
			return err
		}
		keys = append(keys, o.Key)
	}
	if err := s.deleteAll(ctx, keys); err != nil {
		return err
	}
	s.removeUploadDir(id)
	return nil
}

// deleteAll deletes backend keys, ignoring those already gone.
func (s *Store) deleteAll(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if err := fail("delete", k, s.bucket.Delete(ctx, k)); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// SweepUploads removes the uploads with no activity (no part written) for
// olderThan, and returns how many. On the local backend it also removes the
// temporary files and sidecars that a killed process left behind that long
// ago. Run it periodically with a generous olderThan (a day): an upload
// whose client is still sending is kept.
func (s *Store) SweepUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	root := s.prefix + uploadsDir + "/"
	type group struct {
		latest time.Time
		keys   []string
	}
	groups := map[string]*group{}
	var order []string
	for o, err := range s.listRaw(ctx, root) {
		if err != nil {
			return 0, err
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(o.Key, root), "/")
		g := groups[id]
		if g == nil {
			g = &group{}
			groups[id] = g
			order = append(order, id)
		}
		g.keys = append(g.keys, o.Key)
		if o.ModTime.After(g.latest) {
			g.latest = o.ModTime
		}
	}
	removed := 0
	for _, id := range order {
		g := groups[id]
		if !g.latest.Before(cutoff) {
			continue
		}
		// Manifest first, as in removeUpload.
		manifest := s.manifestKey(id)
		for i, k := range g.keys {
			if k == manifest {
				g.keys[0], g.keys[i] = g.keys[i], g.keys[0]
			}
		}
		if err := s.deleteAll(ctx, g.keys); err != nil {
			return removed, err
		}
		s.removeUploadDir(id)
		removed++
	}
	if s.backend == BackendLocal {
		if err := s.sweepLocal(cutoff); err != nil {
			return removed, fail("sweep", s.dir, err)
		}
	}
	return removed, nil
}

// partsReader reads the parts of an upload one after the other, opening
// each only when the previous one is done.
type partsReader struct {
	ctx  context.Context
	s    *Store
	keys []string
	cur  io.ReadCloser
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.keys) == 0 {
				return 0, io.EOF
			}
			r, err := p.s.bucket.NewReader(p.ctx, p.keys[0], nil)
			if err != nil {
				return 0, fail("read part", p.keys[0], err)
			}
			p.cur, p.keys = r, p.keys[1:]
		}
		n, err := p.cur.Read(b)
		if err == io.EOF {
			p.close()
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (p *partsReader) close() {
	if p.cur != nil {
		_ = p.cur.Close()
		p.cur = nil
	}
}

func isNotFound(err error) bool { return enclave.IsCode(err, enclave.CodeNotFound) }
