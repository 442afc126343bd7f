package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
)

// The collector's desk reads whole sets (every open invoice of a manager,
// every paid invoice of a customer); maxDeskRows bounds them.
const maxDeskRows = 10000

// OpenInvoicesFilter narrows OpenInvoices; zero values match everything.
type OpenInvoicesFilter struct {
	Manager  string // the customer's account manager
	Currency string
}

// OpenInvoices returns every invoice not yet closed, by due date.
func (s *Store) OpenInvoices(ctx context.Context, f OpenInvoicesFilter) ([]Invoice, error) {
	var out []Invoice
	q := s.db.NewSelect().Model(&out).Where("inv.closed_at IS NULL").Order("inv.due_at", "inv.id").Limit(maxDeskRows)
	if f.Manager != "" {
		q = q.Where("inv.customer_id IN (?)", s.db.NewSelect().Model((*Customer)(nil)).Column("id").Where("account_manager = ?", f.Manager))
	}
	if f.Currency != "" {
		q = q.Where("inv.currency = ?", f.Currency)
	}
	err := q.Scan(ctx)
	return out, err
}

// InvoicesByID loads the invoices with the given ids.
func (s *Store) InvoicesByID(ctx context.Context, ids []string) ([]Invoice, error) {
	var out []Invoice
	if len(ids) == 0 {
		return out, nil
	}
	err := s.db.NewSelect().Model(&out).Where("inv.id IN (?)", bun.In(ids)).Order("inv.id").Scan(ctx)
	return out, err
}

// CustomersByID loads the customers with the given ids.
func (s *Store) CustomersByID(ctx context.Context, ids []string) ([]Customer, error) {
	var out []Customer
	if len(ids) == 0 {
		return out, nil
	}
	err := s.db.NewSelect().Model(&out).Where("id IN (?)", bun.In(ids)).Order("id").Scan(ctx)
	return out, err
}

// CustomerInvoices returns every invoice of a customer, oldest first.
func (s *Store) CustomerInvoices(ctx context.Context, customerID string) ([]Invoice, error) {
	var out []Invoice
	err := s.db.NewSelect().Model(&out).Where("inv.customer_id = ?", customerID).Order("inv.issued_at", "inv.id").
		Limit(maxDeskRows).Scan(ctx)
	return out, err
}

// PaidInvoices returns the paid invoices of the given customers.
func (s *Store) PaidInvoices(ctx context.Context, customerIDs []string) ([]Invoice, error) {
	var out []Invoice
	if len(customerIDs) == 0 {
		return out, nil
	}
	err := s.db.NewSelect().Model(&out).Where("inv.customer_id IN (?)", bun.In(customerIDs)).
		Where("inv.stage = ?", invoice.StagePaid).Order("inv.id").Limit(maxDeskRows).Scan(ctx)
	return out, err
}

// PaymentsFor returns the payments (refunds included, as negative amounts)
// of the given invoices, keyed by invoice id, each oldest first.
func (s *Store) PaymentsFor(ctx context.Context, invoiceIDs []string) (map[string][]Payment, error) {
	out := map[string][]Payment{}
	if len(invoiceIDs) == 0 {
		return out, nil
	}
	var list []Payment
	if err := s.db.NewSelect().Model(&list).Where("invoice_id IN (?)", bun.In(invoiceIDs)).
		Order("received_at", "id").Scan(ctx); err != nil {
		return nil, err
	}
	for _, p := range list {
		out[p.InvoiceID] = append(out[p.InvoiceID], p)
	}
	return out, nil
}

// OpenBalance is the sum of a customer's open balances in one currency.
func (s *Store) OpenBalance(ctx context.Context, customerID, currency string) (int64, error) {
	var sum int64
	err := s.db.NewSelect().Model((*Invoice)(nil)).ColumnExpr("COALESCE(SUM(balance_minor), 0)").
		Where("customer_id = ? AND currency = ? AND closed_at IS NULL", customerID, currency).Scan(ctx, &sum)
	return sum, err
}

// CustomerTasks returns a customer's tasks with a status ("" for all),
// soonest due first.
func (s *Store) CustomerTasks(ctx context.Context, customerID, status string) ([]Task, error) {
	var out []Task
	q := s.db.NewSelect().Model(&out).Where("customer_id = ?", customerID).Order("due_at", "id").Limit(500)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	err := q.Scan(ctx)
	return out, err
}

// OpenTasks returns open tasks, for one assignee when given.
func (s *Store) OpenTasks(ctx context.Context, assignee string) ([]Task, error) {
	var out []Task
	q := s.db.NewSelect().Model(&out).Where("status = ?", TaskOpen).Order("due_at", "id").Limit(maxDeskRows)
	if assignee != "" {
		q = q.Where("assignee = ?", assignee)
	}
	err := q.Scan(ctx)
	return out, err
}

// ErrTaskDone is returned when a finished task would be changed.
var ErrTaskDone = errors.New("task is already done")

// ReassignTask gives an open task to another person and records who moved
// it, to whom and why as a note on the task's invoice, in one transaction.
func (s *Store) ReassignTask(ctx context.Context, id, assignee string, note *Note) (*Task, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t := new(Task)
		if err := tx.NewSelect().Model(t).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "task", id)
		}
		if t.Status != TaskOpen {
			return ErrTaskDone
		}
		res, err := tx.NewUpdate().Model((*Task)(nil)).Set("assignee = ?", assignee).
			Where("id = ? AND status = ?", id, TaskOpen).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "open task", id)
		}
		if note != nil {
			note.CustomerID, note.InvoiceID = t.CustomerID, t.InvoiceID
			if _, err := tx.NewInsert().Model(note).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetTask(ctx, id)
}

// AccountManagers lists the account managers named on customers, sorted
// (the collectors' page offers them as the worklist's filter).
func (s *Store) AccountManagers(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.NewSelect().Model((*Customer)(nil)).ColumnExpr("DISTINCT account_manager").
		Where("account_manager <> ''").OrderExpr("account_manager").Scan(ctx, &out)
	return out, err
}
