package api_test

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestSharedDatasets shares data with a landing zone: its data owner alone
// shares it, the zone's other projects find and read it in their own
// environments (certified for its classification, the reads audited), and
// nothing is visible from another zone or once sharing stops.
func TestSharedDatasets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		for _, z := range []string{"eu", "us"} {
			e.must(e.do("POST", "/api/v1/zones", `{"name":"`+z+`","region":"r"}`, nil), 201)
		}
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"registry","owner":"o","cost_center":"c","max_classification":"restricted"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"o","cost_center":"c","max_classification":"confidential"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/us/projects", `{"name":"other","owner":"o","cost_center":"c","max_classification":"restricted"}`, nil), 201)
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		sci, _ := e.enrolledUser("sam", "explorer of the cohort 7")
		far, _ := e.enrolledUser("uma", "explorer of the cohort 9")
		e.grantRole("olga", "data-owner", "/zones/eu/projects/registry")
		e.grantRole("sam", "data-scientist", "/zones/eu/projects/onc")
		e.grantRole("uma", "data-scientist", "/zones/us/projects/other")
		const reg = "/api/v1/zones/eu/projects/registry/datasets"
		asOwner, asSci := bearer(owner), bearer(sci)
		for _, d := range []struct{ name, area, class string }{
			{"icd", "raw", "internal"}, {"extract", "curated", "confidential"}, {"patients", "curated", "restricted"},
			{"hidden", "raw", "internal"}, {"scratch", "workspace", "internal"},
		} {
			e.must(e.do("POST", reg, `{"name":"`+d.name+`","area":"`+d.area+`","classification":"`+d.class+`"}`, asOwner), 201)
			e.must(e.do("POST", reg+"/"+d.name+"/versions", "", asOwner), 201)
			e.must(e.do("PUT", reg+"/"+d.name+"/versions/1/files/t.csv", "code,label\nA01,cholera\n", asOwner), 201)
			e.must(e.do("POST", reg+"/"+d.name+"/versions/1/commit", "", asOwner), 200)
		}
		onc := "/api/v1/zones/eu/projects/onc"
		read := func(env, ds string) string {
			return onc + "/environments/" + env + "/shared-datasets/registry/" + ds + "/versions/1/files/t.csv"
		}
		steps(t, e, "shared", []scenario{
			{name: "share", method: "POST", path: reg + "/icd/share", header: asOwner, body: `{"shared":true}`, status: 200,
				contain: []string{`"shared":true`}, events: []string{"dataset.share"}},
			{name: "share again: nothing changes", method: "POST", path: reg + "/icd/share", header: asOwner, body: `{"shared":true}`, status: 200},
			{name: "the admin is not the data owner", method: "POST", path: reg + "/hidden/share", body: `{"shared":true}`,
				status: 403, code: "permission_denied"},
			{name: "a workspace is not shared", method: "POST", path: reg + "/scratch/share", header: asOwner, body: `{"shared":true}`,
				status: 409, code: "failed_precondition"},
			{name: "share the extract", method: "POST", path: reg + "/extract/share", header: asOwner, body: `{"shared":true}`, status: 200,
				events: []string{"dataset.share"}},
			{name: "share the patients", method: "POST", path: reg + "/patients/share", header: asOwner, body: `{"shared":true}`, status: 200,
				events: []string{"dataset.share"}},
			{name: "another project of the zone finds them", method: "GET", path: onc + "/shared-datasets", header: asSci, status: 200,
				contain: []string{`"name":"icd"`, `"name":"extract"`, `"project":"registry"`}},
			{name: "and their files", method: "GET", path: onc + "/shared-datasets/registry/icd/versions/1", header: asSci, status: 200,
				contain: []string{`"path":"t.csv"`, `"rows":1`}},
			{name: "reads internal data in its dev environment", method: "GET", path: read("dev", "icd"), header: asSci, status: 200,
				contain: []string{"A01,cholera"}},
			{name: "confidential data: the read is audited", method: "GET", path: read("dev", "extract"), header: asSci, status: 200,
				contain: []string{"A01,cholera"}, events: []string{"data.read"}},
			{name: "restricted data: no environment of this project is certified for it", method: "GET", path: read("prod", "patients"),
				header: asSci, status: 403, code: "permission_denied"},
			{name: "what is not shared is not found", method: "GET", path: read("dev", "hidden"), header: asSci, status: 404, code: "not_found"},
			{name: "nor its manifest", method: "GET", path: onc + "/shared-datasets/registry/hidden/versions/1", header: asSci, status: 404, code: "not_found"},
			{name: "an unknown project", method: "GET", path: onc + "/shared-datasets/nobody/icd/versions/1", header: asSci, status: 404, code: "not_found"},
			{name: "a bad project name", method: "GET", path: onc + "/shared-datasets/..%2Fx/icd/versions/1", header: asSci, status: 400, code: "invalid_argument", field: "project"},
			{name: "another zone sees nothing", method: "GET", path: "/api/v1/zones/us/projects/other/shared-datasets", header: bearer(far), status: 200,
				contain: []string{`"items":[]`}},
			{name: "nor reads it", method: "GET", path: "/api/v1/zones/us/projects/other/environments/dev/shared-datasets/registry/icd/versions/1/files/t.csv",
				header: bearer(far), status: 404, code: "not_found"},
			{name: "nor through a project of the zone it has no role in", method: "GET", path: read("dev", "icd"), header: bearer(far),
				status: 403, code: "permission_denied"},
			{name: "sharing stops", method: "POST", path: reg + "/icd/share", header: asOwner, body: `{"shared":false}`, status: 200,
				contain: []string{`"shared":false`}, events: []string{"dataset.unshare"}},
			{name: "and the read with it", method: "GET", path: read("dev", "icd"), header: asSci, status: 404, code: "not_found"},
		})
		// The sensitive read is recorded where it happened: the reading
		// project's environment.
		sealAudit(t, db)
		var scope string
		db.SQL.QueryRow(`SELECT scope FROM audit_events WHERE action = 'data.read'`).Scan(&scope)
		if scope != "/zones/eu/projects/onc/environments/dev" {
			t.Fatalf("data.read recorded at %q", scope)
		}
	})
}
