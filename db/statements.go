package db

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"
)

// Statements is the read side of a customer's statement of account and
// invoice documents: bounded lists with their full counts, and the aging
// summed by the database.
type Statements struct{ db bun.IDB }

// StatementPayment is a payment with its invoice's number.
type StatementPayment struct {
	Payment
	InvoiceNumber string `bun:"invoice_number"`
}

// AgingRow is one currency's open balance by days past due.
type AgingRow struct {
	Currency     string `bun:"currency"`
	OpenInvoices int    `bun:"open_invoices"`
	BalanceMinor int64  `bun:"balance_minor"`
	CurrentMinor int64  `bun:"current_minor"`
	Days1To30    int64  `bun:"days_1_30"`
	Days31To60   int64  `bun:"days_31_60"`
	Days61To90   int64  `bun:"days_61_90"`
	Over90       int64  `bun:"over_90"`
}

// StatementInvoices lists a customer's open invoices, oldest due first, at
// most limit, with how many there are in all.
func (r *Statements) StatementInvoices(ctx context.Context, customerID string, limit int) ([]Invoice, int, error) {
	return nil, 0, errors.New("db: not yet")
}

// StatementPayments lists a customer's payments received since, newest
// first, at most limit, with how many there are in all.
func (r *Statements) StatementPayments(ctx context.Context, customerID string, since time.Time, limit int) ([]StatementPayment, int, error) {
	return nil, 0, errors.New("db: not yet")
}

// StatementAging sums a customer's open balances per currency by days past
// due at now.
func (r *Statements) StatementAging(ctx context.Context, customerID string, now time.Time) ([]AgingRow, error) {
	return nil, errors.New("db: not yet")
}

// InvoicePaymentsPage lists an invoice's payments, newest first, at most
// limit, with how many there are in all.
func (r *Statements) InvoicePaymentsPage(ctx context.Context, invoiceID string, limit int) ([]Payment, int, error) {
	return nil, 0, errors.New("db: not yet")
}
