package file_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/enclave-ml/enclave/internal/siem/file"
)

func events(from, n int) []*audit.Event {
	var out []*audit.Event
	for i := from; i < from+n; i++ {
		out = append(out, &audit.Event{ID: fmt.Sprintf("ev-%04d", i), Seq: int64(i), Time: time.Unix(1700000000, 0).UTC(),
			Action: "zone.create", Outcome: audit.Success, Details: map[string]any{"pad": strings.Repeat("x", 100)}})
	}
	return out
}

func open(t *testing.T, dir string, maxBytes int64, keep int) siem.Sender {
	t.Helper()
	s, err := file.Open(&siem.Sink{Kind: siem.KindFile, File: &siem.FileSettings{Path: "soc/audit.jsonl", MaxBytes: maxBytes, Keep: keep}},
		siem.Env{FileDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func lines(t *testing.T, p string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var e audit.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			ids = append(ids, "torn")
			continue
		}
		ids = append(ids, e.ID)
	}
	return ids
}

// TestRotationKeepsNFiles: files rotate before a line would pass the
// size limit, path.1 is the newest rotated file, and only keep of them stay.
func TestRotationKeepsNFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1024, 2)
	for i := 0; i < 40; i += 5 {
		if err := s.Send(context.Background(), events(i, 5)); err != nil {
			t.Fatal(err)
		}
	}
	base := filepath.Join(dir, "soc", "audit.jsonl")
	for _, p := range []string{base, base + ".1", base + ".2"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 1024 || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %v", p, st.Size(), st.Mode().Perm())
		}
	}
	if _, err := os.Stat(base + ".3"); !os.IsNotExist(err) {
		t.Errorf("a third rotated file was kept: %v", err)
	}
	all := append(append(lines(t, base+".2"), lines(t, base+".1")...), lines(t, base)...)
	if all[len(all)-1] != "ev-0039" {
		t.Errorf("newest line %s", all[len(all)-1])
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("lines out of order across rotated files: %v", all)
		}
	}
}

// TestTornLineIsIsolated: after a crash cut a line short, the next batch
// starts on a new line, so only the torn line is unreadable.
func TestTornLineIsIsolated(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "soc", "audit.jsonl")
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base, []byte(`{"id":"ev-0000"}`+"\n"+`{"id":"ev-00`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, 1<<20, 1)
	if err := s.Send(context.Background(), events(1, 2)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines(t, base), ","); got != "ev-0000,torn,ev-0001,ev-0002" {
		t.Errorf("lines %s", got)
	}
	if st, _ := os.Stat(base); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}
