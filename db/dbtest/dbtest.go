// Package dbtest gives tests fresh, migrated databases: always SQLite, and
// PostgreSQL too when TEST_DATABASE_URL names a server (CI sets it).
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/collections-engine/collections/db"
)

// EnvPostgres is the environment variable holding a PostgreSQL URL for tests.
const EnvPostgres = "TEST_DATABASE_URL"

// Database is one migrated database for a test.
type Database struct {
	Name string // "sqlite" or "postgres"
	DSN  string
	DB   *bun.DB
}

// All returns a fresh migrated SQLite database and, when TEST_DATABASE_URL
// is set, a fresh migrated PostgreSQL database. They are closed (and the
// PostgreSQL one dropped) when the test ends.
func All(t testing.TB) []Database {
	t.Helper()
	out := []Database{SQLite(t)}
	if os.Getenv(EnvPostgres) != "" {
		out = append(out, Postgres(t))
	}
	return out
}

// SQLite returns a fresh migrated SQLite database in the test's temp dir.
func SQLite(t testing.TB) Database {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "app.db")
	return open(t, "sqlite", dsn)
}

// Postgres returns a fresh migrated database on the server TEST_DATABASE_URL
// names; the test is skipped when it is unset.
func Postgres(t testing.TB) Database {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("%s not set", EnvPostgres)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	name := "collections_test_" + randomHex(6)
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(base)))
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(base)))
		defer admin.Close()
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u.Path = "/" + name
	return open(t, "postgres", u.String())
}

// Handles opens n more connection pools on d's database, closed when the
// test ends: as many handles as separate processes would have, so that a
// test of a rule that reads, decides and writes can race on PostgreSQL (on
// SQLite, every handle's transactions take the one write lock in turn).
func Handles(t testing.TB, d Database, n int) []*bun.DB {
	t.Helper()
	out := make([]*bun.DB, 0, n)
	for range n {
		h, err := db.Open(d.DSN)
		if err != nil {
			t.Fatalf("open another handle on %s: %v", d.Name, err)
		}
		t.Cleanup(func() { _ = h.Close() })
		out = append(out, h)
	}
	return out
}

func open(t testing.TB, name, dsn string) Database {
	t.Helper()
	bdb, err := db.Open(dsn)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { _ = bdb.Close() })
	if err := db.Migrate(context.Background(), bdb, nil); err != nil {
		t.Fatalf("migrate %s: %v", name, err)
	}
	return Database{Name: name, DSN: dsn, DB: bdb}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("random: %v", err))
	}
	return hex.EncodeToString(b)
}
