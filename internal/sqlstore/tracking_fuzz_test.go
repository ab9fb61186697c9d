package sqlstore_test

import (
	"context"
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
)

// FuzzSearchSQL: every filter and ordering the parser accepts compiles to
// SQL the database runs (no syntax error, no type error), and a search in
// project p1 never returns a run of p2, whatever the filter says.
func FuzzSearchSQL(f *testing.F) {
	for _, s := range []struct{ filter, order string }{
		{"metrics.acc > 0.8 and params.model LIKE 'C%'", "metrics.acc DESC"},
		{"tags.team = 'Vision' and attributes.run_name = 'alpha'", "tags.team"},
		{"attributes.run_id IN ('r1', 'r2') and attributes.status != 'RUNNING'", "attributes.start_time"},
		{"datasets.name = 'ds1' and datasets.context ILIKE 'train%'", "params.lr ASC"},
		{"params.a = 'x'' OR ''1''=''1'", "attributes.end_time DESC"},
		{"tags.`a'--` = 'b' and tags.c IS NULL", "tags.`a'--`"},
		{"params.p LIKE '%\\_%' and params.q ILIKE '[a]*?'", "metrics.`x y`"},
		{"metrics.m != -1e308 and attributes.created >= 0", "attributes.run_id"},
	} {
		f.Add(s.filter, s.order)
	}
	db := storetest.Open(f, storetest.Backends()[0].URL(f))
	ctx := context.Background()
	st := &sqlstore.TrackingStore{DB: db}
	rs := &sqlstore.RegistryStore{DB: db}
	fuzzFixture(f, db, st)
	f.Fuzz(func(t *testing.T, filter, order string) {
		for _, e := range []search.Entity{search.Runs, search.Experiments, search.ModelVersions, search.RegisteredModels, search.LoggedModels} {
			flt, err := search.Parse(e, filter)
			if err != nil {
				continue
			}
			ob, err := search.ParseOrderBy(e, []string{order})
			if err != nil {
				ob = nil
			}
			switch e {
			case search.Runs:
				ids, err := st.SearchRuns(ctx, tracking.RunSearch{ProjectID: "p1", ExperimentIDs: []string{"e1", "e2"}, Filter: flt,
					ViewType: tracking.AllViews, OrderBy: ob, Max: 100})
				check(t, e, filter, order, err)
				for _, id := range ids {
					if id == "r-other" {
						t.Fatalf("filter %q returned another project's run", filter)
					}
				}
			case search.Experiments:
				_, err = st.SearchExperiments(ctx, tracking.ExperimentSearch{ProjectID: "p1", Filter: flt, ViewType: tracking.AllViews, OrderBy: ob, Max: 100})
				check(t, e, filter, order, err)
			case search.LoggedModels:
				_, err = st.SearchLoggedModels(ctx, tracking.LoggedModelSearch{ProjectID: "p1", ExperimentIDs: []string{"e1"}, Filter: flt, OrderBy: ob, Max: 100})
				check(t, e, filter, order, err)
			case search.RegisteredModels:
				_, err = rs.SearchModels(ctx, registry.ModelSearch{ProjectID: "p1", Filter: flt, OrderBy: ob, Max: 100})
				check(t, e, filter, order, err)
			case search.ModelVersions:
				_, err = rs.SearchVersions(ctx, registry.VersionSearch{ProjectID: "p1", Filter: flt, OrderBy: ob, Max: 100})
				check(t, e, filter, order, err)
			}
		}
	})
}

func check(t *testing.T, e search.Entity, filter, order string, err error) {
	t.Helper()
	if err != nil && !enclave.IsCode(err, enclave.CodeInvalidArgument) {
		t.Fatalf("%v search %q order %q: %v", e, filter, order, err)
	}
}

// fuzzFixture is two experiments of p1 with runs carrying metrics,
// params, tags and a dataset input, and one run of p2.
func fuzzFixture(f *testing.F, db *sqlstore.DB, st *sqlstore.TrackingStore) {
	ctx := context.Background()
	trackingProjects(f, db)
	for _, e := range []struct{ id, project string }{{"e1", "p1"}, {"e2", "p1"}, {"e3", "p2"}} {
		if err := st.CreateExperiment(ctx, &tracking.Experiment{ID: e.id, ProjectID: e.project, Name: e.id, ArtifactLocation: "x",
			LifecycleStage: tracking.Active, CreatedBy: "a"}); err != nil {
			f.Fatal(err)
		}
	}
	for _, r := range []struct{ id, exp, project string }{{"r1", "e1", "p1"}, {"r2", "e2", "p1"}, {"r-other", "e3", "p2"}} {
		if err := st.CreateRun(ctx, &tracking.RunInfo{ID: r.id, ExperimentID: r.exp, ProjectID: r.project, Name: r.id, UserID: "a",
			PrincipalID: "u", Status: tracking.Running, ArtifactURI: "x", LifecycleStage: tracking.Active},
			[]tracking.KeyVal{{Key: "team", Value: "Vision"}, {Key: "a'--", Value: "b"}}); err != nil {
			f.Fatal(err)
		}
		if err := st.LogBatch(ctx, r.id, tracking.Batch{Metrics: []tracking.Metric{{Key: "acc", Value: 0.9, Timestamp: 1}, {Key: "x y", Value: 1, Timestamp: 1}},
			Params: []tracking.KeyVal{{Key: "a", Value: "x"}, {Key: "p", Value: "a_b%c"}}}); err != nil {
			f.Fatal(err)
		}
		if err := st.LogInputs(ctx, r.exp, r.id, []tracking.DatasetInput{{Dataset: tracking.Dataset{Name: "ds1", Digest: "d1", SourceType: "local", Source: "{}"},
			Tags: []tracking.KeyVal{{Key: "mlflow.data.context", Value: "training"}}}}, nil); err != nil {
			f.Fatal(err)
		}
	}
}
