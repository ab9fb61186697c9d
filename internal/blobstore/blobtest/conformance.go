package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/blobstore"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// RunConformance runs every case against stores that open returns; each
// case opens its own, empty store.
func RunConformance(t *testing.T, open func(t *testing.T) *blobstore.Store) {
	cases := []struct {
		name string
		run  func(t *testing.T, s *blobstore.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Ranges", testRanges},
		{"ConcurrentPuts", testConcurrentPuts},
		{"AbortedPut", testAbortedPut},
		{"Quota", testQuota},
		{"KeyValidation", testKeyValidation},
		{"Overwrite", testOverwrite},
		{"ListPagination", testListPagination},
		{"Copy", testCopy},
		{"Delete", testDelete},
		{"Multipart", testMultipart},
		{"MultipartResume", testMultipartResume},
		{"MultipartAbortAndSweep", testMultipartAbortAndSweep},
		{"Tier", testTier},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, open(t))
		})
	}
}

// Pattern returns n deterministic bytes that differ with seed.
func Pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i/251) ^ seed
	}
	return b
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, s *blobstore.Store, key string, data []byte, opts blobstore.PutOptions) {
	t.Helper()
	n, err := s.Put(ctxFor(t), key, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("put %q wrote %d bytes, want %d", key, n, len(data))
	}
}

func mustRead(t *testing.T, s *blobstore.Store, key string) []byte {
	t.Helper()
	r, err := s.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want %v", what, err, kind)
	}
}

func wantCode(t *testing.T, what string, err error, code enclave.Code) {
	t.Helper()
	if enclave.ErrorCode(err) != code {
		t.Fatalf("%s: got %v (code %q), want code %q", what, err, enclave.ErrorCode(err), code)
	}
}

func wantAbsent(t *testing.T, s *blobstore.Store, key string) {
	t.Helper()
	_, err := s.Stat(ctxFor(t), key)
	wantKind(t, "stat "+key, err, blobstore.ErrNotFound)
}

func listKeys(t *testing.T, s *blobstore.Store, prefix string) []string {
	t.Helper()
	var keys []string
	for o, err := range s.All(ctxFor(t), prefix) {
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func testRoundTrip(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	// 9 MiB + 1 crosses S3's 5 MiB parts and Azure's 8 MiB blocks.
	for _, size := range []int{0, 1, 13, 9<<20 + 1} {
		key := fmt.Sprintf("round/trip-%d.bin", size)
		data := Pattern(size, byte(size))
		meta := map[string]string{"wrapped_key": "AAEC-" + fmt.Sprint(size), "algo": "aes256gcm"}
		mustPut(t, s, key, data, blobstore.PutOptions{ContentType: "application/x-enclave", Metadata: meta})
		if got := mustRead(t, s, key); !bytes.Equal(got, data) {
			t.Fatalf("%s: read back %d bytes that differ from the %d written", key, len(got), len(data))
		}
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != key || info.Size != int64(size) || info.ContentType != "application/x-enclave" || info.ModTime.IsZero() {
			t.Fatalf("stat %s: %+v", key, info)
		}
		for k, v := range meta {
			if info.Metadata[k] != v {
				t.Fatalf("stat %s: metadata %v, want %v", key, info.Metadata, meta)
			}
		}
	}
	// Keys may hold spaces, non-ASCII letters and most punctuation.
	for _, key := range []string{"with space/and+plus", "ünïcödé/日本語.txt", "a/b/c/d/e/f/g", ".hidden/x", "x~y!z$&'()*,;=@[]"} {
		mustPut(t, s, key, []byte(key), blobstore.PutOptions{})
		if got := mustRead(t, s, key); string(got) != key {
			t.Fatalf("%q read back as %q", key, got)
		}
	}
	if _, err := s.Get(ctx, "round/missing"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if st := s.Stats(); st.BytesIn < 9<<20 || st.BytesOut < 9<<20 {
		t.Fatalf("stats %+v do not count the bytes moved", st)
	}
}

func testRanges(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	data := Pattern(1000, 3)
	mustPut(t, s, "ranges/obj", data, blobstore.PutOptions{})
	mustPut(t, s, "ranges/empty", nil, blobstore.PutOptions{})
	for _, c := range []struct {
		key          string
		off, n       int64
		wantFrom, to int
	}{
		{"ranges/obj", 0, 10, 0, 10},         // start
		{"ranges/obj", 500, 100, 500, 600},   // middle
		{"ranges/obj", 990, 10, 990, 1000},   // end
		{"ranges/obj", 990, 100, 990, 1000},  // runs past the end: cut
		{"ranges/obj", 400, -1, 400, 1000},   // to the end
		{"ranges/obj", 0, -1, 0, 1000},       // whole
		{"ranges/obj", 1000, 10, 1000, 1000}, // at the end: empty
		{"ranges/obj", 1000, -1, 1000, 1000}, // at the end, open: empty
		{"ranges/obj", 20, 0, 20, 20},        // zero length
		{"ranges/empty", 0, 10, 0, 0},        // range of an empty object
		{"ranges/empty", 0, -1, 0, 0},        // all of an empty object
	} {
		r, err := s.GetRange(ctx, c.key, c.off, c.n)
		if err != nil {
			t.Fatalf("range %s %d+%d: %v", c.key, c.off, c.n, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatalf("range %s %d+%d: read: %v", c.key, c.off, c.n, err)
		}
		src := data
		if c.key == "ranges/empty" {
			src = nil
		}
		if !bytes.Equal(got, src[c.wantFrom:c.to]) {
			t.Fatalf("range %s %d+%d: got %d bytes, want [%d:%d]", c.key, c.off, c.n, len(got), c.wantFrom, c.to)
		}
		if r.Size() != int64(len(src)) {
			t.Fatalf("range %s %d+%d: Size %d, want the object's %d", c.key, c.off, c.n, r.Size(), len(src))
		}
	}
	_, err := s.GetRange(ctx, "ranges/obj", 1001, 1)
	wantKind(t, "range past the end", err, blobstore.ErrInvalidRange)
	_, err = s.GetRange(ctx, "ranges/obj", 5000, -1)
	wantKind(t, "open range past the end", err, blobstore.ErrInvalidRange)
	_, err = s.GetRange(ctx, "ranges/empty", 1, 1)
	wantKind(t, "range past the end of an empty object", err, blobstore.ErrInvalidRange)
	_, err = s.GetRange(ctx, "ranges/obj", -1, 1)
	wantCode(t, "negative offset", err, enclave.CodeInvalidArgument)
	_, err = s.GetRange(ctx, "ranges/missing", 10, 1)
	wantKind(t, "range of a missing object", err, blobstore.ErrNotFound)
}

func testConcurrentPuts(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			data := Pattern(64<<10+i, byte(i))
			if _, err := s.Put(ctx, fmt.Sprintf("conc/own-%d", i), bytes.NewReader(data), blobstore.PutOptions{}); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			// Writers of one key: the winner's data must come with
			// the winner's metadata.
			data := Pattern(64<<10+i, byte(100+i))
			sum := sha256.Sum256(data)
			_, err := s.Put(ctx, "conc/shared", bytes.NewReader(data), blobstore.PutOptions{
				Metadata: map[string]string{"sha256": hex.EncodeToString(sum[:])}})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range n {
		if got := mustRead(t, s, fmt.Sprintf("conc/own-%d", i)); !bytes.Equal(got, Pattern(64<<10+i, byte(i))) {
			t.Fatalf("conc/own-%d holds other bytes", i)
		}
	}
	got := mustRead(t, s, "conc/shared")
	info, err := s.Stat(ctx, "conc/shared")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(got)
	if info.Metadata["sha256"] != hex.EncodeToString(sum[:]) || info.Size != int64(len(got)) {
		t.Fatalf("the shared key holds one writer's data and another's metadata")
	}
	if keys := listKeys(t, s, "conc/"); len(keys) != n+1 {
		t.Fatalf("listed %d keys after concurrent puts, want %d: %v", len(keys), n+1, keys)
	}
}

// cancellingReader hands out its data and cancels its context once it has
// delivered after bytes; then it keeps delivering, as a client would.
type cancellingReader struct {
	data   []byte
	after  int
	cancel context.CancelFunc
	off    int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.off >= c.after && c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	if c.off >= len(c.data) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 64<<10)], c.data[c.off:])
	c.off += n
	return n, nil
}

// failingReader returns an error after n bytes.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = byte(i)
	}
	f.n -= k
	return k, nil
}

func testAbortedPut(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	old := []byte("the version before")
	mustPut(t, s, "abort/existing", old, blobstore.PutOptions{})
	for _, key := range []string{"abort/new", "abort/existing"} {
		cctx, cancel := context.WithCancel(ctx)
		_, err := s.Put(cctx, key, &cancellingReader{data: Pattern(12<<20, 9), after: 6 << 20, cancel: cancel}, blobstore.PutOptions{})
		cancel()
		wantKind(t, "cancelled put", err, context.Canceled)

		boom := errors.New("client went away")
		_, err = s.Put(ctx, key, &failingReader{n: 6 << 20, err: boom}, blobstore.PutOptions{})
		wantKind(t, "put from a failing reader", err, boom)
	}
	wantAbsent(t, s, "abort/new")
	if got := mustRead(t, s, "abort/existing"); !bytes.Equal(got, old) {
		t.Fatalf("a failed overwrite changed the object to %d bytes", len(got))
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{"abort/existing"}) {
		t.Fatalf("after aborted puts the store lists %v", keys)
	}
}

func testQuota(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	_, err := s.Put(ctx, "quota/over", bytes.NewReader(Pattern(1001, 1)), blobstore.PutOptions{MaxSize: 1000})
	wantKind(t, "put over quota", err, blobstore.ErrQuotaExceeded)
	wantCode(t, "put over quota", err, enclave.CodeTooLarge)
	wantAbsent(t, s, "quota/over")
	mustPut(t, s, "quota/exact", Pattern(1000, 1), blobstore.PutOptions{MaxSize: 1000})
}

// BadKeys are keys every operation must refuse.
var BadKeys = []string{
	"", "/abs", "/", "a/", "a//b", ".", "..", "../x", "a/../b", "a/..", "./a", "a/./b",
	`a\b`, `..\x`, "a\x00b", "a\nb", "a\tb", "a\x7fb", "a\u0085b", "a\u202eb", "a\u2028b",
	"%2e%2e/x", "a%2fb", "%00", "a%5cb", "x%252e", "\xff\xfe", "a\xc0\xafb",
	"\uff0e\uff0e/x", "a/\u2024\u2024", "a\uff3cb", "trail.", "a./b",
	".uploads/x", "a.attrs", "x/y.tmp", "a__0x2f__b", "q?x", "h#x", `d"q`,
	string(make([]byte, blobstore.MaxKeyLen+1)),
}

func testKeyValidation(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "good", []byte("x"), blobstore.PutOptions{})
	for _, key := range BadKeys {
		ops := map[string]error{}
		_, ops["put"] = s.Put(ctx, key, bytes.NewReader([]byte("x")), blobstore.PutOptions{})
		_, ops["get"] = s.Get(ctx, key)
		_, ops["range"] = s.GetRange(ctx, key, 0, 1)
		_, ops["stat"] = s.Stat(ctx, key)
		ops["delete"] = s.Delete(ctx, key)
		ops["copy to"] = s.Copy(ctx, key, "good")
		ops["copy from"] = s.Copy(ctx, "good", key)
		ops["set tier"] = s.SetTier(ctx, key, blobstore.TierCold)
		_, ops["create upload"] = s.CreateUpload(ctx, key, blobstore.PutOptions{})
		for op, err := range ops {
			if !errors.Is(err, blobstore.ErrInvalidKey) || enclave.ErrorField(err) != "key" {
				t.Fatalf("%s %q: got %v, want an invalid key error", op, key, err)
			}
		}
	}
	for _, prefix := range []string{"../", "/", "a//", `a\`, "%2e", ".uploads/"} {
		_, err := s.List(ctx, prefix, blobstore.ListOptions{})
		wantKind(t, "list "+prefix, err, blobstore.ErrInvalidKey)
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{"good"}) {
		t.Fatalf("after refused keys the store lists %v", keys)
	}
}

func testOverwrite(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "ow/k", []byte("first"), blobstore.PutOptions{Metadata: map[string]string{"v": "1"}})
	mustPut(t, s, "ow/k", []byte("second, longer"), blobstore.PutOptions{Metadata: map[string]string{"v": "2"}})
	if got := mustRead(t, s, "ow/k"); string(got) != "second, longer" {
		t.Fatalf("overwrite: read %q", got)
	}
	if info, _ := s.Stat(ctx, "ow/k"); info.Metadata["v"] != "2" || info.Size != 14 {
		t.Fatalf("overwrite: stat %+v", info)
	}
	_, err := s.Put(ctx, "ow/k", bytes.NewReader([]byte("third")), blobstore.PutOptions{IfNotExist: true})
	wantKind(t, "create-only put over an object", err, blobstore.ErrExists)
	wantCode(t, "create-only put over an object", err, enclave.CodeConflict)
	if got := mustRead(t, s, "ow/k"); string(got) != "second, longer" {
		t.Fatalf("a refused create-only put changed the object to %q", got)
	}
	mustPut(t, s, "ow/new", []byte("x"), blobstore.PutOptions{IfNotExist: true})
}

func testListPagination(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	var want []string
	for i := range 23 {
		key := fmt.Sprintf("list/%02d", i)
		want = append(want, key)
		mustPut(t, s, key, []byte{byte(i)}, blobstore.PutOptions{})
	}
	mustPut(t, s, "list-other", []byte("x"), blobstore.PutOptions{})
	mustPut(t, s, "zzz/list", []byte("x"), blobstore.PutOptions{})
	// An upload in progress is not an object.
	id, err := s.CreateUpload(ctx, "list/99", blobstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPart(ctx, id, 1, bytes.NewReader([]byte("part"))); err != nil {
		t.Fatal(err)
	}
	var got []string
	opts := blobstore.ListOptions{PageSize: 5}
	for pages := 0; ; pages++ {
		if pages > 23 {
			t.Fatal("listing does not end")
		}
		page, err := s.List(ctx, "list/", opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Objects) > 5 {
			t.Fatalf("page of %d objects, asked for 5", len(page.Objects))
		}
		for _, o := range page.Objects {
			got = append(got, o.Key)
			if o.Size != 1 || o.ModTime.IsZero() {
				t.Fatalf("listed %+v", o)
			}
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged listing:\n got %v\nwant %v", got, want)
	}
	// Paging through everything keeps key order even where a directory
	// ("list/") and a name that sorts before its "/" ("list-other") meet.
	want = slices.Concat([]string{"list-other"}, want, []string{"zzz/list"})
	got = nil
	opts = blobstore.ListOptions{PageSize: 4}
	for {
		page, err := s.List(ctx, "", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Objects {
			got = append(got, o.Key)
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged listing of everything:\n got %v\nwant %v", got, want)
	}
	if keys := listKeys(t, s, "list/0"); len(keys) != 10 {
		t.Fatalf("listing a partial segment gave %v", keys)
	}
	_, err = s.List(ctx, "list/", blobstore.ListOptions{PageToken: "!!not a token"})
	wantCode(t, "bad page token", err, enclave.CodeInvalidArgument)
}

func testCopy(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	data := Pattern(3<<20, 5)
	mustPut(t, s, "copy/src", data, blobstore.PutOptions{ContentType: "text/csv", Metadata: map[string]string{"m": "1"}})
	mustPut(t, s, "copy/dst2", []byte("to be replaced"), blobstore.PutOptions{})
	for _, dst := range []string{"copy/dst", "copy/dst2", "elsewhere/deep/dst"} {
		if err := s.Copy(ctx, dst, "copy/src"); err != nil {
			t.Fatalf("copy to %s: %v", dst, err)
		}
		if got := mustRead(t, s, dst); !bytes.Equal(got, data) {
			t.Fatalf("copy to %s: content differs", dst)
		}
		info, err := s.Stat(ctx, dst)
		if err != nil || info.ContentType != "text/csv" || info.Metadata["m"] != "1" {
			t.Fatalf("copy to %s: stat %+v, %v", dst, info, err)
		}
	}
	if err := s.Copy(ctx, "copy/src", "copy/src"); err != nil {
		t.Fatalf("copy onto itself: %v", err)
	}
	if got := mustRead(t, s, "copy/src"); !bytes.Equal(got, data) {
		t.Fatal("copy onto itself changed the object")
	}
	wantKind(t, "copy of a missing object", s.Copy(ctx, "copy/x", "copy/missing"), blobstore.ErrNotFound)
	wantAbsent(t, s, "copy/x")
}

func testDelete(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "del/a", []byte("x"), blobstore.PutOptions{})
	mustPut(t, s, "del/b", []byte("y"), blobstore.PutOptions{})
	if err := s.Delete(ctx, "del/a"); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, s, "del/a")
	wantKind(t, "delete again", s.Delete(ctx, "del/a"), blobstore.ErrNotFound)
	wantKind(t, "delete missing", s.Delete(ctx, "del/never"), blobstore.ErrNotFound)
	wantCode(t, "delete missing", s.Delete(ctx, "del/never"), enclave.CodeNotFound)
	if keys := listKeys(t, s, "del/"); !slices.Equal(keys, []string{"del/b"}) {
		t.Fatalf("after delete: %v", keys)
	}
}

func putPart(t *testing.T, s *blobstore.Store, id string, n int, data []byte) {
	t.Helper()
	p, err := s.PutPart(ctxFor(t), id, n, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("part %d: %v", n, err)
	}
	if p.Number != n || p.Size != int64(len(data)) {
		t.Fatalf("part %d: %+v", n, p)
	}
}

// noUploadsLeft checks that no upload remains by sweeping everything.
func noUploadsLeft(t *testing.T, s *blobstore.Store) {
	t.Helper()
	if n, err := s.SweepUploads(ctxFor(t), -time.Hour); err != nil || n != 0 {
		t.Fatalf("uploads left behind: %d (%v)", n, err)
	}
}

func testMultipart(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	p1, p2, p3 := Pattern(1<<20, 1), Pattern(6<<20+3, 2), []byte("tail")
	id, err := s.CreateUpload(ctx, "mp/object.bin", blobstore.PutOptions{ContentType: "application/x-parquet", Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.StatUpload(ctx, id)
	if err != nil || info.Key != "mp/object.bin" || info.ID != id {
		t.Fatalf("stat upload: %+v, %v", info, err)
	}
	// Out of order, and part 5 is sent but left out of the object.
	putPart(t, s, id, 3, p3)
	putPart(t, s, id, 1, p1)
	putPart(t, s, id, 5, []byte("discarded"))
	putPart(t, s, id, 2, p2)
	parts, err := s.ListParts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, p := range parts {
		nums = append(nums, p.Number)
	}
	if !slices.Equal(nums, []int{1, 2, 3, 5}) || parts[1].Size != int64(len(p2)) {
		t.Fatalf("parts %+v", parts)
	}
	wantAbsent(t, s, "mp/object.bin")

	_, err = s.Complete(ctx, id, []int{1, 4})
	wantKind(t, "complete with a missing part", err, blobstore.ErrPartMissing)
	_, err = s.Complete(ctx, id, []int{2, 1})
	wantCode(t, "complete out of order", err, enclave.CodeInvalidArgument)
	_, err = s.Complete(ctx, id, nil)
	wantCode(t, "complete with no parts", err, enclave.CodeInvalidArgument)
	_, err = s.PutPart(ctx, id, 0, bytes.NewReader(nil))
	wantCode(t, "part 0", err, enclave.CodeInvalidArgument)
	_, err = s.PutPart(ctx, id, blobstore.MaxParts+1, bytes.NewReader(nil))
	wantCode(t, "part past the last", err, enclave.CodeInvalidArgument)

	obj, err := s.Complete(ctx, id, []int{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(p1, p2, p3)
	if obj.Key != "mp/object.bin" || obj.Size != int64(len(want)) || obj.ContentType != "application/x-parquet" || obj.Metadata["k"] != "v" {
		t.Fatalf("completed object %+v", obj)
	}
	if got := mustRead(t, s, "mp/object.bin"); !bytes.Equal(got, want) {
		t.Fatal("completed object holds other bytes")
	}
	_, err = s.ListParts(ctx, id)
	wantKind(t, "parts of a completed upload", err, blobstore.ErrUploadNotFound)
	_, err = s.Complete(ctx, id, []int{1})
	wantKind(t, "complete twice", err, blobstore.ErrUploadNotFound)
	noUploadsLeft(t, s)

	for _, bad := range []string{"", "../../etc", "ABCDEF0123456789ABCDEF0123456789", "0123456789abcdef0123456789abcde/"} {
		_, err := s.PutPart(ctx, bad, 1, bytes.NewReader(nil))
		wantCode(t, "bad upload ID "+bad, err, enclave.CodeInvalidArgument)
	}
	_, err = s.ListParts(ctx, "0123456789abcdef0123456789abcdef")
	wantKind(t, "unknown upload", err, blobstore.ErrUploadNotFound)

	// A create-only upload does not replace an object, and its quota holds.
	id, err = s.CreateUpload(ctx, "mp/object.bin", blobstore.PutOptions{IfNotExist: true})
	if err != nil {
		t.Fatal(err)
	}
	putPart(t, s, id, 1, []byte("x"))
	_, err = s.Complete(ctx, id, []int{1})
	wantKind(t, "create-only upload over an object", err, blobstore.ErrExists)
	id, err = s.CreateUpload(ctx, "mp/quota", blobstore.PutOptions{MaxSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	putPart(t, s, id, 1, Pattern(6, 1))
	putPart(t, s, id, 2, Pattern(6, 2))
	_, err = s.Complete(ctx, id, []int{1, 2})
	wantKind(t, "upload over quota", err, blobstore.ErrQuotaExceeded)
	wantAbsent(t, s, "mp/quota")
}

func testMultipartResume(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	p1, p2, p3 := Pattern(2<<20, 1), Pattern(2<<20, 2), Pattern(100, 3)
	id, err := s.CreateUpload(ctx, "resume/obj", blobstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	putPart(t, s, id, 1, p1)
	// The connection drops while part 2 is sent.
	_, err = s.PutPart(ctx, id, 2, &failingReader{n: 1 << 20, err: io.ErrUnexpectedEOF})
	wantKind(t, "interrupted part", err, io.ErrUnexpectedEOF)
	// The client asks what arrived and sends the rest.
	parts, err := s.ListParts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || parts[0].Number != 1 || parts[0].Size != int64(len(p1)) {
		t.Fatalf("after an interrupted part: %+v", parts)
	}
	putPart(t, s, id, 3, p3)
	putPart(t, s, id, 2, Pattern(10, 9)) // a wrong part 2, replaced next
	putPart(t, s, id, 2, p2)
	if _, err := s.Complete(ctx, id, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, s, "resume/obj"); !bytes.Equal(got, slices.Concat(p1, p2, p3)) {
		t.Fatal("resumed upload holds other bytes")
	}
	noUploadsLeft(t, s)
}

func testMultipartAbortAndSweep(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	id, err := s.CreateUpload(ctx, "ab/obj", blobstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	putPart(t, s, id, 1, Pattern(1000, 1))
	putPart(t, s, id, 2, Pattern(1000, 2))
	if err := s.Abort(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = s.ListParts(ctx, id)
	wantKind(t, "parts of an aborted upload", err, blobstore.ErrUploadNotFound)
	_, err = s.PutPart(ctx, id, 3, bytes.NewReader([]byte("late")))
	wantKind(t, "part of an aborted upload", err, blobstore.ErrUploadNotFound)
	_, err = s.Complete(ctx, id, []int{1, 2})
	wantKind(t, "complete an aborted upload", err, blobstore.ErrUploadNotFound)
	wantKind(t, "abort twice", s.Abort(ctx, id), blobstore.ErrUploadNotFound)
	wantAbsent(t, s, "ab/obj")
	noUploadsLeft(t, s)

	// Two abandoned uploads: a sweep for old ones keeps them, a sweep for
	// everything removes them.
	var ids []string
	for i := range 2 {
		id, err := s.CreateUpload(ctx, fmt.Sprintf("sweep/%d", i), blobstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		putPart(t, s, id, 1, Pattern(100, byte(i)))
		ids = append(ids, id)
	}
	if n, err := s.SweepUploads(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep of hour-old uploads removed %d (%v)", n, err)
	}
	if _, err := s.ListParts(ctx, ids[0]); err != nil {
		t.Fatalf("a recent upload was swept: %v", err)
	}
	if n, err := s.SweepUploads(ctx, -time.Hour); err != nil || n != 2 {
		t.Fatalf("sweep removed %d uploads (%v), want 2", n, err)
	}
	for _, id := range ids {
		_, err := s.ListParts(ctx, id)
		wantKind(t, "parts of a swept upload", err, blobstore.ErrUploadNotFound)
	}
	noUploadsLeft(t, s)
}

func testTier(t *testing.T, s *blobstore.Store) {
	ctx := ctxFor(t)
	data := Pattern(200<<10, 7)
	mustPut(t, s, "tier/old-version", data, blobstore.PutOptions{ContentType: "application/x-enclave", Metadata: map[string]string{"v": "1"}})
	err := s.SetTier(ctx, "tier/old-version", blobstore.TierCold)
	if errors.Is(err, blobstore.ErrTierUnsupported) {
		wantCode(t, "unsupported tier", err, enclave.CodeFailedPrecondition)
		t.Logf("%s has no cold tier: %v", s.Backend(), err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, "tier/old-version")
	if err != nil || info.Tier != blobstore.TierCold {
		t.Fatalf("after SetTier(cold): %+v, %v", info, err)
	}
	if info.ContentType != "application/x-enclave" || info.Metadata["v"] != "1" {
		t.Fatalf("SetTier lost the object's properties: %+v", info)
	}
	// A cold object reads at once: no restore step.
	if got := mustRead(t, s, "tier/old-version"); !bytes.Equal(got, data) {
		t.Fatal("cold object holds other bytes")
	}
	if err := s.SetTier(ctx, "tier/old-version", blobstore.TierCold); err != nil {
		t.Fatalf("SetTier to the tier it is in: %v", err)
	}
	if err := s.SetTier(ctx, "tier/old-version", blobstore.TierHot); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(ctx, "tier/old-version"); err != nil || info.Tier != blobstore.TierHot {
		t.Fatalf("after SetTier(hot): %+v, %v", info, err)
	}
	wantCode(t, "unknown tier", s.SetTier(ctx, "tier/old-version", "warm"), enclave.CodeInvalidArgument)
	wantKind(t, "tier of a missing object", s.SetTier(ctx, "tier/missing", blobstore.TierCold), blobstore.ErrNotFound)
}
