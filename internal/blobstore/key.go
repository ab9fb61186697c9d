package blobstore

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Limits on keys. S3 and GCS allow 1,024 bytes and Azure 1,024 characters in
// a name; a segment is a file or directory name on the local backend, where
// most file systems allow 255 bytes and fileblob appends up to 22 bytes for
// its temporary and sidecar files.
const (
	MaxKeyLen      = 1024
	MaxSegmentLen  = 200
	MaxKeySegments = 64
)

// uploadsDir is the first segment of the keys that hold multipart uploads in
// progress. No caller key may start with it.
const uploadsDir = ".uploads"

// ValidKey reports why key is not an acceptable object key, or nil when it is.
// It is the one gate every key passes before it reaches a backend.
//
// A key is a relative, clean, slash-separated path: 1 to MaxKeyLen bytes of
// UTF-8, 1 to MaxKeySegments segments of 1 to MaxSegmentLen bytes, no empty
// segment (so no leading, trailing or doubled "/"), no segment that is or ends
// with "." (so no "." or ".." and nothing Azure would silently trim), no
// backslash, no control, format or line-separator character (NUL included).
//
// It also refuses whatever a layer below could decode or normalise into one of
// those: "%" (percent-encoding), "__0x" (gocloud's own escape sequences) and
// any key whose NFKC normalisation breaks the rules (a fullwidth "．．" becomes
// ".."). Characters that gocloud escapes on some backend ('"', '#', '?') are
// refused so that a key is stored byte for byte the same everywhere.
//
// Some names are reserved: a first segment ".uploads" (multipart uploads in
// progress) and segments ending in ".attrs" or ".tmp" (the local backend's
// metadata and temporary files).
func ValidKey(key string) error {
	if reason := keyProblem(key); reason != "" {
		return &enclave.Error{Code: enclave.CodeInvalidArgument, Field: "key",
			Message: "key " + reason, Err: ErrInvalidKey}
	}
	return nil
}

// ValidPrefix reports why prefix cannot select keys in a listing, or nil.
// The empty prefix selects every key; any other prefix must be the start of
// some valid key, so "a/", "a/b" and "report." are fine and "../" is not.
func ValidPrefix(prefix string) error {
	if prefix == "" || keyProblem(prefix) == "" {
		return nil
	}
	if reason := keyProblem(prefix + "x"); reason != "" {
		return &enclave.Error{Code: enclave.CodeInvalidArgument, Field: "prefix",
			Message: "prefix " + reason, Err: ErrInvalidKey}
	}
	return nil
}

// keyProblem returns what is wrong with key, or "".
func keyProblem(key string) string {
	if reason := structureProblem(key); reason != "" {
		return reason
	}
	if strings.HasPrefix(key, uploadsDir+"/") {
		return "starts with the reserved name " + uploadsDir
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasSuffix(seg, ".attrs") || strings.HasSuffix(seg, ".tmp") {
			return "has a segment ending in a reserved suffix (.attrs, .tmp)"
		}
	}
	// A layer that normalises names (a file system, a client library) must
	// not be able to turn an accepted key into a traversal.
	if nk := norm.NFKC.String(key); nk != key {
		if reason := structureProblem(nk); reason != "" {
			return "becomes invalid under Unicode normalisation (" + reason + ")"
		}
	}
	return ""
}

// structureProblem checks the rules that do not depend on reserved names.
func structureProblem(key string) string {
	switch {
	case key == "":
		return "is empty"
	case len(key) > MaxKeyLen:
		return "is longer than 1024 bytes"
	case !utf8.ValidString(key):
		return "is not valid UTF-8"
	case strings.HasPrefix(key, "/"):
		return "is absolute (starts with /)"
	case strings.Contains(key, "__0x"):
		return "contains the escape sequence __0x"
	}
	for _, r := range key {
		switch {
		case r == '\\':
			return "contains a backslash"
		case r == '%':
			return "contains % (percent-encoding is not decoded, so it is refused)"
		case r == '"' || r == '#' || r == '?':
			return "contains one of \" # ?"
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			return "contains a control or format character"
		}
	}
	n := 0
	for seg := range strings.SplitSeq(key, "/") {
		n++
		switch {
		case seg == "":
			return "has an empty segment (leading, trailing or doubled /)"
		case seg == "." || seg == "..":
			return "has a . or .. segment"
		case strings.HasSuffix(seg, "."):
			return "has a segment ending in ."
		case len(seg) > MaxSegmentLen:
			return "has a segment longer than 200 bytes"
		}
	}
	if n > MaxKeySegments {
		return "has more than 64 segments"
	}
	return ""
}
