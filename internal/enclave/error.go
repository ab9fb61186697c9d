package enclave

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error kind. Clients branch on it; it is
// mapped to an HTTP status by one table in the transport layer.
type Code string

// The error kinds Enclave returns. They never change meaning once released.
const (
	CodeInvalidArgument    Code = "invalid_argument"
	CodeNotFound           Code = "not_found"
	CodeConflict           Code = "conflict"
	CodeFailedPrecondition Code = "failed_precondition"
	CodePermissionDenied   Code = "permission_denied"
	CodeUnauthenticated    Code = "unauthenticated"
	CodePolicyDenied       Code = "policy_denied"
	CodeTooLarge           Code = "too_large"
	CodeRateLimited        Code = "rate_limited"
	CodeUnavailable        Code = "unavailable"
	CodeInternal           Code = "internal"
)

// Error is an error whose message is safe to show to the caller. Field names
// the offending input (a JSON field, a query parameter, a flag) when there is one.
type Error struct {
	Code    Code
	Message string
	Field   string
	// Policy names the policy that refused a change (policy_denied).
	Policy string
	// Err is the underlying cause. It is logged, never returned to callers.
	Err error
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a formatted, caller-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an invalid_argument error naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind that keeps err as its hidden cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the kind of err: the Code of the first *Error in its chain,
// or CodeInternal for any other non-nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err. Errors that are not
// *Error values carry internal detail, so they get a generic message.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the offending field named by err, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// IsCode reports whether err is of the given kind.
func IsCode(err error, code Code) bool { return err != nil && ErrorCode(err) == code }
