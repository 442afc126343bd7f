package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
)

// Payment plans (issue 17): an open balance agreed to be paid in
// instalments. Within the policy's payment_plans bounds a plan is agreed at
// once; outside them, or when the policy asks for approval, it waits for
// the account manager (a task, then the decide-payment-plan update) while
// the schedule runs on. An active plan suspends the schedule: each
// instalment gets a reminder before its date and a friendly message when
// the date passes unpaid; an instalment still unpaid when its grace ends
// breaks the plan, and chasing resumes at the policy's next firm step, as
// after a broken promise. Payments are allocated to the instalments in date
// order (paying ahead fills the next ones); the last one paid closes the
// invoice as paid.

// changePaymentPlans is the workflow.GetVersion change id of the payment
// plans. The marker is recorded when a plan is first proposed on a run, so
// that invoices already running can take a plan; histories recorded
// before it never hold a plan update, and replay as they ran.
const changePaymentPlans = "payment-plans"

// Payment-plan decisions.
const (
	PlanApprove = "approve"
	PlanDecline = "decline"
)

// PlanInstalment is one date and amount of a proposed plan.
type PlanInstalment struct {
	DueAt       time.Time
	AmountMinor int64
}

// ProposePlanRequest proposes a payment plan: either Instalments, or Count
// instalments Every period from FirstDueAt splitting the balance evenly
// (the last carries the remainder).
type ProposePlanRequest struct {
	Instalments []PlanInstalment
	Count       int
	Every       policy.Period
	FirstDueAt  time.Time
	Note        string
	Actor       string
}

// DecidePlanRequest is the account manager's decision on a pending plan.
type DecidePlanRequest struct {
	Decision string // PlanApprove or PlanDecline
	Note     string
	Actor    string
}

// CancelPlanRequest cancels the pending or active plan; chasing resumes
// where the plan interrupted it.
type CancelPlanRequest struct {
	Reason string
	Actor  string
}

// PlanResponse answers the payment-plan updates.
type PlanResponse struct {
	Plan         invoice.Plan
	Stage        invoice.Stage
	BalanceMinor int64
}

// expand turns a request into instalments for a balance, checking what
// needs no clock: the form, the count, the amounts and their sum. Errors
// name the request's field as the API spells it.
func (req ProposePlanRequest) expand(balance int64, currency string) ([]invoice.Instalment, error) {
	generated := req.Count != 0 || req.Every != (policy.Period{}) || !req.FirstDueAt.IsZero()
	var out []invoice.Instalment
	switch {
	case len(req.Instalments) > 0 && generated:
		return nil, invalid("instalments", "give either instalments or count, every and first_due_at, not both")
	case len(req.Instalments) > 0:
		if n := len(req.Instalments); n < 2 || n > policy.MaxPlanInstalments {
			return nil, invalid("instalments", fmt.Sprintf("a plan has from 2 to %d instalments, not %d (for a single date, record a promise to pay)", policy.MaxPlanInstalments, n))
		}
		var sum int64
		for i, in := range req.Instalments {
			switch {
			case in.DueAt.IsZero():
				return nil, invalid(fmt.Sprintf("instalments[%d].due_at", i), "is required")
			case in.AmountMinor <= 0:
				return nil, invalid(fmt.Sprintf("instalments[%d].amount", i), "must be greater than zero")
			case in.AmountMinor > balance:
				return nil, invalid(fmt.Sprintf("instalments[%d].amount", i), fmt.Sprintf("exceeds the balance of %s", money.FormatAmount(balance, currency)))
			}
			sum += in.AmountMinor
			out = append(out, invoice.Instalment{DueAt: in.DueAt.UTC(), AmountMinor: in.AmountMinor, State: invoice.InstalmentUpcoming})
		}
		if sum != balance {
			return nil, invalid("instalments", fmt.Sprintf("the amounts add up to %s; a plan covers the whole balance of %s",
				money.FormatAmount(sum, currency), money.FormatAmount(balance, currency)))
		}
	default:
		switch {
		case req.Count == 0 && req.FirstDueAt.IsZero():
			return nil, invalid("instalments", "are required: give instalments, or count, every and first_due_at")
		case req.Count < 2 || req.Count > policy.MaxPlanInstalments:
			return nil, invalid("count", fmt.Sprintf("must be from 2 to %d", policy.MaxPlanInstalments))
		case req.Every == (policy.Period{}):
			return nil, invalid("every", "is required: such as \"1 month\", \"2 weeks\" or \"14d\"")
		case req.FirstDueAt.IsZero():
			return nil, invalid("first_due_at", "is required")
		}
		each := balance / int64(req.Count)
		if each == 0 {
			return nil, invalid("count", fmt.Sprintf("the balance of %s cannot be split into %d instalments", money.FormatAmount(balance, currency), req.Count))
		}
		for i := range req.Count {
			amount := each
			if i == req.Count-1 {
				amount = balance - each*int64(req.Count-1)
			}
			out = append(out, invoice.Instalment{DueAt: req.Every.Nth(req.FirstDueAt.UTC(), i), AmountMinor: amount, State: invoice.InstalmentUpcoming})
		}
	}
	return out, nil
}

// checkPlanDates refuses a first date not in the future, dates out of
// order and dates too far from today.
func (req ProposePlanRequest) checkDates(ins []invoice.Instalment, now time.Time) error {
	field := func(i int) string {
		if len(req.Instalments) > 0 {
			return fmt.Sprintf("instalments[%d].due_at", i)
		}
		if i == 0 {
			return "first_due_at"
		}
		return "every"
	}
	for i, in := range ins {
		if i == 0 && !in.DueAt.After(now) {
			return invalid(field(0), "must be in the future")
		}
		if i > 0 && !in.DueAt.After(ins[i-1].DueAt) {
			return invalid(field(i), "must fall after the instalment before it")
		}
		if err := checkDate(field(i), in.DueAt, now); err != nil {
			return err
		}
	}
	return nil
}

// approvalReasons lists the policy's bounds a plan exceeds, each naming
// its field: a plan with any needs a manager's approval.
func approvalReasons(pp policy.PaymentPlans, ins []invoice.Instalment, now time.Time, currency string) []string {
	var out []string
	if pp.RequireApproval {
		out = append(out, "payment_plans.require_approval: the policy has every plan approved")
	}
	if len(ins) > pp.MaxInstalments {
		out = append(out, fmt.Sprintf("payment_plans.max_instalments: %d instalments; the policy agrees at most %d without approval", len(ins), pp.MaxInstalments))
	}
	if last := ins[len(ins)-1].DueAt; last.Sub(now) > pp.MaxLength.Std() {
		out = append(out, fmt.Sprintf("payment_plans.max_length: the last instalment falls %s from today; the policy agrees at most %s without approval",
			policy.D(last.Sub(now).Round(time.Second)), pp.MaxLength))
	}
	for i, in := range ins {
		if in.AmountMinor < int64(pp.MinInstalmentMinor) {
			out = append(out, fmt.Sprintf("payment_plans.min_instalment_minor: instalment %d is %s; the policy agrees none below %s without approval",
				i+1, money.Display(in.AmountMinor, currency), money.Display(int64(pp.MinInstalmentMinor), currency)))
			break
		}
	}
	return out
}

func (w *run) planAnswer() PlanResponse {
	var p invoice.Plan
	if w.s.Plan != nil {
		p = *w.s.Plan
	}
	return PlanResponse{Plan: p, Stage: w.s.Stage, BalanceMinor: w.s.BalanceMinor}
}

func (w *run) validateProposePlan(ctx workflow.Context, req ProposePlanRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	switch {
	case w.s.Agency:
		return conflict("the account is with the collection agency")
	case w.s.Dispute != nil:
		return conflict("resolve the open dispute before agreeing a payment plan")
	case w.s.Plan.Open():
		return conflict(fmt.Sprintf("a payment plan is already %s on this invoice; cancel it first", w.s.Plan.State))
	}
	ins, err := req.expand(w.s.BalanceMinor, w.in.Currency)
	if err != nil {
		return err
	}
	return req.checkDates(ins, workflow.Now(ctx))
}

func (w *run) proposePlan(ctx workflow.Context, req ProposePlanRequest) (PlanResponse, error) {
	if !w.since(ctx, revisionOne, changePaymentPlans) {
		return PlanResponse{}, conflict("this invoice's workflow predates payment plans")
	}
	ins, err := req.expand(w.s.BalanceMinor, w.in.Currency)
	if err != nil {
		return PlanResponse{}, err
	}
	now := workflow.Now(ctx)
	number := 1
	if w.s.Plan != nil {
		number = w.s.Plan.Number + 1
	}
	p := &invoice.Plan{Number: number, State: invoice.PlanPending, Instalments: ins, TotalMinor: w.s.BalanceMinor,
		ProposedAt: now, ProposedBy: req.Actor,
		ApprovalReasons: approvalReasons(w.in.Policy.Plans(), ins, now, w.in.Currency)}
	w.s.Plan = p
	if len(p.ApprovalReasons) == 0 {
		w.activatePlan(ctx, invoice.EventPlanAgreed, req.Actor, req.Note)
	} else {
		w.event(ctx, invoice.Event{Kind: invoice.EventPlanProposed, Outcome: "pending approval", AmountMinor: p.TotalMinor,
			Detail: w.planWords() + "; needs approval: " + strings.Join(p.ApprovalReasons, "; "), Actor: req.Actor})
		w.task(ctx, w.planKey("approval"), "plan_approval",
			fmt.Sprintf("Approve or decline the payment plan proposed for invoice %s", w.in.Number),
			fmt.Sprintf("%s.\nIt needs approval: %s\n%s\n%s", w.planWords(), strings.Join(p.ApprovalReasons, "; "), req.Note, w.summary()),
			now.Add(24*time.Hour), true)
	}
	w.changed()
	w.publish(ctx)
	return w.planAnswer(), nil
}

// planKey names a plan's messages and tasks: "plan-1:approval".
func (w *run) planKey(what string) string { return fmt.Sprintf("plan-%d:%s", w.s.Plan.Number, what) }

// planWords describes the plan for the timeline and the manager.
func (w *run) planWords() string {
	p := w.s.Plan
	first, last := p.Instalments[0], p.Instalments[len(p.Instalments)-1]
	return fmt.Sprintf("%s in %d instalments from %s to %s", money.Display(p.TotalMinor, w.in.Currency), len(p.Instalments),
		first.DueAt.In(w.loc).Format("2006-01-02"), last.DueAt.In(w.loc).Format("2006-01-02"))
}

// activatePlan makes the plan the invoice's course: the schedule is
// suspended (stage on_plan) and a promise it replaces ends.
func (w *run) activatePlan(ctx workflow.Context, kind, actor, note string) {
	p := w.s.Plan
	now := workflow.Now(ctx)
	p.State, p.AgreedAt = invoice.PlanActive, &now
	before := w.in.Policy.Plans().ReminderBefore.Std()
	for i := range p.Instalments {
		// An instalment already inside its reminder window is not reminded:
		// the customer agreed to it just now.
		p.Instalments[i].Reminded = !p.Instalments[i].DueAt.Add(-before).After(now)
	}
	w.s.Promise = nil
	w.pauseStage(invoice.StageOnPlan)
	last := p.Instalments[len(p.Instalments)-1].DueAt
	detail := w.planWords()
	if note != "" {
		detail += "; " + note
	}
	w.event(ctx, invoice.Event{Kind: kind, AmountMinor: p.TotalMinor, Until: &last, Detail: detail, Actor: actor})
	w.allocate(ctx) // what was paid since it was proposed counts
}

// allocate spreads what has been paid towards the plan (its total less the
// balance) over its instalments in date order, recording each newly paid
// one; a refund can take an instalment back to unpaid. The last one paid
// completes the plan.
func (w *run) allocate(ctx workflow.Context) {
	p := w.s.Plan
	paid := min(max(p.TotalMinor-w.s.BalanceMinor, 0), p.TotalMinor)
	now := workflow.Now(ctx)
	earliest := p.Next() // the one due next before this payment
	for i := range p.Instalments {
		in := &p.Instalments[i]
		in.PaidMinor = min(paid, in.AmountMinor)
		paid -= in.PaidMinor
		switch {
		case in.PaidMinor == in.AmountMinor && in.State != invoice.InstalmentPaid:
			outcome := "on time"
			if now.After(in.DueAt) {
				outcome = "late"
			} else if i > earliest {
				outcome = "ahead"
			}
			in.State, in.PaidAt = invoice.InstalmentPaid, &now
			due := in.DueAt
			w.event(ctx, invoice.Event{Kind: invoice.EventInstalmentPaid, Step: w.planKey(fmt.Sprintf("instalment-%d", i+1)),
				Outcome: outcome, AmountMinor: in.AmountMinor, Until: &due, BalanceMinor: w.balance(),
				Detail: fmt.Sprintf("instalment %d of %d", i+1, len(p.Instalments))})
		case in.PaidMinor < in.AmountMinor && in.State == invoice.InstalmentPaid:
			in.State, in.PaidAt = invoice.InstalmentUpcoming, nil
			if !now.Before(in.DueAt) {
				in.State = invoice.InstalmentMissed
			}
		}
	}
	if p.Next() < 0 {
		w.event(ctx, invoice.Event{Kind: invoice.EventPlanCompleted, AmountMinor: p.TotalMinor, BalanceMinor: w.balance(),
			Detail: fmt.Sprintf("all %d instalments paid", len(p.Instalments))})
		w.endPlan(ctx, invoice.PlanCompleted, "")
	}
}

// endPlan ends the plan; its unpaid instalments are void and the stage it
// interrupted returns (unless another interrupt holds).
func (w *run) endPlan(ctx workflow.Context, state, reason string) {
	p := w.s.Plan
	now := workflow.Now(ctx)
	p.State, p.EndedAt, p.EndReason = state, &now, reason
	for i := range p.Instalments {
		if p.Instalments[i].State != invoice.InstalmentPaid && state != invoice.PlanBroken {
			p.Instalments[i].State = invoice.InstalmentVoid
		}
	}
	if state == invoice.PlanBroken {
		for i := range p.Instalments {
			if p.Instalments[i].State == invoice.InstalmentUpcoming {
				p.Instalments[i].State = invoice.InstalmentVoid
			}
		}
	}
	w.resumeStage()
}

// cancelOpenPlan ends a pending or active plan that something else made
// moot (a dispute, the agency, the invoice closing), on the record.
func (w *run) cancelOpenPlan(ctx workflow.Context, why string) {
	if !w.s.Plan.Open() {
		return
	}
	w.event(ctx, invoice.Event{Kind: invoice.EventPlanCancelled, Step: w.planKey("cancelled"), Detail: why})
	w.endPlan(ctx, invoice.PlanCancelled, why)
}

func (w *run) validateDecidePlan(ctx workflow.Context, req DecidePlanRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	if w.s.Plan == nil || w.s.Plan.State != invoice.PlanPending {
		return conflict("no payment plan is waiting for approval on this invoice")
	}
	switch req.Decision {
	case PlanDecline:
	case PlanApprove:
		switch {
		case w.s.Agency:
			return conflict("the account is with the collection agency")
		case w.s.Dispute != nil:
			return conflict("resolve the open dispute before approving a payment plan")
		case !w.s.Plan.Instalments[0].DueAt.After(workflow.Now(ctx)):
			return conflict("the plan's first instalment date has passed: decline it and propose a new one")
		}
	default:
		return invalid("decision", "must be approve or decline")
	}
	return nil
}

func (w *run) decidePlan(ctx workflow.Context, req DecidePlanRequest) (PlanResponse, error) {
	p := w.s.Plan
	p.DecidedBy = req.Actor
	if req.Decision == PlanApprove {
		w.activatePlan(ctx, invoice.EventPlanApproved, req.Actor, req.Note)
	} else {
		w.event(ctx, invoice.Event{Kind: invoice.EventPlanDeclined, Detail: req.Note, Actor: req.Actor, AmountMinor: p.TotalMinor})
		w.endPlan(ctx, invoice.PlanDeclined, req.Note)
	}
	w.changed()
	w.publish(ctx)
	return w.planAnswer(), nil
}

func (w *run) validateCancelPlan(ctx workflow.Context, req CancelPlanRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	if !w.s.Plan.Open() {
		return conflict("no payment plan is pending or active on this invoice")
	}
	if strings.TrimSpace(req.Reason) == "" {
		return invalid("reason", "is required: say why, for the record")
	}
	return nil
}

func (w *run) cancelPlan(ctx workflow.Context, req CancelPlanRequest) (PlanResponse, error) {
	w.event(ctx, invoice.Event{Kind: invoice.EventPlanCancelled, Step: w.planKey("cancelled"), Detail: req.Reason, Actor: req.Actor})
	w.endPlan(ctx, invoice.PlanCancelled, req.Reason)
	w.changed()
	w.publish(ctx)
	return w.planAnswer(), nil
}

// waitOnPlan carries out the active plan's next instalment: its reminder,
// then its date (missed: a friendly message), then the end of its grace
// (still unpaid: the plan breaks). A payment re-plans (allocate).
func (w *run) waitOnPlan(ctx workflow.Context) error {
	p := w.s.Plan
	i := p.Next()
	if i < 0 {
		w.allocate(ctx) // completes it
		w.publish(ctx)
		return nil
	}
	pp := w.in.Policy.Plans()
	in := &p.Instalments[i]
	key := w.planKey(fmt.Sprintf("instalment-%d", i+1))
	owed := money.Display(in.AmountMinor-in.PaidMinor, w.in.Currency)
	of := fmt.Sprintf("instalment %d of %d (%s)", i+1, len(p.Instalments), owed)
	now := workflow.Now(ctx)
	due, end := in.DueAt, in.DueAt.Add(pp.Grace.Std())
	switch {
	case !in.Reminded && now.Before(due):
		at := w.in.Policy.Calendar.Next(due.Add(-pp.ReminderBefore.Std()), w.loc, w.in.InvoiceID+"/"+key)
		if at.After(due) {
			at = due
		}
		w.setNext(ctx, key+":reminder", "remind the customer of "+of, at, []policy.Channel{policy.Email})
		reached, err := w.sleepUntil(ctx, at, "until the reminder of "+of)
		if err != nil || !reached {
			return err
		}
		w.hold()
		defer w.release()
		in.Reminded = true
		w.planSend(ctx, key+":reminder", "instalment_reminder", policy.Friendly, i, nil)
	case now.Before(due):
		w.setNext(ctx, key, of+" falls due", due, nil)
		reached, err := w.sleepUntil(ctx, due, "until "+of+" falls due")
		if err != nil || !reached {
			return err
		}
		w.missInstalment(ctx, i, end)
	case !in.Nudged && now.Before(end):
		// The friendly message goes out in the send window; if the window
		// opens only after the grace, at once.
		at := w.in.Policy.Calendar.Next(due, w.loc, w.in.InvoiceID+"/"+key+":missed")
		if !at.Before(end) {
			at = now
		}
		w.setNext(ctx, key+":missed", "a friendly message: "+of+" was missed", at, []policy.Channel{policy.Email})
		reached, err := w.sleepUntil(ctx, at, "until the message that "+of+" was missed")
		if err != nil || !reached {
			return err
		}
		w.hold()
		defer w.release()
		in.Nudged = true
		w.planSend(ctx, w.planKey(fmt.Sprintf("instalment-%d:missed", i+1)), "instalment_missed", policy.Friendly, i, &end)
	default:
		w.setNext(ctx, key+":grace", "break the plan unless "+of+" is paid", end, nil)
		reached, err := w.sleepUntil(ctx, end, "until the grace of "+of+" ends")
		if err != nil || !reached {
			return err
		}
		w.hold()
		defer w.release()
		w.breakPlan(ctx, i, end)
	}
	w.publish(ctx)
	return nil
}

// missInstalment records an instalment's date passing unpaid; the
// friendly message giving the end of its grace follows (waitOnPlan).
func (w *run) missInstalment(ctx workflow.Context, i int, end time.Time) {
	p := w.s.Plan
	in := &p.Instalments[i]
	in.State = invoice.InstalmentMissed
	due := in.DueAt
	w.event(ctx, invoice.Event{Kind: invoice.EventInstalmentMissed, Step: w.planKey(fmt.Sprintf("instalment-%d", i+1)),
		AmountMinor: in.AmountMinor - in.PaidMinor, Until: &due, BalanceMinor: w.balance(),
		Detail: fmt.Sprintf("instalment %d of %d; grace until %s", i+1, len(p.Instalments), end.In(w.loc).Format("2006-01-02 15:04 MST"))})
}

// breakPlan ends the plan on an instalment unpaid past its grace: the
// customer is told, the account manager gets a task, and chasing resumes
// at the policy's next firm step.
func (w *run) breakPlan(ctx workflow.Context, i int, end time.Time) {
	p := w.s.Plan
	in := p.Instalments[i]
	due := in.DueAt
	w.event(ctx, invoice.Event{Kind: invoice.EventPlanBroken, Step: w.planKey(fmt.Sprintf("instalment-%d", i+1)),
		AmountMinor: in.AmountMinor - in.PaidMinor, Until: &due, BalanceMinor: w.balance(),
		Detail: fmt.Sprintf("instalment %d of %d unpaid past its grace", i+1, len(p.Instalments))})
	w.planSend(ctx, w.planKey("broken"), "plan_broken", policy.Neutral, i, &end)
	w.task(ctx, w.planKey("broken"), "plan_broken",
		fmt.Sprintf("Payment plan broken on invoice %s: instalment %d of %d unpaid", w.in.Number, i+1, len(p.Instalments)),
		"Chasing has resumed at the policy's next firm step.\n\n"+w.summary(), workflow.Now(ctx).Add(24*time.Hour), true)
	w.endPlan(ctx, invoice.PlanBroken, fmt.Sprintf("instalment %d unpaid past its grace", i+1))
	w.s.Firmer = true
}

// planSend sends one of the plan's messages about instalment i by email.
func (w *run) planSend(ctx workflow.Context, key, template string, tone policy.Tone, i int, deadline *time.Time) {
	p := w.s.Plan
	in := p.Instalments[i]
	var res activities.SendResult
	err := workflow.ExecuteActivity(w.sendActivity(ctx, key), a.SendStepMessage, activities.SendInput{
		InvoiceID: w.in.InvoiceID, Step: key, Template: template, Tone: tone, Channel: policy.Email,
		ScheduledAt: workflow.Now(ctx), Deadline: deadline,
		Instalment: &activities.Instalment{AmountMinor: in.AmountMinor - in.PaidMinor, DueAt: in.DueAt, RemainingMinor: p.Remaining(i)},
	}).Get(ctx, &res)
	ev := invoice.Event{Kind: invoice.EventMessage, Step: key, Channel: string(policy.Email)}
	if err != nil {
		w.log.Error("message not sent", "Step", key, "Error", err)
		ev.Outcome, ev.Detail = invoice.MessageFailed, err.Error()
	} else {
		ev.Outcome, ev.Detail, ev.MessageID = res.Status, res.Detail, res.MessageID
	}
	w.event(ctx, ev)
}

// planDetails is the plan's line in the Web UI's current details.
func (w *run) planDetails() string {
	p := w.s.Plan
	switch {
	case p == nil:
		return ""
	case p.State == invoice.PlanPending:
		return "  \n**Plan:** pending approval"
	case p.State != invoice.PlanActive:
		return ""
	}
	i := p.Next()
	if i < 0 {
		return ""
	}
	in := p.Instalments[i]
	return fmt.Sprintf("  \n**Plan:** instalment %d of %d, %s due %s", i+1, len(p.Instalments),
		money.Display(in.AmountMinor-in.PaidMinor, w.in.Currency), in.DueAt.In(w.loc).Format("2006-01-02"))
}
