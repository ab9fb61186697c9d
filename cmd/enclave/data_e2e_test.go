package main_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/storetest"
)

// bigFileMB is the size of the streaming test's file: 2 GiB, or what
// ENCLAVE_TEST_BIG_MB says (64 MiB under -short).
func bigFileMB(t *testing.T) int64 {
	if v := os.Getenv("ENCLAVE_TEST_BIG_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			t.Fatalf("ENCLAVE_TEST_BIG_MB=%q", v)
		}
		return n
	}
	if testing.Short() {
		return 64
	}
	return 2048
}

// writeBigFile writes size bytes of incompressible data and returns their SHA-256.
func writeBigFile(t *testing.T, path string, size int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		rng.Read(buf)
		n := min(int64(len(buf)), left)
		if _, err := w.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rssField is the /proc status line sampled: resident anonymous memory and
// file mappings, not the page cache.
var rssField = "VmRSS:"

// rssSampler records the peak resident memory of a process.
type rssSampler struct {
	peak atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if f := strings.Fields(line); len(f) >= 2 && f[0] == rssField {
						if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb*1024 > s.peak.Load() {
							s.peak.Store(kb * 1024)
						}
					}
				}
			}
			select {
			case <-s.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *rssSampler) Stop() int64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak.Load()
}

// TestDataThroughBinary moves a large file (2 GiB by default) through the
// API with the CLI, up and down, on SQLite and PostgreSQL, while the
// server's resident memory stays under 150 MB; checks that what comes back
// is what went in; that only ciphertext is on disk; and that restricted
// data is refused in dev whatever the role.
func TestDataThroughBinary(t *testing.T) {
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
			admin.ok("project", "create", "onc", "--zone", "eu", "--owner", "o", "--cost-center", "c", "--max-classification", "restricted")

			// The data owner: a person with the Data Owner role on the project.
			pw := "lantern-quartz-harbour-orchid"
			admin.okIn(pw+"\n", "user", "create", "olga", "--password-stdin")
			olga := newCLI(t)
			olga.password, olga.timeout = pw, 10*time.Minute
			olga.run(pw+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", "olga")
			olga.enrol()
			olga.signIn("olga")
			admin.ok("access", "grant", "--user", "olga", "--role", "data-owner", "--scope", "/zones/eu/projects/onc")

			p := []string{"--zone", "eu", "--project", "onc"}
			olga.ok(append([]string{"data", "create", "scans", "--area", "raw", "--classification", "restricted", "--tag", "modality=ct"}, p...)...)

			size := bigFileMB(t) << 20
			src := filepath.Join(t.TempDir(), "scan.bin")
			sum := writeBigFile(t, src, size)
			small := filepath.Join(t.TempDir(), "notes.csv")
			os.WriteFile(small, []byte("id,finding\n1,none\n"), 0o600)

			// Sign-ins hash passwords with 64 MiB each; the server hands that
			// back a second after the last one. Measure the transfers alone.
			time.Sleep(2 * time.Second)
			rss := sampleRSS(s.cmd.Process.Pid)
			start := time.Now()
			out := olga.ok(append([]string{"data", "upload", "scans", src, small, "-o", "json"}, p...)...)
			up := time.Since(start)
			var v struct {
				Number    int    `json:"number"`
				State     string `json:"state"`
				Size      int64  `json:"size"`
				FileCount int    `json:"file_count"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.Number != 1 || v.State != "committed" || v.FileCount != 2 {
				t.Fatalf("upload: %v %s", err, out)
			}
			// Restricted data cannot be read in dev, whatever the role.
			if _, errOut, code := olga.run("", append([]string{"data", "download", "scans", "--version", "1", "--env", "dev", "--out", t.TempDir()}, p...)...); code != 3 || !strings.Contains(errOut, "permission_denied") {
				t.Fatalf("download in dev: exit %d %s", code, errOut)
			}
			dest := t.TempDir()
			start = time.Now()
			olga.ok(append([]string{"data", "download", "scans", "--version", "1", "--env", "prod", "--out", dest}, p...)...)
			down := time.Since(start)
			peak := rss.Stop()
			t.Logf("%d MiB: upload %v (%.0f MB/s), download %v (%.0f MB/s), server peak RSS %d MB", size>>20,
				up.Round(time.Millisecond), float64(size)/up.Seconds()/1e6, down.Round(time.Millisecond), float64(size)/down.Seconds()/1e6, peak>>20)
			if peak > 150<<20 {
				t.Errorf("server resident memory peaked at %d MB (limit 150 MB)", peak>>20)
			}
			got, err := os.Open(filepath.Join(dest, "scan.bin"))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, _ := io.Copy(h, got)
			got.Close()
			if n != size || hex.EncodeToString(h.Sum(nil)) != sum {
				t.Fatalf("downloaded %d bytes, hash differs", n)
			}
			if b, _ := os.ReadFile(filepath.Join(dest, "notes.csv")); string(b) != "id,finding\n1,none\n" {
				t.Fatalf("small file: %q", b)
			}
			// One file to standard output.
			if out := olga.ok(append([]string{"data", "download", "scans", "--version", "1", "--env", "prod", "--file", "notes.csv", "--out", "-"}, p...)...); out != "id,finding\n1,none\n" {
				t.Fatalf("stdout download: %q", out)
			}
			// What is on disk is ciphertext, about the size of the data.
			var stored int64
			filepath.WalkDir(filepath.Join(dataDir, "objects"), func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".attrs") {
					fi, _ := d.Info()
					stored += fi.Size()
					f, _ := os.Open(path)
					head := make([]byte, 64)
					f.Read(head)
					f.Close()
					if strings.Contains(string(head), "id,finding") {
						t.Errorf("%s holds plaintext", path)
					}
				}
				return nil
			})
			if stored < size || stored > size+size/1000+1<<20 {
				t.Errorf("stored %d bytes for %d of data", stored, size)
			}
			if out := olga.ok(append([]string{"data", "ls", "--tag", "modality=ct"}, p...)...); !strings.Contains(out, "scans") || !strings.Contains(out, "restricted") {
				t.Fatalf("ls: %s", out)
			}
			if out := olga.ok(append([]string{"data", "show", "scans", "--version", "1"}, p...)...); !strings.Contains(out, "scan.bin") || !strings.Contains(out, sum) {
				t.Fatalf("show: %s", out)
			}
			// Rotation re-wraps the data keys without touching the data.
			if out := admin.ok(append([]string{"keys", "rotate", "-o", "json"}, p...)...); !strings.Contains(out, `"rewrapped": 2`) && !strings.Contains(out, `"rewrapped":2`) {
				t.Fatalf("keys rotate: %s", out)
			}
			if out := admin.ok(append([]string{"keys", "show"}, p...)...); !strings.Contains(out, "local") || strings.Count(out, "\n") != 2 {
				t.Fatalf("keys show: %s", out)
			}
			if out := olga.ok(append([]string{"data", "download", "scans", "--version", "1", "--env", "prod", "--file", "notes.csv", "--out", "-"}, p...)...); out != "id,finding\n1,none\n" {
				t.Fatalf("download after rotation: %q", out)
			}
			if out := olga.ok(append([]string{"data", "label", "scans", "finding", "sensitive-attribute"}, p...)...); !strings.Contains(out, "finding\tsensitive-attribute") {
				t.Fatalf("label: %q", out)
			}
			if out := olga.ok(append([]string{"data", "lineage", "scans", "--version", "1"}, p...)...); !strings.Contains(out, "DIRECTION") {
				t.Fatalf("lineage: %q", out)
			}
			// The reads were recorded as sensitive-data accesses.
			if out := admin.ok("audit", "search", "--action", "data.read", "-o", "json"); strings.Count(out, `"action": "data.read"`)+strings.Count(out, `"action":"data.read"`) < 3 {
				t.Fatalf("data.read records: %s", out)
			}
			// A production-data grant: Sam, a data scientist, asks for the
			// restricted data in dev; Olga, its data owner, approves; Sam makes
			// the one copy and reads it in dev.
			samPW := "explorer-of-the-cohort-seven"
			admin.okIn(samPW+"\n", "user", "create", "sam", "--password-stdin")
			sam := newCLI(t)
			sam.password = samPW
			sam.run(samPW+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", "sam")
			sam.enrol()
			sam.signIn("sam")
			admin.ok("access", "grant", "--user", "sam", "--role", "data-scientist", "--scope", "/zones/eu/projects/onc")
			// (A small dataset of its own, so the copy is quick.)
			olga.ok(append([]string{"data", "create", "labs", "--area", "raw", "--classification", "restricted"}, p...)...)
			olga.ok(append([]string{"data", "upload", "labs", small}, p...)...)
			var grant struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(sam.ok(append([]string{"data", "grant", "request", "labs", "--version", "1", "--env", "dev",
				"--justification", "debug the pipeline on real edge cases", "--duration", "2h", "-o", "json"}, p...)...)), &grant); err != nil || grant.ID == "" {
				t.Fatalf("grant request: %v", err)
			}
			if _, errOut, code := sam.run("", append([]string{"data", "requests", "approve", grant.ID}, p...)...); code == 0 || !strings.Contains(errOut, "own request") {
				t.Fatalf("own approval: exit %d %s", code, errOut)
			}
			olga.ok(append([]string{"data", "requests", "approve", grant.ID, "--comment", "two hours"}, p...)...)
			sam.ok(append([]string{"data", "grant", "copy", grant.ID, "--name", "labs-dev"}, p...)...)
			if out := sam.ok(append([]string{"data", "download", "labs-dev", "--version", "1", "--env", "dev", "--file", "notes.csv", "--out", "-"}, p...)...); out != "id,finding\n1,none\n" {
				t.Fatalf("copy read in dev: %q", out)
			}
			if _, errOut, code := sam.run("", append([]string{"data", "download", "labs", "--version", "1", "--env", "dev", "--file", "notes.csv", "--out", "-"}, p...)...); code != 3 || !strings.Contains(errOut, "permission_denied") {
				t.Fatalf("source read in dev: exit %d %s", code, errOut)
			}
			if out := sam.ok(append([]string{"data", "lineage", "labs-dev", "--version", "1"}, p...)...); !strings.Contains(out, "onc/labs") || !strings.Contains(out, "grant-copy") {
				t.Fatalf("lineage of the copy: %s", out)
			}

			// Crypto-shredding: asked by one Platform Admin, approved by another.
			pw2 := "second-pair-of-eyes-harbour"
			admin.okIn(pw2+"\n", "user", "create", "pat", "--password-stdin")
			pat := newCLI(t)
			pat.password = pw2
			pat.run(pw2+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", "pat")
			pat.enrol()
			pat.signIn("pat")
			admin.ok("access", "grant", "--user", "pat", "--role", "platform-admin", "--scope", "/")
			var req struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(admin.ok(append([]string{"keys", "destroy", "--confirm", "onc", "--justification", "study over, data must be gone", "-o", "json"}, p...)...)), &req); err != nil || req.ID == "" {
				t.Fatalf("keys destroy: %v", err)
			}
			if _, errOut, code := admin.run("", append([]string{"data", "requests", "approve", req.ID}, p...)...); code == 0 || !strings.Contains(errOut, "own request") {
				t.Fatalf("own approval: exit %d %s", code, errOut)
			}
			pat.ok(append([]string{"data", "requests", "approve", req.ID}, p...)...)
			if _, errOut, code := olga.run("", append([]string{"data", "download", "scans", "--version", "1", "--env", "prod", "--file", "notes.csv", "--out", "-"}, p...)...); code == 0 || !strings.Contains(errOut, "destroyed") {
				t.Fatalf("download after destruction: exit %d %s", code, errOut)
			}
			var left int
			filepath.WalkDir(filepath.Join(dataDir, "objects"), func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".attrs") {
					left++
				}
				return nil
			})
			if left != 0 {
				t.Fatalf("%d stored files left after crypto-shredding", left)
			}
		})
	}
}
