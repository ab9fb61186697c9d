package policy

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

// builtinFS holds the built-in definitions with their fixtures.
//
//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtin returns the built-in definitions and their fixtures.
func Builtin() ([]*Definition, []*Fixture, error) {
	names, err := fs.Glob(builtinFS, "builtin/*.yaml")
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	var defs []*Definition
	var fixtures []*Fixture
	for _, n := range names {
		raw, err := builtinFS.ReadFile(n)
		if err != nil {
			return nil, nil, err
		}
		d, f, err := ParseDocuments(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", n, err)
		}
		for _, x := range f {
			x.file = n
		}
		defs, fixtures = append(defs, d...), append(fixtures, f...)
	}
	return defs, fixtures, nil
}
