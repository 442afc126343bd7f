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

// InvoicePaymentsPage lists an invoice's payments (and refunds), newest
// first, at most limit (1 to 500), with how many there are in all.
func (r *Statements) InvoicePaymentsPage(ctx context.Context, invoiceID string, lim int) ([]Payment, int, error) {
	var out []Payment
	total, err := r.db.NewSelect().Model(&out).Where("invoice_id = ?", invoiceID).
		Order("received_at DESC", "id DESC").Limit(limit(lim)).ScanAndCount(ctx)
	return out, int(total), err
}
