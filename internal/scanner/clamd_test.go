package scanner_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/scanner"
)

// fakeClamd is an in-process stand-in for clamd that answers each
// connection with handle, for the failures a real clamd will not produce on
// demand.
func fakeClamd(t *testing.T, network string, handle func(c net.Conn)) string {
	t.Helper()
	var ln net.Listener
	var err error
	var addr string
	if network == "unix" {
		// Not t.TempDir: its path, named after the test, may be too long for a socket.
		dir, derr := os.MkdirTemp("", "fakeclamd")
		if derr != nil {
			t.Fatal(derr)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		p := filepath.Join(dir, "clamd.sock")
		ln, err = net.Listen("unix", p)
		addr = "unix:" + p
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			addr = "tcp://" + ln.Addr().String()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return addr
}

// readCommand reads a NUL-terminated command.
func readCommand(c net.Conn) (string, error) {
	var cmd []byte
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(c, b); err != nil {
			return string(cmd), err
		}
		if b[0] == 0 {
			return string(cmd), nil
		}
		cmd = append(cmd, b[0])
	}
}

// readStream reads INSTREAM chunks up to the zero-length one, or until
// limit bytes were read (reporting tooLong); it returns the data and the
// size of each chunk.
func readStream(c net.Conn, limit int) (data []byte, chunks []int, tooLong bool, err error) {
	var size [4]byte
	for {
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return data, chunks, false, err
		}
		n := int(binary.BigEndian.Uint32(size[:]))
		if n == 0 {
			return data, chunks, false, nil
		}
		if limit > 0 && len(data)+n > limit {
			return data, chunks, true, nil
		}
		chunk := make([]byte, n)
		if _, err := io.ReadFull(c, chunk); err != nil {
			return data, chunks, false, err
		}
		data = append(data, chunk...)
		chunks = append(chunks, n)
	}
}

// answer reads an INSTREAM and replies with reply, written as is.
func answer(reply string) func(c net.Conn) {
	return func(c net.Conn) {
		if cmd, err := readCommand(c); err != nil || cmd != "zINSTREAM" {
			return
		}
		if _, _, _, err := readStream(c, 0); err != nil {
			return
		}
		_, _ = io.WriteString(c, reply)
	}
}

func newClamd(t *testing.T, addr string, opts ...scanner.Option) *scanner.Clamd {
	t.Helper()
	c, err := scanner.NewClamd(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestScanStreamsInChunks: the file goes to clamd as INSTREAM chunks of
// the configured size with a 4-byte big-endian length each, over TCP and a
// Unix socket.
func TestScanStreamsInChunks(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			type got struct {
				data   []byte
				chunks []int
			}
			received := make(chan got, 1)
			addr := fakeClamd(t, network, func(c net.Conn) {
				if cmd, err := readCommand(c); err != nil || cmd != "zINSTREAM" {
					t.Errorf("command %q: %v", cmd, err)
					return
				}
				data, chunks, _, err := readStream(c, 0)
				if err != nil {
					t.Error(err)
				}
				received <- got{data, chunks}
				_, _ = io.WriteString(c, "stream: OK\x00")
			})
			file := bytes.Repeat([]byte("0123456789"), 250)
			res, err := newClamd(t, addr, scanner.WithChunkSize(1000)).Scan(context.Background(), bytes.NewReader(file))
			if err != nil || res.Infected || res.Signature != "" {
				t.Fatalf("Scan: %+v, %v", res, err)
			}
			g := <-received
			if !bytes.Equal(g.data, file) || len(g.chunks) != 3 || g.chunks[0] != 1000 || g.chunks[2] != 500 {
				t.Errorf("clamd received %d bytes in chunks %v", len(g.data), g.chunks)
			}
		})
	}
}

// TestVerdicts: only "stream: OK" is clean; every other reply is a
// detection or an error, and an error never comes with a verdict.
func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		want        scanner.Result
		err         error
	}{
		{"clean", "stream: OK\x00", scanner.Result{}, nil},
		{"found", "stream: Win.Test.EICAR_HDB-1 FOUND\x00", scanner.Result{Infected: true, Signature: "Win.Test.EICAR_HDB-1"}, nil},
		{"found with detail", "stream: Eicar-Test-Signature(44d88612fea8a8f36de82e1278abb02f:68) FOUND\x00",
			scanner.Result{Infected: true, Signature: "Eicar-Test-Signature(44d88612fea8a8f36de82e1278abb02f:68)"}, nil},
		{"stream limit", "INSTREAM size limit exceeded. ERROR\x00", scanner.Result{}, scanner.ErrTooLarge},
		{"file size limit", "stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND\x00", scanner.Result{}, scanner.ErrTooLarge},
		{"scan size limit", "stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND\x00", scanner.Result{}, scanner.ErrTooLarge},
		{"scan time limit", "stream: Heuristics.Limits.Exceeded.MaxScanTime FOUND\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"clamd error", "stream: Can't allocate memory ERROR\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"unknown word", "stream: maybe\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"empty signature", "stream:  FOUND\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"control character", "stream: Evil\x1b[2J FOUND\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"newline terminated", "stream: OK\n", scanner.Result{}, scanner.ErrUnavailable},
		{"OK without stream", "OK\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"session reply", "1: stream: OK\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"unknown command", "UNKNOWN COMMAND\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"too long", strings.Repeat("stream: OK ", 1000) + "\x00", scanner.Result{}, scanner.ErrScanFailed},
		{"unterminated", "stream: OK", scanner.Result{}, scanner.ErrUnavailable},
		{"no reply", "", scanner.Result{}, scanner.ErrUnavailable},
		{"empty reply", "\x00", scanner.Result{}, scanner.ErrScanFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClamd(t, fakeClamd(t, "tcp", answer(tc.reply)))
			res, err := c.Scan(context.Background(), strings.NewReader("some file"))
			if res != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("reply %q: %+v, %v; want %+v, %v", tc.reply, res, err, tc.want, tc.err)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\x00\x1b\n") {
				t.Errorf("error message carries control characters: %q", err)
			}
		})
	}
}

// TestConnectionDroppedMidStream: clamd going away while the file is sent
// is ErrUnavailable, never a verdict.
func TestConnectionDroppedMidStream(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := fakeClamd(t, network, func(c net.Conn) {
				_, _ = readCommand(c)
				_, _ = io.ReadFull(c, make([]byte, 100))
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // reset, as a crashed process's connection is
				}
			})
			res, err := newClamd(t, addr).Scan(context.Background(), io.LimitReader(zeros{}, 64<<20))
			if !errors.Is(err, scanner.ErrUnavailable) || res.Infected {
				t.Fatalf("Scan: %+v, %v", res, err)
			}
		})
	}
}

// TestStreamLimit: clamd answers a stream over its StreamMaxLength with an
// error and closes the connection while the client still writes; the
// client reads that answer and reports ErrTooLarge.
func TestStreamLimit(t *testing.T) {
	addr := fakeClamd(t, "unix", func(c net.Conn) {
		_, _ = readCommand(c)
		if _, _, tooLong, _ := readStream(c, 1<<20); tooLong {
			_, _ = io.WriteString(c, "INSTREAM size limit exceeded. ERROR\x00")
		}
	})
	_, err := newClamd(t, addr).Scan(context.Background(), io.LimitReader(zeros{}, 64<<20))
	if !errors.Is(err, scanner.ErrTooLarge) {
		t.Fatalf("Scan: %v", err)
	}
}

// TestMaxStream: with the limit known, a longer stream fails as
// ErrTooLarge without clamd's answer, and a stream of exactly the limit is scanned.
func TestMaxStream(t *testing.T) {
	addr := fakeClamd(t, "tcp", answer("stream: OK\x00"))
	c := newClamd(t, addr, scanner.WithMaxStream(1000), scanner.WithChunkSize(300))
	if res, err := c.Scan(context.Background(), io.LimitReader(zeros{}, 1000)); err != nil || res.Infected {
		t.Fatalf("at the limit: %+v, %v", res, err)
	}
	if _, err := c.Scan(context.Background(), io.LimitReader(zeros{}, 1001)); !errors.Is(err, scanner.ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

// TestTimeouts: a clamd that stops reading or never answers fails the scan
// as ErrUnavailable when the context or the reply timeout ends it.
func TestTimeouts(t *testing.T) {
	// stall keeps the connection open, reading nothing, until the test ends.
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	stall := func(net.Conn) { <-stop }
	silent := func(c net.Conn) {
		_, _ = readCommand(c)
		_, _, _, _ = readStream(c, 0)
		<-closed(c)
	}
	t.Run("context deadline while sending", func(t *testing.T) {
		c := newClamd(t, fakeClamd(t, "tcp", stall))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Scan(ctx, io.LimitReader(zeros{}, 1<<30))
		if !errors.Is(err, scanner.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Scan: %v", err)
		}
	})
	t.Run("context cancelled while waiting for the verdict", func(t *testing.T) {
		c := newClamd(t, fakeClamd(t, "unix", silent))
		ctx, cancel := context.WithCancel(context.Background())
		r := &callback{Reader: strings.NewReader("file"), atEOF: cancel}
		_, err := c.Scan(ctx, r)
		if !errors.Is(err, scanner.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Scan: %v", err)
		}
	})
	t.Run("reply timeout", func(t *testing.T) {
		c := newClamd(t, fakeClamd(t, "tcp", silent), scanner.WithReplyTimeout(50*time.Millisecond))
		_, err := c.Scan(context.Background(), strings.NewReader("file"))
		if !errors.Is(err, scanner.ErrUnavailable) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Scan: %v", err)
		}
	})
	t.Run("ping timeout", func(t *testing.T) {
		c := newClamd(t, fakeClamd(t, "tcp", stall), scanner.WithTimeout(50*time.Millisecond))
		if err := c.Ping(context.Background()); !errors.Is(err, scanner.ErrUnavailable) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// closed returns a channel closed once the peer closed c (reads fail).
func closed(c net.Conn) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, c)
		close(ch)
	}()
	return ch
}

// TestNothingListening: no clamd is ErrUnavailable.
func TestNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp := "tcp://" + ln.Addr().String()
	ln.Close()
	for _, addr := range []string{tcp, "unix:" + filepath.Join(t.TempDir(), "none.sock")} {
		c := newClamd(t, addr)
		if err := c.Ping(context.Background()); !errors.Is(err, scanner.ErrUnavailable) {
			t.Errorf("Ping %s: %v", addr, err)
		}
		if _, err := c.Scan(context.Background(), strings.NewReader("x")); !errors.Is(err, scanner.ErrUnavailable) {
			t.Errorf("Scan %s: %v", addr, err)
		}
	}
}

// TestReaderError: a failure reading the file is the caller's, returned as
// it is rather than as the scanner's.
func TestReaderError(t *testing.T) {
	c := newClamd(t, fakeClamd(t, "tcp", answer("stream: OK\x00")))
	boom := errors.New("blob store read failed")
	_, err := c.Scan(context.Background(), io.MultiReader(strings.NewReader("part"), errReader{boom}))
	if !errors.Is(err, boom) || errors.Is(err, scanner.ErrUnavailable) {
		t.Fatalf("Scan: %v", err)
	}
}

// TestPing: PONG is healthy, anything else an error.
func TestPing(t *testing.T) {
	pong := func(reply string) func(c net.Conn) {
		return func(c net.Conn) {
			if cmd, _ := readCommand(c); cmd == "zPING" {
				_, _ = io.WriteString(c, reply)
			}
		}
	}
	if err := newClamd(t, fakeClamd(t, "unix", pong("PONG\x00"))).Ping(context.Background()); err != nil {
		t.Errorf("PONG: %v", err)
	}
	if err := newClamd(t, fakeClamd(t, "tcp", pong("PANG\x00"))).Ping(context.Background()); !errors.Is(err, scanner.ErrScanFailed) {
		t.Errorf("PANG: %v", err)
	}
}

// TestAddresses: only unix:/absolute/path and tcp://host:port are accepted.
func TestAddresses(t *testing.T) {
	for _, addr := range []string{"unix:/run/clamav/clamd.ctl", "tcp://127.0.0.1:3310", "tcp://[::1]:3310",
		"tcp://clamd.scanning.svc.cluster.local:3310", "tcp://localhost:1"} {
		c, err := scanner.NewClamd(addr)
		if err != nil || c.Addr() != addr || c.Name() != "clamd" {
			t.Errorf("%q: %v", addr, err)
		}
	}
	for _, addr := range []string{"", "/run/clamd.sock", "unix:", "unix:relative.sock", "unix:/run/../clamd.sock",
		"unix:///run/clamd.sock", "unix:/" + strings.Repeat("a", 107), "unix:/run/clamd sock", "unix:/run/clamd\x00.sock",
		"tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536", "tcp://127.0.0.1:03310",
		"tcp://:3310", "tcp://127.0.0.1:3310/", "tcp://user@host:3310", "tcp://bad_host:3310", "tcp://-a.b:3310",
		"tcp://127.0.0.1:http", "http://127.0.0.1:3310", "TCP://127.0.0.1:3310", "udp://127.0.0.1:3310"} {
		if _, err := scanner.NewClamd(addr); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("%q accepted: %v", addr, err)
		}
	}
	for _, opt := range []scanner.Option{scanner.WithTimeout(0), scanner.WithReplyTimeout(-time.Second),
		scanner.WithChunkSize(0), scanner.WithChunkSize(32 << 20), scanner.WithMaxStream(-1)} {
		if _, err := scanner.NewClamd("tcp://127.0.0.1:3310", opt); !enclave.IsCode(err, enclave.CodeInvalidArgument) {
			t.Errorf("option accepted: %v", err)
		}
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// callback calls atEOF when its reader is exhausted.
type callback struct {
	io.Reader
	atEOF func()
}

func (c *callback) Read(p []byte) (int, error) {
	n, err := c.Reader.Read(p)
	if err == io.EOF {
		c.atEOF()
	}
	return n, err
}
