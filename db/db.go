// Package db keeps customers, invoices, payments and every message sent, in
// PostgreSQL or SQLite through bun. Repositories take bun.IDB so they work
// inside and outside a transaction.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver Temporal's server already links

	"github.com/collections-engine/collections/db/migrations"
)

// IsPostgres reports whether a DSN names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database a DSN names: a postgres:// URL, or else the
// path of a SQLite file (created if missing).
func Open(dsn string) (*bun.DB, error) {
	if dsn == "" {
		return nil, errors.New("database: empty DSN")
	}
	if IsPostgres(dsn) {
		sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
		sqldb.SetMaxOpenConns(20)
		return bun.NewDB(sqldb, pgdialect.New()), nil
	}
	path := strings.TrimPrefix(dsn, "sqlite://")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	sqldb, err := sql.Open("sqlite", "file:"+path+sep+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("database: open sqlite %s: %w", path, err)
	}
	// SQLite has one writer; one connection keeps transactions from
	// tripping over each other, and WAL keeps readers cheap.
	sqldb.SetMaxOpenConns(1)
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

// Migrate applies every migration not yet applied. Concurrent callers wait
// for each other through bun's migration lock.
func Migrate(ctx context.Context, db *bun.DB, log *slog.Logger) error {
	m := migrate.NewMigrator(db, migrations.Migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("migrate: init: %w", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := m.Lock(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("migrate: another process holds the migration lock: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer func() { _ = m.Unlock(context.WithoutCancel(ctx)) }()
	group, err := m.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if log != nil && !group.IsZero() {
		log.Info("database migrated", "group", group.ID, "migrations", group.Migrations.String())
	}
	return backfillWorklist(ctx, db) // rows written before the worklist's columns (worklist.go)
}
