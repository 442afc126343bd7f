package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
)

// Refund is money returned to the customer against an invoice's payments.
type Refund = invoice.Refund

// RefundResult is what a recorded refund did.
type RefundResult = invoice.RefundResult

// RefundKey is the payments reference a refund is stored under.
func RefundKey(r Refund) string { return invoice.RefundKey(r) }

// RecordRefund stores a refund as a negative payment, once, and returns the
// balance afterwards. A cumulative report (the total refunded on a charge)
// applies only what exceeds the refunds already recorded for that charge,
// so repeated and out-of-order reports never count money twice.
func (ps *Payments) RecordRefund(ctx context.Context, r Refund, now time.Time) (res RefundResult, err error) {
	res.Key = RefundKey(r)
	err = ps.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Lock the invoice first, as RecordPayment does.
		upd, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("updated_at = ?", now).Where("id = ?", r.InvoiceID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("lock invoice: %w", err)
		}
		if n, _ := upd.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "invoice", r.InvoiceID)
		}
		apply := r.AmountMinor
		if r.Cumulative {
			var refunded int64 // recorded as negative amounts
			if err := tx.NewSelect().Model((*Payment)(nil)).ColumnExpr("COALESCE(SUM(amount_minor), 0)").
				Where("invoice_id = ?", r.InvoiceID).
				Where("reference LIKE ? ESCAPE '\\'", "refund:"+escapeLike(r.Reference)+"@%").
				Scan(ctx, &refunded); err != nil {
				return fmt.Errorf("sum refunds: %w", err)
			}
			apply = r.AmountMinor + refunded
		}
		var inv Invoice
		if err := tx.NewSelect().Model(&inv).Column("amount_minor", "balance_minor").Where("id = ?", r.InvoiceID).Scan(ctx); err != nil {
			return notFound(err, "invoice", r.InvoiceID)
		}
		if apply <= 0 {
			res.Duplicate, res.BalanceMinor = true, inv.BalanceMinor
			return nil
		}
		ins, err := tx.NewInsert().Model(&Payment{ID: newID(), InvoiceID: r.InvoiceID, Reference: res.Key,
			AmountMinor: -apply, Currency: r.Currency, ReceivedAt: r.ReceivedAt.UTC()}).
			On("CONFLICT (invoice_id, reference) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert refund: %w", err)
		}
		if n, _ := ins.RowsAffected(); n == 0 {
			res.Duplicate, res.BalanceMinor = true, inv.BalanceMinor
			return nil
		}
		res.AppliedMinor = apply
		res.BalanceMinor, err = setBalance(ctx, tx, r.InvoiceID, inv.AmountMinor)
		return err
	})
	return res, err
}

// escapeLike quotes LIKE's wildcards in a literal prefix.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// InvoiceForPayment finds the invoice a payment reference was recorded
// against, for a refund that names only the original payment.
func (ps *Payments) InvoiceForPayment(ctx context.Context, reference string) (*Invoice, error) {
	var p Payment
	if err := ps.db.NewSelect().Model(&p).Column("invoice_id").Where("reference = ?", reference).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "payment", reference)
	}
	return (&Invoices{db: ps.db}).GetInvoice(ctx, p.InvoiceID)
}
