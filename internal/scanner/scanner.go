// Package scanner checks files for malware before anyone may use them. A
// Scanner reads a file as a stream and returns a verdict; the only adapter is
// ClamAV's daemon, clamd, spoken to over its own small protocol (Clamd).
//
// A scan fails closed. No error means clean: a scanner that cannot be
// reached, times out, answers something unexpected or reports its own error
// yields an error, never a clean Result. The caller keeps the file out of
// use and decides by the error:
//
//   - ErrUnavailable: the scanner could not be reached or did not answer;
//     retry later. A scan is never skipped because the scanner is down.
//   - ErrTooLarge: the file exceeds what the scanner will look at (clamd's
//     StreamMaxLength, or a size limit that made it stop reading part of
//     the file). Retrying cannot help: the file stays "not scanned", never
//     clean.
//   - ErrScanFailed: the scanner answered with an error or with something
//     this package does not understand; retry later and alert an operator.
package scanner

import (
	"context"
	"errors"
	"io"
)

// Result is the verdict on one file.
type Result struct {
	Infected bool `json:"infected"`
	// Signature names what was found, as the scanner reports it (clamd
	// appends ".UNOFFICIAL" to signatures from unsigned databases).
	Signature string `json:"signature,omitempty"`
}

// Scanner checks streams for malware.
type Scanner interface {
	// Scan streams r to the scanner and returns its verdict. It reads r to
	// the end unless it fails first; an error reading r is returned as is.
	Scan(ctx context.Context, r io.Reader) (Result, error)
	// Ping checks that the scanner answers.
	Ping(ctx context.Context) error
	// Name names the scanner for logs and records ("clamd").
	Name() string
}

// The errors a Scanner returns, wrapped with detail; test with errors.Is.
var (
	// ErrUnavailable says the scanner cannot be reached or did not answer
	// in time. The file was not scanned; the caller retries later.
	ErrUnavailable = errors.New("malware scanner unavailable")
	// ErrTooLarge says the stream exceeded the scanner's size limit. The
	// file was not (fully) scanned and must never be treated as clean.
	ErrTooLarge = errors.New("file exceeds the malware scanner's size limit")
	// ErrScanFailed says the scanner reported an error or answered
	// something malformed. The file was not scanned.
	ErrScanFailed = errors.New("malware scan failed")
)
