package tabular

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// The benchmarks report throughput in MB/s of file (b.SetBytes), each
// beside a baseline measured the same way: encoding/csv reading every
// record, and parquet-go reading every row. The ratio is what profiling
// costs on top of parsing. They also report MB per CPU-second (all
// threads, the garbage collector's included), which a busy machine
// disturbs less than wall-clock time.
//
//	go test -run XXX -bench . -benchtime 3x ./internal/tabular/

var benchData struct {
	once    sync.Once
	csv     []byte
	parquet []byte
}

func loadBenchData(b *testing.B) {
	benchData.once.Do(func() {
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, newGeneratedCSV(100<<20)); err != nil {
			b.Fatal(err)
		}
		benchData.csv = buf.Bytes()
		var pq bytes.Buffer
		w := parquet.NewGenericWriter[patient](&pq, parquet.MaxRowsPerRowGroup(100_000), parquet.Compression(&parquet.Snappy))
		for i := range 20 {
			rows := patients(50_000, uint64(i))
			if _, err := w.Write(rows); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		benchData.parquet = pq.Bytes()
	})
}

// workerCases profile in the calling goroutine only, and with the
// default parallelism.
var workerCases = []struct {
	name    string
	workers int
}{{"parallelism=1", 1}, {"parallelism=default", 0}}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs body b.N times and reports MB per CPU-second besides.
func loop(b *testing.B, size int, body func()) {
	b.SetBytes(int64(size))
	start := cpuTime()
	n := 0
	for b.Loop() {
		body()
		n++
	}
	if cpu := (cpuTime() - start).Seconds(); cpu > 0 {
		b.ReportMetric(float64(size)*float64(n)/1e6/cpu, "MB/cpu-s")
	}
}

func BenchmarkProfileCSV(b *testing.B) {
	loadBenchData(b)
	for _, wc := range workerCases {
		b.Run(wc.name, func(b *testing.B) {
			loop(b, len(benchData.csv), func() {
				if _, err := Profile(context.Background(), bytes.NewReader(benchData.csv), FormatCSV, Options{Parallelism: wc.workers}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkBaselineReadCSV(b *testing.B) {
	loadBenchData(b)
	loop(b, len(benchData.csv), func() {
		r := csv.NewReader(bytes.NewReader(benchData.csv))
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadCSVRows reads through CSVRows without profiling: the part
// of a CSV profile that one goroutine must do.
func BenchmarkReadCSVRows(b *testing.B) {
	loadBenchData(b)
	loop(b, len(benchData.csv), func() {
		rows, err := NewCSVRows(bytes.NewReader(benchData.csv), ReaderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkProfileParquet(b *testing.B) {
	loadBenchData(b)
	data := benchData.parquet
	for _, wc := range workerCases {
		b.Run(wc.name, func(b *testing.B) {
			loop(b, len(data), func() {
				if _, err := ProfileParquet(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Parallelism: wc.workers}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkBaselineReadParquet(b *testing.B) {
	loadBenchData(b)
	data := benchData.parquet
	buf := make([]parquet.Row, 256)
	loop(b, len(data), func() {
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		for _, rg := range f.RowGroups() {
			rows := rg.Rows()
			for {
				n, err := rows.ReadRows(buf)
				_ = n
				if err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
			rows.Close()
		}
	})
}
