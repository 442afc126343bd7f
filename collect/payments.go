package collect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// Invoice loads an invoice by id; NotFound when there is none.
func (s *Service) Invoice(ctx context.Context, id string) (*db.Invoice, error) {
	inv, err := s.Store.GetInvoice(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFoundf("invoice %q not found", id)
	}
	return inv, err
}

// RecordPayment records a payment someone reports against an invoice and
// waits for the new balance.
type RecordPayment struct {
	Actor     Actor
	InvoiceID string
	Amount    string // a decimal string
	Currency  string
	// Reference is the payment's id at the processor or bank: the same
	// reference twice is one payment.
	Reference string
}

// PaymentResult is the invoice after a recorded payment.
type PaymentResult struct {
	Invoice      *db.Invoice
	Reference    string
	AmountMinor  int64
	Currency     string
	BalanceMinor int64
	Stage        invoice.Stage
	// Duplicate: the reference was recorded already; nothing changed.
	Duplicate bool
}

// RecordPayment records a payment through the invoice workflow's update,
// which stores it once and answers with the new balance. At zero the
// workflow ends and nothing more is sent.
func (s *Service) RecordPayment(ctx context.Context, cmd RecordPayment) (PaymentResult, error) {
	inv, err := s.Invoice(ctx, cmd.InvoiceID)
	if err != nil {
		return PaymentResult{}, err
	}
	ref := strings.TrimSpace(cmd.Reference)
	switch {
	case strings.TrimSpace(cmd.Amount) == "":
		return PaymentResult{}, invalidf("amount", "is required, as a decimal string such as \"100.00\"")
	case strings.TrimSpace(cmd.Currency) == "":
		return PaymentResult{}, invalidf("currency", "is required (an ISO 4217 code such as EUR)")
	case ref == "":
		return PaymentResult{}, invalidf("reference", "is required: the payment's id at your processor or bank")
	case len(ref) > 200:
		return PaymentResult{}, invalidf("reference", "is longer than 200 characters")
	}
	cur, err := money.Currency(cmd.Currency)
	if err != nil {
		return PaymentResult{}, invalidf("currency", "%v", err)
	}
	if cur != inv.Currency {
		return PaymentResult{}, invalidf("currency", "invoice is in %s, payment is in %s", inv.Currency, cur)
	}
	amount, err := money.ParseAmount(cmd.Amount, cur)
	if err != nil {
		return PaymentResult{}, invalidf("amount", "%v", err)
	}
	if amount == 0 {
		return PaymentResult{}, invalidf("amount", "must be greater than zero")
	}
	if inv.ClosedAt != nil {
		return PaymentResult{}, closedf("invoice %s is %s; no balance is left to pay", inv.Number, inv.Stage)
	}
	var res workflows.PaymentResponse
	err = s.Workflows.Update(ctx, inv.WorkflowID, workflows.UpdatePayment, "payment:"+ref, workflows.PaymentRequest{
		Reference: ref, AmountMinor: amount, Currency: cur, ReceivedAt: s.now(),
	}, &res)
	if err != nil {
		return PaymentResult{}, fromWorkflow(err, fmt.Sprintf("invoice %s is closed (its workflow has ended)", inv.Number))
	}
	s.log().Info("payment recorded", "invoice_id", inv.ID, "reference", ref, "duplicate", res.Duplicate, "actor", cmd.Actor.String())
	return PaymentResult{Invoice: inv, Reference: ref, AmountMinor: amount, Currency: cur,
		BalanceMinor: res.BalanceMinor, Stage: res.Stage, Duplicate: res.Duplicate}, nil
}

// TakePayment is a payment or refund a processor reports (a verified
// webhook event). The Actor names the processor, which is the event's
// source.
type TakePayment struct {
	Actor   Actor
	EventID string // unique per event at the processor: a repeat is a duplicate
	Refund  bool
	// The invoice, by id or by number; a refund may instead name only the
	// original payment (PaymentRef).
	InvoiceID     string
	InvoiceNumber string
	PaymentRef    string
	// InvoiceRef is the invoice as the event named it, for the record
	// (default: InvoiceID, else InvoiceNumber).
	InvoiceRef  string
	AmountMinor int64
	Currency    string
	Reference   string // the payment's (or the refund's) id at the processor
	ReceivedAt  time.Time
	// Cumulative: AmountMinor is the total refunded on the payment so far
	// (Stripe's charge.refunded), not this refund's amount.
	Cumulative bool
	// Ignore, when set, keeps the event as ignored with this detail and
	// applies nothing.
	Ignore string
}

// TakenPayment is what became of a reported payment.
type TakenPayment struct {
	EventID string
	// Status is the stored event's status (db.PaymentEvent...), or
	// "duplicate" for an event taken before.
	Status string
	Detail string
}

// Duplicate reports whether the event had been taken before.
func (t TakenPayment) Duplicate() bool { return t.Status == "duplicate" }

// TakePayment keeps a reported payment or refund once per (processor, event
// id) with what became of it, and hands an applicable one to the invoice's
// workflow as a signal. An event for no known invoice, in another currency
// or for a closed invoice is kept and answered, not an error: the processor
// must not retry it. Only a failure to deliver the signal is an error
// (Unavailable), after which the event is forgotten so the processor's
// retry comes back. A refund applies to a paid invoice too: it reopens it.
func (s *Service) TakePayment(ctx context.Context, cmd TakePayment) (TakenPayment, error) {
	kind := db.PaymentKindPayment
	if cmd.Refund {
		kind = db.PaymentKindRefund
	}
	ev := &db.PaymentEvent{ID: uuid.Must(uuid.NewV7()).String(), Source: cmd.Actor.Name, Kind: kind, EventID: cmd.EventID,
		InvoiceRef: cmp.Or(cmd.InvoiceRef, cmd.InvoiceID, cmd.InvoiceNumber), AmountMinor: cmd.AmountMinor, Currency: cmd.Currency,
		Reference: cmd.Reference, ReceivedAt: cmd.ReceivedAt}
	if cmd.Ignore != "" {
		ev.Status, ev.Detail = "ignored", cmd.Ignore
	}
	var inv *db.Invoice
	var err error
	switch {
	case cmd.InvoiceID != "":
		inv, err = s.Store.GetInvoice(ctx, cmd.InvoiceID)
	case cmd.InvoiceNumber != "":
		inv, err = s.Store.GetInvoiceByNumber(ctx, cmd.InvoiceNumber)
	case cmd.Refund && cmd.PaymentRef != "":
		inv, err = s.Store.InvoiceForPayment(ctx, cmd.PaymentRef)
	default:
		err = db.ErrNotFound
	}
	switch {
	case ev.Status != "": // ignored
		if inv != nil {
			ev.InvoiceID = inv.ID
		}
	case errors.Is(err, db.ErrNotFound):
		ev.Status, ev.Detail = db.PaymentEventUnmatched, "no invoice "+cmp.Or(ev.InvoiceRef, cmd.PaymentRef, "named")
	case err != nil:
		return TakenPayment{}, err
	case inv.Currency != ev.Currency:
		ev.InvoiceID, ev.Status, ev.Detail = inv.ID, db.PaymentEventCurrencyMismatch, "invoice is in "+inv.Currency
	case inv.ClosedAt != nil && !(cmd.Refund && inv.Stage == invoice.StagePaid):
		ev.InvoiceID, ev.Status, ev.Detail = inv.ID, db.PaymentEventInvoiceClosed, "invoice is "+string(inv.Stage)
	default:
		ev.InvoiceID, ev.Status = inv.ID, db.PaymentEventAccepted
	}
	first, err := s.Store.RecordPaymentEvent(ctx, ev)
	if err != nil {
		return TakenPayment{}, err
	}
	if !first {
		return TakenPayment{EventID: ev.EventID, Status: "duplicate"}, nil
	}
	if ev.Status != db.PaymentEventAccepted {
		s.log().Warn(ev.Kind+" not applied", "source", ev.Source, "event_id", ev.EventID, "status", ev.Status, "detail", ev.Detail)
		return TakenPayment{EventID: ev.EventID, Status: ev.Status, Detail: ev.Detail}, nil
	}
	if cmd.Refund {
		err = s.Workflows.RefundReceived(ctx, inv.WorkflowID, workflows.RefundReceived{Reference: ev.Reference, AmountMinor: ev.AmountMinor,
			Cumulative: cmd.Cumulative, Currency: ev.Currency, ReceivedAt: ev.ReceivedAt, Source: ev.Source})
	} else {
		err = s.Workflows.PaymentReceived(ctx, inv.WorkflowID, workflows.PaymentReceived{
			Reference: ev.Reference, AmountMinor: ev.AmountMinor, Currency: ev.Currency, ReceivedAt: ev.ReceivedAt, Source: ev.Source,
		})
	}
	if err != nil {
		if derr := s.Store.DeletePaymentEvent(context.WithoutCancel(ctx), ev.ID); derr != nil {
			s.log().Error("undelivered payment event kept", "event_id", ev.EventID, "error", derr)
		}
		return TakenPayment{}, unavailablef(err, "%s not delivered to the invoice, retry: %v", ev.Kind, err)
	}
	return TakenPayment{EventID: ev.EventID, Status: ev.Status, Detail: ev.Detail}, nil
}
