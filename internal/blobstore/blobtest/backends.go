// Package blobtest is the conformance suite of the blob layer and the
// openers of the backends it runs against: memory, a temporary directory and
// an in-process fake S3 always; MinIO when ENCLAVE_TEST_S3 names it and
// Azurite when ENCLAVE_TEST_AZURE does (scripts/test.sh starts both).
// Packages built on blobstore can run their own tests over Backends too.
package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/enclave-ml/enclave/internal/blobstore"
)

// The environment variables that name external servers. Credentials come
// from the SDKs' usual variables (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY; AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY).
const (
	EnvS3    = "ENCLAVE_TEST_S3"    // e.g. s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1&use_path_style=true
	EnvAzure = "ENCLAVE_TEST_AZURE" // e.g. azblob://container?protocol=http&domain=127.0.0.1:10000
)

// Backend is one backend the suite runs against.
type Backend struct {
	Name string
	// Env names the variable that points at the backend's server; "" when
	// it needs none.
	Env  string
	Open func(t *testing.T) *blobstore.Store
}

// SkipUnlessAvailable skips t, saying why, when b's server is not named.
func (b Backend) SkipUnlessAvailable(t *testing.T) {
	t.Helper()
	if b.Env != "" && os.Getenv(b.Env) == "" {
		t.Skipf("%s is not set; scripts/test.sh starts the server and sets it", b.Env)
	}
}

// Backends returns every backend: those that need a server skip, saying so,
// when its variable is not set.
func Backends() []Backend {
	return []Backend{
		{"mem", "", OpenMem},
		{"file", "", OpenFile},
		{"fakes3", "", OpenFakeS3},
		{"s3", EnvS3, OpenS3},
		{"azure", EnvAzure, OpenAzure},
	}
}

// OpenMem returns an empty in-memory store.
func OpenMem(t *testing.T) *blobstore.Store {
	return open(t, "mem://")
}

// OpenFile returns an empty store in a temporary directory.
func OpenFile(t *testing.T) *blobstore.Store {
	return open(t, (&url.URL{Scheme: "file", Path: t.TempDir()}).String())
}

// OpenFakeS3 returns a store on an in-process gofakes3 server. gofakes3
// keeps no storage class, so its store has no tiers.
func OpenFakeS3(t *testing.T) *blobstore.Store {
	backend := s3mem.New()
	if err := backend.CreateBucket("enclave-test"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return open(t, "s3://enclave-test?region=us-east-1&use_path_style=true&anonymous=true&cold_class=none&endpoint="+url.QueryEscape(srv.URL))
}

// OpenS3 returns a store under a fresh prefix of the bucket ENCLAVE_TEST_S3
// names, creating the bucket if need be, and empties the prefix afterwards.
func OpenS3(t *testing.T) *blobstore.Store {
	return openShared(t, EnvS3, createBucket)
}

// OpenAzure returns a store under a fresh prefix of the container
// ENCLAVE_TEST_AZURE names, creating the container if need be.
func OpenAzure(t *testing.T) *blobstore.Store {
	return openShared(t, EnvAzure, createContainer)
}

func open(t *testing.T, u string) *blobstore.Store {
	t.Helper()
	s, err := blobstore.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var created sync.Map // URL → error of creating its bucket

// SharedURL returns the storage URL of the server ENCLAVE_TEST_S3 (EnvS3)
// or ENCLAVE_TEST_AZURE (EnvAzure) names, under a fresh prefix, with its
// bucket or container created; it skips the test when the variable is not
// set. The caller cleans the prefix up (or leaves it to the server's end).
func SharedURL(t *testing.T, env string) string {
	t.Helper()
	create := createBucket
	if env == EnvAzure {
		create = createContainer
	}
	return sharedURL(t, env, create)
}

func sharedURL(t *testing.T, env string, create func(*blobstore.Store) error) string {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		t.Skipf("%s is not set; scripts/test.sh sets it", env)
	}
	if _, err := url.Parse(raw); err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	once, _ := created.LoadOrStore(raw, sync.OnceValue(func() error {
		s, err := blobstore.Open(context.Background(), raw)
		if err != nil {
			return err
		}
		defer s.Close()
		return create(s)
	}))
	if err := once.(func() error)(); err != nil {
		t.Fatalf("create the bucket of %s: %v", env, err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	var id [8]byte
	_, _ = rand.Read(id[:])
	q.Set("prefix", q.Get("prefix")+"t"+hex.EncodeToString(id[:])+"/")
	u.RawQuery = q.Encode()
	return u.String()
}

// openShared opens a server's bucket under a prefix of its own, so that
// tests neither see each other's objects nor those of earlier runs.
func openShared(t *testing.T, env string, create func(*blobstore.Store) error) *blobstore.Store {
	t.Helper()
	u := sharedURL(t, env, create)
	s := open(t, u)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = s.SweepUploads(ctx, -time.Hour)
		for o, err := range s.All(ctx, "") {
			if err != nil {
				t.Logf("cleanup: %v", err)
				return
			}
			_ = s.Delete(ctx, o.Key)
		}
	})
	return s
}

func createBucket(s *blobstore.Store) error {
	var c *s3.Client
	if !s.As(&c) {
		return errors.New("not an S3 store")
	}
	u, _ := url.Parse(s.String())
	_, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(u.Host)})
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "BucketAlreadyOwnedByYou" || ae.ErrorCode() == "BucketAlreadyExists") {
		return nil
	}
	return err
}

func createContainer(s *blobstore.Store) error {
	var c *container.Client
	if !s.As(&c) {
		return errors.New("not an Azure store")
	}
	_, err := c.Create(context.Background(), nil)
	if bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil
	}
	return err
}
