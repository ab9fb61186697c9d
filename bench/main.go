// Command bench measures the platform core's hot paths against a baseline
// measured in the same run, and prints each as a ratio with the absolute
// numbers. It runs on SQLite in a temporary directory, and on PostgreSQL
// too when ENCLAVE_TEST_POSTGRES names a server.
//
//	go run ./bench [-n 2000] [-only policy|deid|mlflow]
//
// The MLflow benchmark (-only mlflow) runs only when asked: it compares
// Enclave's MLflow-compatible API with MLflow's own tracking server, which
// scripts/mlflow.sh installs (or ENCLAVE_MLFLOW_PYTHON names).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlite"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/zone"
)

func main() {
	n := flag.Int("n", 2000, "operations per measurement")
	auditN := flag.Int("audit-n", 5000, "audit records appended per measurement")
	verifyN := flag.Int("verify-n", 1000000, "audit records verified")
	dataMB := flag.Int64("data-mb", 1024, "size of the file the data-stream benchmark moves, in MiB")
	only := flag.String("only", "", "run one benchmark only: policy, deid or mlflow")
	deidMB := flag.Int64("deid-mb", 256, "size of the synthetic patient CSV the de-identification benchmark scans, in MiB")
	deidRuns := flag.Int("deid-runs", 2, "runs of each de-identification measurement (the best counts)")
	mlflowRuns := flag.Int("mlflow-runs", 10000, "runs (20 metrics each) in the experiment the MLflow benchmark searches")
	mlflowFor := flag.Duration("mlflow-log-for", 10*time.Second, "how long the MLflow benchmark's log-batch clients log, on each side")
	mlflowReps := flag.Int("mlflow-search-reps", 20, "times the MLflow benchmark times each search, on each side")
	flag.Parse()
	dir, err := os.MkdirTemp("", "enclave-bench-")
	check(err)
	defer os.RemoveAll(dir)
	if *only == "deid" {
		benchDeid(dir, *deidMB<<20, *deidRuns)
		return
	}
	if *only == "mlflow" {
		benchMLflow(dir, mlflowOptions{runs: *mlflowRuns, loadClients: 8, logClients: 4, logFor: *mlflowFor,
			createRuns: 200, searchReps: *mlflowReps, searchFor: time.Minute})
		return
	}
	backends := map[string]string{"sqlite": sqlite.URL(filepath.Join(dir, "bench.db"))}
	order := []string{"sqlite"}
	if pg := os.Getenv("ENCLAVE_TEST_POSTGRES"); pg != "" {
		backends["postgres"] = freshPostgres(pg)
		order = append(order, "postgres")
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tOPERATION\tENCLAVE\tBASELINE\tRATIO (enclave/baseline)")
	row := func(backend string, r result, ops int) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fx\n", backend, r.name, per(r.enclave, ops), per(r.baseline, ops)+" "+r.baselineName,
			float64(r.enclave)/float64(r.baseline))
	}
	for _, name := range order {
		if *only != "" {
			break
		}
		for _, r := range runAll(backends[name], *n) {
			row(name, r, *n)
		}
		db, err := sqlstore.Open(context.Background(), backends[name])
		check(err)
		row(name, benchAuditAppend(db, *auditN, 4), *auditN)
		db.Close()
	}
	admissions := map[string][]admissionResult{}
	for _, name := range order {
		admissions[name] = benchAdmission(backends[name], *n)
	}
	if *only == "" {
		vr, rate := benchAuditVerify(*verifyN)
		row("memory", vr, *verifyN)
		for _, r := range benchDataStreams(dir, *dataMB<<20) {
			row("local disk", r, 1)
		}
		check(tw.Flush())
		fmt.Printf("\naudit verification: %.0f records/s (goal: 500000/s)\n", rate)
	}
	fmt.Println("\npolicy admission, 50 assigned policies against none (goal: under 200µs added at p99):")
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tMEASURE\tP50 (50 / none)\tP99 (50 / none)\tADDED AT P50\tADDED AT P99")
	for _, name := range order {
		for _, r := range admissions[name] {
			w50, n50, w99, n99 := r.with.pct(0.5), r.none.pct(0.5), r.with.pct(0.99), r.none.pct(0.99)
			fmt.Fprintf(tw, "%s\t%s\t%v / %v (%.2fx)\t%v / %v (%.2fx)\t%v\t%v\n", name, r.name,
				w50.Round(time.Microsecond), n50.Round(time.Microsecond), float64(w50)/float64(n50),
				w99.Round(time.Microsecond), n99.Round(time.Microsecond), float64(w99)/float64(n99),
				(w50 - n50).Round(time.Microsecond), (w99 - n99).Round(time.Microsecond))
		}
	}
	check(tw.Flush())
	if *only == "" {
		benchDeid(dir, *deidMB<<20, *deidRuns)
	}
}

type result struct {
	name, baselineName string
	enclave, baseline  time.Duration
}

func per(d time.Duration, n int) string {
	op := d / time.Duration(n)
	return fmt.Sprintf("%v/op (%.0f/s)", op.Round(100*time.Nanosecond), float64(n)/d.Seconds())
}

func runAll(url string, n int) []result {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, url)
	check(err)
	defer db.Close()
	_, err = db.Migrate(ctx)
	check(err)
	svc := server.NewServices(db, nil, config.Default())
	var cred string
	_, err = svc.Identity.Bootstrap(ctx, func(_, c string) error { cred = c; return nil })
	check(err)
	// MFA is required for people by default, which would limit the bootstrap
	// session to enrolment; the benchmark measures requests, not sign-in.
	off := false
	_, err = svc.Identity.UpdateSettings(enclave.WithActor(ctx, enclave.SystemActor("bench")), identity.SettingsUpdate{MFARequiredForPeople: &off})
	check(err)
	login, err := svc.Identity.Login(ctx, identity.AdminName, cred)
	check(err)
	a := svc.API(db)
	a.Logger = slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	hc := srv.Client()
	call := func(method, path, body string, auth bool) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer "+login.Secret)
		}
		res, err := hc.Do(req)
		check(err)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode >= 300 {
			check(fmt.Errorf("%s %s: %d", method, path, res.StatusCode))
		}
	}
	var out []result

	// Creating a zone through the API (authentication, validation, a
	// transaction with the zone, its two environments and the audit record)
	// against inserting the same three rows in a bare transaction.
	raw := &sqlstore.ZoneStore{DB: db}
	createAPI := timeIt(n, func(i int) {
		call("POST", "/api/v1/zones", fmt.Sprintf(`{"name":"api-%d","region":"eu"}`, i), true)
	})
	createRaw := timeIt(n, func(i int) {
		now := time.Now()
		check(db.InTx(ctx, func(ctx context.Context) error {
			z := &zone.Zone{ID: fmt.Sprint("raw-", i), Name: fmt.Sprint("raw-", i), DisplayName: "x", Region: "eu", State: zone.Active, CreatedAt: now, UpdatedAt: now}
			if err := raw.CreateZone(ctx, z); err != nil {
				return err
			}
			for _, e := range []zone.EnvironmentName{zone.Staging, zone.QA} {
				if err := raw.CreateEnvironment(ctx, &zone.Environment{ID: fmt.Sprint(z.ID, e), Name: e, ZoneID: z.ID,
					CertifiedClassification: "internal", State: zone.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		}))
	})
	out = append(out, result{"create zone (HTTP API, audited)", "(bare SQL transaction)", createAPI, createRaw})

	// Reading a zone through the API against reading it from the store.
	readAPI := timeIt(n, func(i int) { call("GET", fmt.Sprintf("/api/v1/zones/api-%d", i%n), "", true) })
	readRaw := timeIt(n, func(i int) {
		_, err := raw.GetZone(ctx, fmt.Sprintf("api-%d", i%n))
		check(err)
	})
	out = append(out, result{"get zone (HTTP API)", "(store read)", readAPI, readRaw})

	// The cost of authentication: an authenticated trivial route against the unauthenticated health check.
	who := timeIt(n, func(int) { call("GET", "/api/v1/auth/whoami", "", true) })
	health := timeIt(n, func(int) { call("GET", "/healthz", "", false) })
	out = append(out, result{"authenticated request (whoami)", "(GET /healthz)", who, health})
	return out
}

func timeIt(n int, fn func(i int)) time.Duration {
	start := time.Now()
	for i := range n {
		fn(i)
	}
	return time.Since(start)
}

func freshPostgres(base string) string {
	admin, err := sql.Open("pgx", base)
	check(err)
	defer admin.Close()
	name := fmt.Sprintf("enclave_bench_%d", time.Now().UnixNano())
	_, err = admin.Exec("CREATE DATABASE " + name)
	check(err)
	i := strings.LastIndex(base, "/")
	q := ""
	if j := strings.Index(base[i:], "?"); j >= 0 {
		q = base[i+j:]
	}
	return base[:i] + "/" + name + q
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
