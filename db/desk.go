package db

import (
	"context"

	"github.com/uptrace/bun"
)

// Desk is the read side of the collectors' page: the worklist ranked over
// the whole book (worklist.go), the account view a page at a time
// (account.go), and the few per-customer reads below.
type Desk struct{ db bun.IDB }

// NewDesk wraps a database or a transaction.
func NewDesk(db bun.IDB) *Desk { return &Desk{db: db} }

// maxDeskRows bounds the one per-customer set still read whole (a
// customer's invoices for the credit scorer). The worklist, the account
// view and the payment trend never read whole sets: see worklist.go and
// account.go.
const maxDeskRows = 10000

// InvoicesByID loads the invoices with the given ids.
func (r *Desk) InvoicesByID(ctx context.Context, ids []string) ([]Invoice, error) {
	var out []Invoice
	if len(ids) == 0 {
		return out, nil
	}
	err := r.db.NewSelect().Model(&out).Where("inv.id IN (?)", bun.In(ids)).Order("inv.id").Scan(ctx)
	return out, err
}

// CustomerInvoices returns every invoice of a customer, oldest first.
func (r *Desk) CustomerInvoices(ctx context.Context, customerID string) ([]Invoice, error) {
	var out []Invoice
	err := r.db.NewSelect().Model(&out).Where("inv.customer_id = ?", customerID).Order("inv.issued_at", "inv.id").
		Limit(maxDeskRows).Scan(ctx)
	return out, err
}

// PaymentsFor returns the payments (refunds included, as negative amounts)
// of the given invoices, keyed by invoice id, each oldest first.
func (r *Desk) PaymentsFor(ctx context.Context, invoiceIDs []string) (map[string][]Payment, error) {
	out := map[string][]Payment{}
	if len(invoiceIDs) == 0 {
		return out, nil
	}
	var list []Payment
	if err := r.db.NewSelect().Model(&list).Where("invoice_id IN (?)", bun.In(invoiceIDs)).
		Order("received_at", "id").Scan(ctx); err != nil {
		return nil, err
	}
	for _, p := range list {
		out[p.InvoiceID] = append(out[p.InvoiceID], p)
	}
	return out, nil
}

// OpenBalance is the sum of a customer's open balances in one currency.
func (r *Desk) OpenBalance(ctx context.Context, customerID, currency string) (int64, error) {
	var sum int64
	err := r.db.NewSelect().Model((*Invoice)(nil)).ColumnExpr("COALESCE(SUM(balance_minor), 0)").
		Where("customer_id = ? AND currency = ? AND closed_at IS NULL", customerID, currency).Scan(ctx, &sum)
	return sum, err
}

// CustomerTasks returns a customer's tasks with a status ("" for all),
// soonest due first.
func (r *Desk) CustomerTasks(ctx context.Context, customerID, status string) ([]Task, error) {
	var out []Task
	q := r.db.NewSelect().Model(&out).Where("customer_id = ?", customerID).Order("due_at", "id").Limit(500)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	err := q.Scan(ctx)
	return out, err
}

// AccountManagers lists the account managers named on customers, sorted
// (the collectors' page offers them as the worklist's filter).
func (r *Desk) AccountManagers(ctx context.Context) ([]string, error) {
	var out []string
	err := r.db.NewSelect().Model((*Customer)(nil)).ColumnExpr("DISTINCT account_manager").
		Where("account_manager <> ''").OrderExpr("account_manager").Scan(ctx, &out)
	return out, err
}
