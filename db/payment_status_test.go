package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

// A reported payment and the status it leads to are saved in one
// transaction, and the status only when the balance comes out as it says;
// a status the database refuses takes the payment back with it.
func TestPaymentWithStatusSavesBothOrOnlyThePayment(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		inv := seed(t, s, "INV-PWS", 10000)
		pay := func(ref string, amount int64) *db.Payment {
			return &db.Payment{ID: "p-" + ref, InvoiceID: inv.ID, Reference: ref, AmountMinor: amount, Currency: "EUR", ReceivedAt: t0}
		}
		status := func(balance int64, stage invoice.Stage) invoice.Status {
			b := balance
			return invoice.Status{InvoiceID: inv.ID, Stage: stage, AmountMinor: 10000, BalanceMinor: balance, Currency: "EUR",
				DueAt: inv.DueAt, Timeline: []invoice.Event{{Kind: invoice.EventPayment, At: t0, Reference: "r", BalanceMinor: &b}}}
		}

		// As expected: the payment and the status, together.
		res, err := s.RecordPaymentWithStatus(ctx, pay("r1", 2500), status(7500, invoice.StageReminded), t0, nil)
		if err != nil || !res.Saved || res.BalanceMinor != 7500 || res.Duplicate {
			t.Fatalf("expected balance: %+v %v", res, err)
		}
		got, err := s.GetInvoice(ctx, inv.ID)
		if err != nil || got.BalanceMinor != 7500 || got.Stage != invoice.StageReminded || got.Status == nil || got.Status.BalanceMinor != 7500 {
			t.Fatalf("after the first: %+v %v", got, err)
		}

		// Another balance than the status says: the payment alone.
		res, err = s.RecordPaymentWithStatus(ctx, pay("r2", 1000), status(7000, invoice.StageInquired), t0, nil)
		if err != nil || res.Saved || res.BalanceMinor != 6500 {
			t.Fatalf("unexpected balance: %+v %v", res, err)
		}
		if got, _ := s.GetInvoice(ctx, inv.ID); got.BalanceMinor != 6500 || got.Stage != invoice.StageReminded || got.Status.BalanceMinor != 7500 {
			t.Fatalf("the status was saved with a balance it did not hold: %+v", got)
		}

		// The same reference again (a retried activity): nothing recorded
		// twice, the status saved again.
		res, err = s.RecordPaymentWithStatus(ctx, pay("r2", 1000), status(6500, invoice.StageInquired), t0, nil)
		if err != nil || !res.Saved || !res.Duplicate || res.BalanceMinor != 6500 {
			t.Fatalf("retried: %+v %v", res, err)
		}

		// A status for an invoice that is not there fails the whole
		// transaction: the payment is not left behind.
		bad := status(5500, invoice.StageInquired)
		bad.InvoiceID = "nope"
		if _, err := s.RecordPaymentWithStatus(ctx, pay("r3", 1000), bad, t0, nil); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("status of another invoice: %v", err)
		}
		if ps, err := s.ListPayments(ctx, inv.ID); err != nil || len(ps) != 2 {
			t.Fatalf("payments after the failed save: %d %v", len(ps), err)
		}
	})
}
