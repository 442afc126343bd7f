package db

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/db/migrations"
)

// A migration in Go, named by this file's name as bun requires: after
// 20261207000002 made invoice_events, write the rows of every status saved
// before it (BackfillInvoiceEvents, idempotent and paged). It lives in
// package db, which registers it, because package migrations cannot import
// db. Down does nothing: 20261207000002's down drops the table.
func init() {
	migrations.Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		_, err := BackfillInvoiceEvents(ctx, db, 500)
		return err
	}, func(context.Context, *bun.DB) error { return nil })
}
