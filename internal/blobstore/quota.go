package blobstore

import "io"

// Quotas are the platform's business: it knows what a project has stored and
// passes the remainder as PutOptions.MaxSize, or wraps a stream in one of
// these. Both count while streaming, so nothing is buffered to learn a size.

// QuotaReader reads at most Limit bytes from R; reading past them fails with
// ErrQuotaExceeded. A stream of exactly Limit bytes reads cleanly to io.EOF.
type QuotaReader struct {
	R     io.Reader
	Limit int64
	n     int64
}

// NewQuotaReader returns a QuotaReader of r with the given limit.
func NewQuotaReader(r io.Reader, limit int64) *QuotaReader {
	return &QuotaReader{R: r, Limit: limit}
}

// Read reads from R, failing once more than Limit bytes have arrived.
func (q *QuotaReader) Read(p []byte) (int, error) {
	if q.n > q.Limit {
		return 0, ErrQuotaExceeded
	}
	// Read at most one byte more than the limit allows, to see whether
	// the stream goes on.
	if room := q.Limit - q.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := q.R.Read(p)
	q.n += int64(n)
	if q.n > q.Limit {
		return n - int(q.n-q.Limit), ErrQuotaExceeded
	}
	return n, err
}

// N returns the number of bytes read so far (at most Limit+1).
func (q *QuotaReader) N() int64 { return q.n }

// LimitWriter writes at most Limit bytes to W; a write that would go past
// them writes what fits and fails with ErrQuotaExceeded.
type LimitWriter struct {
	W     io.Writer
	Limit int64
	n     int64
}

// NewLimitWriter returns a LimitWriter of w with the given limit.
func NewLimitWriter(w io.Writer, limit int64) *LimitWriter {
	return &LimitWriter{W: w, Limit: limit}
}

// Write writes p to W unless that would exceed Limit.
func (l *LimitWriter) Write(p []byte) (int, error) {
	room := l.Limit - l.n
	if int64(len(p)) <= room {
		n, err := l.W.Write(p)
		l.n += int64(n)
		return n, err
	}
	n, err := l.W.Write(p[:max(room, 0)])
	l.n += int64(n)
	if err == nil {
		err = ErrQuotaExceeded
	}
	return n, err
}

// N returns the number of bytes written so far.
func (l *LimitWriter) N() int64 { return l.n }
