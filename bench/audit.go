package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/google/uuid"
)

// benchAuditAppend appends n records from w concurrent writers, each record
// in its own transaction as a change's would be, with the background sealer
// chaining them as a server does; the time runs until every record is
// sealed. The baseline inserts the same records, marshalled the same way,
// through the same transaction wrapper, into a plain table with the same
// columns and indexes as the chain's table: the ratio is what the chain
// costs.
func benchAuditAppend(db *sqlstore.DB, n, writers int) result {
	ctx := context.Background()
	store := &sqlstore.AuditStore{DB: db}
	rec := &audit.Recorder{Store: store}
	for _, ddl := range []string{
		`CREATE TABLE bench_audit_plain AS SELECT * FROM audit_events WHERE 1 = 0`,
		`CREATE UNIQUE INDEX bench_audit_plain_seq ON bench_audit_plain (seq)`,
		`CREATE UNIQUE INDEX bench_audit_plain_id ON bench_audit_plain (id)`,
		`CREATE INDEX bench_audit_plain_action ON bench_audit_plain (action, seq)`,
		`CREATE INDEX bench_audit_plain_request ON bench_audit_plain (request_id)`,
		`CREATE INDEX bench_audit_plain_time ON bench_audit_plain (time)`,
	} {
		_, err := db.SQL.Exec(ddl)
		check(err)
	}
	run := func(fn func(i int) error) time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += writers {
					check(fn(i))
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	sealCtx, stopSealer := context.WithCancel(ctx)
	sealerDone := make(chan struct{})
	go func() {
		(&audit.Sealer{Store: store}).Run(sealCtx)
		close(sealerDone)
	}()
	start := time.Now()
	run(func(i int) error {
		return db.InTx(ctx, func(ctx context.Context) error {
			return rec.Record(ctx, audit.Event{ActorID: "bench", ActorKind: "user", ActorName: "bench", Action: "zone.update",
				TargetType: "zone", TargetID: fmt.Sprint("z", i), Scope: "/zones/z", Details: map[string]any{"i": i}})
		})
	})
	stopSealer() // seals what is left, then returns
	<-sealerDone
	chained := time.Since(start)
	var pending int
	check(db.SQL.QueryRow(`SELECT COUNT(*) FROM audit_pending`).Scan(&pending))
	if pending != 0 {
		check(fmt.Errorf("%d records left unsealed", pending))
	}
	var seq atomic.Int64
	plain := run(func(i int) error {
		return db.InTx(ctx, func(ctx context.Context) error {
			details, err := json.Marshal(map[string]any{"i": i})
			if err != nil {
				return err
			}
			return db.Exec(ctx, `INSERT INTO bench_audit_plain (seq, id, time, actor_id, actor_kind, actor_name, auth_method, action,
				target_type, target_id, scope, outcome, reason, source_addr, user_agent, request_id, details, actor_mfa, elevation_id,
				classification, prev_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				seq.Add(1), uuid.Must(uuid.NewV7()).String(), time.Now().UnixMicro(), "bench", "user", "bench", "",
				"zone.update", "zone", fmt.Sprint("z", i), "/zones/z", "success", "", "", "", "", string(details), false, "", "", "", "", "")
		})
	})
	return result{name: fmt.Sprintf("audit append, %d writers (hash chain)", writers), baselineName: "(plain insert)", enclave: chained, baseline: plain}
}

// benchAuditVerify measures verification of m chained records held in
// memory (hashing on every core, then linking, as Chain.Verify does),
// against computing the same records' hashes one by one without checking
// anything.
func benchAuditVerify(m int) (result, float64) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	evs := make([]*audit.Event, m)
	var prevID, prevHash string
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var cps []*audit.Checkpoint
	for i := range evs {
		e := &audit.Event{Seq: int64(i + 1), ID: fmt.Sprintf("%08d-0000-7000-8000-000000000000", i), Time: t0.Add(time.Duration(i) * time.Millisecond),
			ActorID: "u", ActorKind: "user", ActorName: "ana", Action: "zone.update", TargetType: "zone", TargetID: "z",
			Scope: "/zones/z", Outcome: audit.Success, DetailsJSON: []byte(`{"i":1}`), PrevID: prevID, PrevHash: prevHash}
		e.Hash = audit.Hash(e)
		prevID, prevHash = e.ID, e.Hash
		evs[i] = e
		if (i+1)%100000 == 0 {
			cp := &audit.Checkpoint{Seq: e.Seq, EventID: e.ID, Hash: e.Hash, Time: t0}
			cp.Sign(key)
			cps = append(cps, cp)
		}
	}
	keys := map[string]ed25519.PublicKey{audit.KeyID(key.Public().(ed25519.PublicKey)): key.Public().(ed25519.PublicKey)}
	start := time.Now()
	v := audit.NewVerification(audit.Anchor{}, cps, keys)
	for off := 0; off < len(evs); off += 5000 { // in the batches Chain.Verify reads
		batch := evs[off:min(off+5000, len(evs))]
		hashes := audit.HashAll(batch)
		for i, e := range batch {
			v.NextHashed(e, hashes[i])
		}
	}
	v.ExpectHead(&audit.Head{Seq: int64(m), EventID: prevID, Hash: prevHash})
	rep := v.Finish()
	verify := time.Since(start)
	if !rep.OK {
		check(fmt.Errorf("verification failed: %v", rep.Break))
	}
	start = time.Now()
	for _, e := range evs {
		_ = audit.Hash(e)
	}
	hashOnly := time.Since(start)
	return result{name: fmt.Sprintf("audit verify, %d records in memory", m), baselineName: "(hashing alone)", enclave: verify, baseline: hashOnly},
		float64(m) / verify.Seconds()
}
