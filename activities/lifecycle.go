package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
)

// DeliveryInput asks whether any of an invoice's messages for these steps
// reached the customer.
type DeliveryInput struct {
	InvoiceID string
	Steps     []string
}

// DeliveryResult answers it.
type DeliveryResult struct {
	Delivered bool
	Channel   string
	Detail    string
}

// CheckDelivery reports whether the invoice reached the customer: a
// provider's delivery event, or a message the dev outbox took (which
// delivers locally).
func (a *Activities) CheckDelivery(ctx context.Context, in DeliveryInput) (DeliveryResult, error) {
	msgs, err := a.Store.ListMessagesForSteps(ctx, in.InvoiceID, in.Steps)
	if err != nil {
		return DeliveryResult{}, err
	}
	for _, m := range msgs {
		switch {
		case m.Status == db.MessageDelivered:
			return DeliveryResult{Delivered: true, Channel: m.Channel, Detail: "delivery reported by " + m.Provider}, nil
		case m.Status == db.MessageSent && m.Provider == (channels.Outbox{}).Provider():
			return DeliveryResult{Delivered: true, Channel: m.Channel, Detail: "delivered to the dev outbox"}, nil
		}
	}
	return DeliveryResult{}, nil
}

// DeliveryWithStatus asks CheckDelivery's question, with the status the
// invoice's workflow will have if the delivery is confirmed: its last
// timeline event is that confirmation, whose channel and detail the check
// fills in.
type DeliveryWithStatus struct {
	Delivery DeliveryInput
	Status   invoice.Status
}

// DeliverySaved answers it: whether the delivery was confirmed, and the
// status saved.
type DeliverySaved struct {
	DeliveryResult
	Saved bool
}

// CheckDeliveryWithStatus is CheckDelivery, and when the delivery is
// confirmed, SaveStatus of the status it leads to: one local activity
// where the workflow ran two.
func (a *Activities) CheckDeliveryWithStatus(ctx context.Context, in DeliveryWithStatus) (DeliverySaved, error) {
	res, err := a.CheckDelivery(ctx, in.Delivery)
	if err != nil || !res.Delivered {
		return DeliverySaved{DeliveryResult: res}, err
	}
	st := in.Status
	if n := len(st.Timeline); n > 0 && st.Timeline[n-1].Kind == invoice.EventDeliveryConfirmed {
		st.Timeline = slices.Clone(st.Timeline)
		st.Timeline[n-1].Channel, st.Timeline[n-1].Detail = res.Channel, res.Detail
	} else {
		return DeliverySaved{DeliveryResult: res}, nil // not a status this check leads to: left to the workflow
	}
	if err := a.SaveStatus(ctx, st); err != nil {
		return DeliverySaved{}, err
	}
	return DeliverySaved{DeliveryResult: res, Saved: true}, nil
}

// TaskInput asks a person to do something about an invoice.
type TaskInput struct {
	InvoiceID string
	Key       string // unique per invoice: the task is created once
	Kind      string
	Title     string
	Detail    string
	DueAt     time.Time
	// NotifyManager also emails the task to the account manager.
	NotifyManager bool
}

// TaskResult names the task and who has it.
type TaskResult struct {
	TaskID   string
	Assignee string
}

// CreateTask creates a task for the customer's account manager, once per
// (invoice, key), and notifies them by email when asked and possible.
func (a *Activities) CreateTask(ctx context.Context, in TaskInput) (TaskResult, error) {
	inv, err := a.Store.GetInvoice(ctx, in.InvoiceID)
	if err != nil {
		return TaskResult{}, nonRetryable(err)
	}
	cust, err := a.Store.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return TaskResult{}, nonRetryable(err)
	}
	now := a.now()
	t, created, err := a.Store.ClaimTask(ctx, &db.Task{
		ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID, Key: in.Key, Kind: in.Kind,
		Assignee: cust.AccountManager, Title: in.Title, Detail: in.Detail, Status: db.TaskOpen, DueAt: in.DueAt.UTC(), CreatedAt: now,
	})
	if err != nil {
		return TaskResult{}, err
	}
	if created {
		a.log(ctx).InfoContext(ctx, "task created", "invoice_id", inv.ID, "task_id", t.ID, "kind", t.Kind, "assignee", t.Assignee)
	}
	if in.NotifyManager && strings.Contains(cust.AccountManager, "@") {
		msg := &db.Message{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
			Step: in.Key, Channel: "manager", Direction: db.Outbound, Recipient: cust.AccountManager, Status: db.MessagePending,
			Subject: "[collections] " + in.Title, Body: in.Detail, ScheduledAt: now, CreatedAt: now}
		if _, err := a.deliver(ctx, msg, a.Senders[policy.Email]); err != nil {
			return TaskResult{}, err
		}
	}
	return TaskResult{TaskID: t.ID, Assignee: t.Assignee}, nil
}

// AgencyInput places an account with the collection agency.
type AgencyInput struct {
	InvoiceID   string
	Key         string
	CaseSummary string // everything tried, from the workflow's timeline
}

// AgencyResult records what was sent.
type AgencyResult struct {
	MessageID string
	Status    string
}

// PlaceWithAgency sends the agency the case file (the invoice, the debtor's
// contact details, the balance and everything tried) and records exactly
// what was sent, once.
func (a *Activities) PlaceWithAgency(ctx context.Context, in AgencyInput) (AgencyResult, error) {
	inv, err := a.Store.GetInvoice(ctx, in.InvoiceID)
	if err != nil {
		return AgencyResult{}, nonRetryable(err)
	}
	cust, err := a.Store.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return AgencyResult{}, nonRetryable(err)
	}
	now := a.now()
	var b strings.Builder
	fmt.Fprintf(&b, "Case file: invoice %s\n\nDebtor: %s\nEmail: %s\nPhone: %s\nTime zone: %s\n\n", inv.Number, cust.Name, cust.Email, cust.Phone, cust.Timezone)
	fmt.Fprintf(&b, "Amount: %s\nOutstanding: %s\nIssued: %s\nDue: %s\n\nHistory:\n%s",
		money.Display(inv.AmountMinor, inv.Currency), money.Display(inv.BalanceMinor, inv.Currency),
		inv.IssuedAt.Format("2006-01-02"), inv.DueAt.Format("2006-01-02"), in.CaseSummary)
	to := a.AgencyAddress
	if to == "" {
		to = "agency (not configured)"
	}
	msg := &db.Message{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
		Step: in.Key, Channel: "agency", Direction: db.Outbound, Recipient: to, Status: db.MessagePending,
		Subject: "Placement: invoice " + inv.Number + ", " + money.Display(inv.BalanceMinor, inv.Currency), Body: b.String(),
		ScheduledAt: now, CreatedAt: now}
	sender := a.Agency
	if sender == nil {
		sender = channels.Outbox{Log: a.Log}
	}
	stored, err := a.deliver(ctx, msg, sender)
	if err != nil {
		return AgencyResult{}, err
	}
	return AgencyResult{MessageID: stored.ID, Status: stored.Status}, nil
}

// ClaimLease is how long a claimed, unsettled message belongs to the attempt
// that claimed it: longer than a send's start-to-close timeout, so an
// attempt still running is never doubled; after it, the claimer is taken to
// have crashed and the next attempt takes the claim over (starting a new
// lease) and sends again under the same id. A claim the provider refused
// for now (429, 5xx: it does not have the message) is released at once.
const ClaimLease = 2 * time.Minute

// deliver claims msg in the outbox and sends it through sender unless an
// earlier attempt already settled it.
// Attachments (an email's statement PDF) are not stored in the outbox: each
// attempt brings its own.
func (a *Activities) deliver(ctx context.Context, msg *db.Message, sender channels.Sender, attach ...channels.Attachment) (*db.Message, error) {
	stored, claimed, err := a.Store.ClaimMessage(ctx, msg)
	if err != nil {
		return nil, err
	}
	return a.settle(ctx, msg, stored, claimed, sender, attach...)
}

// settle sends a claimed message (stored, claimed) through sender, or, when
// an earlier attempt holds the claim, returns its outcome, takes the claim
// over, or waits for its lease, as deliver describes.
func (a *Activities) settle(ctx context.Context, msg, stored *db.Message, claimed bool, sender channels.Sender, attach ...channels.Attachment) (*db.Message, error) {
	if stored.Status != db.MessagePending {
		return stored, nil
	}
	if !claimed {
		released := strings.HasPrefix(stored.Detail, db.ReleasedPrefix)
		if !released && a.now().Sub(stored.CreatedAt) < ClaimLease {
			// Another attempt claimed this message moments ago and may be
			// sending it right now: try again later rather than send twice.
			return nil, fmt.Errorf("message %s is being sent by another attempt; retrying after the %s lease", stored.ID, ClaimLease)
		}
		if msg.Status != db.MessagePending {
			// Since the claim the invoice was paid or closed (or the
			// recipient opted out): this attempt's fresh check wins, so a
			// payment made while a send was being retried stops it.
			detail := msg.Detail
			if !released {
				detail += "; an earlier attempt's outcome is unknown"
			}
			stored.Status, stored.Detail = msg.Status, detail
			return stored, a.finish(ctx, stored, db.MessageOutcome{Status: msg.Status, Detail: detail}, "worker")
		}
		// Take the claim over: the provider refused the last attempt, or
		// its lease ran out (that attempt crashed or hung). Only one
		// attempt wins, and it starts a new lease.
		won, err := a.Store.ReclaimMessage(ctx, stored.ID, released, stored.CreatedAt, a.now())
		if err != nil {
			return nil, err
		}
		if !won {
			return nil, fmt.Errorf("message %s was taken over by another attempt", stored.ID)
		}
		stored.Detail = ""
	}
	if sender == nil {
		err := fmt.Errorf("no sender for %s", msg.Channel)
		stored.Status, stored.Detail = db.MessageFailed, err.Error()
		a.Metrics.MessageFailed(stored.Channel)
		return stored, a.finish(ctx, stored, db.MessageOutcome{Status: db.MessageFailed, Detail: stored.Detail}, "worker")
	}
	a.Metrics.ReminderLateness(a.now().Sub(stored.ScheduledAt))
	providerID, err := sender.Send(ctx, channels.Message{ID: stored.ID, InvoiceID: stored.InvoiceID, Step: stored.Step,
		Channel: policy.Channel(stored.Channel), To: stored.Recipient, Subject: stored.Subject, Body: stored.Body, HTML: stored.HTML,
		Attachments: attach})
	if err != nil {
		if channels.IsPermanent(err) {
			stored.Status, stored.Detail = db.MessageFailed, truncate(err.Error(), 500)
			a.Metrics.MessageFailed(stored.Channel)
			return stored, a.finish(ctx, stored, db.MessageOutcome{Status: db.MessageFailed, Detail: stored.Detail, Provider: sender.Provider()}, sender.Provider())
		}
		var refused *channels.APIError
		if errors.As(err, &refused) {
			// The provider answered and does not have the message (429,
			// 5xx): release the claim so the retry, after Temporal's
			// backoff, sends it without waiting out the lease.
			if rerr := a.Store.ReleaseMessage(ctx, stored.ID, truncate(err.Error(), 400)); rerr != nil {
				return nil, errors.Join(err, rerr)
			}
		}
		return nil, err
	}
	sent := a.now()
	stored.Status = db.MessageSent
	a.Metrics.MessageSent(stored.Channel)
	return stored, a.finish(ctx, stored, db.MessageOutcome{Status: db.MessageSent, Provider: sender.Provider(), ProviderMessageID: providerID, SentAt: &sent}, sender.Provider())
}

// finish records a message's outcome and starts its status history.
func (a *Activities) finish(ctx context.Context, m *db.Message, o db.MessageOutcome, source string) error {
	if err := a.Store.FinishMessage(ctx, m.ID, o); err != nil {
		return err
	}
	return a.Store.AddMessageEvent(ctx, &db.MessageEvent{ID: uuid.Must(uuid.NewV7()).String(), MessageID: m.ID,
		Status: o.Status, Detail: o.Detail, Source: source, OccurredAt: a.now()}, false)
}

// AdjustInput sets an invoice's amount after a dispute is resolved with a
// credit note.
type AdjustInput struct {
	InvoiceID      string
	NewAmountMinor int64
}

// AdjustAmount records the new amount and returns the balance.
func (a *Activities) AdjustAmount(ctx context.Context, in AdjustInput) (PaymentResult, error) {
	bal, err := a.Store.AdjustAmount(ctx, in.InvoiceID, in.NewAmountMinor, a.now())
	if err != nil {
		return PaymentResult{}, nonRetryable(err)
	}
	return PaymentResult{BalanceMinor: bal}, nil
}

// DueDateInput moves an invoice's due date.
type DueDateInput struct {
	InvoiceID string
	DueAt     time.Time
}

// ChangeDueDate records the new due date.
func (a *Activities) ChangeDueDate(ctx context.Context, in DueDateInput) error {
	return nonRetryable(a.Store.ChangeDueDate(ctx, in.InvoiceID, in.DueAt.UTC(), a.now()))
}
