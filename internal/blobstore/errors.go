package blobstore

import (
	"context"
	"errors"
	"fmt"

	"gocloud.dev/gcerrors"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// The kinds of error a Store returns. Match them with errors.Is; each is an
// *enclave.Error, so enclave.ErrorCode gives the API's stable code.
var (
	ErrInvalidKey      = &enclave.Error{Code: enclave.CodeInvalidArgument, Field: "key", Message: "invalid object key"}
	ErrNotFound        = &enclave.Error{Code: enclave.CodeNotFound, Message: "object not found"}
	ErrExists          = &enclave.Error{Code: enclave.CodeConflict, Message: "object already exists"}
	ErrInvalidRange    = &enclave.Error{Code: enclave.CodeInvalidArgument, Field: "range", Message: "range starts past the end of the object"}
	ErrTierUnsupported = &enclave.Error{Code: enclave.CodeFailedPrecondition, Message: "this storage backend has no such tier"}
	ErrQuotaExceeded   = &enclave.Error{Code: enclave.CodeTooLarge, Message: "storage quota exceeded"}
	ErrUploadNotFound  = &enclave.Error{Code: enclave.CodeNotFound, Field: "upload_id", Message: "upload not found"}
	ErrPartMissing     = &enclave.Error{Code: enclave.CodeFailedPrecondition, Field: "parts", Message: "a listed part was not uploaded"}
)

// opError is a failed operation: its kind (one of the Err values above, or
// nil) and the backend's error, kept for the log.
type opError struct {
	op, key string
	kind    error
	cause   error
}

func (e *opError) Error() string {
	msg := "blobstore: " + e.op
	if e.key != "" {
		msg += fmt.Sprintf(" %q", e.key)
	}
	if e.kind != nil {
		msg += ": " + e.kind.(*enclave.Error).Message
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *opError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// fail wraps a backend error with the operation and translates gocloud's
// error codes into the package's kinds. Errors that already are kinds (a bad
// key, an exceeded quota) and context errors pass through unchanged.
func fail(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var ee *enclave.Error
	if errors.As(err, &ee) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	e := &opError{op: op, key: key, cause: err}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		e.kind = ErrNotFound
	case gcerrors.FailedPrecondition:
		e.kind = ErrExists // the only precondition the Store sets is IfNotExist
	case gcerrors.Canceled:
		return fmt.Errorf("blobstore: %s %q: %w: %w", op, key, context.Canceled, err)
	case gcerrors.DeadlineExceeded:
		return fmt.Errorf("blobstore: %s %q: %w: %w", op, key, context.DeadlineExceeded, err)
	}
	return e
}

// kindError returns an error of a kind with no backend cause.
func kindError(op, key string, kind error) error {
	return &opError{op: op, key: key, kind: kind}
}
