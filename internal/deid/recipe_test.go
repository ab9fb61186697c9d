package deid

import (
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
)

const fullRecipe = `version: 1
columns:
  patient_name: drop
  email: mask              # a fixed mask
  patient_id: pseudonymise
  dob: generalise-date
  age: generalise-age
  zip: generalise-postcode
  notes: redact
default: keep
k_anonymity: {k: 5, quasi_identifiers: [zip, age, sex]}
`

func TestParseRecipe(t *testing.T) {
	r, err := ParseRecipe([]byte(fullRecipe))
	if err != nil {
		t.Fatal(err)
	}
	want := []ColumnRule{
		{"patient_name", ActionDrop, 3}, {"email", ActionMask, 4}, {"patient_id", ActionPseudonymise, 5},
		{"dob", ActionGeneraliseDate, 6}, {"age", ActionGeneraliseAge, 7}, {"zip", ActionGeneralisePostcode, 8},
		{"notes", ActionRedact, 9},
	}
	if r.Version != 1 || r.Default != ActionKeep || !slicesEqual(r.Columns, want) {
		t.Fatalf("%+v", r)
	}
	if r.KAnonymity == nil || r.KAnonymity.K != 5 || !slicesEqual(r.KAnonymity.QuasiIdentifiers, []string{"zip", "age", "sex"}) {
		t.Fatalf("k-anonymity %+v", r.KAnonymity)
	}
	if r.action("sex") != ActionKeep || r.action("email") != ActionMask {
		t.Fatal("actions")
	}
	r, err = ParseRecipe([]byte("version: 1\ncolumns:\n  a: keep\ndefault: drop\n"))
	if err != nil || r.action("b") != ActionDrop || r.KAnonymity != nil {
		t.Fatalf("%+v, %v", r, err)
	}
}

func TestParseRecipeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown key", "version: 1\ncolumns:\n  a: keep\ndefualt: keep\n", `line 4: unknown key "defualt"`},
		{"unknown nested key", "version: 1\nk_anonymity: {k: 5, quasi: [a]}\n", `unknown key "quasi"`},
		{"unknown action", "version: 1\ncolumns:\n  a: keep\n  email: maks\n", `line 4: column "email": unknown action "maks"`},
		{"duplicate column", "version: 1\ncolumns:\n  email: mask\n  email: drop\n", `column "email" is listed twice (first on line 3)`},
		{"no version", "columns:\n  a: keep\n", "no version"},
		{"bad version", "version: 2\n", "version 2 is not supported"},
		{"bad default", "version: 1\ndefault: mask\n", "default must be keep or drop"},
		{"small k", "version: 1\nk_anonymity: {k: 1, quasi_identifiers: [a]}\n", "k must be at least 2"},
		{"no quasi-identifiers", "version: 1\nk_anonymity: {k: 5}\n", "no quasi_identifiers"},
		{"dropped quasi-identifier", "version: 1\ncolumns:\n  a: drop\nk_anonymity: {k: 5, quasi_identifiers: [a]}\n", `quasi-identifier "a" is dropped`},
		{"columns not a map", "version: 1\ncolumns: [a, b]\n", "columns must map column names to actions"},
		{"empty", "", "empty"},
		{"not yaml", "version: [1\n", "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRecipe([]byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if enclave.ErrorCode(err) != enclave.CodeInvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v; want %q", err, tc.want)
			}
		})
	}
}

func TestRecipePlan(t *testing.T) {
	r, err := ParseRecipe([]byte(fullRecipe))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"patient_id", "patient_name", "email", "dob", "age", "sex", "zip", "notes", "diagnosis"}
	p, err := r.plan(names)
	if err != nil {
		t.Fatal(err)
	}
	// Output: every column but patient_name; quasi-identifiers zip, age,
	// sex at their output positions.
	if !slicesEqual(p.out, []int{0, 2, 3, 4, 5, 6, 7, 8}) || !slicesEqual(p.qi, []int{5, 3, 4}) || p.k != 5 {
		t.Fatalf("out %v, qi %v, k %d", p.out, p.qi, p.k)
	}
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"patient_id", "email", "dob", "age", "sex", "zip", "notes"}, `line 3: column "patient_name" is not in the file`},
		{append(names[:len(names):len(names)], "email"), `the file has 2 columns named "email"`},
		{[]string{"patient_id", "patient_name", "email", "dob", "age", "zip", "notes"}, `quasi-identifier "sex" is not in the file`},
	} {
		_, err := r.plan(tc.names)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.names, err, tc.want)
		}
	}
	dropAll, _ := ParseRecipe([]byte("version: 1\ndefault: drop\n"))
	if _, err := dropAll.plan([]string{"a"}); err == nil || !strings.Contains(err.Error(), "drops every column") {
		t.Errorf("dropping everything: %v", err)
	}
	// With default drop, a quasi-identifier must be listed to survive.
	_, err = ParseRecipe([]byte("version: 1\ncolumns:\n  a: keep\ndefault: drop\nk_anonymity: {k: 2, quasi_identifiers: [b]}\n"))
	if err == nil || !strings.Contains(err.Error(), `"b" is dropped`) {
		t.Errorf("dropped by default: %v", err)
	}
}
