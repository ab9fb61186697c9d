package scanner_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/scanner"
	"github.com/enclave-ml/enclave/internal/scanner/clamdtest"
)

// randomFile returns n bytes that match no signature.
func randomFile(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

// TestRealClamd scans through a real clamd: the EICAR file on its own and
// inside a larger file (across a chunk boundary too) is found, clean and
// empty files are clean, and concurrent scans each get their own verdict.
func TestRealClamd(t *testing.T) {
	srv := clamdtest.Start(t)
	c := newClamd(t, srv.Addr, scanner.WithChunkSize(64<<10))
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	embed := func(size, at int) []byte {
		b := randomFile(size, uint64(at))
		copy(b[at:], clamdtest.EICAR)
		return b
	}
	for _, tc := range []struct {
		name     string
		file     []byte
		infected bool
		sig      string
	}{
		{"eicar", []byte(clamdtest.EICAR), true, clamdtest.Signature},
		{"eicar inside a larger file", embed(3<<20, 1<<20+12345), true, clamdtest.Signature + ".Body"},
		{"eicar across a chunk boundary", embed(1<<20, 64<<10-30), true, clamdtest.Signature + ".Body"},
		{"eicar at the end", append(randomFile(200<<10, 7), clamdtest.EICAR...), true, clamdtest.Signature + ".Body"},
		{"clean", randomFile(3<<20, 1), false, ""},
		{"almost eicar", []byte(clamdtest.EICAR[:67]), false, ""},
		{"empty", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Scan(ctx, bytes.NewReader(tc.file))
			if err != nil || res.Infected != tc.infected || !strings.HasPrefix(res.Signature, tc.sig) {
				t.Fatalf("Scan: %+v, %v; want infected=%v, signature %s...", res, err, tc.infected, tc.sig)
			}
		})
	}
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				file := randomFile(256<<10, uint64(100+i))
				if i%2 == 0 {
					copy(file[1000*i:], clamdtest.EICAR)
				}
				res, err := c.Scan(ctx, bytes.NewReader(file))
				if err != nil || res.Infected != (i%2 == 0) {
					t.Errorf("scan %d: %+v, %v", i, res, err)
				}
			})
		}
		wg.Wait()
	})
}

// TestRealClamdLimits: a stream over clamd's StreamMaxLength, and a file
// clamd stops reading at MaxFileSize, are ErrTooLarge, never clean.
func TestRealClamdLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("StreamMaxLength", func(t *testing.T) {
		srv := clamdtest.Start(t, clamdtest.Setting("StreamMaxLength", "1M"))
		c := newClamd(t, srv.Addr)
		if res, err := c.Scan(ctx, io.LimitReader(zeros{}, 1<<20)); err != nil || res.Infected {
			t.Fatalf("at the limit: %+v, %v", res, err)
		}
		res, err := c.Scan(ctx, io.LimitReader(zeros{}, 8<<20))
		if !errors.Is(err, scanner.ErrTooLarge) || res.Infected {
			t.Fatalf("over the limit: %+v, %v", res, err)
		}
	})
	t.Run("MaxFileSize", func(t *testing.T) {
		srv := clamdtest.Start(t, clamdtest.Setting("StreamMaxLength", "8M"),
			clamdtest.Setting("MaxFileSize", "1M"), clamdtest.Setting("MaxScanSize", "1M"))
		c := newClamd(t, srv.Addr)
		// The EICAR string past MaxFileSize would go unseen: not clean, too large.
		file := append(randomFile(2<<20, 3), clamdtest.EICAR...)
		res, err := c.Scan(ctx, bytes.NewReader(file))
		if !errors.Is(err, scanner.ErrTooLarge) || !strings.Contains(err.Error(), "Heuristics.Limits.Exceeded") || res.Infected {
			t.Fatalf("Scan: %+v, %v", res, err)
		}
	})
}

// TestRealClamdOutage: while clamd is down, scans and pings fail with
// ErrUnavailable; once it is back the same scanner works again.
func TestRealClamdOutage(t *testing.T) {
	srv := clamdtest.Start(t)
	c := newClamd(t, srv.Addr)
	ctx := context.Background()
	srv.Stop()
	if err := c.Ping(ctx); !errors.Is(err, scanner.ErrUnavailable) {
		t.Fatalf("Ping while down: %v", err)
	}
	res, err := c.Scan(ctx, strings.NewReader(clamdtest.EICAR))
	if !errors.Is(err, scanner.ErrUnavailable) || res.Infected {
		t.Fatalf("Scan while down: %+v, %v", res, err)
	}
	srv.Restart()
	res, err = c.Scan(ctx, strings.NewReader(clamdtest.EICAR))
	if err != nil || !res.Infected {
		t.Fatalf("Scan after restart: %+v, %v", res, err)
	}
}
