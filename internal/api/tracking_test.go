package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/tracking"
)

// trackingFixture is what seedTracking made through the MLflow API.
type trackingFixture struct {
	churn, baseline string   // experiment IDs in onc
	runs            []string // runs of churn, auc 0.7, 0.8, 0.9
	otherRun        string   // a run of project other
	loggedModel     string
	cohortSHA       string // content SHA-256 of catalog dataset cohort version 1
}

// seedTracking makes two experiments, three runs with metrics and
// parameters, a dataset input naming a catalog dataset version, a logged
// model, and a registered model with a version from a run and one from the
// logged model, all as sam through the MLflow API.
func seedTracking(t *testing.T, m *mlflowEnv) trackingFixture {
	t.Helper()
	var f trackingFixture
	var exp struct {
		ID string `json:"experiment_id"`
	}
	m.mlOK("POST", "/api/2.0/mlflow/experiments/create", `{"name":"churn","tags":[{"key":"team","value":"onc"}]}`, &exp)
	f.churn = exp.ID
	m.mlOK("POST", "/api/2.0/mlflow/experiments/create", `{"name":"baseline"}`, &exp)
	f.baseline = exp.ID
	for i, auc := range []string{"0.7", "0.8", "0.9"} {
		var r struct {
			Run struct {
				Info struct {
					ID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		m.mlOK("POST", "/api/2.0/mlflow/runs/create", fmt.Sprintf(`{"experiment_id":%q,"run_name":"r%d","start_time":%d}`, f.churn, i+1, 1000*(i+1)), &r)
		id := r.Run.Info.ID
		f.runs = append(f.runs, id)
		m.mlOK("POST", "/api/2.0/mlflow/runs/log-batch", fmt.Sprintf(`{"run_id":%q,
			"metrics":[{"key":"auc","value":%s,"timestamp":5,"step":0},
			           {"key":"loss/train","value":0.9,"timestamp":1,"step":0},{"key":"loss/train","value":0.5,"timestamp":2,"step":1},
			           {"key":"loss/train","value":0.3,"timestamp":3,"step":2}],
			"params":[{"key":"lr","value":"0.%d"}],"tags":[{"key":"stage","value":"dev"}]}`, id, auc, i+1), nil)
	}
	var other struct {
		Run struct {
			Info struct {
				ID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	r := m.ml("POST", "other", "/api/2.0/mlflow/runs/create", `{"run_name":"elsewhere"}`, m.asSci)
	if r.status != 200 {
		t.Fatalf("run in other: %d %s", r.status, r.body)
	}
	r.json(t, &other)
	f.otherRun = other.Run.Info.ID

	// A catalog dataset version, named by the input of the best run.
	const ds = "/api/v1/zones/eu/projects/onc/datasets"
	owner, _ := m.enrolledUser("olga", "keeper of the cohort 42")
	m.grantRole("olga", "data-owner", "/zones/eu/projects/onc")
	asOwner := bearer(owner)
	m.must(m.do("POST", ds, `{"name":"cohort","area":"raw","classification":"restricted"}`, asOwner), 201)
	m.must(m.do("POST", ds+"/cohort/versions", "", asOwner), 201)
	m.must(m.do("PUT", ds+"/cohort/versions/1/files/t.csv", "patient,age\nA,34\nB,51\n", asOwner), 201)
	m.must(m.do("POST", ds+"/cohort/versions/1/commit", "", asOwner), 200)
	var v struct {
		SHA256 string `json:"sha256"`
	}
	m.mustJSON(m.do("GET", ds+"/cohort/versions/1", "", asOwner), 200, &v)
	if v.SHA256 == "" {
		t.Fatal("committed version has no sha256")
	}
	f.cohortSHA = v.SHA256
	m.mlOK("POST", "/api/2.0/mlflow/runs/log-inputs", `{"run_id":"`+f.runs[2]+`","datasets":[
		{"dataset":{"name":"train","digest":"abc","source_type":"http","source":"{\"url\": \"http://h/api/v1/zones/eu/projects/onc/datasets/cohort/versions/1\"}"},
		 "tags":[{"key":"mlflow.data.context","value":"training"}]},
		{"dataset":{"name":"holdout","digest":"def","source_type":"local","source":"{\"uri\": \"/tmp/holdout.csv\"}"},
		 "tags":[{"key":"mlflow.data.context","value":"evaluation"}]}]}`, nil)

	var lm struct {
		Model struct {
			Info struct {
				ID string `json:"model_id"`
			} `json:"info"`
		} `json:"model"`
	}
	m.mlOK("POST", "/api/2.0/mlflow/logged-models", `{"experiment_id":"`+f.churn+`","name":"clf","source_run_id":"`+f.runs[2]+`"}`, &lm)
	f.loggedModel = lm.Model.Info.ID

	m.mlOK("POST", "/api/2.0/mlflow/registered-models/create", `{"name":"churn-model","description":"who leaves"}`, nil)
	m.mlOK("POST", "/api/2.0/mlflow/registered-models/create", `{"name":"aaa-model"}`, nil)
	m.mlOK("POST", "/api/2.0/mlflow/model-versions/create", `{"name":"churn-model","source":"runs:/`+f.runs[0]+`/model"}`, nil)
	m.mlOK("POST", "/api/2.0/mlflow/model-versions/create", `{"name":"churn-model","source":"models:/`+f.loggedModel+`"}`, nil)
	m.mlOK("POST", "/api/2.0/mlflow/model-versions/transition-stage", `{"name":"churn-model","version":"2","stage":"Staging"}`, nil)
	m.mlOK("POST", "/api/2.0/mlflow/registered-models/alias", `{"name":"churn-model","alias":"champion","version":"2"}`, nil)
	return f
}

// TestTrackingViews reads experiments, runs, metrics, models, versions and
// lineage made through the MLflow API back through the native API, as the
// data scientist who made them, a reader and an outsider.
func TestTrackingViews(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m := newMLflowEnv(t, db)
		f := seedTracking(t, m)
		const base = "/api/v1/zones/eu/projects/onc"
		sci, reader, outsider := m.asSci, m.asReader, m.asOuts
		run(t, m.env, []scenario{
			{name: "experiments", method: "GET", path: base + "/experiments", header: sci, status: 200,
				contain: []string{`"name":"churn"`, `"name":"baseline"`, `"runs":{"active":3,"deleted":0}`, `"key":"team"`}},
			{name: "experiments by filter", method: "GET", path: base + "/experiments?filter=" + url.QueryEscape("name = 'churn'"), header: sci, status: 200,
				contain: []string{`"experiment_id":"` + f.churn + `"`}},
			{name: "a bad filter", method: "GET", path: base + "/experiments?filter=" + url.QueryEscape("name ~ 'x'"), header: sci, status: 400,
				code: "invalid_argument", field: "filter"},
			{name: "a bad view", method: "GET", path: base + "/experiments?view=gone", header: sci, status: 400, code: "invalid_argument", field: "view"},
			{name: "a forged page token", method: "GET", path: base + "/experiments?page_token=bm9wZQ", header: sci, status: 400,
				code: "invalid_argument", field: "page_token"},
			{name: "experiment by name", method: "GET", path: base + "/experiments/churn", header: sci, status: 200,
				contain: []string{`"experiment_id":"` + f.churn + `"`, `"zone":"eu"`, `"project":"onc"`}},
			{name: "experiment by ID", method: "GET", path: base + "/experiments/" + f.baseline, header: reader, status: 200,
				contain: []string{`"name":"baseline"`}},
			{name: "no such experiment", method: "GET", path: base + "/experiments/nope", header: sci, status: 404, code: "not_found"},
			{name: "runs need an experiment", method: "GET", path: base + "/runs", header: sci, status: 400, code: "invalid_argument", field: "experiment"},
			{name: "runs of a missing experiment", method: "GET", path: base + "/runs?experiment=nope", header: sci, status: 404, code: "not_found"},
			{name: "runs with a bad order", method: "GET", path: base + "/runs?experiment=churn&order_by=" + url.QueryEscape("metrics.auc SIDEWAYS"),
				header: sci, status: 400, code: "invalid_argument", field: "order_by"},
			{name: "a run", method: "GET", path: base + "/runs/" + f.runs[0], header: reader, status: 200,
				contain: []string{`"run_name":"r1"`, `"key":"lr","value":"0.1"`, `"key":"auc","value":0.7`, `"key":"mlflow.user","value":"sam"`}},
			{name: "a run of onc through other's path", method: "GET", path: "/api/v1/zones/eu/projects/other/runs/" + f.runs[0], header: sci,
				status: 404, code: "not_found"},
			{name: "a run of other through onc's path", method: "GET", path: base + "/runs/" + f.otherRun, header: sci, status: 404, code: "not_found"},
			{name: "metric history", method: "GET", path: base + "/runs/" + f.runs[0] + "/metrics/loss/train", header: sci, status: 200,
				contain: []string{`"value":0.9`, `"value":0.5`, `"value":0.3`}},
			{name: "models", method: "GET", path: base + "/models", header: reader, status: 200,
				contain: []string{`"name":"aaa-model"`, `"name":"churn-model"`, `"alias":"champion"`}},
			{name: "models by filter", method: "GET", path: base + "/models?filter=" + url.QueryEscape("name LIKE 'churn%'"), header: sci, status: 200,
				contain: []string{`"name":"churn-model"`}},
			{name: "a model", method: "GET", path: base + "/models/churn-model", header: sci, status: 200,
				contain: []string{`"description":"who leaves"`, `"current_stage":"Staging"`}},
			{name: "no such model", method: "GET", path: base + "/models/nope", header: sci, status: 404, code: "not_found"},
			{name: "versions of no model", method: "GET", path: base + "/models/nope/versions", header: sci, status: 404, code: "not_found"},
			{name: "a version", method: "GET", path: base + "/models/churn-model/versions/2", header: reader, status: 200,
				contain: []string{`"model_id":"` + f.loggedModel + `"`, `"run_id":"` + f.runs[2] + `"`, `"aliases":["champion"]`}},
			{name: "a version that is no number", method: "GET", path: base + "/models/churn-model/versions/two", header: sci, status: 400,
				code: "invalid_argument", field: "version"},
			{name: "a missing version", method: "GET", path: base + "/models/churn-model/versions/9", header: sci, status: 404, code: "not_found"},
			{name: "the outsider may not list experiments", method: "GET", path: base + "/experiments", header: outsider, status: 403, code: "permission_denied"},
			{name: "nor read a run", method: "GET", path: base + "/runs/" + f.runs[0], header: outsider, status: 403, code: "permission_denied"},
			{name: "nor list models", method: "GET", path: base + "/models", header: outsider, status: 403, code: "permission_denied"},
			{name: "nor follow lineage", method: "GET", path: base + "/models/churn-model/versions/1/lineage", header: outsider, status: 403, code: "permission_denied"},
		})

		// Runs: a filter, an order, and pages of one.
		var runs struct {
			Items []*tracking.Run `json:"items"`
			Next  string          `json:"next_page_token"`
		}
		m.mustJSON(m.do("GET", base+"/runs?experiment=churn&filter="+url.QueryEscape("metrics.auc > 0.75")+"&order_by="+url.QueryEscape("metrics.auc DESC"), "", sci), 200, &runs)
		if len(runs.Items) != 2 || runs.Items[0].Info.Name != "r3" || runs.Items[1].Info.Name != "r2" || runs.Next != "" {
			t.Fatalf("auc > 0.75 by auc DESC: %s", names(runs.Items))
		}
		var seen []string
		token := ""
		for range 5 {
			runs.Items, runs.Next = nil, ""
			m.mustJSON(m.do("GET", base+"/runs?experiment="+f.churn+"&experiment=baseline&order_by=start_time&page_size=1&page_token="+token, "", reader), 200, &runs)
			seen = append(seen, names(runs.Items))
			if token = runs.Next; token == "" {
				break
			}
		}
		if got := strings.Join(seen, ","); got != "r1,r2,r3" {
			t.Fatalf("pages of runs by start time: %s", got)
		}
		runs.Items, runs.Next = nil, ""
		m.mustJSON(m.do("GET", base+"/runs?experiment=churn&view=deleted", "", sci), 200, &runs)
		if len(runs.Items) != 0 {
			t.Fatalf("deleted runs: %s", names(runs.Items))
		}

		// Experiments page by page.
		var exps struct {
			Items []*tracking.Experiment `json:"items"`
			Next  string                 `json:"next_page_token"`
		}
		m.mustJSON(m.do("GET", base+"/experiments?order_by=name&page_size=1", "", sci), 200, &exps)
		if len(exps.Items) != 1 || exps.Items[0].Name != "baseline" || exps.Next == "" {
			t.Fatalf("first page of experiments: %+v", exps)
		}
		next := exps.Next
		exps.Items, exps.Next = nil, ""
		m.mustJSON(m.do("GET", base+"/experiments?order_by=name&page_size=1&page_token="+next, "", sci), 200, &exps)
		if len(exps.Items) != 1 || exps.Items[0].Name != "churn" || exps.Next != "" {
			t.Fatalf("second page of experiments: %+v", exps)
		}

		// Metric history, page by page.
		var hist struct {
			Items []tracking.Metric `json:"items"`
			Next  string            `json:"next_page_token"`
		}
		var steps []int64
		token = ""
		for range 5 {
			hist.Items, hist.Next = nil, ""
			m.mustJSON(m.do("GET", base+"/runs/"+f.runs[1]+"/metrics/loss/train?page_size=2&page_token="+token, "", sci), 200, &hist)
			for _, v := range hist.Items {
				steps = append(steps, v.Step)
			}
			if token = hist.Next; token == "" {
				break
			}
		}
		if fmt.Sprint(steps) != "[0 1 2]" {
			t.Fatalf("history steps: %v", steps)
		}

		// The run's inputs name the catalog version with its content hash.
		var best tracking.Run
		m.mustJSON(m.do("GET", base+"/runs/"+f.runs[2], "", reader), 200, &best)
		if len(best.Inputs) != 2 {
			t.Fatalf("inputs: %+v", best.Inputs)
		}
		for _, in := range best.Inputs {
			ref := in.Dataset.VersionRef
			switch in.Dataset.Name {
			case "train":
				if ref == nil || ref.Zone != "eu" || ref.Project != "onc" || ref.Dataset != "cohort" || ref.Version != 1 ||
					ref.ContentSHA256 != f.cohortSHA || ref.Classification != "restricted" {
					t.Fatalf("train input's catalog version: %+v", ref)
				}
			case "holdout":
				if ref != nil {
					t.Fatalf("holdout names no catalog version, got %+v", ref)
				}
			}
		}

		// Versions, newest first, and a page of one.
		var vs struct {
			Items []*registry.Version `json:"items"`
			Next  string              `json:"next_page_token"`
		}
		m.mustJSON(m.do("GET", base+"/models/churn-model/versions", "", reader), 200, &vs)
		if len(vs.Items) != 2 || vs.Items[0].Version != 2 || vs.Items[1].Version != 1 || vs.Next != "" {
			t.Fatalf("versions: %+v", vs)
		}
		m.mustJSON(m.do("GET", base+"/models/churn-model/versions?page_size=1", "", reader), 200, &vs)
		if len(vs.Items) != 1 || vs.Items[0].Version != 2 || vs.Next == "" {
			t.Fatalf("first page of versions: %+v", vs)
		}
		next = vs.Next
		vs.Items, vs.Next = nil, ""
		m.mustJSON(m.do("GET", base+"/models/churn-model/versions?page_size=1&page_token="+next, "", reader), 200, &vs)
		if len(vs.Items) != 1 || vs.Items[0].Version != 1 || vs.Next != "" {
			t.Fatalf("second page of versions: %+v", vs)
		}

		// Lineage of the version from the logged model: the model, its run,
		// the experiment and the datasets, the catalog one with its hash.
		var l registry.Lineage
		m.mustJSON(m.do("GET", base+"/models/churn-model/versions/2/lineage", "", reader), 200, &l)
		if l.Version == nil || l.Version.Stage != "Staging" || l.LoggedModel == nil || l.LoggedModel.ID != f.loggedModel ||
			l.Run == nil || l.Run.Info.ID != f.runs[2] || l.Experiment == nil || l.Experiment.Name != "churn" || len(l.Datasets) != 2 {
			t.Fatalf("lineage of version 2: %+v", l)
		}
		linked := 0
		for _, d := range l.Datasets {
			if ref := d.Dataset.VersionRef; ref != nil {
				linked++
				if ref.Dataset != "cohort" || ref.Version != 1 || ref.ContentSHA256 != f.cohortSHA {
					t.Fatalf("lineage dataset: %+v", ref)
				}
			}
		}
		if linked != 1 {
			t.Fatalf("%d catalog datasets in lineage, want 1", linked)
		}
		// The version from a run: no logged model, the run, no datasets.
		var l1 registry.Lineage
		m.mustJSON(m.do("GET", base+"/models/churn-model/versions/1/lineage", "", sci), 200, &l1)
		if l1.LoggedModel != nil || l1.Run == nil || l1.Run.Info.ID != f.runs[0] || len(l1.Datasets) != 0 {
			t.Fatalf("lineage of version 1: %+v", l1)
		}
	})
}

func names(rs []*tracking.Run) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Info.Name)
	}
	return strings.Join(out, ",")
}
