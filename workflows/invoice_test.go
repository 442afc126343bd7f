package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/templates"
	"github.com/collections-engine/collections/workflows"
)

// The workflow runs in the SDK's test environment with time skipping (a
// month passes in milliseconds) against the real activities, a real SQLite
// database and the dev outbox, so the assertions are on the messages a
// customer would actually receive.

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	db    *bun.DB
	store *db.Store
	acts  *activities.Activities
	in    workflows.InvoiceInput
}

// testPolicy is the standard policy without its send window, so that tests
// can assert exact times; the calendar has tests of its own.
func testPolicy() policy.Policy {
	p := policy.Standard()
	p.Calendar = policy.Calendar{}
	return p
}

func newHarness(t *testing.T, issued, due time.Time, amount int64) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	bdb := dbtest.SQLite(t).DB
	store := db.NewStore(bdb)
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Store: store, Senders: channels.DevOutbox(nil), Templates: tmpl,
		PaymentLink: "https://pay.test/{number}", Sender: "Test AR", Clock: env.Now}
	env.RegisterActivity(acts)
	env.RegisterWorkflowWithOptions(workflows.Invoice, workflow.RegisterOptions{Name: workflows.InvoiceWorkflowName})

	ctx := context.Background()
	if _, err := store.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme GmbH", Email: "ap@acme.test",
		Phone: "+4930123456", Timezone: "Europe/Berlin", AccountManager: "mia@ar.test", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	in := workflows.InvoiceInput{InvoiceID: "inv-1", Number: "INV-1", CustomerID: "acme", AmountMinor: amount,
		Currency: "EUR", IssuedAt: issued, DueAt: due, Timezone: "Europe/Berlin", AccountManager: "mia@ar.test", Policy: testPolicy(),
		Revision: workflows.CurrentRevision} // as the start path gives it
	if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: in.InvoiceID, Number: in.Number, CustomerID: in.CustomerID,
		AmountMinor: amount, BalanceMinor: amount, Currency: "EUR", IssuedAt: issued, DueAt: due,
		Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1, WorkflowID: workflows.WorkflowID(in.InvoiceID),
		CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, env: env, db: bdb, store: store, acts: acts, in: in}
}

// payAt sends the record-payment update after d of workflow time.
func (h *harness) payAt(d time.Duration, ref string, amount int64, check func(workflows.PaymentResponse, error)) {
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdatePayment, "payment:"+ref, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { check(workflows.PaymentResponse{}, err) },
			OnComplete: func(v any, err error) {
				res, _ := v.(workflows.PaymentResponse)
				check(res, err)
			},
		}, workflows.PaymentRequest{Reference: ref, AmountMinor: amount, Currency: "EUR", ReceivedAt: t0.Add(d)})
	}, d)
}

func (h *harness) mustPay(d time.Duration, ref string, amount, wantBalance int64) {
	h.payAt(d, ref, amount, func(res workflows.PaymentResponse, err error) {
		if err != nil {
			h.t.Errorf("payment %s: %v", ref, err)
			return
		}
		if wantBalance >= 0 && res.BalanceMinor != wantBalance {
			h.t.Errorf("payment %s: balance %d, want %d", ref, res.BalanceMinor, wantBalance)
		}
	})
}

// sent lists "step/channel@offset-from-t0" for every message that went out, oldest first.
func (h *harness) sent() []string {
	h.t.Helper()
	msgs, err := h.store.ListMessages(context.Background(), db.MessageFilter{InvoiceID: h.in.InvoiceID})
	if err != nil {
		h.t.Fatal(err)
	}
	var sent []db.Message
	for _, m := range msgs {
		if m.Status == db.MessageSent {
			sent = append(sent, m)
		}
	}
	// A step's channels go out in parallel: order by time, then channel.
	sort.Slice(sent, func(i, j int) bool {
		if !sent[i].SentAt.Equal(*sent[j].SentAt) {
			return sent[i].SentAt.Before(*sent[j].SentAt)
		}
		return sent[i].Channel < sent[j].Channel
	})
	var out []string
	for _, m := range sent {
		out = append(out, m.Step+"/"+m.Channel+"@"+m.SentAt.Sub(t0).Round(time.Second).String())
	}
	return out
}

func (h *harness) result() invoice.Status {
	h.t.Helper()
	return workflowResult[invoice.Status](h.t, h.env)
}

// workflowResult is the result of the workflow the test environment ran,
// which must have completed without error.
func workflowResult[T any](t *testing.T, env *testsuite.TestWorkflowEnvironment) T {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res T
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

const day = 24 * time.Hour

func TestReminderGoesOutSevenDaysBeforeDue(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.mustPay(24*day, "tx-1", 125000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	// The invoice at issue, the friendly reminder at due - 7 days, then
	// nothing after the payment on day 24.
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "remind/email@552h0m0s"})
	if st.Stage != invoice.StagePaid || st.BalanceMinor != 0 || st.ClosedAt == nil {
		t.Fatalf("final status: %+v", st)
	}
	inv, err := h.store.GetInvoice(context.Background(), "inv-1")
	if err != nil || inv.Stage != invoice.StagePaid || inv.BalanceMinor != 0 || inv.ClosedAt == nil {
		t.Fatalf("database after payment: %+v %v", inv, err)
	}
}

func TestPaidBeforeTheReminderMeansNoReminder(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.mustPay(10*day, "tx-1", 125000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), []string{"notify/email@0s"})
	if st.Stage != invoice.StagePaid {
		t.Fatalf("stage %s", st.Stage)
	}
	if h.env.Now().Sub(t0) > 11*day {
		t.Fatalf("workflow should end at the payment, ended %s after start", h.env.Now().Sub(t0))
	}
}

func TestPartialPaymentKeepsWaitingWithTheRightBalance(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 100000)
	h.mustPay(1*day, "tx-1", 40000, 60000)
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		var st invoice.Status
		if err := v.Get(&st); err != nil {
			t.Errorf("query result: %v", err)
			return
		}
		if st.BalanceMinor != 60000 || st.Stage != invoice.StageNotified || st.NextAction == nil || st.NextAction.Step != "confirm-delivery" {
			t.Errorf("status after a partial payment: %+v next %+v", st, st.NextAction)
		}
		if h.env.IsWorkflowCompleted() {
			t.Error("workflow completed after a partial payment")
		}
	}, 2*day)
	h.mustPay(24*day, "tx-2", 60000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	h.result()
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "remind/email@552h0m0s"})
	msgs, _ := h.store.ListMessages(context.Background(), db.MessageFilter{InvoiceID: "inv-1"})
	if !strings.Contains(msgs[0].Body, "EUR 600.00") {
		t.Fatalf("the reminder must state the balance after the partial payment:\n%s", msgs[0].Body)
	}
}

func TestPaymentsAreValidatedAndCountedOnce(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 10000)
	rejected := func(field string) func(workflows.PaymentResponse, error) {
		return func(_ workflows.PaymentResponse, err error) {
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrInvalidArgument {
				t.Errorf("want an invalid-argument rejection on %s, got %v", field, err)
				return
			}
			var got string
			if derr := appErr.Details(&got); derr != nil || got != field {
				t.Errorf("rejection names field %q, want %q", got, field)
			}
		}
	}
	h.payAt(time.Hour, "too-much", 10001, rejected("amount"))
	h.payAt(2*time.Hour, "zero", 0, rejected("amount"))
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdatePayment, "usd", &testsuite.TestUpdateCallback{
			OnAccept: func() { t.Error("a payment in USD on a EUR invoice was accepted") },
			OnReject: func(err error) {
				if !strings.Contains(err.Error(), "currency") {
					t.Errorf("currency rejection: %v", err)
				}
			},
			OnComplete: func(any, error) {},
		}, workflows.PaymentRequest{Reference: "usd", AmountMinor: 100, Currency: "USD"})
	}, 3*time.Hour)
	h.mustPay(4*time.Hour, "tx-1", 4000, 6000)
	// The same reference again, under another update id: recorded once.
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdatePayment, "retry-of-tx-1", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Errorf("duplicate rejected: %v", err) },
			OnComplete: func(v any, err error) {
				res, _ := v.(workflows.PaymentResponse)
				if err != nil || !res.Duplicate || res.BalanceMinor != 6000 {
					t.Errorf("duplicate payment: %+v %v", res, err)
				}
			},
		}, workflows.PaymentRequest{Reference: "tx-1", AmountMinor: 4000, Currency: "EUR"})
	}, 5*time.Hour)
	h.mustPay(6*time.Hour, "tx-2", 6000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	payments, err := h.store.ListPayments(context.Background(), "inv-1")
	if err != nil || len(payments) != 2 {
		t.Fatalf("payments stored: %d %v", len(payments), err)
	}
	var kinds []string
	for _, e := range st.Timeline {
		kinds = append(kinds, e.Kind)
	}
	equal(t, "timeline", kinds, []string{"started", "message", "payment", "payment", "paid"})
}

func TestInvoiceEnteredLateSendsOnlyTheLatestDueStep(t *testing.T) {
	// Issued 40 days ago, due 10 days ago: notify, remind and inquire are
	// all past. Only the inquiry goes out now; the next step keeps its date.
	h := newHarness(t, t0.Add(-40*day), t0.Add(-10*day), 5000)
	h.mustPay(6*day, "tx-1", 5000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), []string{"inquire/email@0s", "inquire/sms@0s", "overdue-15/email@120h0m0s", "overdue-15/sms@120h0m0s"})
	var superseded []string
	for _, e := range st.Timeline {
		if e.Kind == invoice.EventSuperseded {
			superseded = append(superseded, e.Step)
		}
	}
	equal(t, "superseded", superseded, []string{"notify", "confirm-delivery", "remind"})
}

func TestCustomerWithoutPhoneGetsEmailAndTheSkipIsRecorded(t *testing.T) {
	h := newHarness(t, t0, t0, 5000)
	if _, err := h.db.NewUpdate().Model((*db.Customer)(nil)).Set("phone = ''").Where("id = ?", "acme").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.mustPay(4*day, "tx-1", 5000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	// Due on issue: the invoice goes out; the delivery check, the reminder
	// and the inquiry all fall on day 3 (no step runs before the one listed
	// ahead of it), so only the inquiry goes out, by email only, and the
	// SMS skip is recorded.
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "inquire/email@72h0m0s"})
	var smsOutcome string
	for _, e := range st.Timeline {
		if e.Step == "inquire" && e.Channel == "sms" {
			smsOutcome = e.Outcome + ": " + e.Detail
		}
	}
	if smsOutcome != "skipped: customer has no sms address" {
		t.Fatalf("sms outcome %q", smsOutcome)
	}
	if st.Stage != invoice.StagePaid {
		t.Fatalf("stage %s", st.Stage)
	}
}
