package blobstore

// SetS3CopyLimits lowers the size above which S3 objects are copied part by
// part, so that a test can exercise that path with small objects.
func SetS3CopyLimits(s *Store, limit, partSize int64) {
	s.s3CopyLimit, s.s3PartSize = limit, partSize
}
