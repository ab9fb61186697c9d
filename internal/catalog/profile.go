package catalog

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/tabular"
)

// profileOptions are the catalog's: no string extremes, which are values of
// single records (see tabular.Options.StringMinMax).
var profileOptions = tabular.Options{Parallelism: 1}

// csvProfiler profiles a CSV file as it streams past during an upload, on
// its own goroutine, without ever holding the upload up: if the file turns
// out not to be a table the profiler stops and the rest of the stream is
// simply not profiled.
type csvProfiler struct {
	pw     *io.PipeWriter
	mu     sync.Mutex
	closed bool
	done   chan struct{}
	schema *tabular.Schema
}

func newCSVProfiler(ctx context.Context) *csvProfiler {
	pr, pw := io.Pipe()
	p := &csvProfiler{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		s, err := tabular.Profile(ctx, pr, tabular.FormatCSV, profileOptions)
		pr.CloseWithError(io.ErrClosedPipe) // unblock and stop the writer
		if err == nil {
			p.schema = s
		}
	}()
	return p
}

// Write passes p to the profiler; it never fails and never blocks once the
// profiler has stopped.
func (p *csvProfiler) Write(b []byte) (int, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if !closed {
		if _, err := p.pw.Write(b); err != nil {
			p.mu.Lock()
			p.closed = true
			p.mu.Unlock()
		}
	}
	return len(b), nil
}

// finish ends the stream and returns the schema, or nil if the file was
// not a table. ok says whether the stream ended cleanly.
func (p *csvProfiler) finish(ok bool) *tabular.Schema {
	if ok {
		p.pw.Close()
	} else {
		p.pw.CloseWithError(io.ErrUnexpectedEOF)
	}
	<-p.done
	if !ok {
		return nil
	}
	return p.schema
}

// objectReaderAt reads a stored object's plaintext at offsets, decrypting
// only the segments each read needs; Parquet is profiled through it.
type objectReaderAt struct {
	ctx context.Context
	r   *objects.Reader
}

func (o objectReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.r.Size() {
		return 0, io.EOF
	}
	n := min(int64(len(p)), o.r.Size()-off)
	rc, err := o.r.ReadRange(o.ctx, off, n)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	m, err := io.ReadFull(rc, p[:n])
	if err == nil && int64(m) < int64(len(p)) {
		err = io.EOF
	}
	return m, err
}

// profileParquet profiles a stored Parquet object.
func (s *Service) profileParquet(ctx context.Context, o *objects.Object) *tabular.Schema {
	stored := *o
	stored.State = objects.Stored
	r, err := s.Objects.Open(ctx, &stored)
	if err != nil {
		return nil
	}
	sc, err := tabular.ProfileParquet(ctx, objectReaderAt{ctx: ctx, r: r}, o.Size, profileOptions)
	if err != nil {
		return nil
	}
	return sc
}

func marshalSchema(s *tabular.Schema) []byte {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	return b
}
