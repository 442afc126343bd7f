package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/collections-engine/collections/internal/devserver"
)

// PostgreSQL for the bench: the embedded Temporal server's two databases
// (-temporal-postgres) and the application database (-db), made fresh for
// the run unless -fresh=false, described in the report and measured with
// pg_database_size.

var urlPassword = regexp.MustCompile(`(postgres(?:ql)?://[^:/@\s]+:)[^@\s]+@`)

// redact hides the passwords of postgres:// URLs in s (the report shows
// the command and its flags).
func redact(s string) string { return urlPassword.ReplaceAllString(s, "${1}***@") }

func openPG(dsn string) *sql.DB {
	return sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
}

// withDatabase is dsn with its database replaced by name.
func withDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func databaseName(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(name) {
		return "", fmt.Errorf("%s: database name %q: use letters, digits and underscores", redact(dsn), name)
	}
	return name, nil
}

// preparePostgres makes the databases the run asked for fresh (or makes
// sure the application's exists) and notes in res what each store is.
func preparePostgres(cfg config, res *Results) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if cfg.temporalPG != "" {
		main, vis, err := devserver.PostgresDatabases(cfg.temporalPG)
		if err != nil {
			return fmt.Errorf("-temporal-postgres: %w", err)
		}
		if cfg.fresh {
			for _, name := range []string{main, vis} {
				if err := refuseSystemDatabase(name); err != nil {
					return fmt.Errorf("-temporal-postgres: %w", err)
				}
			}
			if err := devserver.DropPostgres(cfg.temporalPG); err != nil {
				return fmt.Errorf("-temporal-postgres: %w", err)
			}
			fmt.Fprintf(os.Stderr, "bench: dropped %s and %s (-fresh); the server creates them anew\n", main, vis)
		}
		server, err := describePG(ctx, cfg.temporalPG, "postgres")
		if err != nil {
			return fmt.Errorf("-temporal-postgres: %w", err)
		}
		res.TemporalStore = fmt.Sprintf("%s, databases `%s` and `%s` (plugin %s)", server, main, vis, devserver.Plugin)
	}
	if cfg.appDB != "" {
		name, err := databaseName(cfg.appDB)
		if err != nil {
			return fmt.Errorf("-db: %w", err)
		}
		if err := refuseSystemDatabase(name); err != nil {
			return fmt.Errorf("-db: %w", err)
		}
		admin, err := withDatabase(cfg.appDB, "postgres")
		if err != nil {
			return fmt.Errorf("-db: %w", err)
		}
		a := openPG(admin)
		defer a.Close()
		if cfg.fresh {
			if _, err := a.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
				return fmt.Errorf("-db: drop %s: %w", name, err)
			}
		}
		var exists bool
		if err := a.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			return fmt.Errorf("-db: %w", err)
		}
		if !exists {
			if _, err := a.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
				return fmt.Errorf("-db: create %s: %w", name, err)
			}
		}
		if cfg.fresh {
			fmt.Fprintf(os.Stderr, "bench: created %s afresh (-fresh)\n", name)
		}
		server, err := describePG(ctx, cfg.appDB, "postgres")
		if err != nil {
			return fmt.Errorf("-db: %w", err)
		}
		res.AppStore = fmt.Sprintf("%s, database `%s`", server, name)
	}
	return nil
}

// refuseSystemDatabase keeps -fresh away from the databases a server
// cannot do without.
func refuseSystemDatabase(name string) error {
	switch strings.ToLower(name) {
	case "postgres", "template0", "template1", "defaultdb":
		return fmt.Errorf("-fresh would drop the system database %q; name another", name)
	}
	return nil
}

// describePG names the server a URL points at and the settings its
// durability rests on.
func describePG(ctx context.Context, dsn, db string) (string, error) {
	admin, err := withDatabase(dsn, db)
	if err != nil {
		return "", err
	}
	c := openPG(admin)
	defer c.Close()
	var version, fsync, syncCommit string
	for _, q := range []struct {
		setting string
		into    *string
	}{{"server_version", &version}, {"fsync", &fsync}, {"synchronous_commit", &syncCommit}} {
		if err := c.QueryRowContext(ctx, "SELECT current_setting($1)", q.setting).Scan(q.into); err != nil {
			return "", fmt.Errorf("%s: %w", redact(dsn), err)
		}
	}
	if i := strings.IndexByte(version, ' '); i > 0 {
		version = version[:i]
	}
	return fmt.Sprintf("PostgreSQL %s (fsync=%s, synchronous_commit=%s)", version, fsync, syncCommit), nil
}

// pgSizer measures the embedded server's two databases.
type pgSizer struct {
	db    *sql.DB
	names []string
}

func newPGSizer(dsn string) (*pgSizer, error) {
	main, vis, err := devserver.PostgresDatabases(dsn)
	if err != nil {
		return nil, err
	}
	return &pgSizer{db: openPG(dsn), names: []string{main, vis}}, nil
}

// size is the bytes on disk of both databases together and of visibility
// alone: tables, indexes and TOAST, with the dead rows autovacuum has not
// reclaimed yet; not the WAL, which the whole server shares.
func (p *pgSizer) size(ctx context.Context) (total, visibility int64, err error) {
	for i, name := range p.names {
		var n int64
		if err := p.db.QueryRowContext(ctx, "SELECT pg_database_size($1)", name).Scan(&n); err != nil {
			return 0, 0, fmt.Errorf("size of %s: %w", name, err)
		}
		total += n
		if i == 1 {
			visibility = n
		}
	}
	return total, visibility, nil
}

// shards counts the history shards the server has taken, one row each in
// the default store (the count stored when the databases were created).
func (p *pgSizer) shards(ctx context.Context) (int, error) {
	var n int
	err := p.db.QueryRowContext(ctx, "SELECT count(*) FROM shards").Scan(&n)
	return n, err
}

func (p *pgSizer) close() { _ = p.db.Close() }

// sqliteSettings describes the embedded server's SQLite journal.
func sqliteSettings(t tuning) string {
	sync := "normal"
	for k, v := range t.pragmas {
		if strings.EqualFold(strings.TrimSpace(k), "synchronous") {
			sync = strings.ToLower(v)
		}
	}
	return "WAL, synchronous=" + sync
}
