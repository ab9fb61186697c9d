package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

type fixture struct {
	t     *testing.T
	db    *sqlstore.DB
	store *sqlstore.AuditStore
	chain *audit.Chain
	rec   *audit.Recorder
	now   time.Time
}

// newChain writes n events and checkpoints after every tenth.
func newChain(t *testing.T, db *sqlstore.DB, n int) *fixture {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	f := &fixture{t: t, db: db, store: &sqlstore.AuditStore{DB: db}, now: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.rec = &audit.Recorder{Store: f.store, Clock: clock}
	f.chain = &audit.Chain{Store: f.store, Tx: db, Clock: clock, Key: key}
	ctx := context.Background()
	if err := f.chain.Register(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		f.record(i)
		if i%10 == 0 {
			if _, err := f.chain.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func (f *fixture) record(i int) {
	f.t.Helper()
	f.now = f.now.Add(time.Second)
	err := f.db.InTx(context.Background(), func(ctx context.Context) error {
		return f.rec.Record(ctx, audit.Event{Action: "zone.update", TargetType: "zone", TargetID: fmt.Sprint("z", i),
			Scope: "/zones/z", Details: map[string]any{"i": i, "note": "<&>"}})
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.SQL.Exec(f.db.Dialect.Rebind(q), args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) verify() *audit.Report {
	f.t.Helper()
	r, err := f.chain.Verify(context.Background(), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) expect(kind string, seq int64) {
	f.t.Helper()
	r := f.verify()
	if r.OK || r.Break == nil || r.Break.Kind != kind || r.Break.Seq != seq {
		f.t.Fatalf("verify = %+v (break %+v), want %s at %d", r, r.Break, kind, seq)
	}
}

func (f *fixture) event(seq int64) *audit.Event {
	f.t.Helper()
	evs, err := f.store.ListEvents(context.Background(), audit.Filter{}, seq-1, 1)
	if err != nil || len(evs) != 1 || evs[0].Seq != seq {
		f.t.Fatalf("event %d: %v %v", seq, evs, err)
	}
	return evs[0]
}

// move renumbers records without tripping the primary key mid-statement.
func (f *fixture) move(where string, delta int64) {
	f.exec(`UPDATE audit_events SET seq = -seq WHERE ` + where)
	f.exec(`UPDATE audit_events SET seq = -seq + ? WHERE seq < 0`, delta)
}

func TestIntactChainVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newChain(t, db, 25)
		r := f.verify()
		if !r.OK || r.Events != 25 || r.Checkpoints != 2 || r.LastSeq != 25 {
			t.Fatalf("report %+v %+v", r, r.Break)
		}
		if cp, err := f.chain.Checkpoint(context.Background()); err != nil || cp == nil || cp.Seq != 25 {
			t.Fatalf("checkpoint: %+v %v", cp, err)
		}
		if cp, _ := f.chain.Checkpoint(context.Background()); cp != nil {
			t.Fatal("a checkpoint with nothing new to sign")
		}
	})
}

// TestTamperingIsDetected edits the database directly in each way an
// administrator could, and expects the first broken link and its kind.
func TestTamperingIsDetected(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(f *fixture)
		kind   string
		seq    int64
	}{
		{"modified", func(f *fixture) { f.exec(`UPDATE audit_events SET action = 'zone.read' WHERE seq = 5`) }, audit.BreakModified, 5},
		{"modified details", func(f *fixture) { f.exec(`UPDATE audit_events SET details = '{"i":99}' WHERE seq = 12`) }, audit.BreakModified, 12},
		{"modified and rehashed", func(f *fixture) {
			e := f.event(5)
			e.Action = "zone.read"
			f.exec(`UPDATE audit_events SET action = ?, hash = ? WHERE seq = 5`, e.Action, audit.Hash(e))
		}, audit.BreakModified, 5},
		{"rewritten to the end", func(f *fixture) {
			// The attacker rehashes every record from 5 on and fixes the head:
			// only the signed checkpoint at 10 shows it.
			var prevID, prevHash string
			for seq := int64(5); seq <= 25; seq++ {
				e := f.event(seq)
				if seq == 5 {
					e.Action = "zone.read"
					prevID, prevHash = e.PrevID, e.PrevHash
				}
				e.PrevID, e.PrevHash = prevID, prevHash
				e.Hash = audit.Hash(e)
				f.exec(`UPDATE audit_events SET action = ?, prev_hash = ?, hash = ? WHERE seq = ?`, e.Action, e.PrevHash, e.Hash, seq)
				prevID, prevHash = e.ID, e.Hash
			}
			f.exec(`UPDATE audit_chain_head SET hash = ? WHERE id = 1`, prevHash)
		}, audit.BreakModified, 10},
		{"deleted", func(f *fixture) { f.exec(`DELETE FROM audit_events WHERE seq = 7`) }, audit.BreakDeleted, 7},
		{"deleted and renumbered", func(f *fixture) {
			f.exec(`DELETE FROM audit_events WHERE seq = 7`)
			f.move("seq > 7", -1)
		}, audit.BreakDeleted, 7},
		{"inserted", func(f *fixture) {
			prev := f.event(4)
			f.move("seq >= 5", 1)
			forged := &audit.Event{ID: "forged-0000", Seq: 5, Time: prev.Time, ActorID: "x", ActorKind: "user", ActorName: "mallory",
				Action: "zone.create", TargetType: "zone", Scope: "/", Outcome: audit.Success, DetailsJSON: []byte("{}"),
				PrevID: prev.ID, PrevHash: prev.Hash}
			forged.Hash = audit.Hash(forged)
			f.exec(`INSERT INTO audit_events (seq, id, time, actor_id, actor_kind, actor_name, auth_method, action, target_type, target_id,
				scope, outcome, reason, source_addr, user_agent, request_id, details, prev_id, prev_hash, hash)
				VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, '', ?, ?, '', '', '', '', '{}', ?, ?, ?)`, forged.Seq, forged.ID, forged.Time.UnixMicro(),
				forged.ActorID, forged.ActorKind, forged.ActorName, forged.Action, forged.TargetType, forged.Scope, forged.Outcome,
				forged.PrevID, forged.PrevHash, forged.Hash)
		}, audit.BreakInserted, 5},
		{"reordered", func(f *fixture) {
			f.exec(`UPDATE audit_events SET seq = -5 WHERE seq = 5`)
			f.exec(`UPDATE audit_events SET seq = 5 WHERE seq = 6`)
			f.exec(`UPDATE audit_events SET seq = 6 WHERE seq = -5`)
		}, audit.BreakReordered, 5},
		{"truncated", func(f *fixture) {
			if _, err := f.chain.Checkpoint(context.Background()); err != nil { // signs the head at 25
				f.t.Fatal(err)
			}
			f.exec(`DELETE FROM audit_events WHERE seq > 22`)
		}, audit.BreakTruncated, 23},
		{"truncated with the head moved back", func(f *fixture) {
			e := f.event(15)
			f.exec(`DELETE FROM audit_events WHERE seq > 15`)
			f.exec(`UPDATE audit_chain_head SET seq = 15, event_id = ?, hash = ? WHERE id = 1`, e.ID, e.Hash)
		}, audit.BreakTruncated, 16},
		{"checkpoint forged", func(f *fixture) { f.exec(`UPDATE audit_checkpoints SET hash = 'beef' WHERE seq = 10`) }, audit.BreakCheckpoint, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				f := newChain(t, db, 25)
				c.tamper(f)
				f.expect(c.kind, c.seq)
			})
		})
	}
}

// TestAppendsAreSerialized: concurrent writers still build one chain.
func TestAppendsAreSerialized(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newChain(t, db, 0)
		done := make(chan error, 8)
		for w := range 8 {
			go func() {
				for i := range 10 {
					err := db.InTx(context.Background(), func(ctx context.Context) error {
						return f.rec.Record(ctx, audit.Event{Action: "x", TargetType: "t", TargetID: fmt.Sprint(w, "-", i)})
					})
					if err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
		}
		for range 8 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if r := f.verify(); !r.OK || r.Events != 80 {
			t.Fatalf("concurrent chain: %+v %+v", r, r.Break)
		}
	})
}
