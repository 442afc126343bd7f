package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Portal is what the customer portal (package portal) reads and writes:
// revoked links, and one customer's invoices, payments, statement and
// aging. Every read is scoped to one customer in its WHERE clause, paged
// by a keyset, and summed by the database.
type Portal struct{ db bun.IDB }

// NewPortal wraps a database or a transaction.
func NewPortal(db bun.IDB) *Portal { return &Portal{db: db} }

// PortalPaymentPrefix starts the reference of every payment made on the
// customer portal (portal.PaymentReference): reports credit such payments
// to the channel "portal" (eventChannel).
const PortalPaymentPrefix = "portal:"

// PortalRevocation voids one portal link (LinkID), or every link of a
// customer issued before RevokedBefore (CustomerID, LinkID empty).
type PortalRevocation struct {
	bun.BaseModel `bun:"table:portal_revocations"`

	ID            string     `bun:"id,pk"`
	LinkID        string     `bun:"link_id,notnull"`
	CustomerID    string     `bun:"customer_id,notnull"`
	RevokedBefore *time.Time `bun:"revoked_before"`
	Reason        string     `bun:"reason,notnull"`
	RevokedBy     string     `bun:"revoked_by,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
}

// RevokePortalLinks stores a revocation.
func (r *Portal) RevokePortalLinks(ctx context.Context, rv *PortalRevocation) error {
	_, err := r.db.NewInsert().Model(rv).Exec(ctx)
	return err
}

// PortalLinkRevoked says whether the link linkID, issued at issuedAt for
// customerID (empty for a link tied to no customer), has been revoked.
func (r *Portal) PortalLinkRevoked(ctx context.Context, linkID, customerID string, issuedAt time.Time) (bool, error) {
	q := r.db.NewSelect().Model((*PortalRevocation)(nil)).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("link_id = ? AND link_id <> ''", linkID)
			if customerID != "" {
				q = q.WhereOr("customer_id = ? AND link_id = '' AND revoked_before > ?", customerID, issuedAt.UTC())
			}
			return q
		})
	return q.Exists(ctx)
}

// PortalCursor is where a page of a portal list starts after: the last
// row's time and id.
type PortalCursor struct {
	At time.Time
	ID string
}

// PortalOpenInvoices returns a page of the customer's open invoices, the
// earliest due first, after the cursor (nil: from the start); more says
// whether another page follows.
func (r *Portal) PortalOpenInvoices(ctx context.Context, customerID string, after *PortalCursor, limit int) (out []Invoice, more bool, err error) {
	q := r.db.NewSelect().Model(&out).
		Where("inv.customer_id = ? AND inv.closed_at IS NULL", customerID).
		OrderExpr("inv.due_at, inv.id").Limit(int64(limit + 1))
	if after != nil {
		q = q.Where("(inv.due_at > ? OR (inv.due_at = ? AND inv.id > ?))", after.At.UTC(), after.At.UTC(), after.ID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// PortalInvoice loads one of the customer's invoices: another customer's
// is ErrNotFound, exactly as one that does not exist.
func (r *Portal) PortalInvoice(ctx context.Context, customerID, id string) (*Invoice, error) {
	inv := new(Invoice)
	if err := r.db.NewSelect().Model(inv).Where("inv.id = ? AND inv.customer_id = ?", id, customerID).Scan(ctx); err != nil {
		return nil, notFound(err, "invoice", id)
	}
	return inv, nil
}

// StatementLine is one line of a customer's statement of account: an
// invoice issued (a charge) or a payment received (a refund is a negative
// payment).
type StatementLine struct {
	Kind        string    `bun:"kind"` // "invoice" or "payment"
	ID          string    `bun:"id"`
	At          time.Time `bun:"at"`
	Number      string    `bun:"number"` // the invoice's number
	InvoiceID   string    `bun:"invoice_id"`
	Reference   string    `bun:"reference"` // the payment's
	AmountMinor int64     `bun:"amount_minor"`
	Currency    string    `bun:"currency"`
	DueAt       time.Time `bun:"due_at"`
}

// PortalStatement returns a page of the customer's statement, newest
// first, before the cursor (nil: from the newest).
func (r *Portal) PortalStatement(ctx context.Context, customerID string, before *PortalCursor, limit int) (out []StatementLine, more bool, err error) {
	invoices := r.db.NewSelect().Model((*Invoice)(nil)).
		ColumnExpr("'invoice' AS kind, inv.id AS id, inv.issued_at AS at, inv.number AS number, inv.id AS invoice_id").
		ColumnExpr("'' AS reference, inv.amount_minor AS amount_minor, inv.currency AS currency, inv.due_at AS due_at").
		Where("inv.customer_id = ?", customerID)
	payments := r.db.NewSelect().TableExpr("payments AS p").Join("JOIN invoices AS i ON i.id = p.invoice_id").
		ColumnExpr("'payment' AS kind, p.id AS id, p.received_at AS at, i.number AS number, i.id AS invoice_id").
		ColumnExpr("p.reference AS reference, p.amount_minor AS amount_minor, p.currency AS currency, i.due_at AS due_at").
		Where("i.customer_id = ?", customerID)
	q := r.db.NewSelect().TableExpr("(?) AS s", invoices.UnionAll(payments)).ColumnExpr("s.*").
		OrderExpr("s.at DESC, s.id DESC").Limit(int64(limit + 1))
	if before != nil {
		q = q.Where("(s.at < ? OR (s.at = ? AND s.id < ?))", before.At.UTC(), before.At.UTC(), before.ID)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// PortalPayments returns the customer's latest payments (refunds
// included, as negative amounts), newest first, at most limit; more says
// whether older ones exist (the statement lists them all).
func (r *Portal) PortalPayments(ctx context.Context, customerID string, limit int) (out []StatementLine, more bool, err error) {
	err = r.db.NewSelect().TableExpr("payments AS p").Join("JOIN invoices AS i ON i.id = p.invoice_id").
		ColumnExpr("'payment' AS kind, p.id AS id, p.received_at AS at, i.number AS number, i.id AS invoice_id").
		ColumnExpr("p.reference AS reference, p.amount_minor AS amount_minor, p.currency AS currency, i.due_at AS due_at").
		Where("i.customer_id = ?", customerID).OrderExpr("p.received_at DESC, p.id DESC").Limit(int64(limit+1)).
		Scan(ctx, &out)
	if err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}
