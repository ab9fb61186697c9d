// Package storetest opens fresh databases for tests: a SQLite file in a
// temporary directory always, and a new database on the PostgreSQL server
// named by ENCLAVE_TEST_POSTGRES when that is set. Tests that store anything
// run once per backend through Each, so both engines pass the same suite.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/enclave-ml/enclave/internal/postgres" // registers postgres://
	"github.com/enclave-ml/enclave/internal/sqlite"
	"github.com/enclave-ml/enclave/internal/sqlstore"
)

// PostgresEnv names the variable holding a PostgreSQL server URL whose user
// may create databases.
const PostgresEnv = "ENCLAVE_TEST_POSTGRES"

// Backend names a database engine and opens fresh databases on it.
type Backend struct {
	Name string
	// URL returns the URL of a new, empty database that is dropped when t ends.
	URL func(t testing.TB) string
}

// Backends returns SQLite, and PostgreSQL when ENCLAVE_TEST_POSTGRES is set.
func Backends() []Backend {
	bs := []Backend{{Name: "sqlite", URL: func(t testing.TB) string {
		// Not t.TempDir: inside a fuzz target it can hand successive inputs the same directory.
		dir, err := os.MkdirTemp("", "enclave-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		return sqlite.URL(filepath.Join(dir, "enclave.db"))
	}}}
	if base := os.Getenv(PostgresEnv); base != "" {
		bs = append(bs, Backend{Name: "postgres", URL: func(t testing.TB) string { return freshPostgres(t, base) }})
	}
	return bs
}

// Each runs fn once per backend, as a subtest, with a migrated, empty database.
func Each(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, Open(t, b.URL(t)))
		})
	}
}

// Open opens and migrates the database at rawURL, closing it when t ends.
func Open(t testing.TB, rawURL string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func freshPostgres(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "enclave_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
