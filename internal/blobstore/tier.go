package blobstore

import (
	"context"
	"errors"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Tier is where an object is kept: hot storage, or a cheaper cold class
// for objects read rarely (old dataset versions). Both read immediately; no
// tier needs a restore step before GetRange works.
type Tier string

// The tiers.
const (
	TierHot  Tier = "hot"
	TierCold Tier = "cold"
)

// SetTier moves an object to a tier: on S3 and GCS by copying it onto
// itself with the tier's storage class, on Azure by setting its access tier.
// The local and memory backends have no tiers: ErrTierUnsupported, as when
// the service refuses the class (MinIO knows only STANDARD and
// REDUCED_REDUNDANCY).
func (s *Store) SetTier(ctx context.Context, key string, tier Tier) error {
	full, err := s.checkKey(key)
	if err != nil {
		return err
	}
	var class string
	switch tier {
	case TierHot:
		class = s.hotClass
	case TierCold:
		class = s.coldClass
	default:
		return enclave.FieldError("tier", "tier must be hot or cold")
	}
	if class == "" {
		return kindError("set tier", full, ErrTierUnsupported)
	}
	cur, err := s.stat(ctx, full)
	if err != nil {
		return err
	}
	if cur.StorageClass == class {
		return nil // S3 refuses a copy onto itself that changes nothing
	}
	switch s.backend {
	case BackendS3:
		err = s.s3Copy(ctx, full, full, class)
	case BackendAzure:
		_, err = s.azContainer.NewBlobClient(full).SetTier(ctx, azblobblob.AccessTier(class), nil)
		var re *azcore.ResponseError
		if errors.As(err, &re) && (re.ErrorCode == "InvalidBlobTier" || re.ErrorCode == "InvalidHeaderValue" || re.ErrorCode == "FeatureNotSupportedForAccount") {
			return &opError{op: "set tier", key: full, kind: ErrTierUnsupported, cause: err}
		}
	case BackendGCS:
		err = s.gcsSetClass(ctx, full, class)
	default:
		return kindError("set tier", full, ErrTierUnsupported)
	}
	return fail("set tier", full, err)
}

// gcsSetClass rewrites a GCS object onto itself in another storage class.
// A rewrite that names destination attributes takes all of them from the
// request, so the object's own are copied in. Not tested here: there is no
// GCS emulator on this machine.
func (s *Store) gcsSetClass(ctx context.Context, full, class string) error {
	a, err := s.bucket.Attributes(ctx, full)
	if err != nil {
		return err
	}
	var src storage.ObjectAttrs
	if !a.As(&src) {
		return errors.New("no GCS object attributes")
	}
	return s.bucket.Copy(ctx, full, full, &blob.CopyOptions{BeforeCopy: func(as func(any) bool) error {
		var c *storage.Copier
		if !as(&c) {
			return errors.New("no GCS copier")
		}
		c.ContentType = src.ContentType
		c.ContentEncoding = src.ContentEncoding
		c.ContentLanguage = src.ContentLanguage
		c.ContentDisposition = src.ContentDisposition
		c.CacheControl = src.CacheControl
		c.Metadata = src.Metadata
		c.StorageClass = class
		return nil
	}})
}

// storageClass reads the backend's storage class or access tier from an
// object's attributes.
func (s *Store) storageClass(a *blob.Attributes) string {
	switch s.backend {
	case BackendS3:
		var h s3.HeadObjectOutput
		if a.As(&h) {
			if h.StorageClass == "" {
				return "STANDARD" // S3 leaves out the header for it
			}
			return string(h.StorageClass)
		}
	case BackendAzure:
		var p azblobblob.GetPropertiesResponse
		if a.As(&p) && p.AccessTier != nil {
			return *p.AccessTier
		}
	case BackendGCS:
		var o storage.ObjectAttrs
		if a.As(&o) {
			return o.StorageClass
		}
	}
	return ""
}

// tierOf maps a storage class back to a Tier.
func (s *Store) tierOf(class string) Tier {
	switch {
	case s.coldClass == "":
		return ""
	case class == s.coldClass:
		return TierCold
	case class == s.hotClass:
		return TierHot
	}
	return ""
}
