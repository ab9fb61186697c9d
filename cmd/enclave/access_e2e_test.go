package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAccessThroughBinary: through the real binary and CLI, an administrator
// grants a role and explains access with `access check`; a person asks for
// just-in-time elevation, cannot approve it herself, gets it from the
// administrator, uses it, and loses it when it expires without anyone acting.
func TestAccessThroughBinary(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "enclave.yaml")
	// Elevations may be as short as a second here, so the test sees one expire.
	if err := os.WriteFile(cfg, []byte("access:\n  min_elevation: 1s\nworker:\n  lease: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--data-dir", filepath.Join(t.TempDir(), "data"), "--config", cfg)
	admin := newCLI(t)
	admin.login(s)
	admin.ok("zone", "create", "eu", "--region", "eu")
	admin.ok("project", "create", "onc", "--zone", "eu", "--owner", "o", "--cost-center", "c")

	anaPW := "orchid-harbour-quartz-lantern"
	admin.okIn(anaPW+"\n", "user", "create", "ana", "--password-stdin")
	ana := newCLI(t)
	ana.password = anaPW
	ana.run(anaPW+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", "ana")
	ana.enrol()
	ana.signIn("ana")

	if _, errOut, code := ana.run("", "project", "show", "onc", "--zone", "eu"); code != 3 || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("before any grant: exit %d %s", code, errOut)
	}
	const scope = "/zones/eu/projects/onc"
	var grant struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(admin.ok("access", "grant", "--user", "ana", "--role", "data-scientist", "--scope", scope, "-o", "json")), &grant); err != nil || grant.ID == "" {
		t.Fatalf("grant: %v", err)
	}
	if _, errOut, code := admin.run("", "access", "grant", "--user", "ana", "--role", "platform-support", "--scope", "/"); code != 3 || !strings.Contains(errOut, "just-in-time") {
		t.Fatalf("standing platform-support: exit %d %s", code, errOut)
	}
	ana.ok("project", "show", "onc", "--zone", "eu")
	if _, errOut, code := ana.run("", "project", "update", "onc", "--zone", "eu", "--owner", "ana"); code != 3 || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("data scientist changed the project: exit %d %s", code, errOut)
	}
	if out := admin.ok("access", "check", "ana", "jobs/write", scope+"/environments/dev"); !strings.HasPrefix(out, "ALLOWED") || !strings.Contains(out, "granted by: data-scientist at "+scope) {
		t.Fatalf("check allowed: %s", out)
	}
	if out := admin.ok("access", "check", "ana", "projects/write", scope); !strings.HasPrefix(out, "DENIED") || !strings.Contains(out, "role data-scientist does not include projects/write") {
		t.Fatalf("check denied: %s", out)
	}

	// Just-in-time: request, own approval refused, approval, use, expiry.
	var el struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(ana.ok("elevation", "request", "--role", "contributor", "--scope", scope, "--duration", "4s",
		"--justification", "INC-7 fix the project's owner field", "-o", "json")), &el); err != nil || el.State != "pending" {
		t.Fatalf("request: %+v %v", el, err)
	}
	if _, errOut, code := ana.run("", "elevation", "approve", el.ID); code != 3 || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("self-approval: exit %d %s", code, errOut)
	}
	if out := admin.ok("elevation", "approve", el.ID, "--note", "ok"); !strings.Contains(out, "active") {
		t.Fatalf("approve: %s", out)
	}
	ana.ok("project", "update", "onc", "--zone", "eu", "--owner", "ana")
	deadline := time.Now().Add(45 * time.Second)
	for {
		json.Unmarshal([]byte(ana.ok("elevation", "show", el.ID, "-o", "json")), &el)
		if el.State == "expired" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("elevation still %s after its expiry", el.State)
		}
		time.Sleep(200 * time.Millisecond) // polling a real process's background work
	}
	if _, errOut, code := ana.run("", "project", "update", "onc", "--zone", "eu", "--owner", "x"); code != 3 || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("access after expiry: exit %d %s", code, errOut)
	}
	if out := ana.ok("elevation", "list"); !strings.Contains(out, el.ID) || !strings.Contains(out, "expired") {
		t.Fatalf("past elevations: %s", out)
	}

	// Revoking the standing grant ends the rest.
	if out := admin.ok("access", "list", "--scope", scope); !strings.Contains(out, grant.ID) {
		t.Fatalf("access list: %s", out)
	}
	admin.ok("access", "revoke", grant.ID)
	if _, _, code := ana.run("", "project", "show", "onc", "--zone", "eu"); code != 3 {
		t.Fatalf("access after revoke: exit %d", code)
	}
}
