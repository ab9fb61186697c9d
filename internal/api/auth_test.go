package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func TestLoginIsOneTimeAndAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		svc := server.NewServices(db, nil, config.Default())
		cred, err := svc.Identity.ResetBootstrap(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		anon := map[string]string{"Authorization": ""}
		run(t, e, []scenario{
			{name: "wrong credential", method: "POST", path: "/api/v1/auth/login", body: `{"name":"admin","credential":"encboot_wrong"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "unknown user", method: "POST", path: "/api/v1/auth/login", body: `{"name":"mallory","credential":"` + cred + `"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "unknown field in login", method: "POST", path: "/api/v1/auth/login", body: `{"name":"admin","otp":"x"}`,
				header: anon, status: 400, code: "invalid_argument", field: "otp"},
			{name: "login", method: "POST", path: "/api/v1/auth/login", body: `{"name":"admin","credential":"` + cred + `"}`,
				header: anon, status: 200, contain: []string{`"token":"enc_`, `"platform_admin":true`}, events: []string{"auth.login"}},
			{name: "credential is one-time", method: "POST", path: "/api/v1/auth/login", body: `{"name":"admin","credential":"` + cred + `"}`,
				header: anon, status: 401, code: "unauthenticated", events: []string{"auth.login:failed"}},
			{name: "the reset revoked the administrator's session", method: "GET", path: "/api/v1/auth/whoami", status: 401, code: "unauthenticated"},
		})
		// The audit record of a failed sign-in never holds the credential tried.
		evs := e.events("scenario-001")
		if len(evs) != 1 {
			t.Fatalf("events: %v", evs)
		}
		var n int
		sealAudit(t, db)
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM audit_events WHERE details LIKE ?`), "%"+cred[:20]+"%").Scan(&n); err != nil || n != 0 {
			t.Fatalf("credential found in audit log (%d rows, %v)", n, err)
		}
		// Secrets are stored only as hashes.
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM tokens WHERE hash = ?`), []byte(e.adminToken)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("token stored in clear (%d, %v)", n, err)
		}
		h := sha256.Sum256([]byte(e.adminToken))
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM tokens WHERE hash = ?`), h[:]).Scan(&n); err != nil || n != 1 {
			t.Fatalf("token hash not found (%d, %v)", n, err)
		}
	})
}

func TestLogoutRevokesToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		run(t, e, []scenario{
			{name: "logout", method: "POST", path: "/api/v1/auth/logout", status: 204, events: []string{"auth.logout"}},
			{name: "token revoked", method: "GET", path: "/api/v1/zones", status: 401, code: "unauthenticated"},
		})
	})
}

func TestExpiredTokenRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		store := &sqlstore.IdentityStore{DB: db}
		admin, err := store.GetPrincipalByName(context.Background(), identity.AdminName)
		if err != nil {
			t.Fatal(err)
		}
		secret := "enc_expired-token-for-test"
		h := sha256.Sum256([]byte(secret))
		past := time.Now().Add(-time.Hour)
		if err := store.CreateToken(context.Background(), &identity.Token{ID: "expired", PrincipalID: admin.ID, Name: "t",
			Hash: h[:], CreatedAt: past.Add(-time.Hour), ExpiresAt: past}); err != nil {
			t.Fatal(err)
		}
		run(t, e, []scenario{{name: "expired", method: "GET", path: "/api/v1/zones",
			header: map[string]string{"Authorization": "Bearer " + secret}, status: 401, code: "unauthenticated"}})
	})
}

// TestNonAdminIsDenied: until roles exist, a principal that is not the
// platform administrator may call only routes open to any authenticated
// principal.
func TestNonAdminIsDenied(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		store := &sqlstore.IdentityStore{DB: db}
		ctx := context.Background()
		now := time.Now()
		if err := store.CreatePrincipal(ctx, &identity.Principal{ID: "u2", Kind: enclave.PrincipalUser, Name: "ana", DisplayName: "Ana", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		secret := "enc_ana-token-for-test"
		h := sha256.Sum256([]byte(secret))
		if err := store.CreateToken(ctx, &identity.Token{ID: "t2", PrincipalID: "u2", Name: "t", Kind: identity.TokenSession, MFA: true,
			Hash: h[:], CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		ana := map[string]string{"Authorization": "Bearer " + secret}
		basic := map[string]string{"Authorization": "Basic " + basicAuth("ana", secret)}
		run(t, e, []scenario{
			{name: "create zone denied", method: "POST", path: "/api/v1/zones", body: `{"name":"x","region":"eu"}`, header: ana, status: 403, code: "permission_denied"},
			{name: "list zones denied", method: "GET", path: "/api/v1/zones", header: ana, status: 403, code: "permission_denied"},
			{name: "metrics denied", method: "GET", path: "/metrics", header: ana, status: 403, code: "permission_denied"},
			{name: "whoami allowed", method: "GET", path: "/api/v1/auth/whoami", header: ana, status: 200, contain: []string{`"name":"ana"`}},
			{name: "token as basic password", method: "GET", path: "/api/v1/auth/whoami", header: basic, status: 200, contain: []string{`"name":"ana"`}},
		})
	})
}

func basicAuth(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))
}
