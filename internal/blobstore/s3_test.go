package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/enclave-ml/enclave/internal/blobstore"
	"github.com/enclave-ml/enclave/internal/blobstore/blobtest"
)

// TestS3LargeCopy copies and re-tiers an object the way objects over 5 GiB
// are (UploadPartCopy), with the limit lowered to 5 MiB. gofakes3 has no
// UploadPartCopy, so this needs MinIO.
func TestS3LargeCopy(t *testing.T) {
	b := blobtest.Backend{Name: "s3", Env: blobtest.EnvS3, Open: blobtest.OpenS3}
	b.SkipUnlessAvailable(t)
	s := b.Open(t)
	blobstore.SetS3CopyLimits(s, 5<<20, 5<<20)
	ctx := t.Context()
	data := blobtest.Pattern(12<<20+5, 1)
	src := "large/source with space+plus"
	if _, err := s.Put(ctx, src, bytes.NewReader(data), blobstore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	check := func(key string) blobstore.ObjectInfo {
		t.Helper()
		r, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: read %d bytes (%v), want the %d written", key, len(got), err, len(data))
		}
		info, err := s.Stat(ctx, key)
		if err != nil || info.ContentType != "text/plain" || info.Metadata["k"] != "v" {
			t.Fatalf("%s: %+v, %v", key, info, err)
		}
		return info
	}
	if err := s.Copy(ctx, "large/copy", src); err != nil {
		t.Fatal(err)
	}
	check("large/copy")
	err := s.SetTier(ctx, src, blobstore.TierCold)
	if errors.Is(err, blobstore.ErrTierUnsupported) {
		t.Skipf("no cold class on this server: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if info := check(src); info.Tier != blobstore.TierCold {
		t.Fatalf("after SetTier(cold): %+v", info)
	}
	wantNoMultipartUploads(t, s)
}

// TestS3CancelledPutLeavesNoParts: a cancelled multipart Put aborts its S3
// multipart upload, so no invisible parts stay behind to be paid for.
// (gofakes3 cannot list multipart uploads.)
func TestS3CancelledPutLeavesNoParts(t *testing.T) {
	b := blobtest.Backend{Name: "s3", Env: blobtest.EnvS3, Open: blobtest.OpenS3}
	b.SkipUnlessAvailable(t)
	s := b.Open(t)
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(blobtest.Pattern(11<<20, 1)) // two 5 MiB parts and more
		cancel()
		_, _ = pw.Write(blobtest.Pattern(1<<20, 1))
		pw.Close()
	}()
	if _, err := s.Put(ctx, "big", pr, blobstore.PutOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
	pr.Close()
	wantKind := blobstore.ErrNotFound
	if _, err := s.Stat(t.Context(), "big"); !errors.Is(err, wantKind) {
		t.Fatalf("after a cancelled put: %v", err)
	}
	wantNoMultipartUploads(t, s)
}

func wantNoMultipartUploads(t *testing.T, s *blobstore.Store) {
	t.Helper()
	var c *s3.Client
	if !s.As(&c) {
		t.Fatal("not an S3 store")
	}
	u, _ := url.Parse(s.String())
	out, err := c.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(u.Host)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) > 0 {
		t.Fatalf("%d multipart uploads left in the bucket, the first for %s", len(out.Uploads), aws.ToString(out.Uploads[0].Key))
	}
}
