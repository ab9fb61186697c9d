package objects_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/buckets"
	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

type fixture struct {
	svc  *objects.Service
	dir  string
	db   *sqlstore.DB
	now  time.Time
	keys *keys.Hierarchy
}

func setup(t *testing.T, db *sqlstore.DB) *fixture {
	t.Helper()
	dir := t.TempDir()
	set, err := buckets.New(map[string]string{buckets.Default: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	master := make([]byte, keys.MasterKeySize)
	rand.Read(master)
	ring, err := keys.NewLocalKeyring("local", master)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir, db: db, now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	kekStore := &sqlstore.KEKStore{DB: db}
	h, err := keys.New(keys.Options{Store: kekStore, Providers: []keys.Provider{ring}, Clock: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.keys = h
	f.svc = &objects.Service{Store: &sqlstore.ObjectStore{DB: db}, Buckets: set, Keys: h, KEKs: kekStore, Tx: db,
		Clock: func() time.Time { return f.now }, DefaultKey: keys.KeyRef{Provider: "local", KeyURI: "platform"},
		SegmentSize: 64 << 10, Uploads: &sqlstore.UploadStore{DB: db}}
	return f
}

var place = objects.Placement{Owner: "proj-1", Bucket: buckets.Default}

func (f *fixture) write(t *testing.T, data []byte) *objects.Object {
	t.Helper()
	ctx := context.Background()
	o, err := f.svc.Write(ctx, place, bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.InTx(ctx, func(ctx context.Context) error { return f.svc.Commit(ctx, o) }); err != nil {
		t.Fatal(err)
	}
	return o
}

func (f *fixture) read(t *testing.T, o *objects.Object, off, n int64) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	got, err := f.svc.Store.GetObject(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Open(ctx, got)
	if err != nil {
		return nil, err
	}
	rc, err := r.ReadRange(ctx, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// blobFiles lists the files under the bucket's directory, ignoring directories.
func (f *fixture) blobFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(f.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestWriteReadRanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		data := random(1<<20 + 12345)
		o := f.write(t, data)
		sum := sha256.Sum256(data)
		if o.Size != int64(len(data)) || o.SHA256 != hex.EncodeToString(sum[:]) || o.State != objects.Stored {
			t.Fatalf("object: %+v", o)
		}
		for _, r := range [][2]int64{{0, -1}, {0, 1}, {65535, 10}, {1 << 19, 1 << 18}, {int64(len(data)) - 7, 7}, {int64(len(data)), 0}} {
			got, err := f.read(t, o, r[0], r[1])
			want := data[r[0]:]
			if r[1] >= 0 {
				want = want[:r[1]]
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("range %v: %d bytes, %v", r, len(got), err)
			}
		}
		if _, err := f.read(t, o, int64(len(data))+1, 1); enclave.ErrorCode(err) != enclave.CodeInvalidArgument {
			t.Fatalf("range past the end: %v", err)
		}
		// Only ciphertext reaches the disk.
		for _, p := range f.blobFiles(t) {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, data[1000:1064]) {
				t.Fatalf("%s holds plaintext", p)
			}
		}
	})
}

type failingReader struct {
	r     io.Reader
	after int
	n     int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errors.New("client went away")
	}
	if len(p) > f.after-f.n {
		p = p[:f.after-f.n]
	}
	n, err := f.r.Read(p)
	f.n += n
	return n, err
}

func TestFailedWritesLeaveNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		ctx := context.Background()
		count := func() int {
			var n int
			db.SQL.QueryRow(`SELECT COUNT(*) FROM objects`).Scan(&n)
			return n
		}
		// Over the limit.
		if _, err := f.svc.Write(ctx, place, bytes.NewReader(random(300000)), 200000); enclave.ErrorCode(err) != enclave.CodeTooLarge {
			t.Fatalf("over the limit: %v", err)
		}
		// Exactly at the limit is fine.
		if o, err := f.svc.Write(ctx, place, bytes.NewReader(random(200000)), 200000); err != nil || o.Size != 200000 {
			t.Fatalf("at the limit: %v", err)
		} else {
			f.svc.Discard(ctx, o)
		}
		// The client goes away midway.
		if _, err := f.svc.Write(ctx, place, &failingReader{r: bytes.NewReader(random(1 << 20)), after: 300000}, 0); err == nil ||
			!strings.Contains(err.Error(), "went away") {
			t.Fatalf("broken reader: %v", err)
		}
		// The request is cancelled midway.
		cctx, cancel := context.WithCancel(ctx)
		pr, pw := io.Pipe()
		go func() {
			pw.Write(random(200000))
			cancel()
			pw.Write(random(200000))
			pw.Close()
		}()
		if _, err := f.svc.Write(cctx, place, pr, 0); err == nil {
			t.Fatal("cancelled write succeeded")
		}
		if n := count(); n != 0 {
			t.Fatalf("%d object rows left", n)
		}
		if files := f.blobFiles(t); len(files) != 0 {
			t.Fatalf("files left: %v", files)
		}
	})
}

func TestCorruptionIsDetected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		data := random(300000)
		o := f.write(t, data)
		files := f.blobFiles(t)
		if len(files) != 1 {
			t.Fatalf("files: %v", files)
		}
		b, _ := os.ReadFile(files[0])
		b[200000] ^= 1
		os.WriteFile(files[0], b, 0o600)
		if _, err := f.read(t, o, 0, -1); !errors.Is(err, objects.ErrCorrupt) {
			t.Fatalf("corrupt read: %v", err)
		}
		// A range before the damage still reads; one over it does not.
		if got, err := f.read(t, o, 0, 1000); err != nil || !bytes.Equal(got, data[:1000]) {
			t.Fatalf("undamaged range: %v", err)
		}
		if _, err := f.read(t, o, 190000, 20000); !errors.Is(err, objects.ErrCorrupt) {
			t.Fatalf("damaged range: %v", err)
		}
		// Truncation at a segment boundary.
		os.WriteFile(files[0], b[:64<<10], 0o600)
		if _, err := f.read(t, o, 0, -1); !errors.Is(err, objects.ErrCorrupt) {
			t.Fatalf("truncated read: %v", err)
		}
	})
}

func TestRotateAndDestroy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		ctx := context.Background()
		var objs []*objects.Object
		var datas [][]byte
		for range 3 {
			d := random(100000)
			datas = append(datas, d)
			objs = append(objs, f.write(t, d))
		}
		blobOf := func(o *objects.Object) []byte {
			for _, p := range f.blobFiles(t) {
				if strings.HasSuffix(p, o.ID) {
					b, _ := os.ReadFile(p)
					return b
				}
			}
			t.Fatalf("no blob for %s", o.ID)
			return nil
		}
		blobBefore := blobOf(objs[0])
		// A write in flight while the key rotates.
		inflight, err := f.svc.Write(ctx, place, bytes.NewReader(random(5000)), 0)
		if err != nil {
			t.Fatal(err)
		}
		rot, err := f.svc.RotateKey(ctx, place.Owner, keys.KeyRef{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rot.Version != 2 || rot.Rewrapped != 4 || len(rot.Retired) != 1 || rot.Retired[0] != 1 {
			t.Fatalf("rotation: %+v", rot)
		}
		if err := db.InTx(ctx, func(ctx context.Context) error { return f.svc.Commit(ctx, inflight) }); err != nil {
			t.Fatalf("commit after rotation: %v", err)
		}
		if inflight.KEKVersion != 2 {
			t.Fatalf("in-flight object wrapped under %d", inflight.KEKVersion)
		}
		for i, o := range objs {
			if got, err := f.read(t, o, 0, -1); err != nil || !bytes.Equal(got, datas[i]) {
				t.Fatalf("read after rotation: %v", err)
			}
		}
		if _, err := f.read(t, inflight, 0, -1); err != nil {
			t.Fatalf("in-flight object after rotation: %v", err)
		}
		// The data was not re-encrypted.
		if blobAfter := blobOf(objs[0]); !bytes.Equal(blobBefore, blobAfter) {
			t.Fatal("rotation rewrote the data")
		}
		if err := f.svc.DestroyKey(ctx, place.Owner); err != nil {
			t.Fatal(err)
		}
		for _, o := range append(objs, inflight) {
			if _, err := f.read(t, o, 0, -1); !errors.Is(err, keys.ErrKeyDestroyed) {
				t.Fatalf("read after destruction: %v", err)
			}
		}
		if _, err := f.svc.Write(ctx, place, bytes.NewReader([]byte("x")), 0); !errors.Is(err, keys.ErrKeyDestroyed) {
			t.Fatalf("write after destruction: %v", err)
		}
		// The server dies before it purges: the sweeper finishes the job,
		// and leaves other owners' objects alone.
		other, err := f.svc.Write(ctx, objects.Placement{Owner: "proj-2", Bucket: place.Bucket}, bytes.NewReader([]byte("kept")), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(ctx context.Context) error { return f.svc.Commit(ctx, other) }); err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.Sweep(ctx, time.Hour); err != nil || n != 4 || len(f.blobFiles(t)) != 1 {
			t.Fatalf("sweep after destruction: %d %v %v", n, err, f.blobFiles(t))
		}
		if got, err := f.read(t, other, 0, -1); err != nil || string(got) != "kept" {
			t.Fatalf("another owner's object: %q %v", got, err)
		}
		if n, err := f.svc.Sweep(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("second sweep: %d %v", n, err)
		}
		if n, err := f.svc.Purge(ctx, place.Owner); err != nil || n != 0 {
			t.Fatalf("second purge: %d %v", n, err)
		}
		for _, o := range objs {
			if _, err := f.read(t, o, 0, -1); !errors.Is(err, keys.ErrKeyDestroyed) {
				t.Fatalf("read after purge: %v", err)
			}
		}
	})
}

func TestSweepRemovesAbandonedWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		ctx := context.Background()
		kept := f.write(t, random(1000))
		if _, err := f.svc.Write(ctx, place, bytes.NewReader(random(1000)), 0); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.svc.Sweep(ctx, time.Hour); n != 0 {
			t.Fatalf("swept %d fresh writes", n)
		}
		f.now = f.now.Add(2 * time.Hour)
		if n, err := f.svc.Sweep(ctx, time.Hour); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if len(f.blobFiles(t)) != 1 {
			t.Fatalf("files: %v", f.blobFiles(t))
		}
		if _, err := f.read(t, kept, 0, -1); err != nil {
			t.Fatal(err)
		}
	})
}
