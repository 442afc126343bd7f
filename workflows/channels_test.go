package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// refusing is a provider that refuses some recipients for good, as SendGrid
// does an invalid address and Twilio an unreachable number.
type refusing struct {
	channels.Outbox
	bad string
}

func (r refusing) Provider() string { return "refusing" }

func (r refusing) Send(ctx context.Context, m channels.Message) (string, error) {
	if strings.Contains(m.To, r.bad) {
		return "", channels.Permanent(errors.New("550 no such mailbox"))
	}
	return r.Outbox.Send(ctx, m)
}

func (h *harness) setCustomer(column, value string) {
	h.t.Helper()
	if _, err := h.db.NewUpdate().Model((*db.Customer)(nil)).Set(column+" = ?", value).Where("id = ?", "acme").Exec(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func TestARefusedAddressFallsBackToSMSAndAsksToLocateTheDebtor(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.setCustomer("email", "gone@acme.test")
	h.acts.Senders[policy.Email] = refusing{bad: "gone@"}
	h.apply([]act{pay(2, "tx", amount)})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), []string{msg("notify:fallback", "sms", 0)})
	equal(t, "tasks", h.tasks(), []string{"locate_debtor->mia@ar.test"})
	var outcomes []string
	for _, e := range st.Timeline {
		if e.Kind == invoice.EventMessage {
			outcomes = append(outcomes, e.Step+"/"+e.Channel+":"+e.Outcome)
		}
	}
	equal(t, "outcomes", outcomes, []string{"notify/email:failed", "notify:fallback/sms:sent"})
}

func TestABounceReportedLaterTriggersTheFallback(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.apply([]act{
		signal(1, workflows.SignalDelivery, workflows.Delivery{Step: "notify", Channel: "email", Status: workflows.DeliveryBounced, Detail: "mailbox full"}),
		pay(2, "tx", amount),
	})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	h.result()
	equal(t, "messages", h.sent(), []string{msg("notify", "email", 0), msg("notify:fallback", "sms", 1)})
	equal(t, "tasks", h.tasks(), []string{"locate_debtor->mia@ar.test"})
}

func TestAnOptedOutNumberGetsNoSMS(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	if err := h.store.OptOut(context.Background(), &db.OptOut{Channel: "sms", Address: "+4930123456", Reason: "STOP", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	h.apply([]act{pay(32, "tx", amount)})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), upToEmailOnly(31))
	for _, e := range st.Timeline {
		if e.Step == "inquire" && e.Channel == "sms" && (e.Outcome != db.MessageSkipped || e.Detail != "recipient opted out of sms") {
			t.Fatalf("inquire/sms: %s %s", e.Outcome, e.Detail)
		}
	}
}

func upToEmailOnly(d float64) []string {
	var out []string
	for _, m := range upTo(d) {
		if !strings.Contains(m, "/sms@") {
			out = append(out, m)
		}
	}
	return out
}

func TestTheContactCapDefersAcrossTheCustomersInvoices(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	// Another invoice of the same customer was chased two hours before this
	// one's inquiry (day 31): at most one contact a day holds it back.
	ctx := context.Background()
	other := &db.Invoice{ID: "inv-2", Number: "INV-2", CustomerID: "acme", AmountMinor: 100, BalanceMinor: 100, Currency: "EUR",
		IssuedAt: t0, DueAt: t0, Stage: invoice.StageInquired, PolicyName: "standard", PolicyVersion: 1, WorkflowID: "invoice:inv-2", CreatedAt: t0, UpdatedAt: t0}
	if _, err := h.store.InsertInvoice(ctx, other); err != nil {
		t.Fatal(err)
	}
	sentAt := on(31).Add(-2 * time.Hour)
	if _, _, err := h.store.ClaimMessage(ctx, &db.Message{ID: "m-other", InvoiceID: "inv-2", CustomerID: "acme", Step: "overdue-15",
		Channel: "email", Direction: db.Outbound, Recipient: "ap@acme.test", Status: db.MessageSent, ScheduledAt: sentAt, CreatedAt: sentAt, SentAt: &sentAt}); err != nil {
		t.Fatal(err)
	}
	h.apply([]act{pay(33, "tx", amount)})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	inquireAt := sentAt.Add(24 * time.Hour).Sub(t0)
	want := plus(upTo(23), "inquire/email@"+inquireAt.String(), "inquire/sms@"+inquireAt.String())
	equal(t, "messages", h.sent(), want)
	deferred := 0
	for _, e := range st.Timeline {
		if e.Step == "inquire" && e.Outcome == "deferred" {
			deferred++
		}
	}
	if deferred != 2 {
		t.Fatalf("the deferral must be on the record for both channels, found %d", deferred)
	}
}
