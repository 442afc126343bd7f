package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/collections-engine/collections/db"
)

func TestCreditApplicationLifecycle(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *db.Store) {
		ctx := context.Background()
		cust := &db.Customer{ID: "newco", Name: "NewCo", Email: "ap@newco.test", Timezone: "UTC", CreatedAt: t0, UpdatedAt: t0}
		app := &db.CreditApplication{ID: "app-1", CustomerID: "newco", NewCustomer: true, CompanyName: "NewCo",
			RequestedLimitMinor: 500000, Currency: "EUR", RequestedTermsDays: 30,
			TradeReferences: []db.TradeReference{{Name: "Supplier A", Contact: "a@sup.test"}, {Name: "Supplier B"}},
			Status:          db.CreditSubmitted, Reasons: []string{}, WorkflowID: "credit:app-1", CreatedAt: t0, UpdatedAt: t0}
		if err := s.InsertCreditApplication(ctx, app, cust); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCreditScore(ctx, "app-1", 50, []string{"no payment history: +15"}, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.RequestCreditReview(ctx, "app-1", "cfo@ar.test", t0.AddDate(0, 0, 2), t0); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetCreditApplication(ctx, "app-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.TradeReferences) != 2 || got.TradeReferences[0].Contact != "a@sup.test" || *got.Score != 50 ||
			len(got.Reasons) != 1 || got.Status != db.CreditPendingReview || got.Reviewer != "cfo@ar.test" {
			t.Fatalf("stored %+v", got)
		}
		if pending, _ := s.ListCreditApplications(ctx, db.CreditPendingReview, 0); len(pending) != 1 {
			t.Errorf("pending: %d", len(pending))
		}
		if ok, _ := s.MarkCreditReminded(ctx, "app-1", t0); !ok {
			t.Error("first reminder not recorded")
		}
		if ok, _ := s.MarkCreditReminded(ctx, "app-1", t0); ok {
			t.Error("second reminder recorded")
		}
		d := db.CreditDecision{Approved: true, LimitMinor: 400000, TermsDays: 45, DecidedBy: "cfo@ar.test"}
		for range 2 { // a retried activity applies it again: no change, no error
			if _, err := s.ApplyCreditDecision(ctx, "app-1", d, t0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.ApplyCreditDecision(ctx, "app-1", db.CreditDecision{Note: "no", DecidedBy: "auto"}, t0); !errors.Is(err, db.ErrAlreadyDecided) {
			t.Errorf("a contrary decision: %v, want ErrAlreadyDecided", err)
		}
		c, _ := s.GetCustomer(ctx, "newco")
		if c.CreditLimitMinor == nil || *c.CreditLimitMinor != 400000 || c.CreditCurrency != "EUR" || c.PaymentTermsDays != 45 {
			t.Errorf("customer %v %s %d", c.CreditLimitMinor, c.CreditCurrency, c.PaymentTermsDays)
		}
		if pending, _ := s.ListCreditApplications(ctx, db.CreditPendingReview, 0); len(pending) != 0 {
			t.Errorf("still pending: %d", len(pending))
		}
		// A failed workflow start is compensated: the application and the customer it created go.
		if err := s.DeleteCreditApplication(ctx, got); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCustomer(ctx, "newco"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("customer after compensation: %v", err)
		}
	})
}
