// Package file is the JSONL file adapter of audit sinks: one event per
// line, appended to a file under the server's audit directory (mode 0600),
// synced to disk after each batch and rotated by size, keeping a fixed number
// of older files (path.1 is the newest of them). A log shipper such as the
// SIEM vendor's agent tails the file.
package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/siem"
)

func init() { siem.Register(siem.KindFile, Open) }

// Sender appends batches to one file.
type Sender struct {
	path     string
	maxBytes int64
	keep     int

	f    *os.File
	size int64
}

var _ siem.Sender = (*Sender)(nil)

// Open returns a Sender for a file sink; the file is opened at the first batch.
func Open(sk *siem.Sink, env siem.Env) (siem.Sender, error) {
	if sk.File == nil {
		return nil, errors.New("file sink without file settings")
	}
	if env.FileDir == "" {
		return nil, errors.New("the server has no audit directory for file sinks")
	}
	return &Sender{path: filepath.Join(env.FileDir, filepath.FromSlash(sk.File.Path)),
		maxBytes: sk.File.MaxBytes, keep: sk.File.Keep}, nil
}

// Path is the file the sender writes.
func (s *Sender) Path() string { return s.path }

// Send implements siem.Sender: it appends one line per event, rotating
// before a line that would take the file past its maximum size, and syncs
// the file before it returns.
func (s *Sender) Send(_ context.Context, events []*audit.Event) error {
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	for _, e := range events {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode audit event %s: %w", e.ID, err)
		}
		line = append(line, '\n')
		if s.size > 0 && s.size+int64(len(line)) > s.maxBytes {
			if err := s.rotate(); err != nil {
				return err
			}
		}
		n, err := s.f.Write(line)
		s.size += int64(n)
		if err != nil {
			return s.fail("write", err)
		}
	}
	if err := s.f.Sync(); err != nil {
		return s.fail("sync", err)
	}
	return nil
}

// fail closes the file after an error, so that the next batch opens it
// afresh (and repairs a line the error cut short).
func (s *Sender) fail(what string, err error) error {
	_ = s.Close()
	return fmt.Errorf("%s audit file %s: %w", what, s.path, err)
}

// open opens the file for appending. A file that does not end with a
// newline lost the end of a line to a crash: a newline starts the next
// line cleanly, so that the torn line stays one unparseable line rather
// than spoiling the next (which will be delivered again anyway).
func (s *Sender) open() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("create audit directory: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open audit file %s: %w", s.path, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("open audit file %s: %w", s.path, err)
	}
	s.f, s.size = f, st.Size()
	if s.size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, s.size-1); err != nil && err != io.EOF {
			return s.fail("read", err)
		}
		if last[0] != '\n' {
			n, err := f.Write([]byte{'\n'})
			s.size += int64(n)
			if err != nil {
				return s.fail("repair", err)
			}
		}
	}
	return nil
}

// rotate moves path to path.1 (path.1 to path.2, and so on, dropping the
// oldest beyond keep) and starts a new file.
func (s *Sender) rotate() error {
	if err := s.f.Sync(); err != nil {
		return s.fail("sync", err)
	}
	if err := s.f.Close(); err != nil {
		s.f = nil
		return fmt.Errorf("close audit file %s: %w", s.path, err)
	}
	s.f = nil
	name := func(i int) string { return fmt.Sprintf("%s.%d", s.path, i) }
	if err := os.Remove(name(s.keep)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate audit file: %w", err)
	}
	for i := s.keep - 1; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate audit file: %w", err)
		}
	}
	if err := os.Rename(s.path, name(1)); err != nil {
		return fmt.Errorf("rotate audit file: %w", err)
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = d.Sync() // make the renames durable
		d.Close()
	}
	return s.open()
}

// Close implements siem.Sender.
func (s *Sender) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
