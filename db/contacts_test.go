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

// capMessage is the claim of one step of one invoice of customer "racer".
func capMessage(invoiceID, step string, now time.Time) *db.Message {
	return &db.Message{ID: invoiceID + "/" + step, InvoiceID: invoiceID, CustomerID: "racer", Step: step,
		Channel: "email", Direction: db.Outbound, Recipient: "ap@racer.test", Status: db.MessagePending,
		ScheduledAt: now, CreatedAt: now}
}

// seedRacer stores customer "racer" with n invoices, inv-0 ... inv-(n-1).
func seedRacer(t *testing.T, s *db.Store, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.InsertCustomer(ctx, &db.Customer{ID: "racer", Name: "Racer", Email: "ap@racer.test", Timezone: "UTC", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("inv-%d", i)
		if _, err := s.InsertInvoice(ctx, &db.Invoice{ID: id, Number: "N-" + id, CustomerID: "racer", AmountMinor: 100, BalanceMinor: 100,
			Currency: "EUR", IssuedAt: t0, DueAt: t0, Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1,
			WorkflowID: "invoice:" + id, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTheContactLimitHoldsAcrossDatabaseHandles: many invoices of one
// customer reserve a contact in the same instant, each through its own
// database handle (as separate worker processes would, each with its own
// connection pool); exactly Max of them get a slot, in every round. On
// PostgreSQL the handles really run at once, so a count-then-insert
// without the customer's lock lets several through.
func TestTheContactLimitHoldsAcrossDatabaseHandles(t *testing.T) {
	const invoices, handles, rounds = 12, 6, 5
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			stores := []*db.Store{db.NewStore(d.DB)}
			for _, h := range dbtest.Handles(t, d, handles-1) {
				stores = append(stores, db.NewStore(h))
			}
			seedRacer(t, stores[0], invoices)
			for round := range rounds {
				max := 1 + round%3
				// Each round is a new day: the earlier rounds' contacts have aged out.
				now := t0.Add(time.Duration(round) * 48 * time.Hour)
				lim := db.ContactLimit{Max: max, Per: 24 * time.Hour}
				var wg sync.WaitGroup
				start := make(chan struct{})
				results := make([]db.Reservation, invoices)
				errs := make([]error, invoices)
				for i := range invoices {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						s := stores[i%len(stores)]
						results[i], errs[i] = s.ClaimWithinLimit(context.Background(),
							capMessage(fmt.Sprintf("inv-%d", i), fmt.Sprintf("day-%d", round), now), lim, now)
					}()
				}
				close(start)
				wg.Wait()
				claimed, full := 0, 0
				for i := range invoices {
					if errs[i] != nil {
						t.Fatalf("round %d invoice %d: %v", round, i, errs[i])
					}
					switch {
					case results[i].Claimed:
						claimed++
					case results[i].Full:
						full++
						if !results[i].RetryAt.Equal(now.Add(24 * time.Hour)) {
							t.Errorf("round %d: a full customer retries when the first contact ages out, %s; got %s", round, now.Add(24*time.Hour), results[i].RetryAt)
						}
					}
				}
				if claimed != max || full != invoices-max {
					t.Fatalf("round %d: cap %d let %d claims through (%d held back) out of %d invoices due at once", round, max, claimed, full, invoices)
				}
			}
		})
	}
}

// TestAReservationCountsPendingClaimsAndFreesReleasedOnes: a claim not yet
// sent holds its slot; one the provider refused for now does not, and
// taking it back needs a slot again; a retry of a claim that holds its slot
// is not counted twice.
func TestAReservationCountsPendingClaimsAndFreesReleasedOnes(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		seedRacer(t, s, 3)
		lim := db.ContactLimit{Max: 1, Per: 24 * time.Hour}
		first, err := s.ClaimWithinLimit(ctx, capMessage("inv-0", "remind", t0), lim, t0)
		if err != nil || !first.Claimed {
			t.Fatalf("first claim: %+v %v", first, err)
		}
		second, err := s.ClaimWithinLimit(ctx, capMessage("inv-1", "remind", t0), lim, t0.Add(time.Minute))
		if err != nil || !second.Full || second.Contacts != 1 || !second.RetryAt.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("a pending claim must hold its slot: %+v %v", second, err)
		}
		again, err := s.ClaimWithinLimit(ctx, capMessage("inv-0", "remind", t0), lim, t0.Add(time.Minute))
		if err != nil || again.Claimed || again.Full || again.Stored.ID != first.Stored.ID {
			t.Fatalf("a retry of the claim that holds the slot finds it: %+v %v", again, err)
		}
		// The provider refuses inv-0's message for now: its slot is free.
		if err := s.ReleaseMessage(ctx, first.Stored.ID, "429 too many requests"); err != nil {
			t.Fatal(err)
		}
		third, err := s.ClaimWithinLimit(ctx, capMessage("inv-1", "remind", t0), lim, t0.Add(2*time.Minute))
		if err != nil || !third.Claimed {
			t.Fatalf("a released claim frees its slot: %+v %v", third, err)
		}
		retry, err := s.ClaimWithinLimit(ctx, capMessage("inv-0", "remind", t0), lim, t0.Add(3*time.Minute))
		if err != nil || !retry.Full {
			t.Fatalf("taking a released claim back needs a slot again: %+v %v", retry, err)
		}
		// inv-1's message is sent; a day later inv-0 gets its slot back.
		sent := t0.Add(3 * time.Minute)
		if err := s.FinishMessage(ctx, third.Stored.ID, db.MessageOutcome{Status: db.MessageSent, SentAt: &sent}); err != nil {
			t.Fatal(err)
		}
		later := sent.Add(25 * time.Hour)
		back, err := s.ClaimWithinLimit(ctx, capMessage("inv-0", "remind", t0), lim, later)
		if err != nil || !back.Claimed || back.Stored.ID != first.Stored.ID || back.Stored.Detail != "" {
			t.Fatalf("the released claim is taken back once a slot is free: %+v %v", back, err)
		}
	})
}

// TestAContactSentAfterTheCallersClockCounts: one worker claims and sends
// a reminder, recording it sent a moment after another worker read its
// clock (that one was waiting for the customer's lock, or its clock runs
// behind); the contact still holds the slot. Counting only what was sent
// up to the caller's own clock let a second reminder through in the
// production-shape race.
func TestAContactSentAfterTheCallersClockCounts(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		seedRacer(t, s, 2)
		lim := db.ContactLimit{Max: 1, Per: time.Hour}
		first, err := s.ClaimWithinLimit(ctx, capMessage("inv-0", "remind", t0), lim, t0)
		if err != nil || !first.Claimed {
			t.Fatalf("first claim: %+v %v", first, err)
		}
		sent := t0.Add(800 * time.Millisecond)
		if err := s.FinishMessage(ctx, first.Stored.ID, db.MessageOutcome{Status: db.MessageSent, SentAt: &sent}); err != nil {
			t.Fatal(err)
		}
		second, err := s.ClaimWithinLimit(ctx, capMessage("inv-1", "remind", t0), lim, t0.Add(100*time.Millisecond))
		if err != nil || !second.Full {
			t.Fatalf("a reminder sent after this worker's clock must hold the slot: %+v %v", second, err)
		}
	})
}
