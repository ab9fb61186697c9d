package catalog_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/buckets"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/zone"
)

// admitter stands in for the policy engine: it notes each change, checks
// its shape, refuses the kinds in deny, and applies amend (a JSON field
// and value, as a modify policy would) before validating.
type admitter struct {
	t     *testing.T
	mu    sync.Mutex
	seen  []string
	deny  map[string]bool
	amend map[string][2]any
}

func (a *admitter) Admit(ctx context.Context, c enclave.Change) error {
	a.t.Helper()
	a.mu.Lock()
	a.seen = append(a.seen, c.Kind+" "+c.Operation)
	a.mu.Unlock()
	if c.Scope != "/zones/eu/projects/onc" {
		a.t.Errorf("%s %s: scope %q", c.Kind, c.Operation, c.Scope)
	}
	if p, ok := c.Parent.(*zone.Project); !ok || p.Name != "onc" {
		a.t.Errorf("%s %s: parent %#v", c.Kind, c.Operation, c.Parent)
	}
	if reflect.ValueOf(c.Object).Kind() != reflect.Pointer {
		a.t.Errorf("%s %s: object %T is not a pointer", c.Kind, c.Operation, c.Object)
	}
	if (c.Operation == enclave.OpCreate) != (c.Old == nil) {
		a.t.Errorf("%s %s: old %#v", c.Kind, c.Operation, c.Old)
	}
	if a.deny[c.Kind] {
		return &enclave.Error{Code: enclave.CodePolicyDenied, Message: "denied " + c.Kind}
	}
	if fv, ok := a.amend[c.Kind]; ok {
		b, _ := json.Marshal(c.Object)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m[fv[0].(string)] = fv[1]
		b, _ = json.Marshal(m)
		if err := json.Unmarshal(b, c.Object); err != nil {
			return err
		}
		if c.Validate != nil {
			if err := c.Validate(); err != nil {
				return &enclave.Error{Code: enclave.CodePolicyDenied, Message: "invalid: " + enclave.ErrorMessage(err)}
			}
		}
	}
	return nil
}

func (a *admitter) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.seen
	a.seen = nil
	return s
}

type fixture struct {
	t   *testing.T
	db  *sqlstore.DB
	dir string
	adm *admitter
	svc *catalog.Service
	ids map[string]string
	now time.Time
}

func setup(t *testing.T, db *sqlstore.DB) *fixture {
	f := &fixture{t: t, db: db, dir: t.TempDir(), adm: &admitter{t: t}, ids: map[string]string{},
		now: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	set, err := buckets.New(map[string]string{buckets.Default: "file://" + f.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	master := make([]byte, keys.MasterKeySize)
	rand.Read(master)
	ring, err := keys.NewLocalKeyring("local", master)
	if err != nil {
		t.Fatal(err)
	}
	kekStore := &sqlstore.KEKStore{DB: db}
	h, err := keys.New(keys.Options{Store: kekStore, Providers: []keys.Provider{ring}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	rec := &audit.Recorder{Store: &sqlstore.AuditStore{DB: db}, Clock: clock}
	zs := &zone.Service{Store: &sqlstore.ZoneStore{DB: db}, Tx: db, Audit: rec, Clock: clock}
	objs := &objects.Service{Store: &sqlstore.ObjectStore{DB: db}, Buckets: set, Keys: h, KEKs: kekStore, Tx: db, Clock: clock,
		DefaultKey: keys.KeyRef{Provider: "local", KeyURI: "platform"}, Uploads: &sqlstore.UploadStore{DB: db}}
	f.svc = &catalog.Service{Admission: f.adm, Store: &sqlstore.CatalogStore{DB: db}, Zones: zs, Objects: objs, Tx: db,
		Audit: rec, Clock: clock, Requests: &sqlstore.RequestStore{DB: db},
		Authorize: func(context.Context, string, string) error { return nil },
		Placement: func(_ context.Context, p *zone.Project) (objects.Placement, error) {
			return objects.Placement{Owner: p.ID, Bucket: buckets.Default}, nil
		}}
	for i, name := range []string{"ana", "bob"} {
		f.ids[name] = fmt.Sprintf("00000000-0000-7000-8000-00000000000%d", i+1)
		if _, err := db.SQL.Exec(db.Dialect.Rebind(`INSERT INTO principals (id, kind, name, display_name, platform_admin, disabled, created_at)
			VALUES (?, 'user', ?, ?, ?, ?, 1)`), f.ids[name], name, name, true, false); err != nil {
			t.Fatal(err)
		}
	}
	ctx := f.as("ana")
	if _, err := zs.CreateZone(ctx, zone.ZoneCreate{Name: "eu", Region: "eu"}); err != nil {
		t.Fatal(err)
	}
	if _, err := zs.CreateProject(ctx, "eu", zone.ProjectCreate{Name: "onc", Owner: "o", CostCenter: "c",
		MaxClassification: enclave.Restricted}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) as(name string) context.Context {
	return enclave.WithActor(context.Background(), &enclave.Actor{PrincipalID: f.ids[name], Name: name, Kind: enclave.PrincipalUser})
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) admitted(want ...string) {
	f.t.Helper()
	if got := f.adm.take(); !reflect.DeepEqual(got, want) {
		f.t.Fatalf("admitted %q, want %q", got, want)
	}
}

// blobs counts the files in the object store's directory.
func (f *fixture) blobs() int {
	n := 0
	filepath.WalkDir(f.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			n++
		}
		return nil
	})
	return n
}

func (f *fixture) objectRows() int {
	var n int
	f.must(f.db.SQL.QueryRow(`SELECT COUNT(*) FROM objects`).Scan(&n))
	return n
}

// TestEveryChangeIsAdmitted: each change the catalog makes runs through
// admission once, with its kind and operation, in the project's scope.
func TestEveryChangeIsAdmitted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		ana, bob := f.as("ana"), f.as("bob")
		_, err := f.svc.CreateDataset(ana, "eu", "onc", catalog.DatasetCreate{Name: "icd", Area: catalog.Raw, Classification: enclave.Internal})
		f.must(err)
		f.admitted("dataset create")
		desc := "codes"
		_, err = f.svc.UpdateDataset(ana, "eu", "onc", "icd", catalog.DatasetUpdate{Description: &desc})
		f.must(err)
		_, err = f.svc.Classify(ana, "eu", "onc", "icd", enclave.Restricted, "")
		f.must(err)
		_, err = f.svc.LabelColumn(ana, "eu", "onc", "icd", "id", catalog.DirectIdentifier)
		f.must(err)
		_, err = f.svc.Share(ana, "eu", "onc", "icd", true)
		f.must(err)
		f.admitted("dataset update", "dataset update", "dataset update", "dataset update")

		_, err = f.svc.CreateVersion(ana, "eu", "onc", "icd", catalog.VersionCreate{})
		f.must(err)
		_, err = f.svc.PutFile(ana, "eu", "onc", "icd", 1, "a.csv", strings.NewReader("id,x\n1,2\n"), "")
		f.must(err)
		_, err = f.svc.PutFile(ana, "eu", "onc", "icd", 1, "a.csv", strings.NewReader("id,x\n1,3\n"), "")
		f.must(err)
		f.admitted("dataset-version create", "dataset-file create", "dataset-file update")

		u, err := f.svc.StartUpload(ana, "eu", "onc", "icd", 1, "b.csv")
		f.must(err)
		_, err = f.svc.PutUploadPart(ana, "eu", "onc", "icd", 1, u.ID, 1, strings.NewReader("id\n1\n"), "")
		f.must(err)
		_, err = f.svc.CompleteUpload(ana, "eu", "onc", "icd", 1, u.ID, "")
		f.must(err)
		u, err = f.svc.StartUpload(ana, "eu", "onc", "icd", 1, "c.csv")
		f.must(err)
		f.must(f.svc.AbortUpload(ana, "eu", "onc", "icd", 1, u.ID))
		f.admitted("upload create", "upload update", "dataset-file create", "upload create", "upload delete")

		_, err = f.svc.CommitVersion(ana, "eu", "onc", "icd", 1)
		f.must(err)
		_, err = f.svc.SetVersionTier(ana, "eu", "onc", "icd", 1, objects.TierHot)
		f.must(err)
		_, err = f.svc.CopyToArea(ana, "eu", "onc", "icd", 1, catalog.AreaCopy{Area: catalog.Curated, Dataset: "icd-curated"})
		f.must(err)
		f.admitted("dataset-version update", "dataset-version update", "dataset create", "dataset-version create")

		r, err := f.svc.RequestVersionDeletion(ana, "eu", "onc", "icd", 1, "no longer needed here")
		f.must(err)
		_, err = f.svc.Decide(bob, "eu", "onc", r.ID, false, catalog.Decision{Comment: "keep it"})
		f.must(err)
		r, err = f.svc.RequestVersionDeletion(ana, "eu", "onc", "icd", 1, "no longer needed here")
		f.must(err)
		_, err = f.svc.Cancel(ana, "eu", "onc", r.ID)
		f.must(err)
		g, err := f.svc.RequestGrant(bob, "eu", "onc", "icd", 1, catalog.GrantRequest{Environment: "dev", Justification: "debug the pipeline"})
		f.must(err)
		_, err = f.svc.Decide(ana, "eu", "onc", g.ID, true, catalog.Decision{})
		f.must(err)
		f.admitted("data-request create", "data-request update", "data-request create", "data-request update",
			"data-request create", "data-request update")
		_, err = f.svc.CopyUnderGrant(bob, "eu", "onc", g.ID, "icd-debug")
		f.must(err)
		f.admitted("dataset create", "dataset-version create")

		_, err = f.svc.RotateProjectKey(ana, "eu", "onc")
		f.must(err)
		_, err = f.svc.RequestKeyDestruction(ana, "eu", "onc", "onc", "the study has ended")
		f.must(err)
		f.admitted("project-key update", "data-request create")
	})
}

// TestDeniedWritesLeaveNothing: a refused file write or upload completion
// stores no file and leaves no object behind; the upload stays as it was.
func TestDeniedWritesLeaveNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		ana := f.as("ana")
		_, err := f.svc.CreateDataset(ana, "eu", "onc", catalog.DatasetCreate{Name: "icd", Area: catalog.Raw, Classification: enclave.Internal})
		f.must(err)
		_, err = f.svc.CreateVersion(ana, "eu", "onc", "icd", catalog.VersionCreate{})
		f.must(err)
		u, err := f.svc.StartUpload(ana, "eu", "onc", "icd", 1, "b.csv")
		f.must(err)
		_, err = f.svc.PutUploadPart(ana, "eu", "onc", "icd", 1, u.ID, 1, strings.NewReader("id\n1\n"), "")
		f.must(err)
		rows, blobs := f.objectRows(), f.blobs()

		f.adm.deny = map[string]bool{catalog.KindFile: true, catalog.KindUpload: true}
		if _, err := f.svc.PutFile(ana, "eu", "onc", "icd", 1, "a.csv", strings.NewReader("id\n1\n"), ""); !enclave.IsCode(err, enclave.CodePolicyDenied) {
			t.Fatalf("put: %v", err)
		}
		if _, err := f.svc.CompleteUpload(ana, "eu", "onc", "icd", 1, u.ID, ""); !enclave.IsCode(err, enclave.CodePolicyDenied) {
			t.Fatalf("complete: %v", err)
		}
		if _, err := f.svc.PutUploadPart(ana, "eu", "onc", "icd", 1, u.ID, 2, strings.NewReader("2\n"), ""); !enclave.IsCode(err, enclave.CodePolicyDenied) {
			t.Fatalf("part: %v", err)
		}
		if r, b := f.objectRows(), f.blobs(); r != rows || b != blobs {
			t.Fatalf("after denials: %d objects and %d blobs, want %d and %d", r, b, rows, blobs)
		}
		v, err := f.svc.GetVersion(ana, "eu", "onc", "icd", 1)
		f.must(err)
		if len(v.Files) != 0 {
			t.Fatalf("files %+v", v.Files)
		}
		if got, err := f.svc.GetUpload(ana, "eu", "onc", "icd", 1, u.ID); err != nil || len(got.Parts) != 1 {
			t.Fatalf("upload after denials: %+v %v", got, err)
		}
	})
}

// TestAmendments: policies may amend what people choose, within the
// service's rules, and nothing the platform records.
func TestAmendments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		ana, bob := f.as("ana"), f.as("bob")
		f.adm.amend = map[string][2]any{catalog.KindDataset: {"tags", map[string]any{"owner": "ana"}}}
		d, err := f.svc.CreateDataset(ana, "eu", "onc", catalog.DatasetCreate{Name: "icd", Area: catalog.Raw, Classification: enclave.Confidential})
		f.must(err)
		if d, err = f.svc.GetDataset(ana, "eu", "onc", "icd"); err != nil || d.Tags["owner"] != "ana" {
			t.Fatalf("amended tags not stored: %+v %v", d, err)
		}
		f.adm.amend = map[string][2]any{catalog.KindDataset: {"classification", "public"}}
		if _, err := f.svc.UpdateDataset(ana, "eu", "onc", "icd", catalog.DatasetUpdate{}); !enclave.IsCode(err, enclave.CodePolicyDenied) {
			t.Fatalf("a policy lowered a classification: %v", err)
		}
		f.adm.amend = map[string][2]any{catalog.KindDataset: {"owner_id", f.ids["bob"]}}
		if _, err := f.svc.UpdateDataset(ana, "eu", "onc", "icd", catalog.DatasetUpdate{}); !enclave.IsCode(err, enclave.CodePolicyDenied) {
			t.Fatalf("a policy changed the data owner: %v", err)
		}
		f.adm.amend = map[string][2]any{catalog.KindDataset: {"columns", map[string]any{"name": "quasi-identifier"}}}
		labels, err := f.svc.LabelColumn(ana, "eu", "onc", "icd", "id", catalog.DirectIdentifier)
		f.must(err)
		if !reflect.DeepEqual(labels, map[string]catalog.ColumnLabel{"id": catalog.DirectIdentifier, "name": catalog.QuasiIdentifier}) {
			t.Fatalf("labels %v", labels)
		}
		f.adm.amend = nil
		_, err = f.svc.CreateVersion(ana, "eu", "onc", "icd", catalog.VersionCreate{})
		f.must(err)
		_, err = f.svc.PutFile(ana, "eu", "onc", "icd", 1, "a.csv", strings.NewReader("id\n1\n"), "")
		f.must(err)
		f.adm.amend = map[string][2]any{catalog.KindVersion: {"sha256", strings.Repeat("0", 64)}}
		if _, err := f.svc.CommitVersion(ana, "eu", "onc", "icd", 1); !enclave.IsCode(err, enclave.CodePolicyDenied) {
			t.Fatalf("a policy rewrote a manifest hash: %v", err)
		}
		f.adm.amend = nil
		_, err = f.svc.CommitVersion(ana, "eu", "onc", "icd", 1)
		f.must(err)
		_, err = f.svc.Classify(ana, "eu", "onc", "icd", enclave.Restricted, "")
		f.must(err)
		f.adm.amend = map[string][2]any{catalog.KindRequest: {"duration", "2h"}}
		g, err := f.svc.RequestGrant(bob, "eu", "onc", "icd", 1, catalog.GrantRequest{Environment: "dev", Justification: "debug the pipeline"})
		f.must(err)
		if g, err = f.svc.GetRequest(bob, "eu", "onc", g.ID); err != nil || time.Duration(g.Duration) != 2*time.Hour {
			t.Fatalf("amended duration not stored: %+v %v", g, err)
		}
		f.adm.amend = map[string][2]any{catalog.KindRequest: {"duration", "720h"}}
		if _, err := f.svc.RequestGrant(bob, "eu", "onc", "icd", 1, catalog.GrantRequest{Environment: "dev", Justification: "debug the pipeline"}); !enclave.IsCode(err, enclave.CodePolicyDenied) {
			t.Fatalf("a policy made a grant longer than allowed: %v", err)
		}
		f.adm.amend = map[string][2]any{catalog.KindRequest: {"state", "approved"}}
		if _, err := f.svc.Decide(ana, "eu", "onc", g.ID, false, catalog.Decision{}); !enclave.IsCode(err, enclave.CodePolicyDenied) {
			t.Fatalf("a policy turned a rejection into an approval: %v", err)
		}
	})
}
