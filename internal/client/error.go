package client

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// problemTypePrefix starts the type URI of every Enclave problem document.
const problemTypePrefix = "urn:enclave:problem:"

// APIError is a request the server answered with an error status. Its
// fields come from the RFC 9457 problem document in the response; a body
// that is not one (a proxy's HTML page) still yields the status and a code
// derived from it.
type APIError struct {
	Status int
	Code   enclave.Code
	Title  string
	Detail string
	Field  string
	// Policy names the policy that refused the change (policy_denied).
	Policy    string
	RequestID string
}

// Error reads like "conflict: zone eu already exists (field name) [request 0190…]".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(safeText(string(e.Code)))
	b.WriteString(": ")
	switch {
	case e.Detail != "":
		b.WriteString(safeText(e.Detail))
	case e.Title != "":
		b.WriteString(safeText(e.Title))
	default:
		fmt.Fprintf(&b, "server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Field != "" {
		b.WriteString(" (field " + safeText(e.Field) + ")")
	}
	if e.Policy != "" && !strings.Contains(e.Detail, e.Policy) {
		b.WriteString(" (policy " + safeText(e.Policy) + ")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + safeText(e.RequestID) + "]")
	}
	return b.String()
}

// As lets errors.As find an *enclave.Error in an API error, so that
// enclave.ErrorCode and enclave.IsCode work the same on both sides of the
// wire.
func (e *APIError) As(target any) bool {
	t, ok := target.(**enclave.Error)
	if !ok {
		return false
	}
	*t = &enclave.Error{Code: e.Code, Message: e.Detail, Field: e.Field, Policy: e.Policy}
	return true
}

// problem is the JSON body of an error response.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Field     string `json:"field"`
	Policy    string `json:"policy"`
	RequestID string `json:"request_id"`
}

// decodeProblem turns an error response into an *APIError. Only a problem
// (or JSON) body is read for its text: anything else is summarized by its
// status so that a proxy's page never reaches the terminal.
func decodeProblem(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p problem
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(body, &p) == nil {
		e.Code = enclave.Code(p.Code)
		if e.Code == "" {
			e.Code = enclave.Code(strings.TrimPrefix(p.Type, problemTypePrefix))
			if !strings.HasPrefix(p.Type, problemTypePrefix) {
				e.Code = ""
			}
		}
		e.Title, e.Detail, e.Field, e.Policy = p.Title, p.Detail, p.Field, p.Policy
		if p.RequestID != "" {
			e.RequestID = p.RequestID
		}
	}
	if e.Code == "" {
		e.Code = codeForStatus(resp.StatusCode)
		if e.Detail == "" && e.Title == "" {
			e.Detail = fmt.Sprintf("server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
			if mt != "" && !isJSON(mt) {
				e.Detail += " with a " + mt + " body, not an Enclave error (is a proxy in the way?)"
			}
		}
	}
	return e
}

// codeForStatus is the inverse of the server's code-to-status table, for
// error responses that carry no code.
func codeForStatus(status int) enclave.Code {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return enclave.CodeInvalidArgument
	case http.StatusUnauthorized:
		return enclave.CodeUnauthenticated
	case http.StatusForbidden:
		return enclave.CodePermissionDenied
	case http.StatusNotFound:
		return enclave.CodeNotFound
	case http.StatusConflict:
		return enclave.CodeConflict
	case http.StatusPreconditionFailed:
		return enclave.CodeFailedPrecondition
	case http.StatusRequestEntityTooLarge:
		return enclave.CodeTooLarge
	case http.StatusTooManyRequests:
		return enclave.CodeRateLimited
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return enclave.CodeUnavailable
	}
	if status >= 500 {
		return enclave.CodeInternal
	}
	return enclave.CodeInvalidArgument
}

// safeText drops control characters from text the server sent, so that an
// error message cannot rewrite the user's terminal, and bounds its length.
func safeText(s string) string {
	const max = 1000
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			if r == '\n' || r == '\t' {
				return ' '
			}
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
