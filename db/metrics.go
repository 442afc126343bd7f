package db

import "context"

// InvoicesByStage counts the invoices in each stage, for the
// collections_invoices gauge (computed when /metrics is scraped).
func (s *Store) InvoicesByStage(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Stage string `bun:"stage"`
		N     int64  `bun:"n"`
	}
	if err := s.db.NewSelect().Model((*Invoice)(nil)).
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
