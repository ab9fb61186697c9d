package sqlstore_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
	"github.com/enclave-ml/enclave/internal/zone"
)

// trackingProjects creates a zone with two projects, p1 and p2.
func trackingProjects(t testing.TB, db *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	zs := &sqlstore.ZoneStore{DB: db}
	if err := zs.CreateZone(ctx, &zone.Zone{ID: "z1", Name: "eu", DisplayName: "EU", Region: "eu", State: zone.Active,
		CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p1", "p2"} {
		if err := zs.CreateProject(ctx, &zone.Project{ID: id, ZoneID: "z1", Zone: "eu", Name: "proj-" + id, Owner: "ana",
			MaxClassification: enclave.Restricted, State: zone.Active, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
}

func newExperiment(t *testing.T, s *sqlstore.TrackingStore, id, project, name string, created int64, tags ...tracking.KeyVal) *tracking.Experiment {
	t.Helper()
	e := &tracking.Experiment{ID: id, ProjectID: project, Name: name, ArtifactLocation: "enclave:/" + id, LifecycleStage: tracking.Active,
		CreationTime: created, LastUpdateTime: created, CreatedBy: "ana", Tags: tags}
	if err := s.CreateExperiment(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func newRun(t *testing.T, s *sqlstore.TrackingStore, id, exp, project, name string, start int64, tags ...tracking.KeyVal) *tracking.RunInfo {
	t.Helper()
	r := &tracking.RunInfo{ID: id, ExperimentID: exp, ProjectID: project, Name: name, UserID: "ana", PrincipalID: "u1",
		Status: tracking.Running, StartTime: start, ArtifactURI: "enclave:/" + id, LifecycleStage: tracking.Active}
	if err := s.CreateRun(context.Background(), r, tags); err != nil {
		t.Fatal(err)
	}
	return r
}

func kv(k, v string) tracking.KeyVal { return tracking.KeyVal{Key: k, Value: v} }

func metric(k string, v float64, ts, step int64) tracking.Metric {
	return tracking.Metric{Key: k, Value: v, Timestamp: ts, Step: step}
}

func experimentIDs(es []*tracking.Experiment) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestConformanceTrackingExperiments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		e1 := newExperiment(t, s, "e1", "p1", "churn", 100, kv("team", "risk"), kv("a", "1"))
		newExperiment(t, s, "e2", "p1", "fraud", 200)
		newExperiment(t, s, "e3", "p1", "Fraud_v2", 300, kv("team", "Risk"))
		newExperiment(t, s, "e4", "p2", "churn", 150) // same name, other project

		dup := *e1
		dup.ID = "e9"
		err := s.CreateExperiment(ctx, &dup)
		mustCode(t, err, enclave.CodeConflict)
		if !strings.Contains(enclave.ErrorMessage(err), "Experiment(name=churn) already exists") {
			t.Errorf("conflict message: %q", enclave.ErrorMessage(err))
		}

		got, err := s.GetExperiment(ctx, "e1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "churn" || got.Zone != "eu" || got.Project != "proj-p1" || got.CreationTime != 100 ||
			!slices.Equal(got.Tags, []tracking.KeyVal{kv("a", "1"), kv("team", "risk")}) || got.Runs == nil {
			t.Errorf("get: %+v", got)
		}
		_, err = s.GetExperiment(ctx, "nope")
		mustCode(t, err, enclave.CodeNotFound)
		if enclave.ErrorMessage(err) != "Experiment with id=nope not found" {
			t.Errorf("message: %q", enclave.ErrorMessage(err))
		}
		if got, err := s.GetExperimentByName(ctx, "p2", "churn"); err != nil || got.ID != "e4" {
			t.Fatalf("by name: %+v %v", got, err)
		}
		_, err = s.GetExperimentByName(ctx, "p2", "fraud")
		mustCode(t, err, enclave.CodeNotFound)

		if err := s.SetExperimentTag(ctx, "e1", kv("team", "growth")); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.SetExperimentTag(ctx, "nope", kv("k", "v")), enclave.CodeNotFound)
		if err := s.DeleteExperimentTag(ctx, "e1", "a"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteExperimentTag(ctx, "e1", "a"), enclave.CodeNotFound)
		got, _ = s.GetExperiment(ctx, "e1")
		if !slices.Equal(got.Tags, []tracking.KeyVal{kv("team", "growth")}) {
			t.Errorf("tags: %v", got.Tags)
		}

		got.Name, got.LastUpdateTime = "fraud", 500
		mustCode(t, s.UpdateExperiment(ctx, got), enclave.CodeConflict)
		got.Name = "churn-renamed"
		if err := s.UpdateExperiment(ctx, got); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.UpdateExperiment(ctx, &tracking.Experiment{ID: "nope", Name: "x"}), enclave.CodeNotFound)

		srch := func(q tracking.ExperimentSearch) []string {
			t.Helper()
			q.ProjectID = "p1"
			es, err := s.SearchExperiments(ctx, q)
			if err != nil {
				t.Fatalf("search %+v: %v", q, err)
			}
			return experimentIDs(es)
		}
		want := func(got []string, want ...string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		}
		want(srch(tracking.ExperimentSearch{}), "e3", "e2", "e1") // newest first
		want(srch(tracking.ExperimentSearch{Filter: search.Filter{{Type: search.Attribute, Key: "name", Op: "LIKE", Value: "fraud%"}}}), "e2")
		want(srch(tracking.ExperimentSearch{Filter: search.Filter{{Type: search.Attribute, Key: "name", Op: "ILIKE", Value: "fraud%"}}}), "e3", "e2")
		want(srch(tracking.ExperimentSearch{Filter: search.Filter{{Type: search.Attribute, Key: "name", Op: "LIKE", Value: "Fraud\\_%"}}}), "e3")
		want(srch(tracking.ExperimentSearch{Filter: search.Filter{{Type: search.Tag, Key: "team", Op: "=", Value: "Risk"}}}), "e3")
		want(srch(tracking.ExperimentSearch{Filter: search.Filter{{Type: search.Tag, Key: "team", Op: "IS NULL"}}}), "e2")
		want(srch(tracking.ExperimentSearch{Filter: search.Filter{{Type: search.Attribute, Key: "creation_time", Op: ">=", Value: 200.0}}}), "e3", "e2")
		want(srch(tracking.ExperimentSearch{Filter: search.Filter{{Type: search.Attribute, Key: "experiment_id", Op: "IN", Value: []string{"e1", "e4"}}}}), "e1")
		want(srch(tracking.ExperimentSearch{OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "name", Asc: true}}}), "e3", "e1", "e2")
		want(srch(tracking.ExperimentSearch{Max: 2, Offset: 1}), "e2", "e1")

		got.LifecycleStage = tracking.Deleted
		if err := s.UpdateExperiment(ctx, got); err != nil {
			t.Fatal(err)
		}
		want(srch(tracking.ExperimentSearch{}), "e3", "e2")
		want(srch(tracking.ExperimentSearch{ViewType: tracking.DeletedOnly}), "e1")
		want(srch(tracking.ExperimentSearch{ViewType: tracking.AllViews}), "e3", "e2", "e1")
		_, err = s.SearchExperiments(ctx, tracking.ExperimentSearch{ProjectID: "p1",
			Filter: search.Filter{{Type: search.Attribute, Key: "nope", Op: "=", Value: "x"}}})
		mustCode(t, err, enclave.CodeInvalidArgument)
	})
}

func TestConformanceTrackingRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		newExperiment(t, s, "e1", "p1", "exp", 1)
		r := newRun(t, s, "r1", "e1", "p1", "first", 1000, kv("mlflow.user", "ana"))
		newRun(t, s, "r2", "e1", "p1", "second", 2000)
		_, err := s.GetRunInfo(ctx, "nope")
		mustCode(t, err, enclave.CodeNotFound)
		if enclave.ErrorMessage(err) != "Run with id=nope not found" {
			t.Errorf("message %q", enclave.ErrorMessage(err))
		}
		bad := *r
		bad.ID, bad.ExperimentID = "r9", "nope"
		mustCode(t, s.CreateRun(ctx, &bad, nil), enclave.CodeNotFound)

		end := int64(3000)
		r.Status, r.EndTime, r.Name = tracking.Finished, &end, "renamed"
		if err := s.UpdateRunInfo(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRunInfo(ctx, "r1")
		if err != nil || got.Status != tracking.Finished || got.EndTime == nil || *got.EndTime != 3000 || got.Name != "renamed" ||
			got.PrincipalID != "u1" || got.ProjectID != "p1" {
			t.Fatalf("updated run: %+v %v", got, err)
		}
		mustCode(t, s.UpdateRunInfo(ctx, &tracking.RunInfo{ID: "nope"}), enclave.CodeNotFound)

		runs, err := s.GetRuns(ctx, []string{"r2", "nope", "r1", "r2"})
		if err != nil || len(runs) != 2 || runs[0].Info.ID != "r2" || runs[1].Info.ID != "r1" {
			t.Fatalf("get runs: %v %v", runs, err)
		}
		if runs[1].Tags[0] != kv("mlflow.user", "ana") || runs[0].Metrics == nil || runs[0].Params == nil || runs[0].Inputs == nil {
			t.Errorf("runs: %+v %+v", runs[0], runs[1])
		}
		if err := s.DeleteRunTag(ctx, "r1", "mlflow.user"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteRunTag(ctx, "r1", "mlflow.user"), enclave.CodeNotFound)
	})
}

func history(t *testing.T, s *sqlstore.TrackingStore, run, key string, limit int) []tracking.Metric {
	t.Helper()
	var all []tracking.Metric
	step, ts := int64(math.MinInt64), int64(math.MinInt64)
	for {
		page, err := s.MetricHistory(context.Background(), run, key, step, ts, limit)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		step, ts = page[len(page)-1].Step, page[len(page)-1].Timestamp
	}
}

func latestOf(t *testing.T, s *sqlstore.TrackingStore, run, key string) tracking.Metric {
	t.Helper()
	runs, err := s.GetRuns(context.Background(), []string{run})
	if err != nil || len(runs) != 1 {
		t.Fatalf("get run: %v", err)
	}
	for _, m := range runs[0].Metrics {
		if m.Key == key {
			return m
		}
	}
	t.Fatalf("no latest %s in %+v", key, runs[0].Metrics)
	return tracking.Metric{}
}

func TestConformanceTrackingLogBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		newExperiment(t, s, "e1", "p1", "exp", 1)
		newRun(t, s, "r1", "e1", "p1", "run", 1)

		b := tracking.Batch{
			Metrics: []tracking.Metric{metric("loss", 1, 10, 0), metric("loss", 0.5, 20, 1), metric("loss", 0.5, 20, 1),
				metric("big", math.MaxFloat64, 1, 0), metric("neg", -math.MaxFloat64, 1, 0), metric("tiny", 1e-300, 1, 0),
				metric("inf", math.Inf(1), 1, 0), {Key: "nan", Value: math.NaN(), IsNaN: true, Timestamp: 1, Step: 0}},
			Params: []tracking.KeyVal{kv("lr", "0.1"), kv("opt", "adam")},
			Tags:   []tracking.KeyVal{kv("t", "1"), kv("t", "2")},
		}
		for range 2 { // a retried batch changes nothing
			if err := s.LogBatch(ctx, "r1", b); err != nil {
				t.Fatal(err)
			}
		}
		if h := history(t, s, "r1", "loss", 100); len(h) != 2 || h[0].Value != 1 || h[1].Value != 0.5 || h[1].RunID != "r1" {
			t.Fatalf("history after retry: %+v", h)
		}
		runs, _ := s.GetRuns(ctx, []string{"r1"})
		r := runs[0]
		if !slices.Equal(r.Params, []tracking.KeyVal{kv("lr", "0.1"), kv("opt", "adam")}) || !slices.Equal(r.Tags, []tracking.KeyVal{kv("t", "2")}) {
			t.Errorf("params %v tags %v", r.Params, r.Tags)
		}
		vals := map[string]tracking.Metric{}
		var keys []string
		for _, m := range r.Metrics {
			vals[m.Key] = m
			keys = append(keys, m.Key)
		}
		if !slices.IsSorted(keys) || len(keys) != 6 {
			t.Errorf("metric keys %v", keys)
		}
		if vals["big"].Value != math.MaxFloat64 || vals["neg"].Value != -math.MaxFloat64 || vals["tiny"].Value != 1e-300 ||
			vals["inf"].Value != tracking.PosInf || !math.IsNaN(vals["nan"].Value) || !vals["nan"].IsNaN || vals["loss"].Value != 0.5 {
			t.Errorf("values: %+v", vals)
		}
		if h := history(t, s, "r1", "nan", 10); len(h) != 1 || !math.IsNaN(h[0].Value) || !h[0].IsNaN {
			t.Errorf("NaN history: %+v", h)
		}

		// A changed param refuses the whole batch.
		err := s.LogBatch(ctx, "r1", tracking.Batch{Params: []tracking.KeyVal{kv("new", "x"), kv("lr", "0.2")},
			Tags: []tracking.KeyVal{kv("after", "x")}, Metrics: []tracking.Metric{metric("loss", 9, 99, 99)}})
		mustCode(t, err, enclave.CodeInvalidArgument)
		if enclave.ErrorField(err) != "params" || enclave.ErrorMessage(err) != "Changing param values is not allowed. Param with key='lr' "+
			"was already logged with value='0.1' for run ID='r1'. Attempted logging new value '0.2'." {
			t.Errorf("param error: %v", err)
		}
		runs, _ = s.GetRuns(ctx, []string{"r1"})
		if len(runs[0].Params) != 2 || len(runs[0].Tags) != 1 || latestOf(t, s, "r1", "loss").Value != 0.5 {
			t.Errorf("refused batch left traces: %+v", runs[0])
		}
		mustCode(t, s.LogBatch(ctx, "nope", tracking.Batch{Metrics: []tracking.Metric{metric("m", 1, 1, 1)}}), enclave.CodeNotFound)
		mustCode(t, s.LogBatch(ctx, "nope", tracking.Batch{Params: []tracking.KeyVal{kv("a", "b")}}), enclave.CodeNotFound)
		mustCode(t, s.LogBatch(ctx, "nope", tracking.Batch{Tags: []tracking.KeyVal{kv("a", "b")}}), enclave.CodeNotFound)

		// The latest value is the greatest (step, timestamp, value).
		steps := []struct {
			m    tracking.Metric
			want float64
		}{
			{metric("acc", 1, 100, 5), 1},
			{metric("acc", 100, 200, 3), 1},   // lower step, logged later: ignored
			{metric("acc", 2, 100, 5), 2},     // same step and time, greater value
			{metric("acc", 0.5, 101, 5), 0.5}, // same step, later
			{metric("acc", 7, 50, 6), 7},      // greater step, earlier time
		}
		for _, st := range steps {
			if err := s.LogBatch(ctx, "r1", tracking.Batch{Metrics: []tracking.Metric{st.m}}); err != nil {
				t.Fatal(err)
			}
			if got := latestOf(t, s, "r1", "acc"); got.Value != st.want {
				t.Fatalf("after %+v latest = %+v, want %v", st.m, got, st.want)
			}
		}
		// Within one batch too, and a NaN at a greater step wins.
		if err := s.LogBatch(ctx, "r1", tracking.Batch{Metrics: []tracking.Metric{metric("acc", 3, 1, 9),
			{Key: "acc", Value: math.NaN(), IsNaN: true, Timestamp: 1, Step: 10}, metric("acc", 4, 1, 8)}}); err != nil {
			t.Fatal(err)
		}
		if got := latestOf(t, s, "r1", "acc"); !got.IsNaN || got.Step != 10 {
			t.Errorf("latest after NaN: %+v", got)
		}

		// History pages follow (step, timestamp), and never split values
		// sharing both.
		var hb tracking.Batch
		for i := range 23 {
			hb.Metrics = append(hb.Metrics, metric("h", float64(i), int64(1000+i%3), int64(i/3)))
		}
		hb.Metrics = append(hb.Metrics, metric("h", -1, 1001, 3), metric("h", -2, 1001, 3))
		if err := s.LogBatch(ctx, "r1", hb); err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{1, 2, 3, 10, 25, 100} {
			h := history(t, s, "r1", "h", limit)
			if len(h) != 25 {
				t.Fatalf("limit %d: %d values", limit, len(h))
			}
			for i := 1; i < len(h); i++ {
				a, b := h[i-1], h[i]
				if a.Step > b.Step || (a.Step == b.Step && (a.Timestamp > b.Timestamp || (a.Timestamp == b.Timestamp && a.Value > b.Value))) {
					t.Fatalf("limit %d: out of order at %d: %+v %+v", limit, i, a, b)
				}
			}
		}
		page, err := s.MetricHistory(ctx, "r1", "h", 3, 1000, 1)
		if err != nil || len(page) != 3 || page[0].Value != -2 || page[1].Value != -1 || page[2].Value != 10 {
			t.Errorf("page after (3, 1000): %+v %v", page, err)
		}
	})
}

func TestConformanceTrackingInputsOutputs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		newExperiment(t, s, "e1", "p1", "exp", 1)
		newRun(t, s, "r1", "e1", "p1", "a", 1)
		newRun(t, s, "r2", "e1", "p1", "b", 2)
		ds := tracking.Dataset{Name: "iris", Digest: "d1", SourceType: "http", Source: `{"url":"x"}`, Schema: "{}", Profile: "{}",
			VersionRef: &tracking.DatasetVersionRef{VersionID: "dv1"}}
		in := []tracking.DatasetInput{
			{Dataset: ds, Tags: []tracking.KeyVal{kv("mlflow.data.context", "training"), kv("b", "2")}},
			{Dataset: ds, Tags: []tracking.KeyVal{kv("mlflow.data.context", "ignored duplicate")}},
			{Dataset: tracking.Dataset{Name: "iris", Digest: "d2", SourceType: "local", Source: "s"}, Tags: []tracking.KeyVal{}},
		}
		for range 2 {
			if err := s.LogInputs(ctx, "e1", "r1", in, []string{"m1", "m1"}); err != nil {
				t.Fatal(err)
			}
		}
		// The second run reuses the experiment's dataset.
		if err := s.LogInputs(ctx, "e1", "r2", in[:1], nil); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.SQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM tracking_datasets").Scan(&n); err != nil || n != 2 {
			t.Errorf("datasets: %d %v", n, err)
		}
		mustCode(t, s.LogInputs(ctx, "e1", "nope", in, nil), enclave.CodeNotFound)
		if err := s.LogOutputs(ctx, "r1", []tracking.ModelOutput{{ModelID: "m2", Step: 1}, {ModelID: "m2", Step: 3}, {ModelID: "m3"}}); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.LogOutputs(ctx, "nope", []tracking.ModelOutput{{ModelID: "m2"}}), enclave.CodeNotFound)
		runs, err := s.GetRuns(ctx, []string{"r1", "r2"})
		if err != nil {
			t.Fatal(err)
		}
		r := runs[0]
		if len(r.Inputs) != 2 || r.Inputs[0].Dataset.Digest != "d1" || r.Inputs[0].Dataset.VersionRef == nil ||
			r.Inputs[0].Dataset.VersionRef.VersionID != "dv1" || r.Inputs[1].Dataset.VersionRef != nil ||
			!slices.Equal(r.Inputs[0].Tags, []tracking.KeyVal{kv("b", "2"), kv("mlflow.data.context", "training")}) ||
			len(r.Inputs[1].Tags) != 0 || r.Inputs[0].Dataset.Source != `{"url":"x"}` {
			t.Errorf("inputs: %+v", r.Inputs)
		}
		if !slices.Equal(r.ModelInputs, []string{"m1"}) ||
			!slices.Equal(r.Outputs, []tracking.ModelOutput{{ModelID: "m2", Step: 3}, {ModelID: "m3"}}) {
			t.Errorf("models: %v %v", r.ModelInputs, r.Outputs)
		}
		if len(runs[1].Inputs) != 1 || len(runs[1].Outputs) != 0 {
			t.Errorf("second run: %+v", runs[1])
		}
	})
}

// searchFixture is three active runs, a deleted one, and a run of another
// project in the same store.
func searchFixture(t *testing.T, s *sqlstore.TrackingStore) {
	ctx := context.Background()
	newExperiment(t, s, "e1", "p1", "exp", 1)
	newExperiment(t, s, "e2", "p2", "other", 1)
	newRun(t, s, "r1", "e1", "p1", "alpha", 100)
	newRun(t, s, "r2", "e1", "p1", "Beta", 200)
	newRun(t, s, "r3", "e1", "p1", "gamma_1", 300)
	newRun(t, s, "r4", "e1", "p1", "deleted", 400)
	newRun(t, s, "rx", "e2", "p2", "alpha", 500)
	end := int64(250)
	if err := s.UpdateRunInfo(ctx, &tracking.RunInfo{ID: "r1", Name: "alpha", Status: tracking.Finished, EndTime: &end,
		LifecycleStage: tracking.Active}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRunInfo(ctx, &tracking.RunInfo{ID: "r4", Name: "deleted", Status: tracking.Running,
		LifecycleStage: tracking.Deleted}); err != nil {
		t.Fatal(err)
	}
	batches := map[string]tracking.Batch{
		"r1": {Metrics: []tracking.Metric{metric("acc", 0.9, 1, 1), metric("loss", 0.5, 1, 1)},
			Params: []tracking.KeyVal{kv("lr", "0.1"), kv("model", "CNN"), kv("pat", "a*b[c]?")}, Tags: []tracking.KeyVal{kv("team", "Vision")}},
		"r2": {Metrics: []tracking.Metric{metric("acc", 0.7, 1, 1), {Key: "loss", Value: math.NaN(), IsNaN: true, Timestamp: 1, Step: 1}},
			Params: []tracking.KeyVal{kv("lr", "0.01"), kv("model", "cnn"), kv("pat", "aXbc?")}, Tags: []tracking.KeyVal{kv("team", "vision")}},
		"r3": {Metrics: []tracking.Metric{metric("loss", 0.3, 1, 1)}, Params: []tracking.KeyVal{kv("model", "rnn%")}},
		"r4": {Metrics: []tracking.Metric{metric("acc", 0.95, 1, 1)}},
		"rx": {Metrics: []tracking.Metric{metric("acc", 0.99, 1, 1)}, Params: []tracking.KeyVal{kv("model", "cnn")}},
	}
	for id, b := range batches {
		if err := s.LogBatch(ctx, id, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.LogInputs(ctx, "e1", "r1", []tracking.DatasetInput{{Dataset: tracking.Dataset{Name: "ds1", Digest: "d1"},
		Tags: []tracking.KeyVal{kv("mlflow.data.context", "training")}}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.LogInputs(ctx, "e1", "r2", []tracking.DatasetInput{{Dataset: tracking.Dataset{Name: "ds2", Digest: "d2"},
		Tags: []tracking.KeyVal{kv("mlflow.data.context", "eval")}}}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestConformanceTrackingSearchRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		searchFixture(t, s)
		c := func(typ search.KeyType, key, op string, v any) search.Comparison {
			return search.Comparison{Type: typ, Key: key, Op: op, Value: v}
		}
		run := func(q tracking.RunSearch) ([]string, error) {
			if q.ProjectID == "" {
				q.ProjectID = "p1"
			}
			if q.ExperimentIDs == nil {
				q.ExperimentIDs = []string{"e1", "e2"}
			}
			return s.SearchRuns(ctx, q)
		}
		cases := []struct {
			name string
			q    tracking.RunSearch
			want []string
		}{
			{"default order", tracking.RunSearch{}, []string{"r3", "r2", "r1"}},
			{"metric >", tracking.RunSearch{Filter: search.Filter{c(search.Metric, "acc", ">", 0.8)}}, []string{"r1"}},
			{"metric all views", tracking.RunSearch{ViewType: tracking.AllViews, Filter: search.Filter{c(search.Metric, "acc", ">", 0.8)}}, []string{"r4", "r1"}},
			{"deleted only", tracking.RunSearch{ViewType: tracking.DeletedOnly}, []string{"r4"}},
			{"NaN matches !=", tracking.RunSearch{Filter: search.Filter{c(search.Metric, "loss", "!=", 0.5)}}, []string{"r3", "r2"}},
			{"NaN never matches <", tracking.RunSearch{Filter: search.Filter{c(search.Metric, "loss", ">", -1.0)}}, []string{"r3", "r1"}},
			{"metric =", tracking.RunSearch{Filter: search.Filter{c(search.Metric, "loss", "=", 0.0)}}, nil},
			{"two metrics", tracking.RunSearch{Filter: search.Filter{c(search.Metric, "acc", ">=", 0.7), c(search.Metric, "loss", "<=", 0.5)}}, []string{"r1"}},
			{"LIKE is case-sensitive", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "LIKE", "cnn")}}, []string{"r2"}},
			{"ILIKE is not", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "ILIKE", "cnn")}}, []string{"r2", "r1"}},
			{"LIKE prefix", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "LIKE", "c%")}}, []string{"r2"}},
			{"LIKE _", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "LIKE", "_nn%")}}, []string{"r3", "r2"}},
			{"LIKE escaped %", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "LIKE", `rnn\%`)}}, []string{"r3"}},
			{"LIKE escaped % misses", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "LIKE", `rn\%`)}}, nil},
			{"LIKE glob chars literal", tracking.RunSearch{Filter: search.Filter{c(search.Param, "pat", "LIKE", "a*b[c]?")}}, []string{"r1"}},
			{"LIKE glob star literal", tracking.RunSearch{Filter: search.Filter{c(search.Param, "pat", "LIKE", "a*b%")}}, []string{"r1"}},
			{"ILIKE glob chars", tracking.RunSearch{Filter: search.Filter{c(search.Param, "pat", "ILIKE", "A*B[C]_")}}, []string{"r1"}},
			{"param =", tracking.RunSearch{Filter: search.Filter{c(search.Param, "lr", "=", "0.1")}}, []string{"r1"}},
			{"param != needs the key", tracking.RunSearch{Filter: search.Filter{c(search.Param, "lr", "!=", "0.1")}}, []string{"r2"}},
			{"tag =", tracking.RunSearch{Filter: search.Filter{c(search.Tag, "team", "=", "vision")}}, []string{"r2"}},
			{"tag IS NULL", tracking.RunSearch{Filter: search.Filter{c(search.Tag, "team", "IS NULL", nil)}}, []string{"r3"}},
			{"tag IS NOT NULL", tracking.RunSearch{Filter: search.Filter{c(search.Tag, "team", "IS NOT NULL", nil)}}, []string{"r2", "r1"}},
			{"param IS NULL", tracking.RunSearch{Filter: search.Filter{c(search.Param, "lr", "IS NULL", nil)}}, []string{"r3"}},
			{"name IN", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "run_name", "IN", []string{"alpha", "gamma_1"})}}, []string{"r3", "r1"}},
			{"name NOT IN", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "run_name", "NOT IN", []string{"alpha"})}}, []string{"r3", "r2"}},
			{"name ILIKE", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "run_name", "ILIKE", "b%")}}, []string{"r2"}},
			{"run_id =", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "run_id", "=", "r2")}}, []string{"r2"}},
			{"run_id of other project", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "run_id", "IN", []string{"rx", "r1"})}}, []string{"r1"}},
			{"status", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "status", "=", tracking.Finished)}}, []string{"r1"}},
			{"start_time", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "start_time", ">=", 200.0)}}, []string{"r3", "r2"}},
			{"start_time fraction", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "start_time", "<", 200.5)}}, []string{"r2", "r1"}},
			{"end_time skips open runs", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "end_time", "<", 300.0)}}, []string{"r1"}},
			{"dataset name", tracking.RunSearch{Filter: search.Filter{c(search.Dataset, "name", "=", "ds1")}}, []string{"r1"}},
			{"dataset digest IN", tracking.RunSearch{Filter: search.Filter{c(search.Dataset, "digest", "IN", []string{"d2", "zz"})}}, []string{"r2"}},
			{"dataset context", tracking.RunSearch{Filter: search.Filter{c(search.Dataset, "context", "=", "training")}}, []string{"r1"}},
			{"dataset context ILIKE", tracking.RunSearch{Filter: search.Filter{c(search.Dataset, "context", "ILIKE", "EV%")}}, []string{"r2"}},
			{"dataset context LIKE case", tracking.RunSearch{Filter: search.Filter{c(search.Dataset, "context", "LIKE", "EV%")}}, nil},
			{"injection in a value", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "=", "x' OR '1'='1")}}, nil},
			{"injection in LIKE", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "LIKE", "%' OR '1'='1")}}, nil},
			{"injection in a key", tracking.RunSearch{Filter: search.Filter{c(search.Tag, "team' OR '1'='1", "IS NOT NULL", nil)}}, nil},
			{"injection in an order key", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Metric, Key: "acc; DROP TABLE tracking_runs; --"}}},
				[]string{"r3", "r2", "r1"}},
			{"order metric desc", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Metric, Key: "acc"}}}, []string{"r1", "r2", "r3"}},
			{"order metric asc", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Metric, Key: "acc", Asc: true}}}, []string{"r2", "r1", "r3"}},
			{"order NaN last asc", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Metric, Key: "loss", Asc: true}}}, []string{"r3", "r1", "r2"}},
			{"order NaN last desc", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Metric, Key: "loss"}}}, []string{"r1", "r3", "r2"}},
			{"order param", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Param, Key: "lr", Asc: true}}}, []string{"r2", "r1", "r3"}},
			{"order tag desc", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Tag, Key: "team"}}}, []string{"r2", "r1", "r3"}},
			{"order end_time", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "end_time", Asc: true}}}, []string{"r1", "r3", "r2"}},
			{"order start_time asc", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "start_time", Asc: true}}}, []string{"r1", "r2", "r3"}},
			{"order two keys", tracking.RunSearch{OrderBy: []search.OrderBy{{Type: search.Tag, Key: "team", Asc: true}, {Type: search.Metric, Key: "loss"}}},
				[]string{"r1", "r2", "r3"}},
			{"filter and order", tracking.RunSearch{Filter: search.Filter{c(search.Param, "model", "ILIKE", "%n%")},
				OrderBy: []search.OrderBy{{Type: search.Metric, Key: "acc", Asc: true}}}, []string{"r2", "r1", "r3"}},
			{"page 1", tracking.RunSearch{Max: 2}, []string{"r3", "r2"}},
			{"page 2", tracking.RunSearch{Max: 2, Offset: 2}, []string{"r1"}},
			{"page 3", tracking.RunSearch{Max: 2, Offset: 4}, nil},
			{"other project", tracking.RunSearch{ProjectID: "p2"}, []string{"rx"}},
			{"no experiments", tracking.RunSearch{ExperimentIDs: []string{}}, nil},
			{"IN empty list", tracking.RunSearch{Filter: search.Filter{c(search.Attribute, "run_id", "IN", []string{})}}, nil},
		}
		for _, tc := range cases {
			got, err := run(tc.q)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
		bad := []tracking.RunSearch{
			{Filter: search.Filter{c(search.Attribute, "nope", "=", "x")}},
			{Filter: search.Filter{c(search.Attribute, "status; DROP TABLE x", "=", "x")}},
			{Filter: search.Filter{c(search.Metric, "acc", "LIKE", "x")}},
			{Filter: search.Filter{c(search.Metric, "acc", ">", "not a number")}},
			{Filter: search.Filter{c(search.Param, "lr", "RLIKE", "x")}},
			{Filter: search.Filter{c(search.Param, "lr", ">", "x")}},
			{Filter: search.Filter{c(search.Dataset, "source", "=", "x")}},
			{Filter: search.Filter{{Type: "bogus", Key: "x", Op: "=", Value: "x"}}},
			{OrderBy: []search.OrderBy{{Type: search.Metric, Key: "acc"}, {Type: search.Metric, Key: "acc", Asc: true}}},
			{OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "nope"}}},
			{OrderBy: []search.OrderBy{{Type: search.Dataset, Key: "name"}}},
			{ViewType: "SOME"},
		}
		for _, q := range bad {
			_, err := run(q)
			mustCode(t, err, enclave.CodeInvalidArgument)
		}
		// The tables survived the attempts above.
		if got, err := run(tracking.RunSearch{}); err != nil || len(got) != 3 {
			t.Fatalf("after bad searches: %v %v", got, err)
		}
	})
}

func TestConformanceTrackingLoggedModels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		newExperiment(t, s, "e1", "p1", "exp", 1)
		newExperiment(t, s, "e2", "p2", "exp", 1)
		newRun(t, s, "r1", "e1", "p1", "run", 1)
		newRun(t, s, "rx", "e2", "p2", "run", 1)
		mk := func(id, exp, project, name string, created int64, params ...tracking.KeyVal) {
			t.Helper()
			if err := s.CreateLoggedModel(ctx, &tracking.LoggedModel{ID: id, ExperimentID: exp, ProjectID: project, Name: name,
				ArtifactLocation: "enclave:/" + id, CreationTime: created, LastUpdatedTime: created, Status: tracking.ModelPending,
				LifecycleStage: tracking.Active, SourceRunID: "r1", ModelType: "sklearn", CreatedBy: "ana", Params: params,
				Tags: []tracking.KeyVal{kv("flavor", name)}}); err != nil {
				t.Fatal(err)
			}
		}
		mk("m1", "e1", "p1", "forest", 10, kv("depth", "3"))
		mk("m2", "e1", "p1", "Boost", 20, kv("depth", "5"))
		mk("m3", "e1", "p1", "linear", 30)
		mk("mx", "e2", "p2", "forest", 40)
		if err := s.LogBatch(ctx, "r1", tracking.Batch{Metrics: []tracking.Metric{
			{Key: "acc", Value: 0.5, Timestamp: 1, Step: 0, ModelID: "m1"},
			{Key: "acc", Value: 0.8, Timestamp: 2, Step: 1, ModelID: "m1"},
			{Key: "acc", Value: 0.9, Timestamp: 2, Step: 1, ModelID: "m1", DatasetName: "test", DatasetDigest: "d"},
			{Key: "acc", Value: 0.6, Timestamp: 5, Step: 0, ModelID: "m2"},
			{Key: "acc", Value: 0.99, Timestamp: 1, Step: 0},
		}}); err != nil {
			t.Fatal(err)
		}
		if err := s.LogBatch(ctx, "rx", tracking.Batch{Metrics: []tracking.Metric{{Key: "acc", Value: 1, Timestamp: 1, ModelID: "mx"}}}); err != nil {
			t.Fatal(err)
		}
		m, err := s.GetLoggedModel(ctx, "m1")
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Metrics) != 2 || m.Metrics[0].Value != 0.8 || m.Metrics[0].DatasetName != "" || m.Metrics[1].Value != 0.9 ||
			m.Metrics[1].DatasetName != "test" || m.Metrics[0].RunID != "r1" || !slices.Equal(m.Params, []tracking.KeyVal{kv("depth", "3")}) ||
			!slices.Equal(m.Tags, []tracking.KeyVal{kv("flavor", "forest")}) {
			t.Errorf("model: %+v", m)
		}
		_, err = s.GetLoggedModel(ctx, "nope")
		mustCode(t, err, enclave.CodeNotFound)

		if err := s.LogLoggedModelParams(ctx, "m1", []tracking.KeyVal{kv("depth", "3"), kv("n", "100")}); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.LogLoggedModelParams(ctx, "m1", []tracking.KeyVal{kv("depth", "4")}), enclave.CodeInvalidArgument)
		mustCode(t, s.LogLoggedModelParams(ctx, "nope", []tracking.KeyVal{kv("depth", "4")}), enclave.CodeNotFound)
		if err := s.SetLoggedModelTags(ctx, "m1", []tracking.KeyVal{kv("flavor", "rf"), kv("x", "1")}); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.SetLoggedModelTags(ctx, "nope", []tracking.KeyVal{kv("x", "1")}), enclave.CodeNotFound)
		if err := s.DeleteLoggedModelTag(ctx, "m1", "x"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteLoggedModelTag(ctx, "m1", "x"), enclave.CodeNotFound)
		m.Status, m.StatusMessage, m.LastUpdatedTime = tracking.ModelReady, "ok", 99
		if err := s.UpdateLoggedModel(ctx, m); err != nil {
			t.Fatal(err)
		}
		m, _ = s.GetLoggedModel(ctx, "m1")
		if m.Status != tracking.ModelReady || m.LastUpdatedTime != 99 || len(m.Params) != 2 || m.Tags[0] != kv("flavor", "rf") {
			t.Errorf("updated: %+v", m)
		}
		mustCode(t, s.UpdateLoggedModel(ctx, &tracking.LoggedModel{ID: "nope"}), enclave.CodeNotFound)

		find := func(q tracking.LoggedModelSearch) []string {
			t.Helper()
			q.ProjectID = "p1"
			q.ExperimentIDs = []string{"e1", "e2"}
			ms, err := s.SearchLoggedModels(ctx, q)
			if err != nil {
				t.Fatalf("search %+v: %v", q, err)
			}
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
			return ids
		}
		c := func(typ search.KeyType, key, op string, v any) search.Filter {
			return search.Filter{{Type: typ, Key: key, Op: op, Value: v}}
		}
		for _, tc := range []struct {
			q    tracking.LoggedModelSearch
			want []string
		}{
			{tracking.LoggedModelSearch{}, []string{"m3", "m2", "m1"}},
			{tracking.LoggedModelSearch{Filter: c(search.Metric, "acc", ">", 0.85)}, []string{"m1"}},
			{tracking.LoggedModelSearch{Filter: c(search.Metric, "acc", ">", 0.55)}, []string{"m2", "m1"}},
			{tracking.LoggedModelSearch{Filter: c(search.Param, "depth", "=", "5")}, []string{"m2"}},
			{tracking.LoggedModelSearch{Filter: c(search.Tag, "flavor", "LIKE", "B%")}, []string{"m2"}},
			{tracking.LoggedModelSearch{Filter: c(search.Attribute, "name", "ILIKE", "%o%")}, []string{"m2", "m1"}},
			{tracking.LoggedModelSearch{Filter: c(search.Attribute, "creation_timestamp", "<", 25.0)}, []string{"m2", "m1"}},
			{tracking.LoggedModelSearch{Filter: c(search.Attribute, "status", "=", tracking.ModelReady)}, []string{"m1"}},
			{tracking.LoggedModelSearch{OrderBy: []search.OrderBy{{Type: search.Metric, Key: "acc"}}}, []string{"m1", "m2", "m3"}},
			{tracking.LoggedModelSearch{OrderBy: []search.OrderBy{{Type: search.Metric, Key: "acc", Asc: true}}}, []string{"m2", "m1", "m3"}},
			{tracking.LoggedModelSearch{OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "name", Asc: true}}}, []string{"m2", "m1", "m3"}},
			{tracking.LoggedModelSearch{Max: 1, Offset: 1}, []string{"m2"}},
		} {
			if got := find(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("%+v: got %v, want %v", tc.q, got, tc.want)
			}
		}
		m.LifecycleStage = tracking.Deleted
		if err := s.UpdateLoggedModel(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got := find(tracking.LoggedModelSearch{}); !slices.Equal(got, []string{"m3", "m2"}) {
			t.Errorf("after delete: %v", got)
		}
	})
}

func TestConformanceTrackingArtifacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		os := &sqlstore.ObjectStore{DB: db}
		for i := range 10 {
			if err := os.CreateObject(ctx, &objects.Object{ID: fmt.Sprint("o", i), Owner: "p1", Bucket: "b", Key: fmt.Sprint("k", i),
				State: objects.State("ready"), WrappedDEK: []byte("k"), CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		paths := []string{"a/x.txt", "ab/y.txt", "a/b/z%_.txt", "a%/w", "a_/v", "top.txt", "a.txt", "a/b/c/d.bin"}
		for i, p := range paths {
			replaced, err := s.PutArtifact(ctx, &tracking.Artifact{Root: "run1", Path: p, ObjectID: fmt.Sprint("o", i), Size: int64(i), SHA256: "h"})
			if err != nil || replaced != "" {
				t.Fatalf("put %s: %q %v", p, replaced, err)
			}
		}
		if _, err := s.PutArtifact(ctx, &tracking.Artifact{Root: "run2", Path: "a/x.txt", ObjectID: "o9"}); err != nil {
			t.Fatal(err)
		}
		list := func(root, dir string) []string {
			t.Helper()
			as, err := s.ListArtifacts(ctx, root, dir)
			if err != nil {
				t.Fatal(err)
			}
			var ps []string
			for _, a := range as {
				ps = append(ps, a.Path)
			}
			return ps
		}
		for _, tc := range []struct {
			dir  string
			want []string
		}{
			{"", []string{"a%/w", "a.txt", "a/b/c/d.bin", "a/b/z%_.txt", "a/x.txt", "a_/v", "ab/y.txt", "top.txt"}},
			{"a", []string{"a/b/c/d.bin", "a/b/z%_.txt", "a/x.txt"}},
			{"a/", []string{"a/b/c/d.bin", "a/b/z%_.txt", "a/x.txt"}},
			{"a/b", []string{"a/b/c/d.bin", "a/b/z%_.txt"}},
			{"a%", []string{"a%/w"}},
			{"a_", []string{"a_/v"}},
			{"ab", []string{"ab/y.txt"}},
			{"top.txt", nil},
			{"nope", nil},
		} {
			if got := list("run1", tc.dir); !slices.Equal(got, tc.want) {
				t.Errorf("list %q: got %v, want %v", tc.dir, got, tc.want)
			}
		}
		replaced, err := s.PutArtifact(ctx, &tracking.Artifact{Root: "run1", Path: "a/x.txt", ObjectID: "o8", Size: 99, SHA256: "h2"})
		if err != nil || replaced != "o0" {
			t.Fatalf("replace: %q %v", replaced, err)
		}
		a, err := s.GetArtifact(ctx, "run1", "a/x.txt")
		if err != nil || a.ObjectID != "o8" || a.Size != 99 || a.SHA256 != "h2" || a.Root != "run1" {
			t.Fatalf("get: %+v %v", a, err)
		}
		if a, _ := s.GetArtifact(ctx, "run2", "a/x.txt"); a.ObjectID != "o9" {
			t.Errorf("other root changed: %+v", a)
		}
		_, err = s.GetArtifact(ctx, "run1", "a")
		mustCode(t, err, enclave.CodeNotFound)
		if err := s.DeleteArtifact(ctx, "run1", "a/x.txt"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteArtifact(ctx, "run1", "a/x.txt"), enclave.CodeNotFound)
		if got := list("run1", "a"); !slices.Equal(got, []string{"a/b/c/d.bin", "a/b/z%_.txt"}) {
			t.Errorf("after delete: %v", got)
		}
	})
}

func TestConformanceRegistry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.RegistryStore{DB: db}
		mk := func(id, project, name string, at int64, tags ...tracking.KeyVal) *registry.Model {
			t.Helper()
			m := &registry.Model{ID: id, ProjectID: project, Name: name, Description: "d", CreationTime: at, LastUpdatedTime: at,
				CreatedBy: "ana", Tags: tags}
			if err := s.CreateModel(ctx, m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		m1 := mk("m1", "p1", "churn", 10, kv("team", "risk"))
		mk("m2", "p1", "fraud", 20)
		mk("m3", "p1", "prompt-1", 30, kv("mlflow.prompt.is_prompt", "true"))
		mk("mx", "p2", "churn", 40)
		dup := *m1
		dup.ID = "m9"
		err := s.CreateModel(ctx, &dup)
		mustCode(t, err, enclave.CodeConflict)

		version := func(modelID, run string, tags ...tracking.KeyVal) *registry.Version {
			t.Helper()
			v := &registry.Version{ModelID: modelID, UserID: "ana", Stage: registry.StageNone, Source: "runs:/" + run + "/model", RunID: run,
				Status: registry.VersionReady, CreationTime: 100, LastUpdatedTime: 100, Tags: tags}
			if err := s.CreateVersion(ctx, v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		for i := 1; i <= 3; i++ {
			if v := version("m1", fmt.Sprint("r", i), kv("i", fmt.Sprint(i))); v.Version != i || v.Name != "churn" {
				t.Fatalf("version %d: %+v", i, v)
			}
		}
		if v := version("mx", "r9"); v.Version != 1 {
			t.Fatalf("numbering is per model: %d", v.Version)
		}
		mustCode(t, s.CreateVersion(ctx, &registry.Version{ModelID: "nope"}), enclave.CodeNotFound)

		for v, stage := range map[int]string{1: registry.StageProduction, 2: registry.StageStaging, 3: registry.StageProduction} {
			got, err := s.GetVersion(ctx, "m1", v)
			if err != nil {
				t.Fatal(err)
			}
			got.Stage, got.LastUpdatedTime = stage, int64(200+v)
			if err := s.UpdateVersion(ctx, got); err != nil {
				t.Fatal(err)
			}
		}
		latest := func(stages ...string) string {
			t.Helper()
			vs, err := s.LatestVersions(ctx, "m1", stages)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, v := range vs {
				out = append(out, fmt.Sprintf("%s:%d", v.Stage, v.Version))
			}
			return strings.Join(out, " ")
		}
		if got := latest(); got != "Staging:2 Production:3" {
			t.Errorf("latest: %s", got)
		}
		if got := latest(registry.StageProduction); got != "Production:3" {
			t.Errorf("latest production: %s", got)
		}

		if err := s.SetAlias(ctx, "m1", "champion", 2); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAlias(ctx, "m1", "champion", 3); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAlias(ctx, "m1", "backup", 1); err != nil {
			t.Fatal(err)
		}
		err = s.SetAlias(ctx, "m1", "x", 9)
		mustCode(t, err, enclave.CodeNotFound)
		if enclave.ErrorMessage(err) != "Model Version (name=churn, version=9) not found" {
			t.Errorf("message: %q", enclave.ErrorMessage(err))
		}
		if v, err := s.GetAlias(ctx, "m1", "champion"); err != nil || v != 3 {
			t.Errorf("alias: %d %v", v, err)
		}
		_, err = s.GetAlias(ctx, "m1", "nope")
		mustCode(t, err, enclave.CodeNotFound)

		if err := s.SetVersionTag(ctx, "m1", 3, kv("ok", "yes")); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.SetVersionTag(ctx, "m1", 9, kv("ok", "yes")), enclave.CodeNotFound)
		v3, err := s.GetVersion(ctx, "m1", 3)
		if err != nil || !slices.Equal(v3.Aliases, []string{"champion"}) || !slices.Equal(v3.Tags, []tracking.KeyVal{kv("i", "3"), kv("ok", "yes")}) {
			t.Fatalf("v3: %+v %v", v3, err)
		}
		if err := s.DeleteVersionTag(ctx, "m1", 3, "ok"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteVersionTag(ctx, "m1", 3, "ok"); err != nil {
			t.Fatal(err)
		}

		m, err := s.GetModel(ctx, "p1", "churn")
		if err != nil {
			t.Fatal(err)
		}
		if m.Zone != "eu" || m.Project != "proj-p1" || !slices.Equal(m.Tags, []tracking.KeyVal{kv("team", "risk")}) ||
			!slices.Equal(m.Aliases, []registry.Alias{{Alias: "backup", Version: 1}, {Alias: "champion", Version: 3}}) ||
			len(m.Latest) != 2 || m.Latest[1].Version != 3 || !slices.Equal(m.Latest[1].Aliases, []string{"champion"}) {
			t.Errorf("model: %+v", m)
		}
		_, err = s.GetModel(ctx, "p2", "fraud")
		mustCode(t, err, enclave.CodeNotFound)
		if enclave.ErrorMessage(err) != "Registered Model with name=fraud not found" {
			t.Errorf("message: %q", enclave.ErrorMessage(err))
		}

		// A deleted version's number is never given again.
		if err := s.DeleteVersion(ctx, "m1", 3); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteVersion(ctx, "m1", 3), enclave.CodeNotFound)
		_, err = s.GetVersion(ctx, "m1", 3)
		mustCode(t, err, enclave.CodeNotFound)
		if _, err := s.GetAlias(ctx, "m1", "champion"); !enclave.IsCode(err, enclave.CodeNotFound) {
			t.Errorf("alias of a deleted version: %v", err)
		}
		if got := latest(); got != "Production:1 Staging:2" {
			t.Errorf("latest after delete: %s", got)
		}
		if v := version("m1", "r4"); v.Version != 4 {
			t.Errorf("after delete: version %d", v.Version)
		}

		if err := s.SetModelTag(ctx, "m2", kv("team", "fraud-ops")); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.SetModelTag(ctx, "nope", kv("a", "b")), enclave.CodeNotFound)
		models := func(q registry.ModelSearch) []string {
			t.Helper()
			q.ProjectID = "p1"
			ms, err := s.SearchModels(ctx, q)
			if err != nil {
				t.Fatalf("search models: %v", err)
			}
			var out []string
			for _, m := range ms {
				out = append(out, m.Name)
			}
			return out
		}
		c := func(typ search.KeyType, key, op string, v any) search.Filter {
			return search.Filter{{Type: typ, Key: key, Op: op, Value: v}}
		}
		for _, tc := range []struct {
			q    registry.ModelSearch
			want []string
		}{
			{registry.ModelSearch{}, []string{"churn", "fraud"}},
			{registry.ModelSearch{Filter: c(search.Tag, "mlflow.prompt.is_prompt", "=", "true")}, []string{"prompt-1"}},
			{registry.ModelSearch{Filter: c(search.Attribute, "name", "LIKE", "fr%")}, []string{"fraud"}},
			{registry.ModelSearch{Filter: c(search.Attribute, "name", "IN", []string{"churn", "nope"})}, []string{"churn"}},
			{registry.ModelSearch{Filter: c(search.Tag, "team", "LIKE", "%ops")}, []string{"fraud"}},
			{registry.ModelSearch{OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "creation_timestamp"}}}, []string{"fraud", "churn"}},
			{registry.ModelSearch{Max: 1, Offset: 1}, []string{"fraud"}},
		} {
			if got := models(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("models %+v: got %v, want %v", tc.q, got, tc.want)
			}
		}
		ms, _ := s.SearchModels(ctx, registry.ModelSearch{ProjectID: "p1", Filter: c(search.Attribute, "name", "=", "churn")})
		if len(ms) != 1 || len(ms[0].Latest) != 3 || len(ms[0].Aliases) != 1 {
			t.Errorf("searched model: %+v", ms)
		}

		versions := func(q registry.VersionSearch) []string {
			t.Helper()
			q.ProjectID = "p1"
			vs, err := s.SearchVersions(ctx, q)
			if err != nil {
				t.Fatalf("search versions: %v", err)
			}
			var out []string
			for _, v := range vs {
				out = append(out, fmt.Sprintf("%s/%d", v.Name, v.Version))
			}
			return out
		}
		for _, tc := range []struct {
			q    registry.VersionSearch
			want []string
		}{
			{registry.VersionSearch{Filter: c(search.Attribute, "name", "=", "churn")}, []string{"churn/2", "churn/1", "churn/4"}},
			{registry.VersionSearch{Filter: c(search.Attribute, "run_id", "IN", []string{"r1", "r4", "r9"})}, []string{"churn/1", "churn/4"}},
			{registry.VersionSearch{Filter: c(search.Attribute, "version_number", ">", 1.0),
				OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "version_number", Asc: true}}}, []string{"churn/2", "churn/4"}},
			{registry.VersionSearch{Filter: c(search.Tag, "i", "=", "2")}, []string{"churn/2"}},
			{registry.VersionSearch{Filter: c(search.Attribute, "source_path", "LIKE", "runs:/r1/%")}, []string{"churn/1"}},
		} {
			if got := versions(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("versions %+v: got %v, want %v", tc.q, got, tc.want)
			}
		}

		// Concurrent creators get distinct, consecutive numbers.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				errs <- s.CreateVersion(ctx, &registry.Version{ModelID: "m2", Stage: registry.StageNone, Status: registry.VersionReady})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := versions(registry.VersionSearch{Filter: c(search.Attribute, "name", "=", "fraud"),
			OrderBy: []search.OrderBy{{Type: search.Attribute, Key: "version_number", Asc: true}}}); len(got) != 8 || got[7] != "fraud/8" {
			t.Errorf("concurrent versions: %v", got)
		}

		m1.Name, m1.Description = "churn-v2", "new"
		if err := s.UpdateModel(ctx, m1); err != nil {
			t.Fatal(err)
		}
		m1.Name = "fraud"
		mustCode(t, s.UpdateModel(ctx, m1), enclave.CodeConflict)
		if err := s.DeleteModel(ctx, "m1"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteModel(ctx, "m1"), enclave.CodeNotFound)
		_, err = s.GetModel(ctx, "p1", "churn-v2")
		mustCode(t, err, enclave.CodeNotFound)
		_, err = s.GetVersion(ctx, "m1", 1)
		mustCode(t, err, enclave.CodeNotFound)
		if got := models(registry.ModelSearch{}); !slices.Equal(got, []string{"fraud"}) {
			t.Errorf("after delete: %v", got)
		}
	})
}

// TestConformanceTrackingSearchScale guards against a query per run: it logs
// 2,000 runs of 20 metrics, then searches with a metric filter and another
// metric's order and reads 1,000 whole runs.
func TestConformanceTrackingSearchScale(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		newExperiment(t, s, "e1", "p1", "exp", 1)
		const runs, metrics = 2000, 20
		start := time.Now()
		err := db.InTx(ctx, func(ctx context.Context) error {
			for i := range runs {
				id := fmt.Sprintf("r%05d", i)
				if err := s.CreateRun(ctx, &tracking.RunInfo{ID: id, ExperimentID: "e1", ProjectID: "p1", Name: id, Status: tracking.Running,
					StartTime: int64(i), LifecycleStage: tracking.Active}, []tracking.KeyVal{kv("mlflow.runName", id)}); err != nil {
					return err
				}
				var b tracking.Batch
				for k := range metrics {
					b.Metrics = append(b.Metrics, metric(fmt.Sprint("m", k), float64((i*7+k*13)%1000)/1000, int64(i), 0))
				}
				b.Params = []tracking.KeyVal{kv("lr", fmt.Sprint(i%10))}
				if err := s.LogBatch(ctx, id, b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("logged %d runs × %d metrics in %v", runs, metrics, time.Since(start))

		var big tracking.Batch
		for k := range 100 {
			big.Metrics = append(big.Metrics, metric(fmt.Sprint("b", k), float64(k), 1, 1))
		}
		start = time.Now()
		if err := s.LogBatch(ctx, "r00000", big); err != nil {
			t.Fatal(err)
		}
		t.Logf("LogBatch of 100 metrics: %v", time.Since(start))

		q := tracking.RunSearch{ProjectID: "p1", ExperimentIDs: []string{"e1"}, ViewType: tracking.ActiveOnly, Max: 1000,
			Filter:  search.Filter{{Type: search.Metric, Key: "m3", Op: ">", Value: 0.1}},
			OrderBy: []search.OrderBy{{Type: search.Metric, Key: "m7"}}}
		var elapsed time.Duration
		for range 3 { // the best of three, to ignore a cold cache
			start = time.Now()
			ids, err := s.SearchRuns(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			searched := time.Since(start)
			rs, err := s.GetRuns(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			if len(ids) != 1000 || len(rs) != 1000 || len(rs[0].Metrics) != metrics {
				t.Fatalf("got %d ids, %d runs", len(ids), len(rs))
			}
			for i := 1; i < len(rs); i++ {
				if latestValue(rs[i-1], "m7") < latestValue(rs[i], "m7") {
					t.Fatalf("not ordered by m7 at %d", i)
				}
			}
			t.Logf("search %v, search + get 1000 runs %v", searched, d)
			if elapsed == 0 || d < elapsed {
				elapsed = d
			}
		}
		// Against a baseline measured now, under the same load: reading
		// the runs one call each, as a store with a query per run would.
		// An absolute bound failed on a loaded CI machine.
		ids, err := s.SearchRuns(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		for _, id := range ids[:250] {
			if _, err := s.GetRuns(ctx, []string{id}); err != nil {
				t.Fatal(err)
			}
		}
		oneByOne := time.Since(start) * 4
		t.Logf("search + get 1000 runs at once %v; one run a call, extrapolated to 1000: %v", elapsed, oneByOne)
		if elapsed*2 > oneByOne {
			t.Errorf("search and read of 1000 runs took %v, not much less than reading them one by one (%v): a query per run?", elapsed, oneByOne)
		}
	})
}

func latestValue(r *tracking.Run, key string) float64 {
	for _, m := range r.Metrics {
		if m.Key == key {
			return m.Value
		}
	}
	return math.Inf(-1)
}

// TestConformanceTrackingParsedSearches runs what the search package
// parses, naming every attribute each entity accepts, through the stores:
// the two must agree on the canonical keys.
func TestConformanceTrackingParsedSearches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		trackingProjects(t, db)
		s := &sqlstore.TrackingStore{DB: db}
		rs := &sqlstore.RegistryStore{DB: db}
		searchFixture(t, s)
		parse := func(e search.Entity, filter string, order ...string) (search.Filter, []search.OrderBy) {
			t.Helper()
			f, err := search.Parse(e, filter)
			if err != nil {
				t.Fatalf("parse %q: %v", filter, err)
			}
			o, err := search.ParseOrderBy(e, order)
			if err != nil {
				t.Fatalf("parse order %q: %v", order, err)
			}
			return f, o
		}
		f, o := parse(search.Runs, `metrics.acc > 0.8 and params.model LIKE 'C%' and tags.team = 'Vision' and attributes.run_name = 'alpha'
			and attributes.run_id IN ('r1', 'r2') and attributes.status != 'RUNNING' and attributes.user_id = 'ana'
			and attributes.artifact_uri LIKE 'enclave:%' and attributes.created > 0 and attributes.end_time < 1000
			and datasets.name = 'ds1' and datasets.digest IN ('d1') and datasets.context ILIKE 'train%'`,
			"metrics.acc DESC", "params.lr", "tags.team", "attributes.run_name", "attributes.run_id", "attributes.status",
			"attributes.user_id", "attributes.artifact_uri", "attributes.start_time", "attributes.end_time")
		ids, err := s.SearchRuns(ctx, tracking.RunSearch{ProjectID: "p1", ExperimentIDs: []string{"e1"}, Filter: f, OrderBy: o})
		if err != nil || !slices.Equal(ids, []string{"r1"}) {
			t.Errorf("runs: %v %v", ids, err)
		}

		f, o = parse(search.Experiments, `name = 'exp' and experiment_id != 'x' and creation_time >= 0 and last_update_time >= 0
			and tags.a IS NULL`, "name", "experiment_id", "creation_time DESC", "last_update_time")
		es, err := s.SearchExperiments(ctx, tracking.ExperimentSearch{ProjectID: "p1", Filter: f, OrderBy: o})
		if err != nil || len(es) != 1 {
			t.Errorf("experiments: %v %v", es, err)
		}

		f, _ = parse(search.LoggedModels, `name LIKE 'x%' and model_id != 'x' and model_type = 'x' and status = 'x'
			and source_run_id = 'x' and creation_timestamp > 0 and last_updated_time > 0 and metrics.acc > 0
			and params.a = 'x' and tags.b = 'x'`)
		var order []search.OrderBy
		for _, field := range []string{"name", "model_id", "model_type", "status", "source_run_id", "creation_time", "last_updated_timestamp",
			"metrics.acc"} {
			ob, err := search.ParseLoggedModelOrderBy(field, false)
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, ob)
		}
		if _, err := s.SearchLoggedModels(ctx, tracking.LoggedModelSearch{ProjectID: "p1", ExperimentIDs: []string{"e1"}, Filter: f,
			OrderBy: order}); err != nil {
			t.Errorf("logged models: %v", err)
		}

		f, o = parse(search.RegisteredModels, `name ILIKE 'x%' and tags.a = 'b'`, "name", "creation_timestamp", "timestamp DESC")
		if _, err := rs.SearchModels(ctx, registry.ModelSearch{ProjectID: "p1", Filter: f, OrderBy: o}); err != nil {
			t.Errorf("models: %v", err)
		}
		f, o = parse(search.ModelVersions, `name IN ('a') and run_id = 'r' and source_path LIKE 'x%' and version_number > 1
			and tags.a != 'b'`, "name", "version_number DESC", "creation_timestamp", "last_updated_timestamp")
		if _, err := rs.SearchVersions(ctx, registry.VersionSearch{ProjectID: "p1", Filter: f, OrderBy: o}); err != nil {
			t.Errorf("versions: %v", err)
		}
	})
}
