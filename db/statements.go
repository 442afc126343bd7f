package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Statements is the read side of a customer's statement of account and of
// an invoice document: bounded lists with their full counts, and the aging
// summed by the database, so a customer with thousands of invoices costs
// a few indexed queries and nothing is silently left out.
type Statements struct{ db bun.IDB }

// NewStatements wraps a database or a transaction.
func NewStatements(db bun.IDB) *Statements { return &Statements{db: db} }

// StatementPayment is a payment with its invoice's number.
type StatementPayment struct {
	Payment       `bun:",extend"`
	InvoiceNumber string `bun:"invoice_number"`
}

// CurrencyAging is one currency's open balance, in all and by days past due: a
// balance is Current until its due date, then in the bucket of the whole
// days (rounded up) it is past due: 1-30, 31-60, 61-90, over 90.
type CurrencyAging struct {
	Currency     string `bun:"currency"`
	OpenInvoices int    `bun:"open_invoices"`
	BalanceMinor int64  `bun:"balance_minor"`
	CurrentMinor int64  `bun:"current_minor"`
	Days1To30    int64  `bun:"days_1_30"`
	Days31To60   int64  `bun:"days_31_60"`
	Days61To90   int64  `bun:"days_61_90"`
	Over90       int64  `bun:"over_90"`
}

// StatementInvoices lists a customer's open invoices (not closed), oldest
// due first, at most limit (1 to 500), with how many there are in all.
func (r *Statements) StatementInvoices(ctx context.Context, customerID string, lim int) ([]Invoice, int, error) {
	var out []Invoice
	total, err := r.db.NewSelect().Model(&out).
		Where("inv.customer_id = ? AND inv.closed_at IS NULL", customerID).
		Order("inv.due_at", "inv.id").Limit(limit(lim)).ScanAndCount(ctx)
	return out, int(total), err
}

// StatementPayments lists the payments (and refunds) received on a
// customer's invoices since a time, newest first, at most limit (1 to
// 500), with how many there are in all.
func (r *Statements) StatementPayments(ctx context.Context, customerID string, since time.Time, lim int) ([]StatementPayment, int, error) {
	var out []StatementPayment
	total, err := r.db.NewSelect().Model(&out).
		ColumnExpr("payment.*").ColumnExpr("inv.number AS invoice_number").
		Join("JOIN invoices AS inv ON inv.id = payment.invoice_id").
		Where("inv.customer_id = ? AND payment.received_at >= ?", customerID, since.UTC()).
		Order("payment.received_at DESC", "payment.id DESC").Limit(limit(lim)).ScanAndCount(ctx)
	return out, int(total), err
}

// StatementAging sums a customer's open balances per currency, in all and
// by days past due at now, in one grouped query; one row per currency,
// by currency code.
func (r *Statements) StatementAging(ctx context.Context, customerID string, now time.Time) ([]CurrencyAging, error) {
	now = now.UTC()
	day := 24 * time.Hour
	d30, d60, d90 := now.Add(-30*day), now.Add(-60*day), now.Add(-90*day)
	var out []CurrencyAging
	err := r.db.NewSelect().TableExpr("invoices").
		ColumnExpr("currency").
		ColumnExpr("COUNT(*) AS open_invoices").
		ColumnExpr("COALESCE(SUM(balance_minor), 0) AS balance_minor").
		ColumnExpr("COALESCE(SUM(CASE WHEN due_at >= ? THEN balance_minor ELSE 0 END), 0) AS current_minor", now).
		ColumnExpr("COALESCE(SUM(CASE WHEN due_at < ? AND due_at >= ? THEN balance_minor ELSE 0 END), 0) AS days_1_30", now, d30).
		ColumnExpr("COALESCE(SUM(CASE WHEN due_at < ? AND due_at >= ? THEN balance_minor ELSE 0 END), 0) AS days_31_60", d30, d60).
		ColumnExpr("COALESCE(SUM(CASE WHEN due_at < ? AND due_at >= ? THEN balance_minor ELSE 0 END), 0) AS days_61_90", d60, d90).
		ColumnExpr("COALESCE(SUM(CASE WHEN due_at < ? THEN balance_minor ELSE 0 END), 0) AS over_90", d90).
		Where("customer_id = ? AND closed_at IS NULL", customerID).
		Group("currency").Order("currency").Scan(ctx, &out)
	return out, err
}

// InvoicePaymentsPage lists an invoice's payments (and refunds), newest
// first, at most limit (1 to 500), with how many there are in all.
func (r *Statements) InvoicePaymentsPage(ctx context.Context, invoiceID string, lim int) ([]Payment, int, error) {
	var out []Payment
	total, err := r.db.NewSelect().Model(&out).Where("invoice_id = ?", invoiceID).
		Order("received_at DESC", "id DESC").Limit(limit(lim)).ScanAndCount(ctx)
	return out, int(total), err
}
