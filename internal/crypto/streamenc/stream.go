package streamenc

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// NewWriter returns a writer that encrypts what is written to it and writes
// the ciphertext to dst. Close must be called to write the final segment;
// without it the ciphertext is incomplete and will not decrypt. The
// associated data (typically the object's immutable ID) is not stored: the
// same bytes must be given to decrypt.
func (c *Cipher) NewWriter(dst io.Writer, ad []byte) (io.WriteCloser, error) {
	w, err := c.tink.NewEncryptingWriter(dst, ad)
	if err != nil {
		return nil, fmt.Errorf("streamenc: start encryption: %w", err)
	}
	return w, nil
}

// Encrypt reads src to its end and writes its encryption to dst, holding at
// most two segments in memory. It returns the number of plaintext bytes read.
func (c *Cipher) Encrypt(dst io.Writer, src io.Reader, ad []byte) (int64, error) {
	w, err := c.NewWriter(dst, ad)
	if err != nil {
		return 0, err
	}
	buf := c.bufPool.get()
	defer c.bufPool.put(buf)
	// Hide src's WriterTo so that the copy reads a whole plaintext segment at
	// a time rather than 32 KiB.
	n, err := io.CopyBuffer(w, struct{ io.Reader }{src}, (*buf)[:c.geo.plain()])
	if err != nil {
		return n, fmt.Errorf("streamenc: encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return n, fmt.Errorf("streamenc: encrypt final segment: %w", err)
	}
	return n, nil
}

// NewReader returns a reader of the plaintext of the ciphertext read from
// src. Each segment is authenticated before any of its bytes are returned;
// truncation of the whole stream shows only at its end, so a caller must
// treat an error after partial output as fatal to the whole object. Failed
// authentication is reported as [ErrCorrupt]; errors from src are returned
// as they are.
func (c *Cipher) NewReader(src io.Reader, ad []byte) (io.Reader, error) {
	rec := &recordingReader{r: src}
	r, err := c.tink.NewDecryptingReader(rec, ad)
	if err != nil {
		return nil, rec.classify(err, "read header")
	}
	return &decryptingReader{r: r, rec: rec}, nil
}

// Decrypt reads the ciphertext from src to its end and writes the plaintext
// to dst, holding about two segments in memory. It returns the number of
// plaintext bytes written. On error, dst may have received the plaintext of
// the segments that did authenticate.
func (c *Cipher) Decrypt(dst io.Writer, src io.Reader, ad []byte) (int64, error) {
	r, err := c.NewReader(src, ad)
	if err != nil {
		return 0, err
	}
	buf := c.bufPool.get()
	defer c.bufPool.put(buf)
	// Hide dst's ReaderFrom so the copy moves a whole segment per call.
	n, err := io.CopyBuffer(struct{ io.Writer }{dst}, r, (*buf)[:c.geo.plain()])
	return n, err
}

// decryptingReader turns Tink's errors into ErrCorrupt or the source's own
// error, and keeps the first error.
type decryptingReader struct {
	r   io.Reader
	rec *recordingReader
	err error
}

func (d *decryptingReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	if err != nil {
		if err != io.EOF {
			err = d.rec.classify(err, "decrypt")
		}
		d.err = err
	}
	return n, err
}

// recordingReader remembers the first error of the ciphertext source other
// than io.EOF, so a failure of Tink's reader can be told apart: the source
// failed, or the ciphertext did not authenticate.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func (r *recordingReader) classify(err error, op string) error {
	if r.err != nil {
		return fmt.Errorf("streamenc: %s: reading ciphertext: %w", op, r.err)
	}
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w (%s: %v)", ErrCorrupt, op, err)
}

// bufferPool recycles segment-sized buffers, so that range reads of small
// pieces (a Parquet footer) do not allocate a segment each.
type bufferPool struct {
	size int
	pool sync.Pool
}

// defaultPool is shared by every Cipher of the default segment size; a
// Cipher of another size gets a pool of its own.
var defaultPool = &bufferPool{size: DefaultSegmentSize}

func poolFor(size int) *bufferPool {
	if size == DefaultSegmentSize {
		return defaultPool
	}
	return &bufferPool{size: size}
}

func (p *bufferPool) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, p.size)
	return &b
}

func (p *bufferPool) put(b *[]byte) { p.pool.Put(b) }
