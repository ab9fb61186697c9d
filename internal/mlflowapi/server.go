// Package mlflowapi is the MLflow-compatible transport: the REST API the
// official mlflow client (3.x) calls, under a tracking URI that names the
// project, http(s)://HOST/mlflow/ZONE/PROJECT. The client appends
// /api/2.0/mlflow/…, /api/2.0/mlflow-artifacts/… and /api/3.0/mlflow/… to
// it. Handlers decode MLflow's JSON, call one tracking or registry service
// method and encode MLflow's JSON; errors use MLflow's error codes, because
// the client's control flow depends on them (set_experiment creates on
// RESOURCE_DOES_NOT_EXIST, registration carries on past
// RESOURCE_ALREADY_EXISTS).
//
// Authentication is the platform's: the client's MLFLOW_TRACKING_TOKEN
// arrives as a Bearer token, or MLFLOW_TRACKING_PASSWORD as the password
// of HTTP Basic. Every route declares the permission it needs at the
// project. A caller who cannot even read the project's experiments (or
// models) is told the resource does not exist, so that IDs of other
// projects leak nothing; a reader who tries to write is refused with
// PERMISSION_DENIED. Both refusals are audited.
package mlflowapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/registry"
	"github.com/enclave-ml/enclave/internal/tracking"
)

// Prefix is where the tracking URIs of projects start.
const Prefix = "/mlflow/"

// DefaultMaxBodyBytes bounds a JSON request body (MLflow's log-batch limit
// is 1 MB of entities; requests carry some framing on top).
const DefaultMaxBodyBytes = 4 << 20

const requestTimeout = 60 * time.Second

// Authenticator resolves a secret into an actor.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*enclave.Actor, error)
}

// Server serves the MLflow API of every project.
type Server struct {
	Tracking   *tracking.Service
	Registry   *registry.Service
	Identity   Authenticator
	Authorizer access.Authorizer
	// Audit records refusals (permission denied, policy denied).
	Audit *audit.Reader
	// WriteGate, when set, is asked before every change (fail-closed
	// audit sinks).
	WriteGate    func(ctx context.Context) error
	Logger       *slog.Logger
	MaxBodyBytes int64
	Version      string

	routes map[string][]route
}

// route is one endpoint of the MLflow API.
type route struct {
	method string
	// path is below the project's tracking URI, e.g.
	// "/api/2.0/mlflow/runs/get"; a trailing "/" takes the rest of the
	// path as a parameter.
	path string
	perm access.Permission
	// hide is the read permission whose absence makes the resource not
	// found rather than forbidden.
	hide   access.Permission
	stream bool
	handle func(c *call) error
}

// call is one request being served.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context
	zone    string
	project string
	// rest is what a prefix route matched beyond its path.
	rest string
	s    *Server
}

// Handler serves every route under Prefix.
func (s *Server) Handler() http.Handler {
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.routes = map[string][]route{}
	for _, rt := range s.table() {
		if !rt.perm.Valid() {
			panic("mlflowapi: route " + rt.path + " declares no valid permission")
		}
		s.routes[rt.path] = append(s.routes[rt.path], rt)
	}
	return http.HandlerFunc(s.serveHTTP)
}

// Routes lists the routes, "METHOD path permission", for tests and docs.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.table() {
		out = append(out, rt.method+" "+rt.path+" "+string(rt.perm))
	}
	return out
}

// match finds the routes of a path below a project: exact paths first,
// then the longest prefix route.
func (s *Server) match(p string) ([]route, string) {
	if rs, ok := s.routes[p]; ok {
		return rs, ""
	}
	best := ""
	for k := range s.routes {
		if strings.HasSuffix(k, "/") && strings.HasPrefix(p, k) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return nil, ""
	}
	return s.routes[best], p[len(best):]
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), Prefix)
	if !ok {
		writeError(w, errEndpoint(r))
		return
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 {
		writeError(w, errEndpoint(r))
		return
	}
	c := &call{w: w, r: r, zone: parts[0], project: parts[1], s: s}
	// Paths are matched decoded, except that an encoded slash stays what
	// it is: a character of a name, never a separator.
	sub, err := unescapePath("/" + parts[2])
	if err != nil {
		writeError(w, &mlflowError{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "the path is not valid URL encoding (an encoded slash is never a separator)"})
		return
	}
	rs, tail := s.match(sub)
	if rs == nil {
		writeError(w, errEndpoint(r))
		return
	}
	var rt *route
	for i := range rs {
		if rs[i].method == r.Method {
			rt = &rs[i]
		}
	}
	if rt == nil {
		writeError(w, &mlflowError{status: http.StatusMethodNotAllowed, code: "ENDPOINT_NOT_FOUND",
			message: "Method " + r.Method + " is not allowed on " + enclave.Truncate(sub, 200)})
		return
	}
	c.rest = tail
	ctx := r.Context()
	if !rt.stream {
		r.Body = http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
	}
	c.ctx = ctx
	if err := s.serve(c, rt); err != nil {
		s.fail(c, err)
	}
}

func unescapePath(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+2 >= len(p) {
			return "", errors.New("bad escape")
		}
		v, ok1 := unhex(p[i+1])
		v2, ok2 := unhex(p[i+2])
		if !ok1 || !ok2 {
			return "", errors.New("bad escape")
		}
		ch := v<<4 | v2
		if ch == '/' {
			return "", errors.New("encoded slash")
		}
		b.WriteByte(ch)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (s *Server) serve(c *call, rt *route) error {
	for name, v := range map[string]string{"zone": c.zone, "project": c.project} {
		if err := enclave.ValidateName(name, v); err != nil {
			return enclave.Errorf(enclave.CodeNotFound, "no project at this tracking URI")
		}
	}
	ctx, err := s.authenticate(c.ctx, c.r)
	if err != nil {
		return err
	}
	c.ctx = ctx
	scope := access.ProjectScope(c.zone, c.project)
	if err := s.Authorizer.Authorize(ctx, rt.perm, scope); err != nil {
		if !enclave.IsCode(err, enclave.CodePermissionDenied) {
			return err
		}
		route := c.r.Method + " /mlflow/{zone}/{project}" + rt.path
		if s.Audit != nil {
			if aerr := s.Audit.RecordDenied(ctx, string(rt.perm), string(scope), route, enclave.ErrorMessage(err)); aerr != nil {
				return aerr
			}
		}
		if rt.hide != "" && s.Authorizer.Authorize(ctx, rt.hide, scope) != nil {
			return &mlflowError{status: http.StatusNotFound, code: "RESOURCE_DOES_NOT_EXIST",
				message: "The resource does not exist, or the caller may not see it."}
		}
		return err
	}
	if s.WriteGate != nil && c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		if err := s.WriteGate(ctx); err != nil {
			return err
		}
	}
	err = rt.handle(c)
	if enclave.IsCode(err, enclave.CodePolicyDenied) && s.Audit != nil {
		var e *enclave.Error
		errors.As(err, &e)
		if aerr := s.Audit.RecordPolicyDenied(ctx, e.Policy, "", string(scope), c.r.Method+" /mlflow/{zone}/{project}"+rt.path, enclave.ErrorMessage(err)); aerr != nil {
			return aerr
		}
	}
	return err
}

// authenticate resolves a Bearer token, or a token sent as the password of
// HTTP Basic (MLFLOW_TRACKING_USERNAME/PASSWORD), into an actor.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (context.Context, error) {
	token := api.RequestToken(r)
	if token == "" {
		return nil, enclave.Errorf(enclave.CodeUnauthenticated, "authentication required: set MLFLOW_TRACKING_TOKEN to an Enclave token")
	}
	actor, err := s.Identity.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	return enclave.WithActor(ctx, actor), nil
}

func (s *Server) fail(c *call, err error) {
	var me *mlflowError
	if !errors.As(err, &me) {
		me = fromEnclave(err)
		if me.status >= 500 {
			s.Logger.ErrorContext(c.r.Context(), "mlflow request failed", "path", c.r.URL.Path, "error", err.Error())
		}
	}
	writeError(c.w, me)
}

// mlflowError is an error as MLflow's server returns it.
type mlflowError struct {
	status  int
	code    string
	message string
}

func (e *mlflowError) Error() string { return e.code + ": " + e.message }

func errEndpoint(r *http.Request) *mlflowError {
	return &mlflowError{status: http.StatusNotFound, code: "ENDPOINT_NOT_FOUND",
		message: "No API endpoint at " + enclave.Truncate(r.URL.Path, 200) + " (the tracking URI is http(s)://HOST/mlflow/ZONE/PROJECT)"}
}

// fromEnclave maps the platform's error codes onto MLflow's.
func fromEnclave(err error) *mlflowError {
	msg := enclave.ErrorMessage(err)
	switch enclave.ErrorCode(err) {
	case enclave.CodeNotFound:
		return &mlflowError{http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", msg}
	case enclave.CodeInvalidArgument:
		return &mlflowError{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", msg}
	case enclave.CodeConflict:
		return &mlflowError{http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS", msg}
	case enclave.CodeFailedPrecondition:
		return &mlflowError{http.StatusBadRequest, "INVALID_STATE", msg}
	case enclave.CodePermissionDenied, enclave.CodePolicyDenied:
		return &mlflowError{http.StatusForbidden, "PERMISSION_DENIED", msg}
	case enclave.CodeUnauthenticated:
		return &mlflowError{http.StatusUnauthorized, "UNAUTHENTICATED", msg}
	case enclave.CodeTooLarge:
		return &mlflowError{http.StatusRequestEntityTooLarge, "RESOURCE_EXHAUSTED", msg}
	case enclave.CodeRateLimited:
		return &mlflowError{http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", msg}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &mlflowError{http.StatusRequestEntityTooLarge, "INVALID_PARAMETER_VALUE", "the request body is larger than the limit of " + itoa(mbe.Limit) + " bytes"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &mlflowError{http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", "the request took too long"}
	}
	return &mlflowError{http.StatusInternalServerError, "INTERNAL_ERROR", "internal error"}
}

func writeError(w http.ResponseWriter, e *mlflowError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="enclave", Basic realm="enclave"`)
	}
	writeJSON(w, e.status, map[string]string{"error_code": e.code, "message": e.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (c *call) ok(v any) error {
	if v == nil {
		v = struct{}{}
	}
	writeJSON(c.w, http.StatusOK, v)
	return nil
}
