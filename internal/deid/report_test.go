package deid

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestReportTextGolden renders a scan report as the CLI prints it and
// compares it with testdata/report.golden (go test -update rewrites it).
func TestReportTextGolden(t *testing.T) {
	r := scanString(t, scanTable, ScanOptions{QuasiIdentifiers: []string{"zip"}, SensitiveAttributes: []string{"amount"}})
	got := r.Text()
	path := filepath.Join("testdata", "report.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("the report text differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}
