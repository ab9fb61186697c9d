package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func (e *env) grantRole(user, role, scope string) {
	e.t.Helper()
	e.must(e.do("POST", "/api/v1/access/assignments",
		`{"assignee_kind":"user","assignee":"`+user+`","role":"`+role+`","scope":"`+scope+`"}`, nil), 201)
}

// TestDatasets drives the catalog through the API: cataloguing, uploads,
// commits, immutability, classification enforcement by environment,
// sensitive-read auditing, who may lower a classification, and bad paths.
func TestDatasets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1","max_classification":"restricted"}`, nil), 201)
		const proj = "/zones/eu/projects/onc"
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		sci, _ := e.enrolledUser("sam", "explorer of the cohort 7")
		e.grantRole("olga", "data-owner", proj)
		e.grantRole("sam", "data-scientist", proj)
		const ds = "/api/v1/zones/eu/projects/onc/datasets"
		content := "patient,age\nA,34\nB,51\n"
		sum := sha256.Sum256([]byte(content))
		hexSum := hex.EncodeToString(sum[:])
		asOwner, asSci := bearer(owner), bearer(sci)
		withSum := map[string]string{"Authorization": "Bearer " + owner, api.ContentSHA256Header: hexSum}
		wrongSum := map[string]string{"Authorization": "Bearer " + owner, api.ContentSHA256Header: strings.Repeat("0", 64)}
		read := func(env, path string) string {
			return "/api/v1/zones/eu/projects/onc/environments/" + env + "/datasets/cohort/versions/1/files/" + path
		}
		steps(t, e, "ds", []scenario{
			{name: "a project for internal data", method: "POST", path: "/api/v1/zones/eu/projects",
				body: `{"name":"low","owner":"x","cost_center":"c"}`, status: 201, events: []string{"project.create"}},
			{name: "above the project's maximum", method: "POST", path: "/api/v1/zones/eu/projects/low/datasets",
				body: `{"name":"x","area":"raw","classification":"restricted"}`, status: 400, code: "invalid_argument", field: "classification"},
			{name: "catalog", method: "POST", path: ds, header: asOwner,
				body:   `{"name":"cohort","area":"raw","classification":"restricted","tags":{"study":"onc-1"},"retention_days":30}`,
				status: 201, contain: []string{`"owner":"olga"`, `"classification":"restricted"`}, events: []string{"dataset.create"}},
			{name: "unknown area", method: "POST", path: ds, header: asOwner, body: `{"name":"y","area":"lake","classification":"internal"}`,
				status: 400, code: "invalid_argument", field: "area"},
			{name: "the scientist may not catalog", method: "POST", path: ds, header: asSci, body: `{"name":"z","area":"raw","classification":"internal"}`,
				status: 403, code: "permission_denied"},
			{name: "list by tag", method: "GET", path: ds + "?tag=study=onc-1", header: asSci, status: 200, contain: []string{`"name":"cohort"`}},
			{name: "list by another tag", method: "GET", path: ds + "?tag=study=other", header: asSci, status: 200, contain: []string{`"items":[]`}},
			{name: "search by name", method: "GET", path: ds + "?name=coh", header: asSci, status: 200, contain: []string{`"name":"cohort"`}},
			{name: "search by another name", method: "GET", path: ds + "?name=zz", header: asSci, status: 200, contain: []string{`"items":[]`}},
			{name: "search by classification", method: "GET", path: ds + "?classification=restricted", header: asSci, status: 200,
				contain: []string{`"name":"cohort"`}},
			{name: "search by another classification", method: "GET", path: ds + "?classification=public", header: asSci, status: 200,
				contain: []string{`"items":[]`}},
			{name: "search by an unknown classification", method: "GET", path: ds + "?classification=secret", header: asSci, status: 400,
				code: "invalid_argument", field: "classification"},
			{name: "open version 1", method: "POST", path: ds + "/cohort/versions", header: asOwner, status: 201,
				contain: []string{`"number":1`, `"state":"open"`}, events: []string{"dataset.version.create"}},
			{name: "upload", method: "PUT", path: ds + "/cohort/versions/1/files/data/cohort.csv", header: withSum, body: content,
				status: 201, contain: []string{`"sha256":"` + hexSum + `"`, `"format":"csv"`, `"rows":2`, `{"name":"age","type":"integer"`},
				events: []string{"dataset.file.write"}},
			{name: "upload with the wrong hash", method: "PUT", path: ds + "/cohort/versions/1/files/other.csv", header: wrongSum, body: content,
				status: 400, code: "invalid_argument", field: "sha256"},
			{name: "encoded traversal", method: "PUT", path: ds + "/cohort/versions/1/files/a%2F..%2F..%2Fetc", header: asOwner, body: "x",
				status: 400, code: "invalid_argument", field: "path"},
			{name: "control character", method: "PUT", path: ds + "/cohort/versions/1/files/a%01b", header: asOwner, body: "x",
				status: 400, code: "invalid_argument", field: "path"},
			{name: "absolute path", method: "PUT", path: ds + "/cohort/versions/1/files/%2Fetc%2Fpasswd", header: asOwner, body: "x",
				status: 400, code: "invalid_argument", field: "path"},
			{name: "the scientist may not upload here", method: "PUT", path: ds + "/cohort/versions/1/files/x.csv", header: asSci, body: "x",
				status: 403, code: "permission_denied"},
			{name: "read before commit", method: "GET", path: read("prod", "data/cohort.csv"), header: asSci, status: 409, code: "failed_precondition"},
			{name: "commit", method: "POST", path: ds + "/cohort/versions/1/commit", header: asOwner, status: 200,
				contain: []string{`"state":"committed"`, `"file_count":1`, `"retain_until"`}, events: []string{"dataset.version.commit"}},
			{name: "commit twice", method: "POST", path: ds + "/cohort/versions/1/commit", header: asOwner, status: 409, code: "failed_precondition"},
			{name: "committed versions are immutable", method: "PUT", path: ds + "/cohort/versions/1/files/data/cohort.csv", header: asOwner,
				body: "changed", status: 409, code: "failed_precondition"},
			{name: "restricted data cannot be read in dev, whatever the role", method: "GET", path: read("dev", "data/cohort.csv"), header: asOwner,
				status: 403, code: "permission_denied"},
			{name: "read in prod", method: "GET", path: read("prod", "data/cohort.csv"), header: asSci, status: 200,
				contain: []string{"patient,age"}, events: []string{"data.read"}},
			{name: "read a range", method: "GET", path: read("prod", "data/cohort.csv"), header: map[string]string{"Authorization": "Bearer " + sci, "Range": "bytes=12-15"},
				status: 206, contain: []string{"A,34"}, events: []string{"data.read"}},
			{name: "unsatisfiable range", method: "GET", path: read("prod", "data/cohort.csv"), header: map[string]string{"Authorization": "Bearer " + sci, "Range": "bytes=500-"},
				status: 416, code: "range_not_satisfiable", field: "Range"},
			{name: "missing file", method: "GET", path: read("prod", "nope.csv"), header: asSci, status: 404, code: "not_found"},
			{name: "the admin manages but reads no contents", method: "GET", path: read("prod", "data/cohort.csv"), status: 403, code: "permission_denied"},
			{name: "the admin may not lower it: not the data owner", method: "POST", path: ds + "/cohort/classify",
				body: `{"classification":"confidential","reason":"x"}`, status: 403, code: "permission_denied"},
			{name: "lowering needs a reason", method: "POST", path: ds + "/cohort/classify", header: asOwner,
				body: `{"classification":"confidential"}`, status: 400, code: "invalid_argument", field: "reason"},
			{name: "the owner lowers it", method: "POST", path: ds + "/cohort/classify", header: asOwner,
				body: `{"classification":"confidential","reason":"identifiers removed"}`, status: 200, events: []string{"dataset.classify"}},
			{name: "now readable in dev, and still audited", method: "GET", path: read("dev", "data/cohort.csv"), header: asSci, status: 200,
				contain: []string{"B,51"}, events: []string{"data.read"}},
			{name: "anyone who catalogs may raise it", method: "POST", path: ds + "/cohort/classify",
				body: `{"classification":"restricted"}`, status: 200, events: []string{"dataset.classify"}},
			{name: "retention cannot shrink", method: "PATCH", path: ds + "/cohort", header: asOwner, body: `{"retention_days":1}`,
				status: 400, code: "invalid_argument", field: "retention_days"},
			{name: "describe", method: "PATCH", path: ds + "/cohort", header: asOwner, body: `{"description":"the cohort","retention_days":60}`,
				status: 200, contain: []string{`"retention_days":60`}, events: []string{"dataset.update"}},
			{name: "versions", method: "GET", path: ds + "/cohort/versions", header: asSci, status: 200, contain: []string{`"number":1`}},
			{name: "the local directory has no cold tier", method: "POST", path: ds + "/cohort/versions/1/tier", header: asOwner, body: `{"tier":"cold"}`,
				status: 409, code: "failed_precondition"},
			{name: "unknown tier", method: "POST", path: ds + "/cohort/versions/1/tier", header: asOwner, body: `{"tier":"glacier"}`,
				status: 400, code: "invalid_argument", field: "tier"},
			{name: "hot is where it is", method: "POST", path: ds + "/cohort/versions/1/tier", header: asOwner, body: `{"tier":"hot"}`,
				status: 200, events: []string{"dataset.version.tier"}},
			{name: "manifest", method: "GET", path: ds + "/cohort/versions/1", header: asSci, status: 200, contain: []string{`"path":"data/cohort.csv"`}},
			{name: "the data owner sees no keys", method: "GET", path: "/api/v1/zones/eu/projects/onc/keys", header: asOwner, status: 403, code: "permission_denied"},
			{name: "keys", method: "GET", path: "/api/v1/zones/eu/projects/onc/keys", status: 200, contain: []string{`"version":1`, `"objects":1`, `"provider":"local"`}},
			{name: "only a platform admin rotates", method: "POST", path: "/api/v1/zones/eu/projects/onc/keys/rotate", header: asOwner, status: 403, code: "permission_denied"},
			{name: "rotate", method: "POST", path: "/api/v1/zones/eu/projects/onc/keys/rotate", status: 200,
				contain: []string{`"version":2`, `"rewrapped":1`, `"retired":[1]`}, events: []string{"keys.rotate", "keys.retire"}},
			{name: "still readable after rotation", method: "GET", path: read("prod", "data/cohort.csv"), header: asSci, status: 200,
				contain: []string{"patient,age"}, events: []string{"data.read"}},
			{name: "no keys in a project without data", method: "POST", path: "/api/v1/zones/eu/projects/low/keys/rotate", status: 404, code: "not_found"},
			{name: "a project with datasets cannot be deleted", method: "DELETE", path: "/api/v1/zones/eu/projects/onc", status: 409, code: "failed_precondition"},
		})

		// Corrupt the stored ciphertext: the read fails loudly — the
		// connection is cut, never a complete-looking body — and an audit
		// record names the object.
		var files []string
		root := filepath.Join(e.dataDir, "objects")
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
				files = append(files, p)
			}
			return nil
		})
		if len(files) != 1 {
			t.Fatalf("stored files: %v", files)
		}
		b, _ := os.ReadFile(files[0])
		b[len(b)-20] ^= 0xff
		os.WriteFile(files[0], b, 0o600)
		req, _ := http.NewRequest("GET", e.srv.URL+read("prod", "data/cohort.csv"), nil)
		req.Header.Set("Authorization", "Bearer "+sci)
		req.Header.Set(api.RequestIDHeader, "corrupt-read")
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err == nil {
			body, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			if rerr == nil && res.StatusCode == 200 {
				t.Fatalf("corrupt data read completely: %q", body)
			}
		}
		evs := e.events("corrupt-read")
		if len(evs) != 2 || evs[0] != "data.read" || evs[1] != "data.corrupt:failed" {
			t.Fatalf("audit of the corrupt read: %v", evs)
		}
	})
}

// TestDataGovernance covers what needs a second person — production-data
// grants, deletions after retention, key destruction — plus column labels,
// lineage and search by column.
func TestDataGovernance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1","max_classification":"restricted"}`, nil), 201)
		const proj = "/zones/eu/projects/onc"
		owner, olgaTOTP := e.enrolledUser("olga", "keeper of the cohort 42")
		sci, samTOTP := e.enrolledUser("sam", "explorer of the cohort 7")
		pat, patTOTP := e.enrolledUser("pat", "second pair of eyes 99")
		e.grantRole("olga", "data-owner", proj)
		e.grantRole("sam", "data-scientist", proj)
		e.grantRole("pat", "platform-admin", "/")
		asOwner, asSci, asPat := bearer(owner), bearer(sci), bearer(pat)
		const ds = "/api/v1/zones/eu/projects/onc/datasets"
		const reqs = "/api/v1/zones/eu/projects/onc/data-requests"
		e.must(e.do("POST", ds, `{"name":"cohort","area":"raw","classification":"restricted","retention_days":1}`, asOwner), 201)
		e.must(e.do("POST", ds+"/cohort/versions", "", asOwner), 201)
		e.must(e.do("PUT", ds+"/cohort/versions/1/files/t.csv", "mrn,age,dx\n1,34,c50\n2,51,c61\n", asOwner), 201)
		e.must(e.do("POST", ds+"/cohort/versions/1/commit", "", asOwner), 200)
		var grant, deletion, destroy struct {
			ID string `json:"id"`
		}
		read := func(name, env string) string {
			return "/api/v1/zones/eu/projects/onc/environments/" + env + "/datasets/" + name + "/versions/1/files/t.csv"
		}
		steps(t, e, "gov1", []scenario{
			{name: "label a direct identifier", method: "PUT", path: ds + "/cohort/columns/mrn", header: asOwner, body: `{"label":"direct-identifier"}`,
				status: 200, contain: []string{`"mrn":"direct-identifier"`}, events: []string{"dataset.label"}},
			{name: "label a quasi-identifier", method: "PUT", path: ds + "/cohort/columns/age", header: asOwner, body: `{"label":"quasi-identifier"}`,
				status: 200, contain: []string{`"age":"quasi-identifier"`}, events: []string{"dataset.label"}},
			{name: "unknown label", method: "PUT", path: ds + "/cohort/columns/dx", header: asOwner, body: `{"label":"secret"}`,
				status: 400, code: "invalid_argument", field: "label"},
			{name: "the scientist may not label", method: "PUT", path: ds + "/cohort/columns/dx", header: asSci, body: `{"label":"sensitive-attribute"}`,
				status: 403, code: "permission_denied"},
			{name: "labels", method: "GET", path: ds + "/cohort/columns", header: asSci, status: 200, contain: []string{`"mrn":"direct-identifier"`}},
			{name: "search by column", method: "GET", path: ds + "?column=dx", header: asSci, status: 200, contain: []string{`"name":"cohort"`}},
			{name: "search by a column nobody has", method: "GET", path: ds + "?column=ssn", header: asSci, status: 200, contain: []string{`"items":[]`}},
			{name: "no grant needed where the data may be read", method: "POST", path: ds + "/cohort/versions/1/grants", header: asSci,
				body: `{"environment":"prod","justification":"iterate on the model"}`, status: 409, code: "failed_precondition"},
			{name: "a grant too long", method: "POST", path: ds + "/cohort/versions/1/grants", header: asSci,
				body: `{"environment":"dev","justification":"iterate on the model","duration":"720h"}`, status: 400, code: "invalid_argument", field: "duration"},
			{name: "the owner cannot ask herself", method: "POST", path: ds + "/cohort/versions/1/grants", header: asOwner,
				body: `{"environment":"dev","justification":"iterate on the model"}`, status: 409, code: "failed_precondition"},
			{name: "request a grant", method: "POST", path: ds + "/cohort/versions/1/grants", header: asSci,
				body:   `{"environment":"dev","justification":"debug the feature pipeline on real edge cases","duration":"2h"}`,
				status: 201, contain: []string{`"state":"pending"`, `"kind":"data-grant"`}, events: []string{"data.grant.request"}},
		})
		var list struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		e.mustJSON(e.do("GET", reqs, "", asOwner), 200, &list)
		grant.ID = list.Items[0].ID
		steps(t, e, "gov2", []scenario{
			{name: "nobody approves their own", method: "POST", path: reqs + "/" + grant.ID + "/approve", header: asSci, status: 403, code: "permission_denied"},
			{name: "an admin is not the data owner", method: "POST", path: reqs + "/" + grant.ID + "/approve", status: 403, code: "permission_denied"},
			{name: "cannot copy before approval", method: "POST", path: reqs + "/" + grant.ID + "/copy", header: asSci, body: `{"name":"cohort-dev"}`,
				status: 409, code: "failed_precondition"},
			{name: "the data owner approves", method: "POST", path: reqs + "/" + grant.ID + "/approve", header: asOwner, body: `{"comment":"ok for two hours"}`,
				status: 200, contain: []string{`"state":"approved"`, `"expires_at"`}, events: []string{"data.grant.approve"}},
			{name: "only the requester copies", method: "POST", path: reqs + "/" + grant.ID + "/copy", header: asOwner, body: `{"name":"cohort-dev"}`,
				status: 403, code: "permission_denied"},
			{name: "copy into dev", method: "POST", path: reqs + "/" + grant.ID + "/copy", header: asSci, body: `{"name":"cohort-dev"}`,
				status: 201, contain: []string{`"area":"workspace"`, `"classification":"restricted"`, `"grant_id":"` + grant.ID + `"`}, events: []string{"data.copy"}},
			{name: "one copy per grant", method: "POST", path: reqs + "/" + grant.ID + "/copy", header: asSci, body: `{"name":"cohort-dev2"}`,
				status: 409, code: "failed_precondition"},
			{name: "the copy reads in dev", method: "GET", path: read("cohort-dev", "dev"), header: asSci, status: 200, contain: []string{"mrn,age,dx"},
				events: []string{"data.read"}},
			{name: "the source still does not", method: "GET", path: read("cohort", "dev"), header: asSci, status: 403, code: "permission_denied"},
			{name: "lineage of the copy", method: "GET", path: ds + "/cohort-dev/versions/1/lineage", header: asSci, status: 200,
				contain: []string{`"parents":[{"dataset":"cohort","project":"onc","version":1,"operation":"grant-copy"}]`}},
			{name: "and of the source", method: "GET", path: ds + "/cohort/versions/1/lineage", header: asSci, status: 200,
				contain: []string{`"children":[{"dataset":"cohort-dev"`}},
			{name: "deletion refused while retention holds", method: "DELETE", path: ds + "/cohort/versions/1", header: asOwner,
				body: `{"justification":"study closed, data no longer needed"}`, status: 409, code: "failed_precondition"},
		})
		// A request withdrawn, and one refused.
		for i, decide := range []string{"cancel", "reject"} {
			var q struct {
				ID string `json:"id"`
			}
			e.mustJSON(e.do("POST", ds+"/cohort/versions/1/grants", `{"environment":"dev","justification":"one more look at the edge cases"}`, asSci), 201, &q)
			who, want := asSci, "data.request.cancel"
			if decide == "reject" {
				who, want = asOwner, "data.grant.reject"
			}
			steps(t, e, fmt.Sprintf("gov-decide%d", i), []scenario{
				{name: decide, method: "POST", path: reqs + "/" + q.ID + "/" + decide, header: who, status: 200,
					contain: []string{`"state":"` + map[string]string{"cancel": "cancelled", "reject": "rejected"}[decide] + `"`}, events: []string{want}},
			})
		}
		e.clock.Add(3 * time.Hour) // the grant has expired
		steps(t, e, "gov3", []scenario{
			{name: "the copy no longer reads in dev", method: "GET", path: read("cohort-dev", "dev"), header: asSci, status: 403, code: "permission_denied"},
			{name: "but still where it may be read anyway", method: "GET", path: read("cohort-dev", "prod"), header: asSci, status: 200, events: []string{"data.read"}},
		})
		e.clock.Add(24 * time.Hour) // retention over; sessions too: sign in again
		owner, sci, pat = e.signIn("olga", "keeper of the cohort 42", olgaTOTP), e.signIn("sam", "explorer of the cohort 7", samTOTP),
			e.signIn("pat", "second pair of eyes 99", patTOTP)
		e.adminToken = e.signIn("admin", e.adminPassword, e.adminTOTP)
		asOwner, asSci, asPat = bearer(owner), bearer(sci), bearer(pat)
		steps(t, e, "gov-del", []scenario{
			{name: "ask to delete after the retention", method: "DELETE", path: ds + "/cohort/versions/1", header: asOwner,
				body: `{"justification":"study closed, data no longer needed"}`, status: 202, contain: []string{`"kind":"version-deletion"`},
				events: []string{"dataset.version.delete.request"}},
		})
		e.mustJSON(e.do("GET", reqs, "", nil), 200, &list)
		deletion.ID = list.Items[0].ID
		steps(t, e, "gov4", []scenario{
			{name: "the requester may not approve the deletion", method: "POST", path: reqs + "/" + deletion.ID + "/approve", header: asOwner,
				status: 403, code: "permission_denied"},
			{name: "someone who may catalog approves it", method: "POST", path: reqs + "/" + deletion.ID + "/approve", status: 200,
				contain: []string{`"state":"approved"`}, events: []string{"dataset.version.delete"}},
			{name: "the version is a tombstone", method: "GET", path: ds + "/cohort/versions/1", header: asSci, status: 200,
				contain: []string{`"state":"deleted"`, `"sha256"`}},
			{name: "its contents are gone", method: "GET", path: read("cohort", "prod"), header: asSci, status: 409, code: "failed_precondition"},
			{name: "keys: confirm with the project's name", method: "POST", path: "/api/v1/zones/eu/projects/onc/keys/destroy",
				body: `{"confirm":"yes","justification":"project ended, data must be unrecoverable"}`, status: 400, code: "invalid_argument", field: "confirm"},
			{name: "the data owner cannot destroy keys", method: "POST", path: "/api/v1/zones/eu/projects/onc/keys/destroy", header: asOwner,
				body: `{"confirm":"onc","justification":"project ended, data must be unrecoverable"}`, status: 403, code: "permission_denied"},
			{name: "ask to destroy the keys", method: "POST", path: "/api/v1/zones/eu/projects/onc/keys/destroy",
				body:   `{"confirm":"onc","justification":"project ended, data must be unrecoverable"}`,
				status: 202, contain: []string{`"kind":"key-destruction"`}, events: []string{"keys.destroy.request"}},
		})
		e.mustJSON(e.do("GET", reqs, "", nil), 200, &list)
		destroy.ID = list.Items[0].ID
		steps(t, e, "gov5", []scenario{
			{name: "not by the same admin", method: "POST", path: reqs + "/" + destroy.ID + "/approve", status: 403, code: "permission_denied"},
			{name: "not by the data owner", method: "POST", path: reqs + "/" + destroy.ID + "/approve", header: asOwner, status: 403, code: "permission_denied"},
			{name: "a second platform admin approves", method: "POST", path: reqs + "/" + destroy.ID + "/approve", header: asPat,
				status: 200, events: []string{"keys.destroy"}},
			{name: "the data is unreadable for good", method: "GET", path: read("cohort-dev", "prod"), header: asSci, status: 409, code: "failed_precondition"},
			{name: "nothing new can be stored", method: "POST", path: ds + "/cohort/versions", header: asOwner, status: 201, events: []string{"dataset.version.create"}},
			{name: "uploads are refused", method: "PUT", path: ds + "/cohort/versions/2/files/x.csv", header: asOwner, body: "a\n1\n",
				status: 409, code: "failed_precondition"},
			{name: "decided requests stay decided", method: "POST", path: reqs + "/" + destroy.ID + "/reject", header: asPat, status: 409, code: "failed_precondition"},
		})
		// The bytes are gone too.
		var files []string
		filepath.WalkDir(filepath.Join(e.dataDir, "objects"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
				files = append(files, p)
			}
			return nil
		})
		if len(files) != 0 {
			t.Fatalf("files left after the keys were destroyed: %v", files)
		}
	})
}

// TestInterruptedUploads: a body shorter than its Content-Length, and a
// client that goes away midway, store nothing — no file in the version, no
// object row, no bytes on disk.
func TestInterruptedUploads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1"}`, nil), 201)
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		e.grantRole("olga", "data-owner", "/zones/eu/projects/onc")
		const ds = "/api/v1/zones/eu/projects/onc/datasets"
		e.must(e.do("POST", ds, `{"name":"c","area":"raw","classification":"internal"}`, bearer(owner)), 201)
		e.must(e.do("POST", ds+"/c/versions", "", bearer(owner)), 201)
		addr := strings.TrimPrefix(e.srv.URL, "http://")
		for _, tc := range []struct {
			name    string
			declare int
			send    int
		}{{"short body", 1 << 20, 300000}, {"client gone", 1 << 20, 700000}} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "PUT %s/c/versions/1/files/%s.bin HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
				ds, strings.ReplaceAll(tc.name, " ", "-"), addr, owner, tc.declare)
			conn.Write(make([]byte, tc.send))
			// The upload is under way: its object row exists, being written.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				var writing int
				db.SQL.QueryRow(`SELECT COUNT(*) FROM objects WHERE state = 'writing'`).Scan(&writing)
				if writing == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: the upload never started", tc.name)
				}
			}
			if tc.name == "short body" {
				conn.(*net.TCPConn).CloseWrite()
				io.ReadAll(conn) // the server answers or hangs up; either way nothing is stored
			}
			conn.Close()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				var n int
				db.SQL.QueryRow(`SELECT COUNT(*) FROM objects`).Scan(&n)
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: the object was not cleaned up", tc.name)
				}
			}
		}
		// The server notices the broken bodies asynchronously: wait for it.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var rows int
			db.SQL.QueryRow(`SELECT COUNT(*) FROM objects`).Scan(&rows)
			files := e.objectFiles()
			if rows == 0 && len(files) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after interrupted uploads: %d object rows, files %v", rows, files)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var v struct {
			Files []any `json:"files"`
		}
		e.mustJSON(e.do("GET", ds+"/c/versions/1", "", bearer(owner)), 200, &v)
		if len(v.Files) != 0 {
			t.Fatalf("files recorded: %v", v.Files)
		}
		// And a whole upload still works afterwards.
		e.must(e.do("PUT", ds+"/c/versions/1/files/ok.bin", strings.Repeat("x", 1000), bearer(owner)), 201)
	})
}
