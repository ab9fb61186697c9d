package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pquerna/otp/totp"
	"gopkg.in/yaml.v3"
)

// mlflowOptions sizes the MLflow-compatibility benchmark.
type mlflowOptions struct {
	// runs is how many runs (20 metrics, 2 params and 2 tags each) the
	// search experiment holds.
	runs int
	// loadClients is how many clients load those runs concurrently.
	loadClients int
	// logClients is how many clients send log-batch requests at once,
	// each to its own run, for logFor.
	logClients int
	logFor     time.Duration
	// createRuns is how many runs are created one after the other for the
	// create-run latency.
	createRuns int
	// searchReps is how many times each search is timed, at most: after
	// searchFor, five times each are enough.
	searchReps int
	searchFor  time.Duration
}

const (
	mlflowBatchSize  = 100 // metrics per log-batch request in the throughput measure
	mlflowRunMetrics = 20  // metrics of each run in the search experiment
	mlflowSearchMax  = 1000
	mlflowFilter     = "metrics.m3 > 0.5"
	mlflowOrderBy    = "metrics.m7 DESC"
	// mlflowStartTime is the start time of search run 0; run i starts i ms
	// later, so that the unfiltered search's order (start time, newest
	// first) is known.
	mlflowStartTime = 1_700_000_000_000
	// The Enclave zone and project the MLflow API is served under.
	mlflowZone    = "bench"
	mlflowProject = "ml"
)

// mlflowSide is what the workload measured on one server. A measure that
// was not reached is empty.
type mlflowSide struct {
	name    string
	version string
	setup   time.Duration // from starting the server until it answers (and, for Enclave, is bootstrapped)

	createRun latencies
	// createRunFresh is create-run on a new connection each time.
	createRunFresh latencies

	// logBatch is log-batch on kept-alive connections, logBatchFresh on a
	// new connection each.
	logBatch, logBatchFresh throughput

	loaded int
	load   time.Duration

	searchFiltered, searchAll latencies
	// notes are answers that differ from what the data says they must be.
	notes []string
	err   error
}

// benchMLflow runs one workload against MLflow's own tracking server and
// then against Enclave's MLflow-compatible API, one after the other on
// this machine, both on SQLite, and prints each measure for both with the
// ratio. Either half failing leaves the other's numbers.
func benchMLflow(dir string, opts mlflowOptions) {
	root, err := moduleRoot()
	check(err)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\nMLflow tracking API: MLflow's own server against Enclave's MLflow-compatible API, same HTTP workload, SQLite, loopback, %d CPUs (load average %s)\n",
		runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))

	// Build Enclave first so that the build does not overlap MLflow's measures.
	encBin := filepath.Join(dir, "bin", "enclave")
	build := exec.Command("go", "build", "-o", encBin, "./cmd/enclave")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	buildErr := build.Run()

	ml := &mlflowSide{name: "MLflow"}
	func() {
		srv, err := startMLflow(root, filepath.Join(dir, "mlflow"))
		if srv != nil {
			defer srv.stop()
		}
		if err != nil {
			ml.err = err
			return
		}
		ml.setup, ml.version = srv.ready, srv.version
		mlflowWorkload(ml, srv.base, "", opts)
		if ml.err != nil {
			ml.err = fmt.Errorf("%w\nthe end of its log:\n%s", ml.err, srv.logTail())
		}
	}()
	printMLflowSide(ml, opts)

	enc := &mlflowSide{name: "Enclave"}
	if buildErr != nil {
		enc.err = fmt.Errorf("go build ./cmd/enclave: %w", buildErr)
	} else {
		func() {
			srv, err := startEnclave(encBin, filepath.Join(dir, "enclave-server"))
			if srv != nil {
				defer srv.stop()
			}
			if err != nil {
				enc.err = err
				return
			}
			enc.setup = srv.ready
			mlflowWorkload(enc, srv.base, "Bearer "+srv.token, opts)
			if enc.err != nil {
				enc.err = fmt.Errorf("%w\nthe end of its log:\n%s", enc.err, srv.logTail())
			}
		}()
	}
	printMLflowSide(enc, opts)
	printMLflowComparison(ml, enc, opts)
}

// mlflowWorkload runs the measures against the MLflow REST API at base
// (the URL that /api/2.0/mlflow/... follows), with auth as the
// Authorization header if it is not empty. Both servers get exactly these
// requests. It records each measure in side as it completes and stops at
// the first error.
func mlflowWorkload(side *mlflowSide, base, auth string, opts mlflowOptions) {
	c := &mlflowClient{base: strings.TrimRight(base, "/") + "/api/2.0/mlflow", auth: auth,
		hc: mlflowHTTPClient(max(opts.loadClients, opts.logClients) + 1)}
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench mlflow: %s: %s\n", side.name, fmt.Sprintf(format, args...))
	}
	fail := func(what string, err error) bool {
		if err != nil {
			side.err = fmt.Errorf("%s: %w", what, err)
		}
		return err != nil
	}
	tag := time.Now().UnixNano()
	throughputExp, err := c.createExperiment(fmt.Sprintf("bench-throughput-%d", tag))
	if fail("create experiment", err) {
		return
	}
	searchExp, err := c.createExperiment(fmt.Sprintf("bench-search-%d", tag))
	if fail("create experiment", err) {
		return
	}

	// create-run latency, one request at a time, after a few to warm up.
	progress("create-run, %d sequential, on kept-alive then new connections", opts.createRuns)
	const warm = 10
	for i := range warm + opts.createRuns {
		start := time.Now()
		_, err := c.createRun(throughputExp, fmt.Sprintf("create-%d", i), time.Now().UnixMilli())
		if fail("create run", err) {
			return
		}
		if i >= warm {
			side.createRun = append(side.createRun, time.Since(start))
		}
	}

	// The same on a new connection each time: MLflow's server (uvicorn)
	// writes a response's headers and body separately with Nagle's
	// algorithm on, so on a kept-alive connection the body waits for the
	// client's delayed ACK (about 40 ms on Linux). The mlflow client keeps
	// connections alive and waits too; this shows the server without it.
	fresh := &mlflowClient{base: c.base, auth: c.auth, hc: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: http.ProxyFromEnvironment}}}
	for i := range warm + opts.createRuns {
		start := time.Now()
		_, err := fresh.createRun(throughputExp, fmt.Sprintf("create-fresh-%d", i), time.Now().UnixMilli())
		if fail("create run on a new connection", err) {
			return
		}
		if i >= warm {
			side.createRunFresh = append(side.createRunFresh, time.Since(start))
		}
	}

	// log-batch throughput, on kept-alive connections and then on new ones.
	progress("log-batch, %d clients for %v, on kept-alive then new connections", opts.logClients, opts.logFor)
	if side.logBatch, err = measureLogBatch(c, throughputExp, "train", opts); fail("log-batch", err) {
		return
	}
	if side.logBatchFresh, err = measureLogBatch(fresh, throughputExp, "train-fresh", opts); fail("log-batch on new connections", err) {
		return
	}

	// The search experiment: runs with 20 metrics, 2 params and 2 tags
	// each, loaded through the API by several clients (create-run, then
	// one log-batch). The values are a function of the run's number, so
	// the right answer to each search is known.
	progress("loading %d runs with %d clients", opts.runs, opts.loadClients)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		failed   atomic.Bool
		next     atomic.Int64
	)
	setErr := func(err error) { errOnce.Do(func() { firstErr = err; failed.Store(true) }) }
	start := time.Now()
	for range opts.loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= opts.runs || failed.Load() {
					return
				}
				id, err := c.createRun(searchExp, mlflowRunName(i), mlflowStartTime+int64(i))
				if err != nil {
					setErr(err)
					return
				}
				buf = append(buf[:0], `{"run_id":"`...)
				buf = append(buf, id...)
				buf = append(buf, `","metrics":[`...)
				for k, v := range mlflowRunValues(i) {
					if k > 0 {
						buf = append(buf, ',')
					}
					buf = appendMetric(buf, "m"+strconv.Itoa(k), v, mlflowStartTime+int64(i), 0)
				}
				buf = fmt.Appendf(buf, `],"params":[{"key":"lr","value":"%g"},{"key":"batch_size","value":"%d"}],`+
					`"tags":[{"key":"team","value":"team-%d"},{"key":"stage","value":"%s"}]}`,
					0.001*float64(1+i%10), 32<<(i%4), i%7, []string{"dev", "staging", "prod"}[i%3])
				if _, err := c.post("/runs/log-batch", buf); err != nil {
					setErr(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if fail("load the search experiment", firstErr) {
		return
	}
	side.load, side.loaded = time.Since(start), opts.runs

	// search-runs latency, one request at a time, alternating the two
	// searches, after one of each to warm up; each answer is checked.
	// A slow server stops after searchFor once each search ran five times.
	progress("loaded in %v; searching", side.load.Round(100*time.Millisecond))
	filtered := mlflowSearchBody(searchExp, mlflowFilter, mlflowOrderBy)
	all := mlflowSearchBody(searchExp, "", "")
	wantFiltered, wantAll := mlflowExpected(opts.runs)
	start = time.Now()
	for i := range 1 + opts.searchReps {
		if i > 5 && time.Since(start) > opts.searchFor {
			break
		}
		for _, s := range []struct {
			body []byte
			want []string
			into *latencies
			name string
		}{{filtered, wantFiltered, &side.searchFiltered, "filtered search"}, {all, wantAll, &side.searchAll, "unfiltered search"}} {
			start := time.Now()
			data, err := c.post("/runs/search", s.body)
			took := time.Since(start)
			if fail(s.name, err) {
				return
			}
			if i == 0 {
				if note := mlflowCheckSearch(data, s.want); note != "" {
					side.notes = append(side.notes, s.name+": "+note)
				}
				continue
			}
			*s.into = append(*s.into, took)
		}
	}
}

// throughput is what clients sending requests at once for a while achieved.
type throughput struct {
	requests int
	wall     time.Duration
	lat      latencies
}

func (t throughput) rate() float64 {
	if t.requests == 0 {
		return 0
	}
	return float64(t.requests) / t.wall.Seconds()
}

// measureLogBatch has opts.logClients clients log batches of 100 metrics
// (100 keys at one step, as mlflow.log_metrics sends them), each to a run
// of its own in exp, for opts.logFor after five batches each to warm up.
func measureLogBatch(c *mlflowClient, exp, name string, opts mlflowOptions) (throughput, error) {
	runIDs := make([]string, opts.logClients)
	for i := range runIDs {
		var err error
		if runIDs[i], err = c.createRun(exp, fmt.Sprintf("%s-%d", name, i), time.Now().UnixMilli()); err != nil {
			return throughput{}, err
		}
	}
	logBatch := func(buf []byte, run string, step int) ([]byte, error) {
		buf = append(buf[:0], `{"run_id":"`...)
		buf = append(buf, run...)
		buf = append(buf, `","metrics":[`...)
		ts := time.Now().UnixMilli()
		rng := rand.New(rand.NewPCG(uint64(step), 1))
		for k := range mlflowBatchSize {
			if k > 0 {
				buf = append(buf, ',')
			}
			buf = appendMetric(buf, "metric_"+strconv.Itoa(k), rng.Float64(), ts, step)
		}
		buf = append(buf, "]}"...)
		_, err := c.post("/runs/log-batch", buf)
		return buf, err
	}
	var (
		wg, warmed sync.WaitGroup
		errOnce    sync.Once
		firstErr   error
		batches    atomic.Int64
		lats       = make([]latencies, opts.logClients)
		begin      = make(chan struct{})
		deadline   time.Time
	)
	setErr := func(err error) { errOnce.Do(func() { firstErr = err }) }
	warmed.Add(opts.logClients)
	for i, run := range runIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			var err error
			step := 0
			for range 5 { // connections, caches, the run's first rows
				if buf, err = logBatch(buf, run, step); err != nil {
					break
				}
				step++
			}
			warmed.Done()
			if err != nil {
				setErr(err)
				return
			}
			<-begin
			for time.Now().Before(deadline) {
				start := time.Now()
				if buf, err = logBatch(buf, run, step); err != nil {
					setErr(err)
					return
				}
				lats[i] = append(lats[i], time.Since(start))
				batches.Add(1)
				step++
			}
		}()
	}
	warmed.Wait()
	start := time.Now()
	deadline = start.Add(opts.logFor)
	close(begin)
	wg.Wait()
	if firstErr != nil {
		return throughput{}, firstErr
	}
	t := throughput{requests: int(batches.Load()), wall: time.Since(start)}
	for _, l := range lats {
		t.lat = append(t.lat, l...)
	}
	return t, nil
}

func mlflowRunName(i int) string { return fmt.Sprintf("search-%05d", i) }

// mlflowRunValues are search run i's 20 metric values, m0 to m19, in [0, 1).
func mlflowRunValues(i int) []float64 {
	rng := rand.New(rand.NewPCG(uint64(i), 20))
	v := make([]float64, mlflowRunMetrics)
	for k := range v {
		v[k] = rng.Float64()
	}
	return v
}

// mlflowExpected is the run names each search must return, in order.
func mlflowExpected(runs int) (filtered, all []string) {
	type run struct {
		i      int
		m3, m7 float64
	}
	var match []run
	for i := range runs {
		v := mlflowRunValues(i)
		if v[3] > 0.5 {
			match = append(match, run{i, v[3], v[7]})
		}
	}
	slices.SortStableFunc(match, func(a, b run) int {
		if a.m7 != b.m7 {
			if a.m7 > b.m7 {
				return -1
			}
			return 1
		}
		return 0
	})
	for _, r := range match[:min(len(match), mlflowSearchMax)] {
		filtered = append(filtered, mlflowRunName(r.i))
	}
	// No order given: newest start time first.
	for i := runs - 1; i >= 0 && len(all) < mlflowSearchMax; i-- {
		all = append(all, mlflowRunName(i))
	}
	return filtered, all
}

// mlflowCheckSearch compares a search answer with the run names it must
// list, in order; it returns what differs, or "".
func mlflowCheckSearch(data []byte, want []string) string {
	var res struct {
		Runs []struct {
			Info struct {
				RunName string `json:"run_name"`
			} `json:"info"`
			Data struct {
				Metrics []struct {
					Key string `json:"key"`
				} `json:"metrics"`
				Params []json.RawMessage `json:"params"`
				Tags   []struct {
					Key string `json:"key"`
				} `json:"tags"`
			} `json:"data"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return "cannot decode the answer: " + err.Error()
	}
	if len(res.Runs) != len(want) {
		return fmt.Sprintf("%d runs, want %d", len(res.Runs), len(want))
	}
	for i, r := range res.Runs {
		if r.Info.RunName != want[i] {
			return fmt.Sprintf("run %d is %q, want %q", i, r.Info.RunName, want[i])
		}
		if len(r.Data.Metrics) != mlflowRunMetrics || len(r.Data.Params) != 2 {
			return fmt.Sprintf("run %q has %d metrics and %d params, want %d and 2", r.Info.RunName, len(r.Data.Metrics), len(r.Data.Params), mlflowRunMetrics)
		}
	}
	return ""
}

func mlflowSearchBody(exp, filter, orderBy string) []byte {
	req := map[string]any{"experiment_ids": []string{exp}, "run_view_type": "ACTIVE_ONLY", "max_results": mlflowSearchMax}
	if filter != "" {
		req["filter"] = filter
	}
	if orderBy != "" {
		req["order_by"] = []string{orderBy}
	}
	b, err := json.Marshal(req)
	check(err)
	return b
}

// appendMetric appends one metric as the mlflow client encodes it (int64
// fields as JSON numbers).
func appendMetric(buf []byte, key string, value float64, ts int64, step int) []byte {
	buf = append(buf, `{"key":"`...)
	buf = append(buf, key...)
	buf = append(buf, `","value":`...)
	buf = strconv.AppendFloat(buf, value, 'g', -1, 64)
	buf = append(buf, `,"timestamp":`...)
	buf = strconv.AppendInt(buf, ts, 10)
	buf = append(buf, `,"step":`...)
	buf = strconv.AppendInt(buf, int64(step), 10)
	return append(buf, '}')
}

// mlflowClient sends MLflow REST requests as JSON over a keep-alive client.
type mlflowClient struct {
	base, auth string
	hc         *http.Client
}

func mlflowHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 2*conns, 2*conns
	// Close idle connections before uvicorn does (after 5 s), so that a
	// request never goes out on a connection the server is closing.
	tr.IdleConnTimeout = 3 * time.Second
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// post sends body to path and returns the answer's body; anything but 200 is an error.
func (c *mlflowClient) post(path string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %s", path, res.Status, bytes.TrimSpace(data[:min(len(data), 300)]))
	}
	return data, nil
}

func (c *mlflowClient) createExperiment(name string) (string, error) {
	b, _ := json.Marshal(map[string]string{"name": name})
	data, err := c.post("/experiments/create", b)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"experiment_id"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("experiments/create answered %q", data)
	}
	return out.ID, nil
}

// createRun creates a run with the tags the mlflow client sets and returns its ID.
func (c *mlflowClient) createRun(exp, name string, startMillis int64) (string, error) {
	b, _ := json.Marshal(map[string]any{"experiment_id": exp, "user_id": "bench", "run_name": name, "start_time": startMillis,
		"tags": []map[string]string{{"key": "mlflow.user", "value": "bench"}, {"key": "mlflow.source.name", "value": "bench.py"},
			{"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.runName", "value": name}}})
	data, err := c.post("/runs/create", b)
	if err != nil {
		return "", err
	}
	var out struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.Run.Info.RunID == "" {
		return "", fmt.Errorf("runs/create answered %.300q", data)
	}
	return out.Run.Info.RunID, nil
}

// benchServer is a server process the benchmark started, in its own process group.
type benchServer struct {
	cmd     *exec.Cmd
	done    chan struct{}
	base    string
	token   string
	version string
	ready   time.Duration
	log     string // its stdout and stderr
}

// logTail is the end of the server's log without the request lines, to
// show with an error.
func (s *benchServer) logTail() string {
	b, _ := os.ReadFile(s.log)
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `"msg":"request"`) && !strings.Contains(line, "INFO:     127.0.0.1:") && line != "" {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep[max(0, len(keep)-15):], "\n")
}

func (s *benchServer) stop() {
	if s.cmd.Process == nil {
		return
	}
	// The whole group: MLflow's server runs uvicorn and its workers as
	// children, which may outlive the leader.
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
		time.Sleep(time.Second)
	case <-time.After(15 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-s.done
}

func startProcess(cmd *exec.Cmd) (*benchServer, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchServer{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	return s, nil
}

// mlflowPython is the Python of a virtual environment with MLflow:
// ENCLAVE_MLFLOW_PYTHON when it is set, otherwise what scripts/mlflow.sh
// prints once it has made sure MLflow is installed.
func mlflowPython(root string) (string, error) {
	if p := os.Getenv("ENCLAVE_MLFLOW_PYTHON"); p != "" {
		return p, nil
	}
	script := filepath.Join(root, "scripts", "mlflow.sh")
	cmd := exec.Command("bash", script)
	cmd.Dir, cmd.Stderr = root, os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w (or set ENCLAVE_MLFLOW_PYTHON to a Python with mlflow)", script, err)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		return "", fmt.Errorf("%s printed no Python path", script)
	}
	return lines[len(lines)-1], nil
}

// startMLflow starts `mlflow server` on SQLite in dir on a free loopback
// port, with its default server (uvicorn) and one worker process per CPU,
// since Enclave is one process using every CPU; telemetry is off.
func startMLflow(root, dir string) (*benchServer, error) {
	python, err := mlflowPython(root)
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(filepath.Dir(python), "mlflow")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("no mlflow next to %s: %w", python, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "server", "--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlflow.db"),
		"--artifacts-destination", filepath.Join(dir, "artifacts"), "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--workers", strconv.Itoa(runtime.NumCPU()),
		// uvicorn's supervisor restarts a worker that does not answer its
		// health check in 5 s, which a worker busy with a long search on a
		// loaded machine may not: that would cut requests off, not speed
		// anything up.
		"--uvicorn-opts", "--timeout-worker-healthcheck 300")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	// Telemetry off; and the job runner off: it serves GenAI features (not
	// tracking) with eight processes that poll all the time, which would
	// take CPU from the workers.
	cmd.Env = append(os.Environ(), "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false")
	started := time.Now()
	s, err := startProcess(cmd)
	if err != nil {
		return nil, err
	}
	s.base, s.log = fmt.Sprintf("http://127.0.0.1:%d", port), logf.Name()
	hc := &http.Client{Timeout: 5 * time.Second}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		select {
		case <-s.done:
			return s, fmt.Errorf("mlflow server exited; its log:\n%s", tailFile(logf.Name(), 2000))
		default:
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("mlflow server did not answer /health in 3 minutes; its log:\n%s", tailFile(logf.Name(), 2000))
		}
		if res, err := hc.Get(s.base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
	}
	s.ready = time.Since(started)
	if res, err := hc.Get(s.base + "/version"); err == nil {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 100))
		res.Body.Close()
		s.version = strings.TrimSpace(string(b))
	}
	return s, nil
}

// startEnclave starts the enclave binary on its embedded default (SQLite,
// local encrypted files) in dir, on a free loopback port over plain HTTP
// as MLflow's server is, signs the administrator in through the CLI
// (one-time credential, password, TOTP), creates the zone and project and
// a service principal with the data-scientist role in the project, and
// signs that in for the token the workload uses.
func startEnclave(bin, dir string) (*benchServer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	env := func(extra ...string) []string {
		var out []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "ENCLAVE_") {
				out = append(out, kv)
			}
		}
		return append(out, extra...)
	}
	cmd := exec.Command(bin, "server", "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--insecure-http")
	cmd.Env, cmd.Stderr = env(), logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	s, err := startProcess(cmd)
	if err != nil {
		return nil, err
	}
	s.log = logf.Name()
	var url, credential string
	banner := make(chan struct{})
	go func() {
		listening := regexp.MustCompile(`is listening on (\S+)`)
		cred := regexp.MustCompile(`^\s+(encboot_\S+)\s*$`)
		sc := bufio.NewScanner(stdout)
		closed := false
		for sc.Scan() {
			line := sc.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				url = m[1]
			}
			if m := cred.FindStringSubmatch(line); m != nil {
				credential = m[1]
			}
			if strings.Contains(line, "sign in with:") && !closed {
				closed = true
				close(banner)
			}
		}
		if !closed {
			close(banner)
		}
	}()
	select {
	case <-banner:
	case <-time.After(time.Minute):
		return s, fmt.Errorf("enclave server printed no banner in a minute; its log:\n%s", tailFile(logf.Name(), 2000))
	}
	if url == "" || credential == "" {
		return s, fmt.Errorf("enclave server printed no address or credential; its log:\n%s", tailFile(logf.Name(), 2000))
	}
	s.base = url + "/mlflow/" + mlflowZone + "/" + mlflowProject

	cli := func(config, stdin string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = env("ENCLAVE_CLIENT_CONFIG=" + config)
		c.Stdin = strings.NewReader(stdin)
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			return "", fmt.Errorf("enclave %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
		}
		return out.String(), nil
	}
	admin := filepath.Join(dir, "admin.yaml")
	password := fmt.Sprintf("bench-harbour-lantern-%d", time.Now().UnixNano())
	steps := []struct {
		stdin string
		args  []string
	}{
		{credential + "\n", []string{"login", "--server", url}},
		{password + "\n", []string{"password", "set"}},
	}
	for _, st := range steps {
		if _, err := cli(admin, st.stdin, st.args...); err != nil {
			return s, err
		}
	}
	out, err := cli(admin, "", "mfa", "enroll", "-o", "json")
	if err != nil {
		return s, err
	}
	var enr struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &enr); err != nil {
		return s, fmt.Errorf("mfa enroll: %w", err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(enr.Secret, at)
		check(err)
		return c
	}
	// The enrolment spends the current code and each works once; the
	// server accepts the next one (a step of clock skew).
	steps = []struct {
		stdin string
		args  []string
	}{
		{"", []string{"mfa", "confirm", code(time.Now())}},
		{password + "\n" + code(time.Now().Add(30*time.Second)) + "\n", []string{"login", "--name", "admin"}},
		{"", []string{"zone", "create", mlflowZone, "--region", "eu"}},
		{"", []string{"project", "create", mlflowProject, "--zone", mlflowZone, "--owner", "bench@example.org", "--cost-center", "cc-bench"}},
		{"", []string{"service-principal", "create", "mlflow-bench", "--kind", "workspace"}},
		{"", []string{"access", "grant", "--service-principal", "mlflow-bench", "--role", "data-scientist",
			"--scope", "/zones/" + mlflowZone + "/projects/" + mlflowProject}},
	}
	for _, st := range steps {
		if _, err := cli(admin, st.stdin, st.args...); err != nil {
			return s, err
		}
	}
	out, err = cli(admin, "", "service-principal", "secret", "create", "mlflow-bench", "-o", "json")
	if err != nil {
		return s, err
	}
	var sec struct {
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &sec); err != nil || sec.ClientSecret == "" {
		return s, fmt.Errorf("service-principal secret create: %q %v", out, err)
	}
	spConfig := filepath.Join(dir, "sp.yaml")
	if _, err := cli(spConfig, sec.ClientSecret+"\n", "login", "--server", url, "--client-id", "mlflow-bench"); err != nil {
		return s, err
	}
	raw, err := os.ReadFile(spConfig)
	if err != nil {
		return s, err
	}
	var saved struct {
		Token string `yaml:"token"`
	}
	if err := yaml.Unmarshal(raw, &saved); err != nil || saved.Token == "" {
		return s, fmt.Errorf("no token in %s: %v", spConfig, err)
	}
	s.token, s.ready = saved.Token, time.Since(started)
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	return string(b[max(0, len(b)-n):])
}

// moduleRoot is the directory of this module's go.mod, from the working
// directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/enclave-ml/enclave\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the benchmark inside the enclave module (go run ./bench)")
		}
		dir = parent
	}
}

func (l latencies) mean() time.Duration {
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	return sum / time.Duration(max(1, len(l)))
}

// printMLflowSide prints one side's numbers as soon as they are known.
func printMLflowSide(s *mlflowSide, opts mlflowOptions) {
	what := s.name
	if s.version != "" {
		what += " " + s.version
	}
	switch s.name {
	case "MLflow":
		what += fmt.Sprintf(" (mlflow server, uvicorn, --workers %d = CPUs, SQLite, job runner off)", runtime.NumCPU())
	default:
		what += " (enclave server, one Go process with every CPU, SQLite, plain HTTP on loopback)"
	}
	if s.setup > 0 {
		what += fmt.Sprintf(": server up in %v", s.setup.Round(10*time.Millisecond))
	}
	fmt.Printf("\n%s\n", what)
	if len(s.createRun) > 0 {
		fmt.Printf("  create-run: p50 %v, p95 %v, mean %v (%d sequential)\n", ms(s.createRun.pct(0.5)), ms(s.createRun.pct(0.95)), ms(s.createRun.mean()), len(s.createRun))
	}
	if len(s.createRunFresh) > 0 {
		fmt.Printf("  create-run, new connection each: p50 %v, p95 %v, mean %v (%d sequential)\n", ms(s.createRunFresh.pct(0.5)), ms(s.createRunFresh.pct(0.95)), ms(s.createRunFresh.mean()), len(s.createRunFresh))
	}
	for _, t := range []struct {
		name string
		t    throughput
	}{{"log-batch", s.logBatch}, {"log-batch, new connection each", s.logBatchFresh}} {
		if t.t.requests > 0 {
			fmt.Printf("  %s: %.0f batches/s, %.0f metrics/s (%d clients, %d metrics a batch, %d batches in %v; latency p50 %v, p95 %v)\n",
				t.name, t.t.rate(), t.t.rate()*mlflowBatchSize, opts.logClients, mlflowBatchSize, t.t.requests, t.t.wall.Round(time.Millisecond),
				ms(t.t.lat.pct(0.5)), ms(t.t.lat.pct(0.95)))
		}
	}
	if s.loaded > 0 {
		fmt.Printf("  setup: %d runs (create-run + log-batch of %d metrics, 2 params, 2 tags) loaded in %v by %d clients (%.0f runs/s)\n",
			s.loaded, mlflowRunMetrics, s.load.Round(100*time.Millisecond), opts.loadClients, float64(s.loaded)/s.load.Seconds())
	}
	for _, q := range []struct {
		name string
		l    latencies
	}{{fmt.Sprintf("search %q order by %q", mlflowFilter, mlflowOrderBy), s.searchFiltered}, {"search, no filter", s.searchAll}} {
		if len(q.l) > 0 {
			fmt.Printf("  %s, max_results %d: p50 %v, p95 %v, mean %v (%d runs)\n", q.name, mlflowSearchMax, ms(q.l.pct(0.5)), ms(q.l.pct(0.95)), ms(q.l.mean()), len(q.l))
		}
	}
	for _, n := range s.notes {
		fmt.Printf("  WRONG ANSWER: %s\n", n)
	}
	if s.err != nil {
		fmt.Printf("  %s half failed: %v\n", s.name, s.err)
	}
}

// printMLflowComparison prints every measure both sides reached with the
// ratio, and the goals.
func printMLflowComparison(ml, enc *mlflowSide, opts mlflowOptions) {
	fmt.Printf("\nMLflow API, MLflow against Enclave (%d runs searched; ratios: how many times faster Enclave is):\n", opts.runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tMLFLOW\tENCLAVE\tENCLAVE FASTER BY")
	na := func(ok bool, s string) string {
		if !ok {
			return "—"
		}
		return s
	}
	ratio := func(ok bool, r float64) string {
		if !ok {
			return "—"
		}
		return fmt.Sprintf("%.1fx", r)
	}
	both := func(a, b bool) bool { return a && b }
	rate := func(name string, a, b throughput) {
		fmt.Fprintf(tw, "%s, %d clients, %d metrics a batch\t%s\t%s\t%s\n", name, opts.logClients, mlflowBatchSize,
			na(a.requests > 0, fmt.Sprintf("%.0f batches/s (%.0f metrics/s)", a.rate(), a.rate()*mlflowBatchSize)),
			na(b.requests > 0, fmt.Sprintf("%.0f batches/s (%.0f metrics/s)", b.rate(), b.rate()*mlflowBatchSize)),
			ratio(both(a.requests > 0, b.requests > 0), b.rate()/a.rate()))
	}
	rate("log-batch", ml.logBatch, enc.logBatch)
	rate("log-batch, new connection each", ml.logBatchFresh, enc.logBatchFresh)
	lat := func(name string, a, b latencies) {
		for _, p := range []struct {
			what string
			f    func(latencies) time.Duration
		}{{"p50", func(l latencies) time.Duration { return l.pct(0.5) }}, {"p95", func(l latencies) time.Duration { return l.pct(0.95) }}, {"mean", latencies.mean}} {
			var x, y time.Duration
			if len(a) > 0 {
				x = p.f(a)
			}
			if len(b) > 0 {
				y = p.f(b)
			}
			fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", name, p.what, na(x > 0, ms(x)), na(y > 0, ms(y)), ratio(x > 0 && y > 0, float64(x)/float64(y)))
		}
	}
	lat("create-run", ml.createRun, enc.createRun)
	lat("create-run, new connection each", ml.createRunFresh, enc.createRunFresh)
	lat(fmt.Sprintf("search-runs %q by %q", mlflowFilter, mlflowOrderBy), ml.searchFiltered, enc.searchFiltered)
	lat("search-runs, no filter", ml.searchAll, enc.searchAll)
	fmt.Fprintf(tw, "setup: load %d runs, %d clients\t%s\t%s\t%s\n", opts.runs, opts.loadClients,
		na(ml.loaded > 0, ml.load.Round(100*time.Millisecond).String()), na(enc.loaded > 0, enc.load.Round(100*time.Millisecond).String()),
		ratio(ml.loaded > 0 && enc.loaded > 0, ml.load.Seconds()/enc.load.Seconds()))
	check(tw.Flush())
	fmt.Println("Requests go over kept-alive connections, as the mlflow client sends them. On such a connection MLflow's server\n" +
		"(uvicorn) holds each response's body until the client's delayed ACK, about 40 ms, and the mlflow client waits\n" +
		"for it too; the \"new connection each\" rows show MLflow without that wait. The log-batch goal takes the smaller\n" +
		"of the two ratios.")

	goal := func(what string, ok bool, r float64) {
		switch {
		case !ok:
			fmt.Printf("goal: %s at least 10x MLflow's: not measured\n", what)
		case r >= 10:
			fmt.Printf("goal: %s at least 10x MLflow's: %.1fx, goal met\n", what, r)
		default:
			fmt.Printf("goal: %s at least 10x MLflow's: %.1fx, goal NOT met\n", what, r)
		}
	}
	// Like for like, the smaller of the two ratios: MLflow's best case.
	goal("log-batch throughput", ml.logBatchFresh.requests > 0 && enc.logBatchFresh.requests > 0,
		min(enc.logBatch.rate()/ml.logBatch.rate(), enc.logBatchFresh.rate()/ml.logBatchFresh.rate()))
	p50 := func(a, b latencies) (bool, float64) {
		if len(a) == 0 || len(b) == 0 {
			return false, 0
		}
		return true, float64(a.pct(0.5)) / float64(b.pct(0.5))
	}
	ok, r := p50(ml.searchFiltered, enc.searchFiltered)
	goal("filtered search-runs speed (p50)", ok, r)
	ok, r = p50(ml.searchAll, enc.searchAll)
	goal("unfiltered search-runs speed (p50)", ok, r)
	for _, s := range []*mlflowSide{ml, enc} {
		if s.err != nil {
			fmt.Printf("%s half failed: %v\n", s.name, s.err)
		}
		for _, n := range s.notes {
			fmt.Printf("%s gave a wrong answer: %s\n", s.name, n)
		}
	}
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
