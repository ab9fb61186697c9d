package mlflowapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tracking/search"
)

// args decodes a request's parameters into v: the JSON body of a POST,
// PATCH or DELETE, or the query of a GET (as the client sends them).
// Protobuf's JSON mapping lets int64 arrive as numbers or strings and
// doubles as numbers or "NaN"/"Infinity"/"-Infinity"; the flexible types
// below accept each.
func (c *call) args(v any) error {
	if c.r.Method == http.MethodGet {
		m := map[string]any{}
		for k, vs := range c.r.URL.Query() {
			if len(vs) == 1 {
				m[k] = vs[0]
			} else {
				m[k] = vs
			}
		}
		b, _ := json.Marshal(m)
		return decodeInto(b, v)
	}
	b, err := io.ReadAll(c.r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return enclave.Wrap(enclave.CodeInvalidArgument, err, "the request body could not be read")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		// DELETE and GET-like POSTs may come without a body, with their
		// parameters in the query.
		return (&call{r: withMethod(c.r, http.MethodGet)}).args(v)
	}
	if ct := c.r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return enclave.FieldError("Content-Type", "Bad Request. Content-Type must be one of ['application/json'].")
	}
	return decodeInto(b, v)
}

func withMethod(r *http.Request, m string) *http.Request {
	r2 := *r
	r2.Method = m
	return &r2
}

func decodeInto(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return enclave.FieldError(te.Field, "Invalid value for parameter '%s': expected %s", te.Field, te.Type)
		}
		var fe *fieldErr
		if errors.As(err, &fe) {
			return enclave.FieldError(fe.field, "%s", fe.msg)
		}
		return enclave.FieldError("body", "Malformed JSON request: %s", enclave.Truncate(err.Error(), 200))
	}
	return nil
}

type fieldErr struct{ field, msg string }

func (e *fieldErr) Error() string { return e.msg }

// str is a string that may arrive as a JSON number (protobuf JSON).
type str string

func (s *str) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = str(v)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &fieldErr{"", "expected a string"}
	}
	*s = str(n.String())
	return nil
}

// i64 is an int64 sent as a number or a numeric string.
type i64 struct {
	v   int64
	set bool
}

func (n *i64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return &fieldErr{"", "expected an integer, got " + enclave.Truncate(s, 40)}
		}
		v = int64(f)
	}
	n.v, n.set = v, true
	return nil
}

// f64 is a double sent as a number or as "NaN", "Infinity", "-Infinity".
type f64 struct {
	v   float64
	set bool
}

func (f *f64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch s {
	case "null", "":
		return nil
	case "NaN", "nan":
		f.v, f.set = math.NaN(), true
		return nil
	case "Infinity", "inf", "+Infinity":
		f.v, f.set = math.Inf(1), true
		return nil
	case "-Infinity", "-inf":
		f.v, f.set = math.Inf(-1), true
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return &fieldErr{"", "expected a number, got " + enclave.Truncate(s, 40)}
	}
	f.v, f.set = v, true
	return nil
}

// boolean is a bool sent as a JSON bool or as "true"/"false".
type boolean bool

func (v *boolean) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(strings.Trim(string(b), `"`)) {
	case "true", "1":
		*v = true
	case "false", "0", "null", "":
		*v = false
	default:
		return &fieldErr{"", "expected true or false"}
	}
	return nil
}

// strs is a list of strings, or a single string (a query's one value).
type strs []string

func (l *strs) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = strs{s}
		return nil
	}
	var v []str
	if err := json.Unmarshal(b, &v); err != nil {
		return &fieldErr{"", "expected a list of strings"}
	}
	out := make(strs, len(v))
	for i, s := range v {
		out[i] = string(s)
	}
	*l = out
	return nil
}

// float is how a double goes out: NaN and infinities as protobuf's JSON
// strings, others as numbers.
type float float64

func (f float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// required checks that a parameter was given.
func required(field, v string) error {
	if v == "" {
		return enclave.FieldError(field, "Missing value for required parameter '%s'. See the API docs for more information about request parameters.", field)
	}
	return nil
}

// Page tokens are an offset, base64-encoded JSON as MLflow's own.
type pageToken struct {
	Offset int `json:"offset"`
}

func decodeToken(t string) (int, error) {
	if t == "" {
		return 0, nil
	}
	b, err := base64.StdEncoding.DecodeString(t)
	if err != nil {
		if b, err = base64.URLEncoding.DecodeString(t); err != nil {
			return 0, enclave.FieldError("page_token", "Invalid page token, could not base64-decode")
		}
	}
	var p pageToken
	if err := json.Unmarshal(b, &p); err != nil || p.Offset < 0 || p.Offset > 1<<30 {
		return 0, enclave.FieldError("page_token", "Invalid page token, decoded value=%s", enclave.Truncate(string(b), 80))
	}
	return p.Offset, nil
}

func encodeToken(offset int) string {
	b, _ := json.Marshal(pageToken{Offset: offset})
	return base64.StdEncoding.EncodeToString(b)
}

// page turns max_results into a limit, checking MLflow's bounds.
func page(field string, n i64, def, max int) (int, error) {
	if !n.set {
		return def, nil
	}
	if n.v <= 0 || n.v > int64(max) {
		return 0, enclave.FieldError(field, "Invalid value %d for parameter '%s' supplied. It must be a positive integer no greater than %d.", n.v, field, max)
	}
	return int(n.v), nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// searchIn is what every MLflow search takes: a filter, an order, a page
// size and a page token.
type searchIn struct {
	Filter     str  `json:"filter"`
	MaxResults i64  `json:"max_results"`
	OrderBy    strs `json:"order_by"`
	PageToken  str  `json:"page_token"`
}

// searchPage is a search request checked and parsed: the store is asked
// for max+1 items from offset, to know whether another page follows.
type searchPage struct {
	max, offset int
	filter      search.Filter
	order       []search.OrderBy
}

// parse checks a search's page size against MLflow's default and limit
// and parses its filter and order for entity e (order is skipped when
// e's order does not come as text).
func (in searchIn) parse(e search.Entity, def, limit int, textOrder bool) (searchPage, error) {
	var p searchPage
	var err error
	if p.max, err = page("max_results", in.MaxResults, def, limit); err != nil {
		return p, err
	}
	if p.offset, err = decodeToken(string(in.PageToken)); err != nil {
		return p, err
	}
	if p.filter, err = search.Parse(e, string(in.Filter)); err != nil {
		return p, err
	}
	if textOrder {
		p.order, err = search.ParseOrderBy(e, in.OrderBy)
	}
	return p, err
}

// cut returns the page's items and the token of the next page, if any.
func cut[T any](items []T, p searchPage) ([]T, string) {
	if len(items) > p.max {
		return items[:p.max], encodeToken(p.offset + p.max)
	}
	return items, ""
}
