package blobstore_test

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/blobstore/blobtest"
)

// TestConformance runs the blob layer's conformance suite on every backend:
// memory, a directory and gofakes3 always, MinIO and Azurite when
// scripts/test.sh (or the developer) names them.
func TestConformance(t *testing.T) {
	for _, b := range blobtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			b.SkipUnlessAvailable(t)
			t.Parallel()
			blobtest.RunConformance(t, b.Open)
		})
	}
}
