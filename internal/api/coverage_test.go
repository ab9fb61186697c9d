package api_test

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/api"
)

// covered records the mutating routes that some scenario drove to success
// while asserting the audit records it wrote.
var covered = struct {
	sync.Mutex
	routes map[string]bool
}{routes: map[string]bool{}}

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

// noteCovered is called for each scenario that succeeded.
func noteCovered(method, path string) {
	if method == http.MethodGet {
		return
	}
	_, pattern := routeMux.Handler(httptest.NewRequest(method, path, nil))
	covered.Lock()
	covered.routes[method+" "+pattern] = true
	covered.Unlock()
}

// TestMain checks, after a full run of the package, that every mutating
// route was driven to success by a scenario that asserted its audit
// records: a new route without such a test fails the suite.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.fuzz").Value.String() == "" {
		var missing []string
		for _, rt := range (&api.Server{}).RouteTable() {
			key := rt.Method + " " + rt.Pattern
			if rt.Method != http.MethodGet && !covered.routes[key] {
				missing = append(missing, key)
			}
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
