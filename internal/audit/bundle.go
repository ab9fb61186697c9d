package audit

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// An evidence bundle is a tar archive an auditor verifies offline:
//
//	manifest.json     range, anchor (the record before the first), signing key ID
//	events.jsonl      the records, one per line, with their details as hashed
//	checkpoints.jsonl the signed checkpoints within the range
//	public-key.pem    the key that signed them
//
// The records run from the first at or after From to the first checkpoint
// at or after To, so the last record is signed and, through the chain,
// every record before it.

// BundleManifest describes a bundle.
type BundleManifest struct {
	Format     string    `json:"format"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	ExportedAt time.Time `json:"exported_at"`
	FirstSeq   int64     `json:"first_seq"`
	LastSeq    int64     `json:"last_seq"`
	Anchor     struct {
		Seq  int64  `json:"seq"`
		ID   string `json:"id"`
		Hash string `json:"hash"`
	} `json:"anchor"`
	KeyID string `json:"key_id"`
}

const bundleFormat = "enclave-audit-bundle/v1"

// bundleRecord is an event with its details exactly as hashed.
type bundleRecord struct {
	*Event
	Details json.RawMessage `json:"details"`
}

// Export writes the bundle of the records between from and to. It signs a
// checkpoint first, so that the newest records are covered too.
func (c *Chain) Export(ctx context.Context, from, to time.Time, w io.Writer) (*BundleManifest, error) {
	if _, err := c.Checkpoint(ctx); err != nil {
		return nil, err
	}
	m := &BundleManifest{Format: bundleFormat, From: from, To: to, ExportedAt: c.Clock.Now(), KeyID: KeyID(c.Key.Public().(ed25519.PublicKey))}
	first, err := c.Store.ListEvents(ctx, Filter{From: from}, 0, 1)
	if err != nil {
		return nil, err
	}
	if len(first) == 0 {
		return nil, enclave.Errorf(enclave.CodeNotFound, "no audit records after %s", from.Format(time.RFC3339))
	}
	m.FirstSeq = first[0].Seq
	m.Anchor.Seq, m.Anchor.ID, m.Anchor.Hash = first[0].Seq-1, first[0].PrevID, first[0].PrevHash
	// The last record: the first checkpoint at or after the last record before To.
	lastSeq := first[0].Seq
	if !to.IsZero() {
		for after := first[0].Seq - 1; ; {
			evs, err := c.Store.ListEvents(ctx, Filter{From: from, To: to}, after, 5000)
			if err != nil {
				return nil, err
			}
			if len(evs) > 0 {
				lastSeq = evs[len(evs)-1].Seq
				after = lastSeq
			}
			if len(evs) < 5000 {
				break
			}
		}
	} else {
		head, err := c.Store.LastRecord(ctx)
		if err != nil {
			return nil, err
		}
		lastSeq = head.Seq
	}
	cps, err := c.Store.Checkpoints(ctx, lastSeq, 0)
	if err != nil {
		return nil, err
	}
	if len(cps) == 0 {
		return nil, fmt.Errorf("no checkpoint covers record %d", lastSeq)
	}
	m.LastSeq = cps[0].Seq
	inRange, err := c.Store.Checkpoints(ctx, m.FirstSeq, m.LastSeq)
	if err != nil {
		return nil, err
	}

	var events bytes.Buffer
	enc := json.NewEncoder(&events)
	for after := m.FirstSeq - 1; after < m.LastSeq; {
		evs, err := c.Store.ListEvents(ctx, Filter{}, after, 5000)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			if e.Seq > m.LastSeq {
				break
			}
			if err := enc.Encode(bundleRecord{Event: e, Details: e.DetailsJSON}); err != nil {
				return nil, err
			}
			after = e.Seq
		}
	}
	var cpLines bytes.Buffer
	cenc := json.NewEncoder(&cpLines)
	for _, cp := range inRange {
		if err := cenc.Encode(cp); err != nil {
			return nil, err
		}
	}
	der, err := x509.MarshalPKIXPublicKey(c.Key.Public())
	if err != nil {
		return nil, err
	}
	manifest, _ := json.MarshalIndent(m, "", "  ")
	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"manifest.json", manifest},
		{"events.jsonl", events.Bytes()},
		{"checkpoints.jsonl", cpLines.Bytes()},
		{"public-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: m.ExportedAt}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	return m, tw.Close()
}

// VerifyBundle checks a bundle offline. trusted, when given, is the public
// key the auditor obtained out of band; otherwise the bundle's own key is
// used and its ID returned for comparison.
func VerifyBundle(r io.Reader, trusted ed25519.PublicKey) (*Report, *BundleManifest, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("bundle is not a readable archive: %w", err)
		}
		if h.Size > 1<<32 {
			return nil, nil, fmt.Errorf("bundle member %s is too large", h.Name)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, nil, fmt.Errorf("bundle member %s: %w", h.Name, err)
		}
		files[h.Name] = b
	}
	var m BundleManifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil || m.Format != bundleFormat {
		return nil, nil, fmt.Errorf("bundle has no valid manifest")
	}
	key := trusted
	if key == nil {
		b, _ := pem.Decode(files["public-key.pem"])
		if b == nil {
			return nil, &m, fmt.Errorf("bundle has no public key")
		}
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		pub, ok := k.(ed25519.PublicKey)
		if err != nil || !ok {
			return nil, &m, fmt.Errorf("bundle's public key is not Ed25519")
		}
		key = pub
	}
	var cps []*Checkpoint
	sc := bufio.NewScanner(bytes.NewReader(files["checkpoints.jsonl"]))
	for sc.Scan() {
		var cp Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &cp); err != nil {
			return nil, &m, fmt.Errorf("bundle checkpoint is malformed: %w", err)
		}
		cps = append(cps, &cp)
	}
	if len(cps) == 0 || cps[len(cps)-1].Seq != m.LastSeq {
		return nil, &m, fmt.Errorf("bundle does not end at a signed checkpoint")
	}
	v := NewVerification(Anchor{Seq: m.Anchor.Seq, ID: m.Anchor.ID, Hash: m.Anchor.Hash}, cps, map[string]ed25519.PublicKey{KeyID(key): key})
	sc = bufio.NewScanner(bytes.NewReader(files["events.jsonl"]))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		rec := bundleRecord{Event: &Event{}}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			rec.Event.Hash = "unparsable"
		}
		rec.Event.DetailsJSON = rec.Details
		if !v.Next(rec.Event) {
			break
		}
	}
	rep := v.Finish()
	return rep, &m, nil
}
