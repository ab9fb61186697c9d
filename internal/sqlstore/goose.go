package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MigrationsTable records which migrations a database has applied.
const MigrationsTable = "schema_migrations"

// GooseMigrator applies embedded SQL migrations with goose.
type GooseMigrator struct {
	Dialect goose.Dialect
	FS      fs.FS
	// Locker, when set, serializes migrations across replicas.
	Locker func() (lock.SessionLocker, error)
}

func (m GooseMigrator) provider(db *sql.DB) (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithTableName(MigrationsTable), goose.WithDisableGlobalRegistry(true)}
	if m.Locker != nil {
		l, err := m.Locker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	return goose.NewProvider(m.Dialect, db, m.FS, opts...)
}

// Migrate implements Migrator.
func (m GooseMigrator) Migrate(ctx context.Context, db *sql.DB) ([]int64, error) {
	p, err := m.provider(db)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, err
	}
	var applied []int64
	for _, r := range res {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// MigrationStatus implements Migrator.
func (m GooseMigrator) MigrationStatus(ctx context.Context, db *sql.DB) ([]MigrationState, error) {
	p, err := m.provider(db)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		ms := MigrationState{Version: s.Source.Version, Name: s.Source.Path}
		if s.State == goose.StateApplied {
			t := s.AppliedAt.UTC()
			ms.AppliedAt = &t
		}
		out = append(out, ms)
	}
	return out, nil
}
