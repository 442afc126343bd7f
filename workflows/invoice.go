// Package workflows holds the durable invoice workflow: one per invoice, it
// carries out its policy's steps at their dates (notify, confirm delivery,
// remind, inquire, press, escalate, hand to an agency), and answers every
// interrupt (payment, dispute, promise, pause, cancel, write-off, due-date
// change, management decision) the moment it arrives. It is deterministic:
// time comes from workflow.Now, waiting from timers, and everything outside
// goes through activities.
package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"

	_ "time/tzdata" // customer time zones resolve the same on every worker
)

// InvoiceInput starts an invoice's workflow. It carries ids and amounts, not
// contact details: activities load those from the database.
type InvoiceInput struct {
	InvoiceID      string
	Number         string
	CustomerID     string
	AmountMinor    int64
	Currency       string
	IssuedAt       time.Time
	DueAt          time.Time
	Timezone       string // the customer's IANA time zone, for the send window
	AccountManager string
	// Policy is the policy this invoice runs on, fixed at its start.
	Policy policy.Policy
	// HideAmounts keeps amounts out of the search attributes, which Temporal
	// indexes in clear even when payloads are encrypted (set when the
	// payload codec is on).
	HideAmounts bool
	// State carries everything over a continue-as-new; nil on the first run.
	State *State
	// Revision is the workflow code's revision the run was started on
	// (CurrentRevision, set by the start path and on continue-as-new): a run
	// of a revision takes every change that revision names without asking
	// workflow.GetVersion. Runs started before revisions existed have 0 and
	// keep asking, as they did when they ran (see since).
	Revision int `json:",omitempty"`
}

// Revisions of the invoice workflow, and how a change is gated.
//
// A change to the workflow's behaviour must not change what a running
// invoice already did, so it is gated: a run that was already open asks
// workflow.GetVersion (a version marker in its history, and an upsert of
// the TemporalChangeVersion search attribute that the Go SDK writes beside
// it, a rewrite of the run's visibility row). A run started after the
// change needs neither: the revision in its input says which changes it
// was started with. So:
//
//   - a new change gets a GetVersion change id, checked through since(ctx,
//     revision, changeID) with the NEXT revision: runs already open (of any
//     lower revision) ask GetVersion and take it from their next workflow
//     task on, exactly as before;
//   - once it is in, CurrentRevision is bumped to that revision, and runs
//     started from then on take it without a marker or an upsert;
//   - each revision keeps replay fixtures recorded on it (workflows/testdata),
//     and the fixtures of older revisions stay.
//
// Revision 1 takes local-bookkeeping, bounded-policy, customer-follows,
// notes-on-timeline, payment-plans and reply-hold, and the revision-1
// bookkeeping below (a reported payment recorded with its status in one
// local activity; the first status not saved again when the database was
// given it at the start).
const (
	revisionOne = 1
	// CurrentRevision is the revision a run starts on.
	CurrentRevision = revisionOne
)

// since reports whether this run takes the change named changeID, made in
// revision rev: a run started on rev or later always does, without asking;
// an older run asks workflow.GetVersion (version 1 is the change).
func (w *run) since(ctx workflow.Context, rev int, changeID string) bool {
	if w.in.Revision >= rev {
		return true
	}
	return workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) >= 1
}

// State is everything the workflow knows, carried across continue-as-new.
type State struct {
	Stage        invoice.Stage
	Resume       invoice.Stage // the stage to return to when a pause, dispute or promise ends
	AmountMinor  int64
	BalanceMinor int64
	DueAt        time.Time
	Done         []string // keys of scheduled occurrences already carried out or superseded
	Timeline     []invoice.Event
	References   []string // payment references already applied
	Dispute      *invoice.Dispute
	Promise      *invoice.Promise
	Escalation   *invoice.Escalation
	Paused       bool
	PausedUntil  *time.Time
	Firmer       bool // a promise was broken: go straight to the next firm step
	Agency       bool // placed with the agency; internal chasing has stopped
	Delivered    []string
	NotBefore    []Deferral // steps the contact cap held back, and until when
	Bounces      []Delivery // channels that bounced and await the fallback
	Counter      int        // numbers promises and tasks, for idempotency keys
	ClosedAt     *time.Time
	// BeforeClose is the stage the invoice was in when it closed: where a
	// refund that reopens it takes it back to.
	BeforeClose invoice.Stage
	// ReplyHold holds the chase after a customer's reply (replies.go).
	ReplyHold *ReplyHold `json:",omitempty"`
	// Plan is the invoice's current (or last) payment plan.
	Plan *invoice.Plan `json:",omitempty"`
}

// historyLimit is the history length past which a run continues as new, well
// below Temporal's own warning threshold.
const historyLimit = 5000

// Deferral holds a step back until a moment.
type Deferral struct {
	Key   string
	Until time.Time
}

// a is only used to name activity methods; the worker registers the real one.
var a *activities.Activities

// Invoice is the invoice workflow.
func Invoice(ctx workflow.Context, in InvoiceInput) (invoice.Status, error) {
	w := &run{in: in}
	if in.State != nil {
		w.s = *in.State
	} else {
		w.s = State{Stage: invoice.StageIssued, AmountMinor: in.AmountMinor, BalanceMinor: in.AmountMinor, DueAt: in.DueAt}
	}
	if err := w.setup(ctx); err != nil {
		return invoice.Status{}, err
	}
	return w.run(ctx)
}

type run struct {
	in       InvoiceInput
	s        State
	log      log.Logger
	loc      *time.Location
	next     *invoice.NextAction
	gen      int // bumped by every interrupt that may change what happens next
	inFlight int // payments and agency outcomes being recorded right now
	money    workflow.Mutex
	signals  []workflow.ReceiveChannel
	// local is set on runs started since bookkeeping became local
	// activities (see changeLocalBookkeeping); older runs replay as they ran.
	local bool
	// With local bookkeeping, publish marks the state dirty and the
	// publisher coroutine saves it once a burst of changes is over (see
	// startPublisher); holding (with holdGen) keeps a step's own changes
	// back until the step is done.
	dirty, flushing, holding bool
	holdGen                  int
	// scheduledSave: an update changed the state, so it is saved by a
	// scheduled activity (see publish).
	scheduledSave bool
	saved         []byte // the status last saved, encoded: an unchanged one is not saved again
	// bounded is set on runs started since the workflow checks its policy's
	// bounds before scheduling from it (see changeBoundedPolicy).
	bounded bool
	// pinned, when set, is the time the run's changes are dated (see
	// applyReported); otherwise workflow.Now.
	pinned *time.Time
}

// changeLocalBookkeeping is the workflow.GetVersion change id of the runs
// whose bookkeeping (saving the status, checking a delivery, recording a
// payment or refund a processor reported) runs as local activities inside
// the workflow task, and whose status is published once per burst of
// changes, skipping a search attribute or status that did not change: a
// status change then needs no activity and no workflow task of its own,
// which keeps histories short (docs/benchmarks.md, "Cost"). Runs that began
// before it replay on the old path (DefaultVersion) until they close or
// continue as new.
const changeLocalBookkeeping = "local-bookkeeping"

// changeBoundedPolicy is the workflow.GetVersion change id of the runs that
// check their policy against policy.CheckBounds before scheduling from it,
// and refuse one beyond them (refusePolicy) with a timeline entry, a task
// and a metric. Older runs replay as they ran; the lazy walk over the
// schedule (walk) needs no version: it yields what the whole schedule did.
const changeBoundedPolicy = "bounded-policy"

func (w *run) setup(ctx workflow.Context) error {
	w.log = log.With(workflow.GetLogger(ctx), "InvoiceID", w.in.InvoiceID)
	w.local = w.since(ctx, revisionOne, changeLocalBookkeeping)
	w.bounded = w.since(ctx, revisionOne, changeBoundedPolicy)
	if w.local {
		w.startPublisher(ctx)
	}
	w.money = workflow.NewMutex(ctx)
	w.loc = time.UTC
	if loc, err := time.LoadLocation(w.in.Timezone); err == nil && w.in.Timezone != "" {
		w.loc = loc
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (invoice.Status, error) {
		return w.status(), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryReopen, func() (InvoiceInput, error) {
		in, st := w.in, w.s
		in.State = &st
		return in, nil
	}); err != nil {
		return err
	}
	if err := w.registerUpdates(ctx); err != nil {
		return err
	}
	w.listenForSignals(ctx)
	return nil
}

func (w *run) run(ctx workflow.Context) (invoice.Status, error) {
	if w.in.State == nil {
		w.event(ctx, invoice.Event{Kind: invoice.EventStarted,
			Detail: fmt.Sprintf("policy %s v%d", w.in.Policy.Name, w.in.Policy.Version)})
	}
	for {
		if err := w.chase(ctx); err != nil {
			return invoice.Status{}, err
		}
		// Let the interrupt that closed the invoice finish answering its
		// caller, and take in any reported fact still waiting: a refund
		// reopens a paid invoice, here or in the run a refund starts.
		if err := workflow.Await(ctx, func() bool {
			return workflow.AllHandlersFinished(ctx) && w.inFlight == 0 && w.signalsDrained()
		}); err != nil {
			return invoice.Status{}, err
		}
		if w.closed() {
			break
		}
	}
	w.next = nil
	w.publish(ctx)
	if err := w.settle(ctx); err != nil {
		return invoice.Status{}, err
	}
	return w.status(), nil
}

// chase carries out the policy, and answers what interrupts it, until the
// invoice closes (or the run continues as new).
func (w *run) chase(ctx workflow.Context) error {
	for !w.closed() {
		if w.historyTooLong(ctx) {
			return w.continueAsNew(ctx)
		}
		var err error
		switch {
		case len(w.s.Bounces) > 0 && !w.s.Agency:
			w.handleBounces(ctx)
		case w.s.Agency:
			err = w.waitForAgency(ctx)
		case w.s.Dispute != nil:
			err = w.waitOnDispute(ctx)
		case w.s.Paused:
			err = w.waitWhilePaused(ctx)
		case w.s.Promise != nil:
			err = w.waitOnPromise(ctx)
		case w.s.Plan.Active():
			err = w.waitOnPlan(ctx)
		case w.awaitingDecision():
			err = w.waitForDecision(ctx)
		case w.s.ReplyHold != nil:
			err = w.waitOnReply(ctx)
		default:
			err = w.nextStep(ctx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sleepUntil waits until at, or until an interrupt changes the course (gen)
// or closes the invoice. It reports whether the time was reached untouched.
func (w *run) sleepUntil(ctx workflow.Context, at time.Time, summary string) (bool, error) {
	gen := w.gen
	changed := func() bool { return w.gen != gen || w.closed() }
	if wait := at.Sub(workflow.Now(ctx)); wait > 0 {
		ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: summary},
		}, changed)
		if err != nil || ok {
			return false, err
		}
	}
	// A payment being recorded right now decides whether what is due still
	// happens: wait for it rather than race it.
	if err := workflow.Await(ctx, func() bool { return w.inFlight == 0 }); err != nil {
		return false, err
	}
	return !changed(), nil
}

// waitForChange blocks until an interrupt changes the course.
func (w *run) waitForChange(ctx workflow.Context) error {
	gen := w.gen
	return workflow.Await(ctx, func() bool { return w.gen != gen || w.closed() })
}

func (w *run) historyTooLong(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= historyLimit
}

// continueAsNew carries the whole state into a fresh run once every update
// has answered and every reported fact has been taken in.
func (w *run) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool {
		return workflow.AllHandlersFinished(ctx) && w.inFlight == 0 && w.signalsDrained()
	}); err != nil {
		return err
	}
	w.event(ctx, invoice.Event{Kind: invoice.EventContinuedAsNew,
		Detail: fmt.Sprintf("history reached %d events", workflow.GetInfo(ctx).GetCurrentHistoryLength())})
	if err := w.settle(ctx); err != nil {
		return err
	}
	in := w.in
	st := w.s
	in.State = &st
	// The next run starts on the current revision, whatever this one's:
	// its history starts empty, so it has nothing to replay the old way.
	in.Revision = CurrentRevision
	return workflow.NewContinueAsNewError(ctx, InvoiceWorkflowName, in)
}

func (w *run) closed() bool { return w.s.ClosedAt != nil }

// close ends the invoice in a final stage.
func (w *run) close(ctx workflow.Context, stage invoice.Stage) {
	w.cancelOpenPlan(ctx, "the invoice was "+string(stage))
	now := w.now(ctx)
	w.s.ClosedAt = &now
	w.s.BeforeClose, w.s.Stage = w.s.Stage, stage
	w.next = nil
	w.gen++
}

func (w *run) changed() { w.gen++ }

// now is the time the run's changes are dated: workflow.Now, unless pinned.
func (w *run) now(ctx workflow.Context) time.Time {
	if w.pinned != nil {
		return *w.pinned
	}
	return workflow.Now(ctx)
}

func (w *run) event(ctx workflow.Context, e invoice.Event) {
	e.At = w.now(ctx)
	w.s.Timeline = append(w.s.Timeline, e)
}

func (w *run) done(key string) bool { return slices.Contains(w.s.Done, key) }

func (w *run) markDone(key string) {
	if !w.done(key) {
		w.s.Done = append(w.s.Done, key)
	}
}

// pauseStage moves to an interrupt's stage, remembering where to come back to.
func (w *run) pauseStage(stage invoice.Stage) {
	if w.s.Resume == "" {
		w.s.Resume = w.s.Stage
	}
	w.s.Stage = stage
}

// resumeStage returns from an interrupt's stage when no other interrupt holds.
func (w *run) resumeStage() {
	if w.s.Dispute != nil || w.s.Paused || w.s.Promise != nil || w.s.Resume == "" {
		return
	}
	if w.s.Plan.Active() {
		w.s.Stage = invoice.StageOnPlan
		return
	}
	w.s.Stage, w.s.Resume = w.s.Resume, ""
}

func (w *run) balance() *int64 {
	b := w.s.BalanceMinor
	return &b
}

func (w *run) status() invoice.Status {
	return invoice.Status{
		InvoiceID: w.in.InvoiceID, Stage: w.s.Stage, AmountMinor: w.s.AmountMinor, BalanceMinor: w.s.BalanceMinor,
		Currency: w.in.Currency, DueAt: w.s.DueAt, PolicyName: w.in.Policy.Name, PolicyVersion: w.in.Policy.Version,
		AccountManager: w.in.AccountManager, NextAction: w.next, Dispute: w.s.Dispute, Promise: w.s.Promise,
		Escalation: w.s.Escalation, Paused: w.s.Paused, PausedUntil: w.s.PausedUntil, Plan: w.s.Plan,
		Timeline: w.s.Timeline, ClosedAt: w.s.ClosedAt,
	}
}

// setNext records what happens next and publishes it.
func (w *run) setNext(ctx workflow.Context, step, what string, at time.Time, channels []policy.Channel) {
	w.next = nextAction(step, what, at, channels)
	w.publish(ctx)
}

func nextAction(step, what string, at time.Time, channels []policy.Channel) *invoice.NextAction {
	names := make([]string, len(channels))
	for i, c := range channels {
		names[i] = string(c)
	}
	return &invoice.NextAction{Step: step, What: what, At: at, Channels: names}
}

// markSaved records that the database holds st already (saved with a
// payment or a delivery check): the publisher does not save it again.
func (w *run) markSaved(st invoice.Status) {
	// The encoding is deterministic (see flush).
	enc, err := json.Marshal(st) //workflowcheck:ignore
	if err == nil {
		w.saved = enc
	}
}

// publish makes the current state visible: the Web UI's current details and
// search attributes, and the database's copy of the status. With local
// bookkeeping it only marks the state changed, and the publisher makes it
// visible once the workflow waits (for a date, an interrupt, an activity),
// so a burst of changes in one workflow task is saved once.
//
// An update is durable only once the workflow task that accepted it
// completes, and Temporal aborts and retries updates that race (44 of 55
// concurrent payments were, in TestRacesEndInExactBalancesAndConsistentStates):
// a local activity would write an update's outcome to the database before
// that, and leave it there if the update is then applied differently. So a
// state an update changed is saved by a scheduled activity, which runs only
// after the task completed; the interrupts' own writes (a payment, a credit
// note, a due date, a task) are scheduled activities for the same reason.
func (w *run) publish(ctx workflow.Context) {
	if !w.local {
		w.flush(ctx)
		return
	}
	w.dirty = true
	if inUpdate(ctx) {
		w.scheduledSave = true
	}
}

// inUpdate reports whether ctx is an update handler's. The SDK's
// GetCurrentUpdateInfo panics outside one (SDK v1.50), hence the recover.
func inUpdate(ctx workflow.Context) (in bool) {
	defer func() {
		if recover() != nil {
			in = false
		}
	}()
	return workflow.GetCurrentUpdateInfo(ctx) != nil
}

// startPublisher runs the coroutine that makes a changed state visible.
// A step's own changes are held back while the step is carried out (its
// sends are out), unless an interrupt changes the course meanwhile.
func (w *run) startPublisher(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if err := workflow.Await(ctx, func() bool {
				return w.dirty && !w.flushing && (!w.holding || w.gen != w.holdGen)
			}); err != nil {
				return
			}
			w.flushNow(ctx)
		}
	})
}

func (w *run) flushNow(ctx workflow.Context) {
	w.dirty, w.flushing = false, true
	w.flush(ctx)
	w.flushing = false
}

// saveStatus saves the status to the database: a local activity, or a
// scheduled one when an update changed it (see publish).
func (w *run) saveStatus(ctx workflow.Context, st invoice.Status) error {
	if w.scheduledSave {
		w.scheduledSave = false
		return workflow.ExecuteActivity(w.shortActivity(ctx, "save status"), a.SaveStatus, st).Get(ctx, nil)
	}
	return w.bookkeeping(ctx, "save status", a.SaveStatus, st).Get(ctx, nil)
}

// hold keeps a step's changes unpublished until release.
func (w *run) hold() { w.holding, w.holdGen = true, w.gen }

func (w *run) release() { w.holding = false }

// settle publishes what is still unpublished and waits for it, before the
// run ends (closes or continues as new).
func (w *run) settle(ctx workflow.Context) error {
	if !w.local {
		return nil
	}
	w.release()
	if err := workflow.Await(ctx, func() bool { return !w.flushing }); err != nil {
		return err
	}
	if w.dirty {
		w.flushNow(ctx)
	}
	return nil
}

// flush makes the current state visible now.
func (w *run) flush(ctx workflow.Context) {
	details := fmt.Sprintf("**Stage:** %s  \n**Balance:** %s of %s  \n**Due:** %s",
		w.s.Stage, money.Display(w.s.BalanceMinor, w.in.Currency), money.Display(w.s.AmountMinor, w.in.Currency),
		w.s.DueAt.In(w.loc).Format("2006-01-02"))
	if w.next != nil {
		if w.next.At.IsZero() {
			details += "  \n**Next:** " + w.next.What
		} else {
			details += fmt.Sprintf("  \n**Next:** %s at %s", w.next.What, w.next.At.In(w.loc).Format("2006-01-02 15:04 MST"))
		}
	}
	details += w.planDetails()
	workflow.SetCurrentDetails(ctx, details)
	// The details go out encrypted with the payloads (a query answer); the
	// search attributes do not, so the amount stays out of them when the
	// payloads are encrypted.
	if updates := w.searchAttributeUpdates(ctx, w.local); len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			w.log.Warn("search attributes not updated", "Error", err)
		}
	}
	st := w.status()
	if w.local {
		// The encoding is deterministic (struct fields in order, map keys
		// sorted); workflowcheck only sees encoding/json's type cache.
		enc, err := json.Marshal(st) //workflowcheck:ignore
		if err == nil && bytes.Equal(enc, w.saved) {
			return // the database has this status already
		}
		w.saved = enc
	}
	if err := w.saveStatus(ctx, st); err != nil {
		w.saved = nil
		w.log.Error("status not saved", "Error", err)
	}
}

// searchAttributeUpdates sets the search attributes that follow the state;
// onlyChanged leaves out those that already hold the value (set at the
// start, or by an earlier upsert).
func (w *run) searchAttributeUpdates(ctx workflow.Context, onlyChanged bool) []temporal.SearchAttributeUpdate {
	var cur temporal.SearchAttributes
	if onlyChanged {
		cur = workflow.GetTypedSearchAttributes(ctx)
	}
	return stateSearchAttributes(w.in.HideAmounts, w.s.Stage, w.s.BalanceMinor, w.s.DueAt, cur)
}

// stateSearchAttributes are the search attributes that follow an invoice's
// state: its stage, the amount due and the due date. Search attributes are
// indexed in clear even when the payloads are encrypted, so with
// hideAmounts (the codec is on) the amount is left out: this is the one
// place that rule is written. Those cur already holds are left out (a
// zero cur holds none).
func stateSearchAttributes(hideAmounts bool, stage invoice.Stage, balance int64, due time.Time, cur temporal.SearchAttributes) []temporal.SearchAttributeUpdate {
	var updates []temporal.SearchAttributeUpdate
	if v, ok := cur.GetKeyword(SAStage); !ok || v != string(stage) {
		updates = append(updates, SAStage.ValueSet(string(stage)))
	}
	if !hideAmounts {
		if v, ok := cur.GetInt64(SAAmountDueMinor); !ok || v != balance {
			updates = append(updates, SAAmountDueMinor.ValueSet(balance))
		}
	}
	if v, ok := cur.GetTime(SADueDate); !ok || !v.Equal(due) {
		updates = append(updates, SADueDate.ValueSet(due))
	}
	return updates
}

// StartSearchAttributes are an invoice workflow's search attributes as a
// run starts (a new invoice, or a closed one reopened): those fixed for the
// invoice and those that follow its state, as the workflow itself keeps
// them. Continue-as-new carries them into the next run: the SDK copies the
// run's search attributes into the command when the error sets none.
func StartSearchAttributes(in InvoiceInput, stage invoice.Stage, balance int64, due time.Time) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(append([]temporal.SearchAttributeUpdate{
		SAInvoiceNumber.ValueSet(in.Number),
		SACustomerID.ValueSet(in.CustomerID),
		SACurrency.ValueSet(in.Currency),
		SAPolicyName.ValueSet(in.Policy.Name),
		SAAccountManager.ValueSet(in.AccountManager),
	}, stateSearchAttributes(in.HideAmounts, stage, balance, due, temporal.SearchAttributes{})...)...)
}

// bookkeeping runs an activity that only reads or writes our own database,
// and is never called from an update handler (see publish). On runs with
// changeLocalBookkeeping it is a local activity: it runs in the workflow
// task that asked for it, so it costs one marker event and no round trip
// through the server. It is idempotent either way, and retried (up to a
// minute apart) until it succeeds.
func (w *run) bookkeeping(ctx workflow.Context, summary string, activity, arg any) workflow.Future {
	return w.bookkeepingWithin(ctx, summary, 0, activity, arg)
}

// bookkeepingWithin is bookkeeping that gives up after patience (0: never).
func (w *run) bookkeepingWithin(ctx workflow.Context, summary string, patience time.Duration, activity, arg any) workflow.Future {
	o := shortActivityOptions(summary)
	o.ScheduleToCloseTimeout = patience
	if w.local {
		return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: o.StartToCloseTimeout, ScheduleToCloseTimeout: o.ScheduleToCloseTimeout,
			RetryPolicy: o.RetryPolicy, Summary: o.Summary,
		}), activity, arg)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, o), activity, arg)
}
