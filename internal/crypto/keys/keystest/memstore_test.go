package keystest_test

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/crypto/keys/keystest"
)

func TestMemStore(t *testing.T) {
	keystest.RunKEKStore(t, func(*testing.T) keys.KEKStore { return keystest.NewMemStore() })
}
