package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPolicyTestThroughBinary runs `enclave policy test` as a pipeline
// would: no server, exit 0 when every case meets its expected effect, 1
// when one does not.
func TestPolicyTestThroughBinary(t *testing.T) {
	c := newCLI(t)
	out, errOut, code := c.run("", "policy", "test", "--builtin")
	if code != 0 || !strings.Contains(out, "0 failed") || !strings.Contains(out, "PASS  token-max-lifetime") {
		t.Fatalf("builtin: exit %d\n%s%s", code, out, errOut)
	}
	dir := t.TempDir()
	def := "id: no-public\nkinds: [dataset]\ncondition: object.classification == 'public'\neffect: deny\n"
	fixture := "---\npolicy: no-public\ncases:\n  - name: public\n    object: {classification: public}\n    expect: deny\n"
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(def+fixture), 0o600)
	if out, errOut, code := c.run("", "policy", "test", dir); code != 0 || !strings.Contains(out, "1 cases, 0 failed") {
		t.Fatalf("passing dir: exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(def+fixture+"  - name: internal\n    object: {classification: internal}\n    expect: deny\n"), 0o600)
	out, errOut, code = c.run("", "policy", "test", dir)
	if code != 1 || !strings.Contains(out, "FAIL  no-public  internal: got none (expected deny, got none)") {
		t.Fatalf("failing dir: exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte("id: broken\nkinds: [dataset]\ncondition: object.x ==\neffect: deny\n"+fixture), 0o600)
	if _, errOut, code := c.run("", "policy", "test", dir); code == 0 || !strings.Contains(errOut, "condition, line 1, column") {
		t.Fatalf("syntax error: exit %d %s", code, errOut)
	}
}

// TestGuardrailsThroughBinary walks a guardrail's life through the real
// binary against a server on SQLite: a custom definition is applied (and
// one that does not compile refused with its line and column); a built-in
// policy is assigned dry-run, which records instead of refusing, then
// enforced, which refuses; an append policy fills in a tag; a compliance
// scan names what to fix and counts it once fixed; and an exemption needs a
// second Platform Admin's approval before it lets a change through.
func TestGuardrailsThroughBinary(t *testing.T) {
	s := startServer(t, "--data-dir", filepath.Join(t.TempDir(), "data"))
	admin := newCLI(t)
	admin.login(s)

	// 1. A zone that carries its tags, and a project that does not.
	admin.ok("zone", "create", "eu", "--region", "eu", "--tag", "cost-center=cc-0", "--tag", "owner=ops")
	admin.ok("project", "create", "onc", "--zone", "eu", "--owner", "o", "--cost-center", "cc-1")

	// 2. The platform's own definition; fixtures in the file are skipped.
	dir := t.TempDir()
	def := "id: require-description\ndescription: Projects say what they are for.\nkinds: [project]\n" +
		"condition: |\n  !has(object.description) || object.description == \"\"\neffect: audit\nmessage: Describe the project.\n" +
		"---\npolicy: require-description\ncases:\n  - name: no description\n    object: {name: x}\n    expect: audit\n"
	file := filepath.Join(dir, "require-description.yaml")
	os.WriteFile(file, []byte(def), 0o600)
	if out, errOut, code := admin.run("", "policy", "apply", "-f", file); code != 0 || out != "Created policy require-description\n" || !strings.Contains(errOut, "Skipped 1 fixture") {
		t.Fatalf("apply: exit %d %q %q", code, out, errOut)
	}
	if out := admin.ok("policy", "apply", "-f", file); out != "Unchanged policy require-description\n" {
		t.Fatalf("apply again: %q", out)
	}
	os.WriteFile(file, []byte(strings.Replace(def, "Describe the project.", "Say what the project is for.", 1)), 0o600)
	if out := admin.ok("policy", "apply", "-f", file); out != "Updated policy require-description\n" {
		t.Fatalf("apply a change: %q", out)
	}
	if out := admin.ok("policy", "list"); !strings.Contains(out, "require-description") || !strings.Contains(out, "require-cost-center-tag") ||
		!strings.Contains(out, "BUILTIN") {
		t.Fatalf("policy list: %s", out)
	}
	// What show prints applies again as it is.
	shown := admin.ok("policy", "show", "require-description")
	if !strings.Contains(shown, "message: Say what the project is for.") || !strings.Contains(shown, "builtin: false") {
		t.Fatalf("policy show: %s", shown)
	}
	if out := admin.okIn(shown, "policy", "apply", "-f", "-"); out != "Unchanged policy require-description\n" {
		t.Fatalf("apply what show printed: %q", out)
	}
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("id: broken-policy\nkinds: [project]\ncondition: object.description ==\neffect: deny\n"), 0o600)
	_, errOut, code := admin.run("", "policy", "apply", "-f", broken)
	if code != 3 || !strings.Contains(errOut, "policy broken-policy: invalid_argument: condition, line 1, column") {
		t.Fatalf("a definition that does not compile: exit %d %s", code, errOut)
	}
	if _, _, code := admin.run("", "policy", "show", "broken-policy"); code != 3 {
		t.Fatalf("a refused definition was stored (exit %d)", code)
	}
	admin.ok("policy", "delete", "require-description")

	// 3. Dry-run: the change goes through, the audit trail records what enforcing would have done.
	admin.ok("policy", "assign", "require-cost-center-tag", "--name", "cost-centers", "--scope", "/zones/eu", "--mode", "dry-run")
	admin.ok("project", "create", "dry", "--zone", "eu", "--owner", "o", "--cost-center", "cc-2")
	if out := admin.ok("audit", "search", "--action", "policy.dryrun", "-o", "json"); !strings.Contains(out, `"require-cost-center-tag"`) || !strings.Contains(out, `"dry"`) {
		t.Fatalf("no policy.dryrun record: %s", out)
	}

	// 4. Enforced: the same change is refused, naming the policy.
	if out := admin.ok("policy", "assignment", "set", "cost-centers", "--mode", "enforce"); !strings.Contains(out, "enforce") {
		t.Fatalf("assignment set: %s", out)
	}
	_, errOut, code = admin.run("", "project", "create", "denied", "--zone", "eu", "--owner", "o", "--cost-center", "cc-3")
	if code != 3 || !strings.Contains(errOut, "policy_denied") || !strings.Contains(errOut, "require-cost-center-tag") ||
		!strings.Contains(errOut, "need a cost-centre tag") {
		t.Fatalf("enforced: exit %d %s", code, errOut)
	}
	if _, _, code := admin.run("", "project", "show", "denied", "--zone", "eu"); code != 3 {
		t.Fatalf("a refused project was stored (exit %d)", code)
	}

	// 5. Append: a missing owner tag is filled in.
	admin.ok("policy", "assign", "append-owner-tag", "--name", "owners", "--scope", "/zones/eu")
	var p struct {
		Tags map[string]string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(admin.ok("project", "create", "tagged", "--zone", "eu", "--owner", "o", "--cost-center", "cc-4",
		"--tag", "cost-center=cc-4", "-o", "json")), &p); err != nil || p.Tags["owner"] != "platform-team" || p.Tags["cost-center"] != "cc-4" {
		t.Fatalf("appended tags: %v %v", p.Tags, err)
	}
	if out := admin.ok("policy", "assignments"); !strings.Contains(out, "cost-centers") || !strings.Contains(out, "owners") {
		t.Fatalf("policy assignments: %s", out)
	}

	// 6. Compliance: eu and tagged comply, onc and dry do not.
	admin.ok("policy", "scan", "--wait")
	out := admin.ok("policy", "compliance", "--scope", "/zones/eu")
	if !strings.Contains(out, "Compliance of /zones/eu: 50.0% (2 of 4 resources compliant, 0 exempt)") ||
		!regexp.MustCompile(`project\s+dry\s+/zones/eu/projects/dry\s+cost-centers\s+Zones and projects need a cost-centre tag.`).MatchString(out) {
		t.Fatalf("compliance before the fix:\n%s", out)
	}
	compliance := func() (rep struct {
		Percent               float64 `json:"percent"`
		Exempt                int     `json:"exempt"`
		NonCompliantResources []struct {
			ResourceName string `json:"resource_name"`
		} `json:"non_compliant_resources"`
	}) {
		t.Helper()
		if err := json.Unmarshal([]byte(admin.ok("policy", "compliance", "--scope", "/zones/eu", "-o", "json")), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	before := compliance()
	admin.ok("project", "update", "dry", "--zone", "eu", "--tag", "cost-center=cc-2")
	if out := admin.ok("policy", "scan", "--wait", "--scope", "/zones/eu"); !strings.Contains(out, "Compliance of /zones/eu: 75.0% (3 of 4 resources compliant, 0 exempt)") {
		t.Fatalf("scan --wait after the fix:\n%s", out)
	}
	if after := compliance(); before.Percent != 50 || after.Percent != 75 || len(after.NonCompliantResources) != 2 || after.NonCompliantResources[0].ResourceName != "onc" {
		t.Fatalf("compliance went from %+v to %+v", before, after)
	}

	// 7. An exemption for one project, approved by a second Platform Admin.
	create := []string{"project", "create", "pilot", "--zone", "eu", "--owner", "o", "--cost-center", "cc-5"}
	var ex struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(admin.ok("policy", "exempt", "cost-centers", "--resource", "project/pilot", "--expires", "2h",
		"--reason", "CHG-42 pilot before its cost centre exists", "-o", "json")), &ex); err != nil || ex.State != "pending" {
		t.Fatalf("exempt: %+v %v", ex, err)
	}
	if _, errOut, code := admin.run("", create...); code != 3 || !strings.Contains(errOut, "policy_denied") {
		t.Fatalf("a pending exemption applied: exit %d %s", code, errOut)
	}
	if _, errOut, code := admin.run("", "policy", "exemption", "approve", ex.ID); code != 3 || !strings.Contains(errOut, "permission_denied") ||
		!strings.Contains(errOut, "other than its requester") {
		t.Fatalf("own approval: exit %d %s", code, errOut)
	}
	beaPW := "granite-meadow-velvet-compass"
	admin.okIn(beaPW+"\n", "user", "create", "bea", "--password-stdin")
	admin.ok("access", "grant", "--user", "bea", "--role", "platform-admin", "--scope", "/")
	bea := newCLI(t)
	bea.password = beaPW
	bea.run(beaPW+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", "bea")
	bea.enrol()
	bea.signIn("bea")
	if out := bea.ok("policy", "exemption", "approve", ex.ID, "--comment", "until finance assigns one"); !strings.Contains(out, "approved") || !strings.Contains(out, "bea") {
		t.Fatalf("approve: %s", out)
	}
	if out := admin.ok("policy", "exemptions"); !strings.Contains(out, ex.ID) || !strings.Contains(out, "approved") {
		t.Fatalf("exemptions: %s", out)
	}
	admin.ok(create...)
	if out := admin.ok("audit", "search", "--action", "policy.exempt", "-o", "json"); !strings.Contains(out, ex.ID) || !strings.Contains(out, `"pilot"`) {
		t.Fatalf("the exempted change is not in the audit trail: %s", out)
	}
	admin.ok("policy", "scan", "--wait")
	if rep := compliance(); rep.Exempt != 1 || rep.Percent != 80 {
		t.Fatalf("compliance with the exemption: %+v", rep)
	}
	// Withdrawn, the exemption no longer lets changes through.
	admin.ok("policy", "exemption", "delete", ex.ID)
	if _, errOut, code := admin.run("", "project", "update", "pilot", "--zone", "eu", "--description", "pilot"); code != 3 || !strings.Contains(errOut, "policy_denied") {
		t.Fatalf("after the exemption was withdrawn: exit %d %s", code, errOut)
	}
	admin.ok("policy", "unassign", "cost-centers")
	admin.ok("project", "update", "pilot", "--zone", "eu", "--description", "pilot")
}

// TestPeriodicComplianceScan: with policy.scan_interval set, the server
// scans on its own through the work queue; compliance appears without
// anyone asking for a scan.
func TestPeriodicComplianceScan(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "enclave.yaml")
	os.WriteFile(cfg, []byte("policy:\n  scan_interval: 1s\n"), 0o600)
	s := startServer(t, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)
	admin := newCLI(t)
	admin.login(s)
	admin.ok("zone", "create", "eu", "--region", "eu")
	admin.ok("policy", "assign", "require-cost-center-tag", "--name", "cc", "--scope", "/", "--mode", "dry-run")
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := admin.ok("policy", "compliance", "-o", "json")
		if strings.Contains(out, `"resource_name": "eu"`) || strings.Contains(out, `"resource_name":"eu"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no periodic scan found the untagged zone:\n%s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if out := admin.ok("task", "list", "--kind", "policy.scan"); !strings.Contains(out, "policy.scan") {
		t.Fatalf("the scans are not tasks: %s", out)
	}
}
