package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditThroughBinary: the administrator's actions are in the trail,
// the chain verifies on the server, an exported bundle verifies offline
// with no server, and a one-byte edit of the bundle makes it fail.
func TestAuditThroughBinary(t *testing.T) {
	s := startServer(t, "--data-dir", filepath.Join(t.TempDir(), "data"))
	admin := newCLI(t)
	admin.login(s)
	admin.ok("zone", "create", "audited", "--region", "eu")
	if out := admin.ok("audit", "search", "--action", "zone.create"); !strings.Contains(out, "zone.create") || !strings.Contains(out, "admin") {
		t.Fatalf("audit search: %s", out)
	}
	if out := admin.ok("audit", "search", "--action", "auth.login", "--outcome", "success", "-o", "json"); !strings.Contains(out, `"actor_mfa": true`) {
		t.Fatalf("MFA sign-in not recorded as such: %s", out)
	}
	if out := admin.ok("audit", "verify"); !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("audit verify: %s", out)
	}
	bundle := filepath.Join(t.TempDir(), "evidence.tar")
	admin.ok("audit", "export", "--from", "1h", "--out", bundle)
	// Offline: another user, no server, no configuration.
	offline := &cli{t: t, config: filepath.Join(t.TempDir(), "none.yaml")}
	if out, errOut, code := offline.runEnv([]string{"ENCLAVE_SERVER=https://127.0.0.1:1"}, "audit", "verify", "--bundle", bundle); code != 0 || !strings.HasPrefix(out, "OK: bundle") {
		t.Fatalf("offline verify: exit %d %s %s", code, out, errOut)
	}
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(raw), `"action":"zone.create"`)
	if i < 0 {
		t.Fatal("zone.create not in the bundle")
	}
	raw[i+12] ^= 0x01 // zone.create → zone/create: one byte
	edited := filepath.Join(t.TempDir(), "edited.tar")
	if err := os.WriteFile(edited, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code := offline.run("", "audit", "verify", "--bundle", edited)
	if code == 0 || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "modified") {
		t.Fatalf("edited bundle: exit %d %s", code, out)
	}
}
