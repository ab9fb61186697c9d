package keys_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/crypto/keys/keystest"
	"github.com/enclave-ml/enclave/internal/crypto/streamenc"
)

// Example shows the whole envelope: a project KEK under the local keyring, a
// data key per object, the object encrypted in Tink's streaming format with
// its ID as associated data, a range read back, then a rotation that rewraps
// the data key without touching the ciphertext, and destruction.
func Example() {
	ctx := context.Background()
	master, _ := keys.NewLocalKeyring("local", bytes.Repeat([]byte{7}, keys.MasterKeySize))
	h, _ := keys.New(keys.Options{Store: keystest.NewMemStore(), Providers: []keys.Provider{master}})
	ref := keys.KeyRef{Provider: "local", KeyURI: "local:default"}
	const project, objectID = "project-0190a6b2", "object-0190a6b3"
	_, _ = h.EnsureKEK(ctx, project, ref)

	// Upload: a fresh data key, the object encrypted with it.
	dek, wrapped, _ := h.NewDEK(ctx, project, objectID)
	c, _ := streamenc.New(dek, streamenc.DefaultSegmentSize)
	var stored bytes.Buffer // the blob store
	n, _ := c.Encrypt(&stored, strings.NewReader("patient_id,age\n17,42\n"), []byte(objectID))
	size, _ := streamenc.CiphertextSize(n, streamenc.DefaultSegmentSize)
	// Metadata row: wrapped DEK, its KEK version, plaintext size, segment size.
	version, _ := wrapped.KEKVersion()
	fmt.Println("stored", size, "bytes for", n, "plaintext bytes under KEK version", version)

	// Download of a range: unwrap the data key, read only what is needed.
	dek, _ = h.UnwrapDEK(ctx, project, objectID, wrapped)
	c, _ = streamenc.New(dek, streamenc.DefaultSegmentSize)
	obj, _ := c.Open(streamenc.ReaderAtOpener(bytes.NewReader(stored.Bytes())), size, []byte(objectID))
	rc, _ := obj.ReadRange(ctx, 15, 5)
	row, _ := io.ReadAll(rc)
	rc.Close()
	fmt.Printf("range: %q\n", row)

	// Rotation: a new KEK version, the data key rewrapped, the old version retired.
	_, _ = h.Rotate(ctx, project, keys.KeyRef{})
	wrapped, _ = h.RewrapDEK(ctx, project, objectID, wrapped)
	_ = h.Retire(ctx, project, 1)
	version, _ = wrapped.KEKVersion()
	fmt.Println("rewrapped under KEK version", version)

	// Destruction: the data key, and so the object, is gone.
	_ = h.Destroy(ctx, project)
	_, err := h.UnwrapDEK(ctx, project, objectID, wrapped)
	fmt.Println(err != nil, strings.Contains(err.Error(), "destroyed"))
	// Output:
	// stored 77 bytes for 21 plaintext bytes under KEK version 1
	// range: "17,42"
	// rewrapped under KEK version 2
	// true true
}
