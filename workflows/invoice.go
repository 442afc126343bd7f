// Package workflows holds the durable invoice workflow: one per invoice, it
// sleeps until each step of its policy falls due, sends the step's messages
// through activities, and takes payments as updates until the balance is
// zero. It is deterministic: time comes from workflow.Now, waiting from
// timers, and everything outside goes through activities.
package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
)

// InvoiceInput starts an invoice's workflow. It carries ids and amounts, not
// contact details: activities load those from the database.
type InvoiceInput struct {
	InvoiceID   string
	Number      string
	CustomerID  string
	AmountMinor int64
	Currency    string
	IssuedAt    time.Time
	DueAt       time.Time
	// Policy is the policy this invoice runs on, fixed at its start.
	Policy policy.Policy
}

// PaymentRequest is the record-payment update's argument.
type PaymentRequest struct {
	Reference   string
	AmountMinor int64
	Currency    string
	ReceivedAt  time.Time
}

// PaymentResponse is the record-payment update's result.
type PaymentResponse struct {
	BalanceMinor int64
	Stage        invoice.Stage
	Duplicate    bool // the reference was already recorded; nothing changed
}

// a is only used to name activity methods; the worker registers the real one.
var a *activities.Activities

// Invoice is the invoice workflow.
func Invoice(ctx workflow.Context, in InvoiceInput) (invoice.Status, error) {
	w := &invoiceRun{in: in, balance: in.AmountMinor, stage: invoice.StageIssued}
	if err := w.setup(ctx); err != nil {
		return invoice.Status{}, err
	}
	return w.run(ctx)
}

type invoiceRun struct {
	in         InvoiceInput
	log        log.Logger
	stage      invoice.Stage
	balance    int64
	next       *invoice.NextAction
	timeline   []invoice.Event
	references []string // payment references already applied, in order
	payments   workflow.Mutex
	inFlight   int // payments being recorded right now
	closedAt   *time.Time
}

func (w *invoiceRun) setup(ctx workflow.Context) error {
	w.log = log.With(workflow.GetLogger(ctx), "InvoiceID", w.in.InvoiceID)
	w.payments = workflow.NewMutex(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (invoice.Status, error) {
		return w.status(), nil
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdatePayment, w.recordPayment,
		workflow.UpdateHandlerOptions{Validator: w.validatePayment})
}

func (w *invoiceRun) run(ctx workflow.Context) (invoice.Status, error) {
	w.event(ctx, invoice.Event{Kind: invoice.EventStarted,
		Detail: fmt.Sprintf("policy %s v%d", w.in.Policy.Name, w.in.Policy.Version)})
	plan := w.in.Policy.Schedule(w.in.IssuedAt, w.in.DueAt)
	for i, p := range plan {
		if w.closed() {
			break
		}
		w.next = &invoice.NextAction{Step: p.Step.ID, What: describe(p.Step), At: p.At, Channels: channelNames(p.Step.Channels)}
		w.publish(ctx)
		if wait := p.At.Sub(workflow.Now(ctx)); wait > 0 {
			_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout:      wait,
				TimerOptions: workflow.TimerOptions{Summary: "until step " + p.Step.ID},
			}, w.closed)
			if err != nil {
				return invoice.Status{}, err
			}
		}
		// A payment being recorded right now decides whether this step
		// still goes out: wait for it rather than race it.
		if err := workflow.Await(ctx, func() bool { return w.inFlight == 0 }); err != nil {
			return invoice.Status{}, err
		}
		if w.closed() {
			break
		}
		// Several steps already due (an invoice entered late): send only the
		// latest, so a customer never gets a burst of stale reminders.
		if i+1 < len(plan) && !plan[i+1].At.After(workflow.Now(ctx)) {
			w.event(ctx, invoice.Event{Kind: invoice.EventSuperseded, Step: p.Step.ID,
				Detail: "already overdue when step " + plan[i+1].Step.ID + " fell due"})
			continue
		}
		if err := w.runStep(ctx, p); err != nil {
			return invoice.Status{}, err
		}
	}
	if !w.closed() {
		// Every step has gone out; wait for the balance to reach zero.
		w.next = &invoice.NextAction{What: "wait for payment"}
		w.publish(ctx)
		if err := workflow.Await(ctx, w.closed); err != nil {
			return invoice.Status{}, err
		}
	}
	// Let a payment update that closed the invoice finish answering its caller.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return invoice.Status{}, err
	}
	w.next = nil
	w.publish(ctx)
	return w.status(), nil
}

// runStep sends a step's messages on each of its channels, in parallel.
func (w *invoiceRun) runStep(ctx workflow.Context, p policy.Planned) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		Summary:                "send " + p.Step.ID,
	})
	futures := make([]workflow.Future, len(p.Step.Channels))
	for i, ch := range p.Step.Channels {
		futures[i] = workflow.ExecuteActivity(actx, a.SendStepMessage, activities.SendInput{
			InvoiceID: w.in.InvoiceID, Step: p.Step.ID, Template: p.Step.Template,
			Tone: p.Step.Tone, Channel: ch, ScheduledAt: p.At,
		})
	}
	for i, f := range futures {
		var res activities.SendResult
		ev := invoice.Event{Kind: invoice.EventMessage, Step: p.Step.ID, Channel: string(p.Step.Channels[i])}
		if err := f.Get(ctx, &res); err != nil {
			w.log.Error("message not sent", "Step", p.Step.ID, "Channel", p.Step.Channels[i], "Error", err)
			ev.Outcome, ev.Detail = db.MessageFailed, err.Error()
		} else {
			ev.Outcome, ev.Detail, ev.MessageID = res.Status, res.Detail, res.MessageID
		}
		w.event(ctx, ev)
	}
	if !w.closed() {
		w.stage = p.Step.Stage
	}
	return nil
}

func (w *invoiceRun) validatePayment(ctx workflow.Context, req PaymentRequest) error {
	if w.applied(req.Reference) {
		return nil // answered with the current balance, changes nothing
	}
	switch {
	case w.closed():
		return conflict(fmt.Sprintf("invoice is %s; no balance is left to pay", w.stage))
	case strings.TrimSpace(req.Reference) == "":
		return invalid("reference", "must not be empty")
	case req.AmountMinor <= 0:
		return invalid("amount", "must be greater than zero")
	case req.Currency != w.in.Currency:
		return invalid("currency", fmt.Sprintf("invoice is in %s, payment is in %s", w.in.Currency, req.Currency))
	case req.AmountMinor > w.balance:
		return invalid("amount", fmt.Sprintf("exceeds the balance of %s", money.FormatAmount(w.balance, w.in.Currency)))
	}
	return nil
}

func (w *invoiceRun) recordPayment(ctx workflow.Context, req PaymentRequest) (PaymentResponse, error) {
	w.inFlight++
	defer func() { w.inFlight-- }()
	if err := w.payments.Lock(ctx); err != nil {
		return PaymentResponse{}, err
	}
	defer w.payments.Unlock()
	if w.applied(req.Reference) {
		return PaymentResponse{BalanceMinor: w.balance, Stage: w.stage, Duplicate: true}, nil
	}
	// Checked again under the lock: another payment may have been recorded
	// since this one was validated.
	if err := w.validatePayment(ctx, req); err != nil {
		return PaymentResponse{}, err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Second,
		Summary:                "record payment " + req.Reference,
	})
	var res activities.PaymentResult
	if err := workflow.ExecuteActivity(actx, a.RecordPayment, activities.PaymentInput{
		InvoiceID: w.in.InvoiceID, Reference: req.Reference, AmountMinor: req.AmountMinor,
		Currency: req.Currency, ReceivedAt: req.ReceivedAt,
	}).Get(ctx, &res); err != nil {
		return PaymentResponse{}, err
	}
	w.references = append(w.references, req.Reference)
	w.balance = res.BalanceMinor
	bal := w.balance
	w.event(ctx, invoice.Event{Kind: invoice.EventPayment, Reference: req.Reference,
		AmountMinor: req.AmountMinor, BalanceMinor: &bal})
	if w.balance <= 0 {
		now := workflow.Now(ctx)
		w.closedAt = &now
		w.stage = invoice.StagePaid
		w.next = nil
		w.event(ctx, invoice.Event{Kind: invoice.EventPaid, BalanceMinor: &bal})
	}
	w.publish(ctx)
	return PaymentResponse{BalanceMinor: w.balance, Stage: w.stage}, nil
}

func (w *invoiceRun) applied(ref string) bool {
	for _, r := range w.references {
		if r == ref {
			return true
		}
	}
	return false
}

func (w *invoiceRun) closed() bool { return w.closedAt != nil }

func (w *invoiceRun) event(ctx workflow.Context, e invoice.Event) {
	e.At = workflow.Now(ctx)
	w.timeline = append(w.timeline, e)
}

func (w *invoiceRun) status() invoice.Status {
	return invoice.Status{
		InvoiceID: w.in.InvoiceID, Stage: w.stage, BalanceMinor: w.balance, Currency: w.in.Currency,
		PolicyName: w.in.Policy.Name, PolicyVersion: w.in.Policy.Version,
		NextAction: w.next, Timeline: w.timeline, ClosedAt: w.closedAt,
	}
}

// publish makes the current state visible: the Web UI's current details and
// search attributes, and the database's copy of the status.
func (w *invoiceRun) publish(ctx workflow.Context) {
	details := fmt.Sprintf("**Stage:** %s  \n**Balance:** %s", w.stage, money.Display(w.balance, w.in.Currency))
	if w.next != nil {
		if w.next.At.IsZero() {
			details += "  \n**Next:** " + w.next.What
		} else {
			details += fmt.Sprintf("  \n**Next:** %s at %s", w.next.What, w.next.At.UTC().Format(time.RFC3339))
		}
	}
	workflow.SetCurrentDetails(ctx, details)
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		SAStage.ValueSet(string(w.stage)), SAAmountDueMinor.ValueSet(w.balance)); err != nil {
		w.log.Warn("search attributes not updated", "Error", err)
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
		Summary:             "save status",
	})
	if err := workflow.ExecuteActivity(actx, a.SaveStatus, w.status()).Get(ctx, nil); err != nil {
		w.log.Error("status not saved", "Error", err)
	}
}

func describe(s policy.Step) string {
	return fmt.Sprintf("send %s (%s)", s.ID, s.Template)
}

func channelNames(cs []policy.Channel) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}
