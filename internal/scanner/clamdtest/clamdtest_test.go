package clamdtest_test

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/scanner/clamdtest"
)

// TestEICAR: the assembled constant is the published test file, whose MD5
// is the one every scanner's EICAR signature uses.
func TestEICAR(t *testing.T) {
	sum := md5.Sum([]byte(clamdtest.EICAR))
	if got := hex.EncodeToString(sum[:]); got != "44d88612fea8a8f36de82e1278abb02f" || len(clamdtest.EICAR) != 68 {
		t.Fatalf("EICAR: md5 %s, %d bytes", got, len(clamdtest.EICAR))
	}
}

// TestThisSourceIsNotTheTestFile: no file of the package holds the whole
// EICAR string, so scanners on developers' machines leave it alone.
func TestThisSourceIsNotTheTestFile(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), clamdtest.EICAR) {
			t.Errorf("%s contains the EICAR string", f)
		}
	}
}

// TestStartStopRestart starts a daemon, stops it, and starts it again on
// the same socket.
func TestStartStopRestart(t *testing.T) {
	s := clamdtest.Start(t)
	if !strings.HasPrefix(s.Addr, "unix:/") || len(s.Addr) > len("unix:")+107 {
		t.Fatalf("Addr %q", s.Addr)
	}
	addr := s.Addr
	s.Stop()
	s.Stop() // stopping a stopped server does nothing
	s.Restart()
	if s.Addr != addr {
		t.Errorf("restarted on %s, not %s", s.Addr, addr)
	}
	s.Restart()
}

// TestLongTestNameGetsAShortSocketPathBecauseTheKernelLimitsSunPathToOneHundredAndEightBytes:
// t.TempDir is named after the test; whatever its length, and whatever
// TMPDIR's, the socket path fits in the kernel's limit.
func TestLongTestNameGetsAShortSocketPathBecauseTheKernelLimitsSunPathToOneHundredAndEightBytes(t *testing.T) {
	s := clamdtest.Start(t)
	t.Log(s.Addr)
	if len(s.Addr) > len("unix:")+100 {
		t.Fatalf("socket path %q is too long", s.Addr)
	}
}
