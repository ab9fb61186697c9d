package blobstore

import (
	"errors"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The local backend stores an object at DIR/KEY (a valid key is its own
// file name: fileblob escapes nothing in it), its metadata in DIR/KEY.attrs
// and a write in progress in DIR/KEY.<hex>.tmp, renamed over DIR/KEY when
// the write succeeds and removed when it fails. ValidKey refuses both
// suffixes, so none of these files can be mistaken for an object.

// beforeWrite is the BeforeWrite and BeforeCopy hook: on the local backend it
// makes the temporary file 0600 before a byte is written to it (fileblob
// creates it 0666 less the umask).
func (s *Store) beforeWrite(as func(any) bool) error {
	if s.backend != BackendLocal {
		return nil
	}
	var f *os.File
	if as(&f) {
		return f.Chmod(0o600)
	}
	return nil
}

// afterWrite makes the local backend's metadata sidecar 0600 too (until
// then it is protected by its 0700 directory), and makes the object durable:
// fileblob renames its temporary file into place without syncing, so a
// power cut could lose an object whose row already says it is stored. The
// file, its sidecar and the directory that names them are synced.
func (s *Store) afterWrite(full string) error {
	if s.backend != BackendLocal {
		return nil
	}
	path := s.localPath(full)
	err := os.Chmod(path+".attrs", 0o600)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, p := range []string{path, path + ".attrs", filepath.Dir(path)} {
		if err := syncPath(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// syncPath flushes a file or directory to stable storage.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (s *Store) localPath(full string) string {
	return filepath.Join(s.dir, filepath.FromSlash(full))
}

// lockKey serialises the final step of writes to one key on the local
// backend and returns the unlock function.
func (s *Store) lockKey(full string) func() {
	if s.backend != BackendLocal {
		return func() {}
	}
	h := fnv.New32a()
	h.Write([]byte(full))
	m := &s.keyLocks[h.Sum32()%uint32(len(s.keyLocks))]
	m.Lock()
	return m.Unlock
}

// sweepLocal removes what a killed process can leave in the local backend:
// temporary files of unfinished writes, metadata sidecars without their
// object, and empty upload directories, all last changed before cutoff.
func (s *Store) sweepLocal(cutoff time.Time) error {
	root := s.localPath(strings.TrimSuffix(s.prefix, "/"))
	uploads := s.localPath(s.prefix + uploadsDir)
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		name := d.Name()
		switch {
		case d.IsDir():
			if strings.HasPrefix(path, uploads+string(filepath.Separator)) {
				dirs = append(dirs, path)
			}
		case strings.HasSuffix(name, ".tmp"):
			return ignoreNotExist(os.Remove(path))
		case strings.HasSuffix(name, ".attrs"):
			if _, err := os.Lstat(strings.TrimSuffix(path, ".attrs")); errors.Is(err, fs.ErrNotExist) {
				return ignoreNotExist(os.Remove(path))
			}
		}
		return nil
	})
	// Deepest first; a directory that is not empty stays.
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i])
	}
	return err
}

// removeUploadDir removes an upload's directory on the local backend once
// its parts are gone.
func (s *Store) removeUploadDir(id string) {
	if s.backend == BackendLocal {
		_ = os.Remove(s.localPath(s.uploadPrefix(id)))
	}
}

// localPage lists the local backend in key order, which fileblob does not
// quite do: it walks a directory's entries by name, so the file "a-b" comes
// after the directory "a" and the keys "a/…" in it, and a page token can
// then skip "a-b". Here a directory sorts as its name with a "/" after it.
// Only regular files are objects; sidecars and temporary files are not.
func (s *Store) localPage(fullPrefix, after string, size int) ([]rawObject, []byte, error) {
	var objs []rawObject
	base := fullPrefix[:strings.LastIndex(fullPrefix, "/")+1] // the directory part
	err := s.walkLocal(s.localPath(base), base, fullPrefix, after, func(o rawObject) bool {
		objs = append(objs, o)
		return len(objs) <= size
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, nil, err
	}
	if len(objs) > size {
		return objs[:size], []byte(objs[size-1].Key), nil
	}
	return objs, nil, nil
}

// walkLocal yields the objects under dir (whose keys start with
// keyPrefix) that match fullPrefix and sort after after. It returns
// errStop when yield asked to stop.
func (s *Store) walkLocal(dir, keyPrefix, fullPrefix, after string, yield func(rawObject) bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ignoreNotExist(err)
	}
	type entry struct {
		key string
		e   fs.DirEntry
	}
	list := make([]entry, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			list = append(list, entry{keyPrefix + name + "/", e})
		case e.Type().IsRegular() && !strings.HasSuffix(name, ".attrs") && !strings.HasSuffix(name, ".tmp"):
			list = append(list, entry{keyPrefix + name, e})
		}
	}
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, en := range list {
		if en.e.IsDir() {
			// Every key below starts with en.key: skip the directory
			// when none can match the prefix or sort after after.
			if !strings.HasPrefix(en.key, fullPrefix) && !strings.HasPrefix(fullPrefix, en.key) {
				continue
			}
			if en.key < after && !strings.HasPrefix(after, en.key) {
				continue
			}
			if err := s.walkLocal(filepath.Join(dir, en.e.Name()), en.key, fullPrefix, after, yield); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(en.key, fullPrefix) || en.key <= after {
			continue
		}
		info, err := en.e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since ReadDir
			}
			return err
		}
		if !yield(rawObject{Key: en.key, Size: info.Size(), ModTime: info.ModTime()}) {
			return errStop
		}
	}
	return nil
}

var errStop = errors.New("stop")

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
