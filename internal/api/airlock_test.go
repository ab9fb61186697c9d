package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/notify"
	"github.com/enclave-ml/enclave/internal/outbox"
	"github.com/enclave-ml/enclave/internal/scanner/clamdtest"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/parquet-go/parquet-go"
)

// drain runs the work queue's due tasks until none is left.
func (e *env) drain() {
	e.t.Helper()
	w := &workqueue.Worker{Store: &sqlstore.TaskStore{DB: e.db}, Clock: e.clock.Now, Owner: "test", Handlers: e.svc.Handlers}
	for range 100 {
		ran, err := w.RunOnce(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if !ran {
			return
		}
	}
	e.t.Fatal("the work queue did not drain")
}

func (e *env) request(path string, hdr map[string]string) *airlock.Request {
	e.t.Helper()
	var r airlock.Request
	e.mustJSON(e.do("GET", path, "", hdr), 200, &r)
	return &r
}

// patients is a small table with direct identifiers and quasi-identifiers.
const patients = "name,email,nhs_number,zip,age,sex,diagnosis\n" +
	"Alice Smith,alice@example.org,943 476 5919,02139,34,F,asthma\n" +
	"Bob Jones,bob@example.org,401 023 2137,02139,34,F,diabetes\n" +
	"Carol White,carol@example.org,434 765 9219,02140,71,M,asthma\n"

// TestAirlock drives imports and exports through the API with a real clamd:
// a clean import reviewed by someone else becomes a raw dataset version and
// its staging copy goes; the requester cannot approve their own; an EICAR
// file is blocked and quarantined; an export carries a de-identification
// report, is opened in place by the reviewer, approved, downloaded through
// its link and revoked; rejections delete, cancellations delete, a second
// approver is enforced, and the scanner being down holds requests back.
func TestAirlock(t *testing.T) {
	clamd := clamdtest.Start(t)
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnvConfig(t, db, func(c *config.Config) { c.Airlock.Clamd = clamd.Addr })
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1","max_classification":"restricted"}`, nil), 201)
		const proj = "/zones/eu/projects/onc"
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		sci, _ := e.enrolledUser("sam", "explorer of the cohort 7")
		rev, _ := e.enrolledUser("rita", "reviewer of all things")
		rev2, _ := e.enrolledUser("ravi", "second pair of eyes 9")
		e.grantRole("olga", "data-owner", proj)
		e.grantRole("olga", "airlock-reviewer", proj) // a reviewer who also imports
		e.grantRole("sam", "data-scientist", proj)
		e.grantRole("rita", "airlock-reviewer", proj)
		e.grantRole("ravi", "airlock-reviewer", proj)
		asOwner, asSci, asRev, asRev2 := bearer(owner), bearer(sci), bearer(rev), bearer(rev2)
		const base = "/api/v1/zones/eu/projects/onc/airlock"

		// An import: upload, submit, scan, review, into raw.
		var imp airlock.Request
		e.mustJSON(e.do("POST", base+"/imports", `{"title":"cohort 42","justification":"the study protocol","classification":"confidential","target":"cohort"}`, asOwner), 201, &imp)
		in := base + "/imports/" + imp.ID
		steps(t, e, "import", []scenario{
			{name: "a data scientist cannot import", method: "POST", path: base + "/imports", header: asSci,
				body: `{"title":"x","justification":"y","classification":"internal","target":"x"}`, status: 403, code: "permission_denied"},
			{name: "an import needs a target", method: "POST", path: base + "/imports", header: asOwner,
				body: `{"title":"x","justification":"y","classification":"internal"}`, status: 400, code: "invalid_argument", field: "target"},
			{name: "open an import", method: "POST", path: base + "/imports", header: asOwner,
				body: `{"title":"spare","justification":"y","classification":"internal","target":"spare"}`, status: 201,
				contain: []string{`"state":"draft"`, `"upload"`, `"submit"`}, events: []string{"dataset.create", "airlock.request.create"}},
			{name: "upload a file", method: "PUT", path: in + "/files/data/patients.csv", header: asOwner, body: patients, status: 201,
				contain: []string{`"path":"data/patients.csv"`}, events: []string{"dataset.file.write"}},
			{name: "upload another", method: "PUT", path: in + "/files/readme.txt", header: asOwner, body: "about the cohort", status: 201,
				events: []string{"dataset.file.write"}},
			{name: "a path may not climb out", method: "PUT", path: in + "/files/a/%2e%2e/%2e%2e/etc", header: asOwner, body: "x", status: 400, code: "invalid_argument", field: "path"},
			{name: "only the requester adds files", method: "PUT", path: in + "/files/other.txt", header: asRev, body: "x", status: 403, code: "permission_denied"},
			{name: "take a file out", method: "DELETE", path: in + "/files/readme.txt", header: asOwner, status: 204, events: []string{"dataset.file.delete"}},
			{name: "the staging dataset is not the catalog's to change", method: "PUT",
				path: "/api/v1/zones/eu/projects/onc/datasets/" + imp.Staging + "/versions/1/files/x.csv", header: asOwner, body: "a", status: 409, code: "failed_precondition"},
			{name: "only the requester submits", method: "POST", path: in + "/submit", header: asRev, status: 403, code: "permission_denied"},
			{name: "submit", method: "POST", path: in + "/submit", header: asOwner, status: 200,
				contain: []string{`"state":"submitted"`}, events: []string{"dataset.version.commit", "airlock.request.submitted"}},
			{name: "a submitted request's files are fixed", method: "PUT", path: in + "/files/late.txt", header: asOwner, body: "x", status: 409, code: "failed_precondition"},
			{name: "a request in the scan cannot be approved", method: "POST", path: in + "/approve", header: asRev, status: 409, code: "failed_precondition"},
		})
		e.drain()
		got := e.request(in, asRev)
		if got.State != airlock.InReview || got.Checks == nil || len(got.Checks.Files) != 1 || got.Checks.Files[0].Infected {
			t.Fatalf("after the scan: %+v checks %+v", got.State, got.Checks)
		}
		if !strings.Contains(strings.Join(got.Actions, ","), "approve") || !strings.Contains(strings.Join(got.Actions, ","), "open-files") {
			t.Fatalf("a reviewer's actions: %v", got.Actions)
		}
		steps(t, e, "review", []scenario{
			{name: "the requester cannot approve their own import, though a reviewer", method: "POST", path: in + "/approve", header: asOwner,
				status: 403, code: "permission_denied", contain: []string{"nobody reviews their own request"}},
			{name: "the requester cannot open the files for review", method: "GET", path: in + "/files/data/patients.csv", header: asOwner, status: 403, code: "permission_denied"},
			{name: "a reviewer opens a file in place", method: "GET", path: in + "/files/data/patients.csv", header: asRev, status: 200,
				contain: []string{"Alice Smith"}, events: []string{"airlock.file.open"}},
			{name: "a rejection needs a comment", method: "POST", path: in + "/reject", header: asRev, body: `{}`, status: 400, code: "invalid_argument", field: "comment"},
			{name: "another reviewer approves", method: "POST", path: in + "/approve", header: asRev, body: `{"comment":"protocol checked"}`, status: 200,
				contain: []string{`"state":"approval_in_progress"`}, events: []string{"airlock.request.approval_in_progress"}},
			{name: "nobody reviews twice", method: "POST", path: in + "/approve", header: asRev2, status: 409, code: "failed_precondition"},
		})
		e.drain()
		got = e.request(in, asOwner)
		if got.State != airlock.Approved || got.Result == nil || got.Result.Dataset != "cohort" || got.Result.Version != 1 || got.Result.Area != "raw" {
			t.Fatalf("approved import: %s %+v", got.State, got.Result)
		}
		var v struct {
			Operation string `json:"operation"`
			Files     []struct {
				Path string `json:"path"`
			} `json:"files"`
		}
		e.mustJSON(e.do("GET", "/api/v1/zones/eu/projects/onc/datasets/cohort/versions/1", "", asOwner), 200, &v)
		if v.Operation != "import" || len(v.Files) != 1 || v.Files[0].Path != "data/patients.csv" {
			t.Fatalf("the raw version: %+v", v)
		}
		var lin struct {
			Parents []struct{ Dataset, Operation string } `json:"parents"`
		}
		e.mustJSON(e.do("GET", "/api/v1/zones/eu/projects/onc/datasets/cohort/versions/1/lineage", "", asOwner), 200, &lin)
		if len(lin.Parents) != 1 || lin.Parents[0].Dataset != imp.Staging || lin.Parents[0].Operation != "import" {
			t.Fatalf("lineage to the request: %+v", lin)
		}
		var staged struct {
			State string `json:"state"`
			Files []any  `json:"files"`
		}
		e.mustJSON(e.do("GET", "/api/v1/zones/eu/projects/onc/datasets/"+imp.Staging+"/versions/1", "", asOwner), 200, &staged)
		if staged.State != "deleted" || len(staged.Files) != 0 {
			t.Fatalf("the staging copy was not deleted: %+v", staged)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM objects WHERE state <> 'stored'`); n != 0 {
			t.Fatalf("%d objects left behind", n)
		}

		// A rejected import's files are deleted.
		var rej airlock.Request
		e.mustJSON(e.do("POST", base+"/imports", `{"title":"extra","justification":"j","classification":"internal","target":"extra"}`, asOwner), 201, &rej)
		e.must(e.do("PUT", base+"/imports/"+rej.ID+"/files/x.csv", "a,b\n1,2\n", asOwner), 201)
		e.must(e.do("POST", base+"/imports/"+rej.ID+"/submit", "", asOwner), 200)
		e.drain()
		steps(t, e, "reject-import", []scenario{
			{name: "a reviewer rejects an import", method: "POST", path: base + "/imports/" + rej.ID + "/reject", header: asRev,
				body: `{"comment":"not in the protocol"}`, status: 200, events: []string{"airlock.request.rejection_in_progress"}},
		})
		e.drain()
		if got = e.request(base+"/imports/"+rej.ID, asOwner); got.State != airlock.Rejected {
			t.Fatalf("rejected import: %s", got.State)
		}

		// Malware is blocked and quarantined.
		var bad airlock.Request
		e.mustJSON(e.do("POST", base+"/imports", `{"title":"tools","justification":"analysis","classification":"internal","target":"tools"}`, asOwner), 201, &bad)
		e.must(e.do("PUT", base+"/imports/"+bad.ID+"/files/eicar.com", clamdtest.EICAR, asOwner), 201)
		e.must(e.do("PUT", base+"/imports/"+bad.ID+"/files/clean.txt", "harmless", asOwner), 201)
		e.must(e.do("POST", base+"/imports/"+bad.ID+"/submit", "", asOwner), 200)
		e.drain()
		got = e.request(base+"/imports/"+bad.ID, asRev)
		if got.State != airlock.BlockedByScan || len(got.Checks.Infected()) != 1 || !strings.HasPrefix(got.Checks.Infected()[0].Signature, clamdtest.Signature) {
			t.Fatalf("EICAR import: %s %+v", got.State, got.Checks)
		}
		if got.Result == nil || got.Result.Area != "quarantine" {
			t.Fatalf("quarantine: %+v", got.Result)
		}
		var q struct{ Items []airlock.Request }
		e.mustJSON(e.do("GET", "/api/v1/airlock/quarantine", "", nil), 200, &q)
		if len(q.Items) != 1 || q.Items[0].ID != bad.ID {
			t.Fatalf("the security team's quarantine list: %+v", q.Items)
		}
		e.must(e.do("GET", "/api/v1/airlock/quarantine", "", asSci), 403)

		// An export from the workspace with its de-identification report.
		e.must(e.do("POST", "/api/v1/zones/eu/projects/onc/datasets", `{"name":"results","area":"workspace","classification":"internal"}`, asOwner), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects/onc/datasets/results/versions", "", asOwner), 201)
		e.must(e.do("PUT", "/api/v1/zones/eu/projects/onc/datasets/results/versions/1/files/out/table.csv", patients, asOwner), 201)
		e.must(e.do("PUT", "/api/v1/zones/eu/projects/onc/datasets/results/versions/1/files/out/summary.txt", "mean age 46", asOwner), 201)
		e.must(e.do("PUT", "/api/v1/zones/eu/projects/onc/datasets/results/versions/1/files/out/table.parquet", patientsParquet(t), asOwner), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects/onc/datasets/results/versions/1/commit", "", asOwner), 200)
		var exp airlock.Request
		e.mustJSON(e.do("POST", base+"/exports", `{"title":"figures","justification":"paper","labels":{"zip":"quasi-identifier","age":"quasi-identifier","sex":"quasi-identifier","diagnosis":"sensitive-attribute"}}`, asSci), 201, &exp)
		out := base + "/exports/" + exp.ID
		steps(t, e, "export", []scenario{
			{name: "open an export", method: "POST", path: base + "/exports", header: asSci, body: `{"title":"spare","justification":"j"}`,
				status: 201, events: []string{"dataset.create", "airlock.request.create"}},
			{name: "an export has no target", method: "POST", path: base + "/exports", header: asSci, body: `{"title":"x","justification":"j","target":"raw"}`,
				status: 400, code: "invalid_argument", field: "target"},
			{name: "only workspace data is exported", method: "POST", path: out + "/files", header: asSci, body: `{"dataset":"cohort","version":1}`,
				status: 400, code: "invalid_argument", field: "dataset"},
			{name: "add a directory of a workspace version", method: "POST", path: out + "/files", header: asSci, body: `{"dataset":"results","version":1,"dir":"out"}`,
				status: 201, contain: []string{"out/table.csv", "out/summary.txt", "out/table.parquet"}, events: []string{"dataset.copy"}},
			{name: "take one out", method: "DELETE", path: out + "/files/out/summary.txt", header: asSci, status: 204, events: []string{"dataset.file.delete"}},
			{name: "submit the export", method: "POST", path: out + "/submit", header: asSci, status: 200,
				events: []string{"dataset.version.commit", "airlock.request.submitted"}},
		})
		e.drain()
		got = e.request(out, asRev)
		if got.State != airlock.InReview || len(got.Checks.Deid) != 2 {
			t.Fatalf("export checks: %s %+v", got.State, got.Checks)
		}
		for _, tr := range got.Checks.Deid { // the CSV and the Parquet table, read through the encrypted object
			rep := tr.Report
			if rep == nil || !rep.IdentifiersFound || rep.KAnonymity == nil || rep.KAnonymity.K != 1 {
				raw, _ := json.Marshal(tr)
				t.Fatalf("the de-identification report of %s: %s", tr.Path, raw)
			}
		}
		raw, _ := json.Marshal(got)
		if strings.Contains(string(raw), "943 476 5919") || strings.Contains(string(raw), "alice@example.org") {
			t.Fatal("the request shows identifying values")
		}
		steps(t, e, "decide", []scenario{
			{name: "the requester cannot approve their export", method: "POST", path: out + "/approve", header: asSci, status: 403, code: "permission_denied"},
			{name: "a reviewer approves the export", method: "POST", path: out + "/approve", header: asRev, body: `{"comment":"aggregate enough"}`, status: 200,
				events: []string{"airlock.request.approval_in_progress"}},
		})
		e.drain()
		got = e.request(out, asSci)
		if got.State != airlock.Approved || got.Result == nil || got.Result.Area != "external" || !strings.Contains(strings.Join(got.Actions, ","), "create-link") {
			t.Fatalf("approved export: %s %+v %v", got.State, got.Result, got.Actions)
		}
		var link airlock.Link
		steps(t, e, "deliver", []scenario{
			{name: "only the requester makes a link", method: "POST", path: out + "/links", header: asRev, status: 403, code: "permission_denied"},
			{name: "a link lasts at most a day", method: "POST", path: out + "/links", header: asSci, body: `{"ttl_seconds":172800}`, status: 400, code: "invalid_argument", field: "ttl"},
			{name: "the requester makes a link", method: "POST", path: out + "/links", header: asSci, status: 201, contain: []string{"encdl_"},
				events: []string{"airlock.link.create"}},
		})
		e.mustJSON(e.do("POST", out+"/links", "", asSci), 201, &link)
		steps(t, e, "download", []scenario{
			{name: "download through the link", method: "GET", path: "/api/v1" + strings.TrimPrefix(link.URL, "/api/v1") + "/out/table.csv", header: asSci,
				status: 200, contain: []string{"Carol White"}, events: []string{"airlock.download"}},
			{name: "another person cannot use the link", method: "GET", path: link.URL + "/out/table.csv", header: asRev, status: 403, code: "permission_denied"},
			{name: "a made-up link finds nothing", method: "GET", path: base + "/downloads/encdl_nope/out/table.csv", header: asSci, status: 404, code: "not_found"},
		})
		e.clock.Add(airlock.DefaultLinkTTL + time.Second)
		steps(t, e, "expiry", []scenario{
			{name: "an expired link is refused", method: "GET", path: link.URL + "/out/table.csv", header: asSci, status: 409, code: "failed_precondition",
				contain: []string{"expired"}},
			{name: "revoke the export", method: "POST", path: out + "/revoke", header: asRev, body: `{"comment":"too detailed"}`, status: 200,
				contain: []string{`"state":"revoked"`}, events: []string{"airlock.request.revoked"}},
			{name: "a revoked export is not downloaded", method: "GET", path: link.URL + "/out/table.csv", header: asSci, status: 409, code: "failed_precondition",
				contain: []string{"revoked"}},
		})

		// Rejection and cancellation delete the files; two approvers when asked.
		steps(t, e, "settings", []scenario{
			{name: "a reviewer cannot change the rules", method: "PUT", path: base + "/settings", header: asRev, body: `{"approvals_required":2,"import_review":true}`, status: 403, code: "permission_denied"},
			{name: "approvals are 1 or 2", method: "PUT", path: base + "/settings", body: `{"approvals_required":3,"import_review":true}`, status: 400, code: "invalid_argument", field: "approvals_required"},
			{name: "ask for a second approver", method: "PUT", path: base + "/settings", body: `{"approvals_required":2,"import_review":true}`, status: 200,
				events: []string{"airlock.settings.update"}},
		})
		two := e.newExport(base, asSci, "two")
		e.drain()
		steps(t, e, "two", []scenario{
			{name: "the first approval is not enough", method: "POST", path: base + "/exports/" + two + "/approve", header: asRev, status: 200,
				contain: []string{`"state":"in_review"`}, events: []string{"airlock.request.review"}},
			{name: "the second reviewer rejects", method: "POST", path: base + "/exports/" + two + "/reject", header: asRev2, body: `{"comment":"small cells"}`, status: 200,
				contain: []string{`"state":"rejection_in_progress"`}, events: []string{"airlock.request.rejection_in_progress"}},
		})
		e.drain()
		if got = e.request(base+"/exports/"+two, asSci); got.State != airlock.Rejected {
			t.Fatalf("rejected: %s", got.State)
		}
		three := e.newExport(base, asSci, "three")
		e.drain()
		steps(t, e, "cancel", []scenario{
			{name: "a reviewer cannot cancel", method: "POST", path: base + "/exports/" + three + "/cancel", header: asRev, status: 403, code: "permission_denied"},
			{name: "the requester cancels in review", method: "POST", path: base + "/exports/" + three + "/cancel", header: asSci, status: 200,
				contain: []string{`"state":"cancelled"`}, events: []string{"dataset.version.delete", "airlock.request.cancelled"}},
		})
		var draft airlock.Request
		e.mustJSON(e.do("POST", base+"/imports", `{"title":"d","justification":"j","classification":"internal","target":"d"}`, asOwner), 201, &draft)
		steps(t, e, "cancel-draft", []scenario{
			{name: "a draft with nothing cannot be submitted", method: "POST", path: base + "/imports/" + draft.ID + "/submit", header: asOwner, status: 409, code: "failed_precondition"},
			{name: "cancel a draft", method: "POST", path: base + "/imports/" + draft.ID + "/cancel", header: asOwner, status: 200,
				events: []string{"dataset.version.delete", "airlock.request.cancelled"}},
			{name: "a cancelled request stays cancelled", method: "POST", path: base + "/imports/" + draft.ID + "/submit", header: asOwner, status: 409, code: "failed_precondition"},
			{name: "another project's request is not found", method: "GET", path: "/api/v1/zones/eu/projects/other/airlock/imports/" + draft.ID, status: 404, code: "not_found"},
		})
		// Where the project lets clean imports through, no reviewer is asked.
		e.must(e.do("PUT", base+"/settings", `{"approvals_required":1,"import_review":false}`, nil), 200)
		var direct airlock.Request
		e.mustJSON(e.do("POST", base+"/imports", `{"title":"feed","justification":"nightly","classification":"internal","target":"feed"}`, asOwner), 201, &direct)
		e.must(e.do("PUT", base+"/imports/"+direct.ID+"/files/day.csv", "a,b\n1,2\n", asOwner), 201)
		e.must(e.do("POST", base+"/imports/"+direct.ID+"/submit", "", asOwner), 200)
		e.drain()
		got = e.request(base+"/imports/"+direct.ID, asOwner)
		if got.State != airlock.Approved || len(got.Reviews) != 0 || got.Result == nil || got.Result.Dataset != "feed" {
			t.Fatalf("an import needing no review: %s %+v", got.State, got.Result)
		}
		if h := got.History; len(h) < 3 || h[2].Action != "scanned-no-review" {
			t.Fatalf("history: %+v", h)
		}

		// Reviewers see the requester's earlier exports.
		four := e.newExport(base, asSci, "four")
		e.drain()
		got = e.request(base+"/exports/"+four, asRev)
		if len(got.Previous) < 3 {
			t.Fatalf("the reviewer sees %d previous exports, want the requester's 3 earlier ones", len(got.Previous))
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM objects WHERE state <> 'stored'`); n != 0 {
			t.Fatalf("%d objects left behind", n)
		}
	})
}

// newExport opens and submits an export of the results dataset.
func (e *env) newExport(base string, as map[string]string, title string) string {
	e.t.Helper()
	var r airlock.Request
	e.mustJSON(e.do("POST", base+"/exports", `{"title":"`+title+`","justification":"j"}`, as), 201, &r)
	e.must(e.do("POST", base+"/exports/"+r.ID+"/files", `{"dataset":"results","version":1,"paths":["out/summary.txt"]}`, as), 201)
	e.must(e.do("POST", base+"/exports/"+r.ID+"/submit", "", as), 200)
	return r.ID
}

func countRows(t *testing.T, db *sqlstore.DB, q string) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAirlockScannerOutage: with clamd down a submitted request waits — the
// scan is never skipped — and one alert is recorded; when clamd is back,
// the retried scan moves it on and records the recovery.
func TestAirlockScannerOutage(t *testing.T) {
	clamd := clamdtest.Start(t)
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnvConfig(t, db, func(c *config.Config) { c.Airlock.Clamd = clamd.Addr })
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1"}`, nil), 201)
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		e.grantRole("olga", "data-owner", "/zones/eu/projects/onc")
		const base = "/api/v1/zones/eu/projects/onc/airlock/imports"
		var r airlock.Request
		e.mustJSON(e.do("POST", base, `{"title":"t","justification":"j","classification":"internal","target":"t"}`, bearer(owner)), 201, &r)
		e.must(e.do("PUT", base+"/"+r.ID+"/files/a.txt", "hello", bearer(owner)), 201)
		e.must(e.do("POST", base+"/"+r.ID+"/submit", "", bearer(owner)), 200)
		clamd.Stop()
		for range 3 { // three attempts, one alert
			e.drain()
			e.clock.Add(time.Minute)
		}
		got := e.request(base+"/"+r.ID, bearer(owner))
		if got.State != airlock.Submitted || got.Checks == nil || got.Checks.WaitingSince == nil {
			t.Fatalf("with the scanner down: %s %+v", got.State, got.Checks)
		}
		sealAudit(t, db)
		if n := countRows(t, db, `SELECT COUNT(*) FROM audit_events WHERE action = 'airlock.scanner.unavailable'`); n != 1 {
			t.Fatalf("%d scanner alerts, want 1", n)
		}
		clamd.Restart()
		e.clock.Add(time.Minute)
		e.drain()
		if got = e.request(base+"/"+r.ID, bearer(owner)); got.State != airlock.InReview || got.Checks.WaitingSince != nil {
			t.Fatalf("after the scanner came back: %s %+v", got.State, got.Checks)
		}
		sealAudit(t, db)
		if n := countRows(t, db, `SELECT COUNT(*) FROM audit_events WHERE action = 'airlock.scanner.recovered'`); n != 1 {
			t.Fatalf("%d recoveries recorded, want 1", n)
		}
	})
}

// TestAirlockNotifications: every transition reaches the webhook through
// the outbox, and email goes to whoever acts next — the reviewers when a
// request is ready for review, the requester when it is decided.
func TestAirlockNotifications(t *testing.T) {
	clamd := clamdtest.Start(t)
	var mu sync.Mutex
	var hooks []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notify.Notification
		json.NewDecoder(r.Body).Decode(&n)
		mu.Lock()
		hooks = append(hooks, n.Event)
		mu.Unlock()
	}))
	defer hook.Close()
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		mu.Lock()
		hooks = nil
		mu.Unlock()
		e := newEnvConfig(t, db, func(c *config.Config) {
			c.Airlock.Clamd = clamd.Addr
			c.Notifications.WebhookURL = hook.URL
			c.Notifications.SMTP.Addr = "127.0.0.1:1" // queued only: delivery is the notify package's, tested there
		})
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1"}`, nil), 201)
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		rev, _ := e.enrolledUser("rita", "reviewer of all things")
		e.must(e.do("PATCH", "/api/v1/users/olga", `{"email":"olga@example.org"}`, nil), 200)
		e.must(e.do("PATCH", "/api/v1/users/rita", `{"email":"rita@example.org"}`, nil), 200)
		e.grantRole("olga", "data-owner", "/zones/eu/projects/onc")
		e.grantRole("rita", "airlock-reviewer", "/zones/eu/projects/onc")
		const base = "/api/v1/zones/eu/projects/onc/airlock/imports"
		var r airlock.Request
		e.mustJSON(e.do("POST", base, `{"title":"t","justification":"j","classification":"internal","target":"t"}`, bearer(owner)), 201, &r)
		e.must(e.do("PUT", base+"/"+r.ID+"/files/a.txt", "hello", bearer(owner)), 201)
		e.must(e.do("POST", base+"/"+r.ID+"/submit", "", bearer(owner)), 200)
		e.drain()
		e.must(e.do("POST", base+"/"+r.ID+"/approve", "", bearer(rev)), 200)
		e.drain()
		store := &sqlstore.OutboxStore{DB: db}
		d := &outbox.Dispatcher{Store: store, Clock: e.clock.Now, Owner: "test", Receivers: e.svc.Receivers}
		if _, err := d.DispatchOnce(context.Background(), notify.TopicWebhook); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := strings.Join(hooks, ",")
		mu.Unlock()
		want := "airlock.request.submitted,airlock.request.in_review,airlock.request.approval_in_progress,airlock.request.approved"
		if got != want {
			t.Fatalf("webhook events %s, want %s", got, want)
		}
		msgs, err := store.PendingMessages(context.Background(), notify.TopicEmail, 100)
		if err != nil {
			t.Fatal(err)
		}
		var mails []string
		for _, m := range msgs {
			var n notify.Notification
			json.Unmarshal(m.Payload, &n)
			mails = append(mails, n.Event+"→"+strings.Join(n.Recipients, "+"))
		}
		if g, w := strings.Join(mails, ","), "airlock.request.in_review→rita@example.org,airlock.request.approved→olga@example.org"; g != w {
			t.Fatalf("emails %s, want %s", g, w)
		}
	})
}

// patientsParquet is a small Parquet table with NHS numbers and
// quasi-identifiers.
func patientsParquet(t *testing.T) string {
	t.Helper()
	type row struct {
		NHS       string `parquet:"nhs_number"`
		Zip       string `parquet:"zip"`
		Age       int64  `parquet:"age"`
		Sex       string `parquet:"sex"`
		Diagnosis string `parquet:"diagnosis"`
	}
	var b bytes.Buffer
	if err := parquet.Write(&b, []row{{"943 476 5919", "02139", 34, "F", "asthma"}, {"401 023 2137", "02139", 34, "F", "flu"},
		{"434 765 9219", "02140", 71, "M", "asthma"}}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
