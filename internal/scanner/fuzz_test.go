package scanner

import (
	"errors"
	"strings"
	"testing"
)

// FuzzVerdict: a reply is clean only when it is exactly "stream: OK"; any
// other reply is a detection with a printable signature or an error.
func FuzzVerdict(f *testing.F) {
	for _, s := range []string{"stream: OK", "stream: Eicar FOUND", "INSTREAM size limit exceeded. ERROR",
		"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND", "stream:  FOUND", "x ERROR", "PONG", ""} {
		f.Add(s)
	}
	c := &Clamd{addr: "unix:/fuzz"}
	f.Fuzz(func(t *testing.T, reply string) {
		res, err := c.verdict(reply)
		switch {
		case err != nil:
			if res != (Result{}) {
				t.Fatalf("%q: error %v with verdict %+v", reply, err, res)
			}
			if !errors.Is(err, ErrScanFailed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%q: unclassified error %v", reply, err)
			}
			if strings.ContainsAny(err.Error(), "\x00\r\n") {
				t.Fatalf("%q: control characters in %q", reply, err)
			}
		case !res.Infected:
			if reply != "stream: OK" || res.Signature != "" {
				t.Fatalf("%q read as clean", reply)
			}
		case !validSignature(res.Signature):
			t.Fatalf("%q: signature %q", reply, res.Signature)
		}
	})
}

// FuzzParseAddr: an accepted address names a Unix socket path or a TCP
// host and port, nothing else.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"unix:/run/clamd.sock", "tcp://127.0.0.1:3310", "tcp://[::1]:1", "unix:a", "tcp://h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		network, address, err := parseAddr(addr)
		if err != nil {
			return
		}
		switch network {
		case "unix":
			if address != strings.TrimPrefix(addr, "unix:") || !strings.HasPrefix(address, "/") || len(address) > maxUnixPath {
				t.Fatalf("%q: unix %q", addr, address)
			}
		case "tcp":
			if "tcp://"+address != addr || strings.ContainsAny(address, "/?#@ \t\r\n") {
				t.Fatalf("%q: tcp %q", addr, address)
			}
		default:
			t.Fatalf("%q: network %q", addr, network)
		}
	})
}
