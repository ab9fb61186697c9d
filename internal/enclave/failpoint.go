//go:build !failpoints

package enclave

// Failpoint marks a step of a multi-step operation at which the crash-safety
// tests kill the process. In a normal build it does nothing and costs
// nothing; a build with the tag "failpoints" kills the process (SIGKILL, as
// `kill -9` would) when ENCLAVE_FAILPOINTS names the point.
func Failpoint(name string) {}
