// Package postgres is the database adapter for replicated deployments:
// PostgreSQL through pgx. Work is shared between replicas with
// FOR UPDATE SKIP LOCKED, and migrations take an advisory lock so that
// replicas starting together apply them once. It registers the "postgres"
// and "postgresql" URL schemes with sqlstore.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sqlstore.Register("postgres", Driver{})
	sqlstore.Register("postgresql", Driver{})
}

// Driver implements sqlstore.Driver.
type Driver struct{}

var _ sqlstore.Driver = Driver{}

// Open implements sqlstore.Driver.
func (Driver) Open(ctx context.Context, u *url.URL) (*sql.DB, error) {
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", u.Redacted(), err)
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
	return sqlstore.GooseMigrator{Dialect: goose.DialectPostgres, FS: sub,
		Locker: func() (lock.SessionLocker, error) { return lock.NewPostgresSessionLocker() }}
}

type dialect struct{}

func (dialect) Name() string                         { return "postgres" }
func (dialect) Rebind(q string) string               { return sqlstore.RebindDollar(q) }
func (dialect) LockSkipLocked() string               { return " FOR UPDATE SKIP LOCKED" }
func (dialect) LockForUpdate() string                { return " FOR UPDATE" }
func (dialect) LockForShare() string                 { return " FOR SHARE" }
func (dialect) IsUniqueViolation(err error) bool     { return hasCode(err, "23505") }
func (dialect) IsForeignKeyViolation(err error) bool { return hasCode(err, "23503") }

func hasCode(err error, code string) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == code
}
