package scanner

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Defaults of a Clamd.
const (
	// DefaultTimeout bounds connecting and each write of the stream.
	DefaultTimeout = 30 * time.Second
	// DefaultReplyTimeout bounds the wait for a verdict once the whole
	// stream is sent: clamd's own MaxScanTime defaults to two minutes.
	DefaultReplyTimeout = 3 * time.Minute
	// DefaultChunkSize is the size of the INSTREAM chunks.
	DefaultChunkSize = 64 << 10
)

// maxReply bounds a clamd reply; real ones are a line.
const maxReply = 4 << 10

// maxUnixPath is the longest socket path the kernel takes (sun_path holds
// 108 bytes with the terminating NUL).
const maxUnixPath = 107

// Clamd scans through a ClamAV daemon over a Unix socket or TCP, with the
// INSTREAM command: the file goes to clamd in length-prefixed chunks, so
// clamd needs no access to the file system the file lives on. Each command
// uses a connection of its own, as clamd closes it after one command.
//
// clamd reports a stream over its StreamMaxLength as an error, but it does
// not scan beyond MaxFileSize or MaxScanSize either, and then reports the
// file clean unless AlertExceedsMax is on. Configure clamd with
// StreamMaxLength <= MaxFileSize <= MaxScanSize and AlertExceedsMax yes;
// Clamd reports the resulting Heuristics.Limits.Exceeded verdicts as
// ErrTooLarge. Over TCP clamd may reset the connection instead of answering
// when the stream is too long, which reads as ErrUnavailable: give
// WithMaxStream the same limit so that such files fail as ErrTooLarge here.
type Clamd struct {
	addr         string // as configured, for messages
	network      string
	address      string
	timeout      time.Duration
	replyTimeout time.Duration
	chunkSize    int
	maxStream    int64
}

var _ Scanner = (*Clamd)(nil)

// Option configures a Clamd.
type Option func(*Clamd)

// WithTimeout bounds connecting and each write to clamd (DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *Clamd) { c.timeout = d } }

// WithReplyTimeout bounds the wait for the verdict after the last chunk
// (DefaultReplyTimeout).
func WithReplyTimeout(d time.Duration) Option { return func(c *Clamd) { c.replyTimeout = d } }

// WithChunkSize sets the size of the INSTREAM chunks (DefaultChunkSize).
func WithChunkSize(n int) Option { return func(c *Clamd) { c.chunkSize = n } }

// WithMaxStream makes Scan fail with ErrTooLarge, without waiting for
// clamd, as soon as a stream is longer than n bytes. Set it to clamd's
// StreamMaxLength. Zero, the default, leaves the limit to clamd.
func WithMaxStream(n int64) Option { return func(c *Clamd) { c.maxStream = n } }

// NewClamd returns a scanner for the clamd at addr: "unix:/absolute/path"
// or "tcp://host:port". It does not connect; Ping does.
func NewClamd(addr string, opts ...Option) (*Clamd, error) {
	network, address, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	c := &Clamd{addr: addr, network: network, address: address, timeout: DefaultTimeout,
		replyTimeout: DefaultReplyTimeout, chunkSize: DefaultChunkSize}
	for _, o := range opts {
		o(c)
	}
	switch {
	case c.timeout <= 0 || c.replyTimeout <= 0:
		return nil, enclave.Errorf(enclave.CodeInvalidArgument, "clamd timeouts must be positive")
	case c.chunkSize <= 0 || c.chunkSize > 16<<20:
		return nil, enclave.Errorf(enclave.CodeInvalidArgument, "clamd chunk size must be between 1 byte and 16 MiB, not %d", c.chunkSize)
	case c.maxStream < 0:
		return nil, enclave.Errorf(enclave.CodeInvalidArgument, "clamd stream limit must not be negative")
	}
	return c, nil
}

// parseAddr checks a clamd address strictly and returns its network and
// dial address.
func parseAddr(addr string) (network, address string, err error) {
	bad := func(format string, args ...any) (string, string, error) {
		return "", "", enclave.Errorf(enclave.CodeInvalidArgument, "clamd address %q: "+format,
			append([]any{enclave.Truncate(addr, 200)}, args...)...)
	}
	if strings.IndexFunc(addr, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0 {
		return bad("must not contain spaces or control characters")
	}
	switch {
	case strings.HasPrefix(addr, "unix:"):
		p := strings.TrimPrefix(addr, "unix:")
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return bad("want unix:/absolute/path/to/clamd.sock")
		}
		if len(p) > maxUnixPath {
			return bad("a Unix socket path is at most %d bytes", maxUnixPath)
		}
		return "unix", p, nil
	case strings.HasPrefix(addr, "tcp://"):
		hp := strings.TrimPrefix(addr, "tcp://")
		host, port, err := net.SplitHostPort(hp)
		if err != nil || strings.ContainsAny(hp, "/?#@") {
			return bad("want tcp://host:port")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return bad("port must be a number from 1 to 65535")
		}
		if net.ParseIP(host) == nil && !validHostname(host) {
			return bad("%q is neither an IP address nor a host name", host)
		}
		return "tcp", hp, nil
	default:
		return bad("want unix:/path/to/clamd.sock or tcp://host:port")
	}
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Name implements Scanner.
func (c *Clamd) Name() string { return "clamd" }

// Addr is the address the scanner connects to, as configured.
func (c *Clamd) Addr() string { return c.addr }

// Ping implements Scanner: clamd answers PING with PONG.
func (c *Clamd) Ping(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.close()
	if err := conn.write([]byte("zPING\x00"), c.timeout); err != nil {
		return c.unavailable(ctx, "sending PING", err)
	}
	reply, err := c.readReply(ctx, conn, c.timeout)
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("%w: clamd at %s answered PING with %q", ErrScanFailed, c.addr, printable(reply))
	}
	return nil
}

// Scan implements Scanner with the INSTREAM command.
func (c *Clamd) Scan(ctx context.Context, r io.Reader) (Result, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.close()
	if err := conn.write([]byte("zINSTREAM\x00"), c.timeout); err != nil {
		return Result{}, c.unavailable(ctx, "sending INSTREAM", err)
	}
	buf := make([]byte, 4+c.chunkSize)
	var sent int64
	for {
		n, rerr := io.ReadFull(r, buf[4:])
		if n > 0 {
			if c.maxStream > 0 && sent+int64(n) > c.maxStream {
				return Result{}, fmt.Errorf("%w: the stream is longer than %d bytes", ErrTooLarge, c.maxStream)
			}
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if err := conn.write(buf[:4+n], c.timeout); err != nil {
				return Result{}, c.writeFailed(ctx, conn, sent, err)
			}
			sent += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return Result{}, fmt.Errorf("reading the stream to scan: %w", rerr)
		}
	}
	if err := conn.write([]byte{0, 0, 0, 0}, c.timeout); err != nil {
		return Result{}, c.writeFailed(ctx, conn, sent, err)
	}
	reply, err := c.readReply(ctx, conn, c.replyTimeout)
	if err != nil {
		return Result{}, err
	}
	return c.verdict(reply)
}

// writeFailed explains a failed write: clamd closes the connection after
// answering a stream that is too long, so a reply may be waiting.
func (c *Clamd) writeFailed(ctx context.Context, conn *clamdConn, sent int64, werr error) error {
	if ctx.Err() == nil {
		if reply, err := c.readReply(ctx, conn, min(c.timeout, 5*time.Second)); err == nil {
			if _, verr := c.verdict(reply); verr != nil {
				return verr
			}
		}
	}
	return c.unavailable(ctx, fmt.Sprintf("sending the stream (after %d bytes)", sent), werr)
}

// verdict parses clamd's answer to INSTREAM.
func (c *Clamd) verdict(reply string) (Result, error) {
	const prefix, found = "stream: ", " FOUND"
	switch {
	case reply == "stream: OK":
		return Result{}, nil
	case strings.HasPrefix(reply, prefix) && strings.HasSuffix(reply, found):
		sig := strings.TrimSuffix(strings.TrimPrefix(reply, prefix), found)
		if !validSignature(sig) {
			break
		}
		if sig == "Heuristics.Limits.Exceeded.MaxScanTime" {
			// Perhaps only a busy scanner: worth another try.
			return Result{}, fmt.Errorf("%w: clamd at %s ran out of time: %s", ErrScanFailed, c.addr, sig)
		}
		if strings.HasPrefix(sig, "Heuristics.Limits.Exceeded") {
			// clamd stopped reading the file at one of its size limits
			// (MaxFileSize, MaxScanSize, MaxFiles, MaxRecursion...): the
			// rest of it was never looked at.
			return Result{}, fmt.Errorf("%w: clamd at %s: %s", ErrTooLarge, c.addr, sig)
		}
		return Result{Infected: true, Signature: sig}, nil
	case reply == "INSTREAM size limit exceeded. ERROR":
		return Result{}, fmt.Errorf("%w: clamd at %s: %s (StreamMaxLength)", ErrTooLarge, c.addr, reply)
	case strings.HasSuffix(reply, " ERROR"):
		return Result{}, fmt.Errorf("%w: clamd at %s: %s", ErrScanFailed, c.addr, printable(reply))
	}
	return Result{}, fmt.Errorf("%w: clamd at %s sent a malformed reply %q", ErrScanFailed, c.addr, printable(reply))
}

// validSignature accepts a signature name of printable ASCII.
func validSignature(s string) bool {
	if s == "" || len(s) > 512 || strings.TrimSpace(s) != s {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// readReply reads one NUL-terminated reply of at most maxReply bytes.
func (c *Clamd) readReply(ctx context.Context, conn *clamdConn, timeout time.Duration) (string, error) {
	if err := conn.deadline(time.Now().Add(timeout)); err != nil {
		return "", c.unavailable(ctx, "waiting for the reply", err)
	}
	var got []byte
	buf := make([]byte, 512)
	for {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if i := bytes.IndexByte(got, 0); i >= 0 {
			return string(got[:i]), nil
		}
		if len(got) > maxReply {
			return "", fmt.Errorf("%w: clamd at %s sent a reply longer than %d bytes", ErrScanFailed, c.addr, maxReply)
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) && len(got) == 0:
			return "", c.unavailable(ctx, "waiting for the reply", errors.New("connection closed without a reply"))
		case errors.Is(err, io.EOF):
			return "", c.unavailable(ctx, "waiting for the reply", fmt.Errorf("connection closed in the middle of the reply %q", printable(string(got))))
		default:
			return "", c.unavailable(ctx, "waiting for the reply", err)
		}
	}
}

// unavailable wraps an I/O failure as ErrUnavailable; when ctx ended, its
// cause is what failed the operation.
func (c *Clamd) unavailable(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return fmt.Errorf("%w: clamd at %s: %s: %w", ErrUnavailable, c.addr, op, err)
}

func (c *Clamd) dial(ctx context.Context) (*clamdConn, error) {
	d := net.Dialer{Timeout: c.timeout}
	nc, err := d.DialContext(ctx, c.network, c.address)
	if err != nil {
		return nil, c.unavailable(ctx, "connecting", err)
	}
	conn := &clamdConn{Conn: nc}
	conn.stop = context.AfterFunc(ctx, conn.cancel)
	return conn, nil
}

// clamdConn is one connection to clamd whose I/O ends when its context does.
type clamdConn struct {
	net.Conn
	stop func() bool

	mu        sync.Mutex
	cancelled bool
}

// cancel interrupts any I/O in progress, for good.
func (c *clamdConn) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = true
	_ = c.Conn.SetDeadline(time.Unix(1, 0))
}

// deadline sets the connection's deadline unless the context ended, so
// that a new deadline never revives a cancelled connection.
func (c *clamdConn) deadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancelled {
		return nil
	}
	return c.Conn.SetDeadline(t)
}

func (c *clamdConn) write(b []byte, timeout time.Duration) error {
	if err := c.deadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := c.Conn.Write(b)
	return err
}

func (c *clamdConn) close() {
	c.stop()
	_ = c.Conn.Close()
}

// printable makes text from the network safe to put in an error message.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
