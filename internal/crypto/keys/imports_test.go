package keys_test

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the hierarchy free of transport, SQL and cloud SDKs:
// stores and KMS providers are adapters handed in through interfaces.
func TestImports(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		if strings.HasSuffix(pkg.Name, "_test") {
			continue
		}
		for name, f := range pkg.Files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range []string{"net/http", "database/sql", "gocloud.dev", "github.com/aws", "cloud.google.com", "github.com/Azure", "github.com/hashicorp"} {
					if path == bad || strings.HasPrefix(path, bad+"/") {
						t.Errorf("%s imports %s", name, path)
					}
				}
			}
		}
	}
}
