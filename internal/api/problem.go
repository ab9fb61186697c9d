package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// statusOf is the one table that maps error kinds to HTTP statuses.
var statusOf = map[enclave.Code]int{
	enclave.CodeInvalidArgument:    http.StatusBadRequest,
	enclave.CodeUnauthenticated:    http.StatusUnauthorized,
	enclave.CodePermissionDenied:   http.StatusForbidden,
	enclave.CodePolicyDenied:       http.StatusForbidden,
	enclave.CodeNotFound:           http.StatusNotFound,
	enclave.CodeConflict:           http.StatusConflict,
	enclave.CodeFailedPrecondition: http.StatusConflict,
	enclave.CodeTooLarge:           http.StatusRequestEntityTooLarge,
	enclave.CodeRateLimited:        http.StatusTooManyRequests,
	enclave.CodeUnavailable:        http.StatusServiceUnavailable,
	enclave.CodeInternal:           http.StatusInternalServerError,
	codeMethodNotAllowed:           http.StatusMethodNotAllowed,
	codeRangeNotSatisfiable:        http.StatusRequestedRangeNotSatisfiable,
}

// codeMethodNotAllowed is the kind of a request whose path exists but not
// with that method. Only the router produces it.
const codeMethodNotAllowed enclave.Code = "method_not_allowed"

// codeRangeNotSatisfiable is the kind of a download whose Range header
// asks for bytes the file does not have.
const codeRangeNotSatisfiable enclave.Code = "range_not_satisfiable"

// Problem is an RFC 9457 problem document with Enclave's stable code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
	// Policy names the policy that refused the change (policy_denied).
	Policy    string `json:"policy,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// ProblemContentType is the media type of error responses.
const ProblemContentType = "application/problem+json"

func problemFor(err error, requestID string) Problem {
	code := enclave.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = enclave.CodeInternal, http.StatusInternalServerError
	}
	p := Problem{Type: "urn:enclave:problem:" + string(code), Title: http.StatusText(status), Status: status,
		Detail: enclave.ErrorMessage(err), Code: string(code), Field: enclave.ErrorField(err), RequestID: requestID}
	if code == enclave.CodeInternal {
		p.Field = ""
	}
	var e *enclave.Error
	if code == enclave.CodePolicyDenied && errors.As(err, &e) {
		p.Policy = e.Policy
	}
	return p
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("Cache-Control", "no-store")
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="enclave"`)
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func isInternal(err error) bool {
	var e *enclave.Error
	return !errors.As(err, &e) || e.Code == enclave.CodeInternal
}
