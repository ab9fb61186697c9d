package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// mlflowEnv is a project with a data scientist, a reader and an outsider,
// and the project's MLflow tracking URI.
type mlflowEnv struct {
	*env
	uri                     string
	sci, reader, outsider   string
	asSci, asReader, asOuts map[string]string
}

func newMLflowEnv(t *testing.T, db *sqlstore.DB) *mlflowEnv {
	e := newEnv(t, db)
	e.api.MaxBodyBytes = 1 << 20
	e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu-west"}`, nil), 201)
	e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"onc","owner":"dr-a","cost_center":"cc1","max_classification":"restricted"}`, nil), 201)
	e.must(e.do("POST", "/api/v1/zones/eu/projects", `{"name":"other","owner":"dr-b","cost_center":"cc2"}`, nil), 201)
	m := &mlflowEnv{env: e, uri: "/mlflow/eu/onc"}
	m.sci, _ = e.enrolledUser("sam", "explorer of the cohort 7")
	m.reader, _ = e.enrolledUser("rita", "reader of the cohort 9")
	m.outsider, _ = e.enrolledUser("otto", "outsider of the cohort 3")
	e.grantRole("sam", "data-scientist", "/zones/eu/projects/onc")
	e.grantRole("sam", "data-scientist", "/zones/eu/projects/other")
	e.grantRole("rita", "reader", "/zones/eu/projects/onc")
	m.asSci, m.asReader, m.asOuts = bearer(m.sci), bearer(m.reader), bearer(m.outsider)
	return m
}

// ml calls the MLflow API of a project.
func (m *mlflowEnv) ml(method, project, path, body string, hdr map[string]string) response {
	return m.do(method, "/mlflow/eu/"+project+path, body, hdr)
}

// mlOK calls and decodes a 200 answer.
func (m *mlflowEnv) mlOK(method, path, body string, v any) {
	m.t.Helper()
	r := m.ml(method, "onc", path, body, m.asSci)
	if r.status != 200 {
		m.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.body), v); err != nil {
			m.t.Fatalf("%s %s: %v in %s", method, path, err, r.body)
		}
	}
}

// mlErr expects an MLflow error.
func (m *mlflowEnv) mlErr(method, project, path, body string, hdr map[string]string, status int, code string) string {
	m.t.Helper()
	r := m.ml(method, project, path, body, hdr)
	var e struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	_ = json.Unmarshal([]byte(r.body), &e)
	if r.status != status || e.ErrorCode != code {
		m.t.Fatalf("%s %s %s: got %d %s, want %d %s", method, path, body, r.status, r.body, status, code)
	}
	return e.Message
}

// TestMLflowDevScript runs a script of the real mlflow client against this
// test server (for development: ENCLAVE_DEV_MLFLOW_SCRIPT names the script
// and ENCLAVE_TEST_MLFLOW_PYTHON the interpreter).
func TestMLflowDevScript(t *testing.T) {
	script, py := os.Getenv("ENCLAVE_DEV_MLFLOW_SCRIPT"), os.Getenv("ENCLAVE_TEST_MLFLOW_PYTHON")
	if script == "" || py == "" {
		t.Skip("ENCLAVE_DEV_MLFLOW_SCRIPT and ENCLAVE_TEST_MLFLOW_PYTHON are not set")
	}
	db := storetest.Open(t, storetest.Backends()[0].URL(t))
	m := newMLflowEnv(t, db)
	cmd := exec.Command(py, script)
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+m.srv.URL+m.uri, "MLFLOW_TRACKING_TOKEN="+m.sci,
		"ENCLAVE_READER_TOKEN="+m.reader, "ENCLAVE_OUTSIDER_TOKEN="+m.outsider, "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true", "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("script: %v", err)
	}
}

// withID adds a request ID to a caller's headers, to find its audit records.
func withID(h map[string]string, id string) map[string]string {
	out := map[string]string{"X-Request-Id": id}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// TestMLflow drives the MLflow-compatible API with raw requests: the bad
// input the issue names, the refusals of readers and outsiders (and their
// audit records), idempotent log-batch, metric values as MLflow stores
// them, artifact path escapes and a multipart upload.
func TestMLflow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m := newMLflowEnv(t, db)
		var exp struct {
			ID string `json:"experiment_id"`
		}
		m.mlOK("POST", "/api/2.0/mlflow/experiments/create", `{"name":"trial"}`, &exp)
		m.mlErr("POST", "onc", "/api/2.0/mlflow/experiments/create", `{"name":"trial"}`, m.asSci, 400, "RESOURCE_ALREADY_EXISTS")
		m.mlErr("GET", "onc", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=nope", "", m.asSci, 404, "RESOURCE_DOES_NOT_EXIST")
		var run struct {
			Run struct {
				Info struct {
					RunID       string `json:"run_id"`
					ArtifactURI string `json:"artifact_uri"`
					UserID      string `json:"user_id"`
				} `json:"info"`
			} `json:"run"`
		}
		m.mlOK("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id":"`+exp.ID+`","user_id":"someone-else","run_name":"r1","start_time":1700000000000,"tags":[{"key":"mlflow.user","value":"spoofed"}]}`, &run)
		id := run.Run.Info.RunID
		if run.Run.Info.UserID != "sam" || !strings.HasPrefix(run.Run.Info.ArtifactURI, "mlflow-artifacts:/"+exp.ID+"/"+id) {
			t.Fatalf("run info: %+v", run.Run.Info)
		}

		// log-batch: audited, idempotent under the client's retries.
		batch := `{"run_id":"` + id + `","metrics":[{"key":"loss","value":0.5,"timestamp":1,"step":0},{"key":"loss","value":0.25,"timestamp":2,"step":1},` +
			`{"key":"nan","value":"NaN","timestamp":1,"step":0},{"key":"pinf","value":"Infinity","timestamp":1,"step":0},{"key":"ninf","value":"-Infinity","timestamp":1,"step":0}],` +
			`"params":[{"key":"alpha","value":"0.5"}],"tags":[{"key":"team","value":"onc"}]}`
		for i := range 2 {
			r := m.ml("POST", "onc", "/api/2.0/mlflow/runs/log-batch", batch, withID(m.asSci, fmt.Sprint("mlbatch-", i)))
			if r.status != 200 {
				t.Fatalf("log-batch %d: %d %s", i, r.status, r.body)
			}
			if ev := m.events(fmt.Sprint("mlbatch-", i)); len(ev) != 1 || ev[0] != "tracking.run.log" {
				t.Fatalf("log-batch audit: %v", ev)
			}
		}
		var hist struct {
			Metrics []json.RawMessage `json:"metrics"`
		}
		m.mlOK("GET", "/api/2.0/mlflow/metrics/get-history?run_id="+id+"&metric_key=loss", "", &hist)
		if len(hist.Metrics) != 2 {
			t.Fatalf("history after a retried batch: %s", hist.Metrics)
		}
		r := m.ml("GET", "onc", "/api/2.0/mlflow/runs/get?run_id="+id, "", m.asSci)
		for _, want := range []string{`"key":"nan","value":"NaN"`, `"key":"pinf","value":1.7976931348623157e+308`,
			`"key":"ninf","value":-1.7976931348623157e+308`, `"key":"loss","value":0.25`, `"key":"mlflow.user","value":"sam"`} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("run lacks %s: %s", want, r.body)
			}
		}
		// The native view carries NaN as MLflow's JSON does.
		if r := m.do("GET", "/api/v1/zones/eu/projects/onc/runs/"+id, "", m.asSci); r.status != 200 || !strings.Contains(string(r.body), `"value":"NaN"`) {
			t.Fatalf("native run with a NaN metric: %d %s", r.status, r.body)
		}
		msg := m.mlErr("POST", "onc", "/api/2.0/mlflow/runs/log-parameter", `{"run_id":"`+id+`","key":"alpha","value":"0.9"}`, m.asSci, 400, "INVALID_PARAMETER_VALUE")
		if !strings.Contains(msg, "alpha") {
			t.Errorf("param change message: %s", msg)
		}

		// Guardrails judge MLflow's changes too: a deny policy on
		// registered models refuses the client, and the refusal is audited.
		m.must(m.do("PUT", "/api/v1/policy/definitions/no-scratch-models",
			`{"kinds":["registered-model"],"condition":"object.name.startsWith('scratch')","effect":"deny","description":"no scratch models"}`, nil), 201)
		m.must(m.do("POST", "/api/v1/policy/assignments", `{"name":"scratch","definition":"no-scratch-models","scope":"/zones/eu/projects/onc"}`, nil), 201)
		r0 := m.ml("POST", "onc", "/api/2.0/mlflow/registered-models/create", `{"name":"scratch-1"}`, withID(m.asSci, "mlpolicy"))
		if r0.status != 403 || !strings.Contains(string(r0.body), "PERMISSION_DENIED") || !strings.Contains(string(r0.body), "no-scratch-models") {
			t.Fatalf("policy on a registered model: %d %s", r0.status, r0.body)
		}
		if ev := m.events("mlpolicy"); len(ev) != 1 || ev[0] != "policy.deny:denied" {
			t.Fatalf("policy refusal audit: %v", ev)
		}

		// Bad input.
		m.mlOK("POST", "/api/2.0/mlflow/registered-models/create", `{"name":"m"}`, nil)
		m.mlOK("POST", "/api/2.0/mlflow/model-versions/create", `{"name":"m","source":"runs:/`+id+`/model"}`, nil)
		long := strings.Repeat("k", 251)
		for name, c := range map[string]struct{ path, body string }{
			"filter syntax":   {"/api/2.0/mlflow/runs/search", `{"experiment_ids":["` + exp.ID + `"],"filter":"metrics.acc >>> 1"}`},
			"unknown entity":  {"/api/2.0/mlflow/runs/search", `{"experiment_ids":["` + exp.ID + `"],"filter":"foo.bar = 1"}`},
			"injection OR":    {"/api/2.0/mlflow/runs/search", `{"experiment_ids":["` + exp.ID + `"],"filter":"params.alpha = 'x' OR 1=1"}`},
			"injection quote": {"/api/2.0/mlflow/runs/search", `{"experiment_ids":["` + exp.ID + `"],"filter":"params.alpha = 'x'; DROP TABLE tracking_runs; --"}`},
			"bad order":       {"/api/2.0/mlflow/runs/search", `{"experiment_ids":["` + exp.ID + `"],"order_by":["metrics.acc SIDEWAYS"]}`},
			"max results":     {"/api/2.0/mlflow/runs/search", `{"experiment_ids":["` + exp.ID + `"],"max_results":50001}`},
			"bad page token":  {"/api/2.0/mlflow/runs/search", `{"experiment_ids":["` + exp.ID + `"],"page_token":"!!"}`},
			"long key":        {"/api/2.0/mlflow/runs/log-metric", `{"run_id":"` + id + `","key":"` + long + `","value":1,"timestamp":1}`},
			"key escapes":     {"/api/2.0/mlflow/runs/log-parameter", `{"run_id":"` + id + `","key":"../x","value":"1"}`},
			"long param":      {"/api/2.0/mlflow/runs/log-parameter", `{"run_id":"` + id + `","key":"p","value":"` + strings.Repeat("v", 6001) + `"}`},
			"value type":      {"/api/2.0/mlflow/runs/log-metric", `{"run_id":"` + id + `","key":"k","value":"lots","timestamp":1}`},
			"missing value":   {"/api/2.0/mlflow/runs/log-metric", `{"run_id":"` + id + `","key":"k","timestamp":1}`},
			"bad status":      {"/api/2.0/mlflow/runs/update", `{"run_id":"` + id + `","status":"DONE"}`},
			"foreign source":  {"/api/2.0/mlflow/model-versions/create", `{"name":"m","source":"file:///etc/passwd"}`},
			"reserved alias":  {"/api/2.0/mlflow/registered-models/alias", `{"name":"m","alias":"latest","version":"1"}`},
		} {
			t.Log(name)
			m.mlErr("POST", "onc", c.path, c.body, m.asSci, 400, "INVALID_PARAMETER_VALUE")
		}
		var many []string
		for i := range 1001 {
			many = append(many, fmt.Sprintf(`{"key":"m","value":%d,"timestamp":1,"step":%d}`, i, i))
		}
		m.mlErr("POST", "onc", "/api/2.0/mlflow/runs/log-batch", `{"run_id":"`+id+`","metrics":[`+strings.Join(many, ",")+`]}`, m.asSci, 400, "INVALID_PARAMETER_VALUE")
		hist.Metrics = nil
		m.mlOK("GET", "/api/2.0/mlflow/metrics/get-history?run_id="+id+"&metric_key=m", "", &hist)
		if len(hist.Metrics) != 0 {
			t.Fatalf("a refused batch left %d values", len(hist.Metrics))
		}

		// Another project's run does not exist here; an outsider sees
		// nothing anywhere; a reader reads but may not write. Each
		// refusal is audited.
		var other struct {
			ID string `json:"experiment_id"`
		}
		if r := m.ml("POST", "other", "/api/2.0/mlflow/experiments/create", `{"name":"x"}`, m.asSci); r.status != 200 {
			t.Fatalf("create in other: %d %s", r.status, r.body)
		} else {
			r.json(t, &other)
		}
		m.mlErr("GET", "other", "/api/2.0/mlflow/runs/get?run_id="+id, "", m.asSci, 404, "RESOURCE_DOES_NOT_EXIST")
		m.mlErr("GET", "onc", "/api/2.0/mlflow/experiments/get?experiment_id="+other.ID, "", m.asSci, 404, "RESOURCE_DOES_NOT_EXIST")
		if r := m.ml("POST", "onc", "/api/2.0/mlflow/runs/search", `{"experiment_ids":["`+other.ID+`"]}`, m.asSci); r.status != 200 || strings.Contains(string(r.body), "run_id") {
			t.Fatalf("search across projects: %d %s", r.status, r.body)
		}
		r = m.ml("GET", "onc", "/api/2.0/mlflow/runs/get?run_id="+id, "", withID(m.asOuts, "mlout"))
		if r.status != 404 || !strings.Contains(string(r.body), "RESOURCE_DOES_NOT_EXIST") {
			t.Fatalf("outsider: %d %s", r.status, r.body)
		}
		if ev := m.events("mlout"); len(ev) != 1 || ev[0] != "access.denied:denied" {
			t.Fatalf("outsider audit: %v", ev)
		}
		m.mlErr("GET", "onc", "/api/2.0/mlflow/runs/get?run_id="+strings.Repeat("0", 32), "", m.asOuts, 404, "RESOURCE_DOES_NOT_EXIST")
		if r := m.ml("GET", "onc", "/api/2.0/mlflow/runs/get?run_id="+id, "", m.asReader); r.status != 200 {
			t.Fatalf("reader read: %d %s", r.status, r.body)
		}
		r = m.ml("POST", "onc", "/api/2.0/mlflow/runs/log-metric", `{"run_id":"`+id+`","key":"k","value":1,"timestamp":1}`, withID(m.asReader, "mlreader"))
		if r.status != 403 || !strings.Contains(string(r.body), "PERMISSION_DENIED") {
			t.Fatalf("reader write: %d %s", r.status, r.body)
		}
		if ev := m.events("mlreader"); len(ev) != 1 || ev[0] != "access.denied:denied" {
			t.Fatalf("reader audit: %v", ev)
		}
		m.mlErr("POST", "onc", "/api/2.0/mlflow/registered-models/create", `{"name":"r"}`, m.asReader, 403, "PERMISSION_DENIED")
		m.mlErr("GET", "onc", "/api/2.0/mlflow/runs/get?run_id="+id, "", map[string]string{"Authorization": ""}, 401, "UNAUTHENTICATED")
		m.mlErr("GET", "onc", "/api/2.0/mlflow/runs/get?run_id="+id, "", map[string]string{"Authorization": "Bearer enc_bogus"}, 401, "UNAUTHENTICATED")
		// Basic authentication with the token as the password.
		basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("sam:"+m.sci))}
		if r := m.ml("GET", "onc", "/api/2.0/mlflow/runs/get?run_id="+id, "", basic); r.status != 200 {
			t.Fatalf("basic auth: %d %s", r.status, r.body)
		}

		// Artifacts: stored encrypted, read back; escapes refused.
		base := "/api/2.0/mlflow-artifacts/artifacts/" + exp.ID + "/" + id + "/artifacts/"
		r = m.ml("PUT", "onc", base+"dir/notes.txt", "hello artifacts", withID(m.asSci, "mlart"))
		if r.status != 200 {
			t.Fatalf("artifact put: %d %s", r.status, r.body)
		}
		if ev := m.events("mlart"); len(ev) != 1 || ev[0] != "tracking.artifact.write" {
			t.Fatalf("artifact audit: %v", ev)
		}
		if files := m.objectFiles(); len(files) != 1 {
			t.Fatalf("stored objects: %v", files)
		} else if b, err := os.ReadFile(files[0]); err != nil || strings.Contains(string(b), "hello artifacts") {
			t.Fatalf("artifact stored in the clear (%v)", err)
		}
		if r := m.ml("GET", "onc", base+"dir/notes.txt", "", m.asSci); r.status != 200 || string(r.body) != "hello artifacts" {
			t.Fatalf("artifact get: %d %s", r.status, r.body)
		}
		m.mlErr("GET", "onc", base+"dir/notes.txt", "", m.asReader, 403, "PERMISSION_DENIED")
		for _, p := range []string{"../../other/x", "%2e%2e/%2e%2e/x", "dir/..%2f..%2fx", "../../../../other/" + other.ID + "/x"} {
			r := m.ml("PUT", "onc", base+p, "x", m.asSci)
			if r.status < 300 || r.status == 200 {
				t.Errorf("escape %q: %d %s", p, r.status, r.body)
			}
		}
		if files := m.objectFiles(); len(files) != 1 {
			t.Fatalf("escapes stored objects: %v", files)
		}
		var list struct {
			Files []struct {
				Path  string `json:"path"`
				IsDir bool   `json:"is_dir"`
			} `json:"files"`
		}
		m.mlOK("GET", "/api/2.0/mlflow-artifacts/artifacts?path="+exp.ID+"/"+id+"/artifacts", "", &list)
		if len(list.Files) != 1 || list.Files[0].Path != "dir" || !list.Files[0].IsDir {
			t.Fatalf("listing: %+v", list)
		}

		// Multipart: create, parts with the credentials given, complete.
		var mpu struct {
			UploadID    string `json:"upload_id"`
			Credentials []struct {
				URL     string            `json:"url"`
				Part    int               `json:"part_number"`
				Headers map[string]string `json:"headers"`
			} `json:"credentials"`
		}
		m.mlOK("POST", "/api/2.0/mlflow-artifacts/mpu/create/"+exp.ID+"/"+id+"/artifacts/big", `{"path":"/home/sam/weights.bin","num_parts":2}`, &mpu)
		if len(mpu.Credentials) != 2 {
			t.Fatalf("mpu create: %+v", mpu)
		}
		parts := []string{strings.Repeat("a", 1000), strings.Repeat("b", 10)}
		var done []string
		for i, c := range mpu.Credentials {
			u := strings.TrimPrefix(c.URL, m.srv.URL)
			r := m.do("PUT", u, parts[i], c.Headers)
			if r.status != 200 || r.header.Get("ETag") == "" {
				t.Fatalf("part %d: %d %s", c.Part, r.status, r.body)
			}
			done = append(done, fmt.Sprintf(`{"part_number":%d,"etag":%q}`, c.Part, r.header.Get("ETag")))
		}
		// Someone else cannot send parts to it.
		if r := m.do("PUT", strings.TrimPrefix(mpu.Credentials[0].URL, m.srv.URL), "x", m.asReader); r.status == 200 {
			t.Fatalf("a reader sent a part")
		}
		m.mlOK("POST", "/api/2.0/mlflow-artifacts/mpu/complete/"+exp.ID+"/"+id+"/artifacts/big",
			`{"path":"/home/sam/weights.bin","upload_id":"`+mpu.UploadID+`","parts":[`+strings.Join(done, ",")+`]}`, nil)
		if r := m.ml("GET", "onc", base+"big/weights.bin", "", m.asSci); r.status != 200 || string(r.body) != parts[0]+parts[1] {
			t.Fatalf("multipart artifact: %d %d bytes", r.status, len(r.body))
		}
	})
}

// TestMLflowLifecycle drives the changes the compatibility scripts do not
// make: tags of experiments, runs, registered models, versions and logged
// models set and deleted; renames; deletes and restores; each audited.
func TestMLflowLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		m := newMLflowEnv(t, db)
		step := 0
		// ok calls as the data scientist and checks the one audit record.
		ok := func(method, path, body, event string, v any) {
			t.Helper()
			step++
			id := fmt.Sprint("mllife-", step)
			r := m.ml(method, "onc", path, body, withID(m.asSci, id))
			if r.status != 200 {
				t.Fatalf("%s %s %s: %d %s", method, path, body, r.status, r.body)
			}
			if v != nil {
				r.json(t, v)
			}
			if ev := m.events(id); event != "" && (len(ev) != 1 || ev[0] != event) {
				t.Fatalf("%s %s: audit %v, want %s", method, path, ev, event)
			}
		}
		get := func(path string) string {
			t.Helper()
			r := m.ml("GET", "onc", path, "", m.asSci)
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
			return string(r.body)
		}
		var exp struct {
			ID string `json:"experiment_id"`
		}
		ok("POST", "/api/2.0/mlflow/experiments/create", `{"name":"life","tags":[{"key":"team","value":"onc"}]}`, "tracking.experiment.create", &exp)
		e := `"experiment_id":"` + exp.ID + `"`
		ok("POST", "/api/2.0/mlflow/experiments/set-experiment-tag", `{`+e+`,"key":"stage","value":"dev"}`, "tracking.experiment.tag.set", nil)
		ok("POST", "/api/2.0/mlflow/experiments/delete-experiment-tag", `{`+e+`,"key":"team"}`, "tracking.experiment.tag.delete", nil)
		ok("POST", "/api/2.0/mlflow/experiments/update", `{`+e+`,"new_name":"life-2"}`, "tracking.experiment.update", nil)
		if b := get("/api/2.0/mlflow/experiments/get?experiment_id=" + exp.ID); !strings.Contains(b, `"name":"life-2"`) ||
			!strings.Contains(b, `"key":"stage"`) || strings.Contains(b, `"key":"team"`) {
			t.Fatalf("experiment after tag and rename: %s", b)
		}

		var run struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		ok("POST", "/api/2.0/mlflow/runs/create", `{`+e+`}`, "tracking.run.create", &run)
		id := run.Run.Info.RunID
		ok("POST", "/api/2.0/mlflow/runs/set-tag", `{"run_id":"`+id+`","key":"note","value":"x"}`, "tracking.run.log", nil)
		ok("POST", "/api/2.0/mlflow/runs/delete-tag", `{"run_id":"`+id+`","key":"note"}`, "tracking.run.tag.delete", nil)
		if b := get("/api/2.0/mlflow/runs/get?run_id=" + id); strings.Contains(b, `"key":"note"`) {
			t.Fatalf("tag not deleted: %s", b)
		}
		ok("POST", "/api/2.0/mlflow/runs/update", `{"run_id":"`+id+`","status":"FINISHED","end_time":5,"run_name":"renamed"}`, "tracking.run.update", nil)
		ok("POST", "/api/2.0/mlflow/runs/delete", `{"run_id":"`+id+`"}`, "tracking.run.delete", nil)
		m.mlErr("POST", "onc", "/api/2.0/mlflow/runs/log-metric", `{"run_id":"`+id+`","key":"k","value":1,"timestamp":1}`, m.asSci, 400, "INVALID_STATE")
		search := func(view string) string {
			r := m.ml("POST", "onc", "/api/2.0/mlflow/runs/search", `{"experiment_ids":["`+exp.ID+`"],"run_view_type":"`+view+`"}`, m.asSci)
			return string(r.body)
		}
		if strings.Contains(search("ACTIVE_ONLY"), id) || !strings.Contains(search("DELETED_ONLY"), id) {
			t.Fatalf("a deleted run: active %s deleted %s", search("ACTIVE_ONLY"), search("DELETED_ONLY"))
		}
		ok("POST", "/api/2.0/mlflow/runs/restore", `{"run_id":"`+id+`"}`, "tracking.run.restore", nil)
		if b := get("/api/2.0/mlflow/runs/get?run_id=" + id); !strings.Contains(b, `"status":"FINISHED"`) || !strings.Contains(b, `"run_name":"renamed"`) ||
			!strings.Contains(b, `"lifecycle_stage":"active"`) {
			t.Fatalf("run after update and restore: %s", b)
		}

		var lm struct {
			Model struct {
				Info struct {
					ModelID string `json:"model_id"`
				} `json:"info"`
			} `json:"model"`
		}
		ok("POST", "/api/2.0/mlflow/logged-models", `{`+e+`,"name":"m","source_run_id":"`+id+`"}`, "tracking.model.create", &lm)
		mid := lm.Model.Info.ModelID
		ok("POST", "/api/2.0/mlflow/logged-models/"+mid+"/params", `{"params":[{"key":"depth","value":"3"}]}`, "tracking.model.params", nil)
		ok("PATCH", "/api/2.0/mlflow/logged-models/"+mid+"/tags", `{"tags":[{"key":"a","value":"1"},{"key":"b","value":"2"}]}`, "tracking.model.tag.set", nil)
		ok("DELETE", "/api/2.0/mlflow/logged-models/"+mid+"/tags/a", "", "tracking.model.tag.delete", nil)
		if b := get("/api/2.0/mlflow/logged-models/" + mid); !strings.Contains(b, `"key":"depth"`) || strings.Contains(b, `"key":"a"`) || !strings.Contains(b, `"key":"b"`) {
			t.Fatalf("logged model params and tags: %s", b)
		}

		for _, f := range []string{"run/a.txt", "run/sub/b.txt"} {
			ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp.ID+"/"+id+"/artifacts/"+f, "x", "tracking.artifact.write", nil)
		}
		ok("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp.ID+"/models/"+mid+"/artifacts/MLmodel", "y", "tracking.artifact.write", nil)
		if b := get("/api/2.0/mlflow/artifacts/list?run_id=" + id + "&path=run"); !strings.Contains(b, `"path":"run/a.txt","is_dir":false,"file_size":1`) ||
			!strings.Contains(b, `"path":"run/sub","is_dir":true`) {
			t.Fatalf("artifacts/list: %s", b)
		}
		if b := get("/api/2.0/mlflow/logged-models/" + mid + "/artifacts/directories"); !strings.Contains(b, `"path":"MLmodel"`) {
			t.Fatalf("logged model directories: %s", b)
		}
		m.mlErr("GET", "onc", "/api/2.0/mlflow/artifacts/list?run_id="+id+"&path=../x", "", m.asSci, 400, "INVALID_PARAMETER_VALUE")
		ok("DELETE", "/api/2.0/mlflow-artifacts/artifacts/"+exp.ID+"/"+id+"/artifacts/run/sub", "", "tracking.artifact.delete", nil)
		if b := get("/api/2.0/mlflow/artifacts/list?run_id=" + id + "&path=run"); strings.Contains(b, "sub") {
			t.Fatalf("directory not deleted: %s", b)
		}

		ok("POST", "/api/2.0/mlflow/registered-models/create", `{"name":"churn","tags":[{"key":"owner","value":"sam"}]}`, "registry.model.create", nil)
		ok("POST", "/api/2.0/mlflow/model-versions/create", `{"name":"churn","source":"models:/`+mid+`"}`, "registry.version.create", nil)
		ok("POST", "/api/2.0/mlflow/registered-models/set-tag", `{"name":"churn","key":"domain","value":"retention"}`, "registry.model.tag.set", nil)
		ok("DELETE", "/api/2.0/mlflow/registered-models/delete-tag", `{"name":"churn","key":"owner"}`, "registry.model.tag.delete", nil)
		ok("PATCH", "/api/2.0/mlflow/registered-models/update", `{"name":"churn","description":"who leaves"}`, "registry.model.update", nil)
		ok("POST", "/api/2.0/mlflow/model-versions/set-tag", `{"name":"churn","version":"1","key":"validated","value":"yes"}`, "registry.version.tag.set", nil)
		ok("PATCH", "/api/2.0/mlflow/model-versions/update", `{"name":"churn","version":"1","description":"first"}`, "registry.version.update", nil)
		ok("POST", "/api/2.0/mlflow/registered-models/rename", `{"name":"churn","new_name":"churn-2"}`, "registry.model.rename", nil)
		b := get("/api/2.0/mlflow/registered-models/get?name=churn-2")
		if !strings.Contains(b, `"key":"domain"`) || strings.Contains(b, `"key":"owner"`) || !strings.Contains(b, `"description":"who leaves"`) {
			t.Fatalf("registered model after tags, update and rename: %s", b)
		}
		if b := get("/api/2.0/mlflow/model-versions/get?name=churn-2&version=1"); !strings.Contains(b, `"key":"validated"`) || !strings.Contains(b, `"description":"first"`) {
			t.Fatalf("version after tag and update: %s", b)
		}
		if b := get("/api/2.0/mlflow/model-versions/get-download-uri?name=churn-2&version=1"); !strings.Contains(b, "/models/"+mid+"/artifacts") {
			t.Fatalf("download URI: %s", b)
		}
		ok("DELETE", "/api/2.0/mlflow/model-versions/delete-tag", `{"name":"churn-2","version":"1","key":"validated"}`, "registry.version.tag.delete", nil)
		ok("DELETE", "/api/2.0/mlflow/model-versions/delete", `{"name":"churn-2","version":"1"}`, "registry.version.delete", nil)
		m.mlErr("GET", "onc", "/api/2.0/mlflow/model-versions/get?name=churn-2&version=1", "", m.asSci, 404, "RESOURCE_DOES_NOT_EXIST")
		ok("POST", "/api/2.0/mlflow/model-versions/create", `{"name":"churn-2","source":"models:/`+mid+`"}`, "registry.version.create", nil)
		if b := get("/api/2.0/mlflow/model-versions/get?name=churn-2&version=2"); !strings.Contains(b, `"version":"2"`) {
			t.Fatalf("a version number was reused: %s", b)
		}
		ok("DELETE", "/api/2.0/mlflow/registered-models/delete", `{"name":"churn-2"}`, "registry.model.delete", nil)
		m.mlErr("GET", "onc", "/api/2.0/mlflow/registered-models/get?name=churn-2", "", m.asSci, 404, "RESOURCE_DOES_NOT_EXIST")
		ok("DELETE", "/api/2.0/mlflow/logged-models/"+mid, "", "tracking.model.delete", nil)

		ok("POST", "/api/2.0/mlflow/experiments/delete", `{`+e+`}`, "tracking.experiment.delete", nil)
		m.mlErr("POST", "onc", "/api/2.0/mlflow/runs/create", `{`+e+`}`, m.asSci, 400, "INVALID_STATE")
		ok("POST", "/api/2.0/mlflow/experiments/restore", `{`+e+`}`, "tracking.experiment.restore", nil)
		// The default experiment "0" is the project's own, made on first use.
		ok("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id":"0"}`, "", nil)
		if b := get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default"); !strings.Contains(b, `"name":"Default"`) {
			t.Fatalf("default experiment: %s", b)
		}
	})
}
