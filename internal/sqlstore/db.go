// Package sqlstore implements Enclave's stores over database/sql. The SQL is
// written once, with '?' placeholders and portable types (times as Unix
// microseconds, JSON as text); a Dialect adapts it to each engine. The
// engine packages (internal/sqlite, internal/postgres) register themselves
// with Register and carry their own migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Dialect is what differs between SQL engines.
type Dialect interface {
	// Name is the engine's name, as in the registry.
	Name() string
	// Rebind rewrites '?' placeholders into the engine's form.
	Rebind(query string) string
	IsUniqueViolation(err error) bool
	IsForeignKeyViolation(err error) bool
	// LockSkipLocked is the clause that locks selected rows and skips rows
	// other transactions hold, or "" where the engine serializes writers.
	LockSkipLocked() string
	// LockForUpdate is the clause that locks selected rows until the
	// transaction ends, or "" where the engine serializes writers.
	LockForUpdate() string
	// LockForShare is the clause that keeps selected rows from being
	// changed or deleted until the transaction ends, or "".
	LockForShare() string
}

// Migrator applies an engine's embedded schema migrations.
type Migrator interface {
	// Migrate applies pending migrations and returns the versions applied.
	Migrate(ctx context.Context, db *sql.DB) ([]int64, error)
	// MigrationStatus lists every known migration and whether it is applied.
	MigrationStatus(ctx context.Context, db *sql.DB) ([]MigrationState, error)
}

// MigrationState is one migration and when it was applied.
type MigrationState struct {
	Version   int64      `json:"version"`
	Name      string     `json:"name"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// Driver opens one engine.
type Driver interface {
	// Open connects to the database the URL names and checks that it answers.
	Open(ctx context.Context, u *url.URL) (*sql.DB, error)
	Dialect() Dialect
	Migrator() Migrator
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a driver available under a URL scheme. It panics if the
// scheme is taken, like database/sql.Register.
func Register(scheme string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[scheme]; dup {
		panic("sqlstore: Register called twice for " + scheme)
	}
	drivers[scheme] = d
}

// Schemes lists the registered URL schemes.
func Schemes() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	var s []string
	for k := range drivers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// DB is an open database with its dialect. It implements enclave.Transactor.
type DB struct {
	SQL      *sql.DB
	Dialect  Dialect
	Migrator Migrator
	rebound  sync.Map // query → rebound query
	stmts    sync.Map // query → *sql.Stmt
	// writer, on an engine that serializes writers (SQLite), lets one
	// transaction of this process in at a time: the others wait here, in
	// order, and start the moment it ends, instead of polling the engine's
	// lock with growing sleeps (SQLite's busy handler sleeps up to 100 ms
	// at a time, which starves concurrent writers).
	writer chan struct{}
}

var _ enclave.Transactor = (*DB)(nil)

// Open connects to the database named by rawURL ("sqlite:/path/to/file.db",
// "postgres://user@host/db"), using the driver registered for its scheme.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, enclave.FieldError("database", "database must be a URL such as sqlite:/path/enclave.db or postgres://host/db")
	}
	driversMu.RLock()
	d, ok := drivers[u.Scheme]
	driversMu.RUnlock()
	if !ok {
		return nil, enclave.FieldError("database", "database scheme %q is not supported (supported: %s)", u.Scheme, strings.Join(Schemes(), ", "))
	}
	sdb, err := d.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	db := &DB{SQL: sdb, Dialect: d.Dialect(), Migrator: d.Migrator()}
	if db.Dialect.LockForUpdate() == "" {
		db.writer = make(chan struct{}, 1)
	}
	return db, nil
}

// Migrate applies pending schema migrations.
func (db *DB) Migrate(ctx context.Context) ([]int64, error) { return db.Migrator.Migrate(ctx, db.SQL) }

// MigrationStatus lists the schema migrations and which are applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	return db.Migrator.MigrationStatus(ctx, db.SQL)
}

// Close closes the database and its prepared statements.
func (db *DB) Close() error {
	db.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		db.stmts.Delete(k)
		return true
	})
	return db.SQL.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

type txKey struct{}

// writerWait is how long a transaction waits for the writer gate.
const writerWait = 10 * time.Second

// InTx implements enclave.Transactor. The error fn returns is returned as it is.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(ctx)
	}
	if db.writer != nil {
		// Bounded like the engine's busy timeout: past it the transaction
		// goes on to the engine's own lock, so that a nested transaction
		// started by mistake fails as it would without the gate instead of
		// waiting for ever.
		t := time.NewTimer(writerWait)
		select {
		case db.writer <- struct{}{}:
			t.Stop()
			defer func() { <-db.writer }()
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return db.translate(ctx.Err(), "begin transaction")
		}
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return db.translate(err, "begin transaction")
	}
	var misses []string
	var after []func()
	defer func() {
		for _, q := range misses { // the transaction's connection is back in the pool
			db.prepare(ctx, q)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
			return
		}
		if cerr := tx.Commit(); cerr != nil {
			err = db.translate(cerr, "commit")
			return
		}
		for _, f := range after {
			f()
		}
	}()
	ctx = context.WithValue(context.WithValue(context.WithValue(ctx, txKey{}, tx), missKey{}, &misses), afterKey{}, &after)
	return fn(ctx)
}

type afterKey struct{}

// afterCommit runs f once the transaction in ctx has committed, and never
// if it rolls back.
func afterCommit(ctx context.Context, f func()) {
	if after, ok := ctx.Value(afterKey{}).(*[]func()); ok {
		*after = append(*after, f)
	}
}

// InTransaction reports whether ctx carries a transaction.
func InTransaction(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*sql.Tx)
	return ok
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) q(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return db.SQL
}

func (db *DB) rebind(query string) string {
	if v, ok := db.rebound.Load(query); ok {
		return v.(string)
	}
	r := db.Dialect.Rebind(query)
	db.rebound.Store(query, r)
	return r
}

// stmt returns the query prepared once per connection, or nil when the
// caller should run it unprepared. Parsing SQL is most of the cost of a small
// SQLite query, and every authenticated request runs the same few.
//
// A statement is never prepared from inside a transaction: preparing takes
// a connection from the pool, and a transaction holding SQLite's write lock
// while waiting for a connection held by a writer waiting for that lock
// would deadlock. Such queries run unprepared and are prepared once the
// transaction has ended (see InTx).
func (db *DB) stmt(ctx context.Context, query string) *sql.Stmt {
	tx, inTx := ctx.Value(txKey{}).(*sql.Tx)
	if v, ok := db.stmts.Load(query); ok {
		if inTx {
			return tx.StmtContext(ctx, v.(*sql.Stmt))
		}
		return v.(*sql.Stmt)
	}
	if inTx {
		if misses, ok := ctx.Value(missKey{}).(*[]string); ok {
			*misses = append(*misses, query)
		}
		return nil
	}
	return db.prepare(ctx, query)
}

func (db *DB) prepare(ctx context.Context, query string) *sql.Stmt {
	st, err := db.SQL.PrepareContext(context.WithoutCancel(ctx), db.rebind(query))
	if err != nil {
		return nil
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	return st
}

type missKey struct{}

// Exec runs one statement written with '?' placeholders, in ctx's
// transaction if it carries one, as stores do. It is for tools and
// benchmarks that need the stores' exact path for SQL of their own.
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := db.exec(ctx, query, args...)
	return err
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := db.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return db.q(ctx).ExecContext(ctx, db.rebind(query), args...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.q(ctx).QueryContext(ctx, db.rebind(query), args...)
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.q(ctx).QueryRowContext(ctx, db.rebind(query), args...)
}

// translate turns driver errors into error kinds; what is said names the
// operation for the log, never the SQL.
func (db *DB) translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return enclave.Wrap(enclave.CodeNotFound, err, "%s not found", what)
	case db.Dialect.IsUniqueViolation(err):
		return enclave.Wrap(enclave.CodeConflict, err, "%s already exists", what)
	case db.Dialect.IsForeignKeyViolation(err):
		return enclave.Wrap(enclave.CodeFailedPrecondition, err, "%s is still referenced, or refers to something missing", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return enclave.Wrap(enclave.CodeUnavailable, err, "%s: request cancelled or timed out", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// RebindDollar rewrites '?' placeholders as $1, $2, … skipping quoted text.
func RebindDollar(q string) string {
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// one checks that an update or delete touched exactly one row.
func one(res sql.Result, err error, db *DB, what string) error {
	if err != nil {
		return db.translate(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return db.translate(err, what)
	}
	if n != 1 {
		return enclave.Errorf(enclave.CodeNotFound, "%s not found", what)
	}
	return nil
}
