package keys

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LocalKind is the Kind of a LocalKeyring.
const LocalKind = "local"

// MasterKeySize is the size of a local master key.
const MasterKeySize = 32

// LocalKeyring is the default Provider: it wraps with AES-256-GCM under a
// master key held only in memory, read from a file or the environment. It
// holds a primary key, which wraps, and any number of previous keys, which
// only unwrap, so the master key can be replaced by rotating KEKs under the
// new one. Each wrapped value names the master key that made it by an 8-byte
// key ID (an HMAC of the key, which reveals nothing about it), so a value
// made under a key the keyring lacks is reported as such.
type LocalKeyring struct {
	id   string
	keys []localKey // keys[0] is the primary
}

type localKey struct {
	id   [8]byte
	aead cipher.AEAD
}

const (
	localFormat   = 1
	localNonce    = 12
	localOverhead = 1 + 8 + localNonce + 16
)

// NewLocalKeyring returns a keyring with a primary master key and previous
// keys that remain readable.
func NewLocalKeyring(id string, primary []byte, previous ...[]byte) (*LocalKeyring, error) {
	if id == "" {
		return nil, errors.New("keys: local keyring needs an ID")
	}
	k := &LocalKeyring{id: id}
	for i, raw := range append([][]byte{primary}, previous...) {
		if len(raw) != MasterKeySize {
			return nil, fmt.Errorf("keys: master key %d is %d bytes, want %d", i+1, len(raw), MasterKeySize)
		}
		mac := hmac.New(sha256.New, raw)
		mac.Write([]byte("enclave/local-master-key-id/v1"))
		var lk localKey
		copy(lk.id[:], mac.Sum(nil))
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		if lk.aead, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		k.keys = append(k.keys, lk)
	}
	return k, nil
}

// ParseLocalKeyring reads master keys from text: standard or URL-safe
// base64 of 32 bytes each, separated by newlines or commas, the primary
// first; blank lines and lines starting with # are ignored. It is the format
// of the key file and of an environment variable.
func ParseLocalKeyring(id, text string) (*LocalKeyring, error) {
	var raws [][]byte
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		raw, err := decodeKey(line)
		if err != nil {
			// Never echo the text: it is key material.
			return nil, fmt.Errorf("keys: master key %d is not base64 of %d bytes", len(raws)+1, MasterKeySize)
		}
		raws = append(raws, raw)
	}
	if len(raws) == 0 {
		return nil, errors.New("keys: no master key given")
	}
	return NewLocalKeyring(id, raws[0], raws[1:]...)
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil && len(raw) == MasterKeySize {
			return raw, nil
		}
	}
	return nil, errors.New("bad key")
}

// LoadLocalKeyring reads the keyring from a key file. If the file does not
// exist it is created, with mode 0600, holding a new random master key; two
// processes starting at once end up with the same key. A file that others
// can read or write is refused (keep it 0600, or pass the key in the
// environment instead).
func LoadLocalKeyring(id, path string) (*LocalKeyring, error) {
	data, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(path); err != nil {
			return nil, err
		}
		data, err = readKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	defer clear(data)
	k, err := ParseLocalKeyring(id, string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keys: master key file %s has mode %v: others may read it; chmod 600 it", path, fi.Mode().Perm())
	}
	if fi.Size() > 64<<10 {
		return nil, fmt.Errorf("keys: master key file %s is too large", path)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("keys: read master key file: %w", err)
	}
	return buf.Bytes(), nil
}

// createKeyFile writes a new key to a temporary file, syncs it and links it
// into place, so the key file is never seen half written and an existing one
// is never replaced.
func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keys: create master key directory: %w", err)
	}
	raw := make([]byte, MasterKeySize)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer clear(raw)
	text := "# Enclave local master key. Back it up apart from the database: without it\n" +
		"# no stored object can be decrypted. Add a new key as the first line to rotate.\n" +
		base64.StdEncoding.EncodeToString(raw) + "\n"
	tmp, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return fmt.Errorf("keys: create master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("keys: create master key file: %w", err)
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: write master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: sync master key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keys: write master key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("keys: install master key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ID implements Provider.
func (k *LocalKeyring) ID() string { return k.id }

// Kind implements Provider.
func (k *LocalKeyring) Kind() string { return LocalKind }

// KeyIDs returns the hex IDs of the master keys, the primary first: safe to
// show, and enough to tell which key a deployment holds.
func (k *LocalKeyring) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, lk := range k.keys {
		ids[i] = hex.EncodeToString(lk.id[:])
	}
	return ids
}

func localAD(keyURI string) []byte {
	return append([]byte("enclave/local-wrap/v1\x00"), keyURI...)
}

// Wrap implements Provider: AES-256-GCM under the primary master key, with
// the key URI as associated data. The result is format byte || key ID ||
// nonce || ciphertext and tag.
func (k *LocalKeyring) Wrap(_ context.Context, keyURI string, plaintext []byte) ([]byte, error) {
	if keyURI == "" {
		return nil, errors.New("keys: local wrap needs a key URI")
	}
	lk := k.keys[0]
	out := make([]byte, 1+8+localNonce, localOverhead+len(plaintext))
	out[0] = localFormat
	copy(out[1:], lk.id[:])
	if _, err := rand.Read(out[9:]); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return lk.aead.Seal(out, out[9:], plaintext, localAD(keyURI)), nil
}

// Unwrap implements Provider.
func (k *LocalKeyring) Unwrap(_ context.Context, keyURI string, wrapped []byte) ([]byte, error) {
	if len(wrapped) < localOverhead || wrapped[0] != localFormat {
		return nil, fmt.Errorf("%w: not a local keyring value", ErrUnwrap)
	}
	for _, lk := range k.keys {
		if !bytes.Equal(wrapped[1:9], lk.id[:]) {
			continue
		}
		pt, err := lk.aead.Open(nil, wrapped[9:9+localNonce], wrapped[9+localNonce:], localAD(keyURI))
		if err != nil {
			return nil, fmt.Errorf("%w: local keyring value was modified or wrapped for another key URI", ErrUnwrap)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%w: wrapped under master key %x, which this keyring does not hold", ErrUnwrap, wrapped[1:9])
}

var _ Provider = (*LocalKeyring)(nil)
