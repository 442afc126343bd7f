package activities_test

import (
	"context"
	"testing"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
)

// bureau stands for a third-party scorer plugged in instead of ours.
type bureau struct{ asked []credit.Application }

func (b *bureau) Score(_ context.Context, app credit.Application) (credit.Result, error) {
	b.asked = append(b.asked, app)
	return credit.Result{Score: 88, Reasons: []string{"bureau rating A"}, Source: "bureau"}, nil
}

func TestCreditActivities(t *testing.T) {
	acts, store, provider := setup(t)
	ctx := context.Background()
	b := &bureau{}
	acts.CreditScorer = b
	app := &db.CreditApplication{ID: "app-1", CustomerID: "acme", CompanyName: "Acme GmbH", RequestedLimitMinor: 500000, Currency: "EUR",
		RequestedTermsDays: 30, Status: db.CreditSubmitted, Reasons: []string{}, WorkflowID: "credit:app-1", CreatedAt: now, UpdatedAt: now}
	if err := store.InsertCreditApplication(ctx, app, nil); err != nil {
		t.Fatal(err)
	}
	in := credit.Application{ApplicationID: "app-1", CustomerID: "acme", RequestedLimitMinor: 500000, Currency: "EUR", TermsDays: 30}
	res, err := acts.ScoreCreditApplication(ctx, in)
	if err != nil || res.Score != 88 || len(b.asked) != 1 || b.asked[0] != in {
		t.Fatalf("score through the plugged-in scorer: %+v %v (asked %v)", res, err, b.asked)
	}
	stored, _ := store.GetCreditApplication(ctx, "app-1")
	if *stored.Score != 88 || stored.Reasons[0] != "bureau rating A" {
		t.Errorf("stored score %v %q", stored.Score, stored.Reasons)
	}

	// The reviewer: the configured one, else the customer's account manager.
	reviewer, err := acts.RequestCreditReview(ctx, activities.CreditReviewInput{ApplicationID: "app-1", Reviewer: "credit@ar.test", DueAt: now.AddDate(0, 0, 2)})
	if err != nil || reviewer != "credit@ar.test" {
		t.Fatalf("review: %q %v", reviewer, err)
	}
	// Reminded once, by email to an address, however often the activity runs.
	for range 3 {
		if _, err := acts.RemindCreditReview(ctx, "app-1"); err != nil {
			t.Fatal(err)
		}
	}
	if provider.sent["credit-reminder:app-1"] != 1 {
		t.Errorf("reminders sent: %v", provider.sent)
	}
	if stored, _ := store.GetCreditApplication(ctx, "app-1"); stored.RemindedAt == nil {
		t.Error("reminded_at not recorded")
	}

	// Applying a decision twice is one decision; a contrary one fails for good.
	d := activities.CreditDecisionInput{ApplicationID: "app-1", Approved: true, LimitMinor: 400000, TermsDays: 45, DecidedBy: "cfo@ar.test"}
	for range 2 {
		if status, err := acts.ApplyCreditDecision(ctx, d); err != nil || status != db.CreditApproved {
			t.Fatalf("apply: %q %v", status, err)
		}
	}
	if _, err := acts.ApplyCreditDecision(ctx, activities.CreditDecisionInput{ApplicationID: "app-1", Note: "no", DecidedBy: "auto"}); err == nil {
		t.Error("a contrary decision was applied")
	}
	cust, _ := store.GetCustomer(ctx, "acme")
	if *cust.CreditLimitMinor != 400000 || cust.PaymentTermsDays != 45 || cust.CreditCurrency != "EUR" {
		t.Errorf("customer %v %d %s", *cust.CreditLimitMinor, cust.PaymentTermsDays, cust.CreditCurrency)
	}
}
