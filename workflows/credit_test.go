package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

type creditHarness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	store *db.Store
}

func newCreditHarness(t *testing.T) *creditHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	store := db.NewStore(dbtest.SQLite(t).DB)
	acts := &activities.Activities{Store: store, Senders: channels.DevOutbox(nil), Clock: env.Now}
	env.RegisterActivity(acts)
	env.RegisterWorkflowWithOptions(workflows.CreditDecision, workflow.RegisterOptions{Name: workflows.CreditDecisionWorkflowName})
	return &creditHarness{t: t, env: env, store: store}
}

// customer stores a customer created at since, with invoices of 1,000.00
// EUR: settled[i] is how many days after its due date invoice i was paid
// in full (negative: early); open is the balance of one unpaid invoice.
func (h *creditHarness) customer(id string, since time.Time, settled []int, open int64) {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.store.InsertCustomer(ctx, &db.Customer{ID: id, Name: id + " Ltd", Email: "ap@" + id + ".test", Timezone: "UTC",
		AccountManager: "mia@ar.test", CreatedAt: since, UpdatedAt: since}); err != nil {
		h.t.Fatal(err)
	}
	add := func(n int, amount int64, due time.Time) string {
		inv := &db.Invoice{ID: fmt.Sprintf("%s-%d", id, n), Number: fmt.Sprintf("%s-%d", id, n), CustomerID: id, AmountMinor: amount,
			BalanceMinor: amount, Currency: "EUR", IssuedAt: due.AddDate(0, 0, -30), DueAt: due, Stage: invoice.StageNotified,
			PolicyName: "standard", PolicyVersion: 1, WorkflowID: "invoice:" + id, CreatedAt: since, UpdatedAt: since}
		if _, err := h.store.InsertInvoice(ctx, inv); err != nil {
			h.t.Fatal(err)
		}
		return inv.ID
	}
	for i, late := range settled {
		due := t0.AddDate(0, 0, -100+10*i)
		invID := add(i, 100000, due)
		// Two payments: half ten days before the due date, the rest late days after it.
		for j, p := range []struct {
			at     time.Time
			amount int64
		}{{due.AddDate(0, 0, -10), 50000}, {due.AddDate(0, 0, late), 50000}} {
			if _, _, err := h.store.RecordPayment(ctx, &db.Payment{ID: fmt.Sprintf("%s-p%d", invID, j), InvoiceID: invID,
				Reference: fmt.Sprintf("ref-%d", j), AmountMinor: p.amount, Currency: "EUR", ReceivedAt: p.at}, t0); err != nil {
				h.t.Fatal(err)
			}
		}
	}
	if open > 0 {
		add(len(settled), open, t0.AddDate(0, 0, 10))
	}
}

func (h *creditHarness) apply(id, customerID string, newCustomer bool, limit int64, terms, refs int) credit.Application {
	h.t.Helper()
	app := &db.CreditApplication{ID: id, CustomerID: customerID, NewCustomer: newCustomer, CompanyName: customerID + " Ltd",
		RequestedLimitMinor: limit, Currency: "EUR", RequestedTermsDays: terms, TradeReferences: make([]db.TradeReference, refs),
		Status: db.CreditSubmitted, Reasons: []string{}, WorkflowID: workflows.CreditWorkflowID(id), CreatedAt: t0, UpdatedAt: t0}
	if err := h.store.InsertCreditApplication(context.Background(), app, nil); err != nil {
		h.t.Fatal(err)
	}
	return credit.Application{ApplicationID: id, CustomerID: customerID, NewCustomer: newCustomer,
		RequestedLimitMinor: limit, Currency: "EUR", TermsDays: terms, TradeReferences: refs}
}

func (h *creditHarness) run(app credit.Application) workflows.CreditResult {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.CreditDecisionWorkflowName, workflows.CreditInput{Application: app, Bounds: credit.DefaultBounds()})
	return workflowResult[workflows.CreditResult](h.t, h.env)
}

func (h *creditHarness) stored(id string) (*db.CreditApplication, *db.Customer) {
	h.t.Helper()
	app, err := h.store.GetCreditApplication(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	cust, err := h.store.GetCustomer(context.Background(), app.CustomerID)
	if err != nil {
		h.t.Fatal(err)
	}
	return app, cust
}

func TestCreditAutoApprovedInsideTheBounds(t *testing.T) {
	h := newCreditHarness(t)
	// Customer since 2024-09-01: 26 whole months by t0 (2026-11-02) → +25.
	// Two invoices settled 5 and 0 days before/at due → 100% on time → +40.
	// Open balance 1,000.00 against 5,000.00 requested → 20% → +20.
	// Two trade references → +10. Score 95 ≥ 75, 5,000.00 ≤ 10,000.00, 30 ≤ 60 days.
	h.customer("steady", time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC), []int{-5, 0}, 100000)
	res := h.run(h.apply("app-1", "steady", false, 500000, 30, 2))
	want := workflows.CreditResult{ApplicationID: "app-1", Status: db.CreditApproved, Score: 95, LimitMinor: 500000, TermsDays: 30,
		Note: "score 95, limit and terms inside the automatic bounds", DecidedBy: workflows.DecidedByAuto}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Fatalf("result\n got %+v\nwant %+v", res, want)
	}
	app, cust := h.stored("app-1")
	if app.Status != db.CreditApproved || app.Score == nil || *app.Score != 95 || app.DecidedBy != "auto" || app.DecidedAt == nil {
		t.Errorf("application = %s score %v by %q", app.Status, app.Score, app.DecidedBy)
	}
	wantReasons := []string{"100% of 2 settled invoices paid on time: +40", "current exposure 20% of the requested limit: +20",
		"customer for 26 months: +25", "2 trade references: +10"}
	if strings.Join(app.Reasons, "|") != strings.Join(wantReasons, "|") {
		t.Errorf("reasons\n got %q\nwant %q", app.Reasons, wantReasons)
	}
	if cust.CreditLimitMinor == nil || *cust.CreditLimitMinor != 500000 || cust.CreditCurrency != "EUR" || cust.PaymentTermsDays != 30 {
		t.Errorf("customer limit %v %s terms %d, want 500000 EUR 30", cust.CreditLimitMinor, cust.CreditCurrency, cust.PaymentTermsDays)
	}
}

func TestCreditAutoDeclinedBelowTheBounds(t *testing.T) {
	h := newCreditHarness(t)
	// Customer since 2026-06-01: 5 months → +5. Settled one on time and
	// one 30 days late: 50% on time → 40×50% = +20; average 15 days late → −15.
	// Open 6,000.00 against 5,000.00 requested: 120% → 0. No references → 0.
	// Score 10 < 40: declined; the customer's limit is untouched.
	h.customer("late", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), []int{0, 30}, 600000)
	res := h.run(h.apply("app-2", "late", false, 500000, 30, 0))
	if res.Status != db.CreditDeclined || res.Score != 10 || res.DecidedBy != "auto" || res.LimitMinor != 0 ||
		res.Note != "score 10 is below the automatic decline threshold 40" {
		t.Fatalf("result %+v", res)
	}
	app, cust := h.stored("app-2")
	if app.Status != db.CreditDeclined || app.ApprovedLimitMinor != nil || app.DecisionNote != res.Note {
		t.Errorf("application %s approved %v note %q", app.Status, app.ApprovedLimitMinor, app.DecisionNote)
	}
	if cust.CreditLimitMinor != nil || cust.PaymentTermsDays != 0 {
		t.Errorf("a decline must leave the customer's terms alone: limit %v terms %d", cust.CreditLimitMinor, cust.PaymentTermsDays)
	}
}

func TestCreditOutsideTheBoundsWaitsForManagement(t *testing.T) {
	h := newCreditHarness(t)
	// A new applicant: no history +15, no exposure +20, new → 0, three
	// references +15 → 50: between 40 and 75, so management decides.
	h.customer("newco", t0, nil, 0)
	app := h.apply("app-3", "newco", true, 300000, 45, 3)
	var results []string
	send := func(after time.Duration, id string, req workflows.CreditDecisionRequest) {
		h.env.RegisterDelayedCallback(func() {
			h.env.UpdateWorkflow(workflows.UpdateDecideCredit, id, &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) {
					var appErr *temporal.ApplicationError
					field := ""
					if errors.As(err, &appErr) {
						_ = appErr.Details(&field)
					}
					results = append(results, fmt.Sprintf("%s rejected %s", id, field))
				},
				OnComplete: func(v any, err error) {
					if err != nil {
						results = append(results, id+" failed: "+err.Error())
						return
					}
					r := v.(workflows.CreditResult)
					results = append(results, fmt.Sprintf("%s %s %d/%d by %s", id, r.Status, r.LimitMinor, r.TermsDays, r.DecidedBy))
				},
			}, req)
		}, after)
	}
	// Checked while pending: a pending application is in the store.
	h.env.RegisterDelayedCallback(func() {
		a, _ := h.stored("app-3")
		if a.Status != db.CreditPendingReview || a.Reviewer != "mia@ar.test" || a.ReviewDueAt == nil || !a.ReviewDueAt.Equal(t0.Add(48*time.Hour)) || a.RemindedAt != nil {
			t.Errorf("day 1: application %s reviewer %q due %v reminded %v", a.Status, a.Reviewer, a.ReviewDueAt, a.RemindedAt)
		}
	}, 24*time.Hour)
	send(72*time.Hour, "no-reason", workflows.CreditDecisionRequest{Decision: workflows.CreditDecline})
	send(72*time.Hour, "no-limit", workflows.CreditDecisionRequest{Decision: workflows.CreditApprove, TermsDays: 30})
	send(72*time.Hour, "cfo", workflows.CreditDecisionRequest{Decision: workflows.CreditApprove, LimitMinor: 250000, TermsDays: 30, Actor: "cfo@ar.test"})
	send(72*time.Hour, "twice", workflows.CreditDecisionRequest{Decision: workflows.CreditDecline, Reason: "changed my mind"})
	res := h.run(app)

	want := []string{"no-reason rejected reason", "no-limit rejected limit", "twice rejected ", "cfo approved 250000/30 by cfo@ar.test"}
	if strings.Join(results, "|") != strings.Join(want, "|") {
		t.Errorf("updates\n got %q\nwant %q", results, want)
	}
	if res.Status != db.CreditApproved || res.Score != 50 || res.LimitMinor != 250000 || res.DecidedBy != "cfo@ar.test" {
		t.Errorf("result %+v", res)
	}
	stored, cust := h.stored("app-3")
	// Undecided after the 48-hour review window: the reviewer was reminded then.
	if stored.RemindedAt == nil || !stored.RemindedAt.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("reminded at %v, want %v", stored.RemindedAt, t0.Add(48*time.Hour))
	}
	if stored.Status != db.CreditApproved || stored.DecidedBy != "cfo@ar.test" || *stored.ApprovedLimitMinor != 250000 || *stored.ApprovedTermsDays != 30 {
		t.Errorf("application %+v", stored)
	}
	if *cust.CreditLimitMinor != 250000 || cust.PaymentTermsDays != 30 || cust.CreditCurrency != "EUR" {
		t.Errorf("customer limit %v terms %d", *cust.CreditLimitMinor, cust.PaymentTermsDays)
	}
}

func TestCreditManagementDeclineBeforeTheReminder(t *testing.T) {
	h := newCreditHarness(t)
	h.customer("newco", t0, nil, 0)
	app := h.apply("app-4", "newco", true, 300000, 45, 3)
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateDecideCredit, "d", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnComplete: func(any, error) {},
		}, workflows.CreditDecisionRequest{Decision: workflows.CreditDecline, Reason: "no audited accounts", Actor: "cfo@ar.test"})
	}, time.Hour)
	res := h.run(app)
	if res.Status != db.CreditDeclined || res.Note != "no audited accounts" || res.DecidedBy != "cfo@ar.test" {
		t.Fatalf("result %+v", res)
	}
	stored, cust := h.stored("app-4")
	if stored.RemindedAt != nil || stored.Status != db.CreditDeclined || cust.CreditLimitMinor != nil {
		t.Errorf("application %s reminded %v; customer limit %v", stored.Status, stored.RemindedAt, cust.CreditLimitMinor)
	}
}
