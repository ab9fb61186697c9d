// Package server assembles Enclave: it opens the database, applies
// migrations, bootstraps the administrator, sets up TLS, and runs the API
// and the background workers until it is closed. It is the only place that
// knows every service and adapter; tests start it on port 0 in-process.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/buckets"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/localca"
	"github.com/enclave-ml/enclave/internal/mlflowapi"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/outbox"
	"github.com/enclave-ml/enclave/internal/policy"
	_ "github.com/enclave-ml/enclave/internal/postgres" // registers postgres://
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/siem"
	_ "github.com/enclave-ml/enclave/internal/siem/file"    // registers file sinks
	_ "github.com/enclave-ml/enclave/internal/siem/syslog"  // registers syslog sinks
	_ "github.com/enclave-ml/enclave/internal/siem/webhook" // registers webhook sinks
	_ "github.com/enclave-ml/enclave/internal/sqlite"       // registers sqlite:
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Main is a running Enclave server.
type Main struct {
	Config  config.Config
	Version string
	// Out receives the human-readable banner: where to connect, the CA
	// file, and on first start the administrator's one-time credential.
	Out    io.Writer
	Logger *slog.Logger
	Clock  enclave.Clock

	// URL is the address the server listens on, known once Run returns.
	URL string
	// CAFile is the local CA certificate clients should trust, if the server
	// issued its own certificate.
	CAFile string

	DB       *sqlstore.DB
	Services *Services

	httpServer *http.Server
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// Services are the domain services, wired to their stores.
type Services struct {
	Audit *audit.Recorder
	// AuditChain signs checkpoints with an ephemeral key until Run loads
	// the platform's key; AuditReader serves searches, verification, export.
	AuditChain  *audit.Chain
	AuditReader *audit.Reader
	Access      *access.Service
	Identity    *identity.Service
	Zones       *zone.Service
	Queue       *workqueue.Queue
	Outbox      *outbox.Outbox
	Sinks       *siem.Service
	// Handlers are the work queue's task handlers, by kind.
	Handlers map[string]workqueue.Handler
	// Receivers are the outbox's receivers, by topic.
	Receivers map[string]outbox.Receiver
	// Buckets, Objects and Catalog are the data layer.
	Buckets *buckets.Set
	Objects *objects.Service
	Catalog *catalog.Service
	// Policy holds the guardrails every change passes through.
	Policy *policy.Service
	// Airlock moves data into and out of projects.
	Airlock *airlock.Service
	// Tracking and Registry are experiment tracking and the model
	// registry, served by the MLflow-compatible API.
	Tracking *tracking.Service
	Registry *registry.Service
	// configErr is a configuration error found while wiring the services.
	configErr error
}

// NewServices wires the services over db.
func NewServices(db *sqlstore.DB, clock enclave.Clock, cfg config.Config) *Services {
	rec := &audit.Recorder{Store: &sqlstore.AuditStore{DB: db}, Clock: clock}
	queue := &workqueue.Queue{Store: &sqlstore.TaskStore{DB: db}, Tx: db, Audit: rec, Clock: clock}
	svc := &Services{
		Audit: rec,
		Access: &access.Service{Store: &sqlstore.AccessStore{DB: db}, Tx: db, Audit: rec, Queue: queue, Clock: clock,
			MinElevation: cfg.Access.MinElevation},
		Identity:  &identity.Service{Store: &sqlstore.IdentityStore{DB: db}, Tx: db, Audit: rec, Clock: clock, TokenTTL: cfg.Auth.TokenTTL, SessionTTL: cfg.Auth.SessionTTL, ServiceTokenTTL: cfg.Auth.ServiceTokenTTL},
		Zones:     &zone.Service{Store: &sqlstore.ZoneStore{DB: db}, Tx: db, Audit: rec, Clock: clock},
		Queue:     queue,
		Outbox:    &outbox.Outbox{Store: &sqlstore.OutboxStore{DB: db}, Clock: clock},
		Handlers:  map[string]workqueue.Handler{},
		Receivers: map[string]outbox.Receiver{},
	}
	_, ephemeral, _ := ed25519.GenerateKey(rand.Reader)
	svc.AuditChain = &audit.Chain{Store: rec.Store, Tx: db, Clock: clock, Key: ephemeral}
	svc.AuditReader = &audit.Reader{Chain: svc.AuditChain, Recorder: rec, Authorize: func(ctx context.Context, perm, scope string) error {
		return svc.Access.Authorize(ctx, access.Permission(perm), access.Scope(scope))
	}}
	svc.Sinks = &siem.Service{Store: &sqlstore.SinkStore{DB: db}, Events: rec.Store, Leases: &sqlstore.OutboxStore{DB: db},
		Tx: db, Audit: rec, Clock: clock, Env: siem.Env{FileDir: filepath.Join(cfg.DataDir, "audit")}}
	svc.Handlers[access.ExpireElevationTask] = svc.Access.ExpireElevation
	svc.Zones.OnScopeDelete = append(svc.Zones.OnScopeDelete, svc.Access.ScopeDeleted)
	newDataServices(svc, db, clock, cfg)
	newPolicyService(svc, db, clock)
	newTrackingServices(svc, db, clock, cfg)
	if err := newAirlockService(svc, db, clock, cfg); err != nil {
		svc.configErr = err
	} else {
		svc.Airlock.Admission = svc.Policy
	}
	return svc
}

// API returns the REST API over these services. Callers set logging,
// metrics and limits; tests use it as it is.
func (s *Services) API(db *sqlstore.DB) *api.Server {
	return &api.Server{Zones: s.Zones, Identity: s.Identity, Queue: s.Queue, Access: s.Access, Authorizer: s.Access,
		Audit: s.AuditReader, Idempotency: &sqlstore.IdempotencyStore{DB: db}, Ready: db.Ping, Clock: s.Zones.Clock,
		Sinks: s.Sinks, WriteGate: api.FailClosedGate(s.Sinks.WriteGate), Catalog: s.Catalog, Objects: s.Objects, Policy: s.Policy,
		Airlock: s.Airlock, Tracking: s.Tracking, Models: s.Registry,
		Mounts: map[string]http.Handler{mlflowapi.Prefix: s.MLflow().Handler()}}
}

// OpenDatabase opens the configured database within its start-up timeout,
// creating the data directory for the embedded default.
func OpenDatabase(ctx context.Context, cfg config.Config) (*sqlstore.DB, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", cfg.DataDir, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.DatabaseTimeout)
	defer cancel()
	db, err := sqlstore.Open(ctx, cfg.DatabaseURL())
	if err != nil {
		return nil, fmt.Errorf("database %s is not usable: %w", config.DatabaseURL(cfg.DatabaseURL()), err)
	}
	return db, nil
}

// Run starts the server and returns once it is serving.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Out == nil {
		m.Out = io.Discard
	}
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	if m.DB, err = OpenDatabase(ctx, cfg); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.DB.Close()
		}
	}()
	if cfg.AutoMigrate {
		applied, err := m.DB.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("migrate database: %w", err)
		}
		if len(applied) > 0 {
			m.Logger.Info("applied migrations", "versions", applied)
		}
	} else if pending, err := m.pendingMigrations(ctx); err != nil || pending > 0 {
		return fmt.Errorf("database schema is not current (%d pending, %v): run enclave migrate", pending, err)
	}
	m.Services = NewServices(m.DB, m.Clock, cfg)
	if m.Services.configErr != nil {
		return m.Services.configErr
	}
	if err := m.loadAuditKey(ctx, cfg); err != nil {
		return err
	}
	if err := m.loadKeys(cfg); err != nil {
		return err
	}

	ln, scheme, err := m.listen(cfg)
	if err != nil {
		return err
	}
	m.URL = scheme + "://" + displayAddr(ln.Addr())

	created, err := m.Services.Identity.Bootstrap(ctx, m.showCredential)
	if err != nil {
		ln.Close()
		return fmt.Errorf("bootstrap: %w", err)
	}
	if !created {
		m.banner("")
	}

	reg := prometheus.NewRegistry()
	scannerGauge(reg, m.Services.Airlock)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(m.DB.SQL, "enclave"), m.Services.Sinks)
	srv := m.Services.API(m.DB)
	ml := m.Services.MLflow()
	ml.Logger, ml.Version = m.Logger, m.Version
	srv.Mounts[mlflowapi.Prefix] = ml.Handler()
	srv.Logger, srv.Registry, srv.MaxBodyBytes, srv.Clock, srv.Version = m.Logger, reg, cfg.HTTP.MaxBodyBytes, m.Clock, m.Version
	m.httpServer = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.startBackground(runCtx, cfg)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("server stopped", "error", err)
		}
	}()
	m.Logger.Info("serving", "url", m.URL, "database", config.DatabaseURL(cfg.DatabaseURL()))
	return nil
}

func (m *Main) pendingMigrations(ctx context.Context) (int, error) {
	st, err := m.DB.MigrationStatus(ctx)
	n := 0
	for _, s := range st {
		if s.AppliedAt == nil {
			n++
		}
	}
	return n, err
}

func (m *Main) listen(cfg config.Config) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if cfg.TLS.InsecureHTTP {
		m.Logger.Warn("serving plain HTTP on loopback; do not use this for real data", "listen", cfg.Listen)
		return ln, "http", nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS.Cert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			ln.Close()
			return nil, "", fmt.Errorf("load TLS certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	} else {
		host, _, _ := net.SplitHostPort(cfg.Listen)
		files, pair, err := localca.Ensure(filepath.Join(cfg.DataDir, "tls"), append([]string{host}, cfg.TLS.Hosts...), m.Clock.Now())
		if err != nil {
			ln.Close()
			return nil, "", err
		}
		tc.Certificates = []tls.Certificate{pair}
		if m.CAFile, err = filepath.Abs(files.CACert); err != nil {
			m.CAFile = files.CACert
		}
	}
	return tls.NewListener(ln, tc), "https", nil
}

func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", fmt.Sprint(ta.Port))
}

func (m *Main) loginHint() string {
	hint := "enclave login --server " + m.URL
	if m.CAFile != "" {
		hint += " --ca-file " + m.CAFile
	}
	return hint
}

func (m *Main) banner(extra string) {
	fmt.Fprintf(m.Out, "Enclave %s is listening on %s\n", m.Version, m.URL)
	fmt.Fprintf(m.Out, "  database:       %s\n", config.DatabaseURL(m.Config.DatabaseURL()))
	if m.CAFile != "" {
		fmt.Fprintf(m.Out, "  CA certificate: %s (clients trust this file)\n", m.CAFile)
	}
	fmt.Fprint(m.Out, extra)
	fmt.Fprintf(m.Out, "  sign in with:   %s\n", m.loginHint())
}

// showCredential prints the administrator's one-time credential. It runs
// inside the bootstrap transaction: if printing fails, nothing commits.
func (m *Main) showCredential(name, credential string) error {
	m.banner(fmt.Sprintf("\n  First start: created the platform administrator %q.\n"+
		"  One-time credential (shown only now, stored only as a hash):\n\n      %s\n\n", name, credential))
	if f, ok := m.Out.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	return nil
}

func (m *Main) startBackground(ctx context.Context, cfg config.Config) {
	owner := instanceID()
	w := &workqueue.Worker{Store: &sqlstore.TaskStore{DB: m.DB}, Clock: m.Clock, Owner: owner,
		Handlers: m.Services.Handlers, Lease: cfg.Worker.Lease, Concurrency: cfg.Worker.Concurrency, Logger: m.Logger}
	d := &outbox.Dispatcher{Store: &sqlstore.OutboxStore{DB: m.DB}, Clock: m.Clock, Owner: owner,
		Receivers: m.Services.Receivers, Lease: cfg.Worker.Lease, Logger: m.Logger}
	m.Services.Sinks.Logger = m.Logger
	sealer := &audit.Sealer{Store: m.Services.AuditChain.Store, Logger: m.Logger}
	for _, run := range []func(context.Context){w.Run, d.Run, sealer.Run, m.checkpointLoop, m.Services.Sinks.Run, m.sweepLoop, m.scanLoop, m.metricsFlushLoop} {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			run(ctx)
		}()
	}
}

// instanceID names this process as a lease owner.
func instanceID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Close stops accepting requests, lets those in flight finish within the
// shutdown timeout, stops the workers and closes the database.
func (m *Main) Close() error {
	if m.httpServer == nil {
		return nil
	}
	timeout := m.Config.HTTP.ShutdownTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := m.httpServer.Shutdown(ctx)
	m.cancel()
	m.wg.Wait()
	if cerr := m.DB.Close(); err == nil {
		err = cerr
	}
	m.Logger.Info("stopped")
	return err
}
