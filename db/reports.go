package db

import (
	"context"

	"github.com/uptrace/bun"
)

// Reports is the read side of the reports and the metrics.
type Reports struct{ db bun.IDB }

// NewReports wraps a database or a transaction.
func NewReports(db bun.IDB) *Reports { return &Reports{db: db} }

// AllInvoices returns every invoice, in one currency when given, oldest
// first: what the reports read.
func (r *Reports) AllInvoices(ctx context.Context, currency string) ([]Invoice, error) {
	out := []Invoice{}
	q := r.db.NewSelect().Model(&out).Order("inv.issued_at", "inv.id")
	if currency != "" {
		q = q.Where("inv.currency = ?", currency)
	}
	err := q.Scan(ctx)
	return out, err
}

// AllPayments returns every payment (refunds included), on invoices in one
// currency when given, oldest first.
func (r *Reports) AllPayments(ctx context.Context, currency string) ([]Payment, error) {
	out := []Payment{}
	q := r.db.NewSelect().Model(&out).Order("received_at", "id")
	if currency != "" {
		q = q.Where("currency = ?", currency)
	}
	err := q.Scan(ctx)
	return out, err
}

// AllCustomers returns every customer by id.
func (r *Reports) AllCustomers(ctx context.Context) ([]Customer, error) {
	out := []Customer{}
	err := r.db.NewSelect().Model(&out).Order("id").Scan(ctx)
	return out, err
}

// InvoicesByStage counts the invoices in each stage, for the
// collections_invoices gauge (computed when /metrics is scraped).
func (r *Reports) InvoicesByStage(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Stage string `bun:"stage"`
		N     int64  `bun:"n"`
	}
	if err := r.db.NewSelect().Model((*Invoice)(nil)).
		ColumnExpr("stage").ColumnExpr("count(*) AS n").
		Group("stage").Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Stage] = r.N
	}
	return out, nil
}
