package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func person(id, name string) *identity.Principal {
	return &identity.Principal{ID: id, Kind: enclave.PrincipalUser, Name: name, DisplayName: name, CreatedAt: t0, UpdatedAt: t0}
}

func TestConformancePrincipals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		ana := person("p-ana", "ana")
		ana.Email = "ana@example.org"
		sp := &identity.Principal{ID: "p-ci", Kind: enclave.PrincipalService, ServiceKind: identity.ServiceCICD, Name: "ci",
			DisplayName: "CI", CreatedAt: t0, UpdatedAt: t0}
		for _, p := range []*identity.Principal{ana, sp, person("p-bob", "bob"), person("p-cy", "cy")} {
			if err := s.CreatePrincipal(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		dup := person("p-other", "ana")
		err := s.CreatePrincipal(ctx, dup)
		mustCode(t, err, enclave.CodeConflict)
		if enclave.ErrorField(err) != "name" {
			t.Errorf("conflict field %q", enclave.ErrorField(err))
		}
		got, err := s.GetPrincipalByName(ctx, "ana")
		if err != nil || got.Email != "ana@example.org" || got.PasswordSet || got.MFAEnrolled || !got.UpdatedAt.Equal(t0) || got.DeletedAt != nil {
			t.Fatalf("ana: %+v %v", got, err)
		}
		got, _ = s.GetPrincipal(ctx, "p-ci")
		if got.ServiceKind != identity.ServiceCICD || got.Kind != enclave.PrincipalService {
			t.Fatalf("ci: %+v", got)
		}

		// Derived flags follow the password and the confirmed TOTP enrolment.
		if err := s.SetPasswordHash(ctx, "p-ana", "$argon2id$one", t0); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPasswordHash(ctx, "p-ana", "$argon2id$two", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if h, err := s.GetPasswordHash(ctx, "p-ana"); err != nil || h != "$argon2id$two" {
			t.Fatalf("password upsert: %q %v", h, err)
		}
		_, err = s.GetPasswordHash(ctx, "p-bob")
		mustCode(t, err, enclave.CodeNotFound)
		if err := s.PutTOTP(ctx, &identity.TOTP{PrincipalID: "p-ana", Secret: "S", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetPrincipalByName(ctx, "ana")
		if !got.PasswordSet || got.MFAEnrolled {
			t.Fatalf("unconfirmed TOTP counts as enrolled: %+v", got)
		}
		if err := s.ConfirmTOTP(ctx, "p-ana", 100, t0); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetPrincipalByName(ctx, "ana")
		if !got.MFAEnrolled {
			t.Fatal("confirmed TOTP not seen")
		}

		// Lists skip the deleted, filter by kind, and page by name.
		now := t0.Add(time.Hour)
		cy, _ := s.GetPrincipalByName(ctx, "cy")
		cy.DeletedAt, cy.Disabled, cy.UpdatedAt, cy.DisplayName = &now, true, now, "Cy"
		if err := s.UpdatePrincipal(ctx, cy); err != nil {
			t.Fatal(err)
		}
		cy, _ = s.GetPrincipalByName(ctx, "cy")
		if cy.DeletedAt == nil || !cy.DeletedAt.Equal(now) || !cy.Disabled || cy.DisplayName != "Cy" {
			t.Fatalf("update: %+v", cy)
		}
		users, err := s.ListPrincipals(ctx, identity.PrincipalFilter{Kind: "user"}, "", 10)
		if err != nil || len(users) != 2 || users[0].Name != "ana" || users[1].Name != "bob" {
			t.Fatalf("users: %v %v", principalNames(users), err)
		}
		users, _ = s.ListPrincipals(ctx, identity.PrincipalFilter{Kind: "user"}, "ana", 10)
		if len(users) != 1 || users[0].Name != "bob" {
			t.Fatalf("after ana: %v", principalNames(users))
		}
		sps, _ := s.ListPrincipals(ctx, identity.PrincipalFilter{Kind: "service", ServiceKind: identity.ServiceCICD}, "", 10)
		if len(sps) != 1 || sps[0].Name != "ci" {
			t.Fatalf("service principals: %v", principalNames(sps))
		}
		sps, _ = s.ListPrincipals(ctx, identity.PrincipalFilter{Kind: "service", ServiceKind: identity.ServiceMonitoring}, "", 10)
		if len(sps) != 0 {
			t.Fatalf("monitoring: %v", principalNames(sps))
		}
		mustCode(t, s.UpdatePrincipal(ctx, person("nope", "nope")), enclave.CodeNotFound)
	})
}

func principalNames(ps []*identity.Principal) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestConformanceTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		if err := s.CreatePrincipal(ctx, person("p1", "ana")); err != nil {
			t.Fatal(err)
		}
		mk := func(id string, kind identity.TokenKind, scopes []string, expires time.Time) {
			t.Helper()
			if err := s.CreateToken(ctx, &identity.Token{ID: id, PrincipalID: "p1", Name: id, Kind: kind, Scopes: scopes, MFA: kind == identity.TokenSession,
				Hash: []byte("h-" + id), CreatedAt: t0, ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
		}
		mk("t1", identity.TokenSession, nil, t0.Add(time.Hour))
		mk("t2", identity.TokenPAT, []string{"zones/read", "datasets/*"}, t0.Add(time.Hour))
		mk("t3", identity.TokenPAT, nil, t0.Add(time.Minute))
		mk("t4", identity.TokenLogin, []string{"self/read"}, t0.Add(time.Hour))

		tok, p, err := s.GetTokenWithPrincipal(ctx, []byte("h-t2"))
		if err != nil || tok.Kind != identity.TokenPAT || len(tok.Scopes) != 2 || tok.Scopes[1] != "datasets/*" || tok.MFA || p.Name != "ana" {
			t.Fatalf("token with principal: %+v %+v %v", tok, p, err)
		}
		tok, _ = s.GetToken(ctx, "t1")
		if tok.Scopes != nil || !tok.MFA || tok.Kind != identity.TokenSession {
			t.Fatalf("session: %+v", tok)
		}

		all, err := s.ListTokens(ctx, "p1", identity.TokenFilter{}, "", 10)
		if err != nil || tokenIDs(all) != "t4,t3,t2,t1" {
			t.Fatalf("all tokens newest first: %s %v", tokenIDs(all), err)
		}
		page, _ := s.ListTokens(ctx, "p1", identity.TokenFilter{}, "t3", 10)
		if tokenIDs(page) != "t2,t1" {
			t.Fatalf("before t3: %s", tokenIDs(page))
		}
		pats, _ := s.ListTokens(ctx, "p1", identity.TokenFilter{Kind: identity.TokenPAT}, "", 10)
		if tokenIDs(pats) != "t3,t2" {
			t.Fatalf("pats: %s", tokenIDs(pats))
		}
		live, _ := s.ListTokens(ctx, "p1", identity.TokenFilter{LiveAt: t0.Add(30 * time.Minute)}, "", 10)
		if tokenIDs(live) != "t4,t2,t1" {
			t.Fatalf("live: %s", tokenIDs(live))
		}

		n, err := s.RevokePrincipalTokens(ctx, "p1", []identity.TokenKind{identity.TokenSession, identity.TokenLogin}, "t1", t0)
		if err != nil || n != 1 {
			t.Fatalf("revoke sessions except t1: %d %v", n, err)
		}
		tok, _ = s.GetToken(ctx, "t4")
		if tok.RevokedAt == nil {
			t.Fatal("t4 not revoked")
		}
		n, _ = s.RevokePrincipalTokens(ctx, "p1", nil, "", t0)
		if n != 3 {
			t.Fatalf("revoke all: %d", n)
		}
		mustCode(t, s.RevokeToken(ctx, "t1", t0), enclave.CodeNotFound)
		_, err = s.GetToken(ctx, "nope")
		mustCode(t, err, enclave.CodeNotFound)
	})
}

func tokenIDs(ts []*identity.Token) string {
	var s string
	for i, t := range ts {
		if i > 0 {
			s += ","
		}
		s += t.ID
	}
	return s
}

func TestConformanceMFA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		if err := s.CreatePrincipal(ctx, person("p1", "ana")); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetTOTP(ctx, "p1")
		mustCode(t, err, enclave.CodeNotFound)
		if err := s.PutTOTP(ctx, &identity.TOTP{PrincipalID: "p1", Secret: "OLD", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		// Re-enrolling before confirming replaces the secret.
		if err := s.PutTOTP(ctx, &identity.TOTP{PrincipalID: "p1", Secret: "NEW", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		// A step cannot advance before the enrolment is confirmed.
		mustCode(t, s.AdvanceTOTPStep(ctx, "p1", 5), enclave.CodeConflict)
		if err := s.ConfirmTOTP(ctx, "p1", 10, t0); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.ConfirmTOTP(ctx, "p1", 11, t0), enclave.CodeNotFound)
		got, err := s.GetTOTP(ctx, "p1")
		if err != nil || got.Secret != "NEW" || got.LastStep != 10 || got.ConfirmedAt == nil {
			t.Fatalf("totp: %+v %v", got, err)
		}
		// Each step is accepted once, and never an earlier one.
		mustCode(t, s.AdvanceTOTPStep(ctx, "p1", 10), enclave.CodeConflict)
		mustCode(t, s.AdvanceTOTPStep(ctx, "p1", 9), enclave.CodeConflict)
		if err := s.AdvanceTOTPStep(ctx, "p1", 11); err != nil {
			t.Fatal(err)
		}

		codes := []*identity.RecoveryCode{{ID: "r1", PrincipalID: "p1", Hash: []byte("c1")}, {ID: "r2", PrincipalID: "p1", Hash: []byte("c2")}}
		if err := s.ReplaceRecoveryCodes(ctx, "p1", codes); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountRecoveryCodes(ctx, "p1"); err != nil || n != 2 {
			t.Fatalf("count: %d %v", n, err)
		}
		if err := s.UseRecoveryCode(ctx, "p1", []byte("c1"), t0); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.UseRecoveryCode(ctx, "p1", []byte("c1"), t0), enclave.CodeNotFound)
		mustCode(t, s.UseRecoveryCode(ctx, "p1", []byte("wrong"), t0), enclave.CodeNotFound)
		if n, _ := s.CountRecoveryCodes(ctx, "p1"); n != 1 {
			t.Fatalf("count after use: %d", n)
		}
		if err := s.DeleteTOTP(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRecoveryCodes(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountRecoveryCodes(ctx, "p1"); n != 0 {
			t.Fatalf("codes survive deletion: %d", n)
		}

		c := &identity.Challenge{ID: "c1", PrincipalID: "p1", Hash: []byte("ch"), CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		gc, err := s.GetChallengeByHash(ctx, []byte("ch"))
		if err != nil || gc.PrincipalID != "p1" || !gc.ExpiresAt.Equal(c.ExpiresAt) || gc.UsedAt != nil {
			t.Fatalf("challenge: %+v %v", gc, err)
		}
		if err := s.UseChallenge(ctx, "c1", t0); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.UseChallenge(ctx, "c1", t0), enclave.CodeConflict)
	})
}

// TestConformanceThrottle: failures count within the window, a new window
// starts afterwards, locks keep the later time, and concurrent failures
// are never lost.
func TestConformanceThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		win := 15 * time.Minute
		for i := 1; i <= 3; i++ {
			now := t0.Add(time.Duration(i) * time.Minute)
			th, err := s.CountSignInAttempt(ctx, "account:ana", now, now.Add(-win))
			if err != nil || th.Failures != i || !th.FirstAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("failure %d: %+v %v", i, th, err)
			}
		}
		if err := s.LockSignIn(ctx, "account:ana", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.LockSignIn(ctx, "account:ana", t0.Add(time.Minute)); err != nil { // an earlier lock does not shorten it
			t.Fatal(err)
		}
		ths, err := s.GetThrottles(ctx, "account:ana", "source:1.2.3.4")
		if err != nil || len(ths) != 1 || !ths[0].LockedUntil.Equal(t0.Add(time.Hour)) || ths[0].Failures != 3 {
			t.Fatalf("throttles: %+v %v", ths, err)
		}
		later := t0.Add(time.Hour)
		th, err := s.CountSignInAttempt(ctx, "account:ana", later, later.Add(-win))
		if err != nil || th.Failures != 1 || !th.FirstAt.Equal(later) {
			t.Fatalf("new window: %+v %v", th, err)
		}
		if err := s.ResetThrottle(ctx, "account:ana"); err != nil {
			t.Fatal(err)
		}
		if ths, _ := s.GetThrottles(ctx, "account:ana"); len(ths) != 0 {
			t.Fatalf("reset left %+v", ths)
		}

		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.InTx(ctx, func(ctx context.Context) error {
					_, err := s.CountSignInAttempt(ctx, "source:10.0.0.1", t0, t0.Add(-win))
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		ths, _ = s.GetThrottles(ctx, "source:10.0.0.1")
		if len(ths) != 1 || ths[0].Failures != 20 {
			t.Fatalf("concurrent failures: %+v", ths)
		}
	})
}

// TestConformanceThrottleUncount: taking an attempt back subtracts one
// (never below zero) and puts back the earlier lock only while the lock is
// the one that attempt set.
func TestConformanceThrottleUncount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		win := 15 * time.Minute
		get := func(key string) *identity.Throttle {
			t.Helper()
			ths, err := s.GetThrottles(ctx, key)
			if err != nil || len(ths) != 1 {
				t.Fatalf("%s: %+v %v", key, ths, err)
			}
			return ths[0]
		}
		for range 3 {
			if _, err := s.CountSignInAttempt(ctx, "account:ana", t0, t0.Add(-win)); err != nil {
				t.Fatal(err)
			}
		}
		mine := t0.Add(time.Second)
		if err := s.LockSignIn(ctx, "account:ana", mine); err != nil {
			t.Fatal(err)
		}
		if err := s.UncountSignInAttempt(ctx, "account:ana", mine, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if th := get("account:ana"); th.Failures != 2 || !th.LockedUntil.IsZero() {
			t.Fatalf("after taking back the attempt that locked: %+v", th)
		}
		// A lock set since (by another attempt) stays.
		other := t0.Add(4 * time.Second)
		if err := s.LockSignIn(ctx, "account:ana", other); err != nil {
			t.Fatal(err)
		}
		if err := s.UncountSignInAttempt(ctx, "account:ana", mine, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if th := get("account:ana"); th.Failures != 1 || !th.LockedUntil.Equal(other) {
			t.Fatalf("another attempt's lock: %+v", th)
		}
		// An attempt that set no lock takes back only its count; the earlier lock is restored.
		if err := s.UncountSignInAttempt(ctx, "account:ana", other, mine); err != nil {
			t.Fatal(err)
		}
		if th := get("account:ana"); th.Failures != 0 || !th.LockedUntil.Equal(mine) {
			t.Fatalf("restored lock: %+v", th)
		}
		if err := s.UncountSignInAttempt(ctx, "account:ana", time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if th := get("account:ana"); th.Failures != 0 || !th.LockedUntil.Equal(mine) {
			t.Fatalf("below zero: %+v", th)
		}
		if err := s.UncountSignInAttempt(ctx, "account:nobody", time.Time{}, time.Time{}); err != nil {
			t.Fatalf("a key without a row: %v", err)
		}
	})
}

// TestConformanceThrottleReservation: the reservation pattern — count,
// refuse when locked, lock at the third — admits exactly three of many
// concurrent transactions on one key, on either engine.
func TestConformanceThrottleReservation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		win := 15 * time.Minute
		errLocked := errors.New("locked")
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.InTx(ctx, func(ctx context.Context) error {
					th, err := s.CountSignInAttempt(ctx, "account:ana", t0, t0.Add(-win))
					if err != nil {
						return err
					}
					if th.LockedUntil.After(t0) {
						return errLocked
					}
					if th.Failures >= 3 {
						return s.LockSignIn(ctx, "account:ana", t0.Add(time.Minute))
					}
					return nil
				})
				switch {
				case err == nil:
					admitted.Add(1)
				case !errors.Is(err, errLocked):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := admitted.Load(); n != 3 {
			t.Fatalf("%d of 30 concurrent attempts admitted, want 3", n)
		}
	})
}

func TestConformanceGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		for _, p := range []*identity.Principal{person("p-ana", "ana"), person("p-bob", "bob")} {
			if err := s.CreatePrincipal(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		for i, name := range []string{"ops", "ml", "audit"} {
			if err := s.CreateGroup(ctx, &identity.Group{ID: fmt.Sprint("g", i), Name: name, Description: name + " team", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		err := s.CreateGroup(ctx, &identity.Group{ID: "g9", Name: "ops", CreatedAt: t0, UpdatedAt: t0})
		mustCode(t, err, enclave.CodeConflict)
		if enclave.ErrorField(err) != "name" {
			t.Errorf("conflict field %q", enclave.ErrorField(err))
		}
		if err := s.AddGroupMember(ctx, "g0", "p-bob", t0); err != nil {
			t.Fatal(err)
		}
		if err := s.AddGroupMember(ctx, "g0", "p-ana", t0); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.AddGroupMember(ctx, "g0", "p-ana", t0), enclave.CodeConflict)
		mustCode(t, s.AddGroupMember(ctx, "g0", "p-nobody", t0), enclave.CodeFailedPrecondition)
		if err := s.AddGroupMember(ctx, "g1", "p-ana", t0); err != nil {
			t.Fatal(err)
		}
		g, err := s.GetGroup(ctx, "ops")
		if err != nil || g.MemberCount != 2 || g.Description != "ops team" {
			t.Fatalf("group: %+v %v", g, err)
		}
		gs, _ := s.ListGroups(ctx, "", 2)
		if len(gs) != 2 || gs[0].Name != "audit" || gs[1].Name != "ml" || gs[1].MemberCount != 1 {
			t.Fatalf("groups: %+v", gs)
		}
		ms, err := s.ListGroupMembers(ctx, "g0", "", 10)
		if err != nil || len(ms) != 2 || ms[0].Name != "ana" || ms[1].Name != "bob" || ms[0].Kind != enclave.PrincipalUser {
			t.Fatalf("members: %+v %v", ms, err)
		}
		ms, _ = s.ListGroupMembers(ctx, "g0", "ana", 10)
		if len(ms) != 1 || ms[0].Name != "bob" {
			t.Fatalf("members after ana: %+v", ms)
		}
		if err := s.RemoveGroupMember(ctx, "g0", "p-bob"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.RemoveGroupMember(ctx, "g0", "p-bob"), enclave.CodeNotFound)
		if n, err := s.RemovePrincipalFromGroups(ctx, "p-ana"); err != nil || n != 2 {
			t.Fatalf("remove from groups: %d %v", n, err)
		}
		if err := s.AddGroupMember(ctx, "g0", "p-bob", t0); err != nil {
			t.Fatal(err)
		}
		g.Description = "changed"
		if err := s.UpdateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, "g0"); err != nil { // members go with it
			t.Fatal(err)
		}
		_, err = s.GetGroup(ctx, "ops")
		mustCode(t, err, enclave.CodeNotFound)
		mustCode(t, s.DeleteGroup(ctx, "g0"), enclave.CodeNotFound)
	})
}

func TestConformanceClientSecretsAndSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := &sqlstore.IdentityStore{DB: db}
		sp := &identity.Principal{ID: "p-ci", Kind: enclave.PrincipalService, ServiceKind: identity.ServiceCICD, Name: "ci", DisplayName: "ci", CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreatePrincipal(ctx, sp); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"s1", "s2"} {
			if err := s.CreateClientSecret(ctx, &identity.ClientSecret{ID: id, PrincipalID: "p-ci", Description: "d " + id,
				Hash: []byte("h-" + id), CreatedAt: t0, ExpiresAt: t0.AddDate(0, 0, 90)}); err != nil {
				t.Fatal(err)
			}
		}
		mustCode(t, s.CreateClientSecret(ctx, &identity.ClientSecret{ID: "s3", PrincipalID: "p-ci", Hash: []byte("h-s1"), CreatedAt: t0, ExpiresAt: t0}),
			enclave.CodeConflict)
		c, p, err := s.GetClientSecretByHash(ctx, []byte("h-s2"))
		if err != nil || c.ID != "s2" || p.Name != "ci" || p.ServiceKind != identity.ServiceCICD || c.Description != "d s2" {
			t.Fatalf("by hash: %+v %+v %v", c, p, err)
		}
		if err := s.TouchClientSecret(ctx, "s2", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeClientSecret(ctx, "s1", t0); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.RevokeClientSecret(ctx, "s1", t0), enclave.CodeNotFound)
		cs, err := s.ListClientSecrets(ctx, "p-ci")
		if err != nil || len(cs) != 2 || cs[0].ID != "s2" || cs[0].LastUsedAt == nil || cs[1].RevokedAt == nil {
			t.Fatalf("list: %+v %v", cs, err)
		}
		if n, err := s.RevokePrincipalClientSecrets(ctx, "p-ci", t0); err != nil || n != 1 {
			t.Fatalf("revoke all: %d %v", n, err)
		}
		got, _ := s.GetClientSecret(ctx, "s2")
		if got.RevokedAt == nil {
			t.Fatal("s2 not revoked")
		}

		_, err = s.GetSetting(ctx, "mfa_required_for_people")
		mustCode(t, err, enclave.CodeNotFound)
		for _, v := range []string{"false", "true"} {
			if err := s.PutSetting(ctx, &identity.Setting{Name: "mfa_required_for_people", Value: v, UpdatedAt: t0, UpdatedBy: "admin"}); err != nil {
				t.Fatal(err)
			}
		}
		st, err := s.GetSetting(ctx, "mfa_required_for_people")
		if err != nil || st.Value != "true" || st.UpdatedBy != "admin" || !st.UpdatedAt.Equal(t0) {
			t.Fatalf("setting: %+v %v", st, err)
		}
	})
}
