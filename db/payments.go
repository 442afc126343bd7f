package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Payments keeps the money received against invoices (refunds are negative
// payments, see refunds.go) and every payment a processor reported.
type Payments struct{ db bun.IDB }

// NewPayments wraps a database or a transaction.
func NewPayments(db bun.IDB) *Payments { return &Payments{db: db} }

// RecordPayment stores a payment once per (invoice, reference) and returns
// the invoice's balance afterwards. A payment already recorded under that
// reference changes nothing and reports duplicate.
//
// The invoice's balance is derived from its payments, so the payment and the
// invoice's balance change in one transaction (setBalance).
func (ps *Payments) RecordPayment(ctx context.Context, p *Payment, now time.Time) (balance int64, duplicate bool, err error) {
	err = ps.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Touch the invoice first: on PostgreSQL this takes its row lock, so
		// concurrent payments sum one after another (SQLite's write lock
		// already serializes them). Without it two payments could each miss
		// the other's row and the last writer would win.
		res, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("updated_at = ?", now).Where("id = ?", p.InvoiceID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("lock invoice: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "invoice", p.InvoiceID)
		}
		res, err = tx.NewInsert().Model(p).On("CONFLICT (invoice_id, reference) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert payment: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		duplicate = n == 0
		var inv Invoice
		if err := tx.NewSelect().Model(&inv).Column("amount_minor").Where("id = ?", p.InvoiceID).Scan(ctx); err != nil {
			return notFound(err, "invoice", p.InvoiceID)
		}
		balance, err = setBalance(ctx, tx, p.InvoiceID, inv.AmountMinor)
		return err
	})
	return balance, duplicate, err
}

// setBalance recomputes an invoice's balance inside a transaction: its
// amount less every payment recorded against it.
func setBalance(ctx context.Context, tx bun.Tx, invoiceID string, amount int64) (int64, error) {
	var paid int64
	if err := tx.NewSelect().Model((*Payment)(nil)).ColumnExpr("COALESCE(SUM(amount_minor), 0)").
		Where("invoice_id = ?", invoiceID).Scan(ctx, &paid); err != nil {
		return 0, fmt.Errorf("sum payments: %w", err)
	}
	balance := amount - paid
	if _, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("balance_minor = ?", balance).Where("id = ?", invoiceID).Exec(ctx); err != nil {
		return 0, err
	}
	return balance, setAmountLog(ctx, tx, invoiceID, balance) // the worklist's amount (worklist.go)
}

// ListPayments returns an invoice's payments, oldest first.
func (ps *Payments) ListPayments(ctx context.Context, invoiceID string) ([]Payment, error) {
	var out []Payment
	err := ps.db.NewSelect().Model(&out).Where("invoice_id = ?", invoiceID).Order("received_at", "id").Scan(ctx)
	return out, err
}

// CustomerPayments returns every payment (refunds included) on a
// customer's invoices, oldest first.
func (ps *Payments) CustomerPayments(ctx context.Context, customerID string) ([]Payment, error) {
	var out []Payment
	err := ps.db.NewSelect().Model(&out).
		Where("invoice_id IN (?)", ps.db.NewSelect().Model((*Invoice)(nil)).Column("id").Where("customer_id = ?", customerID)).
		Order("received_at", "id").Scan(ctx)
	return out, err
}

// RecordPaymentEvent stores a reported payment once per (source, event id);
// inserted is false for a repeat.
func (ps *Payments) RecordPaymentEvent(ctx context.Context, e *PaymentEvent) (inserted bool, err error) {
	res, err := ps.db.NewInsert().Model(e).On("CONFLICT (source, event_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ListPaymentEvents returns reported payments, newest first.
func (ps *Payments) ListPaymentEvents(ctx context.Context, status string, lim int) ([]PaymentEvent, error) {
	var out []PaymentEvent
	q := ps.db.NewSelect().Model(&out).Order("received_at DESC", "id DESC").Limit(limit(lim))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	err := q.Scan(ctx)
	return out, err
}

// DeletePaymentEvent forgets a reported payment that could not be handed
// on, so the processor's retry is taken in afresh.
func (ps *Payments) DeletePaymentEvent(ctx context.Context, id string) error {
	_, err := ps.db.NewDelete().Model((*PaymentEvent)(nil)).Where("id = ?", id).Exec(ctx)
	return err
}
