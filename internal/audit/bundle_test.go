package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestBundleVerifiesOfflineAndFailsAfterAnyEdit: an exported bundle
// verifies with no database, and a one-byte change anywhere in what it
// attests makes it fail.
func TestBundleVerifiesOfflineAndFailsAfterAnyEdit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newChain(t, db, 35)
		var buf bytes.Buffer
		from := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC).Add(12 * time.Second)
		to := from.Add(15 * time.Second)
		m, err := f.chain.Export(context.Background(), from, to, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if m.FirstSeq != 12 || m.LastSeq != 30 {
			t.Fatalf("range %d..%d, want 12..30 (extended to the checkpoint)", m.FirstSeq, m.LastSeq)
		}
		bundle := buf.Bytes()
		rep, _, err := audit.VerifyBundle(bytes.NewReader(bundle), nil)
		if err != nil || !rep.OK || rep.Events != 19 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		// With the auditor's own copy of the key.
		if rep, _, err := audit.VerifyBundle(bytes.NewReader(bundle), f.chain.Key.Public().(ed25519.PublicKey)); err != nil || !rep.OK {
			t.Fatalf("verify with the trusted key: %+v %v", rep, err)
		}
		// With another key, it fails.
		other, _, _ := ed25519.GenerateKey(rand.Reader)
		if rep, _, err := audit.VerifyBundle(bytes.NewReader(bundle), other); err == nil && rep.OK {
			t.Fatal("verified with the wrong key")
		}
		// One byte changed anywhere in the events, checkpoints or key: it fails.
		for _, needle := range [][]byte{[]byte(`"zone.update"`), []byte(`"i":20`), []byte(`"prev_hash":"`), []byte(`"signature":"`), []byte("MCow")} {
			i := bytes.Index(bundle, needle)
			if i < 0 {
				t.Fatalf("%s not in the bundle", needle)
			}
			edited := append([]byte{}, bundle...)
			edited[i+len(needle)-1] ^= 0x01
			rep, _, err := audit.VerifyBundle(bytes.NewReader(edited), nil)
			if err == nil && rep.OK {
				t.Errorf("a one-byte edit after %q went unnoticed", needle)
			}
		}
	})
}
