package api_test

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// deidBody is a de-identification request's JSON.
func deidBody(t *testing.T, recipe, target string, paths ...string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"recipe": recipe, "target": target, "paths": paths})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const deidRecipe = `version: 1
columns:
  name: drop
  email: pseudonymise
  age: generalise-age
  zip: generalise-postcode
k_anonymity: {k: 2, quasi_identifiers: [age, zip]}
`

// TestDeid de-identifies a workspace dataset through the server: names
// gone, emails pseudonymised the same way every run, ages and ZIP codes
// generalised, rows of classes below k suppressed, the result readable in
// an environment and as classified as its source.
func TestDeid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1","max_classification":"restricted"}`, nil), 201)
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		sci, _ := e.enrolledUser("sam", "explorer of the cohort 7")
		e.grantRole("olga", "data-owner", "/zones/eu/projects/onc")
		e.grantRole("sam", "data-scientist", "/zones/eu/projects/onc")
		const ds = "/api/v1/zones/eu/projects/onc/datasets"
		asOwner := bearer(owner)
		content := "name,email,age,zip\n" +
			"Alice Smith,alice@example.com,34,02139\n" +
			"Bob Jones,bob@example.com,34,02134\n" +
			"Carol White,carol@example.com,92,10001\n" +
			"Dan Brown,dan@example.com,95,10002\n" +
			"Eve Black,eve@example.com,51,60601\n" +
			"Frank Green,frank@example.com,47,94105\n"
		e.must(e.do("POST", ds, `{"name":"people","area":"workspace","classification":"confidential"}`, asOwner), 201)
		e.must(e.do("POST", ds+"/people/versions", "", asOwner), 201)
		e.must(e.do("PUT", ds+"/people/versions/1/files/people.csv", content, asOwner), 201)
		e.must(e.do("PUT", ds+"/people/versions/1/files/notes.txt", "Alice Smith called", asOwner), 201)
		e.must(e.do("POST", ds, `{"name":"low","area":"workspace","classification":"internal"}`, asOwner), 201)
		e.must(e.do("POST", ds, `{"name":"cur","area":"curated","classification":"confidential"}`, asOwner), 201)
		deid := ds + "/people/versions/1/deid"
		steps(t, e, "deid", []scenario{
			{name: "an open version is not de-identified", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, deidRecipe, "people-deid"), status: 409, code: "failed_precondition"},
			{name: "commit", method: "POST", path: ds + "/people/versions/1/commit", header: asOwner, status: 200, events: []string{"dataset.version.commit"}},
			{name: "de-identify into a new workspace dataset", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, deidRecipe, "people-deid"), status: 201,
				contain: []string{`"number":1`, `"operation":"deid"`, `"state":"committed"`, `"people.csv"`,
					`"rows_in":6`, `"rows_out":6`, `"rows_suppressed":2`, `"k_achieved":2`},
				events: []string{"dataset.create", "dataset.deid"}},
			{name: "again: the next version", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, deidRecipe, "people-deid", "people.csv"), status: 201, contain: []string{`"number":2`}, events: []string{"dataset.deid"}},
			{name: "a recipe of an unsupported version", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, "version: 2\n", "people-deid"), status: 400, code: "invalid_argument", field: "recipe"},
			{name: "a recipe with an unknown action", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, "version: 1\ncolumns:\n  email: scramble\n", "people-deid"), status: 400, code: "invalid_argument", field: "recipe",
				contain: []string{"email"}},
			{name: "a recipe naming a column the file lacks", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, "version: 1\ncolumns:\n  ssn: drop\n", "people-deid"), status: 400, code: "invalid_argument", field: "recipe",
				contain: []string{"ssn"}},
			{name: "a file that is not tabular", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, deidRecipe, "people-deid", "notes.txt"), status: 400, code: "invalid_argument", field: "paths"},
			{name: "a recipe too large", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, "version: 1\n#"+strings.Repeat("x", 70<<10)+"\n", "people-deid"), status: 400, code: "invalid_argument", field: "recipe"},
			{name: "into a dataset classified lower: refused", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, deidRecipe, "low"), status: 409, code: "failed_precondition", contain: []string{"cannot lower"}},
			{name: "into a dataset outside the workspace", method: "POST", path: deid, header: asOwner,
				body: deidBody(t, deidRecipe, "cur"), status: 400, code: "invalid_argument", field: "target"},
			{name: "the scientist may not de-identify", method: "POST", path: deid, header: bearer(sci),
				body: deidBody(t, deidRecipe, "mine"), status: 403, code: "permission_denied"},
			{name: "the admin may catalog but reads no contents", method: "POST", path: deid,
				body: deidBody(t, deidRecipe, "mine"), status: 403, code: "permission_denied"},
			{name: "lineage of the result", method: "GET", path: ds + "/people-deid/versions/1/lineage", header: asOwner, status: 200,
				contain: []string{`"dataset":"people"`, `"version":1`, `"operation":"deid"`}},
			{name: "the result is as classified as its source", method: "GET", path: ds + "/people-deid", header: asOwner, status: 200,
				contain: []string{`"classification":"confidential"`, `"area":"workspace"`, `"owner":"olga"`}},
		})
		read := func(v string) [][]string {
			t.Helper()
			r := e.do("GET", "/api/v1/zones/eu/projects/onc/environments/dev/datasets/people-deid/versions/"+v+"/files/people.csv", "", bearer(sci))
			if r.status != 200 {
				t.Fatalf("read version %s: %d %s", v, r.status, r.body)
			}
			recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
			if err != nil {
				t.Fatalf("version %s is not CSV: %v\n%s", v, err, r.body)
			}
			for _, n := range []string{"Alice", "Smith", "Bob", "example.com"} {
				if strings.Contains(string(r.body), n) {
					t.Errorf("version %s still holds %q:\n%s", v, n, r.body)
				}
			}
			return recs
		}
		one, two := read("1"), read("2")
		if strings.Join(one[0], ",") != "email,age,zip" || len(one) != 7 {
			t.Fatalf("version 1:\n%v", one)
		}
		byClass := map[string][]string{}
		suppressed := 0
		for _, rec := range one[1:] {
			if !strings.HasPrefix(rec[0], "psn_") {
				t.Errorf("email not pseudonymised: %v", rec)
			}
			if rec[1] == "*" && rec[2] == "*" {
				suppressed++
				continue
			}
			byClass[rec[1]+"|"+rec[2]] = append(byClass[rec[1]+"|"+rec[2]], rec[0])
		}
		if suppressed != 2 || len(byClass["34|021**"]) != 2 || len(byClass["90+|100**"]) != 2 {
			t.Errorf("classes %v, %d suppressed", byClass, suppressed)
		}
		psn := func(recs [][]string) map[string]bool {
			m := map[string]bool{}
			for _, rec := range recs[1:] {
				m[rec[0]] = true
			}
			return m
		}
		p1, p2 := psn(one), psn(two)
		if len(p1) != 6 {
			t.Errorf("pseudonyms %v", p1)
		}
		for p := range p1 {
			if !p2[p] {
				t.Errorf("pseudonym %s of run 1 is not in run 2: %v", p, p2)
			}
		}
		// Only the de-identified file went into the new version.
		if strings.Contains(string(e.do("GET", ds+"/people-deid/versions/1", "", asOwner).body), "notes.txt") {
			t.Error("a file the recipe did not touch was copied")
		}
	})
}
