package api_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/blobstore"
	"github.com/enclave-ml/enclave/internal/blobstore/blobtest"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestMultipartUploads sends a file in parts through the API: out of order,
// one part again after a "broken connection", a resume that asks what is
// missing, completion refused with a gap or the wrong hash, then the file
// read back; another person cannot see or use the upload; an abandoned
// upload leaves nothing behind.
func TestMultipartUploads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1"}`, nil), 201)
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		other, _ := e.enrolledUser("otto", "keeper of the cohort 43")
		e.grantRole("olga", "data-owner", "/zones/eu/projects/onc")
		e.grantRole("otto", "data-owner", "/zones/eu/projects/onc")
		const ds = "/api/v1/zones/eu/projects/onc/datasets"
		e.must(e.do("POST", ds, `{"name":"c","area":"raw","classification":"internal"}`, bearer(owner)), 201)
		e.must(e.do("POST", ds+"/c/versions", "", bearer(owner)), 201)
		parts := []string{strings.Repeat("a,b\n", 700), strings.Repeat("1,2\n", 500), "3,4\n"}
		whole := strings.Join(parts, "")
		var up catalog.FileUpload
		e.mustJSON(e.do("POST", ds+"/c/versions/1/uploads", `{"path":"big/table.csv"}`, bearer(owner)), 201, &up)
		e.must(e.do("POST", ds+"/c/versions/1/uploads", `{"path":"big/other.csv"}`, bearer(owner)), 201)
		u := ds + "/c/versions/1/uploads/" + up.ID
		withSum := func(tok, sum string) map[string]string {
			return map[string]string{"Authorization": "Bearer " + tok, api.ContentSHA256Header: sum}
		}
		steps(t, e, "mp", []scenario{
			{name: "start", method: "POST", path: ds + "/c/versions/1/uploads", header: bearer(owner), body: `{"path":"x.bin"}`,
				status: 201, contain: []string{`"path":"x.bin"`, `"parts":[]`}, events: []string{"dataset.upload.start"}},
			{name: "start with a traversal", method: "POST", path: ds + "/c/versions/1/uploads", header: bearer(owner), body: `{"path":"../x"}`,
				status: 400, code: "invalid_argument", field: "path"},
			{name: "part 3", method: "PUT", path: u + "/parts/3", header: bearer(owner), body: parts[2], status: 200,
				contain: []string{`"number":3`, `"sha256":"` + hexSHA([]byte(parts[2])) + `"`}, events: []string{"dataset.upload.part"}},
			{name: "part 2, cut short and sent again", method: "PUT", path: u + "/parts/2", header: bearer(owner), body: parts[1][:100],
				status: 200, events: []string{"dataset.upload.part"}},
			{name: "part 2 again", method: "PUT", path: u + "/parts/2", header: withSum(owner, hexSHA([]byte(parts[1]))), body: parts[1],
				status: 200, contain: []string{`"size":2000`}, events: []string{"dataset.upload.part"}},
			{name: "a part with the wrong hash", method: "PUT", path: u + "/parts/1", header: withSum(owner, hexSHA([]byte("x"))), body: parts[0],
				status: 400, code: "invalid_argument", field: "sha256"},
			{name: "part 0", method: "PUT", path: u + "/parts/0", header: bearer(owner), body: "x", status: 400, code: "invalid_argument", field: "part"},
			{name: "part x", method: "PUT", path: u + "/parts/x", header: bearer(owner), body: "x", status: 400, code: "invalid_argument", field: "part"},
			{name: "resume: what is there", method: "GET", path: u, header: bearer(owner), status: 200,
				contain: []string{`"size":2004`, `"number":2`, `"number":3`}},
			{name: "another person cannot see it", method: "GET", path: u, header: bearer(other), status: 404, code: "not_found"},
			{name: "nor add to it", method: "PUT", path: u + "/parts/1", header: bearer(other), body: parts[0], status: 404, code: "not_found"},
			{name: "nor complete it", method: "POST", path: u + "/complete", header: bearer(other), status: 404, code: "not_found"},
			{name: "an upload ID that is no upload", method: "GET", path: ds + "/c/versions/1/uploads/..%2F..", header: bearer(owner), status: 404, code: "not_found"},
			{name: "complete with a gap", method: "POST", path: u + "/complete", header: bearer(owner), status: 409, code: "failed_precondition",
				contain: []string{"lacks parts 1"}},
			{name: "part 1", method: "PUT", path: u + "/parts/1", header: bearer(owner), body: parts[0], status: 200, events: []string{"dataset.upload.part"}},
			{name: "complete with the wrong hash", method: "POST", path: u + "/complete", header: withSum(owner, hexSHA([]byte("x"))),
				status: 400, code: "invalid_argument", field: "sha256"},
			{name: "list my uploads", method: "GET", path: ds + "/c/versions/1/uploads", header: bearer(owner), status: 200,
				contain: []string{`"path":"big/table.csv"`, `"path":"big/other.csv"`, `"path":"x.bin"`}},
			{name: "others see none", method: "GET", path: ds + "/c/versions/1/uploads", header: bearer(other), status: 200, contain: []string{`"items":[]`}},
			{name: "complete", method: "POST", path: u + "/complete", header: withSum(owner, hexSHA([]byte(whole))), status: 201,
				contain: []string{`"path":"big/table.csv"`, `"size":4804`, `"format":"csv"`, `"rows":1200`}, events: []string{"dataset.file.write"}},
			{name: "completed uploads are gone", method: "GET", path: u, header: bearer(owner), status: 404, code: "not_found"},
			{name: "complete again", method: "POST", path: u + "/complete", header: bearer(owner), status: 404, code: "not_found"},
		})
		var list api.List[*catalog.FileUpload]
		e.mustJSON(e.do("GET", ds+"/c/versions/1/uploads", "", bearer(owner)), 200, &list)
		if len(list.Items) != 2 {
			t.Fatalf("uploads left: %+v", list.Items)
		}
		for _, l := range list.Items {
			e.must(e.do("PUT", ds+"/c/versions/1/uploads/"+l.ID+"/parts/1", "abandoned", bearer(owner)), 200)
		}
		steps(t, e, "mp-abort", []scenario{
			{name: "abort", method: "DELETE", path: ds + "/c/versions/1/uploads/" + list.Items[0].ID, header: bearer(owner), status: 204,
				events: []string{"dataset.upload.abort"}},
			{name: "abort again", method: "DELETE", path: ds + "/c/versions/1/uploads/" + list.Items[0].ID, header: bearer(owner),
				status: 404, code: "not_found"},
			{name: "abort another's", method: "DELETE", path: ds + "/c/versions/1/uploads/" + list.Items[1].ID, header: bearer(other),
				status: 404, code: "not_found"},
			{name: "abort the last", method: "DELETE", path: ds + "/c/versions/1/uploads/" + list.Items[1].ID, header: bearer(owner), status: 204,
				events: []string{"dataset.upload.abort"}},
		})
		// The file reads back whole; only its own object is left.
		e.must(e.do("POST", ds+"/c/versions/1/commit", "", bearer(owner)), 200)
		got := e.do("GET", "/api/v1/zones/eu/projects/onc/environments/dev/datasets/c/versions/1/files/big/table.csv", "", bearer(owner))
		if got.status != 200 || string(got.body) != whole {
			t.Fatalf("read back: %d, %d bytes", got.status, len(got.body))
		}
		var objs, ups, partRows int
		db.SQL.QueryRow(`SELECT COUNT(*) FROM objects`).Scan(&objs)
		db.SQL.QueryRow(`SELECT COUNT(*) FROM object_uploads`).Scan(&ups)
		db.SQL.QueryRow(`SELECT COUNT(*) FROM object_upload_parts`).Scan(&partRows)
		if objs != 1 || ups != 0 || partRows != 0 {
			t.Fatalf("left behind: %d objects, %d uploads, %d parts", objs, ups, partRows)
		}
		if files := e.objectFiles(); len(files) != 1 {
			t.Fatalf("blobs: %v", files)
		}
		e.must(e.do("POST", ds+"/c/versions/1/uploads", `{"path":"late.csv"}`, bearer(owner)), 409)
	})
}

// TestProjectQuota fills a project's storage quota through the API: whole
// files and parts are refused once it is used, and completing an upload
// does not count its parts twice.
func TestProjectQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnvConfig(t, db, func(c *config.Config) { c.Storage.Quotas = map[string]int64{"eu/tiny": 1000} })
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		for _, p := range []string{"tiny", "big"} {
			e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"`+p+`","owner":"dr-a","cost_center":"cc1"}`, nil), 201)
		}
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		e.grantRole("olga", "data-owner", "/zones/eu")
		const ds = "/api/v1/zones/eu/projects/tiny/datasets"
		e.must(e.do("POST", ds, `{"name":"c","area":"raw","classification":"internal"}`, bearer(owner)), 201)
		e.must(e.do("POST", ds+"/c/versions", "", bearer(owner)), 201)
		blob := func(n int) string {
			b := make([]byte, n)
			rand.Read(b)
			return string(b)
		}
		var up catalog.FileUpload
		e.mustJSON(e.do("POST", ds+"/c/versions/1/uploads", `{"path":"parts.bin"}`, bearer(owner)), 201, &up)
		u := ds + "/c/versions/1/uploads/" + up.ID
		steps(t, e, "quota", []scenario{
			{name: "a file within the quota", method: "PUT", path: ds + "/c/versions/1/files/a.bin", header: bearer(owner), body: blob(300),
				status: 201, events: []string{"dataset.file.write"}},
			{name: "a file beyond it", method: "PUT", path: ds + "/c/versions/1/files/b.bin", header: bearer(owner), body: blob(701),
				status: 413, code: "too_large", contain: []string{"quota"}},
			{name: "part 1", method: "PUT", path: u + "/parts/1", header: bearer(owner), body: blob(300), status: 200, events: []string{"dataset.upload.part"}},
			{name: "part 2", method: "PUT", path: u + "/parts/2", header: bearer(owner), body: blob(300), status: 200, events: []string{"dataset.upload.part"}},
			{name: "a part beyond it", method: "PUT", path: u + "/parts/3", header: bearer(owner), body: blob(101), status: 413, code: "too_large"},
			{name: "part 2 again, no larger than the quota left with it freed", method: "PUT", path: u + "/parts/2", header: bearer(owner),
				body: blob(400), status: 200, events: []string{"dataset.upload.part"}},
			{name: "complete: the parts are not counted twice", method: "POST", path: u + "/complete", header: bearer(owner),
				status: 201, contain: []string{`"size":700`}, events: []string{"dataset.file.write"}},
			{name: "the quota is used", method: "PUT", path: ds + "/c/versions/1/files/c.bin", header: bearer(owner), body: "x",
				status: 413, code: "too_large", contain: []string{"used its storage quota"}},
			{name: "replacing a file frees nothing until it is stored", method: "PUT", path: ds + "/c/versions/1/files/a.bin", header: bearer(owner),
				body: "x", status: 413, code: "too_large"},
		})
		// Another project has no quota.
		e.must(e.do("POST", "/api/v1/zones/eu/projects/big/datasets", `{"name":"c","area":"raw","classification":"internal"}`, bearer(owner)), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects/big/datasets/c/versions", "", bearer(owner)), 201)
		e.must(e.do("PUT", "/api/v1/zones/eu/projects/big/datasets/c/versions/1/files/a.bin", blob(5000), bearer(owner)), 201)
	})
}

// objectFiles lists the blobs stored under the data directory.
func (e *env) objectFiles() []string {
	var files []string
	filepath.WalkDir(filepath.Join(e.dataDir, "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// TestImmutabilityInTheDatabase runs SQL beside the platform against a
// committed version: the database's own triggers refuse every change to
// its files and manifest, and allow only the move to deleted.
func TestImmutabilityInTheDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
		e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1"}`, nil), 201)
		owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
		e.grantRole("olga", "data-owner", "/zones/eu/projects/onc")
		const ds = "/api/v1/zones/eu/projects/onc/datasets"
		e.must(e.do("POST", ds, `{"name":"c","area":"raw","classification":"internal"}`, bearer(owner)), 201)
		for v := 1; v <= 2; v++ {
			e.must(e.do("POST", ds+"/c/versions", "", bearer(owner)), 201)
			e.must(e.do("PUT", ds+"/c/versions/"+strconv.Itoa(v)+"/files/a.csv", "x,y\n1,2\n", bearer(owner)), 201)
		}
		e.must(e.do("POST", ds+"/c/versions/1/commit", "", bearer(owner)), 200)
		var committed, open string
		db.SQL.QueryRow(`SELECT id FROM dataset_versions WHERE number = 1`).Scan(&committed)
		db.SQL.QueryRow(`SELECT id FROM dataset_versions WHERE number = 2`).Scan(&open)
		q := func(s string) string { return db.Dialect.Rebind(s) }
		refused := []struct {
			name string
			sql  string
			args []any
		}{
			{"change a file's hash", `UPDATE dataset_files SET sha256 = 'forged' WHERE version_id = ?`, []any{committed}},
			{"point a file at other bytes", `UPDATE dataset_files SET object_id = (SELECT object_id FROM dataset_files WHERE version_id = ?) WHERE version_id = ?`, []any{open, committed}},
			{"delete a file", `DELETE FROM dataset_files WHERE version_id = ?`, []any{committed}},
			{"add a file", `INSERT INTO dataset_files (version_id, path, object_id, size, sha256, format, schema, created_at)
				SELECT ?, 'extra.csv', object_id, size, sha256, format, schema, created_at FROM dataset_files WHERE version_id = ?`, []any{committed, open}},
			{"change the manifest hash", `UPDATE dataset_versions SET sha256 = 'forged' WHERE id = ?`, []any{committed}},
			{"change the size", `UPDATE dataset_versions SET size = size + 1 WHERE id = ?`, []any{committed}},
			{"reopen it", `UPDATE dataset_versions SET state = 'open' WHERE id = ?`, []any{committed}},
		}
		for _, r := range refused {
			if _, err := db.SQL.Exec(q(r.sql), r.args...); err == nil || !strings.Contains(err.Error(), "immutable") {
				t.Errorf("%s: %v", r.name, err)
			}
		}
		var sum string
		db.SQL.QueryRow(q(`SELECT sha256 FROM dataset_files WHERE version_id = ?`), committed).Scan(&sum)
		if sum != hexSHA([]byte("x,y\n1,2\n")) {
			t.Fatalf("the file's hash is %s", sum)
		}
		// An open version is still being filled: it changes freely.
		if _, err := db.SQL.Exec(q(`UPDATE dataset_files SET format = 'csv' WHERE version_id = ?`), open); err != nil {
			t.Fatal(err)
		}
		// The one change allowed: committed → deleted, after which the files may go.
		if _, err := db.SQL.Exec(q(`UPDATE dataset_versions SET state = 'deleted' WHERE id = ?`), committed); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.Exec(q(`UPDATE dataset_versions SET state = 'committed' WHERE id = ?`), committed); err == nil {
			t.Fatal("a deleted version came back")
		}
		if _, err := db.SQL.Exec(q(`DELETE FROM dataset_files WHERE version_id = ?`), committed); err != nil {
			t.Fatal(err)
		}
	})
}

// TestColdTierThroughCatalog moves a committed version to the cold tier
// and back on real object stores (MinIO, Azurite), and reads it in
// between: the blobs' storage class changes, the data does not.
func TestColdTierThroughCatalog(t *testing.T) {
	for _, b := range []struct{ name, env, cold string }{
		{"s3", blobtest.EnvS3, "REDUCED_REDUNDANCY"}, {"azure", blobtest.EnvAzure, "Cold"},
	} {
		t.Run(b.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				url := blobtest.SharedURL(t, b.env)
				e := newEnvConfig(t, db, func(c *config.Config) { c.Storage.URL = url })
				e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
				e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1"}`, nil), 201)
				owner, _ := e.enrolledUser("olga", "keeper of the cohort 42")
				e.grantRole("olga", "data-owner", "/zones/eu/projects/onc")
				const ds = "/api/v1/zones/eu/projects/onc/datasets"
				e.must(e.do("POST", ds, `{"name":"c","area":"raw","classification":"internal"}`, bearer(owner)), 201)
				e.must(e.do("POST", ds+"/c/versions", "", bearer(owner)), 201)
				content := strings.Repeat("id,value\n1,2\n", 1000)
				e.must(e.do("PUT", ds+"/c/versions/1/files/a.csv", content, bearer(owner)), 201)
				e.must(e.do("POST", ds+"/c/versions/1/commit", "", bearer(owner)), 200)
				store, err := blobstore.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				defer store.Close()
				classes := func() []string {
					var out []string
					for o, err := range store.All(context.Background(), "objects/") {
						if err != nil {
							t.Fatal(err)
						}
						info, err := store.Stat(context.Background(), o.Key)
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, info.StorageClass)
					}
					return out
				}
				read := "/api/v1/zones/eu/projects/onc/environments/dev/datasets/c/versions/1/files/a.csv"
				steps(t, e, "tier-"+b.name, []scenario{
					{name: "cold", method: "POST", path: ds + "/c/versions/1/tier", header: bearer(owner), body: `{"tier":"cold"}`,
						status: 200, contain: []string{`"tier":"cold"`}, events: []string{"dataset.version.tier"}},
				})
				if got := classes(); len(got) != 1 || got[0] != b.cold {
					t.Fatalf("storage classes after the move: %v", got)
				}
				if r := e.do("GET", read, "", bearer(owner)); r.status != 200 || string(r.body) != content {
					t.Fatalf("read from the cold tier: %d", r.status)
				}
				steps(t, e, "tier-back-"+b.name, []scenario{
					{name: "hot", method: "POST", path: ds + "/c/versions/1/tier", header: bearer(owner), body: `{"tier":"hot"}`,
						status: 200, contain: []string{`"tier":"hot"`}, events: []string{"dataset.version.tier"}},
				})
				if got := classes(); len(got) != 1 || got[0] == b.cold {
					t.Fatalf("storage classes after the move back: %v", got)
				}
			})
		})
	}
}
