package identity_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

const pw = "violet-kettle-ninety-harbor"

// newService returns an identity service over db with cheap password
// hashing. Several over one database behave like several server processes.
func newService(db *sqlstore.DB) *identity.Service {
	return &identity.Service{Store: &sqlstore.IdentityStore{DB: db}, Tx: db,
		Audit:  &audit.Recorder{Store: &sqlstore.AuditStore{DB: db}},
		Argon2: identity.Argon2Params{Memory: 1024, Time: 1, Threads: 1}}
}

var system = enclave.WithActor(context.Background(), enclave.SystemActor("test"))

func mustUser(t *testing.T, s *identity.Service, name string) *identity.Principal {
	t.Helper()
	p, err := s.CreateUser(system, identity.UserCreate{Name: name, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// as is a request of p with a token of the given kind.
func as(p *identity.Principal, kind identity.TokenKind, mfa bool) context.Context {
	return enclave.WithActor(context.Background(), &enclave.Actor{PrincipalID: p.ID, Kind: p.Kind, Name: p.Name,
		TokenID: "t-" + p.Name, TokenKind: string(kind), MFA: mfa})
}

func wantCode(t *testing.T, what string, err error, code enclave.Code) {
	t.Helper()
	if !enclave.IsCode(err, code) {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// TestConcurrentSignInsAcrossProcesses: two services over one database —
// two server processes, whose in-process bounds know nothing of each other
// — verify no more concurrent wrong passwords for one account than the
// policy allows failures; the right password is then refused too, until
// the backoff ends.
func TestConcurrentSignInsAcrossProcesses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		now := time.Now().UTC().Truncate(time.Second)
		clock := func() time.Time { return now }
		a, b := newService(db), newService(db)
		for _, s := range []*identity.Service{a, b} {
			s.Clock, s.Audit.Clock = clock, clock
		}
		mustUser(t, a, "carl")
		var mu sync.Mutex
		codes := map[enclave.Code]int{}
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := a
				if i%2 == 1 {
					s = b
				}
				ctx := enclave.WithRequestMeta(context.Background(), enclave.RequestMeta{SourceAddr: fmt.Sprintf("10.0.0.%d", i%4)})
				_, err := s.LoginPassword(ctx, "carl", "guess-guess-guess")
				mu.Lock()
				codes[enclave.ErrorCode(err)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		pol := identity.DefaultThrottle
		if codes[enclave.CodeUnauthenticated] > pol.AccountBackoffAfter || codes[enclave.CodeUnauthenticated]+codes[enclave.CodeRateLimited] != 40 {
			t.Fatalf("40 concurrent wrong passwords: %v; at most %d may be verified", codes, pol.AccountBackoffAfter)
		}
		_, err := a.LoginPassword(context.Background(), "carl", pw)
		wantCode(t, "right password in backoff", err, enclave.CodeRateLimited)
		if d, ok := identity.RetryAfterOf(err); !ok || d <= 0 {
			t.Errorf("no Retry-After: %v", err)
		}
	})
}

// TestPATNeedsMFASession: a personal access token is made only with a
// session, and while MFA is required, only with one signed in with MFA.
func TestPATNeedsMFASession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(db)
		ana := mustUser(t, s, "ana")
		in := identity.TokenCreate{Name: "script"}
		for _, k := range []identity.TokenKind{identity.TokenPAT, identity.TokenLogin, identity.TokenService, ""} {
			_, err := s.CreateToken(as(ana, k, true), in)
			wantCode(t, fmt.Sprintf("PAT made with a token of kind %q", k), err, enclave.CodePermissionDenied)
		}
		_, err := s.CreateToken(as(ana, identity.TokenSession, false), in)
		wantCode(t, "PAT made with a session without MFA while MFA is required", err, enclave.CodePermissionDenied)
		tok, err := s.CreateToken(as(ana, identity.TokenSession, true), in)
		if err != nil || !tok.Token.MFA {
			t.Fatalf("PAT made with an MFA session: %+v %v", tok, err)
		}
		off := false
		if _, err := s.UpdateSettings(system, identity.SettingsUpdate{MFARequiredForPeople: &off}); err != nil {
			t.Fatal(err)
		}
		if tok, err := s.CreateToken(as(ana, identity.TokenSession, false), in); err != nil || tok.Token.MFA {
			t.Fatalf("PAT made with a session without MFA while MFA is not required: %+v %v", tok, err)
		}
	})
}

// TestResetGuards: an administrator's password or MFA reset never reaches
// the platform administrator (only a bootstrap reset does) nor the caller
// itself (who proves the current password or code instead).
func TestResetGuards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(db)
		if _, err := s.Bootstrap(context.Background(), func(string, string) error { return nil }); err != nil {
			t.Fatal(err)
		}
		ana := mustUser(t, s, "ana")
		newPW := "another-long-passphrase"
		_, err := s.UpdateUser(system, identity.AdminName, identity.UserUpdate{Password: &newPW})
		wantCode(t, "reset the administrator's password", err, enclave.CodeFailedPrecondition)
		wantCode(t, "reset the administrator's MFA", s.ResetUserMFA(system, identity.AdminName), enclave.CodeFailedPrecondition)
		_, err = s.UpdateUser(as(ana, identity.TokenSession, true), "ana", identity.UserUpdate{Password: &newPW})
		wantCode(t, "reset one's own password", err, enclave.CodeFailedPrecondition)
		wantCode(t, "reset one's own MFA", s.ResetUserMFA(as(ana, identity.TokenSession, true), "ana"), enclave.CodeFailedPrecondition)
		if _, err := s.UpdateUser(system, "ana", identity.UserUpdate{Password: &newPW}); err != nil {
			t.Fatalf("reset another's password: %v", err)
		}
	})
}

// TestSelfAddRefused: nobody adds themselves to a group.
func TestSelfAddRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(db)
		ana := mustUser(t, s, "ana")
		mustUser(t, s, "bob")
		if _, err := s.CreateGroup(system, identity.GroupCreate{Name: "owners"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.AddGroupMember(as(ana, identity.TokenSession, true), "owners", identity.MemberAdd{Member: "ana"})
		wantCode(t, "add oneself", err, enclave.CodePermissionDenied)
		if _, err := s.AddGroupMember(as(ana, identity.TokenSession, true), "owners", identity.MemberAdd{Member: "bob"}); err != nil {
			t.Fatalf("add another: %v", err)
		}
		if g, err := s.GetGroup(system, "owners"); err != nil || g.MemberCount != 1 {
			t.Fatalf("group: %+v %v", g, err)
		}
	})
}
