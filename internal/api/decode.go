package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// decodeJSON reads exactly one JSON object from the request body into v.
// Every way the body can be wrong becomes a clear invalid_argument (or
// too_large) error that names the offending field where there is one.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return enclave.FieldError("Content-Type", "request body must be application/json, not %q", ct)
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe)
		}
		return enclave.FieldError("body", "request body must hold a single JSON object; found more after it")
	}
	return nil
}

func tooLarge(e *http.MaxBytesError) error {
	return &enclave.Error{Code: enclave.CodeTooLarge, Field: "body",
		Message: "request body is larger than the limit of " + strconv.FormatInt(e.Limit, 10) + " bytes"}
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe)
	case errors.Is(err, io.EOF):
		return enclave.FieldError("body", "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return enclave.FieldError("body", "request body is malformed JSON: it ends too soon")
	case errors.As(err, &syn):
		return enclave.FieldError("body", "request body is malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return enclave.FieldError("body", "request body must be a JSON object, not %s", typ.Value)
		}
		return enclave.FieldError(typ.Field, "%s must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ := strconv.Unquote(f)
		if name == "" {
			return enclave.FieldError("body", "unknown field \"\" (an empty key)")
		}
		return enclave.FieldError(name, "unknown field %q", name)
	}
	return enclave.FieldError("body", "request body is not valid JSON: %s", err.Error())
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return fmt.Sprintf("of type %s", k)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	// Encoded first, so that a value JSON cannot carry becomes a 500 and
	// not a success with an empty body.
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// List is the envelope of every list response.
type List[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

func listOf[T any](items []T, next string) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, NextPageToken: next}
}

// pageParams reads page_size and page_token.
func pageParams(r *http.Request) (enclave.Page, error) {
	q := r.URL.Query()
	p := enclave.Page{Token: q.Get("page_token")}
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, enclave.FieldError("page_size", "page_size must be a positive integer")
		}
		p.Size = n
	}
	return p, nil
}
