package workflows_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// hostilePolicy slipped past validation (stored before the bounds existed):
// one step repeated every second a hundred million times. Building its
// schedule took a worker to 6 GB and failed every workflow task.
func hostilePolicy() policy.Policy {
	p := testPolicy()
	p.Name = "hostile"
	p.Steps[1].Repeat = &policy.Repeat{Every: policy.D(time.Second), Times: 100_000_000}
	return p
}

// The budget for a whole invoice run on the hostile policy in the test
// environment (workflow tasks, activities, SQLite), from its start to the
// payment that closes it: 64 MiB allocated and a million allocations. A
// run on the standard policy stays well within it too; building the
// hostile schedule alone would allocate over 10 GiB. Allocation, not wall
// time, so a loaded machine cannot break it.
const (
	runBudgetBytes  = 64 << 20
	runBudgetAllocs = 1_000_000
)

func TestAHostilePolicyFailsItsInvoiceClearlyWithinBudget(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.in.Policy = hostilePolicy()
	h.mustPay(40*day, "tx-1", 125000, 0)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	runtime.ReadMemStats(&after)
	st := h.result()

	bytes, allocs := after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs
	t.Logf("the hostile run allocated %d KiB in %d allocations", bytes>>10, allocs)
	if bytes > runBudgetBytes || allocs > runBudgetAllocs {
		t.Fatalf("the hostile run allocated %d bytes in %d allocations; budget %d bytes, %d allocations", bytes, allocs, runBudgetBytes, runBudgetAllocs)
	}
	// Nothing went to the customer on it, only the account manager's
	// notice of the task; the timeline and the team's tasks say why; the
	// payment still closed the invoice.
	equal(t, "messages", h.sent(), []string{"policy:refused/manager@0s"})
	equal(t, "timeline", h.kinds(st, invoice.EventPolicyRefused, invoice.EventPaid), []string{"policy_refused@0s", "paid@960h0m0s"})
	var refused string
	for _, e := range st.Timeline {
		if e.Kind == invoice.EventPolicyRefused {
			refused = e.Detail
		}
	}
	if !strings.Contains(refused, "steps[1].repeat.times") {
		t.Fatalf("the timeline should name the field: %q", refused)
	}
	equal(t, "tasks", h.tasks(), []string{"policy_refused->mia@ar.test"})
	if st.Stage != invoice.StagePaid {
		t.Fatalf("stage %s", st.Stage)
	}
}

// The standard policy runs within the same budget (so the budget measures
// the run, not the policy).
func TestTheStandardPolicyRunsWithinTheSameBudget(t *testing.T) {
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	h.mustPay(40*day, "tx-1", 125000, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	runtime.ReadMemStats(&after)
	h.result()
	bytes, allocs := after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs
	t.Logf("the standard run allocated %d KiB in %d allocations", bytes>>10, allocs)
	if bytes > runBudgetBytes || allocs > runBudgetAllocs {
		t.Fatalf("the standard run allocated %d bytes in %d allocations; budget %d bytes, %d allocations", bytes, allocs, runBudgetBytes, runBudgetAllocs)
	}
}

// The validators refuse dates further than ten years from today, naming
// the field.
func TestFarDatesAreRefusedByTheValidators(t *testing.T) {
	far := t0.AddDate(20, 0, 0)
	cases := []struct {
		update string
		arg    any
		field  string
	}{
		{workflows.UpdatePromise, workflows.PromiseRequest{AmountMinor: 1000, Date: far}, "date"},
		{workflows.UpdatePause, workflows.PauseRequest{Until: &far}, "until"},
		{workflows.UpdateChangeDueDate, workflows.DueDateRequest{DueAt: far}, "due_at"},
	}
	h := newHarness(t, t0, t0.Add(30*day), 125000)
	for i, c := range cases {
		c := c
		h.env.RegisterDelayedCallback(func() {
			h.env.UpdateWorkflow(c.update, c.update, &testsuite.TestUpdateCallback{
				OnAccept: func() { t.Errorf("%s to %s was accepted", c.update, far) },
				OnReject: func(err error) {
					if !strings.HasPrefix(err.Error(), c.field+": ") || !strings.Contains(err.Error(), "3650 days") {
						t.Errorf("%s: %v, want an error naming %s", c.update, err, c.field)
					}
				},
				OnComplete: func(any, error) {},
			}, c.arg)
		}, time.Duration(i+1)*time.Hour)
	}
	h.mustPay(2*day, "tx-1", 125000, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	h.result()
}
