package db

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// InsertInvoiceChecked stores a new invoice as InsertInvoice does, and
// decides in the same transaction whether it takes its customer over their
// credit limit: over is asked with the customer as stored and their open
// balance in the limit's currency before this invoice, and its answer is
// kept in inv.OverCreditLimit. Every such transaction for one customer
// waits for the one before it (it first locks the customer's row; on SQLite
// transactions begin with the write lock), so two invoices created at once
// cannot both fit under a limit that only one fits. openBefore is the
// balance over was given; inserted is false, and nothing is written, when
// the number is taken.
func (r *Invoices) InsertInvoiceChecked(ctx context.Context, inv *Invoice, over func(c Customer, openBefore int64) bool) (inserted bool, openBefore int64, err error) {
	err = r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		inserted, openBefore = false, 0
		if err := lockCustomer(ctx, tx, inv.CustomerID); err != nil {
			return err
		}
		var c Customer
		if err := tx.NewSelect().Model(&c).Where("id = ?", inv.CustomerID).Scan(ctx); err != nil {
			return notFound(err, "customer", inv.CustomerID)
		}
		if c.CreditLimitMinor != nil {
			if err := tx.NewSelect().Model((*Invoice)(nil)).ColumnExpr("COALESCE(SUM(balance_minor), 0)").
				Where("customer_id = ? AND currency = ? AND closed_at IS NULL", c.ID, c.CreditCurrency).Scan(ctx, &openBefore); err != nil {
				return fmt.Errorf("open balance: %w", err)
			}
		}
		inv.OverCreditLimit = over(c, openBefore)
		res, err := tx.NewInsert().Model(inv).On("CONFLICT (number) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert invoice: %w", err)
		}
		n, err := res.RowsAffected()
		inserted = n == 1
		return err
	})
	return inserted, openBefore, err
}
