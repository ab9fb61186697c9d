package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlite"
	"github.com/enclave-ml/enclave/internal/sqlstore"
)

// benchDataStreams measures encrypted upload and download of a file of
// size bytes through the objects service (hash, quota count, Tink
// streaming AEAD, local bucket, object rows in SQLite) against copying the
// same file plainly on the same disk, in the same run. It returns the two
// results (upload, download) and the MB/s of each side.
func benchDataStreams(dir string, size int64) []result {
	ctx := context.Background()
	src := filepath.Join(dir, "data-src.bin")
	f, err := os.Create(src)
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.NewChaCha8([32]byte{7})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		rng.Read(buf)
		_, err := w.Write(buf[:min(int64(len(buf)), left)])
		check(err)
	}
	check(w.Flush())
	check(f.Sync())
	check(f.Close())

	plainCopy := func(dst string) time.Duration {
		start := time.Now()
		in, err := os.Open(src)
		check(err)
		out, err := os.Create(dst)
		check(err)
		_, err = io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{in}, make([]byte, 1<<20))
		check(err)
		check(out.Sync())
		check(out.Close())
		in.Close()
		d := time.Since(start)
		check(os.Remove(dst))
		return d
	}
	plain := plainCopy(filepath.Join(dir, "data-copy.bin"))

	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	check(os.MkdirAll(cfg.DataDir, 0o700))
	db, err := sqlstore.Open(ctx, sqlite.URL(filepath.Join(cfg.DataDir, "enclave.db")))
	check(err)
	defer db.Close()
	_, err = db.Migrate(ctx)
	check(err)
	svc := server.NewServices(db, nil, cfg)
	place := objects.Placement{Owner: "bench-project", Bucket: "default"}

	in, err := os.Open(src)
	check(err)
	start := time.Now()
	o, err := svc.Objects.Write(ctx, place, in, 0)
	check(err)
	check(db.InTx(ctx, func(ctx context.Context) error { return svc.Objects.Commit(ctx, o) }))
	up := time.Since(start)
	in.Close()

	dst := filepath.Join(dir, "data-down.bin")
	start = time.Now()
	r, err := svc.Objects.Open(ctx, o)
	check(err)
	rc, err := r.ReadRange(ctx, 0, -1)
	check(err)
	out, err := os.Create(dst)
	check(err)
	_, err = io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{rc}, make([]byte, 1<<20))
	check(err)
	check(out.Sync())
	check(out.Close())
	rc.Close()
	down := time.Since(start)
	check(os.Remove(dst))
	plain2 := plainCopy(filepath.Join(dir, "data-copy2.bin"))

	mbs := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	fmt.Printf("\ndata streams, %d MiB: plain copy %.0f MB/s and %.0f MB/s; encrypted upload %.0f MB/s (%.0f%%), download %.0f MB/s (%.0f%%) (goal: at least 70%%)\n",
		size>>20, mbs(plain), mbs(plain2), mbs(up), 100*plain.Seconds()/up.Seconds(), mbs(down), 100*plain2.Seconds()/down.Seconds())
	return []result{
		{name: fmt.Sprintf("encrypted upload, %d MiB", size>>20), baselineName: "(plain file copy)", enclave: up, baseline: plain},
		{name: fmt.Sprintf("encrypted download, %d MiB", size>>20), baselineName: "(plain file copy)", enclave: down, baseline: plain2},
	}
}
