package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/storetest"
)

// The variables that tell the MLflow tests where the client is.
const (
	// mlflowPythonEnv names a python with mlflow 3 and scikit-learn
	// (scripts/mlflow.sh makes one and prints its path).
	mlflowPythonEnv = "ENCLAVE_TEST_MLFLOW_PYTHON"
	// mlflowRequireEnv, set to 1, turns a missing client from a skip into a failure.
	mlflowRequireEnv = "ENCLAVE_TEST_REQUIRE_MLFLOW"
)

// mlflowPython returns the python of the mlflow client, or skips the test
// (fails it under ENCLAVE_TEST_REQUIRE_MLFLOW=1) when there is none.
func mlflowPython(t *testing.T) string {
	t.Helper()
	py := os.Getenv(mlflowPythonEnv)
	if py == "" {
		msg := "the mlflow client is not configured: set " + mlflowPythonEnv + " to a python with mlflow 3 and scikit-learn " +
			"(scripts/mlflow.sh makes one and prints its path), or run make test, which does"
		if os.Getenv(mlflowRequireEnv) == "1" {
			t.Fatal(msg + " (" + mlflowRequireEnv + "=1)")
		}
		t.Skip(msg)
	}
	if st, err := os.Stat(py); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("%s=%s is not an executable: %v", mlflowPythonEnv, py, err)
	}
	return py
}

// mlflowRun runs testdata/mlflow/*.py with the client's python and a clean
// environment: only PATH and locale from the caller, HOME and the temporary
// and cache directories private to the test, no telemetry, no retries (a
// 5xx must fail the test, not be retried for minutes), and the server's CA
// trusted by the client and by the plain requests it sends multipart parts
// with. A script's output goes into the test log when it fails (and the end
// of the server's log when the test does).
type mlflowRun struct {
	py, dir string
	s       *server
}

func (m *mlflowRun) env(t *testing.T, extra map[string]string) []string {
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"TMPDIR=" + t.TempDir(),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"PYTHONDONTWRITEBYTECODE=1", // nothing written next to the scripts
		"PYTHONUNBUFFERED=1",
		"PYTHONNOUSERSITE=1",
		"MLFLOW_DISABLE_TELEMETRY=true",
		"DO_NOT_TRACK=true",
		"MLFLOW_HTTP_REQUEST_MAX_RETRIES=0",
		"MLFLOW_HTTP_REQUEST_TIMEOUT=60",
		"GIT_PYTHON_REFRESH=quiet",
		"MLFLOW_TRACKING_SERVER_CERT_PATH=" + m.s.caFile,
		"REQUESTS_CA_BUNDLE=" + m.s.caFile,
	}
	for _, k := range []string{"PATH", "LANG", "LC_ALL", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// run runs script with env and fails t, with the script's output, unless it
// exits 0 and prints OK last.
func (m *mlflowRun) run(t *testing.T, script string, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.py, filepath.Join(m.dir, script))
	cmd.Dir = t.TempDir()
	cmd.Env = m.env(t, env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err != nil || lines[len(lines)-1] != "OK" {
		t.Fatalf("%s: %v after %v; its output:\n%s", script, err, time.Since(start).Round(time.Millisecond), out.String())
	}
	t.Logf("%s: OK in %v", script, time.Since(start).Round(time.Millisecond))
	return out.String()
}

// logTail is the end of the server's log.
func logTail(s *server, n int) string {
	lines := strings.Split(strings.TrimSpace(s.stderr.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// mlflowUser creates a person, signs them in (password and TOTP), grants
// them roles ("role@scope"), and makes them a personal access token for
// the mlflow client.
func mlflowUser(t *testing.T, admin *cli, s *server, name string, grants ...string) (*cli, string) {
	t.Helper()
	pw := fmt.Sprintf("lantern-quartz-harbour-orchid-%d", len(name)*7919+int(name[0]))
	admin.okIn(pw+"\n", "user", "create", name, "--password-stdin", "--email", name+"@example.org")
	c := newCLI(t)
	c.password = pw
	c.run(pw+"\n", "login", "--server", s.url, "--ca-file", s.caFile, "--name", name)
	c.enrol()
	c.signIn(name)
	for _, g := range grants {
		role, scope, _ := strings.Cut(g, "@")
		admin.ok("access", "grant", "--user", name, "--role", role, "--scope", scope)
	}
	var pat struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(c.ok("token", "create", "mlflow", "--expires-in-days", "1", "-o", "json")), &pat); err != nil || pat.Token == "" {
		t.Fatalf("token create for %s: %v", name, err)
	}
	return c, pat.Token
}

// TestMLflowClientThroughBinary drives the tracking server with the real
// mlflow client and scikit-learn (testdata/mlflow/*.py), on SQLite and
// PostgreSQL: a data scientist tracks runs, logs artifacts (one in
// multipart), a dataset input naming a catalog version, and a registered
// model she then loads by alias; a reader reads and is refused every write;
// someone from another project finds nothing; HTTP Basic works like a token.
// Then the CLI shows what the client made — experiments, runs, models and
// the lineage from model version to dataset version — and the audit trail
// holds the writes, attributed to the data scientist, and the reader's
// refusals.
func TestMLflowClientThroughBinary(t *testing.T) {
	py := mlflowPython(t)
	scripts, err := filepath.Abs(filepath.Join("testdata", "mlflow"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			start := time.Now()
			args := []string{"--data-dir", filepath.Join(t.TempDir(), "data")}
			if b.Name != "sqlite" {
				args = append(args, "--database", b.URL(t))
			}
			s := startServer(t, args...)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("the server's last log lines:\n%s", logTail(s, 60))
				}
			})
			admin := newCLI(t)
			admin.login(s)
			admin.ok("zone", "create", "eu", "--region", "eu")
			admin.ok("project", "create", "onc", "--zone", "eu", "--owner", "o", "--cost-center", "c", "--max-classification", "confidential")
			admin.ok("project", "create", "lab", "--zone", "eu", "--owner", "o", "--cost-center", "c")
			const onc, lab = "/zones/eu/projects/onc", "/zones/eu/projects/lab"
			// Sam trains models and keeps the project's training data.
			sam, samToken := mlflowUser(t, admin, s, "sam", "data-scientist@"+onc, "data-owner@"+onc)
			_, ritaToken := mlflowUser(t, admin, s, "rita", "reader@"+onc)
			_, ottoToken := mlflowUser(t, admin, s, "otto", "data-scientist@"+lab)
			p := []string{"--zone", "eu", "--project", "onc"}

			// The training data, as a catalog dataset version.
			csv := filepath.Join(t.TempDir(), "train.csv")
			os.WriteFile(csv, []byte("a,b,label\n0.0,1.0,0\n1.0,0.0,1\n0.2,0.9,0\n0.9,0.1,1\n0.1,0.8,0\n0.8,0.3,1\n"), 0o600)
			sam.ok(append([]string{"data", "create", "train-data", "--area", "curated", "--classification", "internal"}, p...)...)
			sam.ok(append([]string{"data", "upload", "train-data", csv}, p...)...)
			datasetURL := s.url + "/api/v1/zones/eu/projects/onc/datasets/train-data/versions/1"
			t.Logf("set up in %v", time.Since(start).Round(time.Millisecond))

			m := &mlflowRun{py: py, dir: scripts, s: s}
			uri := s.url + "/mlflow/eu/onc"
			resultFile := filepath.Join(t.TempDir(), "compat.json")
			m.run(t, "compat.py", map[string]string{
				"MLFLOW_TRACKING_URI":   uri,
				"MLFLOW_TRACKING_TOKEN": samToken,
				"ENCLAVE_DATASET_URL":   datasetURL,
				"COMPAT_EXPERIMENT":     "churn",
				"COMPAT_MODEL":          "churn-model",
				"COMPAT_EXPECT_USER":    "sam",
				"COMPAT_RESULT_FILE":    resultFile,
			})
			var res struct {
				ExperimentID string `json:"experiment_id"`
				RunID        string `json:"run_id"`
				SecondRunID  string `json:"second_run_id"`
				BrokenRunID  string `json:"broken_run_id"`
				ModelID      string `json:"model_id"`
			}
			if raw, err := os.ReadFile(resultFile); err != nil || json.Unmarshal(raw, &res) != nil || res.RunID == "" {
				t.Fatalf("compat.py's result: %v %+v", err, res)
			}
			ids := map[string]string{
				"COMPAT_RUN_ID":        res.RunID,
				"COMPAT_EXPERIMENT_ID": res.ExperimentID,
				"COMPAT_EXPERIMENT":    "churn",
				"COMPAT_MODEL":         "churn-model",
			}
			with := func(extra map[string]string) map[string]string {
				out := map[string]string{}
				for k, v := range ids {
					out[k] = v
				}
				for k, v := range extra {
					out[k] = v
				}
				return out
			}

			// The others at once: each starts a python that takes seconds to import mlflow.
			basicResult := filepath.Join(t.TempDir(), "basic.json")
			var wg sync.WaitGroup
			for _, sc := range []struct {
				script string
				env    map[string]string
			}{
				{"reader.py", with(map[string]string{"MLFLOW_TRACKING_URI": uri, "MLFLOW_TRACKING_TOKEN": ritaToken})},
				{"outsider.py", with(map[string]string{"MLFLOW_TRACKING_URI": uri, "MLFLOW_TRACKING_TOKEN": ottoToken,
					"OUTSIDER_OWN_TRACKING_URI": s.url + "/mlflow/eu/lab"})},
				// Any user name: the password is the token.
				{"basic_auth.py", map[string]string{"MLFLOW_TRACKING_URI": uri, "MLFLOW_TRACKING_USERNAME": "mlflow",
					"MLFLOW_TRACKING_PASSWORD": samToken, "COMPAT_EXPERIMENT": "churn", "COMPAT_RESULT_FILE": basicResult}},
			} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					t.Run(strings.TrimSuffix(sc.script, ".py"), func(t *testing.T) { m.run(t, sc.script, sc.env) })
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			var basic struct {
				RunID string `json:"run_id"`
			}
			if raw, err := os.ReadFile(basicResult); err != nil || json.Unmarshal(raw, &basic) != nil || basic.RunID == "" {
				t.Fatalf("basic_auth.py's result: %v %+v", err, basic)
			}

			// What the client made, through the CLI.
			if out := sam.ok(append([]string{"experiment", "list"}, p...)...); !strings.Contains(out, "churn") {
				t.Fatalf("experiment list:\n%s", out)
			}
			if out := sam.ok(append([]string{"experiment", "list", "-o", "json"}, p...)...); !strings.Contains(out, res.ExperimentID) {
				t.Fatalf("experiment list -o json lacks %s:\n%s", res.ExperimentID, out)
			}
			if out := sam.ok(append([]string{"run", "list", "--experiment", "churn"}, p...)...); !strings.Contains(out, "train") || !strings.Contains(out, "broken") {
				t.Fatalf("run list:\n%s", out)
			}
			out := sam.ok(append([]string{"run", "list", "--experiment", "churn", "-o", "json"}, p...)...)
			for _, id := range []string{res.RunID, res.SecondRunID, res.BrokenRunID, basic.RunID} {
				if !strings.Contains(out, id) {
					t.Fatalf("run list -o json lacks run %s:\n%s", id, out)
				}
			}
			out = sam.ok(append([]string{"run", "show", res.RunID}, p...)...)
			for _, want := range []string{res.RunID, "alpha", "0.5", "loss", "train-data"} {
				if !strings.Contains(out, want) {
					t.Fatalf("run show lacks %q:\n%s", want, out)
				}
			}
			if out := sam.ok(append([]string{"model", "list"}, p...)...); !strings.Contains(out, "churn-model") {
				t.Fatalf("model list:\n%s", out)
			}
			if out := sam.ok(append([]string{"model", "show", "churn-model"}, p...)...); !strings.Contains(out, "churn-model") || !strings.Contains(out, "champion") {
				t.Fatalf("model show:\n%s", out)
			}
			var versions []struct {
				Version int    `json:"version"`
				Stage   string `json:"current_stage"`
				RunID   string `json:"run_id"`
			}
			out = sam.ok(append([]string{"model", "versions", "churn-model", "-o", "json"}, p...)...)
			if err := json.Unmarshal([]byte(out), &versions); err != nil || len(versions) != 2 {
				t.Fatalf("model versions: %v\n%s", err, out)
			}
			stages := map[int]string{}
			for _, v := range versions {
				stages[v.Version] = v.Stage
				if v.RunID != res.RunID {
					t.Fatalf("version %d's run is %q, not %s", v.Version, v.RunID, res.RunID)
				}
			}
			if stages[1] != "Archived" || stages[2] != "Production" {
				t.Fatalf("stages: %v", stages)
			}
			if out := sam.ok(append([]string{"model", "versions", "churn-model"}, p...)...); !strings.Contains(out, "Production") {
				t.Fatalf("model versions:\n%s", out)
			}

			// Lineage: model version 1 → the run that trained it → the dataset version it read.
			out = sam.ok(append([]string{"model", "lineage", "churn-model", "--version", "1", "-o", "json"}, p...)...)
			var lin struct {
				Run *struct {
					Info struct {
						RunID string `json:"run_id"`
					} `json:"info"`
				} `json:"run"`
				Datasets []struct {
					Dataset struct {
						Name    string `json:"name"`
						Source  string `json:"source"`
						Enclave *struct {
							Zone          string `json:"zone"`
							Project       string `json:"project"`
							Dataset       string `json:"dataset"`
							Version       int    `json:"version"`
							ContentSHA256 string `json:"content_sha256"`
						} `json:"enclave_dataset"`
					} `json:"dataset"`
				} `json:"datasets"`
			}
			if err := json.Unmarshal([]byte(out), &lin); err != nil || lin.Run == nil || lin.Run.Info.RunID != res.RunID || len(lin.Datasets) != 1 ||
				!strings.Contains(out, res.ModelID) {
				t.Fatalf("model lineage: %v\n%s", err, out)
			}
			ds := lin.Datasets[0].Dataset
			if ds.Name != "train" || !strings.Contains(ds.Source, datasetURL) || ds.Enclave == nil ||
				ds.Enclave.Zone != "eu" || ds.Enclave.Project != "onc" || ds.Enclave.Dataset != "train-data" || ds.Enclave.Version != 1 ||
				ds.Enclave.ContentSHA256 == "" {
				t.Fatalf("lineage's dataset: %+v\n%s", ds, out)
			}
			if out := sam.ok(append([]string{"model", "lineage", "churn-model", "--version", "1"}, p...)...); !strings.Contains(out, res.RunID) || !strings.Contains(out, "train-data") {
				t.Fatalf("model lineage (table):\n%s", out)
			}

			// The audit trail: Sam's writes, and the refusals of Rita's and Otto's.
			type record struct {
				Action    string         `json:"action"`
				ActorName string         `json:"actor_name"`
				Outcome   string         `json:"outcome"`
				Scope     string         `json:"scope"`
				Details   map[string]any `json:"details"`
			}
			search := func(args ...string) []record {
				t.Helper()
				out := admin.ok(append([]string{"audit", "search", "--limit", "0", "-o", "json"}, args...)...)
				var recs []record
				if err := json.Unmarshal([]byte(out), &recs); err != nil {
					t.Fatalf("audit search %v: %v\n%s", args, err, out)
				}
				return recs
			}
			actions := map[string]int{}
			for _, r := range search("--actor", "sam", "--scope", onc, "--outcome", "success") {
				if strings.HasPrefix(r.Action, "tracking.") || strings.HasPrefix(r.Action, "registry.") {
					actions[r.Action]++
				}
			}
			var tracking, registry int
			for a, n := range actions {
				if strings.HasPrefix(a, "tracking.") {
					tracking += n
				} else {
					registry += n
				}
			}
			if tracking == 0 || registry == 0 {
				t.Fatalf("Sam's tracking and registry writes are not in the audit trail: %v", actions)
			}
			t.Logf("Sam's audited actions: %v", actions)
			// A refused write: access.denied naming a write permission (or a
			// tracking or registry action recorded as denied).
			deniedWrite := func(name string) bool {
				for _, r := range search("--actor", name, "--outcome", "denied") {
					perm, _ := r.Details["permission"].(string)
					if strings.HasPrefix(r.Action, "tracking.") || strings.HasPrefix(r.Action, "registry.") ||
						(r.Action == "access.denied" && strings.HasSuffix(perm, "/write")) {
						return true
					}
				}
				return false
			}
			if !deniedWrite("rita") {
				t.Fatalf("no denied write of the reader in the audit trail: %+v", search("--actor", "rita"))
			}
			if !deniedWrite("otto") {
				t.Fatalf("no denied write of the outsider in the audit trail: %+v", search("--actor", "otto"))
			}
			if out := admin.ok("audit", "verify"); !strings.HasPrefix(out, "OK: ") {
				t.Fatalf("audit verify: %s", out)
			}
			t.Logf("%s: %v in all", b.Name, time.Since(start).Round(time.Millisecond))
		})
	}
}
