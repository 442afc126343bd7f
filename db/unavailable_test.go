package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

// TestIsUnavailableTellsAnOutageFromAMistake provokes real outages — a
// PostgreSQL server that refuses connections, a SQLite file another writer
// holds locked — and real mistakes — a missing row, a duplicate key — and
// checks that only the outages count as unavailable.
func TestIsUnavailableTellsAnOutageFromAMistake(t *testing.T) {
	ctx := context.Background()

	// Nothing listens on this port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pg, err := db.Open(fmt.Sprintf("postgres://postgres@%s/none?sslmode=disable&dial_timeout=1s", addr))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	_, err = db.NewStore(pg).GetInvoice(ctx, "x")
	if err == nil || !db.IsUnavailable(err) {
		t.Errorf("connection refused: %v, want unavailable", err)
	}

	// A SQLite file locked by another connection's write transaction.
	path := filepath.Join(t.TempDir(), "app.db")
	lite, err := db.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if err := db.Migrate(ctx, lite, nil); err != nil {
		t.Fatal(err)
	}
	locker, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	locker.SetMaxOpenConns(1)
	tx, err := locker.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO customers (id, name, email, phone, timezone, locale, created_at, updated_at) VALUES ('lock', 'l', '', '', 'UTC', 'en', '2026-01-01', '2026-01-01')"); err != nil {
		t.Fatal(err)
	}
	busy, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(100)")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = busy.Exec("INSERT INTO customers (id, name, email, phone, timezone, locale, created_at, updated_at) VALUES ('x', 'x', '', '', 'UTC', 'en', '2026-01-01', '2026-01-01')")
	if err == nil || !db.IsUnavailable(err) {
		t.Errorf("locked SQLite file: %v, want unavailable", err)
	}
	_ = tx.Rollback()

	// Mistakes are not outages, on every database.
	for _, d := range dbtest.All(t) {
		s := db.NewStore(d.DB)
		if _, err := s.GetInvoice(ctx, "missing"); err == nil || db.IsUnavailable(err) {
			t.Errorf("%s: missing row: %v", d.Name, err)
		}
		c := &db.Customer{ID: "dup", Name: "D", Timezone: "UTC", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if _, err := s.InsertCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
		_, err := d.DB.NewInsert().Model(c).Exec(ctx)
		if err == nil || db.IsUnavailable(err) {
			t.Errorf("%s: duplicate key: %v", d.Name, err)
		}
	}
	if db.IsUnavailable(errors.New("boom")) || db.IsUnavailable(nil) {
		t.Error("a plain error is not an outage")
	}
}
