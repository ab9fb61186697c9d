package deid

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/deid/synth"
	"github.com/enclave-ml/enclave/internal/tabular"
)

// The benchmarks report throughput in MB/s of CSV; bench/deid.go measures
// the same against encoding/csv in one run.
//
//	go test -run XXX -bench . -cpu 1 ./internal/deid/

var benchCSV = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	if _, err := synth.WriteCSV(&buf, 100000, 1); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

func BenchmarkEncodingCSV(b *testing.B) {
	data := benchCSV()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			}
		}
	}
}

func BenchmarkCSVReader(b *testing.B) {
	data := benchCSV()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		cr, _, err := newCSVReader(bytes.NewReader(data), tabular.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		for cr.Next() {
		}
	}
}

func BenchmarkScanCSV(b *testing.B) {
	data := benchCSV()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ScanCSV(context.Background(), bytes.NewReader(data), ScanOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFindAll(b *testing.B) {
	s := "Patient John Smith (NHS 943 476 5919) seen on 2023-04-01; contact john.smith@nhs.net or 07700 900123."
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		FindAll(s, nil)
	}
}

func BenchmarkScanCSVWithClasses(b *testing.B) {
	data := benchCSV()
	b.SetBytes(int64(len(data)))
	opts := ScanOptions{QuasiIdentifiers: []string{"age", "sex", "zip"}, SensitiveAttributes: []string{"diagnosis"}}
	for b.Loop() {
		if _, err := ScanCSV(context.Background(), bytes.NewReader(data), opts); err != nil {
			b.Fatal(err)
		}
	}
}
