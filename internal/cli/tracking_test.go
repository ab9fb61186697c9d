package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/zone"
)

const (
	runA   = "0190a0b0c0d0e0f00112233445566778"
	runB   = "0190a0b0c0d0e0f00112233445566779"
	expID  = "0190a0b0c0d0e0f0aaaabbbbccccdddd"
	modelM = "m-0190a0b0c0d0e0f0eeeeffff00001111"
)

var ms0 = t0.UnixMilli()

func churnExperiment() *tracking.Experiment {
	return &tracking.Experiment{ID: expID, Zone: "eu", Project: "onc", Name: "churn", ArtifactLocation: "mlflow-artifacts:/" + expID,
		LifecycleStage: tracking.Active, CreationTime: ms0, LastUpdateTime: ms0 + 60_000, CreatedBy: "sam",
		Tags: []tracking.KeyVal{{Key: "team", Value: "onc"}, {Key: "mlflow.note.content", Value: "x"}}, Runs: &tracking.RunCount{Active: 2, Deleted: 1}}
}

func trainedRun() *tracking.Run {
	end := ms0 + 90_000
	return &tracking.Run{
		Info: tracking.RunInfo{ID: runB, ExperimentID: expID, Name: "r2", UserID: "sam", Status: tracking.Finished, StartTime: ms0 + 30_000,
			EndTime: &end, ArtifactURI: "mlflow-artifacts:/" + expID + "/" + runB + "/artifacts", LifecycleStage: tracking.Active},
		Metrics: []tracking.Metric{{Key: "loss", Value: 0.25, Step: 9}, {Key: "auc", Value: 0.91, Step: 9}},
		Params:  []tracking.KeyVal{{Key: "lr", Value: "0.01"}, {Key: "depth", Value: "6"}},
		Tags:    []tracking.KeyVal{{Key: "mlflow.user", Value: "sam"}, {Key: "stage", Value: "dev"}},
		Inputs: []tracking.DatasetInput{
			{Dataset: tracking.Dataset{Name: "train", Digest: "abc", SourceType: "http", Source: `{"url": "http://h/api/v1/zones/eu/projects/onc/datasets/cohort/versions/1"}`,
				VersionRef: &tracking.DatasetVersionRef{VersionID: "v1", Zone: "eu", Project: "onc", Dataset: "cohort", Version: 1,
					ContentSHA256: strings.Repeat("ab", 32), Classification: "restricted"}},
				Tags: []tracking.KeyVal{{Key: "mlflow.data.context", Value: "training"}}},
			{Dataset: tracking.Dataset{Name: "holdout", Digest: "def", SourceType: "local", Source: `{"uri": "/tmp/holdout.csv"}`},
				Tags: []tracking.KeyVal{{Key: "mlflow.data.context", Value: "evaluation"}}},
		},
		Outputs: []tracking.ModelOutput{{ModelID: modelM, Step: 9}},
	}
}

func firstRun() *tracking.Run {
	return &tracking.Run{Info: tracking.RunInfo{ID: runA, ExperimentID: expID, Name: "r1", UserID: "sam", Status: tracking.Failed,
		StartTime: ms0, LifecycleStage: tracking.Active}, Metrics: []tracking.Metric{{Key: "auc", Value: 0.7}},
		Params: []tracking.KeyVal{{Key: "lr", Value: "0.1"}}}
}

func churnVersions() []*registry.Version {
	return []*registry.Version{
		{Name: "churn-model", Version: 2, CreationTime: ms0 + 120_000, UserID: "sam", Stage: registry.StageStaging, Source: "models:/" + modelM,
			RunID: runB, LoggedModelID: modelM, Status: registry.VersionReady, Aliases: []string{"champion"}},
		{Name: "churn-model", Version: 1, CreationTime: ms0 + 100_000, UserID: "sam", Stage: registry.StageNone,
			Source: "mlflow-artifacts:/" + expID + "/" + runA + "/artifacts/model", RunID: runA, Status: registry.VersionReady, Aliases: []string{}},
	}
}

func TestExperimentCommands(t *testing.T) {
	api := loggedIn(t)
	const base = "/api/v1/zones/eu/projects/onc"
	api.on("GET", base+"/experiments", 200, list([]*tracking.Experiment{churnExperiment()}, ""))
	api.on("GET", base+"/experiments/churn", 200, churnExperiment())
	out, _, err := runCLI(t, "", "experiment", "list", "--zone", "eu", "--project", "onc", "--filter", "name LIKE 'ch%'",
		"--order-by", "name", "--order-by", "creation_time DESC", "--view", "all")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "experiment_list", out)
	q, _ := url.ParseQuery(api.last().Query)
	if q.Get("filter") != "name LIKE 'ch%'" || strings.Join(q["order_by"], "|") != "name|creation_time DESC" || q.Get("view") != "all" {
		t.Errorf("query = %s", api.last().Query)
	}
	out, _, err = runCLI(t, "", "exp", "show", "churn", "--zone", "eu", "--project", "onc")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "experiment_show", out)
	if code, _, stderr := mainCLI("experiment", "list", "--zone", "eu"); code != ExitUsage || !strings.Contains(stderr, "--project") {
		t.Errorf("no --project: %d %s", code, stderr)
	}
}

func TestRunCommands(t *testing.T) {
	api := loggedIn(t)
	const base = "/api/v1/zones/eu/projects/onc"
	api.handle("GET", base+"/runs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("page_token") == "" {
			_ = json.NewEncoder(w).Encode(list([]*tracking.Run{trainedRun()}, "p2"))
			return
		}
		_ = json.NewEncoder(w).Encode(list([]*tracking.Run{firstRun()}, ""))
	})
	api.on("GET", base+"/runs/"+runB, 200, trainedRun())
	out, _, err := runCLI(t, "", "run", "list", "--zone", "eu", "--project", "onc", "--experiment", "churn", "--experiment", "baseline",
		"--filter", "metrics.auc > 0.5", "--order-by", "metrics.auc DESC", "--all")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "run_list", out)
	q, _ := url.ParseQuery(api.last().Query)
	if strings.Join(q["experiment"], "|") != "churn|baseline" || q.Get("filter") != "metrics.auc > 0.5" ||
		q.Get("order_by") != "metrics.auc DESC" || q.Get("view") != "all" || q.Get("page_token") != "p2" {
		t.Errorf("query = %s", api.last().Query)
	}
	out, _, err = runCLI(t, "", "run", "show", runB, "--zone", "eu", "--project", "onc")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "run_show", out)
	out, _, err = runCLI(t, "", "run", "show", runB, "--zone", "eu", "--project", "onc", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got tracking.Run
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Inputs[0].Dataset.VersionRef.Dataset != "cohort" {
		t.Errorf("json: %v %s", err, out)
	}
	if code, _, stderr := mainCLI("run", "list", "--zone", "eu", "--project", "onc"); code != ExitUsage || !strings.Contains(stderr, "--experiment") {
		t.Errorf("no --experiment: %d %s", code, stderr)
	}
}

func TestModelCommands(t *testing.T) {
	api := loggedIn(t)
	const base = "/api/v1/zones/eu/projects/onc"
	vs := churnVersions()
	model := &registry.Model{ID: "rm1", Zone: "eu", Project: "onc", Name: "churn-model", Description: "who leaves", CreationTime: ms0 + 100_000,
		LastUpdatedTime: ms0 + 120_000, CreatedBy: "sam", Tags: []tracking.KeyVal{{Key: "domain", Value: "retention"}},
		Aliases: []registry.Alias{{Alias: "champion", Version: 2}}, Latest: []*registry.Version{vs[1], vs[0]}}
	api.on("GET", base+"/models", 200, list([]*registry.Model{model}, ""))
	api.on("GET", base+"/models/churn-model", 200, model)
	api.on("GET", base+"/models/churn-model/versions", 200, list(vs, ""))
	run := trainedRun()
	api.on("GET", base+"/models/churn-model/versions/2/lineage", 200, &registry.Lineage{Model: "churn-model", Version: vs[0],
		LoggedModel: &tracking.LoggedModel{ID: modelM, ExperimentID: expID, Name: "clf", ArtifactLocation: "mlflow-artifacts:/" + expID + "/models/" + modelM + "/artifacts",
			Status: tracking.ModelReady, SourceRunID: runB, Metrics: []tracking.Metric{{Key: "auc", Value: 0.91}}},
		Experiment: churnExperiment(), Run: run, Datasets: run.Inputs})
	api.on("GET", base+"/models/churn-model/versions/1/lineage", 200, &registry.Lineage{Model: "churn-model", Version: vs[1],
		Experiment: churnExperiment(), Run: firstRun(), Datasets: []tracking.DatasetInput{}})

	for _, c := range []struct {
		name string
		args []string
	}{
		{"model_list", []string{"model", "list"}},
		{"model_show", []string{"model", "show", "churn-model"}},
		{"model_versions", []string{"model", "versions", "churn-model"}},
		{"model_lineage", []string{"model", "lineage", "churn-model", "--version", "2"}},
		{"model_lineage_no_data", []string{"model", "lineage", "churn-model", "--version", "1"}},
	} {
		out, _, err := runCLI(t, "", append(c.args, "--zone", "eu", "--project", "onc")...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		golden(t, c.name, out)
	}
	out, _, err := runCLI(t, "", "model", "lineage", "churn-model", "--version", "2", "--zone", "eu", "--project", "onc", "-o", "yaml")
	if err != nil || !strings.Contains(out, "content_sha256: "+strings.Repeat("ab", 32)) {
		t.Errorf("yaml lineage: %v\n%s", err, out)
	}
	if code, _, _ := mainCLI("model", "lineage", "churn-model", "--zone", "eu", "--project", "onc"); code != ExitUsage {
		t.Errorf("lineage without --version: exit %d", code)
	}
	if code, _, _ := mainCLI("model", "lineage", "churn-model", "--version", "0", "--zone", "eu", "--project", "onc"); code != ExitUsage {
		t.Errorf("lineage of version 0: exit %d", code)
	}
}

// TestTrackingCommandsLive runs the commands against the real API, as a
// workspace identity of the project, over what the services recorded.
func TestTrackingCommandsLive(t *testing.T) {
	testEnv(t)
	ls := newLiveServer(t)
	admin := enclave.SystemActor("test")
	admin.PlatformAdmin = true // to grant the role
	sys := enclave.WithActor(context.Background(), admin)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := ls.svc.Zones.CreateZone(sys, zone.ZoneCreate{Name: "eu", Region: "eu-west"})
	must(err)
	for _, p := range []string{"onc", "other"} {
		_, err = ls.svc.Zones.CreateProject(sys, "eu", zone.ProjectCreate{Name: p, Owner: "o", CostCenter: "c"})
		must(err)
	}
	_, err = ls.svc.Identity.CreateServicePrincipal(sys, identity.ServicePrincipalCreate{Name: "nb", ServiceKind: identity.ServiceWorkspace})
	must(err)
	sec, err := ls.svc.Identity.CreateClientSecret(sys, "nb", identity.ClientSecretCreate{})
	must(err)
	for _, p := range []string{"onc", "other"} {
		_, err = ls.svc.Access.Grant(sys, access.Grant{AssigneeKind: access.AssigneeService, Assignee: "nb", Role: "workspace-identity",
			Scope: access.ProjectScope("eu", p)})
		must(err)
	}

	e, err := ls.svc.Tracking.CreateExperiment(sys, "eu", "onc", "churn", nil)
	must(err)
	var runIDs []string
	for i, auc := range []float64{0.7, 0.9} {
		r, err := ls.svc.Tracking.CreateRun(sys, "eu", "onc", tracking.RunCreate{ExperimentID: e.ID, Name: []string{"r1", "r2"}[i], StartTime: ms0 + int64(i)})
		must(err)
		must(ls.svc.Tracking.LogBatch(sys, "eu", "onc", r.Info.ID, tracking.Batch{Metrics: []tracking.Metric{{Key: "auc", Value: auc, Timestamp: 1}},
			Params: []tracking.KeyVal{{Key: "lr", Value: []string{"0.1", "0.01"}[i]}}}))
		runIDs = append(runIDs, r.Info.ID)
	}
	lm, err := ls.svc.Tracking.CreateLoggedModel(sys, "eu", "onc", tracking.LoggedModelCreate{ExperimentID: e.ID, Name: "clf", SourceRunID: runIDs[1]})
	must(err)
	_, err = ls.svc.Registry.CreateModel(sys, "eu", "onc", "churn-model", "who leaves", nil)
	must(err)
	_, err = ls.svc.Registry.CreateVersion(sys, "eu", "onc", registry.VersionCreate{Name: "churn-model", Source: "runs:/" + runIDs[0] + "/model"})
	must(err)
	_, err = ls.svc.Registry.CreateVersion(sys, "eu", "onc", registry.VersionCreate{Name: "churn-model", Source: "models:/" + lm.ID})
	must(err)

	if _, _, err := runCLI(t, sec.ClientSecret+"\n", "login", "--server", ls.url, "--client-id", "nb"); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		out, _, err := runCLI(t, "", append(args, "--zone", "eu", "--project", "onc")...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	if out := cli("experiment", "list"); !strings.Contains(out, e.ID) || !strings.Contains(out, "churn") {
		t.Errorf("experiment list:\n%s", out)
	}
	if out := cli("experiment", "show", "churn"); !strings.Contains(out, "runs:      2 active, 0 deleted") {
		t.Errorf("experiment show:\n%s", out)
	}
	out := cli("run", "list", "--experiment", "churn", "--filter", "metrics.auc > 0.8", "-o", "json")
	var rs []*tracking.Run
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 || rs[0].Info.ID != runIDs[1] {
		t.Errorf("run list auc > 0.8: %v\n%s", err, out)
	}
	if out := cli("run", "list", "--experiment", e.ID, "--order-by", "metrics.auc DESC"); strings.Index(out, "r2") > strings.Index(out, "r1") {
		t.Errorf("run list by auc DESC:\n%s", out)
	}
	if out := cli("run", "show", runIDs[0]); !strings.Contains(out, "lr = 0.1") || !strings.Contains(out, "auc = 0.7") {
		t.Errorf("run show:\n%s", out)
	}
	if out := cli("model", "list"); !strings.Contains(out, "churn-model") {
		t.Errorf("model list:\n%s", out)
	}
	if out := cli("model", "versions", "churn-model"); strings.Index(out, "\n2 ") > strings.Index(out, "\n1 ") {
		t.Errorf("model versions, newest first:\n%s", out)
	}
	out = cli("model", "lineage", "churn-model", "--version", "2")
	for _, want := range []string{"model churn-model version 2", "logged model " + lm.ID + " (clf)", "run " + runIDs[1] + " (r2)",
		"experiment: churn (" + e.ID + ")", "params:     lr=0.01", "metrics:    auc=0.9", "no datasets logged"} {
		if !strings.Contains(out, want) {
			t.Errorf("lineage lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := runCLI(t, "", "run", "show", runIDs[0], "--zone", "eu", "--project", "other"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("a run of onc asked in other: %v", err)
	}
}
