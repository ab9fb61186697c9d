package api_test

import (
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestAreaCopies moves data between areas the only way it moves: a
// platform operation that copies a committed version, keeps its
// classification and column labels, and records where it came from.
func TestAreaCopies(t *testing.T) {
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
		content := "patient,age\nA,34\nB,51\n"
		e.must(e.do("POST", ds, `{"name":"cohort","area":"raw","classification":"confidential","tags":{"study":"s1"},"retention_days":10}`, asOwner), 201)
		e.must(e.do("POST", ds+"/cohort/versions", "", asOwner), 201)
		e.must(e.do("PUT", ds+"/cohort/versions/1/files/c.csv", content, asOwner), 201)
		e.must(e.do("PUT", ds+"/cohort/columns/patient", `{"label":"direct-identifier"}`, asOwner), 200)
		e.must(e.do("POST", ds, `{"name":"low","area":"workspace","classification":"internal"}`, asOwner), 201)
		e.must(e.do("POST", ds, `{"name":"elsewhere","area":"workspace","classification":"restricted"}`, asOwner), 201)
		steps(t, e, "areas", []scenario{
			{name: "an open version is not copied", method: "POST", path: ds + "/cohort/versions/1/copy", header: asOwner,
				body: `{"area":"curated","dataset":"cohort-clean"}`, status: 409, code: "failed_precondition"},
			{name: "commit", method: "POST", path: ds + "/cohort/versions/1/commit", header: asOwner, status: 200, events: []string{"dataset.version.commit"}},
			{name: "curate into a new dataset", method: "POST", path: ds + "/cohort/versions/1/copy", header: asOwner,
				body: `{"area":"curated","dataset":"cohort-clean"}`, status: 201,
				contain: []string{`"number":1`, `"operation":"curate"`, `"state":"committed"`, `"retain_until"`},
				events:  []string{"dataset.create", "dataset.copy"}},
			{name: "again: the next version", method: "POST", path: ds + "/cohort/versions/1/copy", header: asOwner,
				body: `{"area":"curated","dataset":"cohort-clean"}`, status: 201, contain: []string{`"number":2`}, events: []string{"dataset.copy"}},
			{name: "provision the curated data to the workspace", method: "POST", path: ds + "/cohort-clean/versions/2/copy", header: asOwner,
				body: `{"area":"workspace","dataset":"cohort-ws"}`, status: 201, contain: []string{`"operation":"provision"`},
				events: []string{"dataset.create", "dataset.copy"}},
			{name: "into a dataset classified lower: refused", method: "POST", path: ds + "/cohort/versions/1/copy", header: asOwner,
				body: `{"area":"workspace","dataset":"low"}`, status: 409, code: "failed_precondition", contain: []string{"cannot lower"}},
			{name: "into a dataset of another area", method: "POST", path: ds + "/cohort/versions/1/copy", header: asOwner,
				body: `{"area":"curated","dataset":"elsewhere"}`, status: 400, code: "invalid_argument", field: "dataset"},
			{name: "into a higher classification: fine", method: "POST", path: ds + "/cohort/versions/1/copy", header: asOwner,
				body: `{"area":"workspace","dataset":"elsewhere"}`, status: 201, events: []string{"dataset.copy"}},
			{name: "back from curated to raw", method: "POST", path: ds + "/cohort-clean/versions/1/copy", header: asOwner,
				body: `{"area":"raw","dataset":"again"}`, status: 409, code: "failed_precondition", contain: []string{"airlock"}},
			{name: "out to the export area: the airlock's", method: "POST", path: ds + "/cohort-ws/versions/1/copy", header: asOwner,
				body: `{"area":"export","dataset":"out"}`, status: 409, code: "failed_precondition"},
			{name: "no dataset is made by hand in the airlock's staging areas", method: "POST", path: ds, header: asOwner,
				body: `{"name":"smuggle","area":"export","classification":"internal"}`, status: 400, code: "invalid_argument", field: "area"},
			{name: "unknown area", method: "POST", path: ds + "/cohort/versions/1/copy", header: asOwner,
				body: `{"area":"lake","dataset":"x"}`, status: 400, code: "invalid_argument", field: "area"},
			{name: "the scientist may not move data", method: "POST", path: ds + "/cohort/versions/1/copy", header: bearer(sci),
				body: `{"area":"workspace","dataset":"mine"}`, status: 403, code: "permission_denied"},
			{name: "the admin may catalog but reads no contents", method: "POST", path: ds + "/cohort/versions/1/copy",
				body: `{"area":"workspace","dataset":"mine"}`, status: 403, code: "permission_denied"},
			{name: "lineage of the copy", method: "GET", path: ds + "/cohort-ws/versions/1/lineage", header: asOwner, status: 200,
				contain: []string{`"dataset":"cohort-clean"`, `"version":2`, `"operation":"provision"`}},
			{name: "the labels came along", method: "GET", path: ds + "/cohort-ws/columns", header: asOwner, status: 200,
				contain: []string{`"patient":"direct-identifier"`}},
			{name: "the copy is as classified as its source", method: "GET", path: ds + "/cohort-ws", header: asOwner, status: 200,
				contain: []string{`"classification":"confidential"`, `"area":"workspace"`, `"owner":"olga"`}},
		})
		r := e.do("GET", "/api/v1/zones/eu/projects/onc/environments/dev/datasets/cohort-ws/versions/1/files/c.csv", "", bearer(sci))
		if r.status != 200 || string(r.body) != content {
			t.Fatalf("read the provisioned copy: %d %s", r.status, r.body)
		}
		if !strings.Contains(string(e.do("GET", ds+"/cohort-ws/versions/1", "", asOwner).body), `"rows":2`) {
			t.Fatal("the copy lost its schema")
		}
	})
}
