package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// staleAndFinal are an invoice's status at the agency (a payment on its
// timeline, the balance left) and its final one, paid, three events later.
func staleAndFinal(invoiceID string) (stale, final invoice.Status) {
	ev := func(h int, kind string) invoice.Event {
		return invoice.Event{At: t0.Add(time.Duration(h) * time.Hour), Kind: kind}
	}
	timeline := []invoice.Event{
		ev(0, invoice.EventStarted),
		{At: t0.Add(time.Hour), Kind: invoice.EventMessage, Step: "agency", Channel: "agency", Outcome: db.MessageSent},
		{At: t0.Add(2 * time.Hour), Kind: invoice.EventPayment, AmountMinor: 4000},
		{At: t0.Add(3 * time.Hour), Kind: invoice.EventPayment, AmountMinor: 6000},
		ev(4, invoice.EventPaid),
	}
	closed := t0.Add(4 * time.Hour)
	stale = invoice.Status{InvoiceID: invoiceID, Stage: invoice.StageAgency, Currency: "EUR", AmountMinor: 10000, BalanceMinor: 6000, Timeline: timeline[:3]}
	final = invoice.Status{InvoiceID: invoiceID, Stage: invoice.StagePaid, Currency: "EUR", AmountMinor: 10000, BalanceMinor: 0, Timeline: timeline, ClosedAt: &closed}
	return stale, final
}

// A late write of an earlier status (an activity attempt that outlived its
// timeout while a retry went on) does not rewind a paid invoice to the
// agency.
func TestALateStatusDoesNotRewindTheInvoice(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			inv := seed(t, s, "L1", 10000)
			stale, final := staleAndFinal(inv.ID)
			for _, st := range []invoice.Status{stale, final, stale} {
				if err := s.SaveStatus(ctx, st, t0); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.GetInvoice(ctx, inv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Stage != invoice.StagePaid || got.ClosedAt == nil {
				t.Fatalf("after a late save of the agency status: stage %s, closed %v; want paid, closed", got.Stage, got.ClosedAt)
			}
		})
	}
}

// The same where the late save can race the final one: each from its own
// database handle, as two workers would, at once. Whichever commits first,
// the invoice ends paid.
func TestALateStatusRacingTheFinalOneDoesNotWin(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			hs := dbtest.Handles(t, d, 2)
			for round := range 20 {
				inv := seed(t, s, fmt.Sprintf("R%d", round), 10000)
				stale, final := staleAndFinal(inv.ID)
				if err := s.SaveStatus(ctx, stale, t0); err != nil { // the agency's status, saved in its time
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, st := range []invoice.Status{final, stale} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = db.NewStore(hs[i]).SaveStatus(ctx, st, t0)
					}()
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.GetInvoice(ctx, inv.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Stage != invoice.StagePaid || got.ClosedAt == nil {
					t.Fatalf("round %d: stage %s, closed %v; want paid, closed", round, got.Stage, got.ClosedAt)
				}
			}
		})
	}
}
