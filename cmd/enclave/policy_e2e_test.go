package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
