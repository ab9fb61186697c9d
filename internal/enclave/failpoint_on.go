//go:build failpoints

package enclave

import (
	"os"
	"strings"
	"syscall"
)

// armed are the failpoints ENCLAVE_FAILPOINTS names (comma separated).
var armed = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("ENCLAVE_FAILPOINTS"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			m[n] = true
		}
	}
	return m
}()

// Failpoint kills the process with SIGKILL when ENCLAVE_FAILPOINTS names it:
// no deferred function runs, no buffer is flushed, no transaction is
// finished — exactly what `kill -9` does. Only builds tagged "failpoints"
// (the crash-safety tests') have it.
func Failpoint(name string) {
	if armed[name] {
		os.Stderr.WriteString("failpoint " + name + ": killing the process\n")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
