package keys_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/crypto/keys/keystest"
)

func masterKey(b byte) []byte { return bytes.Repeat([]byte{b}, keys.MasterKeySize) }

func TestLocalKeyringConformance(t *testing.T) {
	k, err := keys.NewLocalKeyring("local", masterKey(1))
	if err != nil {
		t.Fatal(err)
	}
	keystest.RunProvider(t, keystest.ProviderConfig{
		Provider:     k,
		KeyURI:       "local:platform",
		OtherKeyURI:  "local:zone-eu",
		StrictErrors: true,
	})
}

func TestLocalKeyringMasterKeyRotation(t *testing.T) {
	ctx := context.Background()
	old, _ := keys.NewLocalKeyring("local", masterKey(1))
	w, err := old.Wrap(ctx, "local:k", []byte("kek"))
	if err != nil {
		t.Fatal(err)
	}
	// The new keyring wraps under the new key and still reads the old one.
	rotated, err := keys.NewLocalKeyring("local", masterKey(2), masterKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Unwrap(ctx, "local:k", w); err != nil || string(got) != "kek" {
		t.Fatalf("old value under the rotated keyring: %v", err)
	}
	w2, _ := rotated.Wrap(ctx, "local:k", []byte("kek"))
	_, err = old.Unwrap(ctx, "local:k", w2)
	if !errors.Is(err, keys.ErrUnwrap) || !strings.Contains(err.Error(), rotated.KeyIDs()[0]) {
		t.Fatalf("value under an unknown master key: %v", err)
	}
	if ids := rotated.KeyIDs(); len(ids) != 2 || ids[1] != old.KeyIDs()[0] || ids[0] == ids[1] {
		t.Fatalf("KeyIDs = %v", ids)
	}
}

func TestParseLocalKeyring(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(masterKey(1))
	k2 := base64.RawURLEncoding.EncodeToString(masterKey(2))
	k, err := keys.ParseLocalKeyring("local", "# comment\n\n "+k2+" \n"+k1+"\n")
	if err != nil || len(k.KeyIDs()) != 2 {
		t.Fatalf("ParseLocalKeyring: %v", err)
	}
	if k, err := keys.ParseLocalKeyring("local", k1+","+k2); err != nil || len(k.KeyIDs()) != 2 {
		t.Fatalf("comma-separated: %v", err)
	}
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, bad := range []string{"", "# only a comment", "not base64!", short} {
		_, err := keys.ParseLocalKeyring("local", bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if bad != "" && strings.Contains(err.Error(), bad) && bad != "# only a comment" {
			t.Errorf("error echoes the key text: %v", err)
		}
	}
}

func TestLoadLocalKeyringCreatesKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "master.key")
	k1, err := keys.LoadLocalKeyring("local", path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".master-key-*")); len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
	// Loading again reads the same key: what one wraps, the other unwraps.
	k2, err := keys.LoadLocalKeyring("local", path)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := k1.Wrap(context.Background(), "local:k", []byte("x"))
	if got, err := k2.Unwrap(context.Background(), "local:k", w); err != nil || string(got) != "x" {
		t.Fatalf("reloaded keyring: %v", err)
	}
}

// TestLoadLocalKeyringRace: processes starting together agree on one key.
func TestLoadLocalKeyringRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, err := keys.LoadLocalKeyring("local", path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.KeyIDs()[0]
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("key IDs differ: %v", ids)
		}
	}
}

func TestLoadLocalKeyringRefusesOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(masterKey(3))), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.LoadLocalKeyring("local", path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key file: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.LoadLocalKeyring("local", path); err != nil {
		t.Fatal(err)
	}
}
