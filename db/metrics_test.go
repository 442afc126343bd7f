package db_test

import (
	"context"
	"maps"
	"testing"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

func TestInvoicesByStage(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		if got, err := s.InvoicesByStage(ctx); err != nil || len(got) != 0 {
			t.Fatalf("empty database: %v %v", got, err)
		}
		seed(t, s, "S-1", 100)
		seed(t, s, "S-2", 100)
		paid := seed(t, s, "S-3", 100)
		if err := s.SaveStatus(ctx, invoice.Status{InvoiceID: paid.ID, Stage: invoice.StagePaid, Currency: "EUR"}, t0); err != nil {
			t.Fatal(err)
		}
		got, err := s.InvoicesByStage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"issued": 2, "paid": 1}; !maps.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}
