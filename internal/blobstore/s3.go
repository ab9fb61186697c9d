package blobstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3Copy copies src to dst inside S3, into the given storage class ("" for
// the default). CopyObject takes objects up to 5 GiB; larger ones are
// copied in parts with UploadPartCopy, still without passing through here.
func (s *Store) s3Copy(ctx context.Context, dst, src, class string) error {
	a, err := s.bucket.Attributes(ctx, src)
	if err != nil {
		return fail("copy", src, err)
	}
	var head s3.HeadObjectOutput
	if !a.As(&head) {
		return fail("copy", src, errors.New("no S3 head of the source"))
	}
	if a.Size <= s.s3CopyLimit {
		in := &s3.CopyObjectInput{
			Bucket:            aws.String(s.s3Bucket),
			Key:               aws.String(dst),
			CopySource:        aws.String(s.s3CopySource(src)),
			MetadataDirective: s3types.MetadataDirectiveCopy,
			StorageClass:      s3types.StorageClass(class),
		}
		if s.s3SSE != "" {
			in.ServerSideEncryption = s.s3SSE
		}
		if s.s3KMSKey != "" {
			in.SSEKMSKeyId = aws.String(s.s3KMSKey)
		}
		_, err = s.s3Client.CopyObject(ctx, in)
	} else {
		err = s.s3MultipartCopy(ctx, dst, src, a.Size, &head, class)
	}
	return s3Fail("copy", src, err)
}

// s3CopySource is the x-amz-copy-source of a key: bucket/key, URL-encoded.
func (s *Store) s3CopySource(key string) string {
	return url.PathEscape(s.s3Bucket + "/" + key)
}

// s3MultipartCopy copies an object too large for CopyObject. A multipart
// upload does not copy the source's properties, so they are set on it; a
// failure aborts the upload so that no parts are left to pay for.
func (s *Store) s3MultipartCopy(ctx context.Context, dst, src string, size int64, head *s3.HeadObjectOutput, class string) (err error) {
	partSize := max(s.s3PartSize, (size+9999)/10000) // S3 allows 10,000 parts
	in := &s3.CreateMultipartUploadInput{
		Bucket:             aws.String(s.s3Bucket),
		Key:                aws.String(dst),
		ContentType:        head.ContentType,
		CacheControl:       head.CacheControl,
		ContentDisposition: head.ContentDisposition,
		ContentEncoding:    head.ContentEncoding,
		ContentLanguage:    head.ContentLanguage,
		Metadata:           head.Metadata,
		StorageClass:       s3types.StorageClass(class),
	}
	if s.s3SSE != "" {
		in.ServerSideEncryption = s.s3SSE
	}
	if s.s3KMSKey != "" {
		in.SSEKMSKeyId = aws.String(s.s3KMSKey)
	}
	up, err := s.s3Client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = s.s3Client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
				Bucket: aws.String(s.s3Bucket), Key: aws.String(dst), UploadId: up.UploadId,
			})
		}
	}()
	var parts []s3types.CompletedPart
	for n, off := int32(1), int64(0); off < size; n, off = n+1, off+partSize {
		out, err := s.s3Client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket:          aws.String(s.s3Bucket),
			Key:             aws.String(dst),
			UploadId:        up.UploadId,
			PartNumber:      aws.Int32(n),
			CopySource:      aws.String(s.s3CopySource(src)),
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, min(off+partSize, size)-1)),
		})
		if err != nil {
			return err
		}
		if out.CopyPartResult == nil {
			return errors.New("UploadPartCopy returned no part")
		}
		parts = append(parts, s3types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
	}
	_, err = s.s3Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.s3Bucket),
		Key:             aws.String(dst),
		UploadId:        up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

// s3Fail translates an error of the S3 client used directly (gocloud
// translates its own calls').
func s3Fail(op, key string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return &opError{op: op, key: key, kind: ErrNotFound, cause: err}
		case "InvalidStorageClass":
			return &opError{op: op, key: key, kind: ErrTierUnsupported, cause: err}
		}
	}
	return fail(op, key, err)
}
