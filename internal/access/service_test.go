package access_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/enclave-ml/enclave/internal/zone"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type fixture struct {
	t     *testing.T
	db    *sqlstore.DB
	clock *clock
	svc   *access.Service
	ids   map[string]string
}

// setup creates zone eu with project onc, the people admin (bootstrap
// platform admin), ana, bob and carol, the service principal ci, and the
// group oncologists holding bob.
func setup(t *testing.T, db *sqlstore.DB) *fixture {
	c := &clock{now: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
	rec := &audit.Recorder{Store: &sqlstore.AuditStore{DB: db}, Clock: c.Now}
	q := &workqueue.Queue{Store: &sqlstore.TaskStore{DB: db}, Tx: db, Audit: rec, Clock: c.Now}
	f := &fixture{t: t, db: db, clock: c, ids: map[string]string{},
		svc: &access.Service{Store: &sqlstore.AccessStore{DB: db}, Tx: db, Audit: rec, Queue: q, Clock: c.Now}}
	ctx := f.as("admin")
	zs := &zone.Service{Store: &sqlstore.ZoneStore{DB: db}, Tx: db, Audit: rec, Clock: c.Now}
	if _, err := zs.CreateZone(ctx, zone.ZoneCreate{Name: "eu", Region: "eu"}); err != nil {
		t.Fatal(err)
	}
	if _, err := zs.CreateProject(ctx, "eu", zone.ProjectCreate{Name: "onc", Owner: "o", CostCenter: "c"}); err != nil {
		t.Fatal(err)
	}
	for i, p := range []struct{ name, kind string }{{"admin", "user"}, {"ana", "user"}, {"bob", "user"}, {"carol", "user"}, {"ci", "service"}} {
		id := "00000000-0000-7000-8000-00000000000" + string(rune('1'+i))
		f.ids[p.name] = id
		admin := p.name == "admin"
		f.exec(`INSERT INTO principals (id, kind, name, display_name, platform_admin, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, p.kind, p.name, p.name, admin, false, int64(1))
	}
	f.exec(`INSERT INTO groups (id, name, description, created_at, updated_at) VALUES (?, ?, '', 1, 1)`, "g-onc", "oncologists")
	f.exec(`INSERT INTO group_members (group_id, principal_id, added_at) VALUES (?, ?, 1)`, "g-onc", f.ids["bob"])
	return f
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.SQL.Exec(f.db.Dialect.Rebind(q), args...); err != nil {
		f.t.Fatal(err)
	}
}

// as returns a context acting as the named person.
func (f *fixture) as(name string, scopes ...string) context.Context {
	kind := enclave.PrincipalUser
	if name == "ci" {
		kind = enclave.PrincipalService
	}
	a := &enclave.Actor{PrincipalID: f.ids[name], Name: name, Kind: kind, PlatformAdmin: name == "admin", TokenScopes: scopes}
	if len(scopes) == 0 {
		a.TokenScopes = nil
	}
	return enclave.WithActor(context.Background(), a)
}

func (f *fixture) grant(by string, kind access.AssigneeKind, who, role string, scope access.Scope) *access.Assignment {
	f.t.Helper()
	a, err := f.svc.Grant(f.as(by), access.Grant{AssigneeKind: kind, Assignee: who, Role: role, Scope: scope})
	if err != nil {
		f.t.Fatalf("grant %s %s at %s: %v", who, role, scope, err)
	}
	return a
}

func code(t *testing.T, err error, want enclave.Code, field string) {
	t.Helper()
	if enclave.ErrorCode(err) != want || enclave.ErrorField(err) != field {
		t.Fatalf("error %v: want %s field %q", err, want, field)
	}
}

const proj access.Scope = "/zones/eu/projects/onc"

func TestAssignmentsInheritDownTheScopeTree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		f.grant("admin", access.AssigneeUser, "ana", "reader", "/zones/eu")
		for _, s := range []access.Scope{"/zones/eu", proj, proj + "/environments/dev", "/zones/eu/environments/qa"} {
			if err := f.svc.Authorize(f.as("ana"), access.ProjectsRead, s); err != nil {
				t.Errorf("reader at zone, read at %s: %v", s, err)
			}
		}
		code(t, f.svc.Authorize(f.as("ana"), access.ZonesRead, "/"), enclave.CodePermissionDenied, "")
		code(t, f.svc.Authorize(f.as("ana"), access.ProjectsWrite, proj), enclave.CodePermissionDenied, "")
		// Through a group.
		f.grant("admin", access.AssigneeGroup, "oncologists", "data-scientist", proj)
		if err := f.svc.Authorize(f.as("bob"), "jobs/write", proj+"/environments/dev"); err != nil {
			t.Fatalf("group member: %v", err)
		}
		code(t, f.svc.Authorize(f.as("carol"), "jobs/write", proj), enclave.CodePermissionDenied, "")
		// Rights are the union: a not-action of one role is no deny.
		f.grant("admin", access.AssigneeUser, "bob", "reader", proj)
		if err := f.svc.Authorize(f.as("bob"), "datasets/contents/read", proj); err != nil {
			t.Fatalf("reader's not-action denied what data-scientist grants: %v", err)
		}
		// A token's scopes narrow the roles.
		code(t, f.svc.Authorize(f.as("bob", "jobs/*"), "datasets/contents/read", proj), enclave.CodePermissionDenied, "")
		if err := f.svc.Authorize(f.as("bob", "jobs/*"), "jobs/write", proj); err != nil {
			t.Fatal(err)
		}
		// Self-service needs no role, but still obeys token scopes.
		if err := f.svc.Authorize(f.as("carol"), access.SelfMFAWrite, "/"); err != nil {
			t.Fatal(err)
		}
		code(t, f.svc.Authorize(f.as("carol", "self/read"), access.SelfMFAWrite, "/"), enclave.CodePermissionDenied, "")
		// The bootstrap administrator holds platform-admin without an assignment.
		if err := f.svc.Authorize(f.as("admin"), access.ZonesWrite, "/"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGrantRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		g := func(by string, kind access.AssigneeKind, who, role string, scope access.Scope) error {
			_, err := f.svc.Grant(f.as(by), access.Grant{AssigneeKind: kind, Assignee: who, Role: role, Scope: scope})
			return err
		}
		code(t, g("admin", access.AssigneeUser, "ana", "reader", "/zones/nowhere"), enclave.CodeNotFound, "scope")
		code(t, g("admin", access.AssigneeUser, "ana", "reader", "/zones/eu/projects/nope"), enclave.CodeNotFound, "scope")
		code(t, g("admin", access.AssigneeUser, "ana", "reader", "zones/eu"), enclave.CodeInvalidArgument, "scope")
		code(t, g("admin", access.AssigneeUser, "ana", "superuser", proj), enclave.CodeInvalidArgument, "role")
		code(t, g("admin", access.AssigneeUser, "ana", "platform-admin", proj), enclave.CodeInvalidArgument, "scope")
		code(t, g("admin", access.AssigneeUser, "ana", "platform-support", "/"), enclave.CodeFailedPrecondition, "role")
		code(t, g("admin", access.AssigneeUser, "nobody", "reader", proj), enclave.CodeNotFound, "assignee")
		code(t, g("admin", access.AssigneeService, "ana", "reader", proj), enclave.CodeNotFound, "assignee")
		code(t, g("admin", "robot", "ana", "reader", proj), enclave.CodeInvalidArgument, "assignee_kind")
		f.grant("admin", access.AssigneeService, "ci", "cicd", proj)
		code(t, g("admin", access.AssigneeService, "ci", "cicd", proj), enclave.CodeConflict, "role")
		// Only owner-level roles grant: a project lead cannot, an owner can, within its scope only.
		f.grant("admin", access.AssigneeUser, "ana", "project-lead", proj)
		code(t, g("ana", access.AssigneeUser, "carol", "reader", proj), enclave.CodePermissionDenied, "")
		f.grant("admin", access.AssigneeUser, "bob", "owner", proj)
		f.grant("bob", access.AssigneeUser, "carol", "reader", proj)
		code(t, g("bob", access.AssigneeUser, "carol", "reader", "/zones/eu"), enclave.CodePermissionDenied, "")
		// Revoke: by an owner at the scope; nothing left behind.
		as, _, err := f.svc.List(f.as("bob"), access.AssignmentFilter{Scope: proj}, enclave.Page{})
		if err != nil || len(as) != 4 {
			t.Fatalf("list at project: %d %v", len(as), err)
		}
		for _, a := range as {
			if a.AssigneeName == "carol" {
				if err := f.svc.Revoke(f.as("ana"), a.ID); !enclave.IsCode(err, enclave.CodePermissionDenied) {
					t.Fatalf("project lead revoked: %v", err)
				}
				if err := f.svc.Revoke(f.as("bob"), a.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		code(t, f.svc.Authorize(f.as("carol"), access.ProjectsRead, proj), enclave.CodePermissionDenied, "")
		_, _, err = f.svc.List(f.as("carol"), access.AssignmentFilter{Scope: proj}, enclave.Page{})
		code(t, err, enclave.CodePermissionDenied, "")
	})
}

func TestCheckExplains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		f.grant("admin", access.AssigneeGroup, "oncologists", "data-scientist", proj)
		f.grant("admin", access.AssigneeUser, "bob", "reader", "/zones/eu")
		d, err := f.svc.Check(f.as("admin"), access.AssigneeUser, "bob", "jobs/write", proj)
		if err != nil || !d.Allowed || !strings.Contains(d.Reason, "data-scientist") || !strings.Contains(d.Reason, "oncologists") {
			t.Fatalf("allowed via group: %+v %v", d, err)
		}
		d, _ = f.svc.Check(f.as("admin"), access.AssigneeUser, "bob", "compute/write", proj)
		if d.Allowed || len(d.Considered) != 2 || !strings.Contains(d.Reason, "no assignment grants compute/write") {
			t.Fatalf("denied: %+v", d)
		}
		d, _ = f.svc.Check(f.as("admin"), access.AssigneeUser, "bob", "datasets/contents/read", "/zones/eu")
		if d.Allowed {
			t.Fatalf("reader at zone allowed contents: %+v", d)
		}
		found := false
		for _, c := range d.Considered {
			found = found || strings.Contains(c.Why, "not-action */contents/*")
		}
		if !found {
			t.Fatalf("the excluding not-action is not named: %+v", d.Considered)
		}
		d, _ = f.svc.Check(f.as("admin"), access.AssigneeUser, "carol", "zones/read", "/zones/eu")
		if d.Allowed || !strings.Contains(d.Reason, "no role at /zones/eu or above") {
			t.Fatalf("no roles: %+v", d)
		}
		// Anyone may check themselves; checking others needs access/assignments/read.
		if _, err := f.svc.Check(f.as("carol"), "", "", "zones/read", "/"); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Check(f.as("carol"), access.AssigneeUser, "bob", "zones/read", "/")
		code(t, err, enclave.CodePermissionDenied, "")
		_, err = f.svc.Check(f.as("admin"), access.AssigneeUser, "bob", "zones/*", "/")
		code(t, err, enclave.CodeInvalidArgument, "action")
	})
}

// TestElevationLifecycle: request → approval by another owner → active →
// expired by the work queue, nobody acting.
func TestElevationLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		f.grant("admin", access.AssigneeUser, "bob", "owner", proj)
		req := access.ElevationRequest{Role: "platform-support", Scope: proj, Duration: "2h", Justification: "restart stuck scoring job"}
		e, err := f.svc.RequestElevation(f.as("ana"), req)
		if err != nil || e.State != access.ElevationPending {
			t.Fatalf("request: %+v %v", e, err)
		}
		code(t, f.svc.Authorize(f.as("ana"), "platform/tasks/write", proj), enclave.CodePermissionDenied, "")
		// Bad requests.
		long := req
		long.Duration = "5h"
		_, err = f.svc.RequestElevation(f.as("ana"), long)
		code(t, err, enclave.CodeInvalidArgument, "duration")
		nowhere := req
		nowhere.Scope = "/zones/eu/projects/ghost"
		_, err = f.svc.RequestElevation(f.as("ana"), nowhere)
		code(t, err, enclave.CodeNotFound, "scope")
		terse := req
		terse.Justification = "pls"
		_, err = f.svc.RequestElevation(f.as("ana"), terse)
		code(t, err, enclave.CodeInvalidArgument, "justification")
		_, err = f.svc.RequestElevation(f.as("ci"), req)
		code(t, err, enclave.CodePermissionDenied, "")
		// Nobody approves their own; a non-owner cannot approve.
		self, _ := f.svc.RequestElevation(f.as("bob"), access.ElevationRequest{Role: "owner", Scope: "/zones/eu", Duration: "1h", Justification: "zone-wide fix"})
		_, err = f.svc.ApproveElevation(f.as("bob"), self.ID, access.ElevationDecision{})
		code(t, err, enclave.CodePermissionDenied, "")
		_, err = f.svc.ApproveElevation(f.as("carol"), e.ID, access.ElevationDecision{})
		code(t, err, enclave.CodePermissionDenied, "")
		// An owner at the scope approves.
		e, err = f.svc.ApproveElevation(f.as("bob"), e.ID, access.ElevationDecision{Note: "ok for the incident"})
		if err != nil || e.State != access.ElevationActive || e.ExpiresAt == nil || !e.ExpiresAt.Equal(f.clock.Now().Add(2*time.Hour)) {
			t.Fatalf("approve: %+v %v", e, err)
		}
		_, err = f.svc.ApproveElevation(f.as("bob"), e.ID, access.ElevationDecision{})
		code(t, err, enclave.CodeFailedPrecondition, "")
		if err := f.svc.Authorize(f.as("ana"), "platform/tasks/write", proj); err != nil {
			t.Fatalf("active elevation: %v", err)
		}
		d, _ := f.svc.Check(f.as("ana"), "", "", "platform/tasks/write", proj)
		if !strings.Contains(d.Reason, "just-in-time elevation "+e.ID) {
			t.Fatalf("check does not name the elevation: %s", d.Reason)
		}
		list, _, _ := f.svc.ListElevations(f.as("ana"), access.ElevationFilter{}, enclave.Page{})
		if len(list) != 1 {
			t.Fatalf("ana sees %d elevations", len(list))
		}
		list, _, _ = f.svc.ListElevations(f.as("bob"), access.ElevationFilter{State: access.ElevationActive}, enclave.Page{})
		if len(list) != 1 || list[0].ID != e.ID {
			t.Fatalf("approver sees %v", list)
		}
		// Time passes; the worker expires it.
		w := &workqueue.Worker{Store: &sqlstore.TaskStore{DB: db}, Clock: f.clock.Now, Owner: "w", Logger: slog.New(slog.DiscardHandler),
			Handlers: map[string]workqueue.Handler{access.ExpireElevationTask: f.svc.ExpireElevation}}
		f.clock.Add(time.Hour)
		if did, _ := w.RunOnce(context.Background()); did {
			t.Fatal("expiry ran early")
		}
		f.clock.Add(time.Hour)
		if did, err := w.RunOnce(context.Background()); !did || err != nil {
			t.Fatalf("expiry did not run: %v %v", did, err)
		}
		e, _ = f.svc.GetElevation(f.as("ana"), e.ID)
		if e.State != access.ElevationExpired || e.EndedAt == nil {
			t.Fatalf("after expiry: %+v", e)
		}
		code(t, f.svc.Authorize(f.as("ana"), "platform/tasks/write", proj), enclave.CodePermissionDenied, "")
		var n int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM role_assignments WHERE elevation_id IS NOT NULL`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("elevation assignment left behind: %d %v", n, err)
		}
		evs, _ := (&sqlstore.AuditStore{DB: db}).ListEvents(context.Background(), audit.Filter{TargetID: e.ID}, 0, 10)
		var actions []string
		for _, ev := range evs {
			actions = append(actions, ev.Action+"/"+ev.ActorName)
		}
		if strings.Join(actions, ",") != "access.elevation.request/ana,access.elevation.approve/bob,access.elevation.expire/elevation-expiry" {
			t.Fatalf("audit trail: %v", actions)
		}
	})
}

func TestElevationRejectCancelRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		req := access.ElevationRequest{Role: "contributor", Scope: proj, Duration: "30m", Justification: "fix a broken deployment"}
		e1, _ := f.svc.RequestElevation(f.as("ana"), req)
		if _, err := f.svc.RejectElevation(f.as("admin"), e1.ID, access.ElevationDecision{Note: "use a ticket"}); err != nil {
			t.Fatal(err)
		}
		e2, _ := f.svc.RequestElevation(f.as("ana"), req)
		_, err := f.svc.CancelElevation(f.as("carol"), e2.ID)
		code(t, err, enclave.CodePermissionDenied, "")
		if e2, err = f.svc.CancelElevation(f.as("ana"), e2.ID); err != nil || e2.State != access.ElevationCancelled {
			t.Fatalf("cancel: %+v %v", e2, err)
		}
		e3, _ := f.svc.RequestElevation(f.as("ana"), req)
		f.svc.ApproveElevation(f.as("admin"), e3.ID, access.ElevationDecision{})
		if err := f.svc.Authorize(f.as("ana"), access.ProjectsWrite, proj); err != nil {
			t.Fatal(err)
		}
		// The elevation's assignment is not revoked as a standing one.
		as, _, _ := f.svc.List(f.as("admin"), access.AssignmentFilter{Scope: proj}, enclave.Page{})
		if len(as) != 1 || as[0].ElevationID != e3.ID {
			t.Fatalf("assignments: %+v", as)
		}
		code(t, f.svc.Revoke(f.as("admin"), as[0].ID), enclave.CodeFailedPrecondition, "")
		if e3, err = f.svc.CancelElevation(f.as("admin"), e3.ID); err != nil || e3.State != access.ElevationRevoked {
			t.Fatalf("revoke: %+v %v", e3, err)
		}
		code(t, f.svc.Authorize(f.as("ana"), access.ProjectsWrite, proj), enclave.CodePermissionDenied, "")
		_, err = f.svc.GetElevation(f.as("carol"), e3.ID)
		code(t, err, enclave.CodeNotFound, "")
	})
}

// TestConcurrentApprovalsActivateOnce: two owners approve the same request
// at once; exactly one approval takes effect and one assignment exists.
func TestConcurrentApprovalsActivateOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		f.grant("admin", access.AssigneeUser, "bob", "owner", proj)
		f.grant("admin", access.AssigneeUser, "carol", "owner", proj)
		e, err := f.svc.RequestElevation(f.as("ana"), access.ElevationRequest{Role: "contributor", Scope: proj, Duration: "1h", Justification: "concurrent approvals"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, who := range []string{"bob", "carol"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.svc.ApproveElevation(f.as(who), e.ID, access.ElevationDecision{})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !enclave.IsCode(err, enclave.CodeConflict) && !enclave.IsCode(err, enclave.CodeFailedPrecondition) {
				t.Fatalf("losing approval: %v", err)
			}
		}
		var n int
		db.SQL.QueryRow(`SELECT COUNT(*) FROM role_assignments WHERE elevation_id IS NOT NULL`).Scan(&n)
		if ok != 1 || n != 1 {
			t.Fatalf("%d approvals took effect, %d assignments", ok, n)
		}
	})
}

// TestNoEscalation: nobody grants themselves (directly or through a
// group), an owner cannot hand out more administrative power than it has,
// and an elevation cannot be turned into standing access.
func TestNoEscalation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		g := func(by string, kind access.AssigneeKind, who, role string, scope access.Scope) error {
			_, err := f.svc.Grant(f.as(by), access.Grant{AssigneeKind: kind, Assignee: who, Role: role, Scope: scope})
			return err
		}
		f.grant("admin", access.AssigneeUser, "bob", "owner", "/")
		code(t, g("bob", access.AssigneeUser, "bob", "data-owner", "/zones/eu"), enclave.CodePermissionDenied, "")
		code(t, g("bob", access.AssigneeGroup, "oncologists", "data-scientist", proj), enclave.CodePermissionDenied, "")
		code(t, g("bob", access.AssigneeUser, "carol", "platform-admin", "/"), enclave.CodePermissionDenied, "")
		if err := g("bob", access.AssigneeUser, "carol", "data-scientist", proj); err != nil {
			t.Fatalf("an owner grants a data role to someone else: %v", err)
		}
		code(t, g("admin", access.AssigneeUser, "admin", "reader", "/"), enclave.CodePermissionDenied, "")
		// An elevated owner cannot grant standing access, nor approve.
		e, _ := f.svc.RequestElevation(f.as("ana"), access.ElevationRequest{Role: "owner", Scope: proj, Duration: "1h", Justification: "incident 9 owner"})
		if _, err := f.svc.ApproveElevation(f.as("bob"), e.ID, access.ElevationDecision{}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Authorize(f.as("ana"), access.AssignmentsWrite, proj); err != nil {
			t.Fatalf("elevated owner lacks the owner's rights: %v", err)
		}
		code(t, g("ana", access.AssigneeUser, "carol", "owner", proj), enclave.CodePermissionDenied, "")
		pending, _ := f.svc.RequestElevation(f.as("carol"), access.ElevationRequest{Role: "reader", Scope: proj, Duration: "1h", Justification: "look at things"})
		_, err := f.svc.ApproveElevation(f.as("ana"), pending.ID, access.ElevationDecision{})
		code(t, err, enclave.CodePermissionDenied, "")
		// Only a platform admin approves platform-admin.
		pa, _ := f.svc.RequestElevation(f.as("carol"), access.ElevationRequest{Role: "platform-admin", Scope: "/", Duration: "1h", Justification: "rotate platform keys"})
		_, err = f.svc.ApproveElevation(f.as("bob"), pa.ID, access.ElevationDecision{})
		code(t, err, enclave.CodePermissionDenied, "")
		if _, err := f.svc.ApproveElevation(f.as("admin"), pa.ID, access.ElevationDecision{}); err != nil {
			t.Fatal(err)
		}
		// A request left pending too long cannot be approved.
		f.clock.Add(access.PendingElevationTTL + time.Minute)
		_, err = f.svc.ApproveElevation(f.as("bob"), pending.ID, access.ElevationDecision{})
		code(t, err, enclave.CodeFailedPrecondition, "")
	})
}

// TestEnvironmentScopes: an assignment at an environment grants there and
// nowhere else.
func TestEnvironmentScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		f.grant("admin", access.AssigneeUser, "ana", "data-scientist", proj+"/environments/dev")
		if err := f.svc.Authorize(f.as("ana"), "endpoints/write", proj+"/environments/dev"); err != nil {
			t.Fatal(err)
		}
		code(t, f.svc.Authorize(f.as("ana"), "endpoints/write", proj+"/environments/prod"), enclave.CodePermissionDenied, "")
		code(t, f.svc.Authorize(f.as("ana"), "endpoints/write", proj), enclave.CodePermissionDenied, "")
		_, err := f.svc.Grant(f.as("admin"), access.Grant{AssigneeKind: access.AssigneeUser, Assignee: "ana", Role: "reader", Scope: proj + "/environments/nope"})
		code(t, err, enclave.CodeNotFound, "scope")
	})
}

// TestDeletedScopeTakesItsAccess: deleting a project removes the access
// granted on it, so a new project of the same name starts with none.
func TestDeletedScopeTakesItsAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		rec := &audit.Recorder{Store: &sqlstore.AuditStore{DB: db}, Clock: f.clock.Now}
		zs := &zone.Service{Store: &sqlstore.ZoneStore{DB: db}, Tx: db, Audit: rec, Clock: f.clock.Now,
			OnScopeDelete: []func(context.Context, string) error{f.svc.ScopeDeleted}}
		f.grant("admin", access.AssigneeUser, "ana", "data-scientist", proj)
		f.grant("admin", access.AssigneeUser, "bob", "reader", proj+"/environments/dev")
		e, _ := f.svc.RequestElevation(f.as("carol"), access.ElevationRequest{Role: "contributor", Scope: proj, Duration: "1h", Justification: "pending when deleted"})
		if err := zs.DeleteProject(f.as("admin"), "eu", "onc"); err != nil {
			t.Fatal(err)
		}
		if _, err := zs.CreateProject(f.as("admin"), "eu", zone.ProjectCreate{Name: "onc", Owner: "o", CostCenter: "c"}); err != nil {
			t.Fatal(err)
		}
		code(t, f.svc.Authorize(f.as("ana"), access.ProjectsRead, proj), enclave.CodePermissionDenied, "")
		code(t, f.svc.Authorize(f.as("bob"), access.ProjectsRead, proj+"/environments/dev"), enclave.CodePermissionDenied, "")
		if got, _ := f.svc.GetElevation(f.as("carol"), e.ID); got.State != access.ElevationCancelled {
			t.Fatalf("pending elevation on a deleted project: %s", got.State)
		}
		evs, _ := (&sqlstore.AuditStore{DB: db}).ListEvents(context.Background(), audit.Filter{Action: "access.revoke"}, 0, 10)
		if len(evs) != 2 || evs[0].Reason != "scope deleted" {
			t.Fatalf("revocations audited: %+v", evs)
		}
	})
}
