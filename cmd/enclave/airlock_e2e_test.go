package main_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/scanner/clamdtest"
)

// person is a signed-in user of the airlock test.
func person(t *testing.T, admin *cli, s *server, name, role string) *cli {
	t.Helper()
	pw := "lantern-quartz-harbour-" + fmt.Sprint(len(name)*7919)
	admin.okIn(pw+"\n", "user", "create", name, "--password-stdin", "--email", name+"@example.org")
	c := newCLI(t)
	c.password = pw
	c.run(pw+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", name)
	c.enrol()
	c.signIn(name)
	for _, r := range strings.Split(role, ",") {
		admin.ok("access", "grant", "--user", name, "--role", r, "--scope", "/zones/eu/projects/onc")
	}
	return c
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// show returns a request as the CLI prints it in JSON.
func show(t *testing.T, c *cli, id string) *airlock.Request {
	t.Helper()
	var r airlock.Request
	out := c.ok("airlock", "show", id, "--zone", "eu", "--project", "onc", "-o", "json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("airlock show: %v %s", err, out)
	}
	return &r
}

// await polls a request until it reaches state.
func await(t *testing.T, c *cli, id string, state airlock.State) *airlock.Request {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := show(t, c, id)
		if r.State == state {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is %s, not %s, after a minute", id, r.State, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAirlockThroughBinary runs an import and an export through the real
// binary with a real clamd: an EICAR file is blocked and quarantined, a
// self-approval is refused, the de-identification report is shown to the
// reviewer, the approved export is downloaded through its link — and the
// server is killed (SIGKILL, from inside, at each failpoint of the
// airlock's transitions) and restarted, after which every request completes
// with each file in exactly one place.
func TestAirlockThroughBinary(t *testing.T) {
	clamd := clamdtest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "enclave.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("airlock:\n  clamd: %s\n  scan_retry: 1s\nstorage:\n  sweep_after: 1s\nworker:\n  lease: 3s\n", clamd.Addr)), 0o600)
	dataDir := filepath.Join(dir, "data")
	args := []string{"--data-dir", dataDir, "--config", cfg, "--listen", freePort(t)}
	s := startServer(t, args...)
	admin := newCLI(t)
	admin.login(s)
	admin.ok("zone", "create", "eu", "--region", "eu")
	admin.ok("project", "create", "onc", "--zone", "eu", "--owner", "o", "--cost-center", "c", "--max-classification", "restricted")
	olga := person(t, admin, s, "olga", "data-owner,airlock-reviewer")
	sam := person(t, admin, s, "sam", "data-scientist")
	rita := person(t, admin, s, "rita", "airlock-reviewer")
	p := []string{"--zone", "eu", "--project", "onc"}
	id := func(out string) string {
		var r airlock.Request
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID == "" {
			t.Fatalf("not a request: %v %s", err, out)
		}
		return r.ID
	}

	// An import: a directory goes up, is scanned, reviewed by someone else.
	src := filepath.Join(dir, "cohort")
	os.MkdirAll(filepath.Join(src, "tables"), 0o700)
	os.WriteFile(filepath.Join(src, "tables", "patients.csv"), []byte("id,age\n1,34\n2,71\n"), 0o600)
	os.WriteFile(filepath.Join(src, "README.txt"), []byte("cohort 42"), 0o600)
	imp := id(olga.ok(append([]string{"airlock", "import", src, "--title", "cohort 42", "--justification", "protocol 7",
		"--classification", "confidential", "--target", "cohort", "--submit", "-o", "json"}, p...)...))
	await(t, rita, imp, airlock.InReview)
	if _, errOut, code := olga.run("", append([]string{"airlock", "approve", imp}, p...)...); code != 3 || !strings.Contains(errOut, "nobody reviews their own request") {
		t.Fatalf("self-approval: exit %d %s", code, errOut)
	}
	rita.ok(append([]string{"airlock", "approve", imp, "--comment", "protocol checked"}, p...)...)
	r := await(t, olga, imp, airlock.Approved)
	if r.Result == nil || r.Result.Dataset != "cohort" || r.Result.Version != 1 {
		t.Fatalf("import result: %+v", r.Result)
	}
	if out := olga.ok(append([]string{"data", "show", "cohort", "--version", "1"}, p...)...); !strings.Contains(out, "tables/patients.csv") || !strings.Contains(out, "README.txt") {
		t.Fatalf("the imported version:\n%s", out)
	}

	// EICAR is blocked and quarantined for the security team.
	bad := filepath.Join(dir, "eicar.com")
	os.WriteFile(bad, []byte(clamdtest.EICAR), 0o600)
	blocked := id(olga.ok(append([]string{"airlock", "import", bad, "--title", "tools", "--justification", "x",
		"--classification", "internal", "--target", "tools", "--submit", "-o", "json"}, p...)...))
	await(t, olga, blocked, airlock.BlockedByScan)
	if out := admin.ok("airlock", "quarantine"); !strings.Contains(out, blocked) || !strings.Contains(out, clamdtest.Signature) {
		t.Fatalf("quarantine:\n%s", out)
	}

	// Workspace results to export.
	res := filepath.Join(dir, "results")
	os.MkdirAll(res, 0o700)
	table := "name,nhs_number,zip,age,sex,diagnosis\nAlice Smith,943 476 5919,02139,34,F,asthma\nBob Jones,401 023 2137,02139,34,F,flu\n"
	os.WriteFile(filepath.Join(res, "table.csv"), []byte(table), 0o600)
	olga.ok(append([]string{"data", "create", "results", "--area", "workspace", "--classification", "internal"}, p...)...)
	olga.ok(append([]string{"data", "upload", "results", filepath.Join(res, "table.csv")}, p...)...)
	exportArgs := append([]string{"airlock", "export", "--title", "figures", "--justification", "paper", "--dataset", "results",
		"--version", "1", "--label", "zip=quasi-identifier", "--label", "age=quasi-identifier", "--label", "diagnosis=sensitive-attribute",
		"--submit", "-o", "json"}, p...)
	exp := id(sam.ok(exportArgs...))
	await(t, rita, exp, airlock.InReview)
	report := rita.ok(append([]string{"airlock", "show", exp}, p...)...)
	for _, want := range []string{"de-identification report of table.csv", "uk-nhs", "k-anonymity"} {
		if !strings.Contains(report, want) {
			t.Fatalf("the reviewer's view lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "943 476 5919") {
		t.Fatal("the report shows an identifier's value")
	}
	if out := rita.ok(append([]string{"airlock", "open", exp, "table.csv"}, p...)...); out != table {
		t.Fatalf("the reviewer opened %q", out)
	}
	rita.ok(append([]string{"airlock", "approve", exp}, p...)...)
	await(t, sam, exp, airlock.Approved)
	got := filepath.Join(dir, "got")
	sam.ok(append([]string{"airlock", "download", exp, "--out", got}, p...)...)
	if b, _ := os.ReadFile(filepath.Join(got, "table.csv")); string(b) != table {
		t.Fatalf("downloaded %q", b)
	}
	if _, errOut, code := rita.run("", append([]string{"airlock", "download", exp, "--out", t.TempDir()}, p...)...); code == 0 {
		t.Fatalf("a reviewer downloaded the requester's export: %s", errOut)
	}

	// A crash at every step of every transition, and a restart after each.
	outer := t // servers outlive each step's subtest
	for _, fp := range airlock.Failpoints {
		t.Run(fp, func(t *testing.T) {
			s.stop(t, syscall.SIGTERM)
			s = startServerEnv(outer, []string{"ENCLAVE_FAILPOINTS=" + fp}, args...)
			out, errOut, code := sam.run("", exportArgs...)
			var req string
			if code == 0 {
				req = id(out)
			} else if fp != "airlock.submit.committed" {
				t.Fatalf("export: exit %d %s %s", code, out, errOut)
			}
			if req != "" && fp != "airlock.check.scanned" && fp != "airlock.check.committed" {
				await(t, rita, req, airlock.InReview)
				if _, errOut, code := rita.run("", append([]string{"airlock", "approve", req}, p...)...); code != 0 && fp != "airlock.review.committed" {
					t.Fatalf("approve: exit %d %s", code, errOut)
				}
			}
			select {
			case <-s.done:
			case <-time.After(60 * time.Second):
				t.Fatalf("the server never reached failpoint %s", fp)
			}
			if !strings.Contains(s.stderr.String(), "failpoint "+fp) {
				t.Fatalf("the server stopped, but not at %s:\n%s", fp, s.stderr)
			}
			s = startServer(outer, args...)
			if req == "" { // the submit's answer was lost with the server
				var list []airlock.Request
				json.Unmarshal([]byte(sam.ok(append([]string{"airlock", "ls", "--type", "export", "-o", "json"}, p...)...)), &list)
				req = list[0].ID
			}
			if r := show(t, rita, req); r.State != airlock.Approved && r.State != airlock.ApprovalInProgress {
				await(t, rita, req, airlock.InReview)
				rita.ok(append([]string{"airlock", "approve", req}, p...)...)
			}
			r := await(t, sam, req, airlock.Approved)
			checkExport(t, sam, r, table)
		})
	}
	// The same for a move of part of a request's files: malware to quarantine.
	mixed := filepath.Join(dir, "mixed")
	os.MkdirAll(mixed, 0o700)
	os.WriteFile(filepath.Join(mixed, "eicar.com"), []byte(clamdtest.EICAR), 0o600)
	os.WriteFile(filepath.Join(mixed, "notes.txt"), []byte("clean"), 0o600)
	for _, fp := range []string{"airlock.move.copied", "airlock.move.committed", "airlock.move.finished"} {
		t.Run("quarantine/"+fp, func(t *testing.T) {
			s.stop(t, syscall.SIGTERM)
			s = startServerEnv(outer, []string{"ENCLAVE_FAILPOINTS=" + fp}, args...)
			req := id(olga.ok(append([]string{"airlock", "import", mixed, "--title", "mixed", "--justification", "x",
				"--classification", "internal", "--target", "mixed", "--submit", "-o", "json"}, p...)...))
			select {
			case <-s.done:
			case <-time.After(60 * time.Second):
				t.Fatalf("the server never reached failpoint %s", fp)
			}
			s = startServer(outer, args...)
			r := await(t, olga, req, airlock.BlockedByScan)
			if r.Result == nil || r.Result.Area != "quarantine" {
				t.Fatalf("quarantine: %+v", r.Result)
			}
			var versions []struct {
				State     string `json:"state"`
				FileCount int    `json:"file_count"`
			}
			json.Unmarshal([]byte(olga.ok(append([]string{"data", "versions", r.Result.Dataset, "-o", "json"}, p...)...)), &versions)
			if len(versions) != 1 || versions[0].FileCount != 1 {
				t.Fatalf("quarantine holds %+v, want the one infected file once", versions)
			}
		})
	}
	// After the sweeper has run, every blob belongs to exactly one live file.
	s.stop(t, syscall.SIGTERM)
	time.Sleep(1500 * time.Millisecond)
	s = startServer(t, args...)
	time.Sleep(time.Second)
	if blobs, live := countBlobs(t, dataDir), liveFiles(t, olga, p); blobs != live {
		t.Fatalf("%d blobs on disk for %d live files: something was lost, duplicated or left behind", blobs, live)
	}
}

// checkExport checks that an approved export's files are in the external
// area once, that its staging copy is gone, and that it downloads intact.
func checkExport(t *testing.T, c *cli, r *airlock.Request, table string) {
	t.Helper()
	p := []string{"--zone", "eu", "--project", "onc"}
	if r.Result == nil || r.Result.Area != "external" || r.Result.Version != 1 {
		t.Fatalf("result: %+v", r.Result)
	}
	var versions []struct {
		Number    int    `json:"number"`
		State     string `json:"state"`
		FileCount int    `json:"file_count"`
	}
	json.Unmarshal([]byte(c.ok(append([]string{"data", "versions", r.Result.Dataset, "-o", "json"}, p...)...)), &versions)
	if len(versions) != 1 || versions[0].FileCount != 1 || versions[0].State != "committed" {
		t.Fatalf("external versions: %+v", versions)
	}
	json.Unmarshal([]byte(c.ok(append([]string{"data", "versions", r.Staging, "-o", "json"}, p...)...)), &versions)
	if len(versions) != 1 || versions[0].State != "deleted" {
		t.Fatalf("staging versions: %+v", versions)
	}
	got := t.TempDir()
	c.ok(append([]string{"airlock", "download", r.ID, "--out", got}, p...)...)
	if b, _ := os.ReadFile(filepath.Join(got, "table.csv")); string(b) != table {
		t.Fatalf("downloaded %q", b)
	}
}

func countBlobs(t *testing.T, dataDir string) int {
	n := 0
	filepath.WalkDir(filepath.Join(dataDir, "objects"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".attrs") && !strings.Contains(filepath.Base(path), ".tmp") {
			n++
		}
		return nil
	})
	return n
}

// liveFiles counts the files of every dataset version that has not been
// deleted, as the catalog lists them.
func liveFiles(t *testing.T, c *cli, p []string) int {
	t.Helper()
	var ds []struct {
		Name string `json:"name"`
	}
	json.Unmarshal([]byte(c.ok(append([]string{"data", "ls", "-o", "json"}, p...)...)), &ds)
	n := 0
	for _, d := range ds {
		var versions []struct {
			State     string `json:"state"`
			FileCount int    `json:"file_count"`
		}
		json.Unmarshal([]byte(c.ok(append([]string{"data", "versions", d.Name, "-o", "json"}, p...)...)), &versions)
		for _, v := range versions {
			if v.State != "deleted" {
				n += v.FileCount
			}
		}
	}
	return n
}
