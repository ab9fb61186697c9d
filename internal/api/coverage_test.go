package api_test

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/api"
)

// covered records the mutating routes that some scenario drove to success
// while asserting the audit records it wrote, and the resource kinds that
// went through policy admission on the way (the Enclave-Admission header).
var covered = struct {
	sync.Mutex
	routes   map[string]bool
	admitted map[string]map[string]bool
}{routes: map[string]bool{}, admitted: map[string]map[string]bool{}}

// routeMux resolves a request to its route pattern, as the server does.
var routeMux = func() *http.ServeMux {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range (&api.Server{}).RouteTable() {
		if !seen[rt.Pattern] {
			seen[rt.Pattern] = true
			mux.Handle(rt.Pattern, http.NotFoundHandler())
		}
	}
	return mux
}()

// noteCovered is called for each scenario that succeeded, with its
// response's header.
func noteCovered(method, path string, h http.Header) {
	if method == http.MethodGet {
		return
	}
	_, pattern := routeMux.Handler(httptest.NewRequest(method, path, nil))
	key := method + " " + pattern
	covered.Lock()
	defer covered.Unlock()
	covered.routes[key] = true
	if covered.admitted[key] == nil {
		covered.admitted[key] = map[string]bool{}
	}
	for _, k := range strings.Split(h.Get(api.AdmissionHeader), ",") {
		if k = strings.TrimSpace(k); k != "" {
			covered.admitted[key][k] = true
		}
	}
}

// TestMain checks, after a full run of the package, that every mutating
// route was driven to success by a scenario that asserted its audit
// records, and that its change passed policy admission for the resource
// kind the route declares: a new route without such a test, or whose
// service skips admission, fails the suite.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.fuzz").Value.String() == "" {
		var missing, unadmitted []string
		for _, rt := range (&api.Server{}).RouteTable() {
			key := rt.Method + " " + rt.Pattern
			if rt.Method != http.MethodGet && !covered.routes[key] {
				missing = append(missing, key)
			}
			if rt.Method != http.MethodGet && rt.Kind != "" && covered.routes[key] && !covered.admitted[key][rt.Kind] {
				unadmitted = append(unadmitted, key+" ("+rt.Kind+")")
			}
		}
		sort.Strings(unadmitted)
		if len(unadmitted) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: mutating routes whose change did not pass policy admission for its kind:\n")
			for _, k := range unadmitted {
				fmt.Fprintf(os.Stderr, "  %s\n", k)
			}
			code = 1
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: mutating routes that no scenario drove to success asserting their audit records:\n")
			for _, k := range missing {
				fmt.Fprintf(os.Stderr, "  %s\n", k)
			}
			code = 1
		}
	}
	os.Exit(code)
}
