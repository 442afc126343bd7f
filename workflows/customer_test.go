package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// TestACustomersNewTimeZoneGovernsTheNextMessage: the customer moves from
// New York to Tokyo between the invoice and its reminder; the reminder goes
// out in Tokyo's send window, not at 09:00 New York time (23:00 in Tokyo).
func TestACustomersNewTimeZoneGovernsTheNextMessage(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.in.Policy.Calendar = policy.Calendar{WindowStart: "09:00", WindowEnd: "17:00"}
	h.in.Timezone = "America/New_York"
	newYork, _ := time.LoadLocation("America/New_York")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	h.apply([]act{
		signal(10, workflows.SignalCustomerChanged, workflows.CustomerChanged{Timezone: "Asia/Tokyo", AccountManager: "kenji@ar.test", Actor: "key:ops"}),
		pay(24, "tx", amount),
	})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()

	notify := h.in.Policy.Calendar.Next(t0, newYork, "inv-1/notify")
	remind := h.in.Policy.Calendar.Next(on(23), tokyo, "inv-1/remind")
	if remind.In(tokyo).Hour() != 9 || remind.Equal(h.in.Policy.Calendar.Next(on(23), newYork, "inv-1/remind")) {
		t.Fatalf("the test needs a reminder whose window differs between the zones; got %s", remind.In(tokyo))
	}
	want := []string{"notify/email@" + notify.Sub(t0).String(), "remind/email@" + remind.Sub(t0).String()}
	equal(t, "messages", h.sent(), want)

	if st.AccountManager != "kenji@ar.test" {
		t.Errorf("account manager %q, want the new one", st.AccountManager)
	}
	var changed []invoice.Event
	for _, e := range st.Timeline {
		if e.Kind == invoice.EventCustomerChanged {
			changed = append(changed, e)
		}
	}
	if len(changed) != 1 || !strings.Contains(changed[0].Detail, "America/New_York → Asia/Tokyo") || changed[0].Actor != "key:ops" {
		t.Fatalf("the change must be on the record once, with who made it: %+v", changed)
	}
}

// TestAnUnknownTimeZoneIsRefusedOnTheRecord: the invoice keeps its zone.
func TestAnUnknownTimeZoneIsRefusedOnTheRecord(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.apply([]act{
		signal(10, workflows.SignalCustomerChanged, workflows.CustomerChanged{Timezone: "Mars/Olympus", AccountManager: "mia@ar.test"}),
		pay(24, "tx", amount),
	})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), upTo(23))
	for _, e := range st.Timeline {
		if e.Kind == invoice.EventCustomerChanged {
			if e.Outcome != "refused" || !strings.Contains(e.Detail, "Mars/Olympus") {
				t.Fatalf("want the unknown zone refused on the record, got %+v", e)
			}
			return
		}
	}
	t.Fatal("the refused change is not on the record")
}

// TestANoteGoesOnTheTimelineAndChangesNothingElse: a call logged between
// the invoice and its reminder is on the record, with its kind and who
// made it; the schedule is the one the invoice had without it.
func TestANoteGoesOnTheTimelineAndChangesNothingElse(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.apply([]act{
		signal(10, workflows.SignalNoted, workflows.Noted{NoteID: "n-1", Kind: "call", Summary: "Spoke to AP, paying Friday", Actor: "mia"}),
		pay(24, "tx", amount),
	})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), upTo(23))
	var notes []invoice.Event
	for _, e := range st.Timeline {
		if e.Kind == invoice.EventNote {
			notes = append(notes, e)
		}
	}
	if len(notes) != 1 || notes[0].Outcome != "call" || notes[0].Reference != "n-1" || notes[0].Actor != "mia" ||
		notes[0].Detail != "Spoke to AP, paying Friday" || !notes[0].At.Equal(on(10)) {
		t.Fatalf("want the note on the timeline once, at day 10, with its kind and author: %+v", notes)
	}
}
