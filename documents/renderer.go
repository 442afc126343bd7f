package documents

import (
	"context"
	"fmt"
	"time"

	"github.com/collections-engine/collections/db"
)

// Store is what Renderer reads; *db.Store satisfies it.
type Store interface {
	StatementStore
	InvoiceStore
}

var _ Store = (*db.Store)(nil)

// Renderer makes the PDFs a front door serves, from one store and one
// seller. Its methods match the portal's Documents seam (package portal):
// the portal checks that the invoice is the customer's before it asks.
type Renderer struct {
	Store Store
	// Seller names the business on every document (MESSAGE_SENDER: the
	// first line is the name, the rest contact lines); empty:
	// DefaultSeller.
	Seller string
	// Clock is the time the invoice documents are as of (nil: time.Now).
	Clock func() time.Time
}

// StatementPDF renders the customer's statement of account as of now.
func (r Renderer) StatementPDF(ctx context.Context, customerID string, now time.Time) ([]byte, error) {
	st, err := LoadStatement(ctx, r.Store, customerID, now)
	if err != nil {
		return nil, err
	}
	if r.Seller != "" {
		st.Seller = r.Seller
	}
	return st.PDF()
}

// InvoicePDF renders one invoice for its own customer.
func (r Renderer) InvoicePDF(ctx context.Context, invoiceID string) ([]byte, error) {
	inv, err := r.Store.GetInvoice(ctx, invoiceID)
	if err != nil {
		return nil, fmt.Errorf("invoice document: %w", err)
	}
	now := time.Now()
	if r.Clock != nil {
		now = r.Clock()
	}
	d, err := LoadInvoice(ctx, r.Store, inv.CustomerID, invoiceID, now)
	if err != nil {
		return nil, err
	}
	if r.Seller != "" {
		d.Seller = r.Seller
	}
	return d.PDF()
}
