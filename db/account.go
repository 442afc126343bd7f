package db

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
)

// The account view of one customer, a page at a time: each of its lists
// (invoices, payments, messages, notes, open tasks) is read by keyset
// pagination on its own order, never loaded whole.

// PageKey is where a page of one of the account's lists ends; its Encode
// is the opaque cursor of the next page.
type PageKey struct {
	R  int64     `json:"r,omitempty"` // a rank (open before closed)
	N  int64     `json:"n,omitempty"` // a number (a due time)
	T  time.Time `json:"t"`           // a moment
	S  string    `json:"s,omitempty"` // a string (an invoice number)
	ID string    `json:"i"`
}

// Encode is the opaque cursor for the key.
func (k PageKey) Encode() string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodePageKey reads a cursor Encode made; "" is the first page (nil).
func DecodePageKey(s string) (*PageKey, error) {
	if s == "" {
		return nil, nil
	}
	var k PageKey
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &k) != nil || k.ID == "" {
		return nil, ErrBadCursor
	}
	return &k, nil
}

func pageLimit(n int) int {
	if n <= 0 || n > 500 {
		return 20
	}
	return n
}

func invoiceKey(inv Invoice) PageKey {
	if inv.ClosedAt == nil && !inv.Stage.Closed() {
		return PageKey{R: 0, N: inv.DueUnix, S: inv.Number, ID: inv.ID}
	}
	return PageKey{R: 1, N: inv.DueUnix, S: inv.Number, ID: inv.ID}
}

// AccountInvoices is a page of a customer's invoices with their saved
// statuses: the open ones first, oldest due first, then the closed ones,
// latest due first (ties by number, then id). Each part is read in the
// order of an index on (customer_id, due_unix), so a page sorts no more
// than the invoices due at the same moment. next is nil on the last page.
func (r *Desk) AccountInvoices(ctx context.Context, customerID string, after *PageKey, lim int) (out []Invoice, next *PageKey, err error) {
	lim = pageLimit(lim)
	closed := bun.In(closedStages)
	if after == nil || after.R == 0 {
		q := r.db.NewSelect().Model(&out).Where("inv.customer_id = ?", customerID).
			Where("inv.closed_at IS NULL AND inv.stage NOT IN (?)", closed).
			OrderExpr("inv.due_unix ASC, inv.number ASC, inv.id ASC").Limit(int64(lim + 1))
		if after != nil {
			q = q.Where("inv.due_unix > ? OR (inv.due_unix = ? AND (inv.number > ? OR (inv.number = ? AND inv.id > ?)))",
				after.N, after.N, after.S, after.S, after.ID)
		}
		if err := q.Scan(ctx); err != nil {
			return nil, nil, err
		}
	}
	if len(out) <= lim { // the open ones are done: the closed ones follow
		var more []Invoice
		q := r.db.NewSelect().Model(&more).Where("inv.customer_id = ?", customerID).
			Where("NOT (inv.closed_at IS NULL AND inv.stage NOT IN (?))", closed).
			OrderExpr("inv.due_unix DESC, inv.number ASC, inv.id ASC").Limit(int64(lim + 1 - len(out)))
		if after != nil && after.R == 1 {
			q = q.Where("inv.due_unix < ? OR (inv.due_unix = ? AND (inv.number > ? OR (inv.number = ? AND inv.id > ?)))",
				after.N, after.N, after.S, after.S, after.ID)
		}
		if err := q.Scan(ctx); err != nil {
			return nil, nil, err
		}
		out = append(out, more...)
	}
	if len(out) > lim {
		out = out[:lim]
		k := invoiceKey(out[lim-1])
		next = &k
	}
	return out, next, nil
}

// AccountPayment is a payment (or refund, negative) with its invoice's number.
type AccountPayment struct {
	Payment
	Number string `bun:"number"`
}

// AccountPayments is a page of the payments on a customer's invoices,
// newest first.
func (r *Desk) AccountPayments(ctx context.Context, customerID string, after *PageKey, lim int) (out []AccountPayment, next *PageKey, err error) {
	lim = pageLimit(lim)
	q := r.db.NewSelect().TableExpr("payments AS p").ColumnExpr("p.*, inv.number").
		Join("JOIN invoices AS inv ON inv.id = p.invoice_id").Where("inv.customer_id = ?", customerID).
		OrderExpr("p.received_at DESC, p.id DESC").Limit(int64(lim + 1))
	if after != nil {
		q = q.Where("p.received_at < ? OR (p.received_at = ? AND p.id < ?)", after.T, after.T, after.ID)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, nil, err
	}
	if len(out) > lim {
		out = out[:lim]
		last := out[lim-1]
		next = &PageKey{T: last.ReceivedAt, ID: last.ID}
	}
	return out, next, nil
}

// AccountMessages is a page of a customer's messages, newest first.
func (r *Desk) AccountMessages(ctx context.Context, customerID string, after *PageKey, lim int) (out []Message, next *PageKey, err error) {
	lim = pageLimit(lim)
	q := r.db.NewSelect().Model(&out).Where("customer_id = ?", customerID).Order("created_at DESC", "id DESC").Limit(int64(lim + 1))
	if after != nil {
		q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", after.T, after.T, after.ID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, err
	}
	if len(out) > lim {
		out = out[:lim]
		next = &PageKey{T: out[lim-1].CreatedAt, ID: out[lim-1].ID}
	}
	return out, next, nil
}

// AccountNotes is a page of the notes about a customer, newest first.
func (r *Desk) AccountNotes(ctx context.Context, customerID string, after *PageKey, lim int) (out []Note, next *PageKey, err error) {
	lim = pageLimit(lim)
	q := r.db.NewSelect().Model(&out).Where("customer_id = ?", customerID).Order("created_at DESC", "id DESC").Limit(int64(lim + 1))
	if after != nil {
		q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", after.T, after.T, after.ID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, err
	}
	if len(out) > lim {
		out = out[:lim]
		next = &PageKey{T: out[lim-1].CreatedAt, ID: out[lim-1].ID}
	}
	return out, next, nil
}

// AccountTasks is a page of a customer's open tasks, soonest due first.
func (r *Desk) AccountTasks(ctx context.Context, customerID string, after *PageKey, lim int) (out []Task, next *PageKey, err error) {
	lim = pageLimit(lim)
	q := r.db.NewSelect().Model(&out).Where("customer_id = ?", customerID).Where("status = ?", TaskOpen).
		Order("due_at", "id").Limit(int64(lim + 1))
	if after != nil {
		q = q.Where("due_at > ? OR (due_at = ? AND id > ?)", after.T, after.T, after.ID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, err
	}
	if len(out) > lim {
		out = out[:lim]
		next = &PageKey{T: out[lim-1].DueAt, ID: out[lim-1].ID}
	}
	return out, next, nil
}

// AccountCounts is how many rows each of the account's lists has in all.
type AccountCounts struct {
	Invoices     int `bun:"invoices" json:"invoices"`
	OpenInvoices int `bun:"open_invoices" json:"open_invoices"`
	Payments     int `bun:"payments" json:"payments"`
	Messages     int `bun:"messages" json:"messages"`
	Notes        int `bun:"notes" json:"notes"`
	OpenTasks    int `bun:"open_tasks" json:"open_tasks"`
	// PaidInvoices counts every paid invoice; the payment behaviour shows
	// the latest of them only (desk.PaidShown).
	PaidInvoices int `bun:"paid_invoices" json:"paid_invoices"`
}

// CountAccount counts the lists of a customer's account, in one query.
func (r *Desk) CountAccount(ctx context.Context, customerID string) (AccountCounts, error) {
	var c AccountCounts
	err := r.db.NewRaw(`SELECT
  (SELECT COUNT(*) FROM invoices WHERE customer_id = ?) AS invoices,
  (SELECT COUNT(*) FROM invoices WHERE customer_id = ? AND closed_at IS NULL AND stage NOT IN (?)) AS open_invoices,
  (SELECT COUNT(*) FROM payments AS p JOIN invoices AS inv ON inv.id = p.invoice_id WHERE inv.customer_id = ?) AS payments,
  (SELECT COUNT(*) FROM messages WHERE customer_id = ?) AS messages,
  (SELECT COUNT(*) FROM notes WHERE customer_id = ?) AS notes,
  (SELECT COUNT(*) FROM tasks WHERE customer_id = ? AND status = ?) AS open_tasks,
  (SELECT COUNT(*) FROM invoices WHERE customer_id = ? AND stage = ?) AS paid_invoices`,
		customerID, customerID, bun.In(closedStages), customerID, customerID, customerID, customerID, TaskOpen,
		customerID, invoice.StagePaid).Scan(ctx, &c)
	return c, err
}

// RecentPaidInvoices returns a customer's n most recently closed paid
// invoices, the latest first (how the customer pays lately).
func (r *Desk) RecentPaidInvoices(ctx context.Context, customerID string, n int) ([]Invoice, error) {
	var out []Invoice
	err := r.db.NewSelect().Model(&out).Where("inv.customer_id = ?", customerID).Where("inv.stage = ?", invoice.StagePaid).
		OrderExpr("inv.closed_at DESC, inv.id DESC").Limit(int64(n)).Scan(ctx)
	return out, err
}
