package objects_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func (f *fixture) putPart(t *testing.T, u *objects.Upload, n int, data []byte) objects.UploadPart {
	t.Helper()
	p, err := f.svc.PutPart(context.Background(), u, n, bytes.NewReader(data), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// complete joins an upload's parts into a stored object, as a caller does.
func (f *fixture) complete(t *testing.T, u *objects.Upload) (*objects.Object, error) {
	t.Helper()
	ctx := context.Background()
	r, err := f.svc.OpenUpload(ctx, u)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	o, err := f.svc.Write(ctx, place, r, 0)
	if err != nil {
		return nil, err
	}
	err = f.db.InTx(ctx, func(ctx context.Context) error {
		if err := f.svc.Commit(ctx, o); err != nil {
			return err
		}
		return f.svc.FinishUpload(ctx, u)
	})
	if err != nil {
		f.svc.Discard(ctx, o)
		return nil, err
	}
	f.svc.RemoveParts(ctx, u)
	return o, nil
}

func TestMultipartUpload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		ctx := context.Background()
		parts := [][]byte{random(100_000), random(70_000), random(5)}
		u, err := f.svc.CreateUpload(ctx, place, "target-1", "alice")
		if err != nil {
			t.Fatal(err)
		}
		// Out of order, and part 2 sent twice (a retry after a broken
		// connection): the second replaces the first, whose object goes.
		f.putPart(t, u, 3, parts[2])
		f.putPart(t, u, 2, random(70_000))
		f.putPart(t, u, 2, parts[1])
		got, err := f.svc.GetUpload(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Parts) != 2 || got.Parts[0].Number != 2 || got.Parts[1].Number != 3 || got.Size() != 70_005 {
			t.Fatalf("parts %+v", got.Parts)
		}
		if len(f.blobFiles(t)) != 2 {
			t.Fatalf("the replaced part's blob stayed: %v", f.blobFiles(t))
		}
		// A client resuming sees part 1 missing; completing without it is refused.
		if _, err := f.complete(t, got); enclave.ErrorCode(err) != enclave.CodeFailedPrecondition {
			t.Fatalf("complete without part 1: %v", err)
		}
		f.putPart(t, u, 1, parts[0])
		if got, err = f.svc.GetUpload(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		// A part replaced while the upload is being completed: the
		// completion is refused rather than storing something else.
		stale := *got
		f.putPart(t, u, 3, parts[2])
		if _, err := f.complete(t, &stale); enclave.ErrorCode(err) != enclave.CodeFailedPrecondition && enclave.ErrorCode(err) != enclave.CodeNotFound {
			t.Fatalf("complete with a replaced part: %v", err)
		}
		if got, err = f.svc.GetUpload(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		o, err := f.complete(t, got)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Join(parts, nil)
		if o.Size != int64(len(want)) || o.SHA256 != sha(want) {
			t.Fatalf("object %d bytes %s", o.Size, o.SHA256)
		}
		if b, err := f.read(t, o, 99_990, 20); err != nil || !bytes.Equal(b, want[99_990:100_010]) {
			t.Fatalf("range across the parts' boundary: %v", err)
		}
		// The upload and its parts are gone: one blob, one row.
		if _, err := f.svc.GetUpload(ctx, u.ID); enclave.ErrorCode(err) != enclave.CodeNotFound {
			t.Fatalf("upload after completion: %v", err)
		}
		if files := f.blobFiles(t); len(files) != 1 {
			t.Fatalf("blobs %v", files)
		}
		if n, _ := f.svc.Store.OwnerUsage(ctx, place.Owner); n != int64(len(want)) {
			t.Fatalf("usage %d", n)
		}
		if _, err := f.svc.PutPart(ctx, got, 4, bytes.NewReader([]byte("late")), 0, nil); enclave.ErrorCode(err) != enclave.CodeNotFound {
			t.Fatalf("a part after completion: %v", err)
		}
		if len(f.blobFiles(t)) != 1 {
			t.Fatalf("the late part's blob stayed: %v", f.blobFiles(t))
		}
		for _, bad := range []string{"", "../x", "0193", u.ID + "x"} {
			if _, err := f.svc.GetUpload(ctx, bad); enclave.ErrorCode(err) != enclave.CodeNotFound {
				t.Fatalf("upload %q: %v", bad, err)
			}
		}
		if _, err := f.svc.PutPart(ctx, got, 0, bytes.NewReader(nil), 0, nil); enclave.ErrorCode(err) != enclave.CodeInvalidArgument {
			t.Fatalf("part 0: %v", err)
		}
		if _, err := f.svc.PutPart(ctx, got, objects.MaxParts+1, bytes.NewReader(nil), 0, nil); enclave.ErrorCode(err) != enclave.CodeInvalidArgument {
			t.Fatalf("part %d: %v", objects.MaxParts+1, err)
		}
	})
}

func TestUploadsExpire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		ctx := context.Background()
		u, err := f.svc.CreateUpload(ctx, place, "target-1", "alice")
		if err != nil {
			t.Fatal(err)
		}
		f.putPart(t, u, 1, random(1000))
		f.putPart(t, u, 2, random(1000))
		aborted, err := f.svc.CreateUpload(ctx, place, "target-1", "alice")
		if err != nil {
			t.Fatal(err)
		}
		f.putPart(t, aborted, 1, random(10))
		if err := db.InTx(ctx, func(ctx context.Context) error { return f.svc.AbortUpload(ctx, aborted) }); err != nil {
			t.Fatal(err)
		}
		f.svc.RemoveParts(ctx, aborted)
		if files := f.blobFiles(t); len(files) != 2 {
			t.Fatalf("after abort: %v", files)
		}
		if n, err := f.svc.Sweep(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("swept a live upload: %d %v", n, err)
		}
		f.now = f.now.Add(objects.DefaultUploadTTL)
		if _, err := f.svc.GetUpload(ctx, u.ID); enclave.ErrorCode(err) != enclave.CodeNotFound {
			t.Fatalf("expired upload: %v", err)
		}
		if _, err := f.svc.PutPart(ctx, u, 3, bytes.NewReader(random(10)), 0, nil); enclave.ErrorCode(err) != enclave.CodeNotFound {
			t.Fatalf("part of an expired upload: %v", err)
		}
		if n, err := f.svc.Sweep(ctx, time.Hour); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if files := f.blobFiles(t); len(files) != 0 {
			t.Fatalf("after sweep: %v", files)
		}
		if n, _ := f.svc.Store.OwnerUsage(ctx, place.Owner); n != 0 {
			t.Fatalf("usage %d", n)
		}
	})
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
