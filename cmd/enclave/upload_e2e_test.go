package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/storetest"
)

// newDataOwner creates a person with the Data Owner role on /zones/eu/projects/onc
// and signs them in with their own CLI configuration.
func newDataOwner(t *testing.T, s *server, admin *cli, name, pw string) *cli {
	t.Helper()
	admin.okIn(pw+"\n", "user", "create", name, "--password-stdin")
	c := newCLI(t)
	c.password, c.timeout = pw, 10*time.Minute
	c.run(pw+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", name)
	c.enrol()
	c.signIn(name)
	admin.ok("access", "grant", "--user", name, "--role", "data-owner", "--scope", "/zones/eu/projects/onc")
	return c
}

// countFiles counts the blobs under dir.
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			n++
		}
		return nil
	})
	return n
}

// TestResumableUploadThroughBinary kills the server with SIGKILL while
// the CLI sends a file in parts, restarts it, and runs the same upload
// again with --version: only the parts the server lacks are sent, and the
// file that results is the one on disk. Then the data commands a data
// owner uses next: versions, classify, tier, copy (curate), lineage, share
// with the zone and download from another project of it.
func TestResumableUploadThroughBinary(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			args := []string{"--data-dir", dataDir}
			if b.Name != "sqlite" {
				args = append(args, "--database", b.URL(t))
			}
			s := startServer(t, args...)
			admin := newCLI(t)
			admin.login(s)
			admin.ok("zone", "create", "eu", "--region", "eu")
			admin.ok("project", "create", "onc", "--zone", "eu", "--owner", "o", "--cost-center", "c", "--max-classification", "confidential")
			olga := newDataOwner(t, s, admin, "olga", "lantern-quartz-harbour-orchid")
			p := []string{"--zone", "eu", "--project", "onc"}
			olga.ok(append([]string{"data", "create", "scans", "--area", "raw", "--classification", "confidential"}, p...)...)

			const parts, partSize = 48, 1 << 20
			src := filepath.Join(t.TempDir(), "scan.bin")
			sum := writeBigFile(t, src, parts*partSize-12345)
			small := filepath.Join(t.TempDir(), "a-notes.csv")
			os.WriteFile(small, []byte("id,finding\n1,none\n"), 0o600)

			// The upload runs in the background; the server dies once a few
			// parts are stored (each part is a blob of its own).
			upload := exec.Command(binary, append([]string{"data", "upload", "scans", small, src, "--part-size", "1048576", "--no-commit"}, p...)...)
			upload.Env = cleanEnv("ENCLAVE_CLIENT_CONFIG=" + olga.config)
			var upOut strings.Builder
			upload.Stdout, upload.Stderr = &upOut, &upOut
			if err := upload.Start(); err != nil {
				t.Fatal(err)
			}
			objects := filepath.Join(dataDir, "objects")
			for deadline := time.Now().Add(time.Minute); countFiles(objects) < 6; time.Sleep(2 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the upload did not start: %s", upOut.String())
				}
			}
			s.stop(t, syscall.SIGKILL)
			err := upload.Wait()
			if err == nil || !strings.Contains(upOut.String(), "--version 1") {
				t.Fatalf("the upload survived its server (%v): %s", err, upOut.String())
			}

			s2 := startServer(t, args...)
			env := []string{"ENCLAVE_SERVER=" + s2.url}
			// What reached the server before the kill: the small file and some parts.
			before := countRecords(t, admin, env, "dataset.upload.part")
			if before == 0 || before >= parts {
				t.Fatalf("%d parts stored before the kill", before)
			}
			out, errOut, code := olga.runEnv(env, append([]string{"data", "upload", "scans", small, src, "--part-size", "1048576", "--version", "1", "--progress", "-o", "json"}, p...)...)
			if code != 0 {
				t.Fatalf("resume: exit %d: %s %s", code, out, errOut)
			}
			if !strings.Contains(errOut, "a-notes.csv: already stored") {
				t.Errorf("the small file was sent again: %s", errOut)
			}
			if !strings.Contains(errOut, "upload scan.bin: 48.0 MiB of 48.0 MiB (100%") {
				t.Errorf("no progress to the end: %q", errOut)
			}
			var v struct {
				State string `json:"state"`
				Files []struct {
					Path   string `json:"path"`
					SHA256 string `json:"sha256"`
				} `json:"files"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.State != "committed" || len(v.Files) != 2 {
				t.Fatalf("version after the resume: %v %s", err, out)
			}
			if v.Files[1].Path != "scan.bin" || v.Files[1].SHA256 != sum {
				t.Fatalf("stored %+v, want scan.bin %s", v.Files[1], sum)
			}
			after := countRecords(t, admin, env, "dataset.upload.part")
			t.Logf("%d of %d parts stored before the kill; %d sent on resume", before, parts, after-before)
			// Only the missing parts went again (the one cut by the kill included).
			if sent := after - before; sent > parts-before+1 || sent < parts-before-1 {
				t.Fatalf("%d parts stored before the kill, %d sent on resume, of %d", before, sent, parts)
			}
			if n := countRecords(t, admin, env, "dataset.upload.start"); n != 1 {
				t.Fatalf("%d uploads started: the resume did not continue the first", n)
			}
			// The listings a user looks at.
			if out := olga.okEnv(env, append([]string{"data", "versions", "scans"}, p...)...); !strings.Contains(out, "committed") {
				t.Fatalf("data versions: %s", out)
			}
			if out := olga.okEnv(env, append([]string{"data", "classify", "scans", "--classification", "internal", "--reason", "synthetic scans"}, p...)...); !strings.Contains(out, "internal") {
				t.Fatalf("data classify: %s", out)
			}
			if _, errOut, code := admin.runEnv(env, append([]string{"data", "classify", "scans", "--classification", "public", "--reason", "x"}, p...)...); code != 3 || !strings.Contains(errOut, "data owner") {
				t.Fatalf("classify by the admin: exit %d %s", code, errOut)
			}
			if _, errOut, code := olga.runEnv(env, append([]string{"data", "tier", "scans", "cold", "--version", "1"}, p...)...); code != 3 || !strings.Contains(errOut, "tier") {
				t.Fatalf("cold tier on a local directory: exit %d %s", code, errOut)
			}
			if out := olga.okEnv(env, append([]string{"data", "tier", "scans", "hot", "--version", "1"}, p...)...); strings.Count(out, "hot") != 2 {
				t.Fatalf("data tier hot: %s", out)
			}
			// Curate the scans, then read the curated copy.
			if out := olga.okEnv(env, append([]string{"data", "copy", "scans", "--version", "1", "--area", "curated", "--to", "scans-clean"}, p...)...); !strings.Contains(out, "curate") {
				t.Fatalf("data copy: %s", out)
			}
			if out := olga.okEnv(env, append([]string{"data", "lineage", "scans-clean", "--version", "1"}, p...)...); !strings.Contains(out, "onc/scans") || !strings.Contains(out, "curate") {
				t.Fatalf("lineage of the curated copy: %s", out)
			}
			// Share the curated scans with the zone; another project of it reads them.
			if out := olga.okEnv(env, append([]string{"data", "share", "scans-clean"}, p...)...); !strings.Contains(out, "zone") {
				t.Fatalf("data share: %s", out)
			}
			admin.okEnv(env, "project", "create", "labs", "--zone", "eu", "--owner", "o", "--cost-center", "c")
			admin.okEnv(env, "access", "grant", "--user", "olga", "--role", "data-owner", "--scope", "/zones/eu/projects/labs")
			labs := []string{"--zone", "eu", "--project", "labs"}
			if out := olga.okEnv(env, append([]string{"data", "shared"}, labs...)...); !strings.Contains(out, "onc") || !strings.Contains(out, "scans-clean") {
				t.Fatalf("data shared: %s", out)
			}
			sharedDest := t.TempDir()
			olga.okEnv(env, append([]string{"data", "download", "scans-clean", "--from", "onc", "--version", "1", "--env", "dev", "--out", sharedDest}, labs...)...)
			if got := hashOf(t, filepath.Join(sharedDest, "scan.bin")); got != sum {
				t.Fatalf("shared download: %s", got)
			}
			// Parts and the object cut midway are swept, never read: the
			// version's two files are what is left once the write leftovers go.
			dest := t.TempDir()
			olga.okEnv(env, append([]string{"data", "download", "scans", "--version", "1", "--env", "dev", "--out", dest}, p...)...)
			if got := hashOf(t, filepath.Join(dest, "scan.bin")); got != sum {
				t.Fatalf("downloaded %s", got)
			}
			s2.stop(t, syscall.SIGTERM)
		})
	}
}

func countRecords(t *testing.T, admin *cli, env []string, action string) int {
	t.Helper()
	out := admin.okEnv(env, "audit", "search", "--action", action, "--limit", "1000", "-o", "json")
	var recs []json.RawMessage
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("audit search: %v %s", err, out)
	}
	return len(recs)
}

func (c *cli) okEnv(env []string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.runEnv(env, args...)
	if code != 0 {
		c.t.Fatalf("enclave %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func hashOf(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
