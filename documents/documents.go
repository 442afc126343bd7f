// Package documents builds the customer's documents: the statement of
// account (open invoices, recent payments, aging and totals per currency)
// and a single invoice, and renders each as a PDF.
//
// Everything that sums or lists the book is answered by the database
// (db/statements.go); the lists are bounded and say how many rows they left
// out, so a statement of a customer with thousands of open invoices is
// still one page set of a known size and never silently short.
package documents

import (
	"context"
	"errors"
	"time"

	"github.com/collections-engine/collections/db"
)

// DefaultSeller names the business on a document when the caller sets no
// Seller (the composition root passes MESSAGE_SENDER's first line).
const DefaultSeller = "Accounts receivable"

// Bounds of the lists a document shows; what lies beyond is counted.
const (
	// MaxInvoices is the most open invoices a statement lists.
	MaxInvoices = 200
	// MaxPayments is the most recent payments a statement lists.
	MaxPayments = 50
	// PaymentsWindow is how far back "recent payments" reaches.
	PaymentsWindow = 90 * 24 * time.Hour
	// MaxInvoicePayments is the most payments an invoice document lists.
	MaxInvoicePayments = 50
)

// ErrNotFound: no such customer, or no such invoice of this customer. An
// invoice of another customer is not found, never shown.
var ErrNotFound = db.ErrNotFound

// Party is the customer a document is addressed to.
type Party struct {
	ID    string
	Name  string
	Email string
}

// OpenInvoice is one line of a statement.
type OpenInvoice struct {
	ID           string
	Number       string
	IssuedAt     time.Time
	DueAt        time.Time
	AmountMinor  int64
	BalanceMinor int64
	Currency     string
	// DaysPastDue is whole days since the due date at the statement's
	// as-of time; 0 when not yet due.
	DaysPastDue int
}

// PaymentLine is one payment (a refund has a negative amount).
type PaymentLine struct {
	ReceivedAt    time.Time
	InvoiceID     string
	InvoiceNumber string
	AmountMinor   int64
	Currency      string
	Reference     string
}

// Aging is the open balance of one currency by days past due.
type Aging struct {
	Currency     string
	CurrentMinor int64 // not yet due
	Days1To30    int64
	Days31To60   int64
	Days61To90   int64
	Over90       int64
}

// Total is the open balance of one currency and how many invoices make it.
type Total struct {
	Currency     string
	OpenInvoices int
	BalanceMinor int64
}

// Statement is a customer's statement of account at AsOf.
type Statement struct {
	Seller   string
	Customer Party
	AsOf     time.Time
	// Invoices are the open invoices, oldest due first, at most
	// MaxInvoices; MoreInvoices counts the open invoices not listed.
	Invoices     []OpenInvoice
	MoreInvoices int
	// Payments are those received since PaymentsSince, newest first, at
	// most MaxPayments; MorePayments counts those not listed.
	Payments      []PaymentLine
	PaymentsSince time.Time
	MorePayments  int
	// Aging and Totals have one entry per currency, by currency code; they
	// cover every open invoice, listed or not.
	Aging  []Aging
	Totals []Total
}

// StatementStore is what a statement is read from; *db.Store satisfies it.
type StatementStore interface {
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	StatementInvoices(ctx context.Context, customerID string, limit int) (rows []db.Invoice, total int, err error)
	StatementPayments(ctx context.Context, customerID string, since time.Time, limit int) (rows []db.StatementPayment, total int, err error)
	StatementAging(ctx context.Context, customerID string, now time.Time) ([]db.AgingRow, error)
}

// LoadStatement reads the statement of one customer at now.
func LoadStatement(ctx context.Context, store StatementStore, customerID string, now time.Time) (Statement, error) {
	return Statement{}, errors.New("documents: not yet")
}

// PDF renders the statement.
func (s Statement) PDF() ([]byte, error) {
	return nil, errors.New("documents: not yet")
}

// InvoiceDoc is one invoice as the customer sees it.
type InvoiceDoc struct {
	Seller       string
	Customer     Party
	AsOf         time.Time
	ID           string
	Number       string
	IssuedAt     time.Time
	DueAt        time.Time
	AmountMinor  int64
	BalanceMinor int64
	Currency     string
	DaysPastDue  int
	// Closed is set once the invoice left collection (paid, settled,
	// written off ...); Stage says which.
	Closed bool
	Stage  string
	// Payments against this invoice, newest first, at most
	// MaxInvoicePayments; MorePayments counts those not listed.
	Payments     []PaymentLine
	MorePayments int
	// PayURL, when set, is printed as where to pay.
	PayURL string
}

// InvoiceStore is what an invoice document is read from; *db.Store
// satisfies it.
type InvoiceStore interface {
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	GetInvoice(ctx context.Context, id string) (*db.Invoice, error)
	InvoicePaymentsPage(ctx context.Context, invoiceID string, limit int) (rows []db.Payment, total int, err error)
}

// LoadInvoice reads one invoice of one customer; an invoice of another
// customer is ErrNotFound.
func LoadInvoice(ctx context.Context, store InvoiceStore, customerID, invoiceID string, now time.Time) (InvoiceDoc, error) {
	return InvoiceDoc{}, errors.New("documents: not yet")
}

// PDF renders the invoice.
func (d InvoiceDoc) PDF() ([]byte, error) {
	return nil, errors.New("documents: not yet")
}

// InvoicePDF is LoadInvoice then PDF.
func InvoicePDF(ctx context.Context, store InvoiceStore, customerID, invoiceID string, now time.Time) ([]byte, error) {
	d, err := LoadInvoice(ctx, store, customerID, invoiceID, now)
	if err != nil {
		return nil, err
	}
	return d.PDF()
}
