package workflows_test

import (
	"context"
	"encoding/json"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

// saves records every SaveStatus and RecordPayment the workflow ran, and
// whether as a local activity or a scheduled one.
type saves struct {
	local, scheduled []string // activity types, in order
	statuses         [][]byte // each saved status, encoded
	stages           []invoice.Stage
}

func watchBookkeeping(h *harness) *saves {
	s := &saves{}
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		s.local = append(s.local, info.ActivityType.Name)
		if info.ActivityType.Name == "SaveStatus" {
			st := args[0].(invoice.Status)
			enc, _ := json.Marshal(st)
			s.statuses = append(s.statuses, enc)
			s.stages = append(s.stages, st.Stage)
		}
	})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		s.scheduled = append(s.scheduled, info.ActivityType.Name)
	})
	return s
}

func countOf(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

// A payment a processor reports (a signal) is recorded, and every status
// saved, by local activities; a status is saved once per burst of changes
// and never twice unchanged. (A run from before revision 1: from it on, the
// payment is recorded with its status, see history_test.go.)
func TestReportedPaymentAndStatusesAreLocalBookkeeping(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.in.Revision = 0
	s := watchBookkeeping(h)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalPayment, workflows.PaymentReceived{Reference: "ch_1", AmountMinor: 125000,
			Currency: "EUR", ReceivedAt: t0.Add(24 * day), Source: "stripe"})
	}, 24*day)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	if st := h.result(); st.Stage != invoice.StagePaid {
		t.Fatalf("stage %s", st.Stage)
	}
	if n := countOf(s.scheduled, "SaveStatus") + countOf(s.scheduled, "RecordPayment"); n != 0 {
		t.Fatalf("scheduled bookkeeping activities: %v", s.scheduled)
	}
	if countOf(s.local, "RecordPayment") != 1 {
		t.Fatalf("local activities: %v", s.local)
	}
	for i := 1; i < len(s.statuses); i++ {
		if string(s.statuses[i]) == string(s.statuses[i-1]) {
			t.Fatalf("status %d saved twice unchanged: %s", i, s.statuses[i])
		}
	}
	// Issued with the notice held back until it was sent: one save after
	// the notice (next: the delivery check), one after the check (next:
	// the reminder), one after the reminder, one for the payment.
	want := []invoice.Stage{invoice.StageNotified, invoice.StageNotified, invoice.StageReminded, invoice.StagePaid}
	if len(s.stages) != len(want) {
		t.Fatalf("saved stages %v, want %v", s.stages, want)
	}
	for i := range want {
		if s.stages[i] != want[i] {
			t.Fatalf("saved stages %v, want %v", s.stages, want)
		}
	}
	inv, err := h.store.GetInvoice(context.Background(), "inv-1")
	if err != nil || inv.Stage != invoice.StagePaid || inv.ClosedAt == nil {
		t.Fatalf("database after the payment: %+v %v", inv, err)
	}
}

// A payment made through the API is an update: durable only once the task
// that accepted it completes. Its write, and the status save after it, are
// scheduled activities, so nothing reaches the database for an update
// Temporal then aborts and retries.
func TestAnUpdatesWritesAreScheduledActivities(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	s := watchBookkeeping(h)
	h.mustPay(10*day, "tx-1", 25000, 100000)
	h.mustPay(20*day, "tx-2", 100000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	if st := h.result(); st.Stage != invoice.StagePaid {
		t.Fatalf("stage %s", st.Stage)
	}
	if countOf(s.local, "RecordPayment") != 0 || countOf(s.scheduled, "RecordPayment") != 2 {
		t.Fatalf("payments recorded locally %v, scheduled %v", s.local, s.scheduled)
	}
	if countOf(s.scheduled, "SaveStatus") < 2 {
		t.Fatalf("the statuses after the two payments were not saved by scheduled activities: %v", s.scheduled)
	}
}
