package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
)

// The policy's steps, carried out one at a time. Everything the workflow
// does on a given day of an invoice's life is decided here, from the policy.

// occurrence is a scheduled step for this invoice, with the moment it is due
// after the customer's calendar is applied.
type occurrence struct {
	policy.Planned
	due time.Time
}

// walk calls visit with each occurrence not yet carried out, in order,
// scheduled against the current due date (so a changed due date re-anchors
// them), until visit returns false. It builds no list: each occurrence is
// computed from the one before (policy.Next), so a policy that asks for a
// hundred million repeats costs what its first few cost. The occurrences are
// those the schedule lists, at the same times, so runs that began when the
// schedule was built whole replay the same.
func (w *run) walk(visit func(occurrence) bool) {
	p, issued, due := w.in.Policy, w.in.IssuedAt, w.s.DueAt
	for o, ok := p.Next(issued, due, ""); ok; o, ok = p.Next(issued, due, o.Key) {
		if w.done(o.Key) {
			continue
		}
		if !visit(w.occurrence(o)) {
			return
		}
	}
}

// occurrence applies the contact cap's deferrals and the customer's
// calendar to a planned occurrence.
func (w *run) occurrence(p policy.Planned) occurrence {
	due := p.At
	for _, d := range w.s.NotBefore {
		if d.Key == p.Key && d.Until.After(due) {
			due = d.Until
		}
	}
	if p.Step.ActionOf() != policy.ActionAgency {
		due = w.in.Policy.Calendar.Next(due, w.loc, w.in.InvoiceID+"/"+p.Key)
	}
	return occurrence{Planned: p, due: due}
}

// supersedable steps may be skipped when a later one is already due: a
// customer never gets a burst of stale reminders. Escalation and the agency
// are never skipped.
func supersedable(s policy.Step) bool {
	a := s.ActionOf()
	return a == policy.ActionMessage || a == policy.ActionConfirmDelivery
}

// nextContact is the first occurrence after o that contacts the customer or
// ends the chase: only such a step, already due, makes an earlier one stale.
// A delivery check is about the notice before it and never supersedes it.
func (w *run) nextContact(o occurrence) *occurrence {
	var found *occurrence
	past := false
	w.walk(func(x occurrence) bool {
		if !past {
			past = x.Key == o.Key
			return true
		}
		switch x.Step.ActionOf() {
		case policy.ActionMessage, policy.ActionEscalate, policy.ActionAgency:
			found = &x
			return false
		}
		return true
	})
	return found
}

func firm(s policy.Step) bool {
	return s.Tone == policy.Firm || s.Tone == policy.Final || s.ActionOf() == policy.ActionEscalate || s.ActionOf() == policy.ActionAgency
}

// nextStep waits for the next scheduled step and carries it out.
func (w *run) nextStep(ctx workflow.Context) error {
	if w.bounded {
		if err := w.in.Policy.CheckBounds(); err != nil {
			return w.refusePolicy(ctx, err)
		}
	}
	var first *occurrence
	w.walk(func(o occurrence) bool { first = &o; return false })
	if first == nil {
		w.setNext(ctx, "", "wait for payment", time.Time{}, nil)
		return w.waitForChange(ctx)
	}
	if w.s.Firmer {
		// A broken promise: skip ahead to the next firm step, now.
		w.s.Firmer = false
		var target *occurrence
		w.walk(func(o occurrence) bool {
			if firm(o.Step) {
				target = &o
			}
			return target == nil
		})
		if target != nil {
			w.walk(func(skipped occurrence) bool {
				if skipped.Key == target.Key {
					return false
				}
				w.markDone(skipped.Key)
				w.event(ctx, invoice.Event{Kind: invoice.EventSuperseded, Step: skipped.Key, Detail: "promise broken: moving to " + target.Key})
				return true
			})
			return w.carryOut(ctx, *target)
		}
	}
	o := *first
	later := w.nextContact(o)
	w.setNext(ctx, o.Key, describe(o.Step), o.due, o.Step.Channels)
	reached, err := w.sleepUntil(ctx, o.due, "until step "+o.Key)
	if err != nil || !reached {
		return err
	}
	if later != nil && supersedable(o.Step) && !later.due.After(workflow.Now(ctx)) {
		w.markDone(o.Key)
		w.event(ctx, invoice.Event{Kind: invoice.EventSuperseded, Step: o.Key,
			Detail: "already overdue when step " + later.Key + " fell due"})
		return nil
	}
	return w.carryOut(ctx, o)
}

// policyRefusedKey marks, in State.Done, an invoice whose policy exceeds
// its bounds and has been reported.
const policyRefusedKey = "policy:refused"

// refusePolicy stops scheduling on a policy beyond its bounds (one stored
// before the bounds existed): the invoice gets a timeline entry, the team a
// task and the collections_policy_refused_total metric a count, once; then
// nothing is scheduled and the invoice waits for a person (or a payment,
// cancel, write-off). Building its schedule instead failed workflow tasks
// for ever.
func (w *run) refusePolicy(ctx workflow.Context, why error) error {
	if !w.done(policyRefusedKey) {
		w.markDone(policyRefusedKey)
		detail := fmt.Sprintf("policy %s v%d refused: %v", w.in.Policy.Name, w.in.Policy.Version, why)
		w.log.Error("policy exceeds its bounds", "Policy", w.in.Policy.Name, "Version", w.in.Policy.Version, "Error", why)
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"policy": w.in.Policy.Name}).
			Counter("collections_policy_refused").Inc(1)
		w.event(ctx, invoice.Event{Kind: invoice.EventPolicyRefused, Detail: detail})
		w.task(ctx, policyRefusedKey, "policy_refused",
			fmt.Sprintf("Invoice %s is not being chased: its policy %s v%d exceeds the engine's bounds", w.in.Number, w.in.Policy.Name, w.in.Policy.Version),
			detail+"\n\nMove the invoice to a policy within the bounds (docs/bounds.md), or chase it by hand.\n\n"+w.summary(),
			workflow.Now(ctx).Add(24*time.Hour), true)
		w.publish(ctx)
	}
	w.setNext(ctx, "", "nothing scheduled: the policy exceeds its bounds", time.Time{}, nil)
	return w.waitForChange(ctx)
}

// carryOut performs one step and records it done.
func (w *run) carryOut(ctx workflow.Context, o occurrence) error {
	w.hold()
	defer w.release()
	w.markDone(o.Key)
	switch o.Step.ActionOf() {
	case policy.ActionMessage:
		if r := w.send(ctx, o.Key, o.Step, o.due, nil, true); r.deferred != nil {
			w.defer_(ctx, o.Key, *r.deferred)
			return nil
		}
	case policy.ActionConfirmDelivery:
		if until := w.confirmDelivery(ctx, o); until != nil {
			w.defer_(ctx, o.Key, *until)
			return nil
		}
	case policy.ActionEscalate:
		w.escalate(ctx, o)
	case policy.ActionAgency:
		w.placeWithAgency(ctx, o.Key, "scheduled")
		return nil
	case policy.ActionTask:
		w.task(ctx, o.Key, o.Step.Task, fmt.Sprintf("%s: invoice %s (step %s)", o.Step.Task, w.in.Number, o.Key),
			w.summary(), workflow.Now(ctx).Add(24*time.Hour), false)
	}
	if o.Step.Stage != "" && !w.closed() {
		if w.s.Resume != "" {
			w.s.Resume = o.Step.Stage
		} else {
			w.s.Stage = o.Step.Stage
		}
	}
	w.publish(ctx)
	return nil
}

// sendResult sums up a step's sends.
type sendResult struct {
	sent     int
	deferred *time.Time // the contact cap held the step back until then
}

// send sends a step's template on each of its channels, in parallel, and
// records each outcome. A channel the provider refused for good falls back
// to the other channel. capped steps respect the policy's contact cap.
func (w *run) send(ctx workflow.Context, key string, s policy.Step, scheduled time.Time, deadline *time.Time, capped bool) sendResult {
	var limit activities.ContactCap
	if c := w.in.Policy.ContactCap; capped && c != nil {
		limit = activities.ContactCap{Max: c.Max, Per: c.Per.Std()}
	}
	futures := make([]workflow.Future, len(s.Channels))
	for i, ch := range s.Channels {
		futures[i] = workflow.ExecuteActivity(w.sendActivity(ctx, key), a.SendStepMessage, activities.SendInput{
			InvoiceID: w.in.InvoiceID, Step: key, Template: s.Template, Tone: s.Tone, Channel: ch,
			ScheduledAt: scheduled, Deadline: deadline, Cap: limit,
		})
	}
	var out sendResult
	var failed []policy.Channel
	for i, f := range futures {
		var res activities.SendResult
		ev := invoice.Event{Kind: invoice.EventMessage, Step: key, Channel: string(s.Channels[i])}
		if err := f.Get(ctx, &res); err != nil {
			w.log.Error("message not sent", "Step", key, "Channel", s.Channels[i], "Error", err)
			ev.Outcome, ev.Detail = invoice.MessageFailed, err.Error()
		} else {
			ev.Outcome, ev.Detail, ev.MessageID = res.Status, res.Detail, res.MessageID
			switch res.Status {
			case invoice.MessageSent:
				out.sent++
			case activities.StatusDeferred:
				if out.deferred == nil || res.RetryAt.After(*out.deferred) {
					out.deferred = res.RetryAt
				}
			case invoice.MessageFailed:
				failed = append(failed, s.Channels[i])
			}
		}
		w.event(ctx, ev)
	}
	for _, ch := range failed {
		out.sent += w.fallback(ctx, key, s, ch, scheduled, deadline)
	}
	return out
}

// fallback handles a channel that cannot reach the customer: the other
// channel is tried (unless the step used it already) and a person is asked
// to find current contact details (skip tracing).
func (w *run) fallback(ctx workflow.Context, key string, s policy.Step, failed policy.Channel, scheduled time.Time, deadline *time.Time) int {
	w.task(ctx, "locate-debtor:"+string(failed), "locate_debtor",
		fmt.Sprintf("Find current %s details for the customer of invoice %s", failed, w.in.Number),
		fmt.Sprintf("The %s for step %s could not be delivered.\n\n%s", failed, key, w.summary()), workflow.Now(ctx).Add(48*time.Hour), false)
	other := policy.Email
	if failed == policy.Email {
		other = policy.SMS
	}
	if slices.Contains(s.Channels, other) || s.Template == "" || strings.Contains(key, ":fallback") {
		return 0
	}
	fb := s
	fb.Channels = []policy.Channel{other}
	return w.send(ctx, key+":fallback", fb, scheduled, deadline, false).sent
}

// handleBounces takes in channels a provider reported undeliverable after
// the send: each gets the fallback once.
func (w *run) handleBounces(ctx workflow.Context) {
	bounces := w.s.Bounces
	w.s.Bounces = nil
	for _, b := range bounces {
		step, ok := w.stepByKey(b.Step)
		if !ok {
			continue
		}
		w.fallback(ctx, b.Step, step, policy.Channel(b.Channel), workflow.Now(ctx), nil)
	}
	w.publish(ctx)
}

func (w *run) stepByKey(key string) (policy.Step, bool) {
	id, _, _ := strings.Cut(key, "#")
	for _, s := range w.in.Policy.Steps {
		if s.ID == id {
			return s, true
		}
	}
	return policy.Step{}, false
}

// defer_ holds a step back until the contact cap allows it.
func (w *run) defer_(ctx workflow.Context, key string, until time.Time) {
	if min := workflow.Now(ctx).Add(time.Minute); until.Before(min) {
		until = min // always make progress, whatever the database said
	}
	w.s.Done = slices.DeleteFunc(w.s.Done, func(k string) bool { return k == key })
	w.s.NotBefore = append(w.s.NotBefore, Deferral{Key: key, Until: until})
	w.publish(ctx)
}

// confirmDelivery checks that the invoice reached the customer. Without a
// delivery, the step's template goes out as a follow-up on its channels; if
// none of them reaches the customer either, a person is asked to call.
func (w *run) confirmDelivery(ctx workflow.Context, o occurrence) *time.Time {
	var res activities.DeliveryResult
	var err error
	in := activities.DeliveryInput{InvoiceID: w.in.InvoiceID, Steps: w.deliveredOrSent()}
	if expect, ok := w.afterDelivery(ctx, o); ok {
		// Revision 1: the check saves the status a confirmed delivery leads
		// to, if it finds one (see afterDelivery).
		now := workflow.Now(ctx)
		var saved activities.DeliverySaved
		err = w.bookkeeping(ctx, "check delivery", a.CheckDeliveryWithStatus, activities.DeliveryWithStatus{
			Delivery: in, Status: expect,
		}).Get(ctx, &saved)
		res = saved.DeliveryResult
		if err == nil && saved.Saved {
			last := &expect.Timeline[len(expect.Timeline)-1] // filled in as the check did
			last.Channel, last.Detail = res.Channel, res.Detail
			w.markSaved(expect)
		}
		if err == nil && res.Delivered {
			w.pinned = &now
			w.event(ctx, invoice.Event{Kind: invoice.EventDeliveryConfirmed, Step: o.Key, Channel: res.Channel, Detail: res.Detail})
			w.pinned = nil
			return nil
		}
	} else {
		err = w.bookkeeping(ctx, "check delivery", a.CheckDelivery, in).Get(ctx, &res)
	}
	if err == nil && res.Delivered {
		w.event(ctx, invoice.Event{Kind: invoice.EventDeliveryConfirmed, Step: o.Key, Channel: res.Channel, Detail: res.Detail})
		return nil
	}
	if o.Step.Template != "" {
		r := w.send(ctx, o.Key, o.Step, o.due, nil, true)
		if r.deferred != nil {
			return r.deferred
		}
		if r.sent > 0 {
			return nil
		}
	}
	w.task(ctx, o.Key+":call", "call", "Call the customer: invoice "+w.in.Number+" may not have arrived",
		"No delivery was confirmed for the invoice and the follow-up did not go out.\n\n"+w.summary(), workflow.Now(ctx).Add(24*time.Hour), false)
	return nil
}

// afterDelivery is the status a run of revision 1 will publish once the
// delivery check o confirms the delivery and the chase moves on to its next
// step: worked out beforehand, so that the check saves it in the same local
// activity (one marker, one transaction, where a check and a save took
// two). It is only worked out on the plain course (no interrupt, no broken
// promise, no bounce, the policy within its bounds), where the next step is
// the schedule's next occurrence; ok is false otherwise. Should the
// workflow then publish anything else, the publisher sees that it differs
// from what was saved and saves it.
func (w *run) afterDelivery(ctx workflow.Context, o occurrence) (invoice.Status, bool) {
	if w.in.Revision < revisionOne || !w.local || w.s.Firmer || len(w.s.Bounces) > 0 || w.s.Agency || w.s.Dispute != nil ||
		w.s.Paused || w.s.Promise != nil || w.s.Plan.Active() || w.awaitingDecision() || w.s.ReplyHold != nil ||
		(w.bounded && w.in.Policy.CheckBounds() != nil) {
		return invoice.Status{}, false
	}
	now := workflow.Now(ctx)
	sim := &run{in: w.in, s: w.s, log: w.log, loc: w.loc, local: w.local, pinned: &now}
	sim.s.Timeline = slices.Clone(w.s.Timeline)
	sim.s.Done = slices.Clone(w.s.Done)
	// Its channel and detail are the check's to fill in (CheckDeliveryWithStatus).
	sim.event(ctx, invoice.Event{Kind: invoice.EventDeliveryConfirmed, Step: o.Key})
	if o.Step.Stage != "" {
		sim.s.Stage = o.Step.Stage
	}
	sim.walk(func(n occurrence) bool {
		sim.next = nextAction(n.Key, describe(n.Step), n.due, n.Step.Channels)
		return false
	})
	if sim.next == nil {
		sim.next = nextAction("", "wait for payment", time.Time{}, nil)
	}
	return sim.status(), true
}

// deliveredOrSent lists the steps whose messages count as the invoice: the
// notice, and any earlier delivery reported by a provider.
func (w *run) deliveredOrSent() []string {
	var steps []string
	for _, s := range w.in.Policy.Steps {
		if s.ActionOf() == policy.ActionMessage && s.Template == "invoice" {
			steps = append(steps, s.ID)
		}
	}
	return append(steps, w.s.Delivered...)
}

// escalate hands the account to management: a summary of everything tried
// goes to the account manager with a management-contact task, and the
// customer gets the final notice with its deadline.
func (w *run) escalate(ctx workflow.Context, o occurrence) {
	deadline := workflow.Now(ctx).Add(w.in.Policy.FinalNoticeDeadline.Std())
	w.send(ctx, o.Key, o.Step, o.due, &deadline, false)
	w.s.Escalation = &invoice.Escalation{At: workflow.Now(ctx), Deadline: deadline}
	w.event(ctx, invoice.Event{Kind: invoice.EventEscalated, Step: o.Key, Until: &deadline,
		Detail: fmt.Sprintf("final notice sent; without a decision by the deadline: %s", w.in.Policy.EscalationDefault)})
	w.task(ctx, o.Key+":management", "management_contact",
		fmt.Sprintf("Contact the customer about invoice %s and decide: extend, agency or write off", w.in.Number),
		w.summary(), deadline, true)
}

func (w *run) awaitingDecision() bool {
	return w.s.Escalation != nil && w.s.Escalation.Decision == ""
}

// waitForDecision waits for management's decision until the final notice's
// deadline; silence means the policy's default.
func (w *run) waitForDecision(ctx workflow.Context) error {
	e := w.s.Escalation
	w.setNext(ctx, "escalation-deadline", fmt.Sprintf("without a decision: %s", w.in.Policy.EscalationDefault), e.Deadline, nil)
	reached, err := w.sleepUntil(ctx, e.Deadline, "until the final notice's deadline")
	if err != nil || !reached {
		return err
	}
	w.decide(ctx, w.in.Policy.EscalationDefault, "policy default: no decision by the deadline", "")
	return nil
}

// decide applies management's (or the default's) decision on an escalation.
func (w *run) decide(ctx workflow.Context, d policy.Decision, note, actor string) {
	w.s.Escalation.Decision, w.s.Escalation.Actor = string(d), actor
	w.event(ctx, invoice.Event{Kind: invoice.EventDecision, Outcome: string(d), Detail: note, Actor: actor})
	switch d {
	case policy.DecisionAgency:
		w.placeWithAgency(ctx, "agency", "escalation: "+note)
	case policy.DecisionWriteOff:
		w.event(ctx, invoice.Event{Kind: invoice.EventWrittenOff, Detail: note, Actor: actor, BalanceMinor: w.balance()})
		w.close(ctx, invoice.StageWrittenOff)
		w.publish(ctx)
	}
}

// placeWithAgency sends the case file to the collection agency; internal
// chasing stops and the workflow waits for the agency's outcome.
func (w *run) placeWithAgency(ctx workflow.Context, key, why string) {
	// Nothing scheduled happens any more. A policy beyond its bounds (only
	// runs from before they existed get here with one) is marked as far as
	// the bound: chasing has stopped either way.
	pol, issued, due := w.in.Policy, w.in.IssuedAt, w.s.DueAt
	n := 0
	for p, ok := pol.Next(issued, due, ""); ok && n <= policy.MaxOccurrences; p, ok = pol.Next(issued, due, p.Key) {
		w.markDone(p.Key)
		n++
	}
	var res activities.AgencyResult
	err := workflow.ExecuteActivity(w.sendActivity(ctx, "place with agency"), a.PlaceWithAgency, activities.AgencyInput{
		InvoiceID: w.in.InvoiceID, Key: key, CaseSummary: w.summary(),
	}).Get(ctx, &res)
	ev := invoice.Event{Kind: invoice.EventAgencyPlaced, Step: key, Detail: why, BalanceMinor: w.balance()}
	if err != nil {
		ev.Outcome, ev.Detail = invoice.MessageFailed, err.Error()
	} else {
		ev.Outcome, ev.MessageID = res.Status, res.MessageID
	}
	w.event(ctx, ev)
	w.cancelOpenPlan(ctx, "placed with the collection agency")
	w.s.Agency = true
	w.s.Stage = invoice.StageAgency
	w.s.Resume = ""
	w.s.Promise, w.s.Paused, w.s.PausedUntil = nil, false, nil
	w.publish(ctx)
}

func (w *run) waitForAgency(ctx workflow.Context) error {
	w.setNext(ctx, "", "wait for the agency's outcome", time.Time{}, nil)
	return w.waitForChange(ctx)
}

// waitOnDispute pauses chasing while a dispute is open; past its deadline the
// account manager is asked to resolve it.
func (w *run) waitOnDispute(ctx workflow.Context) error {
	d := w.s.Dispute
	if d.Overdue {
		w.setNext(ctx, "", "wait for the dispute's resolution", time.Time{}, nil)
		return w.waitForChange(ctx)
	}
	w.setNext(ctx, "dispute-deadline", "ask the account manager to resolve the dispute", d.Deadline, nil)
	reached, err := w.sleepUntil(ctx, d.Deadline, "until the dispute's deadline")
	if err != nil || !reached {
		return err
	}
	d.Overdue = true
	w.event(ctx, invoice.Event{Kind: invoice.EventDisputeOverdue, Detail: d.Reason})
	w.task(ctx, fmt.Sprintf("dispute-%d:overdue", w.s.Counter), "dispute_overdue",
		fmt.Sprintf("Dispute on invoice %s is past its deadline: resolve it", w.in.Number), w.summary(), workflow.Now(ctx).Add(48*time.Hour), true)
	w.publish(ctx)
	return nil
}

// waitWhilePaused holds everything until the pause ends.
func (w *run) waitWhilePaused(ctx workflow.Context) error {
	if w.s.PausedUntil == nil {
		w.setNext(ctx, "", "paused until resumed", time.Time{}, nil)
		return w.waitForChange(ctx)
	}
	until := *w.s.PausedUntil
	w.setNext(ctx, "resume", "resume chasing", until, nil)
	reached, err := w.sleepUntil(ctx, until, "paused until")
	if err != nil || !reached {
		return err
	}
	w.s.Paused, w.s.PausedUntil = false, nil
	w.event(ctx, invoice.Event{Kind: invoice.EventResumed, Detail: "pause ended"})
	w.resumeStage()
	w.publish(ctx)
	return nil
}

// waitOnPromise holds chasing until the promised date plus grace, with a
// reminder the day before. Kept (the balance fell to the target), the
// schedule resumes; broken, it resumes at the next firm step.
func (w *run) waitOnPromise(ctx workflow.Context) error {
	p := w.s.Promise
	if !p.Reminded {
		at := p.Date.Add(-24 * time.Hour)
		w.setNext(ctx, "promise-reminder", "remind the customer of their promise", at, []policy.Channel{policy.Email})
		reached, err := w.sleepUntil(ctx, at, "until the day before the promised date")
		if err != nil || !reached {
			return err
		}
		p.Reminded = true
		step := policy.Step{ID: "promise-reminder", Channels: []policy.Channel{policy.Email}, Template: "promise_reminder", Tone: policy.Friendly}
		date := p.Date
		w.send(ctx, fmt.Sprintf("promise-%d:reminder", w.s.Counter), step, at, &date, false)
		w.publish(ctx)
		return nil
	}
	end := p.Date.Add(w.in.Policy.PromiseGrace.Std())
	w.setNext(ctx, "promise-check", "check the promise was kept", end, nil)
	reached, err := w.sleepUntil(ctx, end, "until the promised date plus grace")
	if err != nil || !reached {
		return err
	}
	w.event(ctx, invoice.Event{Kind: invoice.EventPromiseBroken, AmountMinor: p.AmountMinor, Until: &p.Date, BalanceMinor: w.balance()})
	w.s.Promise = nil
	w.s.Firmer = true
	w.resumeStage()
	w.publish(ctx)
	return nil
}

// task asks a person to do something; notify also emails the account manager.
func (w *run) task(ctx workflow.Context, key, kind, title, detail string, due time.Time, notify bool) {
	var res activities.TaskResult
	// A scheduled activity, never a local one: tasks are created from
	// update handlers too (see publish), and emailing the manager goes
	// through a provider.
	err := workflow.ExecuteActivity(w.shortActivity(ctx, "create task "+kind), a.CreateTask, activities.TaskInput{
		InvoiceID: w.in.InvoiceID, Key: key, Kind: kind, Title: title, Detail: detail, DueAt: due, NotifyManager: notify,
	}).Get(ctx, &res)
	ev := invoice.Event{Kind: invoice.EventTask, Step: key, Outcome: kind, Detail: title, Until: &due}
	if err != nil {
		ev.Detail = "task not created: " + err.Error()
	} else {
		ev.Reference, ev.Actor = res.TaskID, res.Assignee
	}
	w.event(ctx, ev)
}

// summary is everything tried so far, for the account manager and the agency.
func (w *run) summary() string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("Invoice %s, customer %s: %s of %s outstanding, due %s (policy %s v%d).\n",
		w.in.Number, w.in.CustomerID, money.Display(w.s.BalanceMinor, w.in.Currency), money.Display(w.s.AmountMinor, w.in.Currency),
		w.s.DueAt.In(w.loc).Format("2006-01-02"), w.in.Policy.Name, w.in.Policy.Version))
	for _, e := range w.s.Timeline {
		line := e.At.In(w.loc).Format("2006-01-02 15:04") + " " + e.Kind
		for _, part := range []string{e.Step, e.Channel, e.Outcome, e.Detail} {
			if part != "" {
				line += " · " + part
			}
		}
		if e.AmountMinor != 0 {
			line += " · " + money.Display(e.AmountMinor, w.in.Currency)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func describe(s policy.Step) string {
	switch s.ActionOf() {
	case policy.ActionConfirmDelivery:
		return "confirm the invoice was delivered"
	case policy.ActionEscalate:
		return "escalate to management with a final notice"
	case policy.ActionAgency:
		return "place with the collection agency"
	case policy.ActionTask:
		return "ask the account manager to " + s.Task
	}
	return fmt.Sprintf("send %s (%s)", s.ID, s.Template)
}

// Activity options. Sends retry with backoff for a day; bookkeeping retries
// quickly; both are idempotent.
func (w *run) sendActivity(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		Summary:                summary,
	})
}

func (w *run) shortActivity(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, shortActivityOptions(summary))
}

func shortActivityOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
		Summary:             summary,
	}
}
