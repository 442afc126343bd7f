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
	"fmt"
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
	// Seller is who the statement is from: a name, and optionally more
	// lines of contact details.
	Seller   string
	Customer Party
	AsOf     time.Time
	// TimeZone is the IANA zone dates are printed in (the customer's);
	// empty or unknown: UTC.
	TimeZone string
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
	Aging(ctx context.Context, f db.AgingFilter, now time.Time) ([]db.OpenAging, error)
}

// LoadStatement reads the statement of one customer at now: a few
// indexed queries, whatever the size of the customer's book. Seller is
// DefaultSeller; a caller with a sender setting replaces it.
func LoadStatement(ctx context.Context, store StatementStore, customerID string, now time.Time) (Statement, error) {
	c, err := store.GetCustomer(ctx, customerID)
	if err != nil {
		return Statement{}, fmt.Errorf("statement: %w", err)
	}
	st := Statement{Seller: DefaultSeller, Customer: party(c), TimeZone: c.Timezone, AsOf: now, PaymentsSince: now.Add(-PaymentsWindow)}
	invs, total, err := store.StatementInvoices(ctx, customerID, MaxInvoices)
	if err != nil {
		return Statement{}, fmt.Errorf("statement: open invoices: %w", err)
	}
	for _, inv := range invs {
		st.Invoices = append(st.Invoices, OpenInvoice{ID: inv.ID, Number: inv.Number, IssuedAt: inv.IssuedAt, DueAt: inv.DueAt,
			AmountMinor: inv.AmountMinor, BalanceMinor: inv.BalanceMinor, Currency: inv.Currency, DaysPastDue: DaysPastDue(inv.DueAt, now)})
	}
	st.MoreInvoices = max(total-len(invs), 0)
	pays, total, err := store.StatementPayments(ctx, customerID, st.PaymentsSince, MaxPayments)
	if err != nil {
		return Statement{}, fmt.Errorf("statement: payments: %w", err)
	}
	for _, p := range pays {
		st.Payments = append(st.Payments, PaymentLine{ReceivedAt: p.ReceivedAt, InvoiceID: p.InvoiceID, InvoiceNumber: p.InvoiceNumber,
			AmountMinor: p.AmountMinor, Currency: p.Currency, Reference: p.Reference})
	}
	st.MorePayments = max(total-len(pays), 0)
	aging, err := store.Aging(ctx, db.AgingFilter{CustomerID: customerID}, now)
	if err != nil {
		return Statement{}, fmt.Errorf("statement: aging: %w", err)
	}
	for _, a := range aging {
		st.Aging = append(st.Aging, Aging{Currency: a.Currency, CurrentMinor: a.Current, Days1To30: a.Days1To30,
			Days31To60: a.Days31To60, Days61To90: a.Days61To90, Over90: a.Over90})
		st.Totals = append(st.Totals, Total{Currency: a.Currency, OpenInvoices: int(a.Invoices), BalanceMinor: a.OpenMinor})
	}
	return st, nil
}

// DaysPastDue is the whole days from due to now (0 before a whole day
// has passed), as the collectors' page counts days overdue; the aging
// buckets (db.Desk.Aging) split by the same measure: 1-30 is from just
// after the due time to 30 whole days.
func DaysPastDue(due, now time.Time) int {
	if !now.After(due) {
		return 0
	}
	return int(now.Sub(due) / (24 * time.Hour))
}

func party(c *db.Customer) Party { return Party{ID: c.ID, Name: c.Name, Email: c.Email} }

// InvoiceDoc is one invoice as the customer sees it.
type InvoiceDoc struct {
	Seller       string
	Customer     Party
	AsOf         time.Time
	TimeZone     string
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
// customer is ErrNotFound, exactly like one that does not exist.
func LoadInvoice(ctx context.Context, store InvoiceStore, customerID, invoiceID string, now time.Time) (InvoiceDoc, error) {
	inv, err := store.GetInvoice(ctx, invoiceID)
	if err != nil {
		return InvoiceDoc{}, fmt.Errorf("invoice document: %w", err)
	}
	if inv.CustomerID != customerID {
		return InvoiceDoc{}, fmt.Errorf("invoice document: invoice %q of customer %q: %w", invoiceID, customerID, ErrNotFound)
	}
	c, err := store.GetCustomer(ctx, customerID)
	if err != nil {
		return InvoiceDoc{}, fmt.Errorf("invoice document: %w", err)
	}
	d := InvoiceDoc{Seller: DefaultSeller, Customer: party(c), TimeZone: c.Timezone, AsOf: now, ID: inv.ID, Number: inv.Number,
		IssuedAt: inv.IssuedAt, DueAt: inv.DueAt, AmountMinor: inv.AmountMinor, BalanceMinor: inv.BalanceMinor,
		Currency: inv.Currency, Closed: inv.ClosedAt != nil, Stage: string(inv.Stage)}
	if !d.Closed {
		d.DaysPastDue = DaysPastDue(inv.DueAt, now)
	}
	pays, total, err := store.InvoicePaymentsPage(ctx, inv.ID, MaxInvoicePayments)
	if err != nil {
		return InvoiceDoc{}, fmt.Errorf("invoice document: payments: %w", err)
	}
	for _, p := range pays {
		d.Payments = append(d.Payments, PaymentLine{ReceivedAt: p.ReceivedAt, InvoiceID: inv.ID, InvoiceNumber: inv.Number,
			AmountMinor: p.AmountMinor, Currency: p.Currency, Reference: p.Reference})
	}
	d.MorePayments = max(total-len(pays), 0)
	return d, nil
}

// InvoicePDF is LoadInvoice then PDF.
func InvoicePDF(ctx context.Context, store InvoiceStore, customerID, invoiceID string, now time.Time) ([]byte, error) {
	d, err := LoadInvoice(ctx, store, customerID, invoiceID, now)
	if err != nil {
		return nil, err
	}
	return d.PDF()
}
