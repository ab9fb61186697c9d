package main_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// domainPackages hold the rules; they import no transport, no SQL and no adapter.
var domainPackages = []string{"enclave", "access", "audit", "identity", "zone", "workqueue", "outbox", "idempotency", "siem", "objects", "catalog", "tabular", "policy", "airlock", "deid", "scanner", "tracking", "registry"}

var forbiddenInDomain = []string{"net/http", "database/sql",
	"github.com/enclave-ml/enclave/internal/api", "github.com/enclave-ml/enclave/internal/sqlstore",
	"github.com/enclave-ml/enclave/internal/sqlite", "github.com/enclave-ml/enclave/internal/postgres",
	"github.com/enclave-ml/enclave/internal/server", "github.com/enclave-ml/enclave/internal/cli",
	"github.com/enclave-ml/enclave/internal/blobstore", "github.com/enclave-ml/enclave/internal/buckets"}

// TestPackageHygiene: every package documents itself, and domain packages
// stay free of transport and storage.
func TestPackageHygiene(t *testing.T) {
	root := filepath.Join("..", "..", "internal")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	domain := map[string]bool{}
	for _, d := range domainPackages {
		domain[d] = true
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, filepath.Join(root, d.Name()), func(fi os.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.ParseComments|parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for name, pkg := range pkgs {
			documented := false
			for _, f := range pkg.Files {
				if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+name+" ") {
					documented = true
				}
				if !domain[d.Name()] {
					continue
				}
				for _, imp := range f.Imports {
					path, _ := strconv.Unquote(imp.Path.Value)
					for _, bad := range forbiddenInDomain {
						if path == bad {
							t.Errorf("domain package %s imports %s (%s)", name, path, fset.Position(imp.Pos()))
						}
					}
				}
			}
			if !documented {
				t.Errorf("package %s has no doc comment starting \"Package %s \"", name, name)
			}
		}
	}
}
