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
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// Payment plans on the standard invoice of lifecycle_test.go (issued day 0,
// due day 30, 1,000.00 EUR; inquire on day 31, overdue-15 on day 45):
// default plan bounds, a reminder 3 days before each instalment and 3 days'
// grace.

func explicit(pairs ...any) workflows.ProposePlanRequest {
	var req workflows.ProposePlanRequest
	for i := 0; i < len(pairs); i += 2 {
		req.Instalments = append(req.Instalments, workflows.PlanInstalment{DueAt: on(pairs[i].(float64)), AmountMinor: int64(pairs[i+1].(int))})
	}
	req.Actor = "key:desk"
	return req
}

// sameSet compares message lists whatever the order of those sent at the
// same moment.
func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if strings.Join(g, " ") != strings.Join(w, " ") {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

type planCase struct {
	name      string
	plans     *policy.PaymentPlans
	acts      []act
	want      []string
	wantStage invoice.Stage
	check     func(t *testing.T, h *harness, st invoice.Status)
}

func runPlanCases(t *testing.T, cases []planCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, t0, on(30), amount)
			h.in.Policy.PaymentPlans = tc.plans
			h.apply(tc.acts)
			h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
			st := h.result()
			sameSet(t, "messages", h.sent(), tc.want)
			if st.Stage != tc.wantStage {
				t.Fatalf("stage %s, want %s", st.Stage, tc.wantStage)
			}
			if tc.check != nil {
				tc.check(t, h, st)
			}
		})
	}
}

func planMsg(n int, what string, d float64) string {
	return msg(fmt.Sprintf("plan-1:instalment-%d:%s", n, what), "email", d)
}

func (h *harness) body(step string) string {
	h.t.Helper()
	msgs, err := h.store.ListMessages(context.Background(), db.MessageFilter{InvoiceID: "inv-1"})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Step == step && m.Channel == "email" {
			return m.Subject + "\n" + m.Body
		}
	}
	h.t.Fatalf("no email for step %s", step)
	return ""
}

func instalmentStates(p *invoice.Plan) []string {
	var out []string
	for _, in := range p.Instalments {
		out = append(out, fmt.Sprintf("%s:%d/%d", in.State, in.PaidMinor, in.AmountMinor))
	}
	return out
}

func TestPaymentPlans(t *testing.T) {
	runPlanCases(t, []planCase{
		{
			name: "agreed then kept: a reminder before each date, paid on time",
			acts: []act{
				update(32, workflows.UpdateProposePlan, explicit(40.0, 25000, 50.0, 25000, 60.0, 25000, 70.0, 25000)),
				pay(39, "tx-1", 25000), pay(49, "tx-2", 25000), pay(59, "tx-3", 25000), pay(69, "tx-4", 25000),
			},
			want:      plus(upTo(31), planMsg(1, "reminder", 37), planMsg(2, "reminder", 47), planMsg(3, "reminder", 57), planMsg(4, "reminder", 67)),
			wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				equal(t, "plan events", h.kinds(st, invoice.EventPlanAgreed, invoice.EventInstalmentPaid, invoice.EventPlanCompleted, invoice.EventPaid),
					[]string{"plan_agreed@768h0m0s", "instalment_paid@936h0m0s", "instalment_paid@1176h0m0s", "instalment_paid@1416h0m0s",
						"instalment_paid@1656h0m0s", "plan_completed@1656h0m0s", "paid@1656h0m0s"})
				if st.Plan == nil || st.Plan.State != invoice.PlanCompleted || st.Plan.Number != 1 || st.Plan.TotalMinor != amount {
					t.Fatalf("plan: %+v", st.Plan)
				}
				equal(t, "instalments", instalmentStates(st.Plan), []string{"paid:25000/25000", "paid:25000/25000", "paid:25000/25000", "paid:25000/25000"})
				// 2026-12-12 09:00 UTC is 10:00 in Berlin.
				b := h.body("plan-1:instalment-1:reminder")
				for _, want := range []string{"instalment of EUR 250.00", "Saturday, 12 December 2026", "EUR 750.00 remains", "EUR 1,000.00 is outstanding"} {
					if !strings.Contains(b, want) {
						t.Errorf("first reminder lacks %q:\n%s", want, b)
					}
				}
				if b := h.body("plan-1:instalment-4:reminder"); !strings.Contains(b, "EUR 0.00 remains") || !strings.Contains(b, "EUR 250.00 is outstanding") {
					t.Errorf("last reminder:\n%s", b)
				}
			},
		},
		{
			name: "paid ahead: the payment fills the next instalments too",
			acts: []act{
				update(32, workflows.UpdateProposePlan, workflows.ProposePlanRequest{Count: 3, Every: policy.Period{Duration: days(10)}, FirstDueAt: on(40)}),
				pay(35, "tx-1", 66666), pay(58, "tx-2", 33334),
			},
			want:      plus(upTo(31), planMsg(3, "reminder", 57)),
			wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				var outcomes []string
				for _, e := range st.Timeline {
					if e.Kind == invoice.EventInstalmentPaid {
						outcomes = append(outcomes, fmt.Sprintf("%s:%s:%d", e.Step, e.Outcome, e.AmountMinor))
					}
				}
				equal(t, "instalments paid", outcomes, []string{"plan-1:instalment-1:on time:33333", "plan-1:instalment-2:ahead:33333", "plan-1:instalment-3:on time:33334"})
			},
		},
		{
			name: "one instalment missed, then caught up within grace",
			acts: []act{
				update(32, workflows.UpdateProposePlan, explicit(40.0, 50000, 50.0, 50000)),
				pay(41.5, "tx-1", 50000), pay(49.5, "tx-2", 50000),
			},
			want:      plus(upTo(31), planMsg(1, "reminder", 37), planMsg(1, "missed", 40), planMsg(2, "reminder", 47)),
			wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				equal(t, "plan events", h.kinds(st, invoice.EventInstalmentMissed, invoice.EventInstalmentPaid, invoice.EventPlanBroken, invoice.EventPlanCompleted),
					[]string{"instalment_missed@960h0m0s", "instalment_paid@996h0m0s", "instalment_paid@1188h0m0s", "plan_completed@1188h0m0s"})
				// 2026-12-15 09:00 UTC: the grace ends 10:00 in Berlin.
				if b := h.body("plan-1:instalment-1:missed"); !strings.Contains(b, "instalment of EUR 500.00 that was due on Saturday, 12 December 2026") ||
					!strings.Contains(b, "pay it by Tuesday, 15 December 2026") {
					t.Errorf("missed message:\n%s", b)
				}
			},
		},
		{
			name: "missed past grace: broken, the customer told, a task, chasing resumes at the next firm step",
			acts: []act{
				update(32, workflows.UpdateProposePlan, explicit(40.0, 50000, 50.0, 50000)),
				pay(50, "tx-1", amount),
			},
			// Broken on day 43: the next firm step, overdue-15, is due at
			// once, but the plan_broken message was the day's contact
			// (the contact cap, once a day), so it goes out on its own
			// date, day 45, as after a broken promise.
			want: plus(upTo(31), planMsg(1, "reminder", 37), planMsg(1, "missed", 40), msg("plan-1:broken", "email", 43),
				msg("plan-1:broken", "manager", 43), msg("overdue-15", "email", 45), msg("overdue-15", "sms", 45)),
			wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				equal(t, "plan events", h.kinds(st, invoice.EventInstalmentMissed, invoice.EventPlanBroken),
					[]string{"instalment_missed@960h0m0s", "plan_broken@1032h0m0s"})
				if st.Plan.State != invoice.PlanBroken || st.Plan.EndReason != "instalment 1 unpaid past its grace" {
					t.Fatalf("plan: %+v", st.Plan)
				}
				equal(t, "instalments", instalmentStates(st.Plan), []string{"missed:0/50000", "void:0/50000"})
				if !slices.Contains(h.tasks(), "plan_broken->mia@ar.test") {
					t.Fatalf("tasks %v", h.tasks())
				}
				if b := h.body("plan-1:broken"); !strings.Contains(b, "the plan has ended") || !strings.Contains(b, "EUR 1,000.00 is now due") {
					t.Errorf("broken message:\n%s", b)
				}
			},
		},
		{
			name:  "outside the bounds: pending, the manager approves",
			plans: &policy.PaymentPlans{MaxInstalments: 2, MaxLength: policy.D(365 * day), ReminderBefore: policy.D(3 * day), Grace: policy.D(3 * day)},
			acts: []act{
				update(32, workflows.UpdateProposePlan, explicit(40.0, 30000, 50.0, 30000, 60.0, 40000)),
				update(33, workflows.UpdateDecidePlan, workflows.DecidePlanRequest{Decision: workflows.PlanApprove, Actor: "mia"}),
				pay(39, "tx-1", 30000), pay(49, "tx-2", 30000), pay(59, "tx-3", 40000),
			},
			want:      plus(upTo(31), msg("plan-1:approval", "manager", 32), planMsg(1, "reminder", 37), planMsg(2, "reminder", 47), planMsg(3, "reminder", 57)),
			wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				equal(t, "plan events", h.kinds(st, invoice.EventPlanProposed, invoice.EventPlanApproved, invoice.EventPlanCompleted),
					[]string{"plan_proposed@768h0m0s", "plan_approved@792h0m0s", "plan_completed@1416h0m0s"})
				if len(st.Plan.ApprovalReasons) != 1 || !strings.HasPrefix(st.Plan.ApprovalReasons[0], "payment_plans.max_instalments: 3 instalments") || st.Plan.DecidedBy != "mia" {
					t.Fatalf("plan: %+v", st.Plan)
				}
				if !slices.Contains(h.tasks(), "plan_approval->mia@ar.test") {
					t.Fatalf("tasks %v", h.tasks())
				}
			},
		},
		{
			name:  "approval required: the manager declines and the schedule runs on",
			plans: &policy.PaymentPlans{MaxInstalments: 12, MaxLength: policy.D(365 * day), RequireApproval: true, ReminderBefore: policy.D(3 * day), Grace: policy.D(3 * day)},
			acts: []act{
				update(32, workflows.UpdateProposePlan, explicit(40.0, 50000, 50.0, 50000)),
				update(33, workflows.UpdateDecidePlan, workflows.DecidePlanRequest{Decision: workflows.PlanDecline, Note: "too long", Actor: "mia"}),
				pay(46, "tx-1", amount),
			},
			want:      plus(upTo(45), msg("plan-1:approval", "manager", 32)),
			wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				if st.Plan.State != invoice.PlanDeclined || st.Plan.ApprovalReasons[0] != "payment_plans.require_approval: the policy has every plan approved" {
					t.Fatalf("plan: %+v", st.Plan)
				}
				equal(t, "instalments", instalmentStates(st.Plan), []string{"void:0/50000", "void:0/50000"})
			},
		},
		{
			name: "on a partially paid invoice: the plan covers the balance, monthly",
			acts: []act{
				pay(20, "tx-0", 40000),
				update(32, workflows.UpdateProposePlan, workflows.ProposePlanRequest{Count: 2, Every: policy.Period{Months: 1}, FirstDueAt: on(40)}),
				pay(39, "tx-1", 30000), pay(70, "tx-2", 30000),
			},
			// 12 December, then 12 January: day 71.
			want:      plus(upTo(31), planMsg(1, "reminder", 37), planMsg(2, "reminder", 68)),
			wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				if st.Plan.TotalMinor != 60000 || !st.Plan.Instalments[1].DueAt.Equal(on(71)) {
					t.Fatalf("plan: %+v", st.Plan)
				}
				equal(t, "instalments", instalmentStates(st.Plan), []string{"paid:30000/30000", "paid:30000/30000"})
			},
		},
		{
			name: "a dispute opened during the plan ends it; chasing resumes after the dispute",
			acts: []act{
				update(32, workflows.UpdateProposePlan, explicit(40.0, 50000, 50.0, 50000)),
				update(35, workflows.UpdateOpenDispute, workflows.DisputeRequest{Reason: "quality"}),
				update(36, workflows.UpdateResolveDispute, workflows.ResolveDisputeRequest{Resolution: workflows.ResolutionRejected}),
				pay(46, "tx-1", amount),
			},
			want:      upTo(45),
			wantStage: invoice.StagePaid,
			check: func(t *testing.T, h *harness, st invoice.Status) {
				if st.Plan.State != invoice.PlanCancelled || st.Plan.EndReason != "a dispute was opened (quality)" {
					t.Fatalf("plan: %+v", st.Plan)
				}
				equal(t, "events", h.kinds(st, invoice.EventPlanAgreed, invoice.EventPlanCancelled, invoice.EventDisputeOpened),
					[]string{"plan_agreed@768h0m0s", "plan_cancelled@840h0m0s", "dispute_opened@840h0m0s"})
			},
		},
		{
			name: "cancelled: chasing resumes where the plan interrupted it",
			acts: []act{
				update(32, workflows.UpdateProposePlan, explicit(40.0, 50000, 50.0, 50000)),
				update(34, workflows.UpdateCancelPlan, workflows.CancelPlanRequest{Reason: "customer asked", Actor: "mia"}),
				pay(46, "tx-1", amount),
			},
			want:      upTo(45),
			wantStage: invoice.StagePaid,
		},
	})
}

// The stage while a plan runs is on_plan, and the status query shows the
// plan and what comes next.
func TestAPlanIsVisibleWhileItRuns(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.apply([]act{update(32, workflows.UpdateProposePlan, explicit(40.0, 50000, 50.0, 50000)), pay(39, "tx-1", 50000), pay(49, "tx-2", 50000)})
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		var st invoice.Status
		if err := v.Get(&st); err != nil {
			t.Error(err)
			return
		}
		if st.Stage != invoice.StageOnPlan || st.Plan == nil || st.Plan.State != invoice.PlanActive ||
			st.NextAction == nil || st.NextAction.Step != "plan-1:instalment-2:reminder" || !st.NextAction.At.Equal(on(47)) {
			t.Errorf("status during the plan: stage %s plan %+v next %+v", st.Stage, st.Plan, st.NextAction)
		}
		inv, err := h.store.GetInvoice(context.Background(), "inv-1")
		if err != nil || inv.Stage != invoice.StageOnPlan || inv.Status.Plan == nil {
			t.Errorf("database during the plan: %+v %v", inv, err)
		}
	}, days(41))
	// A promise is refused while the plan runs.
	h.apply([]act{{day: 42, kind: "update", name: workflows.UpdatePromise, arg: workflows.PromiseRequest{AmountMinor: 100, Date: on(44)}, reject: true}})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	h.result()
}

// Every bound of a proposed plan is checked by the validator, which names
// the field; nothing is recorded.
func TestPlanProposalsAreValidatedNamingTheField(t *testing.T) {
	cases := []struct {
		name  string
		req   workflows.ProposePlanRequest
		field string
	}{
		{"one instalment", explicit(40.0, amount), "instalments"},
		{"too many instalments", func() workflows.ProposePlanRequest {
			var r workflows.ProposePlanRequest
			for i := range policy.MaxPlanInstalments + 1 {
				r.Instalments = append(r.Instalments, workflows.PlanInstalment{DueAt: on(40 + float64(i)), AmountMinor: 1})
			}
			return r
		}(), "instalments"},
		{"a zero amount", explicit(40.0, amount, 50.0, 0), "instalments[1].amount"},
		{"more than the balance", explicit(40.0, amount+1, 50.0, 1), "instalments[0].amount"},
		{"not the balance", explicit(40.0, 50000, 50.0, 40000), "instalments"},
		{"a date in the past", explicit(20.0, 50000, 50.0, 50000), "instalments[0].due_at"},
		{"dates out of order", explicit(50.0, 50000, 40.0, 50000), "instalments[1].due_at"},
		{"a date too far", explicit(40.0, 50000, 5000.0, 50000), "instalments[1].due_at"},
		{"a missing date", workflows.ProposePlanRequest{Instalments: []workflows.PlanInstalment{{AmountMinor: 50000}, {DueAt: on(50), AmountMinor: 50000}}}, "instalments[0].due_at"},
		{"both forms", func() workflows.ProposePlanRequest { r := explicit(40.0, 50000, 50.0, 50000); r.Count = 2; return r }(), "instalments"},
		{"neither form", workflows.ProposePlanRequest{}, "instalments"},
		{"a count of one", workflows.ProposePlanRequest{Count: 1, Every: policy.Period{Months: 1}, FirstDueAt: on(40)}, "count"},
		{"a count too high", workflows.ProposePlanRequest{Count: policy.MaxPlanInstalments + 1, Every: policy.Period{Months: 1}, FirstDueAt: on(40)}, "count"},
		{"a count beyond the cents", workflows.ProposePlanRequest{Count: 2, Every: policy.Period{Months: 1}, FirstDueAt: on(40)}, ""},
		{"no period", workflows.ProposePlanRequest{Count: 2, FirstDueAt: on(40)}, "every"},
		{"no first date", workflows.ProposePlanRequest{Count: 2, Every: policy.Period{Months: 1}}, "first_due_at"},
		{"a first date in the past", workflows.ProposePlanRequest{Count: 2, Every: policy.Period{Months: 1}, FirstDueAt: on(10)}, "first_due_at"},
		{"a period running too far", workflows.ProposePlanRequest{Count: 60, Every: policy.Period{Months: 120}, FirstDueAt: on(40)}, "every"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, t0, on(30), amount)
			h.env.RegisterDelayedCallback(func() {
				h.env.UpdateWorkflow(workflows.UpdateProposePlan, "plan", &testsuite.TestUpdateCallback{
					OnAccept: func() {
						if c.field != "" {
							t.Errorf("accepted, want refused on %s", c.field)
						}
					},
					OnReject: func(err error) {
						var appErr *temporal.ApplicationError
						if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrInvalidArgument {
							t.Errorf("want an invalid-argument refusal, got %v", err)
							return
						}
						var field string
						if derr := appErr.Details(&field); derr != nil || field != c.field {
							t.Errorf("refusal names %q, want %q (%v)", field, c.field, err)
						}
						if !strings.HasPrefix(appErr.Message(), c.field+": ") {
							t.Errorf("message %q does not start with the field", appErr.Message())
						}
					},
					OnComplete: func(any, error) {},
				}, c.req)
			}, days(32))
			h.mustPay(days(33), "tx", amount, 0)
			h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
			st := h.result()
			if c.field != "" && st.Plan != nil {
				t.Fatalf("a refused plan was recorded: %+v", st.Plan)
			}
		})
	}
}

// Each of the policy's bounds, exceeded, makes the plan pending and names
// itself among the reasons.
func TestEachPolicyBoundMakesAPlanPending(t *testing.T) {
	base := policy.PaymentPlans{MaxInstalments: 12, MaxLength: policy.D(365 * day), ReminderBefore: policy.D(3 * day), Grace: policy.D(3 * day)}
	for _, c := range []struct {
		bound string
		set   func(*policy.PaymentPlans)
	}{
		{"payment_plans.max_instalments", func(p *policy.PaymentPlans) { p.MaxInstalments = 2 }},
		{"payment_plans.max_length", func(p *policy.PaymentPlans) { p.MaxLength = policy.D(20 * day) }},
		{"payment_plans.min_instalment_minor", func(p *policy.PaymentPlans) { p.MinInstalmentMinor = 40000 }},
		{"payment_plans.require_approval", func(p *policy.PaymentPlans) { p.RequireApproval = true }},
	} {
		t.Run(c.bound, func(t *testing.T) {
			h := newHarness(t, t0, on(30), amount)
			pp := base
			c.set(&pp)
			h.in.Policy.PaymentPlans = &pp
			h.apply([]act{update(32, workflows.UpdateProposePlan, explicit(40.0, 35000, 50.0, 35000, 60.0, 30000)), pay(33, "tx", amount)})
			h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
			st := h.result()
			if st.Plan == nil || st.Plan.State != invoice.PlanCancelled || len(st.Plan.ApprovalReasons) != 1 ||
				!strings.HasPrefix(st.Plan.ApprovalReasons[0], c.bound+": ") {
				t.Fatalf("plan: %+v", st.Plan)
			}
		})
	}
}

// A refund after a completed plan reopens the invoice (a new run, as the
// client starts it) and chasing resumes from the stage the plan
// interrupted; the plan stays completed.
func TestARefundAfterACompletedPlanReopensTheInvoice(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.apply([]act{update(32, workflows.UpdateProposePlan, explicit(36.0, 50000, 40.0, 50000)), pay(35.5, "tx-1", 50000), pay(39.5, "tx-2", 50000)})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	if st := h.result(); st.Stage != invoice.StagePaid || st.Plan.State != invoice.PlanCompleted {
		t.Fatalf("before the refund: %s %+v", st.Stage, st.Plan)
	}
	v, err := h.env.QueryWorkflow(workflows.QueryReopen)
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.InvoiceInput
	if err := v.Get(&in); err != nil {
		t.Fatal(err)
	}
	// Refunded on day 41; the next step, overdue-15, is due on day 45.
	r := h.rerun(in, days(1.5))
	r.env.RegisterDelayedCallback(func() {
		r.env.SignalWorkflow(workflows.SignalRefund, workflows.RefundReceived{Reference: "re-1", AmountMinor: 20000, Currency: "EUR", ReceivedAt: on(41), Source: "stripe"})
	}, 0)
	r.mustPay(days(7), "tx-3", 20000, 0) // day 46.5
	r.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, in)
	st := r.result()
	if st.Stage != invoice.StagePaid || st.Plan.State != invoice.PlanCompleted {
		t.Fatalf("after the refund: %s %+v", st.Stage, st.Plan)
	}
	var reopened string
	for _, e := range st.Timeline {
		if e.Kind == invoice.EventReopened {
			reopened = e.Detail
		}
	}
	if reopened != "a refund reopened the balance; chasing resumes from inquired" {
		t.Fatalf("reopened: %q", reopened)
	}
	sameSet(t, "messages", h.sent(), plus(upTo(31), planMsg(1, "reminder", 33), planMsg(2, "reminder", 37), msg("overdue-15", "email", 45), msg("overdue-15", "sms", 45)))
}

// rerun is a new run of the invoice's workflow starting after (workflow
// time) the first run's end, as the client starts one to reopen it.
func (h *harness) rerun(in workflows.InvoiceInput, after time.Duration) *harness {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(h.env.Now().Add(after))
	acts := *h.acts
	acts.Clock = env.Now
	env.RegisterActivity(&acts)
	env.RegisterWorkflowWithOptions(workflows.Invoice, workflow.RegisterOptions{Name: workflows.InvoiceWorkflowName})
	return &harness{t: h.t, env: env, db: h.db, store: h.store, acts: &acts, in: in}
}

// A plan is state like any other: it is carried over a continue-as-new.
func TestAPlanSurvivesContinueAsNew(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.apply([]act{update(32, workflows.UpdateProposePlan, explicit(40.0, 50000, 50.0, 50000)), pay(34, "tx-1", 20000)})
	h.env.RegisterDelayedCallback(func() { h.env.SetCurrentHistoryLength(6000) }, days(33))
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next workflows.InvoiceInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	p := next.State.Plan
	if next.State.Stage != invoice.StageOnPlan || next.State.Resume != invoice.StageInquired || p == nil || p.State != invoice.PlanActive {
		t.Fatalf("state carried over: stage %s resume %s plan %+v", next.State.Stage, next.State.Resume, p)
	}
	equal(t, "instalments", instalmentStates(p), []string{"upcoming:20000/50000", "upcoming:0/50000"})
}

// A plan's reminder and its friendly message keep to the policy's send
// window in the customer's time zone; the missed date itself is recorded
// when it passes.
func TestAPlansMessagesKeepToTheSendWindow(t *testing.T) {
	h := newHarness(t, t0, on(30), amount)
	h.in.Policy.Calendar = policy.Calendar{WindowStart: "09:00", WindowEnd: "17:00"} // Berlin: 08:00 to 16:00 UTC
	midnight := func(d float64) float64 { return d - 9.0/24 }                        // t0 is 09:00 UTC
	h.apply([]act{update(32, workflows.UpdateProposePlan, explicit(midnight(40), 50000, midnight(50), 50000)),
		pay(41, "tx-1", 50000), pay(49, "tx-2", 50000)})
	h.env.ExecuteWorkflow(workflows.InvoiceWorkflowName, h.in)
	st := h.result()
	at8 := func(d float64) float64 { return d - 1.0/24 } // 08:00 UTC on day d
	sameSet(t, "messages", h.sent(), plus(upTo(31), planMsg(1, "reminder", at8(37)), planMsg(1, "missed", at8(40)), planMsg(2, "reminder", at8(47))))
	equal(t, "missed", h.kinds(st, invoice.EventInstalmentMissed), []string{fmt.Sprintf("instalment_missed@%s", days(midnight(40)))})
}
