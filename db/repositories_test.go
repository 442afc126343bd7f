package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// The repositories take bun.IDB: built on a transaction they write in it, so
// a rollback leaves nothing behind and a commit keeps everything.
func TestRepositoriesWriteInsideATransaction(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			write := func(id string, fail error) error {
				return d.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					c := &db.Customer{ID: "cus-" + id, Name: "Acme", Timezone: "UTC", CreatedAt: t0, UpdatedAt: t0}
					if _, err := db.NewCustomers(tx).InsertCustomer(ctx, c); err != nil {
						return err
					}
					inv := &db.Invoice{ID: "inv-" + id, Number: id, CustomerID: c.ID, AmountMinor: 100, BalanceMinor: 100,
						Currency: "EUR", IssuedAt: t0, DueAt: t0, Stage: invoice.StageIssued, CreatedAt: t0, UpdatedAt: t0}
					if _, err := db.NewStore(tx).InsertInvoice(ctx, inv); err != nil {
						return err
					}
					return fail
				})
			}
			boom := errors.New("boom")
			if err := write("rolled-back", boom); !errors.Is(err, boom) {
				t.Fatalf("rollback: %v", err)
			}
			if err := write("committed", nil); err != nil {
				t.Fatal(err)
			}
			s := db.NewStore(d.DB)
			if _, err := s.GetCustomer(ctx, "cus-rolled-back"); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("customer of a rolled-back transaction: %v", err)
			}
			if _, err := s.Invoices.GetInvoice(ctx, "inv-rolled-back"); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("invoice of a rolled-back transaction: %v", err)
			}
			if _, err := s.GetInvoice(ctx, "inv-committed"); err != nil {
				t.Errorf("invoice of a committed transaction: %v", err)
			}
		})
	}
}
