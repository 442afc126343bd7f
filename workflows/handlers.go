package workflows

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
)

// Interrupts: updates (commands with an answer) and signals (facts). Each
// update's validator rejects what cannot apply before anything is recorded;
// each handler changes the state and bumps gen so the main loop re-plans.

func (w *run) registerUpdates(ctx workflow.Context) error {
	type reg struct {
		name      string
		handler   any
		validator any
	}
	regs := []reg{
		{UpdatePayment, w.recordPayment, w.validatePayment},
		{UpdateOpenDispute, w.openDispute, w.validateOpenDispute},
		{UpdateResolveDispute, w.resolveDispute, w.validateResolveDispute},
		{UpdatePromise, w.promise, w.validatePromise},
		{UpdatePause, w.pause, w.validatePause},
		{UpdateResume, w.resume, w.validateResume},
		{UpdateCancel, w.cancel, w.validateOpen},
		{UpdateWriteOff, w.writeOff, w.validateOpen},
		{UpdateChangeDueDate, w.changeDueDate, w.validateDueDate},
		{UpdateDecide, w.decideUpdate, w.validateDecision},
		{UpdateProposePlan, w.proposePlan, w.validateProposePlan},
		{UpdateDecidePlan, w.decidePlan, w.validateDecidePlan},
		{UpdateCancelPlan, w.cancelPlan, w.validateCancelPlan},
	}
	for _, r := range regs {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, r.name, r.handler,
			workflow.UpdateHandlerOptions{Validator: r.validator}); err != nil {
			return err
		}
	}
	return nil
}

func (w *run) notClosed() error {
	if w.closed() {
		return conflict(fmt.Sprintf("invoice is %s; nothing more can change", w.s.Stage))
	}
	return nil
}

func (w *run) answer() CommandResponse {
	w.replyActed()
	return CommandResponse{Stage: w.s.Stage, BalanceMinor: w.s.BalanceMinor}
}

// --- payments -------------------------------------------------------------

func (w *run) validatePayment(ctx workflow.Context, req PaymentRequest) error {
	if slices.Contains(w.s.References, req.Reference) {
		return nil // answered with the current balance, changes nothing
	}
	if err := w.notClosed(); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(req.Reference) == "":
		return invalid("reference", "must not be empty")
	case req.AmountMinor <= 0:
		return invalid("amount", "must be greater than zero")
	case req.Currency != w.in.Currency:
		return invalid("currency", fmt.Sprintf("invoice is in %s, payment is in %s", w.in.Currency, req.Currency))
	case req.AmountMinor > w.s.BalanceMinor:
		return invalid("amount", fmt.Sprintf("exceeds the balance of %s", money.FormatAmount(w.s.BalanceMinor, w.in.Currency)))
	}
	return nil
}

func (w *run) recordPayment(ctx workflow.Context, req PaymentRequest) (PaymentResponse, error) {
	w.inFlight++
	defer func() { w.inFlight-- }()
	if err := w.money.Lock(ctx); err != nil {
		return PaymentResponse{}, err
	}
	defer w.money.Unlock()
	if slices.Contains(w.s.References, req.Reference) {
		return PaymentResponse{BalanceMinor: w.s.BalanceMinor, Stage: w.s.Stage, Duplicate: true}, nil
	}
	// Checked again under the lock: another payment may have been recorded
	// since this one was validated.
	if err := w.validatePayment(ctx, req); err != nil {
		return PaymentResponse{}, err
	}
	if err := w.applyPayment(ctx, req.Reference, req.AmountMinor, req.ReceivedAt, ""); err != nil {
		return PaymentResponse{}, err
	}
	w.replyActed()
	return PaymentResponse{BalanceMinor: w.s.BalanceMinor, Stage: w.s.Stage}, nil
}

// applyPayment records money received (from the customer or the agency) and
// settles what it settles: a promise kept, the invoice paid.
func (w *run) applyPayment(ctx workflow.Context, ref string, amount int64, received time.Time, detail string) error {
	// A caller waiting on the update gets an answer within 30 seconds; a
	// reported fact (a signal) keeps retrying for a day instead.
	patience := 30 * time.Second
	if detail != "" {
		patience = 24 * time.Hour
	}
	var res activities.PaymentResult
	in := activities.PaymentInput{
		InvoiceID: w.in.InvoiceID, Reference: ref, AmountMinor: amount, Currency: w.in.Currency, ReceivedAt: received,
	}
	if detail != "" && w.in.Revision >= revisionOne && !w.s.Plan.Open() {
		return w.applyReported(ctx, in, patience, detail)
	}
	var recorded workflow.Future
	if detail != "" {
		// A reported fact (a signal) is already in the history: recording
		// it is bookkeeping, repeated the same way if the task is retried.
		recorded = w.bookkeepingWithin(ctx, "record payment "+ref, patience, a.RecordPayment, in)
	} else {
		// An update is only durable once its workflow task completes; a
		// local activity would write the payment before that, and a task
		// that fails leaves it in the database while the update is retried
		// against other payments. A scheduled activity comes after.
		recorded = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 10 * time.Second, ScheduleToCloseTimeout: patience, Summary: "record payment " + ref,
		}), a.RecordPayment, in)
	}
	if err := recorded.Get(ctx, &res); err != nil {
		return err
	}
	w.applyRecorded(ctx, ref, amount, res.BalanceMinor, detail)
	return nil
}

// applyReported records a reported payment and saves the status it leads
// to in one local activity and one transaction (revision 1): the status is
// worked out beforehand on a copy of the run, for the balance the workflow
// expects (its own less the payment: it holds every payment recorded), and
// the activity saves it only if the database's balance agrees. Its changes
// are dated when the payment was taken in, before the activity, so that
// the copy and the run agree to the nanosecond. It leaves no plan's
// instalments to allocate and no open plan to cancel (the caller checks):
// those changes run activities of their own.
func (w *run) applyReported(ctx workflow.Context, in activities.PaymentInput, patience time.Duration, detail string) error {
	now := workflow.Now(ctx)
	sim := &run{in: w.in, s: w.s, log: w.log, loc: w.loc, next: w.next, local: w.local, pinned: &now}
	sim.s.Timeline = slices.Clone(w.s.Timeline)
	sim.s.References = slices.Clone(w.s.References)
	sim.applyRecorded(ctx, in.Reference, in.AmountMinor, w.s.BalanceMinor-in.AmountMinor, detail)
	expect := sim.status()
	var res activities.PaymentSaved
	if err := w.bookkeepingWithin(ctx, "record payment "+in.Reference, patience, a.RecordPaymentWithStatus,
		activities.PaymentWithStatus{Payment: in, Status: expect}).Get(ctx, &res); err != nil {
		return err
	}
	w.pinned = &now
	w.applyRecorded(ctx, in.Reference, in.AmountMinor, res.BalanceMinor, detail)
	w.pinned = nil
	if res.Saved {
		// The database has it: should the run publish anything else, the
		// publisher sees the difference and saves it.
		w.markSaved(expect)
	}
	return nil
}

// applyRecorded applies a payment the database recorded, leaving balance.
func (w *run) applyRecorded(ctx workflow.Context, ref string, amount, balance int64, detail string) {
	w.s.References = append(w.s.References, ref)
	w.s.BalanceMinor = balance
	w.event(ctx, invoice.Event{Kind: invoice.EventPayment, Reference: ref, AmountMinor: amount, BalanceMinor: w.balance(), Detail: detail})
	if w.s.Plan.Active() {
		w.allocate(ctx)
	}
	if p := w.s.Promise; p != nil && w.s.BalanceMinor <= p.TargetBalanceMinor && w.s.BalanceMinor > 0 {
		w.event(ctx, invoice.Event{Kind: invoice.EventPromiseKept, AmountMinor: p.AmountMinor, Until: &p.Date, BalanceMinor: w.balance()})
		w.s.Promise = nil
		w.resumeStage()
	}
	if w.s.BalanceMinor <= 0 {
		w.event(ctx, invoice.Event{Kind: invoice.EventPaid, BalanceMinor: w.balance()})
		stage := invoice.StagePaid
		if w.s.Agency {
			stage = invoice.StageCollected
		}
		w.close(ctx, stage)
	}
	w.changed()
	w.publish(ctx)
}

// --- disputes -------------------------------------------------------------

func (w *run) validateOpenDispute(ctx workflow.Context, req DisputeRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	if w.s.Dispute != nil {
		return conflict("a dispute is already open on this invoice")
	}
	if !slices.Contains(DisputeReasons, req.Reason) {
		return invalid("reason", "must be one of "+strings.Join(DisputeReasons, ", "))
	}
	return nil
}

func (w *run) openDispute(ctx workflow.Context, req DisputeRequest) (CommandResponse, error) {
	now := workflow.Now(ctx)
	w.s.Counter++
	w.s.Dispute = &invoice.Dispute{Reason: req.Reason, Note: req.Note, OpenedAt: now, Deadline: now.Add(w.in.Policy.DisputeDeadline.Std())}
	w.s.Promise = nil
	w.cancelOpenPlan(ctx, "a dispute was opened ("+req.Reason+")")
	w.pauseStage(invoice.StageDisputed)
	w.event(ctx, invoice.Event{Kind: invoice.EventDisputeOpened, Outcome: req.Reason, Detail: req.Note, Until: &w.s.Dispute.Deadline})
	w.task(ctx, fmt.Sprintf("dispute-%d:review", w.s.Counter), "dispute_review",
		fmt.Sprintf("Review the dispute on invoice %s (%s)", w.in.Number, req.Reason), req.Note, w.s.Dispute.Deadline, false)
	w.changed()
	w.publish(ctx)
	return w.answer(), nil
}

func (w *run) validateResolveDispute(ctx workflow.Context, req ResolveDisputeRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	if w.s.Dispute == nil {
		return conflict("no dispute is open on this invoice")
	}
	switch req.Resolution {
	case ResolutionRejected, ResolutionUpheld:
	case ResolutionAdjusted:
		paid := w.s.AmountMinor - w.s.BalanceMinor
		if req.NewAmountMinor <= 0 || req.NewAmountMinor >= w.s.AmountMinor {
			return invalid("amount", fmt.Sprintf("the adjusted amount must be above zero and below %s", money.FormatAmount(w.s.AmountMinor, w.in.Currency)))
		}
		if req.NewAmountMinor < paid {
			return invalid("amount", fmt.Sprintf("%s has already been paid", money.FormatAmount(paid, w.in.Currency)))
		}
	default:
		return invalid("resolution", "must be rejected, upheld or adjusted")
	}
	return nil
}

func (w *run) resolveDispute(ctx workflow.Context, req ResolveDisputeRequest) (CommandResponse, error) {
	now := workflow.Now(ctx)
	w.s.Dispute.Resolved = &now
	ev := invoice.Event{Kind: invoice.EventDisputeResolved, Outcome: req.Resolution, Detail: req.Note, Actor: req.Actor}
	w.s.Dispute = nil
	switch req.Resolution {
	case ResolutionUpheld:
		w.event(ctx, ev)
		w.close(ctx, invoice.StageCancelled)
	case ResolutionAdjusted:
		var res activities.PaymentResult
		if err := workflow.ExecuteActivity(w.shortActivity(ctx, "adjust amount"), a.AdjustAmount, activities.AdjustInput{
			InvoiceID: w.in.InvoiceID, NewAmountMinor: req.NewAmountMinor,
		}).Get(ctx, &res); err != nil {
			return CommandResponse{}, err
		}
		ev.AmountMinor = w.s.AmountMinor - req.NewAmountMinor // the credit note
		w.s.AmountMinor, w.s.BalanceMinor = req.NewAmountMinor, res.BalanceMinor
		ev.BalanceMinor = w.balance()
		w.event(ctx, ev)
		w.resumeStage()
	default:
		w.event(ctx, ev)
		w.resumeStage()
	}
	w.changed()
	w.publish(ctx)
	return w.answer(), nil
}

// --- promises -------------------------------------------------------------

func (w *run) validatePromise(ctx workflow.Context, req PromiseRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	switch {
	case w.s.Dispute != nil:
		return conflict("resolve the open dispute before recording a promise")
	case w.s.Agency:
		return conflict("the account is with the collection agency")
	case w.s.Plan.Active():
		return conflict("the invoice is on a payment plan: its instalments are the promise")
	case req.AmountMinor <= 0:
		return invalid("amount", "must be greater than zero")
	case req.AmountMinor > w.s.BalanceMinor:
		return invalid("amount", fmt.Sprintf("exceeds the balance of %s", money.FormatAmount(w.s.BalanceMinor, w.in.Currency)))
	case !req.Date.After(workflow.Now(ctx)):
		return invalid("date", "must be in the future")
	}
	return checkDate("date", req.Date, workflow.Now(ctx))
}

func (w *run) promise(ctx workflow.Context, req PromiseRequest) (CommandResponse, error) {
	w.s.Counter++
	date := req.Date
	w.s.Promise = &invoice.Promise{AmountMinor: req.AmountMinor, Date: date, TargetBalanceMinor: w.s.BalanceMinor - req.AmountMinor,
		Reminded: !date.Add(-24 * time.Hour).After(workflow.Now(ctx))}
	w.pauseStage(invoice.StagePromised)
	w.event(ctx, invoice.Event{Kind: invoice.EventPromise, AmountMinor: req.AmountMinor, Until: &date, Detail: req.Note})
	w.changed()
	w.publish(ctx)
	return w.answer(), nil
}

// --- pause, resume, cancel, write off --------------------------------------

func (w *run) validatePause(ctx workflow.Context, req PauseRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	if req.Until != nil && !req.Until.After(workflow.Now(ctx)) {
		return invalid("until", "must be in the future")
	}
	if req.Until != nil {
		return checkDate("until", *req.Until, workflow.Now(ctx))
	}
	return nil
}

func (w *run) pause(ctx workflow.Context, req PauseRequest) (CommandResponse, error) {
	w.s.Paused, w.s.PausedUntil = true, req.Until
	w.pauseStage(invoice.StagePaused)
	w.event(ctx, invoice.Event{Kind: invoice.EventPaused, Until: req.Until, Detail: req.Reason, Actor: req.Actor})
	w.changed()
	w.publish(ctx)
	return w.answer(), nil
}

func (w *run) validateResume(ctx workflow.Context, req PauseRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	if !w.s.Paused {
		return conflict("the invoice is not paused")
	}
	return nil
}

func (w *run) resume(ctx workflow.Context, req PauseRequest) (CommandResponse, error) {
	w.s.Paused, w.s.PausedUntil = false, nil
	w.event(ctx, invoice.Event{Kind: invoice.EventResumed, Detail: req.Reason, Actor: req.Actor})
	w.resumeStage()
	w.changed()
	w.publish(ctx)
	return w.answer(), nil
}

func (w *run) validateOpen(ctx workflow.Context, req CloseRequest) error { return w.notClosed() }

func (w *run) cancel(ctx workflow.Context, req CloseRequest) (CommandResponse, error) {
	w.event(ctx, invoice.Event{Kind: invoice.EventCancelled, Detail: req.Reason, Actor: req.Actor, BalanceMinor: w.balance()})
	w.close(ctx, invoice.StageCancelled)
	w.publish(ctx)
	return w.answer(), nil
}

func (w *run) writeOff(ctx workflow.Context, req CloseRequest) (CommandResponse, error) {
	w.event(ctx, invoice.Event{Kind: invoice.EventWrittenOff, Detail: req.Reason, Actor: req.Actor, BalanceMinor: w.balance()})
	w.close(ctx, invoice.StageWrittenOff)
	w.publish(ctx)
	return w.answer(), nil
}

// --- due date ---------------------------------------------------------------

func (w *run) validateDueDate(ctx workflow.Context, req DueDateRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	switch {
	case w.s.Agency:
		return conflict("the account is with the collection agency")
	case req.DueAt.Before(w.in.IssuedAt):
		return invalid("due_at", "is before the invoice's issue date")
	case req.DueAt.Equal(w.s.DueAt):
		return invalid("due_at", "is the current due date")
	}
	return checkDate("due_at", req.DueAt, workflow.Now(ctx))
}

// checkDate refuses a date too far from today (invoice.DateRange). In a
// validator it changes only what is refused, never what history holds.
func checkDate(field string, t, now time.Time) error {
	if err := invoice.CheckDate(t, now); err != nil {
		return invalid(field, err.Error())
	}
	return nil
}

func (w *run) changeDueDate(ctx workflow.Context, req DueDateRequest) (CommandResponse, error) {
	if err := workflow.ExecuteActivity(w.shortActivity(ctx, "change due date"), a.ChangeDueDate, activities.DueDateInput{
		InvoiceID: w.in.InvoiceID, DueAt: req.DueAt,
	}).Get(ctx, nil); err != nil {
		return CommandResponse{}, err
	}
	due := req.DueAt
	w.event(ctx, invoice.Event{Kind: invoice.EventDueDateChanged, Until: &due, Detail: "was " + w.s.DueAt.Format(time.RFC3339), Actor: req.Actor})
	w.s.DueAt = req.DueAt
	// Steps not yet carried out re-anchor on the new date (upcoming reads it).
	w.changed()
	w.publish(ctx)
	return w.answer(), nil
}

// --- management's decision ------------------------------------------------

func (w *run) validateDecision(ctx workflow.Context, req DecisionRequest) error {
	if err := w.notClosed(); err != nil {
		return err
	}
	if !w.awaitingDecision() {
		return conflict("the invoice is not escalated and waiting for a decision")
	}
	switch req.Decision {
	case policy.DecisionAgency, policy.DecisionWriteOff:
	case policy.DecisionExtend:
		if req.Until == nil || !req.Until.After(workflow.Now(ctx)) {
			return invalid("until", "an extension needs a new deadline in the future")
		}
	default:
		return invalid("decision", "must be extend, agency or write_off")
	}
	return nil
}

func (w *run) decideUpdate(ctx workflow.Context, req DecisionRequest) (CommandResponse, error) {
	if req.Decision == policy.DecisionExtend {
		w.s.Escalation.Deadline = *req.Until
		w.event(ctx, invoice.Event{Kind: invoice.EventDecision, Outcome: string(req.Decision), Until: req.Until, Detail: req.Note, Actor: req.Actor})
	} else {
		w.decide(ctx, req.Decision, req.Note, req.Actor)
	}
	w.changed()
	w.publish(ctx)
	return w.answer(), nil
}

// --- signals ----------------------------------------------------------------

func (w *run) listenForSignals(ctx workflow.Context) {
	agency := workflow.GetSignalChannel(ctx, SignalAgencyOutcome)
	tasks := workflow.GetSignalChannel(ctx, SignalTaskCompleted)
	delivery := workflow.GetSignalChannel(ctx, SignalDelivery)
	payments := workflow.GetSignalChannel(ctx, SignalPayment)
	refunds := workflow.GetSignalChannel(ctx, SignalRefund)
	customer := workflow.GetSignalChannel(ctx, SignalCustomerChanged)
	notes := workflow.GetSignalChannel(ctx, SignalNoted)
	replies := workflow.GetSignalChannel(ctx, SignalReplied)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			takeMoney(ctx, w, sel, payments, w.paymentReceived)
			takeMoney(ctx, w, sel, refunds, w.refundReceived)
			takeMoney(ctx, w, sel, agency, w.agencyOutcome)
			sel.AddReceive(tasks, func(c workflow.ReceiveChannel, _ bool) {
				var t TaskCompleted
				c.Receive(ctx, &t)
				w.event(ctx, invoice.Event{Kind: invoice.EventTaskCompleted, Step: t.Kind, Reference: t.TaskID, Outcome: t.Outcome, Detail: t.Note, Actor: t.Actor})
				w.replyTaskCompleted(t)
				w.publish(ctx)
			})
			sel.AddReceive(delivery, func(c workflow.ReceiveChannel, _ bool) {
				var d Delivery
				c.Receive(ctx, &d)
				switch d.Status {
				case DeliveryDelivered:
					if !slices.Contains(w.s.Delivered, d.Step) {
						w.s.Delivered = append(w.s.Delivered, d.Step)
					}
				case DeliveryBounced:
					w.s.Bounces = append(w.s.Bounces, d)
					w.event(ctx, invoice.Event{Kind: invoice.EventMessage, Step: d.Step, Channel: d.Channel, Outcome: "bounced", Detail: d.Detail})
					w.changed()
				}
			})
			sel.AddReceive(customer, func(c workflow.ReceiveChannel, _ bool) {
				var ch CustomerChanged
				c.Receive(ctx, &ch)
				w.customerChanged(ctx, ch)
			})
			sel.AddReceive(notes, func(c workflow.ReceiveChannel, _ bool) {
				var n Noted
				c.Receive(ctx, &n)
				w.noted(ctx, n)
			})
			sel.AddReceive(replies, func(c workflow.ReceiveChannel, _ bool) {
				var r Replied
				c.Receive(ctx, &r)
				w.replied(ctx, r)
			})
			sel.Select(ctx)
		}
	})
	w.signals = []workflow.ReceiveChannel{agency, tasks, delivery, payments, refunds, customer, notes, replies}
}

// changeCustomerFollows is the workflow.GetVersion change id of runs that
// take in a change of their customer (SignalCustomerChanged). Histories
// recorded before it never hold that signal, so they replay as they ran.
const changeCustomerFollows = "customer-follows"

// customerChanged takes in the customer's new details: a new time zone
// re-plans the next step in it (its send window, its dates), a new account
// manager is shown in the search attributes. An unknown time zone is
// refused on the record and the old one kept.
func (w *run) customerChanged(ctx workflow.Context, ch CustomerChanged) {
	if !w.since(ctx, revisionOne, changeCustomerFollows) {
		return
	}
	var changes []string
	if ch.Timezone != "" && ch.Timezone != w.in.Timezone {
		loc, err := time.LoadLocation(ch.Timezone)
		if err != nil {
			w.event(ctx, invoice.Event{Kind: invoice.EventCustomerChanged, Outcome: "refused", Actor: ch.Actor,
				Detail: fmt.Sprintf("unknown time zone %q; the invoice keeps %s", ch.Timezone, w.in.Timezone)})
			w.publish(ctx)
			return
		}
		changes = append(changes, fmt.Sprintf("time zone %s → %s", cmp.Or(w.in.Timezone, "UTC"), ch.Timezone))
		w.in.Timezone, w.loc = ch.Timezone, loc
	}
	if ch.AccountManager != w.in.AccountManager {
		changes = append(changes, fmt.Sprintf("account manager %s → %s", cmp.Or(w.in.AccountManager, "nobody"), cmp.Or(ch.AccountManager, "nobody")))
		w.in.AccountManager = ch.AccountManager
		if err := workflow.UpsertTypedSearchAttributes(ctx, SAAccountManager.ValueSet(ch.AccountManager)); err != nil {
			w.log.Warn("account manager not shown in search attributes", "error", err)
		}
	}
	if len(changes) == 0 {
		return
	}
	w.event(ctx, invoice.Event{Kind: invoice.EventCustomerChanged, Actor: ch.Actor, Detail: strings.Join(changes, "; ")})
	w.changed()
	w.publish(ctx)
}

// changeNotesOnTimeline is the workflow.GetVersion change id of runs that
// put the notes people keep on the invoice (SignalNoted) on its timeline.
// Histories recorded before it never hold that signal.
const changeNotesOnTimeline = "notes-on-timeline"

// noted puts a note on the timeline: the record of who said what, beside
// what the workflow did.
func (w *run) noted(ctx workflow.Context, n Noted) {
	if !w.since(ctx, revisionOne, changeNotesOnTimeline) {
		return
	}
	w.event(ctx, invoice.Event{Kind: invoice.EventNote, Outcome: n.Kind, Reference: n.NoteID, Detail: n.Summary, Actor: n.Actor})
	w.replyActed()
	w.publish(ctx)
}

// takeMoney takes in a reported fact that moves money (a payment, a refund,
// the agency's outcome), counted in flight while it is recorded so that no
// step goes out, and no run closes, in the middle of it.
func takeMoney[T any](ctx workflow.Context, w *run, sel workflow.Selector, ch workflow.ReceiveChannel, handle func(workflow.Context, T)) {
	sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
		var fact T
		c.Receive(ctx, &fact)
		w.inFlight++
		handle(ctx, fact)
		w.inFlight--
	})
}

// signalsDrained reports that no reported fact is waiting to be taken in.
func (w *run) signalsDrained() bool {
	for _, c := range w.signals {
		if c.Len() > 0 {
			return false
		}
	}
	return true
}

// agencyOutcome takes in the agency's report: money it collected counts as
// a payment; a returned account closes.
func (w *run) agencyOutcome(ctx workflow.Context, o AgencyOutcome) {
	if w.closed() {
		return
	}
	if err := w.money.Lock(ctx); err != nil {
		return
	}
	defer w.money.Unlock()
	w.event(ctx, invoice.Event{Kind: invoice.EventAgencyOutcome, Outcome: o.Outcome, AmountMinor: o.AmountMinor, Reference: o.Reference})
	switch o.Outcome {
	case AgencyCollected, AgencyPartiallyCollected:
		amount := min(o.AmountMinor, w.s.BalanceMinor)
		if o.Outcome == AgencyCollected {
			amount = w.s.BalanceMinor
		}
		ref := "agency:" + o.Reference
		if amount > 0 && !slices.Contains(w.s.References, ref) {
			if err := w.applyPayment(ctx, ref, amount, workflow.Now(ctx), "collected by the agency"); err != nil {
				w.log.Error("agency payment not recorded", "Error", err)
			}
		}
	case AgencyReturned:
		w.close(ctx, invoice.StageReturned)
		w.publish(ctx)
	}
}

// paymentReceived applies a reported payment once per reference.
func (w *run) paymentReceived(ctx workflow.Context, p PaymentReceived) {
	if err := w.money.Lock(ctx); err != nil {
		return
	}
	defer w.money.Unlock()
	switch {
	case slices.Contains(w.s.References, p.Reference):
		return
	case w.closed():
		w.event(ctx, invoice.Event{Kind: invoice.EventPayment, Reference: p.Reference, AmountMinor: p.AmountMinor,
			Outcome: "not applied", Detail: fmt.Sprintf("reported by %s after the invoice was %s", p.Source, w.s.Stage)})
		return
	case p.Currency != w.in.Currency || p.AmountMinor <= 0:
		w.event(ctx, invoice.Event{Kind: invoice.EventPayment, Reference: p.Reference, AmountMinor: p.AmountMinor,
			Outcome: "not applied", Detail: fmt.Sprintf("%s payment of %d reported by %s", p.Currency, p.AmountMinor, p.Source)})
		return
	}
	detail := "reported by " + p.Source
	if p.AmountMinor > w.s.BalanceMinor {
		detail += fmt.Sprintf("; over-payment of %s", money.Display(p.AmountMinor-w.s.BalanceMinor, w.in.Currency))
	}
	if err := w.applyPayment(ctx, p.Reference, p.AmountMinor, p.ReceivedAt, detail); err != nil {
		w.log.Error("reported payment not recorded", "Reference", p.Reference, "Error", err)
	}
}

// refundReceived takes in money returned to the customer, once per refund:
// the balance grows again, and a paid invoice reopens where it stood when it
// closed, its chasing resumed. An invoice closed any other way (cancelled,
// written off, with the agency) keeps its end; the refund is on its
// timeline for a person.
func (w *run) refundReceived(ctx workflow.Context, r RefundReceived) {
	if err := w.money.Lock(ctx); err != nil {
		return
	}
	defer w.money.Unlock()
	in := activities.RefundInput{InvoiceID: w.in.InvoiceID, Reference: r.Reference, AmountMinor: r.AmountMinor,
		Cumulative: r.Cumulative, Currency: r.Currency, ReceivedAt: r.ReceivedAt}
	key := invoice.RefundKey(in)
	notApplied := func(why string) {
		w.event(ctx, invoice.Event{Kind: invoice.EventRefund, Reference: r.Reference, AmountMinor: r.AmountMinor,
			Outcome: "not applied", Detail: why})
		w.publish(ctx)
	}
	switch {
	case slices.Contains(w.s.References, key):
		return
	case r.Currency != w.in.Currency || r.AmountMinor <= 0:
		notApplied(fmt.Sprintf("%s refund of %d reported by %s", r.Currency, r.AmountMinor, r.Source))
		return
	case w.closed() && w.s.Stage != invoice.StagePaid:
		notApplied(fmt.Sprintf("reported by %s after the invoice was %s", r.Source, w.s.Stage))
		return
	}
	var res invoice.RefundResult
	if err := w.bookkeepingWithin(ctx, "record refund "+r.Reference, 24*time.Hour, a.RecordRefund, in).Get(ctx, &res); err != nil {
		w.log.Error("reported refund not recorded", "Reference", r.Reference, "Error", err)
		return
	}
	w.s.References = append(w.s.References, key)
	if res.Duplicate {
		return
	}
	w.s.BalanceMinor = res.BalanceMinor
	w.event(ctx, invoice.Event{Kind: invoice.EventRefund, Reference: r.Reference, AmountMinor: res.AppliedMinor,
		BalanceMinor: w.balance(), Detail: "reported by " + r.Source})
	if w.s.Plan.Active() {
		w.allocate(ctx)
	}
	if w.closed() && w.s.BalanceMinor > 0 {
		w.reopen(ctx)
	}
	w.changed()
	w.publish(ctx)
}

// reopen takes a paid invoice back to the stage it closed from.
func (w *run) reopen(ctx workflow.Context) {
	stage := w.s.BeforeClose
	switch { // an interrupt the payment ended no longer holds
	case stage == invoice.StagePromised && w.s.Promise == nil, stage == invoice.StagePaused && !w.s.Paused,
		stage == invoice.StageDisputed && w.s.Dispute == nil:
		stage, w.s.Resume = w.s.Resume, ""
	}
	if stage == "" || stage.Closed() {
		stage = invoice.StageNotified
		if workflow.Now(ctx).After(w.s.DueAt) {
			stage = invoice.StageInquired
		}
	}
	w.s.ClosedAt, w.s.Stage, w.s.BeforeClose = nil, stage, ""
	w.event(ctx, invoice.Event{Kind: invoice.EventReopened, BalanceMinor: w.balance(),
		Detail: "a refund reopened the balance; chasing resumes from " + string(stage)})
}
