package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

func TestRefundsReopenTheBalanceOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		inv := seed(t, s, "R-1", 10000)
		if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "p1", InvoiceID: inv.ID, Reference: "pi_1", AmountMinor: 10000, Currency: "EUR", ReceivedAt: t0}, t0); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			r        db.Refund
			applied  int64
			balance  int64
			dup      bool
			describe string
		}{
			{db.Refund{Reference: "re_1", AmountMinor: 1500}, 1500, 1500, false, "a refund"},
			{db.Refund{Reference: "re_1", AmountMinor: 1500}, 0, 1500, true, "the same refund again"},
			{db.Refund{Reference: "ch_1", AmountMinor: 2000, Cumulative: true}, 2000, 3500, false, "a charge's first total"},
			{db.Refund{Reference: "ch_1", AmountMinor: 2500, Cumulative: true}, 500, 4000, false, "its total grows by 5.00"},
			{db.Refund{Reference: "ch_1", AmountMinor: 2000, Cumulative: true}, 0, 4000, true, "an older total, late"},
			{db.Refund{Reference: "ch_1", AmountMinor: 2500, Cumulative: true}, 0, 4000, true, "the same total again"},
			{db.Refund{Reference: "ch_1%", AmountMinor: 100, Cumulative: true}, 100, 4100, false, "a charge id with a LIKE wildcard is its own charge"},
		}
		for _, st := range steps {
			st.r.InvoiceID, st.r.Currency, st.r.ReceivedAt = inv.ID, "EUR", t0
			res, err := s.RecordRefund(ctx, st.r, t0)
			if err != nil {
				t.Fatalf("%s: %v", st.describe, err)
			}
			if res.AppliedMinor != st.applied || res.BalanceMinor != st.balance || res.Duplicate != st.dup {
				t.Fatalf("%s: got %+v, want applied %d balance %d duplicate %v", st.describe, res, st.applied, st.balance, st.dup)
			}
		}
		if got, _ := s.GetInvoice(ctx, inv.ID); got.BalanceMinor != 4100 {
			t.Fatalf("stored balance %d", got.BalanceMinor)
		}
		if found, err := s.InvoiceForPayment(ctx, "pi_1"); err != nil || found.ID != inv.ID {
			t.Fatalf("invoice for payment pi_1: %v %v", found, err)
		}
	})
}

func TestStatusSavesQueueEachEventOncePerSubscription(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		inv := seed(t, s, "W-1", 10000)
		early := &db.WebhookSubscription{ID: "sub-all", URL: "https://a.test/h", Events: "invoice.stage_changed,payment.recorded", Secret: "x", Active: true, CreatedAt: t0}
		onlyPayments := &db.WebhookSubscription{ID: "sub-pay", URL: "https://b.test/h", Events: "payment.recorded", Secret: "y", Active: true, CreatedAt: t0}
		late := &db.WebhookSubscription{ID: "sub-late", URL: "https://c.test/h", Events: "payment.recorded", Secret: "z", Active: true, CreatedAt: t0.Add(48 * time.Hour)}
		for _, sub := range []*db.WebhookSubscription{early, onlyPayments, late} {
			if err := s.CreateSubscription(ctx, sub); err != nil {
				t.Fatal(err)
			}
		}
		// A fake event source: one event per new timeline entry, one per stage change.
		events := func(prev *db.Invoice, st invoice.Status) []db.OutboundEvent {
			var out []db.OutboundEvent
			for i := prev.EventsPublished; i < len(st.Timeline); i++ {
				out = append(out, db.OutboundEvent{ID: st.Timeline[i].Kind + "@" + st.Timeline[i].At.String(), Type: "payment.recorded", At: st.Timeline[i].At, Payload: []byte(`{}`)})
			}
			if prev.Stage != st.Stage {
				out = append(out, db.OutboundEvent{ID: "stage:" + string(st.Stage), Type: "invoice.stage_changed", At: t0, Payload: []byte(`{}`)})
			}
			return out
		}
		st := invoice.Status{InvoiceID: inv.ID, Stage: invoice.StagePaid, Currency: "EUR",
			Timeline: []invoice.Event{{At: t0, Kind: invoice.EventStarted}, {At: t0.Add(time.Hour), Kind: invoice.EventPayment}}}
		queued, err := s.SaveStatusWithEvents(ctx, st, t0, events)
		if err != nil {
			t.Fatal(err)
		}
		// sub-all: 2 timeline events + the stage change; sub-pay: 2; sub-late: none (both happened before it).
		if len(queued) != 5 {
			t.Fatalf("queued %d deliveries, want 5: %+v", len(queued), queued)
		}
		// The same save again (a retried activity) queues nothing new, and
		// hands back what was not dispatched.
		again, err := s.SaveStatusWithEvents(ctx, st, t0, events)
		if err != nil || len(again) != 5 {
			t.Fatalf("second save: %d %v", len(again), err)
		}
		ids := []string{}
		for _, d := range queued {
			ids = append(ids, d.ID)
		}
		if err := s.MarkDispatched(ctx, ids, t0); err != nil {
			t.Fatal(err)
		}
		if third, err := s.SaveStatusWithEvents(ctx, st, t0, events); err != nil || len(third) != 0 {
			t.Fatalf("after dispatch: %d %v", len(third), err)
		}
		// Attempts: a failure keeps the delivery pending, a success delivers it.
		d := queued[0]
		if err := s.RecordAttempt(ctx, db.WebhookAttempt{DeliveryID: d.ID, Attempt: 1, StartedAt: t0, StatusCode: 500, Error: "HTTP 500"}, false); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordAttempt(ctx, db.WebhookAttempt{DeliveryID: d.ID, Attempt: 1, StartedAt: t0, StatusCode: 500, Error: "HTTP 500"}, false); err != nil {
			t.Fatal(err) // the same attempt recorded twice is one attempt
		}
		if err := s.RecordAttempt(ctx, db.WebhookAttempt{DeliveryID: d.ID, Attempt: 2, StartedAt: t0.Add(time.Minute), DurationMS: 12, StatusCode: 204}, true); err != nil {
			t.Fatal(err)
		}
		if err := s.FailDelivery(ctx, queued[1].ID, "every attempt failed"); err != nil {
			t.Fatal(err)
		}
		list, attempts, err := s.ListDeliveries(ctx, db.DeliveryFilter{InvoiceID: inv.ID})
		if err != nil || len(list) != 5 {
			t.Fatalf("list: %d %v", len(list), err)
		}
		byID := map[string]db.WebhookDelivery{}
		for _, x := range list {
			byID[x.ID] = x
		}
		if got := byID[d.ID]; got.Status != db.DeliveryDelivered || got.Attempts != 2 || got.DeliveredAt == nil || len(attempts[d.ID]) != 2 {
			t.Fatalf("delivered one: %+v attempts %v", got, attempts[d.ID])
		}
		if got := byID[queued[1].ID]; got.Status != db.DeliveryFailed || got.LastError != "every attempt failed" {
			t.Fatalf("failed one: %+v", got)
		}
		if failed, _, _ := s.ListDeliveries(ctx, db.DeliveryFilter{Status: db.DeliveryFailed}); len(failed) != 1 {
			t.Fatalf("failed filter: %d", len(failed))
		}
		// A removed subscription gets nothing new.
		if err := s.DeactivateSubscription(ctx, "sub-pay"); err != nil {
			t.Fatal(err)
		}
		st.Timeline = append(st.Timeline, invoice.Event{At: t0.Add(72 * time.Hour), Kind: invoice.EventRefund})
		st.Stage = invoice.StageInquired
		next, err := s.SaveStatusWithEvents(ctx, st, t0, events)
		if err != nil {
			t.Fatal(err)
		}
		subs := map[string]int{}
		for _, x := range next {
			subs[x.SubscriptionID]++
		}
		if subs["sub-all"] != 2 || subs["sub-late"] != 1 || subs["sub-pay"] != 0 {
			t.Fatalf("after the next save: %v", subs)
		}
	})
}
