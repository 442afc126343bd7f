// Package activities is everything the invoice workflow does to the outside
// world: send a step's message, record a payment, save the invoice's status.
// Activities run at least once, so each is idempotent: a retried or doubled
// call never sends twice and never counts a payment twice.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/documents"
	"github.com/collections-engine/collections/internal/logging"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/metrics"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/outbound"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/templates"
)

// Activities holds the dependencies the activities share. Register a pointer
// to it with the worker.
type Activities struct {
	Store     Store
	Senders   channels.Senders
	Templates *templates.Set
	// PaymentLink is a URL template; "{invoice_id}" and "{number}" are
	// replaced by the invoice's id and number. When set it is every
	// message's link (PAYMENT_LINK_TEMPLATE, for teams with their own
	// payment page); empty: the customer's portal link (Portal).
	PaymentLink string
	// Portal makes the portal links messages carry when PaymentLink is
	// empty: signed for the message's customer and invoice, derived from
	// the message's key and scheduled time so a retried send renders the
	// same link.
	Portal *portallink.Links
	// Sender signs messages: the business's name and contact details.
	Sender string
	// Agency receives case files when an account is placed; AgencyAddress
	// is where they go (an email address or a webhook URL).
	Agency        channels.Sender
	AgencyAddress string
	Clock         func() time.Time
	Log           *slog.Logger
	// Dispatch hands a queued webhook delivery to its sender (a
	// WebhookDelivery workflow); nil leaves deliveries queued.
	Dispatch func(ctx context.Context, deliveryID string) error
	// HTTP posts webhook deliveries; nil means a client with a 10-second
	// timeout.
	HTTP *http.Client
	// Metrics counts messages sent and failed and their lateness
	// (optional).
	Metrics *metrics.Metrics
	// CreditScorer scores credit applications; nil means
	// credit.InternalScorer on Store (a bureau adapter goes here).
	CreditScorer credit.Scorer
}

func (a *Activities) now() time.Time {
	if a.Clock != nil {
		return a.Clock().UTC()
	}
	return time.Now().UTC()
}

// Error types the workflow sees as non-retryable application errors.
const (
	ErrTypeNotFound = "NotFound"
	ErrTypeInvalid  = "Invalid"
)

func nonRetryable(err error) error {
	if errors.Is(err, db.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, err)
	}
	return err
}

// SendInput names one step's message on one channel for one invoice.
type SendInput struct {
	InvoiceID   string
	Step        string
	Template    string
	Tone        policy.Tone
	Channel     policy.Channel
	ScheduledAt time.Time
	// Deadline is shown by final notices and promise reminders.
	Deadline *time.Time
	// Cap limits how often the customer is contacted (zero: no cap).
	Cap ContactCap
	// Instalment is the payment-plan instalment a plan's message is about.
	Instalment *Instalment `json:",omitempty"`
}

// Instalment is what a payment plan's message says about one instalment:
// its amount and date, and what remains to pay under the plan after it.
type Instalment struct {
	AmountMinor    int64
	DueAt          time.Time
	RemainingMinor int64
}

// ContactCap is at most Max contacts with a customer Per period, across all
// of their invoices; a step's channels together count as one contact.
type ContactCap struct {
	Max int
	Per time.Duration
}

// InvoiceTemplate is the invoice itself, sent when it is issued. The
// contact cap never holds it back (a customer must get the bill they are
// chased for), but it counts as a contact against the messages that chase.
const InvoiceTemplate = "invoice"

// StatusDeferred is a SendResult status: the contact cap held the message
// back until RetryAt; nothing was stored or sent.
const StatusDeferred = "deferred"

// SendResult is what became of the message. Status is one of db's message
// states: sent, skipped or failed (a permanent provider refusal).
type SendResult struct {
	MessageID string
	Status    string
	Detail    string
	RetryAt   *time.Time // for deferred
}

// SendStepMessage sends one step's message on one channel, exactly once.
//
// The message is claimed in the outbox under the unique key (invoice, step,
// channel) before any provider is called; a retry, a second worker or a
// restarted worker finds the claim and returns its outcome instead of
// sending again. The invoice's balance and state are read right before the
// claim, so a paid invoice gets no message (the claim records it skipped).
// The one window left is a crash after the provider accepted the message and
// before its outcome was written: the retry finds the claim still pending and
// sends again under the same message id, which providers receive as a custom
// argument for deduplication.
func (a *Activities) SendStepMessage(ctx context.Context, in SendInput) (SendResult, error) {
	ctx = logging.WithInvoice(ctx, in.InvoiceID)
	inv, err := a.Store.GetInvoice(ctx, in.InvoiceID)
	if err != nil {
		return SendResult{}, nonRetryable(err)
	}
	cust, err := a.Store.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return SendResult{}, nonRetryable(err)
	}
	now := a.now()
	msg := &db.Message{
		ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
		Step: in.Step, Channel: string(in.Channel), Direction: db.Outbound, Status: db.MessagePending,
		ScheduledAt: in.ScheduledAt.UTC(), CreatedAt: now,
	}
	switch in.Channel {
	case policy.Email:
		msg.Recipient = cust.Email
	case policy.SMS:
		msg.Recipient = cust.Phone
	}
	optedOut := false
	var attach []channels.Attachment
	if msg.Recipient != "" {
		if optedOut, err = a.Store.OptedOut(ctx, string(in.Channel), msg.Recipient); err != nil {
			return SendResult{}, err
		}
	}
	switch {
	case inv.BalanceMinor <= 0 || inv.ClosedAt != nil:
		msg.Status, msg.Detail = db.MessageSkipped, "invoice paid or closed"
	case msg.Recipient == "":
		msg.Status, msg.Detail = db.MessageSkipped, fmt.Sprintf("customer has no %s address", in.Channel)
	case optedOut:
		msg.Status, msg.Detail = db.MessageSkipped, fmt.Sprintf("recipient opted out of %s", in.Channel)
	default:
		data := a.templateData(inv, cust, in.Tone, in.Deadline, now, a.link(inv, in.Step, string(in.Channel), in.ScheduledAt))
		if i := in.Instalment; i != nil {
			data.Instalment = money.Display(i.AmountMinor, inv.Currency)
			data.InstalmentDate = i.DueAt.In(customerZone(cust)).Format("Monday, 2 January 2006")
			data.Remaining = money.Display(i.RemainingMinor, inv.Currency)
		}
		r, err := a.Templates.Render(cust.Locale, string(in.Channel), in.Template, data)
		if err != nil {
			return SendResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, err)
		}
		msg.Subject, msg.Body, msg.HTML = r.Subject, r.Body, r.HTML
		if in.Template == StatementTemplate && in.Channel == policy.Email {
			if attach, err = a.statementPDF(ctx, cust, now); err != nil {
				return SendResult{}, err
			}
		}
	}

	var sender channels.Sender
	if msg.Status == db.MessagePending {
		if sender, err = a.Senders.For(in.Channel); err != nil {
			return SendResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, err)
		}
	}
	if msg.Status == db.MessagePending && in.Cap.Max > 0 && in.Template != InvoiceTemplate {
		// The contact cap: too many contacts with this customer lately
		// (across all their invoices) defers the step, on the record. The
		// slot is reserved with the claim, in one transaction per customer,
		// so workers sending for several of the customer's invoices at once
		// cannot each find room.
		res, err := a.Store.ClaimWithinLimit(ctx, msg, db.ContactLimit{Max: in.Cap.Max, Per: in.Cap.Per}, now)
		if err != nil {
			return SendResult{}, err
		}
		if res.Full {
			retry := res.RetryAt
			return SendResult{Status: StatusDeferred, RetryAt: &retry,
				Detail: fmt.Sprintf("contact cap: %d contact(s) with this customer in the last %s", res.Contacts, in.Cap.Per)}, nil
		}
		stored, err := a.settle(ctx, msg, res.Stored, res.Claimed, sender, attach...)
		if err != nil {
			return SendResult{}, fmt.Errorf("send %s: %w", in.Channel, err)
		}
		return SendResult{MessageID: stored.ID, Status: stored.Status, Detail: stored.Detail}, nil
	}
	stored, err := a.deliver(ctx, msg, sender, attach...)
	if err != nil {
		return SendResult{}, fmt.Errorf("send %s: %w", in.Channel, err)
	}
	return SendResult{MessageID: stored.ID, Status: stored.Status, Detail: stored.Detail}, nil
}

// StatementTemplate is the statement of account: its email carries the
// customer's statement as a PDF (documents.Statement), as of the send.
// A policy step that sends it every 30 days is seed 000's "re-bill
// monthly" (docs/policies.md).
const StatementTemplate = "statement"

// statementPDF is the customer's statement of account at now, from the
// business named by Sender, as an email attachment.
func (a *Activities) statementPDF(ctx context.Context, cust *db.Customer, now time.Time) ([]channels.Attachment, error) {
	st, err := documents.LoadStatement(ctx, a.Store, cust.ID, now)
	if err != nil {
		return nil, nonRetryable(err)
	}
	if strings.TrimSpace(a.Sender) != "" {
		st.Seller = a.Sender
	}
	pdf, err := st.PDF()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, err)
	}
	name := "statement-" + now.In(customerZone(cust)).Format("2006-01-02") + ".pdf"
	return []channels.Attachment{{Filename: name, ContentType: "application/pdf", Content: pdf}}, nil
}

// customerZone is the customer's time zone, UTC when unknown.
func customerZone(cust *db.Customer) *time.Location {
	loc, err := time.LoadLocation(cust.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// link is the link a message about inv carries: PaymentLink filled in,
// else the customer's portal link for this message (the same for every
// attempt to send it), else none.
func (a *Activities) link(inv *db.Invoice, step, channel string, scheduledAt time.Time) string {
	if a.PaymentLink != "" || a.Portal == nil || a.Portal.Signer == nil {
		return strings.NewReplacer("{invoice_id}", inv.ID, "{number}", inv.Number).Replace(a.PaymentLink)
	}
	return a.Portal.ForMessage(inv.CustomerID, inv.ID, step, channel, scheduledAt)
}

func (a *Activities) templateData(inv *db.Invoice, cust *db.Customer, tone policy.Tone, deadline *time.Time, now time.Time, link string) templates.Data {
	loc := customerZone(cust)
	overdue := 0
	if now.After(inv.DueAt) {
		overdue = int(now.Sub(inv.DueAt).Hours() / 24)
	}
	dl := ""
	if deadline != nil {
		dl = deadline.In(loc).Format("Monday, 2 January 2006")
	}
	return templates.Data{
		Deadline:      dl,
		Terms:         terms(inv.IssuedAt, inv.DueAt),
		CustomerName:  cust.Name,
		InvoiceNumber: inv.Number,
		Amount:        money.Display(inv.AmountMinor, inv.Currency),
		Balance:       money.Display(inv.BalanceMinor, inv.Currency),
		DueDate:       inv.DueAt.In(loc).Format("Monday, 2 January 2006"),
		DaysOverdue:   overdue,
		PaymentLink:   link,
		Sender:        a.Sender,
		Tone:          string(tone),
	}
}

// terms describes the payment terms from the invoice's dates: "net 30 days",
// or "due on receipt".
func terms(issued, due time.Time) string {
	days := int(due.Sub(issued).Round(24*time.Hour).Hours() / 24)
	switch {
	case days <= 0:
		return "due on receipt"
	case days == 1:
		return "net 1 day"
	}
	return fmt.Sprintf("net %d days", days)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// PaymentInput is one payment against one invoice. Reference identifies it:
// the same reference twice is one payment.
type PaymentInput struct {
	InvoiceID   string
	Reference   string
	AmountMinor int64
	Currency    string
	ReceivedAt  time.Time
}

// PaymentResult is the invoice's balance after the payment.
type PaymentResult struct {
	BalanceMinor int64
	Duplicate    bool
}

// RecordPayment stores a payment once per (invoice, reference) and returns
// the balance the database now holds.
func (a *Activities) RecordPayment(ctx context.Context, in PaymentInput) (PaymentResult, error) {
	bal, dup, err := a.Store.RecordPayment(ctx, &db.Payment{
		ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: in.InvoiceID, Reference: in.Reference,
		AmountMinor: in.AmountMinor, Currency: in.Currency, ReceivedAt: in.ReceivedAt.UTC(),
	}, a.now())
	if err != nil {
		return PaymentResult{}, nonRetryable(err)
	}
	return PaymentResult{BalanceMinor: bal, Duplicate: dup}, nil
}

// PaymentWithStatus is a reported payment, and the status its invoice's
// workflow will have once it has applied it, if the balance comes out at
// Status.BalanceMinor.
type PaymentWithStatus struct {
	Payment PaymentInput
	Status  invoice.Status
}

// PaymentSaved is the balance after the payment, and whether the status
// was saved with it.
type PaymentSaved struct {
	PaymentResult
	Saved bool
}

// RecordPaymentWithStatus records a payment and, in the same transaction,
// saves the status it leads to (as SaveStatus does, followers included)
// when the balance comes out as the status says: one transaction where a
// RecordPayment and a SaveStatus took two. With another balance only the
// payment is recorded, and Saved is false.
func (a *Activities) RecordPaymentWithStatus(ctx context.Context, in PaymentWithStatus) (PaymentSaved, error) {
	res, err := a.Store.RecordPaymentWithStatus(ctx, &db.Payment{
		ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: in.Payment.InvoiceID, Reference: in.Payment.Reference,
		AmountMinor: in.Payment.AmountMinor, Currency: in.Payment.Currency, ReceivedAt: in.Payment.ReceivedAt.UTC(),
	}, in.Status, a.now(), outbound.Events)
	if err != nil {
		return PaymentSaved{}, nonRetryable(err)
	}
	out := PaymentSaved{PaymentResult: PaymentResult{BalanceMinor: res.BalanceMinor, Duplicate: res.Duplicate}, Saved: res.Saved}
	if res.Saved {
		if err := a.afterSave(ctx, in.Status, res.Undispatched); err != nil {
			return PaymentSaved{}, err
		}
	}
	return out, nil
}

// SaveStatus writes the workflow's status of an invoice to the database, so
// the API can answer for closed workflows and list invoices by stage. In the
// same transaction it queues what subscribers should hear (outbound.Events),
// then hands the queued deliveries to their sender.
func (a *Activities) SaveStatus(ctx context.Context, st invoice.Status) error {
	queued, err := a.Store.SaveStatusWithEvents(ctx, st, a.now(), outbound.Events)
	if err != nil {
		return nonRetryable(err)
	}
	return a.afterSave(ctx, st, queued)
}

// afterSave does what follows a saved status, each step idempotent: the
// payment plan's row, the desk's payment-trend task, and the queued
// webhook deliveries handed to their sender.
func (a *Activities) afterSave(ctx context.Context, st invoice.Status, queued []db.WebhookDelivery) error {
	if st.Plan != nil {
		// The plan's row, for the plan-kept report (idempotent).
		if err := a.Store.SavePaymentPlan(ctx, st, a.now()); err != nil {
			return err
		}
	}
	if st.Stage == invoice.StagePaid {
		// A customer who starts paying later gets a call from their
		// account manager (idempotent: keyed on this invoice).
		if t, created, err := desk.AfterPaid(ctx, a.Store, st.InvoiceID, desk.DefaultTrendRule, a.now()); err != nil {
			return err
		} else if created {
			a.log(ctx).Info("payment trend worsening: task created", "invoice_id", st.InvoiceID, "task_id", t.ID, "assignee", t.Assignee)
		}
	}
	return a.dispatch(ctx, queued)
}

// RefundInput is a refund against one invoice (see invoice.Refund).
type RefundInput = invoice.Refund

// RecordRefund stores a refund once and returns the balance afterwards.
func (a *Activities) RecordRefund(ctx context.Context, in RefundInput) (invoice.RefundResult, error) {
	res, err := a.Store.RecordRefund(ctx, in, a.now())
	return res, nonRetryable(err)
}

// log is the activities' logger; its *Context methods add the invoice_id
// and workflow_id of the context's invoice and activity.
func (a *Activities) log(ctx context.Context) *slog.Logger {
	return logging.Wrap(a.Log)
}

// Previewer renders messages with the activities' templates and data. It is
// a type of its own because every method of Activities is registered as an
// activity.
type Previewer struct{ *Activities }

// Preview renders a step's message for an invoice as it would go out now,
// without storing or sending anything.
func (p Previewer) Preview(ctx context.Context, invoiceID, template string, tone policy.Tone, channel policy.Channel) (templates.Rendered, string, error) {
	a := p.Activities
	inv, err := a.Store.GetInvoice(ctx, invoiceID)
	if err != nil {
		return templates.Rendered{}, "", err
	}
	cust, err := a.Store.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return templates.Rendered{}, "", err
	}
	to := cust.Email
	if channel == policy.SMS {
		to = cust.Phone
	}
	now := a.now()
	var deadline *time.Time
	if template == "final_notice" || template == "promise_reminder" {
		d := now.Add(14 * 24 * time.Hour)
		deadline = &d
	}
	r, err := a.Templates.Render(cust.Locale, string(channel), template, a.templateData(inv, cust, tone, deadline, now,
		a.link(inv, "preview-"+template, string(channel), now)))
	return r, to, err
}
