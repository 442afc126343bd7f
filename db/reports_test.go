package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

// The receivables queries take an invoice's balance at a moment as
// balance_minor plus the payments received since; that must be the
// definition's amount less the payments received before it, through
// payments, refunds, a credit note and closing, at every moment.
func TestReceivablesAreTheAmountLessPaymentsBefore(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
		a := seed(t, s, "R1", 100000) // issued t0, due t0+30
		b := seed(t, s, "R2", 50000)
		if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "a1", InvoiceID: a.ID, Reference: "a1", AmountMinor: 30000, Currency: "EUR", ReceivedAt: day(5)}, day(5)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordRefund(ctx, invoice.Refund{InvoiceID: a.ID, Reference: "re1", AmountMinor: 10000, Currency: "EUR", ReceivedAt: day(10)}, day(10)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AdjustAmount(ctx, a.ID, 90000, day(12)); err != nil { // a credit note
			t.Fatal(err)
		}
		if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "a2", InvoiceID: a.ID, Reference: "a2", AmountMinor: 20000, Currency: "EUR", ReceivedAt: day(40)}, day(40)); err != nil {
			t.Fatal(err)
		}
		// b is paid in full on day 20 and closed then.
		if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "b1", InvoiceID: b.ID, Reference: "b1", AmountMinor: 50000, Currency: "EUR", ReceivedAt: day(20)}, day(20)); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveStatus(ctx, invoice.Status{InvoiceID: b.ID, Stage: invoice.StagePaid, Currency: "EUR", ClosedAt: ptr(day(20))}, day(20)); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			at             time.Time
			total, current int64
		}{
			{t0, 0, 0},                         // issued at t0: not before it
			{day(1), 140000, 140000},           // a at its amount now (the credit note made it 90000), b 50000
			{day(6), 110000, 110000},           // a: 90000 − 30000
			{day(11), 120000, 120000},          // the refund gives 10000 back to a
			{day(21), 70000, 70000},            // b paid and closed
			{day(35), 70000, 0},                // a past due: not current
			{day(41), 50000, 0},                // a: 90000 − 30000 + 10000 − 20000
			{day(41).Add(time.Hour), 50000, 0}, // nothing later
		} {
			got, err := s.Receivables(ctx, c.at, c.at.Truncate(24*time.Hour), "EUR")
			if err != nil {
				t.Fatal(err)
			}
			// The definition, computed here from the rows: amount less the
			// payments received before the moment, for invoices issued
			// before it and not closed before it.
			var want int64
			for _, id := range []string{a.ID, b.ID} {
				inv, err := s.GetInvoice(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !inv.IssuedAt.Before(c.at) || (inv.ClosedAt != nil && inv.ClosedAt.Before(c.at)) {
					continue
				}
				pays, err := s.ListPayments(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				bal := inv.AmountMinor
				for _, p := range pays {
					if p.ReceivedAt.Before(c.at) {
						bal -= p.AmountMinor
					}
				}
				want += max(bal, 0)
			}
			if got["EUR"].Total != want {
				t.Errorf("at %s: receivables %d, the definition gives %d", c.at, got["EUR"].Total, want)
			}
			if got["EUR"].Total != c.total || got["EUR"].Current != c.current {
				t.Errorf("at %s: %+v, want total %d current %d", c.at, got["EUR"], c.total, c.current)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
