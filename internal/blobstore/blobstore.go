// Package blobstore is Enclave's object-storage adapter: one Store over
// gocloud.dev/blob for a local directory, S3, Azure Blob Storage, Google Cloud
// Storage and memory, chosen by a URL per zone.
//
// It streams objects of any size in constant memory, reads byte ranges, runs
// resumable multipart uploads that work the same on every backend, moves
// objects between a hot and a cold tier where the backend has tiers, and
// validates every key with ValidKey before a backend sees it. It stores the
// bytes it is given: encryption happens above it. See
// docs/design/0010-blob-layer.md.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // registers azblob://
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob" // registers gs://
	"gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob" // registers s3://
)

// Backend names the kind of storage behind a Store; it is the URL scheme.
type Backend string

// The backends Open knows.
const (
	BackendLocal Backend = "file"
	BackendMem   Backend = "mem"
	BackendS3    Backend = "s3"
	BackendAzure Backend = "azblob"
	BackendGCS   Backend = "gs"
)

// Store is one bucket (or container, or directory), optionally narrowed to a
// key prefix. Its methods are safe for concurrent use.
type Store struct {
	bucket  *blob.Bucket
	backend Backend
	url     string // for String; carries no secret
	prefix  string // prepended to every key; "" or ends in "/"
	dir     string // the local backend's root directory

	// Storage class (S3, GCS) or access tier (Azure) of each Tier.
	hotClass, coldClass string

	s3Client    *s3.Client
	s3Bucket    string
	s3SSE       s3types.ServerSideEncryption
	s3KMSKey    string
	s3CopyLimit int64 // larger objects are copied part by part
	s3PartSize  int64 // smallest part of such a copy

	azContainer *container.Client

	// On the local backend, fileblob writes an object's data and its
	// metadata sidecar in two steps; concurrent writers of one key could
	// pair one's data with the other's metadata. Writers of a key finish
	// under one of these locks.
	keyLocks [64]sync.Mutex

	bytesIn, bytesOut atomic.Int64
}

// Open returns the Store a URL names:
//
//	file:///var/lib/enclave/blobs          a local directory (created 0700)
//	mem://                                 memory, for tests
//	s3://bucket?region=eu-west-1           S3 or an S3-compatible server
//	azblob://container?storage_account=a   Azure Blob Storage
//	gs://bucket                            Google Cloud Storage
//
// Every scheme accepts prefix=dir/ (keys live under it), hot_class= and
// cold_class= (the storage class or access tier of each Tier; cold_class=none
// for a service without tiers, where SetTier fails with ErrTierUnsupported); the remaining
// parameters go to the gocloud driver (endpoint, use_path_style, ssetype,
// protocol, domain, localemu, …). Credentials come from the environment as
// each cloud's SDK reads them, never from the URL.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blobstore: parse URL: %w", err)
	}
	q := u.Query()
	s := &Store{backend: Backend(u.Scheme), s3CopyLimit: 5 << 30, s3PartSize: 512 << 20}
	s.prefix = q.Get("prefix")
	if s.prefix != "" && (!strings.HasSuffix(s.prefix, "/") || ValidKey(strings.TrimSuffix(s.prefix, "/")) != nil) {
		return nil, fmt.Errorf("blobstore: prefix %q must be a valid key followed by /", s.prefix)
	}
	s.hotClass, s.coldClass = defaultClasses(s.backend)
	if v := q.Get("hot_class"); v != "" {
		s.hotClass = v
	}
	if v := q.Get("cold_class"); v != "" {
		s.coldClass = v
	}
	if s.coldClass == "none" { // an S3-compatible server without tiers
		s.hotClass, s.coldClass = "", ""
	}
	for _, p := range []string{"prefix", "hot_class", "cold_class"} {
		q.Del(p)
	}
	u.RawQuery = q.Encode()
	s.url = u.String()

	switch s.backend {
	case BackendLocal:
		err = s.openLocal(u)
	case BackendMem:
		if len(q) > 0 || u.Path != "" {
			return nil, errors.New("blobstore: mem:// takes no path or parameters but prefix")
		}
		s.bucket = memblob.OpenBucket(nil)
	case BackendS3:
		// Reads are authenticated above this layer, and the SDK's
		// response validation cannot check ranges or multipart objects
		// (it logs a warning for each); requests keep their checksums.
		if !q.Has("response_checksum_validation") {
			q.Set("response_checksum_validation", "when_required")
			u.RawQuery = q.Encode()
		}
		s.s3Bucket = u.Host
		s.s3SSE = s3types.ServerSideEncryption(q.Get("ssetype"))
		s.s3KMSKey = q.Get("kmskeyid")
		if s.bucket, err = blob.OpenBucket(ctx, u.String()); err == nil && !s.bucket.As(&s.s3Client) {
			err = errors.New("no S3 client behind the bucket")
		}
	case BackendAzure:
		if s.bucket, err = blob.OpenBucket(ctx, u.String()); err == nil && !s.bucket.As(&s.azContainer) {
			err = errors.New("no Azure container client behind the bucket")
		}
	case BackendGCS:
		s.bucket, err = blob.OpenBucket(ctx, u.String())
	default:
		return nil, fmt.Errorf("blobstore: unknown URL scheme %q (want file, mem, s3, azblob or gs)", u.Scheme)
	}
	if err != nil {
		if s.bucket != nil {
			_ = s.bucket.Close()
		}
		return nil, fmt.Errorf("blobstore: open %s: %w", s.url, err)
	}
	return s, nil
}

// openLocal opens file:///dir with the options the local backend needs:
// the directory and every subdirectory 0700, temporary files next to their
// object (so the final rename never crosses file systems and the data never
// sits in a shared /tmp).
func (s *Store) openLocal(u *url.URL) error {
	if len(u.Query()) > 0 {
		return errors.New("file:// takes no parameters but prefix, hot_class and cold_class")
	}
	if u.Host != "" && u.Host != "localhost" {
		return fmt.Errorf("file URL names host %q; write file:///absolute/dir", u.Host)
	}
	dir := filepath.Clean(filepath.FromSlash(u.Path))
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("file URL path %q is not absolute", u.Path)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{DirFileMode: 0o700, NoTempDir: true})
	if err != nil {
		return err
	}
	s.bucket, s.dir = b, dir
	return nil
}

// defaultClasses returns the storage class or access tier of TierHot and
// TierCold on a backend; see docs/design/0010-blob-layer.md for the choice.
func defaultClasses(b Backend) (hot, cold string) {
	switch b {
	case BackendS3:
		return "STANDARD", "GLACIER_IR"
	case BackendAzure:
		return "Hot", "Cold"
	case BackendGCS:
		return "STANDARD", "COLDLINE"
	}
	return "", ""
}

// Backend reports the kind of storage behind s.
func (s *Store) Backend() Backend { return s.backend }

// String returns the URL s was opened with, less the parameters Open
// consumed. It never contains a credential.
func (s *Store) String() string { return s.url }

// As exposes the backend's client as gocloud's Bucket.As does (*s3.Client,
// *container.Client, *storage.Client), for administration and tests.
func (s *Store) As(target any) bool { return s.bucket.As(target) }

// Close releases the backend's resources.
func (s *Store) Close() error { return s.bucket.Close() }

// Stats counts the bytes a Store moved since it was opened.
type Stats struct {
	BytesIn  int64 // written by Put, PutPart and Complete
	BytesOut int64 // delivered by readers
}

// Stats returns the byte counters.
func (s *Store) Stats() Stats {
	return Stats{BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load()}
}

// full returns the backend key for a caller's key.
func (s *Store) full(key string) string { return s.prefix + key }

// checkKey validates a caller's key and returns its backend key.
func (s *Store) checkKey(key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	full := s.full(key)
	if len(full) > MaxKeyLen {
		return "", ValidKey(strings.Repeat("x", MaxKeyLen+1)) // "is longer than 1024 bytes"
	}
	return full, nil
}
