package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// Every path of the lifecycle, on the standard policy (send window off so
// times are exact): issued on day 0, due on day 30, 1,000.00 EUR. Each case
// lists what happens when, then exactly which messages went out and when.
//
// The standard schedule for this invoice:
//
//	day 0 notify · 3 confirm delivery · 23 remind · 31 inquire · 45 overdue-15
//	· 60 overdue-30 · 75 escalate (deadline day 89) · 105 agency

const amount = 100000

// act is one thing that happens to the invoice from outside.
type act struct {
	day    float64
	kind   string // "pay", "update", "signal"
	name   string // update or signal name
	arg    any
	reject bool // the update must be rejected
}

func pay(d float64, ref string, minor int64) act {
	return act{day: d, kind: "pay", name: ref, arg: minor}
}

func update(d float64, name string, arg any) act {
	return act{day: d, kind: "update", name: name, arg: arg}
}

func signal(d float64, name string, arg any) act {
	return act{day: d, kind: "signal", name: name, arg: arg}
}

func days(d float64) time.Duration { return time.Duration(d * float64(day)) }

func on(d float64) time.Time { return t0.Add(days(d)) }

func ptr[T any](v T) *T { return &v }

// msg formats an expected message as the harness reports it.
func msg(key, channel string, d float64) string {
	return key + "/" + channel + "@" + days(d).String()
}

// upTo is the messages of an unpaid standard invoice up to and including day d.
func upTo(d float64) []string {
	all := []struct {
		day  float64
		msgs []string
	}{
		{0, []string{msg("notify", "email", 0)}},
		{23, []string{msg("remind", "email", 23)}},
		{31, []string{msg("inquire", "email", 31), msg("inquire", "sms", 31)}},
		{45, []string{msg("overdue-15", "email", 45), msg("overdue-15", "sms", 45)}},
		{60, []string{msg("overdue-30", "email", 60), msg("overdue-30", "sms", 60)}},
		{75, []string{msg("escalate", "email", 75), msg("escalate:management", "manager", 75), msg("escalate", "sms", 75)}},
	}
	var out []string
	for _, s := range all {
		if s.day <= d {
			out = append(out, s.msgs...)
		}
	}
	return out
}

func plus(a []string, b ...string) []string { return append(append([]string{}, a...), b...) }

func (h *harness) apply(acts []act) {
	for _, x := range acts {
		x := x
		switch x.kind {
		case "pay":
			h.mustPay(days(x.day), x.name, x.arg.(int64), -1)
		case "signal":
			h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(x.name, x.arg) }, days(x.day))
		case "update":
			h.env.RegisterDelayedCallback(func() {
				h.env.UpdateWorkflow(x.name, fmt.Sprintf("%s@%v", x.name, x.day), &testsuite.TestUpdateCallback{
					OnAccept: func() {
						if x.reject {
							h.t.Errorf("%s on day %v was accepted, want rejected", x.name, x.day)
						}
					},
					OnReject: func(err error) {
						if !x.reject {
							h.t.Errorf("%s on day %v rejected: %v", x.name, x.day, err)
						}
					},
					OnComplete: func(_ any, err error) {
						if err != nil && !x.reject {
							h.t.Errorf("%s on day %v failed: %v", x.name, x.day, err)
						}
					},
				}, x.arg)
			}, days(x.day))
		}
	}
}

func (h *harness) kinds(st invoice.Status, only ...string) []string {
	var out []string
	for _, e := range st.Timeline {
		for _, k := range only {
			if e.Kind == k {
				out = append(out, fmt.Sprintf("%s@%s", e.Kind, e.At.Sub(t0)))
			}
		}
	}
	return out
}

func (h *harness) tasks() []string {
	ts, err := h.store.ListTasks(context.Background(), db.TaskFilter{InvoiceID: "inv-1"})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, t := range ts {
		out = append(out, t.Kind+"->"+t.Assignee)
	}
	return out
}

type lifecycleCase struct {
	name      string
	acts      []act
	want      []string
	wantStage invoice.Stage
	check     func(t *testing.T, h *harness, st invoice.Status)
}

func runCases(t *testing.T, cases []lifecycleCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, t0, on(30), amount)
			h.apply(tc.acts)
			h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
			st := h.result()
			equal(t, "messages", h.sent(), tc.want)
			if st.Stage != tc.wantStage {
				t.Fatalf("stage %s, want %s", st.Stage, tc.wantStage)
			}
			inv, err := h.store.GetInvoice(context.Background(), "inv-1")
			if err != nil || inv.Stage != tc.wantStage || inv.ClosedAt == nil {
				t.Fatalf("database: stage %s closed %v (%v)", inv.Stage, inv.ClosedAt, err)
			}
			if tc.check != nil {
				tc.check(t, h, st)
			}
		})
	}
}

func TestTheUnpaidPathEndsWithTheAgency(t *testing.T) {
	runCases(t, []lifecycleCase{{
		name: "silence until the final deadline means the agency",
		acts: []act{signal(100, workflows.SignalAgencyOutcome, workflows.AgencyOutcome{Outcome: workflows.AgencyCollected, Reference: "ag-1"})},
		// Management stays silent: on day 89 the policy's default places
		// the account; the agency collects on day 100.
		want:      plus(upTo(75), msg("agency", "agency", 89)),
		wantStage: invoice.StageCollected,
		check: func(t *testing.T, h *harness, st invoice.Status) {
			equal(t, "tasks", h.tasks(), []string{"management_contact->mia@ar.test"})
			equal(t, "course", h.kinds(st, invoice.EventEscalated, invoice.EventDecision, invoice.EventAgencyPlaced, invoice.EventPaid),
				[]string{"escalated@1800h0m0s", "decision@2136h0m0s", "agency_placed@2136h0m0s", "paid@2400h0m0s"})
			if st.Escalation == nil || !st.Escalation.Deadline.Equal(on(89)) || st.Escalation.Decision != "agency" {
				t.Fatalf("escalation %+v", st.Escalation)
			}
			msgs, _ := h.store.ListMessagesForSteps(context.Background(), "inv-1", []string{"agency", "escalate", "escalate:management"})
			for _, m := range msgs {
				switch m.Channel {
				case "agency":
					for _, want := range []string{"ap@acme.test", "+4930123456", "EUR 1,000.00", "overdue-30"} {
						if !strings.Contains(m.Body, want) {
							t.Errorf("case file lacks %q:\n%s", want, m.Body)
						}
					}
				case "email":
					if !strings.Contains(m.Body, "Saturday, 30 January 2027") {
						t.Errorf("final notice must state its deadline (day 89):\n%s", m.Body)
					}
				case "manager":
					if !strings.Contains(m.Body, "inquire · sms · sent") {
						t.Errorf("the manager's summary must list what was tried:\n%s", m.Body)
					}
				}
			}
		},
	}})
}

func TestPaidAtEachStageStopsEverything(t *testing.T) {
	var cases []lifecycleCase
	for _, d := range []float64{2, 24, 32, 46, 61, 76} {
		cases = append(cases, lifecycleCase{
			name: fmt.Sprintf("paid on day %v", d), acts: []act{pay(d, "tx", amount)},
			want: upTo(d), wantStage: invoice.StagePaid,
		})
	}
	cases = append(cases, lifecycleCase{
		name: "paid to us after the agency placement", acts: []act{pay(95, "tx", amount)},
		want: plus(upTo(75), msg("agency", "agency", 89)), wantStage: invoice.StageCollected,
	})
	runCases(t, cases)
}

func TestDisputes(t *testing.T) {
	open := workflows.DisputeRequest{Reason: "wrong_amount", Note: "billed twice for March"}
	runCases(t, []lifecycleCase{
		{
			name: "rejected: chasing resumes where it left off",
			acts: []act{
				update(32, workflows.UpdateOpenDispute, open),
				update(50, workflows.UpdateResolveDispute, workflows.ResolveDisputeRequest{Resolution: workflows.ResolutionRejected, Actor: "mia"}),
				pay(51, "tx", amount),
			},
			// overdue-15 (day 45) fell inside the dispute: it goes out on
			// resolution. The dispute outlived its 14-day deadline (day 46),
			// so the account manager was emailed.
			want: plus(upTo(31), msg("dispute-1:overdue", "manager", 46), msg("overdue-15", "email", 50), msg("overdue-15", "sms", 50)), wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				equal(t, "tasks", h.tasks(), []string{"dispute_review->mia@ar.test", "dispute_overdue->mia@ar.test"})
				equal(t, "dispute", h.kinds(st, invoice.EventDisputeOpened, invoice.EventDisputeResolved), []string{"dispute_opened@768h0m0s", "dispute_resolved@1200h0m0s"})
			},
		},
		{
			name: "upheld: the invoice is cancelled",
			acts: []act{
				update(32, workflows.UpdateOpenDispute, open),
				update(40, workflows.UpdateResolveDispute, workflows.ResolveDisputeRequest{Resolution: workflows.ResolutionUpheld}),
			},
			want: upTo(31), wantStage: invoice.StageCancelled,
		},
		{
			name: "adjusted: a credit note lowers the balance the next messages state",
			acts: []act{
				update(24, workflows.UpdateOpenDispute, open),
				update(26, workflows.UpdateResolveDispute, workflows.ResolveDisputeRequest{Resolution: workflows.ResolutionAdjusted, NewAmountMinor: 80000}),
				pay(32, "tx", 80000),
			},
			want: upTo(31), wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				msgs, _ := h.store.ListMessagesForSteps(context.Background(), "inv-1", []string{"inquire"})
				if len(msgs) == 0 || !strings.Contains(msgs[0].Body, "EUR 800.00") {
					t.Fatalf("the inquiry must state the adjusted balance")
				}
				inv, _ := h.store.GetInvoice(context.Background(), "inv-1")
				if inv.AmountMinor != 80000 || st.AmountMinor != 80000 {
					t.Fatalf("amount after the credit note: db %d, workflow %d", inv.AmountMinor, st.AmountMinor)
				}
			},
		},
		{
			name: "unresolved past its deadline: the account manager is asked",
			acts: []act{
				update(32, workflows.UpdateOpenDispute, open),
				update(33, workflows.UpdateOpenDispute, open).rejectIf(true), // a second dispute is refused
				update(50, workflows.UpdateResolveDispute, workflows.ResolveDisputeRequest{Resolution: workflows.ResolutionRejected}),
				pay(51, "tx", amount),
			},
			want: plus(upTo(31), msg("dispute-1:overdue", "manager", 46), msg("overdue-15", "email", 50), msg("overdue-15", "sms", 50)), wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				equal(t, "overdue", h.kinds(st, invoice.EventDisputeOverdue), []string{"dispute_overdue@1104h0m0s"})
				equal(t, "tasks", h.tasks(), []string{"dispute_review->mia@ar.test", "dispute_overdue->mia@ar.test"})
			},
		},
	})
}

func TestPromisesToPay(t *testing.T) {
	runCases(t, []lifecycleCase{
		{
			name: "kept in full: a reminder the day before, then paid",
			acts: []act{
				update(32, workflows.UpdatePromise, workflows.PromiseRequest{AmountMinor: amount, Date: on(40)}),
				pay(39.5, "tx", amount),
			},
			want: plus(upTo(31), msg("promise-1:reminder", "email", 39)), wantStage: invoice.StagePaid,
		},
		{
			name: "kept in part: the schedule resumes for the rest",
			acts: []act{
				update(32, workflows.UpdatePromise, workflows.PromiseRequest{AmountMinor: 50000, Date: on(40)}),
				pay(39.5, "tx-1", 50000),
				pay(46, "tx-2", 50000),
			},
			want: plus(upTo(31), msg("promise-1:reminder", "email", 39), msg("overdue-15", "email", 45), msg("overdue-15", "sms", 45)), wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				equal(t, "promise", h.kinds(st, invoice.EventPromise, invoice.EventPromiseKept), []string{"promise@768h0m0s", "promise_kept@948h0m0s"})
			},
		},
		{
			name: "broken: straight to the next firm step after the grace period",
			acts: []act{
				update(32, workflows.UpdatePromise, workflows.PromiseRequest{AmountMinor: 50000, Date: on(36)}),
				pay(40, "tx", amount),
			},
			// Promised for day 36, grace 3 days: broken on day 39, and
			// overdue-15 goes out then instead of on day 45.
			want:      plus(upTo(31), msg("promise-1:reminder", "email", 35), msg("overdue-15", "email", 39), msg("overdue-15", "sms", 39)),
			wantStage: invoice.StagePaid,
		},
	})
}

func TestPauseAndResume(t *testing.T) {
	runCases(t, []lifecycleCase{
		{
			name: "paused until resumed",
			acts: []act{
				update(31.5, workflows.UpdatePause, workflows.PauseRequest{Reason: "customer in hospital"}),
				update(50, workflows.UpdateResume, workflows.PauseRequest{}),
				pay(51, "tx", amount),
			},
			want: plus(upTo(31), msg("overdue-15", "email", 50), msg("overdue-15", "sms", 50)), wantStage: invoice.StagePaid,
		},
		{
			name: "paused until a date",
			acts: []act{
				update(24, workflows.UpdatePause, workflows.PauseRequest{Until: ptr(on(40))}),
				pay(41, "tx", amount),
			},
			// The inquiry (day 31) fell inside the pause: it goes out when the pause ends.
			want: plus(upTo(23), msg("inquire", "email", 40), msg("inquire", "sms", 40)), wantStage: invoice.StagePaid,
		},
		{
			name: "cancelled",
			acts: []act{update(24, workflows.UpdateCancel, workflows.CloseRequest{Reason: "duplicate invoice"})},
			want: upTo(23), wantStage: invoice.StageCancelled,
		},
		{
			name: "written off",
			acts: []act{update(50, workflows.UpdateWriteOff, workflows.CloseRequest{Reason: "customer insolvent"})},
			want: upTo(45), wantStage: invoice.StageWrittenOff,
		},
	})
}

func (x act) rejectIf(r bool) act { x.reject = r; return x }

func TestDueDateChangesReanchorTheSchedule(t *testing.T) {
	runCases(t, []lifecycleCase{
		{
			name: "moved later",
			acts: []act{update(10, workflows.UpdateChangeDueDate, workflows.DueDateRequest{DueAt: on(60)}), pay(54, "tx", amount)},
			want: []string{msg("notify", "email", 0), msg("remind", "email", 53)}, wantStage: invoice.StagePaid,
		},
		{
			name: "moved earlier",
			acts: []act{update(1, workflows.UpdateChangeDueDate, workflows.DueDateRequest{DueAt: on(20)}), pay(14, "tx", amount)},
			want: []string{msg("notify", "email", 0), msg("remind", "email", 13)}, wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				inv, _ := h.store.GetInvoice(context.Background(), "inv-1")
				if !inv.DueAt.Equal(on(20)) || !st.DueAt.Equal(on(20)) {
					t.Fatalf("due date: db %s, workflow %s", inv.DueAt, st.DueAt)
				}
			},
		},
	})
}

func TestManagementDecisions(t *testing.T) {
	agencyReturned := signal(120, workflows.SignalAgencyOutcome, workflows.AgencyOutcome{Outcome: workflows.AgencyReturned})
	runCases(t, []lifecycleCase{
		{
			name: "extends the deadline: the default waits for the new one",
			acts: []act{
				update(77, workflows.UpdateDecide, workflows.DecisionRequest{Decision: policy.DecisionExtend, Until: ptr(on(110)), Actor: "cfo"}),
				agencyReturned,
			},
			want: plus(upTo(75), msg("agency", "agency", 110)), wantStage: invoice.StageReturned,
		},
		{
			name: "approves the agency at once; the agency collects in two parts",
			acts: []act{
				update(60.5, workflows.UpdateDecide, workflows.DecisionRequest{Decision: policy.DecisionAgency}).rejectIf(true), // not escalated yet
				update(77, workflows.UpdateDecide, workflows.DecisionRequest{Decision: policy.DecisionAgency, Actor: "cfo"}),
				signal(90, workflows.SignalAgencyOutcome, workflows.AgencyOutcome{Outcome: workflows.AgencyPartiallyCollected, AmountMinor: 40000, Reference: "ag-1"}),
				signal(95, workflows.SignalAgencyOutcome, workflows.AgencyOutcome{Outcome: workflows.AgencyCollected, Reference: "ag-2"}),
			},
			want: plus(upTo(75), msg("agency", "agency", 77)), wantStage: invoice.StageCollected,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				ps, _ := h.store.ListPayments(context.Background(), "inv-1")
				if len(ps) != 2 || ps[0].AmountMinor != 40000 || ps[1].AmountMinor != 60000 {
					t.Fatalf("agency payments: %+v", ps)
				}
			},
		},
		{
			name: "writes off",
			acts: []act{update(77, workflows.UpdateDecide, workflows.DecisionRequest{Decision: policy.DecisionWriteOff})},
			want: upTo(75), wantStage: invoice.StageWrittenOff,
		},
	})
}

func TestLongHistoriesContinueAsNewWithTheirState(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	for i := range 12 {
		h.mustPay(days(1)+time.Duration(i)*time.Hour, fmt.Sprintf("tx-%d", i), 100, -1)
	}
	// The server reports a long history after the tenth payment; the next
	// interrupt makes the workflow carry its state into a new run.
	h.env.RegisterDelayedCallback(func() { h.env.SetCurrentHistoryLength(6000) }, days(1)+9*time.Hour+30*time.Minute)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next workflows.InvoiceInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || len(next.State.References) != 11 || next.State.BalanceMinor != amount-1100 ||
		!next.State.DueAt.Equal(on(30)) || next.State.Stage != invoice.StageNotified || !slices.Contains(next.State.Done, "notify") {
		t.Fatalf("state carried over: %+v", next.State)
	}
	if last := next.State.Timeline[len(next.State.Timeline)-1]; last.Kind != invoice.EventContinuedAsNew {
		t.Fatalf("last event %s", last.Kind)
	}
}

func TestMessagesKeepToTheCustomersSendWindow(t *testing.T) {
	// A Berlin customer on the standard calendar (weekdays 09:00-17:00,
	// spread over the first two hours), with a holiday on the day the
	// inquiry would fall.
	issued := time.Date(2026, 11, 6, 20, 0, 0, 0, time.UTC) // Friday 21:00 in Berlin
	due := time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC)     // Tuesday 09:00 in Berlin
	h := newHarness(t, issued, due, amount)
	h.in.Policy = policy.Standard()
	h.in.Policy.Calendar.Holidays = []string{"2026-12-09"}
	h.mustPay(time.Date(2026, 12, 11, 12, 0, 0, 0, time.UTC).Sub(t0), "tx", amount, 0)
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	h.result()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	msgs, _ := h.store.ListMessages(context.Background(), db.MessageFilter{InvoiceID: "inv-1"})
	days := map[string]string{}
	for _, m := range msgs {
		local := m.SentAt.In(berlin)
		if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday || local.Hour() < 9 || local.Hour() >= 11 {
			t.Errorf("%s/%s sent %s: outside the weekday 09:00-11:00 spread", m.Step, m.Channel, local)
		}
		days[m.Step] = local.Format("Mon 2006-01-02")
	}
	want := map[string]string{
		"notify":  "Mon 2026-11-09", // issued on a Friday evening: Monday morning
		"remind":  "Tue 2026-12-01", // due - 7 days, inside the window
		"inquire": "Thu 2026-12-10", // due + 1 day is a holiday: the next working day
	}
	if fmt.Sprint(days) != fmt.Sprint(want) {
		t.Fatalf("send days %v, want %v", days, want)
	}
}

func TestATaskStepAsksAPerson(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	// A call the day after the inquiry, between the inquiry and overdue-15.
	steps := h.in.Policy.Steps
	call := policy.Step{ID: "call", Action: policy.ActionTask, Task: "call", Anchor: policy.AnchorDue, Offset: policy.D(2 * day)}
	h.in.Policy.Steps = append(append(append([]policy.Step{}, steps[:4]...), call), steps[4:]...)
	if err := h.in.Policy.Validate(); err != nil {
		t.Fatal(err)
	}
	h.apply([]act{
		signal(33, workflows.SignalTaskCompleted, workflows.TaskCompleted{Kind: "call", Outcome: "reached", Note: "pays Friday"}),
		pay(34, "tx", amount),
	})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	equal(t, "messages", h.sent(), upTo(31))
	equal(t, "tasks", h.tasks(), []string{"call->mia@ar.test"})
	equal(t, "course", h.kinds(st, invoice.EventTask, invoice.EventTaskCompleted), []string{"task@768h0m0s", "task_completed@792h0m0s"})
}
