package db

import "context"

// AllInvoices returns every invoice, in one currency when given, oldest
// first: what the reports read.
func (s *Store) AllInvoices(ctx context.Context, currency string) ([]Invoice, error) {
	out := []Invoice{}
	q := s.db.NewSelect().Model(&out).Order("inv.issued_at", "inv.id")
	if currency != "" {
		q = q.Where("inv.currency = ?", currency)
	}
	err := q.Scan(ctx)
	return out, err
}

// AllPayments returns every payment (refunds included), on invoices in one
// currency when given, oldest first.
func (s *Store) AllPayments(ctx context.Context, currency string) ([]Payment, error) {
	out := []Payment{}
	q := s.db.NewSelect().Model(&out).Order("received_at", "id")
	if currency != "" {
		q = q.Where("currency = ?", currency)
	}
	err := q.Scan(ctx)
	return out, err
}

// AllCustomers returns every customer by id.
func (s *Store) AllCustomers(ctx context.Context) ([]Customer, error) {
	out := []Customer{}
	err := s.db.NewSelect().Model(&out).Order("id").Scan(ctx)
	return out, err
}
