package workflows_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

// commands counts what a workflow asks of Temporal, each of which leaves
// history events: a version check (a marker and an upsert of
// TemporalChangeVersion), a search-attribute upsert, a local activity (a
// marker), an activity (three events and a workflow task), a timer.
type commands struct {
	interceptor.WorkerInterceptorBase
	versions []string
	upserts  int
	local    []string
	acts     []string
	timers   int
}

func (c *commands) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &countIn{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, c: c}
}

type countIn struct {
	interceptor.WorkflowInboundInterceptorBase
	c *commands
}

func (i *countIn) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&countOut{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}, c: i.c})
}

type countOut struct {
	interceptor.WorkflowOutboundInterceptorBase
	c *commands
}

func (o *countOut) GetVersion(ctx workflow.Context, changeID string, min, max workflow.Version) workflow.Version {
	if !slices.Contains(o.c.versions, changeID) {
		o.c.versions = append(o.c.versions, changeID)
	}
	return o.Next.GetVersion(ctx, changeID, min, max)
}

func (o *countOut) UpsertTypedSearchAttributes(ctx workflow.Context, attrs ...temporal.SearchAttributeUpdate) error {
	o.c.upserts++
	return o.Next.UpsertTypedSearchAttributes(ctx, attrs...)
}

func (o *countOut) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.c.local = append(o.c.local, activityType)
	return o.Next.ExecuteLocalActivity(ctx, activityType, args...)
}

func (o *countOut) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.c.acts = append(o.c.acts, activityType)
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func (o *countOut) AwaitWithOptions(ctx workflow.Context, opts workflow.AwaitOptions, cond func() bool) (bool, error) {
	if opts.Timeout > 0 {
		o.c.timers++
	}
	return o.Next.AwaitWithOptions(ctx, opts, cond)
}

func (c *commands) String() string {
	return fmt.Sprintf("version checks %v · upserts %d · local activities %v · activities %v · timers %d",
		c.versions, c.upserts, c.local, c.acts, c.timers)
}

func stageNames(stages []invoice.Stage) []string {
	out := make([]string, len(stages))
	for i, s := range stages {
		out[i] = string(s)
	}
	return out
}

// remindedThenPaid runs the bench's "issued → reminded → paid" cost path
// (bench-remind: the notice, the delivery check and the reminder, then a
// processor's payment webhook, a signal) on a run of the given revision,
// and returns what it asked of Temporal.
func remindedThenPaid(t *testing.T, revision int) (*harness, *commands, *saves) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.in.Revision = revision
	c := &commands{}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{c}})
	s := watchBookkeeping(h)
	h.env.RegisterDelayedCallback(func() {
		// After the delivery check, the database has its outcome and the
		// next step, whichever way it was saved.
		inv, err := h.store.GetInvoice(context.Background(), "inv-1")
		if err != nil || inv.Status == nil || inv.Status.NextAction == nil {
			t.Errorf("status after the delivery check: %+v %v", inv, err)
			return
		}
		last := inv.Status.Timeline[len(inv.Status.Timeline)-1]
		if last.Kind != invoice.EventDeliveryConfirmed || last.Channel != "email" || last.Detail == "" ||
			inv.Status.NextAction.Step != "remind" || !inv.Status.NextAction.At.Equal(t0.Add(23*day)) {
			t.Errorf("status after the delivery check: last event %+v, next %+v", last, inv.Status.NextAction)
		}
	}, 10*day)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalPayment, workflows.PaymentReceived{Reference: "ch_1", AmountMinor: 125000,
			Currency: "EUR", ReceivedAt: t0.Add(24 * day), Source: "stripe"})
	}, 24*day)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	if st := h.result(); st.Stage != invoice.StagePaid || st.ClosedAt == nil {
		t.Fatalf("final status %+v", st)
	}
	equal(t, "messages", h.sent(), []string{"notify/email@0s", "remind/email@552h0m0s"})
	inv, err := h.store.GetInvoice(context.Background(), "inv-1")
	if err != nil || inv.Stage != invoice.StagePaid || inv.BalanceMinor != 0 || inv.ClosedAt == nil {
		t.Fatalf("database after the payment: %+v %v", inv, err)
	}
	t.Logf("revision %d: %s", revision, c)
	return h, c, s
}

// A run started on revision 1 takes every change of that revision without
// a version check (a marker and a TemporalChangeVersion upsert each), and
// saves the status a delivery check and a reported payment lead to in the
// same local activity as the check and the payment; a run from before
// revisions keeps checking its versions and takes two local activities for
// each, as it did.
func TestRevisionOneSkipsVersionChecksAndSavesWithTheCheckAndThePayment(t *testing.T) {
	_, old, _ := remindedThenPaid(t, 0)
	if !slices.Contains(old.versions, "local-bookkeeping") || !slices.Contains(old.versions, "bounded-policy") {
		t.Fatalf("a revision-0 run no longer checks its versions: %s", old)
	}
	if countOf(old.local, "RecordPayment") != 1 || countOf(old.local, "RecordPaymentWithStatus") != 0 {
		t.Fatalf("a revision-0 run changed how it records a reported payment: %s", old)
	}

	h, c, s := remindedThenPaid(t, workflows.CurrentRevision)
	if len(c.versions) != 0 {
		t.Fatalf("a revision-%d run checked versions %v", workflows.CurrentRevision, c.versions)
	}
	if countOf(c.local, "RecordPaymentWithStatus") != 1 || countOf(c.local, "RecordPayment") != 0 {
		t.Fatalf("the reported payment was not recorded with its status: %s", c)
	}
	// The status after the delivery check went with the check, and the
	// status after the payment with the payment: SaveStatus saved the
	// notice's and the reminder's, and nothing twice.
	equal(t, "stages saved by SaveStatus", stageNames(s.stages), []string{"notified", "reminded"})
	if countOf(c.local, "SaveStatus") != countOf(old.local, "SaveStatus")-2 {
		t.Fatalf("status saves: revision 0 %d, revision %d %d", countOf(old.local, "SaveStatus"), workflows.CurrentRevision, countOf(c.local, "SaveStatus"))
	}
	// What was saved with the payment is the workflow's final status.
	inv, err := h.store.GetInvoice(context.Background(), "inv-1")
	if err != nil {
		t.Fatal(err)
	}
	if final := h.result(); inv.Status == nil || len(inv.Status.Timeline) != len(final.Timeline) ||
		!inv.Status.Timeline[len(final.Timeline)-1].At.Equal(final.Timeline[len(final.Timeline)-1].At) {
		t.Fatalf("saved timeline %+v\nworkflow's %+v", inv.Status, final.Timeline)
	}
	t.Logf("revision 0 asked for %d commands, revision %d for %d", old.total(), workflows.CurrentRevision, c.total())
}

func (c *commands) total() int {
	return 2*len(c.versions) + c.upserts + len(c.local) + len(c.acts) + c.timers
}

// When the database's balance is not what the workflow expected (a payment
// it never heard of was recorded), the status is not saved with the
// payment; the workflow applies the database's balance and saves its own.
func TestAReportedPaymentWithAnUnexpectedBalanceSavesTheWorkflowsStatus(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	c := &commands{}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{c}})
	s := watchBookkeeping(h)
	h.env.RegisterDelayedCallback(func() {
		if _, _, err := h.store.RecordPayment(context.Background(), &db.Payment{ID: "p-elsewhere", InvoiceID: "inv-1",
			Reference: "elsewhere", AmountMinor: 25000, Currency: "EUR", ReceivedAt: t0.Add(2 * day)}, t0.Add(2*day)); err != nil {
			t.Error(err)
		}
		h.env.SignalWorkflow(workflows.SignalPayment, workflows.PaymentReceived{Reference: "ch_1", AmountMinor: 50000,
			Currency: "EUR", ReceivedAt: t0.Add(2 * day), Source: "stripe"})
	}, 2*day)
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, 2*day+time.Hour)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	if countOf(c.local, "RecordPaymentWithStatus") != 1 {
		t.Fatalf("commands: %s", c)
	}
	inv, err := h.store.GetInvoice(context.Background(), "inv-1")
	if err != nil {
		t.Fatal(err)
	}
	if inv.BalanceMinor != 50000 || inv.Status == nil || inv.Status.BalanceMinor != 50000 {
		t.Fatalf("database: balance %d, status %+v", inv.BalanceMinor, inv.Status)
	}
	last := inv.Status.Timeline[len(inv.Status.Timeline)-1]
	if last.Kind != invoice.EventPayment || last.Reference != "ch_1" || *last.BalanceMinor != 50000 {
		t.Fatalf("last saved event %+v", last)
	}
	if n := len(s.statuses); n == 0 || !strings.Contains(string(s.statuses[n-1]), `"ch_1"`) {
		t.Fatalf("the workflow did not save its status after the payment: %d saves", n)
	}
}
