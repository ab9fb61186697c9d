package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/crypto/keys/keystest"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/idempotency"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/outbox"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/enclave-ml/enclave/internal/zone"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

func mustCode(t *testing.T, err error, code enclave.Code) {
	t.Helper()
	if got := enclave.ErrorCode(err); got != code {
		t.Fatalf("error kind = %q (%v), want %q", got, err, code)
	}
}

func TestConformanceMigrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 0 {
			t.Fatal("no migrations known")
		}
		for _, m := range st {
			if m.AppliedAt == nil {
				t.Errorf("migration %d not applied", m.Version)
			}
		}
		applied, err := db.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
		}
		var n int
		if err := db.SQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+sqlstore.MigrationsTable).Scan(&n); err != nil || n == 0 {
			t.Fatalf("migrations table: %d rows, %v", n, err)
		}
	})
}

func TestConformanceZones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.ZoneStore{DB: db}
		z := &zone.Zone{ID: "z1", Name: "eu", DisplayName: "Europe", Region: "eu-west", Tags: enclave.Tags{"owner": "ops"},
			State: zone.Active, CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateZone(ctx, z); err != nil {
			t.Fatal(err)
		}
		dup := *z
		dup.ID = "z2"
		err := s.CreateZone(ctx, &dup)
		mustCode(t, err, enclave.CodeConflict)
		if enclave.ErrorField(err) != "name" {
			t.Errorf("conflict field = %q, want name", enclave.ErrorField(err))
		}
		got, err := s.GetZone(ctx, "eu")
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != "Europe" || got.Tags["owner"] != "ops" || !got.CreatedAt.Equal(t0) {
			t.Errorf("round trip: %+v", got)
		}
		_, err = s.GetZone(ctx, "nope")
		mustCode(t, err, enclave.CodeNotFound)

		for i := range 5 {
			zz := &zone.Zone{ID: fmt.Sprint("zz", i), Name: fmt.Sprint("z", i), DisplayName: "x", Region: "us",
				State: zone.Active, CreatedAt: t0, UpdatedAt: t0}
			if err := s.CreateZone(ctx, zz); err != nil {
				t.Fatal(err)
			}
		}
		page, err := s.ListZones(ctx, zone.ZoneFilter{}, "", 3)
		if err != nil || len(page) != 3 || page[0].Name != "eu" || page[2].Name != "z1" {
			t.Fatalf("first page: %v %v", names(page), err)
		}
		page, _ = s.ListZones(ctx, zone.ZoneFilter{}, "z1", 10)
		if len(page) != 3 || page[0].Name != "z2" {
			t.Fatalf("after z1: %v", names(page))
		}
		page, _ = s.ListZones(ctx, zone.ZoneFilter{Region: "eu-west"}, "", 10)
		if len(page) != 1 {
			t.Fatalf("by region: %v", names(page))
		}

		p := &zone.Project{ID: "p1", ZoneID: z.ID, Zone: "eu", Name: "onc", Owner: "ana", CostCenter: "cc1",
			MaxClassification: enclave.Restricted, State: zone.Active, CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		p2 := *p
		p2.ID = "p2"
		mustCode(t, s.CreateProject(ctx, &p2), enclave.CodeConflict)
		n, err := s.CountProjects(ctx, z.ID)
		if err != nil || n != 1 {
			t.Fatalf("count = %d, %v", n, err)
		}
		// The foreign key holds a zone with projects even if the service's check was raced.
		mustCode(t, s.DeleteZone(ctx, z.ID), enclave.CodeFailedPrecondition)

		env := &zone.Environment{ID: "e1", Name: zone.Dev, ZoneID: z.ID, ProjectID: p.ID,
			CertifiedClassification: enclave.Internal, State: zone.Active, CreatedAt: t0, UpdatedAt: t0}
		shared := &zone.Environment{ID: "e2", Name: zone.Staging, ZoneID: z.ID,
			CertifiedClassification: enclave.Confidential, State: zone.Active, CreatedAt: t0, UpdatedAt: t0}
		for _, e := range []*zone.Environment{env, shared} {
			if err := s.CreateEnvironment(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		dupEnv := *env
		dupEnv.ID = "e3"
		mustCode(t, s.CreateEnvironment(ctx, &dupEnv), enclave.CodeConflict)
		envs, err := s.ListEnvironments(ctx, z.ID, p.ID)
		if err != nil || len(envs) != 1 || envs[0].Project != "onc" || envs[0].Zone != "eu" {
			t.Fatalf("project envs: %+v %v", envs, err)
		}
		envs, _ = s.ListEnvironments(ctx, z.ID, "")
		if len(envs) != 1 || envs[0].Name != zone.Staging || envs[0].Project != "" {
			t.Fatalf("shared envs: %+v", envs)
		}
		mustCode(t, s.DeleteProject(ctx, p.ID), enclave.CodeFailedPrecondition) // environments still reference it
		if err := s.DeleteEnvironments(ctx, z.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteProject(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteProject(ctx, p.ID), enclave.CodeNotFound)
	})
}

func names(zs []*zone.Zone) []string {
	var out []string
	for _, z := range zs {
		out = append(out, z.Name)
	}
	return out
}

func TestConformanceIdentity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		p := &identity.Principal{ID: "u1", Kind: enclave.PrincipalUser, Name: "admin", DisplayName: "A", PlatformAdmin: true, CreatedAt: t0}
		if err := s.CreatePrincipal(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetPrincipalByName(ctx, "admin")
		if err != nil || !got.PlatformAdmin || got.Disabled {
			t.Fatalf("principal: %+v %v", got, err)
		}
		c := &identity.Credential{ID: "c1", PrincipalID: "u1", Kind: "bootstrap", Hash: []byte{1, 2, 3}, CreatedAt: t0}
		if err := s.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		cs, err := s.UnusedCredentials(ctx, "u1", "bootstrap")
		if err != nil || len(cs) != 1 || string(cs[0].Hash) != string(c.Hash) {
			t.Fatalf("unused: %+v %v", cs, err)
		}
		if err := s.UseCredential(ctx, "c1", t0); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.UseCredential(ctx, "c1", t0), enclave.CodeConflict)
		cs, _ = s.UnusedCredentials(ctx, "u1", "bootstrap")
		if len(cs) != 0 {
			t.Fatal("used credential still listed")
		}
		tok := &identity.Token{ID: "t1", PrincipalID: "u1", Name: "login", Hash: []byte("h"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchToken(ctx, "t1", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		gt, err := s.GetTokenByHash(ctx, []byte("h"))
		if err != nil || gt.LastUsedAt == nil || !gt.LastUsedAt.Equal(t0.Add(time.Minute)) || gt.RevokedAt != nil {
			t.Fatalf("token: %+v %v", gt, err)
		}
		wt, wp, err := s.GetTokenWithPrincipal(ctx, []byte("h"))
		if err != nil || wt.ID != "t1" || wp.Name != "admin" || !wp.PlatformAdmin || wt.LastUsedAt == nil {
			t.Fatalf("token with principal: %+v %+v %v", wt, wp, err)
		}
		if _, _, err := s.GetTokenWithPrincipal(ctx, []byte("nope")); !enclave.IsCode(err, enclave.CodeNotFound) {
			t.Fatalf("missing token: %v", err)
		}
		if err := s.RevokeToken(ctx, "t1", t0); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.RevokeToken(ctx, "t1", t0), enclave.CodeNotFound)
		_, err = s.GetTokenByHash(ctx, []byte("other"))
		mustCode(t, err, enclave.CodeNotFound)
	})
}

func TestConformanceAuditNeedsTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.AuditStore{DB: db}
		e := &audit.Event{ID: "a1", Time: t0, ActorID: "u", ActorKind: "user", ActorName: "u", Action: "zone.create",
			TargetType: "zone", Scope: "/", Outcome: audit.Success}
		if err := s.AppendEvent(ctx, e); err == nil {
			t.Fatal("append outside a transaction succeeded")
		}
		// A rolled-back transaction leaves no record.
		_ = db.InTx(ctx, func(ctx context.Context) error {
			if err := s.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
			return fmt.Errorf("roll back")
		})
		if evs, _ := s.ListEvents(ctx, audit.Filter{}, 0, 10); len(evs) != 0 {
			t.Fatalf("rolled-back event persisted: %v", evs)
		}
		for i := range 3 {
			ev := *e
			ev.ID = fmt.Sprint("b", i)
			ev.Details = map[string]any{"i": float64(i)}
			if err := db.InTx(ctx, func(ctx context.Context) error { return s.AppendEvent(ctx, &ev) }); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := s.ListEvents(ctx, audit.Filter{Action: "zone.create"}, 0, 10)
		if err != nil || len(evs) != 3 || evs[2].Details["i"] != float64(2) || !evs[0].Time.Equal(t0) {
			t.Fatalf("events: %+v %v", evs, err)
		}
		if !(evs[0].Seq < evs[1].Seq && evs[1].Seq < evs[2].Seq) || evs[0].Hash == "" || evs[1].PrevHash != evs[0].Hash {
			t.Fatal("records read were not sealed into the chain in order")
		}
	})
}

// TestConformanceAuditSealing: records wait in their transaction's order of
// writing until sealed; concurrent appenders and sealers (the background
// sealer, readers, other replicas) produce one chain with no forks and no
// gaps; a record whose transaction is still open when a seal runs is
// sealed later, after records that committed first.
func TestConformanceAuditSealing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.AuditStore{DB: db}
		appendOne := func(ctx context.Context, id string) error {
			return s.AppendEvent(ctx, &audit.Event{ID: id, Time: t0, ActorID: "u", ActorKind: "user", ActorName: "u",
				Action: "zone.update", TargetType: "zone", Scope: "/", Outcome: audit.Success, Details: map[string]any{"id": id}})
		}
		var pending int
		if err := db.InTx(ctx, func(ctx context.Context) error { return appendOne(ctx, "first") }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Appended():
		default:
			t.Fatal("a commit that appended did not wake the sealer")
		}
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM audit_pending`).Scan(&pending); err != nil || pending != 1 {
			t.Fatalf("pending = %d, %v", pending, err)
		}
		if n, err := s.Seal(ctx); err != nil || n != 1 {
			t.Fatalf("seal: %d %v", n, err)
		}
		if n, err := s.Seal(ctx); err != nil || n != 0 {
			t.Fatalf("second seal: %d %v", n, err)
		}
		if err := db.InTx(ctx, func(ctx context.Context) error {
			_, err := s.Seal(ctx)
			return err
		}); err == nil {
			t.Fatal("sealed inside a transaction")
		}

		const writers, each = 6, 40
		var wg sync.WaitGroup
		errs := make(chan error, writers+2)
		stop := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := db.InTx(ctx, func(ctx context.Context) error { return appendOne(ctx, fmt.Sprintf("w%d-%d", w, i)) }); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		var sealers sync.WaitGroup
		for range 2 {
			sealers.Add(1)
			go func() {
				defer sealers.Done()
				for {
					if _, err := s.Seal(ctx); err != nil {
						errs <- err
						return
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		sealers.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		evs, err := s.ListEvents(ctx, audit.Filter{}, 0, 10000)
		if err != nil || len(evs) != 1+writers*each {
			t.Fatalf("%d records, %v", len(evs), err)
		}
		v := audit.NewVerification(audit.Anchor{}, nil, nil)
		for _, e := range evs {
			if !v.Next(e) {
				break
			}
		}
		if rep := v.Finish(); !rep.OK {
			t.Fatalf("chain broken: %v", rep.Break)
		}
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM audit_pending`).Scan(&pending); err != nil || pending != 0 {
			t.Fatalf("pending after reading = %d, %v", pending, err)
		}

		if db.Dialect.Name() != "postgres" {
			return // SQLite has one writer at a time: no transaction stays open across a seal
		}
		// An open transaction's record is not sealed; one committed after
		// it was written is; the first is sealed once it commits.
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`INSERT INTO audit_pending (id, time, actor_id, actor_kind, actor_name, auth_method, action, target_type,
			target_id, scope, outcome, reason, source_addr, user_agent, request_id, details, actor_mfa, elevation_id, classification)
			VALUES ('slow', 0, 'u', 'user', 'u', '', 'zone.update', 'zone', '', '/', 'success', '', '', '', '', '{}', false, '', '')`); err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(ctx context.Context) error { return appendOne(ctx, "fast") }); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Seal(ctx); err != nil || n != 1 {
			t.Fatalf("seal with a transaction open: %d %v", n, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		last, _ := s.ListEvents(ctx, audit.Filter{}, int64(len(evs)), 10)
		if len(last) != 2 || last[0].ID != "fast" || last[1].ID != "slow" || last[1].PrevHash != last[0].Hash {
			t.Fatalf("after the open transaction committed: %+v", last)
		}
	})
}

func TestConformanceTasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.TaskStore{DB: db}
		task := &workqueue.Task{ID: "t1", Kind: "scan", Scope: "/", Payload: json.RawMessage(`{"x":1}`), State: workqueue.Pending,
			MaxAttempts: 3, RunAt: t0, CreatedAt: t0, UpdatedAt: t0}
		if err := s.EnqueueTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ClaimTask(ctx, []string{"other"}, "w1", t0, t0.Add(time.Minute)); got != nil {
			t.Fatal("claimed a task of another kind")
		}
		if got, _ := s.ClaimTask(ctx, []string{"scan"}, "w1", t0.Add(-time.Second), t0.Add(time.Minute)); got != nil {
			t.Fatal("claimed a task before its run time")
		}
		got, err := s.ClaimTask(ctx, []string{"scan"}, "w1", t0, t0.Add(time.Minute))
		if err != nil || got == nil || got.Attempts != 1 || got.LeaseOwner != "w1" || string(got.Payload) != `{"x":1}` {
			t.Fatalf("claim: %+v %v", got, err)
		}
		if again, _ := s.ClaimTask(ctx, []string{"scan"}, "w2", t0.Add(30*time.Second), t0.Add(2*time.Minute)); again != nil {
			t.Fatal("claimed a task under a live lease")
		}
		// The lease expires; another worker takes over and the first is fenced out.
		taken, err := s.ClaimTask(ctx, []string{"scan"}, "w2", t0.Add(time.Minute), t0.Add(2*time.Minute))
		if err != nil || taken == nil || taken.Attempts != 2 || taken.LeaseOwner != "w2" {
			t.Fatalf("takeover: %+v %v", taken, err)
		}
		mustCode(t, s.CompleteTask(ctx, "t1", "w1", t0), enclave.CodeConflict)
		mustCode(t, s.ExtendLease(ctx, "t1", "w1", t0.Add(time.Hour), t0), enclave.CodeConflict)
		retry := t0.Add(5 * time.Minute)
		if err := s.FailTask(ctx, "t1", "w2", "boom", &retry, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		g, _ := s.GetTask(ctx, "t1")
		if g.State != workqueue.Pending || g.LastError != "boom" || !g.RunAt.Equal(retry) || g.LeaseOwner != "" {
			t.Fatalf("after fail: %+v", g)
		}
		got, _ = s.ClaimTask(ctx, []string{"scan"}, "w3", retry, retry.Add(time.Minute))
		if got == nil || got.Attempts != 3 {
			t.Fatalf("third claim: %+v", got)
		}
		if err := s.FailTask(ctx, "t1", "w3", "dead now", nil, retry); err != nil {
			t.Fatal(err)
		}
		g, _ = s.GetTask(ctx, "t1")
		if g.State != workqueue.Dead {
			t.Fatalf("state = %s, want dead", g.State)
		}
		if err := s.RequeueTask(ctx, "t1", retry); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.RequeueTask(ctx, "t1", retry), enclave.CodeNotFound)
		got, _ = s.ClaimTask(ctx, []string{"scan"}, "w4", retry, retry.Add(time.Minute))
		if got == nil || got.Attempts != 1 {
			t.Fatalf("claim after requeue: %+v", got)
		}
		if err := s.CompleteTask(ctx, "t1", "w4", retry); err != nil {
			t.Fatal(err)
		}
		ts, err := s.ListTasks(ctx, workqueue.Filter{State: workqueue.Succeeded}, "", 10)
		if err != nil || len(ts) != 1 {
			t.Fatalf("list: %v %v", ts, err)
		}
	})
}

// TestConformanceTaskClaimsAreExclusive has many workers claim at once:
// each task is claimed by exactly one of them.
func TestConformanceTaskClaimsAreExclusive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.TaskStore{DB: db}
		const n = 20
		for i := range n {
			task := &workqueue.Task{ID: fmt.Sprintf("t%02d", i), Kind: "k", Scope: "/", Payload: json.RawMessage(`{}`),
				State: workqueue.Pending, MaxAttempts: 1, RunAt: t0, CreatedAt: t0, UpdatedAt: t0}
			if err := s.EnqueueTask(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprint("w", w)
				for {
					got, err := s.ClaimTask(ctx, []string{"k"}, owner, t0, t0.Add(time.Hour))
					if err != nil {
						t.Error(err)
						return
					}
					if got == nil {
						return
					}
					mu.Lock()
					if prev, dup := seen[got.ID]; dup {
						t.Errorf("task %s claimed by %s and %s", got.ID, prev, owner)
					}
					seen[got.ID] = owner
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("claimed %d of %d tasks", len(seen), n)
		}
	})
}

func TestConformanceOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.OutboxStore{DB: db}
		m := &outbox.Message{ID: "m1", Topic: "siem", Payload: json.RawMessage(`{}`), CreatedAt: t0, NextAttemptAt: t0}
		if err := s.EnqueueMessage(ctx, m); err == nil {
			t.Fatal("enqueue outside a transaction succeeded")
		}
		for i := range 3 {
			m := &outbox.Message{ID: fmt.Sprint("m", i), Topic: "siem", Payload: json.RawMessage(`{}`), CreatedAt: t0, NextAttemptAt: t0}
			if err := db.InTx(ctx, func(ctx context.Context) error { return s.EnqueueMessage(ctx, m) }); err != nil {
				t.Fatal(err)
			}
		}
		ms, err := s.PendingMessages(ctx, "siem", 10)
		if err != nil || len(ms) != 3 || ms[0].ID != "m0" || ms[2].ID != "m2" {
			t.Fatalf("pending: %v %v", ms, err)
		}
		if err := s.MarkFailed(ctx, "m0", "down", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkDelivered(ctx, "m0", t0); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.MarkDelivered(ctx, "m0", t0), enclave.CodeNotFound)
		ms, _ = s.PendingMessages(ctx, "siem", 10)
		if len(ms) != 2 || ms[0].ID != "m1" {
			t.Fatalf("pending after delivery: %v", ms)
		}

		ok, err := s.AcquireLease(ctx, "l", "a", t0, t0.Add(time.Minute))
		if err != nil || !ok {
			t.Fatalf("first acquire: %v %v", ok, err)
		}
		if ok, _ := s.AcquireLease(ctx, "l", "b", t0.Add(time.Second), t0.Add(time.Minute)); ok {
			t.Fatal("b took a live lease")
		}
		if ok, _ := s.AcquireLease(ctx, "l", "a", t0.Add(time.Second), t0.Add(2*time.Minute)); !ok {
			t.Fatal("a could not renew")
		}
		if ok, _ := s.AcquireLease(ctx, "l", "b", t0.Add(2*time.Minute), t0.Add(3*time.Minute)); !ok {
			t.Fatal("b could not take an expired lease")
		}
		if err := s.ReleaseLease(ctx, "l", "b"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.AcquireLease(ctx, "l", "a", t0, t0.Add(time.Minute)); !ok {
			t.Fatal("a could not take a released lease")
		}
	})
}

func TestConformanceIdempotency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdempotencyStore{DB: db}
		rec, err := s.Begin(ctx, "u", "k", "h1", t0, time.Minute)
		if err != nil || rec != nil {
			t.Fatalf("first begin: %v %v", rec, err)
		}
		rec, _ = s.Begin(ctx, "u", "k", "h1", t0, time.Minute)
		if rec == nil || rec.Status != 0 {
			t.Fatalf("in-flight: %+v", rec)
		}
		if rec, _ := s.Begin(ctx, "other", "k", "h1", t0, time.Minute); rec != nil {
			t.Fatal("keys are not per principal")
		}
		if err := s.Finish(ctx, "u", "k", 201, "application/json", []byte(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
		rec, _ = s.Begin(ctx, "u", "k", "h2", t0, time.Minute)
		if rec == nil || rec.Status != 201 || string(rec.Body) != `{"a":1}` || rec.RequestHash != "h1" {
			t.Fatalf("finished: %+v", rec)
		}
		// After the TTL the key is free again.
		if rec, _ := s.Begin(ctx, "u", "k", "h3", t0.Add(idempotency.TTL), time.Minute); rec != nil {
			t.Fatalf("expired key still held: %+v", rec)
		}
		// An abandoned in-flight key is taken over once stale.
		if rec, _ := s.Begin(ctx, "u", "k", "h3", t0.Add(idempotency.TTL+2*time.Minute), time.Minute); rec != nil {
			t.Fatalf("stale key still held: %+v", rec)
		}
		if err := s.Abandon(ctx, "u", "k"); err != nil {
			t.Fatal(err)
		}
		if rec, _ := s.Begin(ctx, "u", "k", "h4", t0, time.Minute); rec != nil {
			t.Fatal("abandoned key still held")
		}
	})
}

func TestConformanceKEKStore(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			keystest.RunKEKStore(t, func(t *testing.T) keys.KEKStore {
				return &sqlstore.KEKStore{DB: storetest.Open(t, b.URL(t))}
			})
		})
	}
}
