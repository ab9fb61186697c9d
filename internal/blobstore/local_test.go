package blobstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/blobstore"
	"github.com/enclave-ml/enclave/internal/blobstore/blobtest"
)

func openDir(t *testing.T, dir string) *blobstore.Store {
	t.Helper()
	s, err := blobstore.Open(t.Context(), (&url.URL{Scheme: "file", Path: dir}).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// files lists every file and directory under dir with its mode.
func files(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLocalPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "blobs")
	s := openDir(t, dir)
	ctx := t.Context()
	if _, err := s.Put(ctx, "p/d/obj", strings.NewReader("secret-ish"), blobstore.PutOptions{Metadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Copy(ctx, "p/e/copy", "p/d/obj"); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateUpload(ctx, "p/mp", blobstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPart(ctx, id, 1, strings.NewReader("part")); err != nil {
		t.Fatal(err)
	}
	for name, mode := range files(t, dir) {
		want := fs.FileMode(0o600)
		if mode.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if mode != want {
			t.Errorf("%s has mode %v, want %v", name, mode, want)
		}
	}
}

// TestLocalAbortLeavesNoFiles: a cancelled or failed write leaves no object,
// no temporary file and no metadata sidecar in the directory.
func TestLocalAbortLeavesNoFiles(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	ctx := t.Context()
	if _, err := s.Put(ctx, "keep", strings.NewReader("v1"), blobstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	before := files(t, dir)

	cctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(blobtest.Pattern(1<<20, 1))
		cancel() // the client goes away mid-stream
		_, _ = pw.Write(blobtest.Pattern(1<<20, 2))
		pw.Close()
	}()
	if _, err := s.Put(cctx, "d/cancelled", pr, blobstore.PutOptions{Metadata: map[string]string{"a": "b"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
	pr.Close()
	boom := errors.New("disk of the client died")
	if _, err := s.Put(ctx, "keep", io.MultiReader(bytes.NewReader(blobtest.Pattern(3<<20, 1)), &errReader{boom}), blobstore.PutOptions{}); !errors.Is(err, boom) {
		t.Fatalf("failed put: %v", err)
	}
	if _, err := s.Put(ctx, "q", bytes.NewReader(blobtest.Pattern(2000, 1)), blobstore.PutOptions{MaxSize: 1000}); !errors.Is(err, blobstore.ErrQuotaExceeded) {
		t.Fatalf("put over quota: %v", err)
	}
	after := files(t, dir)
	delete(after, "d") // fileblob makes the directory before it writes
	if !mapsEqual(before, after) {
		t.Fatalf("aborted writes left files:\nbefore %v\nafter  %v", before, after)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func mapsEqual(a, b map[string]fs.FileMode) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestLocalSweep: what a killed process leaves (temporary files, a sidecar
// without its object, an upload's directory) goes once it is old enough.
func TestLocalSweep(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	ctx := t.Context()
	if _, err := s.Put(ctx, "d/obj", strings.NewReader("x"), blobstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	stale := []string{"d/obj2.18a3f0c1d2e3f4a5.tmp", "d/gone.attrs", ".uploads/0123456789abcdef0123456789abcdef/part-00001.1f.tmp"}
	for _, name := range append(stale, "d/fresh.18a3f0c1d2e3f4a6.tmp") {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range append(stale, ".uploads/0123456789abcdef0123456789abcdef", ".uploads") {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if keys := listAll(t, s); !slices.Equal(keys, []string{"d/obj"}) {
		t.Fatalf("leftovers are listed: %v", keys)
	}
	if _, err := s.SweepUploads(ctx, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	got := files(t, dir)
	for _, name := range stale {
		if _, ok := got[name]; ok {
			t.Errorf("sweep left %s", name)
		}
	}
	for _, name := range []string{"d/obj", "d/obj.attrs", "d/fresh.18a3f0c1d2e3f4a6.tmp"} {
		if _, ok := got[name]; !ok {
			t.Errorf("sweep removed %s", name)
		}
	}
	if _, ok := got[".uploads/0123456789abcdef0123456789abcdef"]; ok {
		t.Error("sweep left the empty upload directory")
	}
}

func listAll(t *testing.T, s *blobstore.Store) []string {
	var keys []string
	for o, err := range s.All(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func TestOpenErrors(t *testing.T) {
	for _, u := range []string{
		"file://relative/dir", "file:///tmp/x?create_dir=1", "file://otherhost/tmp/x",
		"ftp://x", "mem://?x=1", "mem:///path", "mem://?prefix=../", "mem://?prefix=a",
		"s3://b?region=us-east-1&nonsense=1", "azblob://c?nonsense=1", "::",
	} {
		if s, err := blobstore.Open(t.Context(), u); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
	s, err := blobstore.Open(t.Context(), "mem://?prefix=zones/eu/&cold_class=none")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Backend() != blobstore.BackendMem || s.String() != "mem:" {
		t.Errorf("Backend %q, String %q", s.Backend(), s.String())
	}
}

// TestPrefixIsolation: two stores on one bucket with different prefixes
// see only their own objects.
func TestPrefixIsolation(t *testing.T) {
	dir := t.TempDir()
	a, err := blobstore.Open(t.Context(), "file://"+dir+"?prefix=zone-a/")
	if err != nil {
		t.Fatal(err)
	}
	b, err := blobstore.Open(t.Context(), "file://"+dir+"?prefix=zone-b/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, s := range []*blobstore.Store{a, b} {
		if _, err := s.Put(ctx, "obj", strings.NewReader(s.String()), blobstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Put(ctx, "only-a", strings.NewReader("x"), blobstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if keys := listAll(t, b); !slices.Equal(keys, []string{"obj"}) {
		t.Fatalf("zone-b lists %v", keys)
	}
	if _, err := os.Stat(filepath.Join(dir, "zone-a", "only-a")); err != nil {
		t.Fatal(err)
	}
}

// generator produces n bytes of a pattern without holding them, hashes
// them, and samples the heap as it goes.
type generator struct {
	left   int64
	block  []byte
	sum    hash.Hash
	sample func()
	since  int64
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), g.left)], g.block)
	g.sum.Write(p[:n])
	g.left -= int64(n)
	if g.since += int64(n); g.since >= 16<<20 {
		g.since = 0
		g.sample()
	}
	return n, nil
}

// TestConstantMemory streams 512 MiB through Put and back through Get on
// the local backend and checks that the heap does not grow with the size.
func TestConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 512 MiB; skipped with -short")
	}
	const size = 512 << 20
	s := openDir(t, t.TempDir())
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	gen := &generator{left: size, block: blobtest.Pattern(64<<10, 42), sum: sha256.New(), sample: sample}
	n, err := s.Put(t.Context(), "big/object", gen, blobstore.PutOptions{})
	if err != nil || n != size {
		t.Fatalf("put: %d bytes, %v", n, err)
	}
	r, err := s.Get(t.Context(), "big/object")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	back := &sampledHash{h: sha256.New(), sample: sample}
	if n, err := io.Copy(back, r); err != nil || n != size {
		t.Fatalf("get: %d bytes, %v", n, err)
	}
	if !bytes.Equal(gen.sum.Sum(nil), back.h.Sum(nil)) {
		t.Fatal("read back other bytes than were written")
	}
	growth := int64(peak) - int64(base)
	t.Logf("heap in use grew by %.1f MiB while streaming %d MiB", float64(growth)/(1<<20), size>>20)
	if growth > 32<<20 {
		t.Fatalf("heap grew by %d MiB streaming %d MiB: not constant memory", growth>>20, size>>20)
	}
}

type sampledHash struct {
	h      hash.Hash
	sample func()
	since  int
}

func (s *sampledHash) Write(p []byte) (int, error) {
	if s.since += len(p); s.since >= 16<<20 {
		s.since = 0
		s.sample()
	}
	return s.h.Write(p)
}
