package tabular

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// generatedCSV is an io.Reader producing a CSV file of about size bytes
// row by row, so that a test can profile far more data than it holds.
type generatedCSV struct {
	size    int64
	emitted int64
	row     int
	buf     []byte
	r       *rand.Rand
	// sample is called every sampleEvery bytes read.
	sample      func(read int64)
	sampleEvery int64
	nextSample  int64
}

func newGeneratedCSV(size int64) *generatedCSV {
	g := &generatedCSV{size: size, r: rand.New(rand.NewPCG(42, 42))}
	g.buf = append(g.buf, "id,patient,amount,smoker,born,seen,ward,note\n"...)
	return g
}

var wards = []string{"cardiology", "oncology", "neurology", "radiology", "paediatrics"}

func (g *generatedCSV) fill() {
	i := g.row
	g.row++
	b := g.buf
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ",P-"...)
	b = strconv.AppendUint(b, g.r.Uint64()%5_000_000, 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, float64(g.r.IntN(1_000_000))/100, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendBool(b, g.r.IntN(5) == 0)
	b = append(b, ',')
	b = time.Unix(int64(g.r.IntN(30000))*86400-1e9, 0).UTC().AppendFormat(b, time.DateOnly)
	b = append(b, ',')
	if g.r.IntN(10) > 0 {
		b = time.Unix(1.6e9+g.r.Int64N(1e8), 0).UTC().AppendFormat(b, time.RFC3339)
	}
	b = append(b, ',')
	b = append(b, wards[g.r.IntN(len(wards))]...)
	b = append(b, ",\"seen by dr. "...)
	b = strconv.AppendInt(b, int64(g.r.IntN(300)), 10)
	b = append(b, ", \"\"routine\"\"\nfollow-up\"\n"...)
	g.buf = b
}

func (g *generatedCSV) Read(p []byte) (int, error) {
	if g.sample != nil && g.emitted >= g.nextSample {
		g.sample(g.emitted)
		g.nextSample += g.sampleEvery
	}
	for len(g.buf) < len(p) && g.emitted+int64(len(g.buf)) < g.size {
		g.fill()
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	g.emitted += int64(n)
	return n, nil
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Profiling a 200 MB CSV stream holds a bounded amount of memory: a few
// megabytes for buffers and the distinct counters, and no more at the end
// than a quarter of the way through.
func TestProfileCSVConstantMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("profiles 200 MB and measures the heap; not with -short or -race")
	}
	const size = 200 << 20
	g := newGeneratedCSV(size)
	base := liveHeap()
	var samples []uint64
	g.sampleEvery, g.nextSample = size/20, size/20
	g.sample = func(int64) { samples = append(samples, liveHeap()) }

	s, err := Profile(context.Background(), g, FormatCSV, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g.emitted < size {
		t.Fatalf("read only %d bytes", g.emitted)
	}
	if s.Rows != int64(g.row) || len(samples) < 15 {
		t.Fatalf("rows %d of %d, %d samples", s.Rows, g.row, len(samples))
	}
	var peak uint64
	for _, h := range samples {
		peak = max(peak, h)
	}
	growth := int64(peak) - int64(base)
	t.Logf("%d MB, %d rows: live heap %d KB at start, peak %d KB", g.emitted>>20, s.Rows, base>>10, peak>>10)
	// 8 columns: the distinct counters (≤ ~300 KB each, two per column
	// while a column may still be numeric), the CSV buffers.
	if growth > 12<<20 {
		t.Errorf("live heap grew by %d MB profiling %d MB", growth>>20, g.emitted>>20)
	}
	quarter, last := samples[len(samples)/4], samples[len(samples)-1]
	if int64(last)-int64(quarter) > 1<<20 {
		t.Errorf("live heap kept growing: %d KB at a quarter, %d KB at the end", quarter>>10, last>>10)
	}
	if c := column(t, s, "patient"); c.Type != TypeString || !c.DistinctApproximate {
		t.Errorf("patient column %+v", c)
	}
	if c := column(t, s, "seen"); c.Type != TypeTimestamp || c.NullCount == 0 {
		t.Errorf("seen column %+v", c)
	}
}

// samplingReaderAt samples the live heap every so many reads. Columns are
// read concurrently, so it locks.
type samplingReaderAt struct {
	ra      io.ReaderAt
	mu      sync.Mutex
	reads   int
	every   int
	samples []uint64
}

func (s *samplingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	if s.reads++; s.reads%s.every == 0 {
		s.samples = append(s.samples, liveHeap())
	}
	s.mu.Unlock()
	return s.ra.ReadAt(p, off)
}

// A Parquet file on disk, many times larger than what profiling holds:
// memory is bounded by a page per column and the batch, not the file.
func TestProfileParquetConstantMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("writes and profiles a large Parquet file and measures the heap; not with -short or -race")
	}
	path := filepath.Join(t.TempDir(), "big.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[patient](f, parquet.MaxRowsPerRowGroup(100_000))
	const total, chunk = 1_500_000, 50_000
	for i := 0; i < total; i += chunk {
		rows := patients(chunk, uint64(i))
		for j := range rows {
			rows[j].ID = int64(i + j)
		}
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	size := info.Size()

	base := liveHeap()
	sra := &samplingReaderAt{ra: f, every: 50}
	s, err := ProfileParquet(context.Background(), sra, size, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if s.Rows != total || len(sra.samples) < 10 {
		t.Fatalf("rows %d, %d samples", s.Rows, len(sra.samples))
	}
	var peak uint64
	for _, h := range sra.samples {
		peak = max(peak, h)
	}
	growth := int64(peak) - int64(base)
	t.Logf("%d MB file, %d rows, %d reads: live heap %d KB at start, peak %d KB", size>>20, s.Rows, sra.reads, base>>10, peak>>10)
	if growth > 16<<20 || growth > size/2 {
		t.Errorf("live heap grew by %s profiling a %d MB file", fmt.Sprint(growth>>20, " MB"), size>>20)
	}
}
