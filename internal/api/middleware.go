package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/idempotency"
)

// RequestIDHeader carries the request ID on every response.
const RequestIDHeader = "X-Request-Id"

// observe gives every request an ID, recovers panics, and logs and counts
// the request once it is done.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get(RequestIDHeader))
		w.Header().Set(RequestIDHeader, id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		ri := &routeInfo{pattern: "unmatched"}
		ctx := enclave.WithRequestMeta(r.Context(), enclave.RequestMeta{
			SourceAddr: sourceAddr(r), UserAgent: enclave.Truncate(r.UserAgent(), 256), RequestID: id})
		ctx = context.WithValue(ctx, routeKey{}, ri)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Logger.ErrorContext(ctx, "panic serving request", "panic", p)
				if !rec.wrote {
					writeProblem(rec, problemFor(errors.New("panic"), id))
				}
			}
			elapsed := time.Since(start)
			s.metrics.observe(ri.pattern, r.Method, rec.status(), elapsed)
			attrs := []any{"method", r.Method, "route", ri.pattern, "path", r.URL.Path, "status", rec.status(),
				"duration_ms", float64(elapsed.Microseconds()) / 1000, "bytes", rec.bytes, "source", sourceAddr(r)}
			if ri.actorCtx != nil {
				if a := enclave.ActorFrom(ri.actorCtx); a != nil {
					attrs = append(attrs, "actor", a.Name)
				}
			}
			s.Logger.InfoContext(ctx, "request", attrs...)
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// requestID keeps a caller's well-formed request ID, or makes a new one.
func requestID(in string) string {
	if in != "" && len(in) <= 64 && strings.Trim(in, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" {
		return in
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sourceAddr is the peer's IP. Forwarded headers are not trusted: a proxy
// in front of Enclave is a deployment choice that configuration will name.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// recorder remembers the status and size of a response and, when keep is
// set, a copy of its body (for idempotent replay).
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int
	wrote bool
	keep  *bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	if r.keep != nil {
		r.keep.Write(b)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problemFor(enclave.Errorf(enclave.CodeNotFound, "no route for %s", enclave.Truncate(r.URL.Path, 200)),
			enclave.RequestMetaFrom(r.Context()).RequestID))
	})
}

// dispatch picks the route of a pattern by method and runs it with
// authentication, authorization, a body limit and idempotency.
func (s *Server) dispatch(pattern string, rs []route) http.Handler {
	byMethod := map[string]route{}
	for _, rt := range rs {
		byMethod[rt.method] = rt
	}
	allow := allowed(rs)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := routeOf(r.Context())
		ri.pattern = pattern
		reqID := enclave.RequestMetaFrom(r.Context()).RequestID
		rt, ok := byMethod[r.Method]
		if !ok {
			w.Header().Set("Allow", allow)
			writeProblem(w, problemFor(&enclave.Error{Code: codeMethodNotAllowed,
				Message: r.Method + " is not allowed on " + pattern + "; allowed: " + allow}, reqID))
			return
		}
		if !rt.stream {
			r.Body = http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)
			ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		if err := s.serve(w, r, rt, ri); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt route, ri *routeInfo) error {
	for _, name := range []string{"zone", "project", "environment"} {
		if v := r.PathValue(name); v != "" || strings.Contains(rt.pattern, "{"+name+"}") {
			if err := enclave.ValidateName(name, v); err != nil {
				return err
			}
		}
	}
	if !rt.public {
		ctx, err := s.authenticate(r)
		if err != nil {
			return err
		}
		ri.actorCtx = ctx
		r = r.WithContext(ctx)
		authz := s.Authorizer.Authorize(ctx, rt.perm, scopeOf(r))
		if rt.scope == scopeInService {
			authz = s.Authorizer.AuthorizeSomewhere(ctx, rt.perm)
		}
		if authz != nil {
			return s.recordDenied(r, rt, authz)
		}
	}
	if s.WriteGate != nil && rt.method != http.MethodGet && rt.method != http.MethodHead {
		if err := s.WriteGate(r.Context()); err != nil {
			return err
		}
	}
	if rt.kind != "" {
		// The service notes on the trace that it ran the change through
		// policy admission; the response names the kinds admitted.
		trace := &enclave.AdmissionTrace{}
		r = r.WithContext(enclave.WithAdmissionTrace(r.Context(), trace))
		aw := &admissionWriter{ResponseWriter: w, trace: trace}
		defer s.checkAdmitted(r, rt, aw)
		w = aw
	}
	if rt.method == http.MethodPost && !rt.public && !rt.secretResponse && !rt.secretRequest && r.Header.Get(IdempotencyHeader) != "" {
		return s.idempotent(w, r, rt)
	}
	return s.recordDenied(r, rt, rt.handle(w, r))
}

// AdmissionHeader lists, on a response to a change, the resource kinds
// that went through policy admission.
const AdmissionHeader = "Enclave-Admission"

// admissionWriter sets the admission header when the response starts.
type admissionWriter struct {
	http.ResponseWriter
	trace  *enclave.AdmissionTrace
	status int
}

func (a *admissionWriter) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
		if kinds := a.trace.Kinds(); len(kinds) > 0 {
			a.Header().Set(AdmissionHeader, strings.Join(kinds, ", "))
		}
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *admissionWriter) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	return a.ResponseWriter.Write(b)
}

func (a *admissionWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// checkAdmitted logs a mutating request that succeeded without passing
// policy admission for the route's kind.
func (s *Server) checkAdmitted(r *http.Request, rt route, aw *admissionWriter) {
	if aw.status == 0 || aw.status >= 400 || aw.Header().Get("Idempotent-Replayed") != "" {
		return
	}
	if !slices.Contains(aw.trace.Kinds(), rt.kind) {
		// A request that changed nothing (a PATCH of equal values, a
		// password sign-in that answers with an MFA challenge) has nothing
		// to admit; any other is a defect the coverage test catches.
		s.Logger.DebugContext(r.Context(), "request passed no policy admission", "route", rt.method+" "+rt.pattern, "kind", rt.kind)
	}
}

// recordDenied audits a request refused with permission_denied, by the
// dispatcher or by a service: every refusal is a security event. It returns
// err, or the failure to record it (fail closed).
func (s *Server) recordDenied(r *http.Request, rt route, err error) error {
	if enclave.IsCode(err, enclave.CodePolicyDenied) && s.Audit != nil {
		// The refused change rolled back with everything it wrote; its
		// refusal is recorded on its own.
		var e *enclave.Error
		errors.As(err, &e)
		if aerr := s.Audit.RecordPolicyDenied(r.Context(), e.Policy, rt.kind, string(scopeOf(r)), rt.method+" "+rt.pattern, enclave.ErrorMessage(err)); aerr != nil {
			return aerr
		}
		return err
	}
	if !enclave.IsCode(err, enclave.CodePermissionDenied) || s.Audit == nil {
		return err
	}
	scope := scopeOf(r)
	if rt.scope == scopeInService {
		scope = "/"
	}
	if aerr := s.Audit.RecordDenied(r.Context(), string(rt.perm), string(scope), rt.method+" "+rt.pattern, enclave.ErrorMessage(err)); aerr != nil {
		return aerr
	}
	return err
}

// fail writes err as a problem document, logging what the caller is not told.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err, enclave.RequestMetaFrom(r.Context()).RequestID)
	if isInternal(err) {
		s.Logger.ErrorContext(r.Context(), "request failed", "error", err.Error())
	} else if p.Status >= 500 {
		s.Logger.WarnContext(r.Context(), "request failed", "code", p.Code, "error", err.Error())
	}
	if rec, ok := w.(*recorder); ok && rec.wrote {
		return // the handler already started its response
	}
	writeProblem(w, p)
}

// authenticate resolves the bearer token (or a token given as the password
// of HTTP Basic, as some clients send it) into an actor.
func (s *Server) authenticate(r *http.Request) (context.Context, error) {
	token := RequestToken(r)
	if token == "" {
		return nil, enclave.Errorf(enclave.CodeUnauthenticated, "authentication required: send Authorization: Bearer <token>")
	}
	actor, err := s.Identity.Authenticate(r.Context(), token)
	if err != nil {
		return nil, err
	}
	return enclave.WithActor(r.Context(), actor), nil
}

// RequestToken is the secret a request authenticates with: a Bearer token,
// or the password of HTTP Basic (as the mlflow client and some others send
// it); "" when there is none.
func RequestToken(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	if _, pw, ok := r.BasicAuth(); ok {
		return pw
	}
	return ""
}

// IdempotencyHeader is the header a client sets to make a POST safe to retry.
const IdempotencyHeader = "Idempotency-Key"

// staleIdempotency is how long an unfinished request holds its key.
const staleIdempotency = 2 * requestTimeout

// idempotent runs a POST at most once per principal and key, replaying the
// stored response to retries.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, rt route) error {
	key := r.Header.Get(IdempotencyHeader)
	if len(key) > idempotency.MaxKeyLength || strings.IndexFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		return enclave.FieldError(IdempotencyHeader, "Idempotency-Key must be 1-%d printable ASCII characters", idempotency.MaxKeyLength)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe)
		}
		return enclave.Wrap(enclave.CodeInvalidArgument, err, "request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	io.WriteString(h, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+"\n")
	h.Write(body)
	hash := base64.RawStdEncoding.EncodeToString(h.Sum(nil))
	principal := enclave.ActorFrom(r.Context()).PrincipalID
	rec, err := s.Idempotency.Begin(r.Context(), principal, key, hash, s.Clock.Now(), staleIdempotency)
	if err != nil {
		return err
	}
	if rec != nil {
		switch {
		case rec.RequestHash != hash:
			return enclave.FieldError(IdempotencyHeader, "Idempotency-Key was already used for a different request")
		case rec.Status == 0:
			return &enclave.Error{Code: enclave.CodeConflict, Field: IdempotencyHeader,
				Message: "a request with this Idempotency-Key is still in progress"}
		}
		w.Header().Set("Content-Type", rec.ContentType)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(rec.Status)
		_, _ = w.Write(rec.Body)
		return nil
	}
	cap := &recorder{ResponseWriter: w, keep: &bytes.Buffer{}}
	herr := s.recordDenied(r, rt, rt.handle(cap, r))
	if herr != nil {
		// Write the problem through the capture so that it is replayed too.
		p := problemFor(herr, enclave.RequestMetaFrom(r.Context()).RequestID)
		if isInternal(herr) {
			s.Logger.ErrorContext(r.Context(), "request failed", "error", herr.Error())
		}
		if !cap.wrote {
			writeProblem(cap, p)
		}
	}
	bg := context.WithoutCancel(r.Context())
	if cap.status() >= 500 {
		if err := s.Idempotency.Abandon(bg, principal, key); err != nil {
			s.Logger.ErrorContext(bg, "idempotency key not released", "error", err.Error())
		}
		return nil
	}
	if err := s.Idempotency.Finish(bg, principal, key, cap.status(), cap.Header().Get("Content-Type"), cap.keep.Bytes()); err != nil {
		s.Logger.ErrorContext(bg, "idempotent response not stored", "error", err.Error())
	}
	return nil
}
