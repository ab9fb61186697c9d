package audit

import (
	"crypto/ed25519"
	"fmt"
	"runtime"
	"sync"
)

// The kinds of break Verify reports.
const (
	BreakModified   = "modified"
	BreakDeleted    = "deleted"
	BreakInserted   = "inserted"
	BreakReordered  = "reordered"
	BreakTruncated  = "truncated"
	BreakCheckpoint = "checkpoint"
)

// Break is the first place the chain does not hold, and how.
type Break struct {
	Kind    string `json:"kind"`
	Seq     int64  `json:"seq"`
	EventID string `json:"event_id,omitempty"`
	Detail  string `json:"detail"`
}

func (b *Break) Error() string { return fmt.Sprintf("%s at sequence %d: %s", b.Kind, b.Seq, b.Detail) }

// Report is the outcome of a verification.
type Report struct {
	OK          bool   `json:"ok"`
	Events      int64  `json:"events"`
	FirstSeq    int64  `json:"first_seq"`
	LastSeq     int64  `json:"last_seq"`
	Checkpoints int    `json:"checkpoints"`
	Break       *Break `json:"break,omitempty"`
}

// Anchor is what the first record verified must link to: the zero value
// for a whole chain, the record before the range for a bundle.
type Anchor struct {
	Seq  int64 // sequence number of the record before the first
	ID   string
	Hash string
}

// Verification walks records in sequence order, checking each against its
// own hash, the record before it, the signed checkpoints and, at the end,
// the chain's head. Feed it records with Next, then call Finish.
type Verification struct {
	anchor Anchor
	cps    map[int64]*Checkpoint
	maxCP  int64
	report Report
	// a window of records: pp, p are verified; r waits for its successor,
	// which some kinds of break need to be told apart. rHash is r's
	// recomputed hash.
	pp, p, r *Event
	rHash    string
	head     *Head
}

// ExpectHead makes the walk check the chain against its head as last
// recorded: the record there must be the one recorded, and records up to it
// must all be present.
func (v *Verification) ExpectHead(h *Head) { v.head = h }

// NewVerification starts a verification. Checkpoints with a bad signature
// are a break at once.
func NewVerification(anchor Anchor, cps []*Checkpoint, keys map[string]ed25519.PublicKey) *Verification {
	v := &Verification{anchor: anchor, cps: map[int64]*Checkpoint{}}
	for _, c := range cps {
		if err := c.VerifySignature(keys); err != nil && v.report.Break == nil {
			v.report.Break = &Break{Kind: BreakCheckpoint, Seq: c.Seq, EventID: c.EventID, Detail: err.Error()}
		}
		v.cps[c.Seq] = c
		v.maxCP = max(v.maxCP, c.Seq)
	}
	v.report.Checkpoints = len(cps)
	return v
}

// Next feeds the next record in sequence order. It returns false once a
// break has been found: the rest need not be read.
func (v *Verification) Next(e *Event) bool {
	return v.NextHashed(e, Hash(e))
}

// NextHashed is Next for a record whose hash the caller recomputed, so
// that hashing can run in parallel ahead of the walk (see HashAll).
func (v *Verification) NextHashed(e *Event, hash string) bool {
	if v.report.Break != nil {
		return false
	}
	if v.r != nil {
		v.check(v.r, v.rHash, e)
		v.pp, v.p = v.p, v.r
	}
	v.r, v.rHash = e, hash
	return v.report.Break == nil
}

// HashAll recomputes the hashes of evs on every core.
func HashAll(evs []*Event) []string {
	out := make([]string, len(evs))
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(evs) + workers - 1) / workers
	var wg sync.WaitGroup
	for start := 0; start < len(evs); start += chunk {
		end := min(start+chunk, len(evs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := start; i < end; i++ {
				out[i] = Hash(evs[i])
			}
		}()
	}
	wg.Wait()
	return out
}

func (v *Verification) fail(kind string, e *Event, format string, args ...any) {
	if v.report.Break == nil {
		v.report.Break = &Break{Kind: kind, Seq: e.Seq, EventID: e.ID, Detail: fmt.Sprintf(format, args...)}
	}
}

// check verifies r, whose predecessor is v.p (v.pp before it) and whose
// successor is next (nil at the end).
func (v *Verification) check(r *Event, rHash string, next *Event) {
	v.report.Events++
	if v.report.FirstSeq == 0 {
		v.report.FirstSeq = r.Seq
	}
	v.report.LastSeq = r.Seq
	expSeq, expID, expHash := v.anchor.Seq+1, v.anchor.ID, v.anchor.Hash
	if v.p != nil {
		expSeq, expID, expHash = v.p.Seq+1, v.p.ID, v.p.Hash
	}
	switch {
	case r.Seq > expSeq:
		v.fail(BreakDeleted, r, "records %d to %d are missing", expSeq, r.Seq-1)
		v.report.Break.Seq = expSeq
		return
	case r.Seq < expSeq:
		v.fail(BreakReordered, r, "sequence number %d comes after %d", r.Seq, expSeq-1)
		return
	}
	if rHash != r.Hash {
		v.fail(BreakModified, r, "the record's content does not match its hash")
		return
	}
	if r.PrevID != expID || r.PrevHash != expHash {
		switch {
		case v.p != nil && r.PrevID == v.p.ID:
			v.fail(BreakModified, v.p, "the record was rewritten: the next record links to a different hash of it")
		case next != nil && r.PrevID == next.ID:
			v.fail(BreakReordered, r, "the record links to %s, which comes after it", next.ID)
		case v.pp != nil && r.PrevID == v.pp.ID:
			v.fail(BreakInserted, v.p, "the record is not in the chain: its successor links past it")
		default:
			v.fail(BreakDeleted, r, "the record it follows (%s) is missing", r.PrevID)
		}
		return
	}
	if h := v.head; h != nil && h.Seq == r.Seq && (h.EventID != r.ID || h.Hash != r.Hash) {
		v.fail(BreakModified, r, "the record differs from the one the chain's head recorded")
		return
	}
	if c, ok := v.cps[r.Seq]; ok && (c.EventID != r.ID || c.Hash != r.Hash) {
		v.fail(BreakModified, r, "the chain up to here differs from the checkpoint signed at %s", c.Time.Format("2006-01-02T15:04:05Z07:00"))
	}
}

// Finish checks the last record and that nothing is missing at the end:
// no checkpoint, and not the head (when one is expected), lies beyond it.
func (v *Verification) Finish() *Report {
	if v.r != nil && v.report.Break == nil {
		v.check(v.r, v.rHash, nil)
		v.pp, v.p = v.p, v.r
	}
	if v.report.Break == nil {
		last := v.report.LastSeq
		if v.report.Events == 0 {
			last = v.anchor.Seq
		}
		end := &Event{Seq: last + 1}
		switch {
		case v.maxCP > last:
			v.fail(BreakTruncated, end, "a checkpoint covers records up to %d; the chain ends at %d", v.maxCP, last)
		case v.head != nil && v.head.Seq > last:
			v.fail(BreakTruncated, end, "the chain's head is at %d; the records end at %d", v.head.Seq, last)
		}
	}
	v.report.OK = v.report.Break == nil
	return &v.report
}
