package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

// A customer's reply holds the chase (pause_on_reply, on by default) until
// its task is completed, anyone acts on the invoice, or reply_hold
// business days pass. t0 is Monday 2 November 2026; the invoice is due on
// day 30 (Wednesday 2 December) and the inquiry goes out on day 31.

func (h *harness) replyAt(d time.Duration, flags ...string) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalReplied, workflows.Replied{MessageID: "reply-1", TaskID: "task-reply-1",
			From: "ap@acme.test", Summary: "Can you send a copy of the invoice?", Flags: flags})
	}, d)
}

func timelineHas(st invoice.Status, kind, detail string) *invoice.Event {
	for i, e := range st.Timeline {
		if e.Kind == kind && strings.Contains(e.Detail, detail) {
			return &st.Timeline[i]
		}
	}
	return nil
}

func TestReplyHoldsTheChaseUntilTheHoldPasses(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.replyAt(29*day, "dispute") // Tuesday 1 December, 10:00 in Berlin
	h.mustPay(40*day, "tx-1", 125000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	// Three business days after Tuesday 10:00 Berlin: Friday 10:00, day
	// 32; the inquiry due on day 31 goes out then.
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "remind/email@552h0m0s", "inquire/email@768h0m0s", "inquire/sms@768h0m0s"})
	r := timelineHas(st, invoice.EventReplied, "copy of the invoice")
	if r == nil || r.Outcome != "dispute" || r.Reference != "reply-1" || r.Until == nil || !r.Until.Equal(t0.Add(32*day)) {
		t.Fatalf("replied event %+v in %+v", r, st.Timeline)
	}
	if e := timelineHas(st, invoice.EventResumed, "reply hold ended: hold passed"); e == nil || !e.At.Equal(t0.Add(32*day)) {
		t.Errorf("hold end %+v", e)
	}
}

func TestReplyHoldEndsWhenItsTaskIsCompleted(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.replyAt(29 * day)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalTaskCompleted, workflows.TaskCompleted{TaskID: "task-reply-1", Kind: "reply", Outcome: "answered", Actor: "mia"})
	}, 31*day+12*time.Hour)
	h.mustPay(40*day, "tx-1", 125000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "remind/email@552h0m0s", "inquire/email@756h0m0s", "inquire/sms@756h0m0s"})
	if e := timelineHas(st, invoice.EventResumed, "reply hold ended: answered"); e == nil || !e.At.Equal(t0.Add(31*day+12*time.Hour)) {
		t.Errorf("hold end %+v", e)
	}
}

func TestReplyHoldEndsOnAnyActionOnTheInvoice(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.replyAt(29 * day)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalNoted, workflows.Noted{NoteID: "n1", Kind: "call", Summary: "Sent the copy", Actor: "mia"})
	}, 31*day+6*time.Hour)
	h.mustPay(40*day, "tx-1", 125000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	h.result()
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "remind/email@552h0m0s", "inquire/email@750h0m0s", "inquire/sms@750h0m0s"})
}

func TestReplyHoldEndsOnAPartPayment(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.replyAt(29 * day)
	h.mustPay(31*day+3*time.Hour, "tx-1", 25000, 100000)
	h.mustPay(40*day, "tx-2", 100000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	h.result()
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "remind/email@552h0m0s", "inquire/email@747h0m0s", "inquire/sms@747h0m0s"})
}

func TestNoHoldWithoutPauseOnReply(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	off := false
	h.in.Policy.PauseOnReply = &off
	h.replyAt(29 * day)
	h.mustPay(40*day, "tx-1", 125000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "remind/email@552h0m0s", "inquire/email@744h0m0s", "inquire/sms@744h0m0s"})
	if r := timelineHas(st, invoice.EventReplied, "copy"); r == nil || r.Until != nil {
		t.Errorf("the reply is on the timeline without a hold: %+v", r)
	}
}
