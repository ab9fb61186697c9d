// Package api is Enclave's native REST transport under /api/v1, plus the
// operational endpoints /healthz, /readyz and /metrics. Handlers only decode,
// call one service method and encode; every route declares the permission
// it needs in the route table (routes.go), and the table is the single
// source of the router, the authorization check and the OpenAPI document.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/idempotency"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxBodyBytes bounds request bodies unless configured.
const DefaultMaxBodyBytes = 1 << 20

// Server holds the services the API exposes.
type Server struct {
	Zones    *zone.Service
	Identity *identity.Service
	Queue    *workqueue.Queue
	Access   *access.Service
	Audit    *audit.Reader
	Sinks    *siem.Service
	Catalog  *catalog.Service
	Objects  *objects.Service
	Policy   *policy.Service
	Airlock  *airlock.Service
	Tracking *tracking.Service
	Models   *registry.Service
	// Mounts are other transports served beside this API, by path prefix
	// (the MLflow-compatible API under /mlflow/): they share request IDs,
	// logs, metrics and panic recovery.
	Mounts      map[string]http.Handler
	Authorizer  access.Authorizer
	Idempotency idempotency.Store
	// WriteGate, when set, is asked before every mutating request; an error
	// refuses the request. Audit sinks in fail-closed mode use it to refuse
	// changes while no sink can record them.
	WriteGate func(ctx context.Context) error
	// Ready reports whether the server can serve (the database answers).
	Ready        func(ctx context.Context) error
	Logger       *slog.Logger
	Registry     *prometheus.Registry
	MaxBodyBytes int64
	Clock        enclave.Clock
	Version      string

	metrics *httpMetrics
	doc     openAPIDoc
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler {
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	s.metrics = newHTTPMetrics(s.Registry)
	mux := http.NewServeMux()
	for pattern, rs := range groupByPattern(s.routes()) {
		mux.Handle(pattern, s.dispatch(pattern, rs))
	}
	for prefix, h := range s.Mounts {
		mux.Handle(prefix, s.mounted(prefix, h))
	}
	mux.Handle("/", s.notFound())
	return s.observe(mux)
}

// routeCtx is the route a request matched, for logs and metrics.
type routeKey struct{}

type routeInfo struct {
	pattern  string
	actorCtx context.Context
}

func routeOf(ctx context.Context) *routeInfo {
	ri, _ := ctx.Value(routeKey{}).(*routeInfo)
	return ri
}

const requestTimeout = 60 * time.Second

// mounted serves a mounted transport, naming its prefix as the route in
// logs and metrics.
func (s *Server) mounted(prefix string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri := routeOf(r.Context()); ri != nil {
			ri.pattern = prefix + "…"
		}
		h.ServeHTTP(w, r)
	})
}
