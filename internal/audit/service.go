package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Chain signs checkpoints of the audit chain and verifies it.
type Chain struct {
	Store Store
	Tx    enclave.Transactor
	Clock enclave.Clock
	// Key signs checkpoints. Its public half is registered in the store so
	// that verification finds it; an auditor should compare its KeyID with
	// one obtained out of band (or pass the public key explicitly).
	Key ed25519.PrivateKey
}

// Register records the signing key's public half.
func (c *Chain) Register(ctx context.Context) error {
	pub := c.Key.Public().(ed25519.PublicKey)
	return c.Store.RegisterKey(ctx, KeyID(pub), pub, c.Clock.Now())
}

// Checkpoint signs the chain's head if it moved since the last checkpoint.
// It returns nil when there was nothing new to sign.
func (c *Chain) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	if _, err := c.Store.Seal(ctx); err != nil {
		return nil, err
	}
	var cp *Checkpoint
	err := c.Tx.InTx(ctx, func(ctx context.Context) error {
		head, err := c.Store.LastRecord(ctx)
		if err != nil || head.Seq == 0 {
			return err
		}
		later, err := c.Store.Checkpoints(ctx, head.Seq, 0)
		if err != nil || len(later) > 0 {
			return err
		}
		cp = &Checkpoint{Seq: head.Seq, EventID: head.EventID, Hash: head.Hash, Time: c.Clock.Now()}
		cp.Sign(c.Key)
		return c.Store.AddCheckpoint(ctx, cp)
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// TrustedKeys returns the keys registered in the store.
func (c *Chain) TrustedKeys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	raw, err := c.Store.Keys(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]ed25519.PublicKey{}
	for id, b := range raw {
		if len(b) == ed25519.PublicKeySize && KeyID(b) == id {
			keys[id] = ed25519.PublicKey(b)
		}
	}
	return keys, nil
}

// Verify checks the whole chain, its checkpoints and its head. keys are the
// public keys to trust; nil means those registered in the store.
func (c *Chain) Verify(ctx context.Context, keys map[string]ed25519.PublicKey) (*Report, error) {
	if keys == nil {
		var err error
		if keys, err = c.TrustedKeys(ctx); err != nil {
			return nil, err
		}
	}
	cps, err := c.Store.Checkpoints(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	head, err := c.Store.ChainHead(ctx)
	if err != nil {
		return nil, err
	}
	v := NewVerification(Anchor{}, cps, keys)
	v.ExpectHead(&head)
	var after int64
	for {
		evs, err := c.Store.ListEvents(ctx, Filter{}, after, 5000)
		if err != nil {
			return nil, err
		}
		hashes := HashAll(evs)
		for i, e := range evs {
			if !v.NextHashed(e, hashes[i]) {
				return v.Finish(), nil
			}
		}
		if len(evs) < 5000 {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	return v.Finish(), nil
}

// LoadOrCreateKey reads the Ed25519 signing key at path (PKCS#8 PEM), or
// creates one with owner-only permissions if there is none.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		return key, os.Rename(tmp, path)
	}
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		return nil, fmt.Errorf("audit signing key %s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit signing key %s is not Ed25519", path)
	}
	return key, nil
}
