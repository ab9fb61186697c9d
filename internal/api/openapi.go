package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The OpenAPI document is built from the route table and the Go types of
// request and response bodies, so it cannot drift from the routes; a test
// checks that every served route is documented and nothing else is.

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

type openAPIDoc struct {
	once sync.Once
	raw  []byte
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(s.OpenAPI())
	return err
}

// OpenAPI returns the OpenAPI 3.1 document of the native API.
func (s *Server) OpenAPI() []byte {
	s.doc.once.Do(func() {
		raw, err := json.MarshalIndent(buildOpenAPI(s.routes(), s.Version), "", "  ")
		if err != nil {
			panic(err)
		}
		s.doc.raw = raw
	})
	return s.doc.raw
}

func buildOpenAPI(routes []route, version string) map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"tags":        []string{rt.tag},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.pattern, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.desc, "schema": map[string]any{"type": "string"}})
		}
		if rt.method == http.MethodPost && !rt.public && !rt.secretResponse && !rt.secretRequest {
			params = append(params, map[string]any{"name": IdempotencyHeader, "in": "header",
				"description": "makes the request safe to retry: its response is replayed for 24 hours", "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.in != nil {
			op["requestBody"] = map[string]any{"required": true,
				"content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.in))}}}
		}
		ok := map[string]any{"description": http.StatusText(rt.status)}
		if rt.out != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.out))}}
		}
		responses := map[string]any{strconv.Itoa(rt.status): ok, "default": map[string]any{"$ref": "#/components/responses/Problem"}}
		op["responses"] = responses
		if rt.public {
			op["security"] = []any{}
		} else {
			op["x-enclave-permission"] = string(rt.perm)
		}
		if paths[rt.pattern] == nil {
			paths[rt.pattern] = map[string]any{}
		}
		paths[rt.pattern][strings.ToLower(rt.method)] = op
	}
	g.schema(reflect.TypeOf(Problem{}))
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Enclave API", "version": version,
			"description": "Errors are application/problem+json with a stable code. Lists paginate with opaque page tokens."},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []any{}}},
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas":         g.defs,
			"responses": map[string]any{"Problem": map[string]any{"description": "An error",
				"content": map[string]any{ProblemContentType: map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}},
		},
	}
}

func operationID(rt route) string {
	parts := []string{strings.ToLower(rt.method)}
	for _, seg := range strings.Split(strings.TrimPrefix(rt.pattern, "/api/v1"), "/") {
		if seg == "" {
			continue
		}
		if strings.HasPrefix(seg, "{") {
			seg = "by-" + strings.Trim(seg, "{}")
		}
		parts = append(parts, seg)
	}
	return strings.Join(parts, "-")
}

// schemaGen turns Go types into JSON Schema, naming struct types as components.
type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeOf(time.Time{})
var rawType = reflect.TypeOf(json.RawMessage{})

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := schemaName(t)
		if _, done := g.defs[name]; !done {
			g.defs[name] = nil // break cycles
			props := map[string]any{}
			var required []string
			for i := range t.NumField() {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				if !f.IsExported() || tag == "-" {
					continue
				}
				fname, opts, _ := strings.Cut(tag, ",")
				if fname == "" {
					fname = f.Name
				}
				props[fname] = g.schema(f.Type)
				if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
					required = append(required, fname)
				}
			}
			sort.Strings(required)
			def := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
			if required != nil {
				def["required"] = required
			}
			g.defs[name] = def
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func schemaName(t reflect.Type) string {
	pkg := t.PkgPath()
	pkg = pkg[strings.LastIndex(pkg, "/")+1:]
	name := t.Name()
	if i := strings.Index(name, "["); i >= 0 { // generic instance: List[*zone.Zone] → ListZone
		arg := name[i+1 : len(name)-1]
		arg = arg[strings.LastIndex(arg, ".")+1:]
		name = name[:i] + nonWord.ReplaceAllString(arg, "")
		return strings.ToUpper(name[:1]) + name[1:]
	}
	if pkg == "api" || pkg == "" {
		return strings.ToUpper(name[:1]) + name[1:]
	}
	return strings.ToUpper(pkg[:1]) + pkg[1:] + name
}
