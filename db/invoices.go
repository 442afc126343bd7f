package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/collections-engine/collections/invoice"
)

// Invoices keeps invoices: their rows, amounts, due dates and the status the
// workflow saves.
type Invoices struct{ db bun.IDB }

// NewInvoices wraps a database or a transaction.
func NewInvoices(db bun.IDB) *Invoices { return &Invoices{db: db} }

// InsertInvoice stores a new invoice. inserted is false, and nothing is
// written, when an invoice with that number already exists.
func (r *Invoices) InsertInvoice(ctx context.Context, inv *Invoice) (inserted bool, err error) {
	res, err := r.db.NewInsert().Model(inv).On("CONFLICT (number) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert invoice: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetInvoice loads an invoice by id.
func (r *Invoices) GetInvoice(ctx context.Context, id string) (*Invoice, error) {
	inv := new(Invoice)
	if err := r.db.NewSelect().Model(inv).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "invoice", id)
	}
	return inv, nil
}

// GetInvoiceByNumber loads an invoice by its number.
func (r *Invoices) GetInvoiceByNumber(ctx context.Context, number string) (*Invoice, error) {
	inv := new(Invoice)
	if err := r.db.NewSelect().Model(inv).Where("number = ?", number).Scan(ctx); err != nil {
		return nil, notFound(err, "invoice number", number)
	}
	return inv, nil
}

// InvoiceFilter narrows ListInvoices; zero values match everything.
type InvoiceFilter struct {
	CustomerID string
	Stage      invoice.Stage
	Manager    string // the customer's account manager
	Currency   string
	// Overdue, when set, keeps open invoices past their due date at Now
	// (true) or all the others (false).
	Overdue *bool
	Now     time.Time
	// Open keeps invoices not yet closed; Unsaved keeps open invoices
	// whose workflow has saved no status yet (it may never have started).
	Open, Unsaved bool
	// Before is a cursor: only invoices created before this id (ids are
	// UUIDv7, ordered by creation).
	Before string
	Limit  int
}

// ListInvoices returns invoices, newest first.
func (r *Invoices) ListInvoices(ctx context.Context, f InvoiceFilter) ([]Invoice, error) {
	var out []Invoice
	q := r.db.NewSelect().Model(&out).Order("inv.id DESC").Limit(limit(f.Limit))
	if f.CustomerID != "" {
		q = q.Where("inv.customer_id = ?", f.CustomerID)
	}
	if f.Stage != "" {
		q = q.Where("inv.stage = ?", f.Stage)
	}
	if f.Currency != "" {
		q = q.Where("inv.currency = ?", f.Currency)
	}
	if f.Manager != "" {
		q = q.Where("inv.customer_id IN (?)", r.db.NewSelect().Model((*Customer)(nil)).Column("id").Where("account_manager = ?", f.Manager))
	}
	if f.Overdue != nil {
		if *f.Overdue {
			q = q.Where("inv.closed_at IS NULL AND inv.due_at < ?", f.Now)
		} else {
			q = q.Where("NOT (inv.closed_at IS NULL AND inv.due_at < ?)", f.Now)
		}
	}
	if f.Open || f.Unsaved {
		q = q.Where("inv.closed_at IS NULL")
	}
	if f.Unsaved {
		q = q.Where("inv.status IS NULL")
	}
	if f.Before != "" {
		q = q.Where("inv.id < ?", f.Before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// AdjustAmount changes an invoice's amount (a credit note after a dispute)
// and returns the balance: the new amount less what was paid.
func (r *Invoices) AdjustAmount(ctx context.Context, invoiceID string, newAmount int64, now time.Time) (balance int64, err error) {
	err = r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("amount_minor = ?", newAmount).Set("updated_at = ?", now).
			Where("id = ?", invoiceID).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "invoice", invoiceID)
		}
		balance, err = setBalance(ctx, tx, invoiceID, newAmount)
		return err
	})
	return balance, err
}

// ChangeDueDate moves an invoice's due date.
func (r *Invoices) ChangeDueDate(ctx context.Context, invoiceID string, due, now time.Time) error {
	res, err := r.db.NewUpdate().Model((*Invoice)(nil)).Set("due_at = ?", due).Set("due_unix = ?", due.Unix()).Set("updated_at = ?", now).
		Where("id = ?", invoiceID).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "invoice", invoiceID)
	}
	return nil
}

// SaveStatus records the workflow's view of an invoice: stage, status with
// its timeline, and when it closed. It never moves the balance, which only
// payments change.
func (r *Invoices) SaveStatus(ctx context.Context, st invoice.Status, now time.Time) error {
	_, err := r.SaveStatusWithEvents(ctx, st, now, nil)
	return err
}

// SaveStatusWithEvents writes the workflow's status of an invoice and, in
// the same transaction, queues a delivery of every new event for every
// active subscription that wants it. It returns the deliveries of this
// invoice not yet handed to a sender, including any a crash left behind.
//
// The save spans two aggregates, the invoice and its webhook deliveries
// (see Subscriptions), and stays one transaction: a status saved without
// its events, or events queued for a status never saved, would tell
// subscribers something that did not happen. It lives with the invoice
// because the status is what is saved; queueDeliveries (outbound.go) does
// the subscription side inside the same transaction.
func (r *Invoices) SaveStatusWithEvents(ctx context.Context, st invoice.Status, now time.Time, events EventsFunc) ([]WebhookDelivery, error) {
	var undispatched []WebhookDelivery
	err := r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var inv Invoice
		q := tx.NewSelect().Model(&inv).Column("id", "number", "customer_id", "stage", "events_published").Where("id = ?", st.InvoiceID)
		if tx.Dialect().Name() == dialect.PG {
			// Saves of one invoice take turns, so the check below sees what
			// the save before committed (SQLite's transactions begin with
			// the write lock already).
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			return notFound(err, "invoice", st.InvoiceID)
		}
		// A timeline only grows, over the runs of an invoice too. A status
		// whose timeline stops before an event already indexed from a later
		// save is a late write of an earlier status (an activity attempt
		// that outlived its timeout while a retry went on, a local activity
		// still running in a worker whose task timed out): it must not
		// rewind the invoice, say from paid back to the agency.
		last, err := lastIndexed(ctx, tx, st.InvoiceID)
		if err != nil {
			return err
		}
		if len(st.Timeline) <= last {
			return nil
		}
		// The rows the timeline reports aggregate (events.go).
		if err := indexTimeline(ctx, tx, st, last); err != nil {
			return err
		}
		u := tx.NewUpdate().Model((*Invoice)(nil)).
			Set("stage = ?", st.Stage).
			Set("status = ?", &st).
			Set("closed_at = ?", st.ClosedAt).
			Set("updated_at = ?", now).
			Where("id = ?", st.InvoiceID)
		u = setStatusFacts(u, &st) // the worklist's columns (worklist.go)
		if events == nil {
			_, err := u.Exec(ctx)
			if err != nil {
				return fmt.Errorf("save status: %w", err)
			}
			return nil
		}
		// A status older than what was published (a late retry) must not
		// rewind the count.
		published := max(inv.EventsPublished, len(st.Timeline))
		if _, err := u.Set("events_published = ?", published).Exec(ctx); err != nil {
			return fmt.Errorf("save status: %w", err)
		}
		if err := queueDeliveries(ctx, tx, &inv, events(&inv, st), now); err != nil {
			return err
		}
		return tx.NewSelect().Model(&undispatched).
			Where("invoice_id = ?", st.InvoiceID).Where("status = ?", DeliveryPending).Where("dispatched_at IS NULL").
			Order("created_at", "id").Scan(ctx)
	})
	return undispatched, err
}
