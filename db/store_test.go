package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// The repository contract: every test runs against each database dbtest
// provides (SQLite always, PostgreSQL when TEST_DATABASE_URL is set).
func forEachDB(t *testing.T, fn func(t *testing.T, s *db.Store)) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) { fn(t, db.NewStore(d.DB)) })
	}
}

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func seed(t *testing.T, s *db.Store, number string, amount int64) *db.Invoice {
	t.Helper()
	ctx := context.Background()
	c := &db.Customer{ID: "cus-" + number, Name: "Acme", Email: "ap@acme.test", Timezone: "Europe/Berlin", CreatedAt: t0, UpdatedAt: t0}
	if _, err := s.InsertCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	inv := &db.Invoice{ID: "inv-" + number, Number: number, CustomerID: c.ID, AmountMinor: amount, BalanceMinor: amount,
		Currency: "EUR", IssuedAt: t0, DueAt: t0.AddDate(0, 0, 30), Stage: invoice.StageIssued,
		PolicyName: "standard", PolicyVersion: 1, WorkflowID: "invoice:inv-" + number, CreatedAt: t0, UpdatedAt: t0}
	ok, err := s.InsertInvoice(ctx, inv)
	if err != nil || !ok {
		t.Fatalf("insert invoice: inserted=%v err=%v", ok, err)
	}
	return inv
}

func TestCustomerInsertedOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		c := &db.Customer{ID: "c1", Name: "Acme", Email: "ap@acme.test", Timezone: "UTC", CreatedAt: t0, UpdatedAt: t0}
		if ok, err := s.InsertCustomer(ctx, c); err != nil || !ok {
			t.Fatalf("first insert: %v %v", ok, err)
		}
		again := *c
		again.Name = "Other"
		if ok, err := s.InsertCustomer(ctx, &again); err != nil || ok {
			t.Fatalf("second insert must be a no-op: %v %v", ok, err)
		}
		got, err := s.GetCustomer(ctx, "c1")
		if err != nil || got.Name != "Acme" {
			t.Fatalf("got %+v, %v", got, err)
		}
		if _, err := s.GetCustomer(ctx, "nope"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("missing customer: %v", err)
		}
	})
}

func TestInvoiceNumberIsUnique(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		inv := seed(t, s, "INV-1", 10000)
		dup := *inv
		dup.ID = "inv-other"
		ok, err := s.InsertInvoice(ctx, &dup)
		if err != nil || ok {
			t.Fatalf("same number twice must not insert: %v %v", ok, err)
		}
		got, err := s.GetInvoiceByNumber(ctx, "INV-1")
		if err != nil || got.ID != inv.ID || !got.DueAt.Equal(inv.DueAt) {
			t.Fatalf("got %+v, %v", got, err)
		}
		if _, err := s.GetInvoice(ctx, "inv-other"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("the duplicate must not exist: %v", err)
		}
	})
}

func TestPaymentsAreCountedOnceAndExactly(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		inv := seed(t, s, "INV-2", 10000)
		pay := func(ref string, amount int64) (int64, bool) {
			bal, dup, err := s.RecordPayment(ctx, &db.Payment{ID: "p-" + ref, InvoiceID: inv.ID, Reference: ref,
				AmountMinor: amount, Currency: "EUR", ReceivedAt: t0}, t0)
			if err != nil {
				t.Fatal(err)
			}
			return bal, dup
		}
		if bal, dup := pay("r1", 2500); bal != 7500 || dup {
			t.Fatalf("first payment: balance %d dup %v", bal, dup)
		}
		if bal, dup := pay("r1", 2500); bal != 7500 || !dup {
			t.Fatalf("same reference again: balance %d dup %v", bal, dup)
		}
		// Concurrent payments under distinct references add up exactly.
		var wg sync.WaitGroup
		errs := make(chan error, 15)
		for i := range 15 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ref := fmt.Sprintf("c%d", i)
				_, _, err := s.RecordPayment(ctx, &db.Payment{ID: "p-" + ref, InvoiceID: inv.ID, Reference: ref,
					AmountMinor: 100, Currency: "EUR", ReceivedAt: t0}, t0)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetInvoice(ctx, inv.ID)
		if err != nil || got.BalanceMinor != 6000 {
			t.Fatalf("balance after concurrent payments: %+v %v", got, err)
		}
		ps, err := s.ListPayments(ctx, inv.ID)
		if err != nil || len(ps) != 16 {
			t.Fatalf("payments: %d %v", len(ps), err)
		}
	})
}

func TestMessageClaimedOncePerStepAndChannel(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		inv := seed(t, s, "INV-3", 10000)
		m := func(id string) *db.Message {
			return &db.Message{ID: id, InvoiceID: inv.ID, CustomerID: inv.CustomerID, Step: "remind", Channel: "email",
				Recipient: "ap@acme.test", Subject: "s", Body: "b", Status: db.MessagePending, ScheduledAt: t0, CreatedAt: t0}
		}
		first, claimed, err := s.ClaimMessage(ctx, m("m1"))
		if err != nil || !claimed || first.ID != "m1" {
			t.Fatalf("first claim: %v %v", claimed, err)
		}
		sent := t0.Add(time.Minute)
		if err := s.FinishMessage(ctx, "m1", db.MessageOutcome{Status: db.MessageSent, Provider: "outbox", ProviderMessageID: "x1", SentAt: &sent}); err != nil {
			t.Fatal(err)
		}
		second, claimed, err := s.ClaimMessage(ctx, m("m2"))
		if err != nil || claimed || second.ID != "m1" || second.Status != db.MessageSent || second.ProviderMessageID != "x1" {
			t.Fatalf("second claim must return the first message: %+v %v %v", second, claimed, err)
		}
		other := m("m3")
		other.Step = "inquire"
		other.CreatedAt = t0.Add(time.Hour)
		if _, claimed, err := s.ClaimMessage(ctx, other); err != nil || !claimed {
			t.Fatalf("another step is another message: %v %v", claimed, err)
		}
		list, err := s.ListMessages(ctx, db.MessageFilter{InvoiceID: inv.ID})
		if err != nil || len(list) != 2 || list[0].ID != "m3" || list[1].ID != "m1" {
			t.Fatalf("newest first: %+v %v", list, err)
		}
	})
}

func TestStatusRoundTrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		inv := seed(t, s, "INV-4", 10000)
		bal := int64(0)
		closed := t0.Add(48 * time.Hour)
		st := invoice.Status{InvoiceID: inv.ID, Stage: invoice.StagePaid, BalanceMinor: 0, Currency: "EUR",
			PolicyName: "standard", PolicyVersion: 1, ClosedAt: &closed,
			Timeline: []invoice.Event{{At: t0, Kind: invoice.EventStarted}, {At: closed, Kind: invoice.EventPaid, BalanceMinor: &bal}}}
		if err := s.SaveStatus(ctx, st, closed); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetInvoice(ctx, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Stage != invoice.StagePaid || got.ClosedAt == nil || !got.ClosedAt.Equal(closed) ||
			got.Status == nil || len(got.Status.Timeline) != 2 || got.Status.Timeline[1].Kind != invoice.EventPaid {
			t.Fatalf("status not kept: %+v %+v", got, got.Status)
		}
		if err := s.SaveStatus(ctx, invoice.Status{InvoiceID: "missing"}, closed); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("unknown invoice: %v", err)
		}
	})
}

func TestContactsSinceCountsStepsNotChannels(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		inv := seed(t, s, "INV-5", 10000)
		at := func(h int) *time.Time { v := t0.Add(time.Duration(h) * time.Hour); return &v }
		for i, m := range []struct {
			step, channel string
			sent          *time.Time
		}{{"remind", "email", at(1)}, {"remind", "sms", at(2)}, {"inquire", "email", at(5)}, {"notify", "email", at(-30)}, {"escalate:m", "manager", at(6)}} {
			if _, _, err := s.ClaimMessage(ctx, &db.Message{ID: fmt.Sprintf("m%d", i), InvoiceID: inv.ID, CustomerID: inv.CustomerID,
				Step: m.step, Channel: m.channel, Direction: db.Outbound, Status: db.MessageSent, ScheduledAt: t0, CreatedAt: t0, SentAt: m.sent}); err != nil {
				t.Fatal(err)
			}
		}
		n, first, err := s.ContactsSince(ctx, inv.CustomerID, t0, t0.Add(24*time.Hour), inv.ID, "overdue-15")
		if err != nil || n != 2 || !first.Equal(*at(1)) {
			t.Fatalf("contacts %d first %s err %v; want 2 (remind, inquire) from %s", n, first, err, at(1))
		}
		n, _, err = s.ContactsSince(ctx, inv.CustomerID, t0, t0.Add(24*time.Hour), inv.ID, "inquire")
		if err != nil || n != 1 {
			t.Fatalf("leaving out the step being sent: %d %v", n, err)
		}
		if n, _, err = s.ContactsSince(ctx, inv.CustomerID, t0, t0.Add(3*time.Hour), inv.ID, "x"); err != nil || n != 1 {
			t.Fatalf("contacts after until do not count: %d %v", n, err)
		}
	})
}

// TestAPendingClaimIsTakenOverOnce: a claim whose lease ran out, or that
// the provider refused (released), is taken over by exactly one of several
// racing attempts, which starts a new lease. The attempts run at once, each
// through a database handle of its own, as workers in separate processes
// do; the race is run several times.
func TestAPendingClaimIsTakenOverOnce(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			const attempts, rounds = 4, 10
			handles := make([]*db.Store, attempts)
			for i := range handles {
				h, err := db.Open(d.DSN)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = h.Close() })
				handles[i] = db.NewStore(h)
			}
			// race runs take on every handle at the same moment and
			// returns how many attempts won.
			race := func(take func(s *db.Store) (bool, error)) int {
				var wg sync.WaitGroup
				var mu sync.Mutex
				won := 0
				start := make(chan struct{})
				for _, h := range handles {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						ok, err := take(h)
						if err != nil {
							t.Error(err)
						}
						if ok {
							mu.Lock()
							won++
							mu.Unlock()
						}
					}()
				}
				close(start)
				wg.Wait()
				return won
			}
			inv := seed(t, s, "INV-R", 10000)
			for r := range rounds {
				id := fmt.Sprintf("m%d", r)
				claimedAt := t0.Add(123456 * time.Microsecond)
				if _, _, err := s.ClaimMessage(ctx, &db.Message{ID: id, InvoiceID: inv.ID, CustomerID: inv.CustomerID, Step: fmt.Sprintf("remind-%d", r),
					Channel: "email", Recipient: "ap@acme.test", Subject: "s", Body: "b", Status: db.MessagePending, ScheduledAt: t0, CreatedAt: claimedAt}); err != nil {
					t.Fatal(err)
				}
				stored, err := s.GetMessage(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				later := t0.Add(time.Hour)
				if won, err := s.ReclaimMessage(ctx, id, true, stored.CreatedAt, later); err != nil || won {
					t.Fatalf("a claim that was not released taken over as released: %v %v", won, err)
				}
				if won := race(func(h *db.Store) (bool, error) { return h.ReclaimMessage(ctx, id, false, stored.CreatedAt, later) }); won != 1 {
					t.Fatalf("round %d: an expired lease taken over by %d of %d racing attempts", r, won, attempts)
				}
				if err := s.ReleaseMessage(ctx, id, "sendgrid: HTTP 429"); err != nil {
					t.Fatal(err)
				}
				if got, _ := s.GetMessage(ctx, id); got.Detail != db.ReleasedPrefix+"sendgrid: HTTP 429" || !got.CreatedAt.Equal(later) {
					t.Fatalf("released: %+v", got)
				}
				if won := race(func(h *db.Store) (bool, error) { return h.ReclaimMessage(ctx, id, true, later, later.Add(time.Second)) }); won != 1 {
					t.Fatalf("round %d: a released claim taken over by %d of %d racing attempts", r, won, attempts)
				}
				if got, _ := s.GetMessage(ctx, id); got.Detail != "" || got.Status != db.MessagePending {
					t.Fatalf("after the takeover: %+v", got)
				}
			}
		})
	}
}
