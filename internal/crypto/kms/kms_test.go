package kms_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"gocloud.dev/secrets"
	"gocloud.dev/secrets/localsecrets"

	"github.com/enclave-ml/enclave/internal/crypto/keys"

	"github.com/enclave-ml/enclave/internal/crypto/keys/keystest"
	"github.com/enclave-ml/enclave/internal/crypto/kms"
)

func localSecretsURI(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "base64key://" + base64.URLEncoding.EncodeToString(key)
}

// TestLocalSecretsConformance runs the provider suite over gocloud's
// in-process keeper: the same code path as a real KMS, minus the network.
func TestLocalSecretsConformance(t *testing.T) {
	p, err := kms.New("kms", kms.Options{Schemes: []string{kms.LocalSecretsScheme}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	keystest.RunProvider(t, keystest.ProviderConfig{
		Provider:    p,
		KeyURI:      localSecretsURI(t),
		OtherKeyURI: localSecretsURI(t),
	})
}

// sameKeyOpener opens every URL of its scheme as one and the same key, the
// way AWS KMS decrypts with the key a ciphertext names, whatever key the
// caller meant.
type sameKeyOpener struct{}

func (sameKeyOpener) OpenKeeperURL(context.Context, *url.URL) (*secrets.Keeper, error) {
	return localsecrets.NewKeeper([32]byte{1, 2, 3}), nil
}

var registerSameKey sync.Once

// TestKeyURIBinding: even over a service that ignores which key it is asked
// to decrypt with, a value wrapped under one key URI does not unwrap under
// another.
func TestKeyURIBinding(t *testing.T) {
	registerSameKey.Do(func() { secrets.DefaultURLMux().RegisterKeeper("enclavesamekey", sameKeyOpener{}) })
	p, err := kms.New("kms", kms.Options{Schemes: []string{"enclavesamekey"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	keystest.RunProvider(t, keystest.ProviderConfig{
		Provider:    p,
		KeyURI:      "enclavesamekey://key-a",
		OtherKeyURI: "enclavesamekey://key-b",
	})
	w, err := p.Wrap(context.Background(), "enclavesamekey://key-a", []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Unwrap(context.Background(), "enclavesamekey://key-b", w); !errors.Is(err, keys.ErrUnwrap) {
		t.Fatalf("unwrap under another key URI: %v, want ErrUnwrap", err)
	}
}

// TestRealKMSConformance runs the suite against a real key management
// service when one is named in the environment, e.g.
//
//	ENCLAVE_TEST_KMS_KEY_URI=awskms://alias/enclave-test?region=eu-west-1
//	ENCLAVE_TEST_KMS_OTHER_KEY_URI=awskms://alias/enclave-test-2?region=eu-west-1
//
// with the cloud's credentials in their usual place (for Vault transit:
// hashivault://enclave-test with VAULT_SERVER_URL and VAULT_SERVER_TOKEN).
func TestRealKMSConformance(t *testing.T) {
	uri := os.Getenv("ENCLAVE_TEST_KMS_KEY_URI")
	if uri == "" {
		t.Skip("ENCLAVE_TEST_KMS_KEY_URI not set: no KMS reachable from here")
	}
	p, err := kms.New("kms", kms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	keystest.RunProvider(t, keystest.ProviderConfig{
		Provider:    p,
		KeyURI:      uri,
		OtherKeyURI: os.Getenv("ENCLAVE_TEST_KMS_OTHER_KEY_URI"),
	})
}

func TestRefusedKeyURIs(t *testing.T) {
	ctx := context.Background()
	p, err := kms.New("kms", kms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	secret := localSecretsURI(t)
	for _, uri := range []string{secret, "file:///etc/passwd", "mem://", "://", "awskms"} {
		_, err := p.Wrap(ctx, uri, []byte("x"))
		if err == nil {
			t.Errorf("%q accepted", uri)
		} else if strings.Contains(err.Error(), secret[len("base64key://"):]) {
			t.Errorf("error leaks the key: %v", err)
		}
	}
	withLocal, _ := kms.New("kms", kms.Options{Schemes: []string{kms.LocalSecretsScheme}})
	defer withLocal.Close()
	if _, err := withLocal.Wrap(ctx, "base64key://", []byte("x")); err == nil {
		t.Error("base64key:// without a key (a random key per process) accepted")
	}
	if _, err := kms.New("kms", kms.Options{Schemes: []string{"nosuchkms"}}); err == nil {
		t.Error("unknown scheme accepted")
	}
}

func TestErrorsDoNotLeakTheKey(t *testing.T) {
	p, _ := kms.New("kms", kms.Options{Schemes: []string{kms.LocalSecretsScheme}})
	defer p.Close()
	uri := localSecretsURI(t)
	_, err := p.Unwrap(context.Background(), uri, []byte("not a wrapped key at all, long enough"))
	if err == nil {
		t.Fatal("garbage unwrapped")
	}
	if strings.Contains(err.Error(), uri[len("base64key://"):]) {
		t.Fatalf("error leaks the key: %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"awskms://alias/k?region=eu-west-1&context_x=y":                            "awskms://alias/k",
		"azurekeyvault://myvault.vault.azure.net/keys/k/v1?algorithm=RSA-OAEP-256": "azurekeyvault://myvault.vault.azure.net/keys/k/v1",
		"base64key://c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=":                 "base64key://[SECRET]",
		"hashivault://enclave": "hashivault://enclave",
	} {
		if got := kms.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
