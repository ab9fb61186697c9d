// Package sqlite is the embedded database adapter: SQLite through the
// pure-Go modernc driver (no cgo, one static binary), in WAL mode, with
// writers serialized by BEGIN IMMEDIATE and a busy timeout. It registers
// the "sqlite" URL scheme with sqlstore.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { sqlstore.Register("sqlite", Driver{}) }

// Driver implements sqlstore.Driver.
type Driver struct{}

var _ sqlstore.Driver = Driver{}

// URL returns the database URL of a SQLite file.
func URL(path string) string { return "sqlite:" + path }

// Open implements sqlstore.Driver. The URL is "sqlite:PATH"; the file is
// created with owner-only permissions if it does not exist.
func (Driver) Open(ctx context.Context, u *url.URL) (*sql.DB, error) {
	path := u.Opaque
	if path == "" {
		path = u.Path
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, enclave.FieldError("database", "a SQLite URL names a file: sqlite:/path/to/enclave.db")
	}
	if len(u.RawQuery) > 0 {
		return nil, enclave.FieldError("database", "SQLite URLs take no options; Enclave sets its own pragmas")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	f.Close()
	dsn := "file:" + filepath.ToSlash(path) + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)" +
		// 32 MiB of page cache per connection (the default is 2 MB): tracking
		// searches read tens of thousands of metric rows.
		"&_pragma=cache_size(-32768)&_pragma=wal_autocheckpoint(10000)&_pragma=temp_store(MEMORY)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// WAL lets readers proceed beside the one writer; a handful of
	// connections is plenty for one process.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("open SQLite database %s: journal mode is %q, want wal", path, mode)
	}
	return db, nil
}

// Dialect implements sqlstore.Driver.
func (Driver) Dialect() sqlstore.Dialect { return dialect{} }

// Migrator implements sqlstore.Driver.
func (Driver) Migrator() sqlstore.Migrator {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqlstore.GooseMigrator{Dialect: goose.DialectSQLite3, FS: sub}
}

type dialect struct{}

func (dialect) Name() string           { return "sqlite" }
func (dialect) Rebind(q string) string { return q }
func (dialect) LockSkipLocked() string { return "" }
func (dialect) LockForUpdate() string  { return "" }
func (dialect) LockForShare() string   { return "" }
func (dialect) IsUniqueViolation(err error) bool {
	return hasCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}
func (dialect) IsForeignKeyViolation(err error) bool {
	return hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
}

func hasCode(err error, codes ...int) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code() == c {
			return true
		}
	}
	return false
}
