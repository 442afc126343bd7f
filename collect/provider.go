package collect

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/workflows"
)

// Outcome is what became of a provider's event.
type Outcome string

const (
	Accepted  Outcome = "accepted"
	Duplicate Outcome = "duplicate" // taken before: nothing done again
	Unmatched Outcome = "unmatched" // about no message or customer of ours
)

// DeliveryEvent is a message provider's report on one of our messages
// (SendGrid's event webhook, Twilio's status callback). The Actor names the
// provider; EventID, unique per event at the provider, makes a repeat a
// Duplicate.
type DeliveryEvent struct {
	Actor   Actor
	EventID string
	// The message: by our id when the provider echoes it, else by the
	// provider's message id.
	MessageID         string
	ProviderMessageID string
	Event             string // the provider's name for it: delivered, bounce, undelivered ...
	Detail            string
	At                time.Time
	// OptOut: the recipient asked for no more email (unsubscribe, spam
	// report).
	OptOut bool
}

// TakeDeliveryEvent records a provider's event in the message's history,
// moves the message's status where it matters, and tells the workflow when
// the policy cares (a delivery confirms, a bounce calls for the fallback).
func (s *Service) TakeDeliveryEvent(ctx context.Context, e DeliveryEvent) (Outcome, error) {
	provider := e.Actor.Name
	first, err := s.Store.FirstWebhookEvent(ctx, provider, e.EventID, s.now())
	if err != nil {
		return "", err
	}
	if !first {
		return Duplicate, nil
	}
	msg, err := (*db.Message)(nil), error(db.ErrNotFound)
	if e.MessageID != "" {
		msg, err = s.Store.GetMessage(ctx, e.MessageID)
	}
	if errors.Is(err, db.ErrNotFound) {
		msg, err = s.Store.MessageByProviderID(ctx, provider, e.ProviderMessageID)
	}
	if errors.Is(err, db.ErrNotFound) {
		s.log().Warn(provider+" event for an unknown message", "event", e.Event, "event_id", e.EventID)
		return Unmatched, nil
	}
	if err != nil {
		return "", err
	}
	status, tell := providerStatus(e.Event)
	recorded := status
	if recorded == "" {
		recorded = e.Event
	}
	if err := s.Store.AddMessageEvent(ctx, &db.MessageEvent{ID: uuid.Must(uuid.NewV7()).String(), MessageID: msg.ID,
		Status: recorded, Detail: truncate(e.Detail, 500), Source: provider, OccurredAt: e.At}, status != ""); err != nil {
		return "", err
	}
	if tell != "" {
		s.tellDelivery(ctx, msg, tell, e.Detail)
	}
	if e.OptOut {
		if err := s.Store.OptOut(ctx, &db.OptOut{Channel: "email", Address: msg.Recipient, Reason: e.Event, CreatedAt: s.now()}); err != nil {
			return "", err
		}
	}
	return Accepted, nil
}

// tellDelivery signals a delivery or a bounce to the message's invoice while
// it is open. The event is recorded already: a signal that fails is logged.
func (s *Service) tellDelivery(ctx context.Context, msg *db.Message, tell, detail string) {
	inv, err := s.Store.GetInvoice(ctx, msg.InvoiceID)
	if err != nil || inv.ClosedAt != nil {
		return
	}
	step := strings.TrimSuffix(msg.Step, ":fallback")
	if err := s.Workflows.Delivered(ctx, inv.WorkflowID, workflows.Delivery{
		Step: step, Channel: msg.Channel, Status: tell, Detail: detail,
	}); err != nil {
		s.log().Warn("delivery event not signalled", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "message_id", msg.ID, "error", err)
	}
}

// providerStatus maps a provider's event to our message status and to what
// the workflow is told ("" for nothing).
func providerStatus(event string) (status, tell string) {
	switch event {
	case "delivered":
		return db.MessageDelivered, workflows.DeliveryDelivered
	case "bounce", "dropped", "undelivered", "failed":
		return "bounced", workflows.DeliveryBounced
	}
	return "", ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// SMSReply is a text message a customer sent in reply to ours (Twilio's
// inbound webhook). The Actor names the provider.
type SMSReply struct {
	Actor Actor
	SID   string // the provider's message id: a repeat is a Duplicate
	From  string // E.164
	Body  string
}

// Reply outcomes beyond Accepted, Duplicate and Unmatched.
const (
	OptedOut Outcome = "opted_out" // STOP or a synonym
	OptedIn  Outcome = "opted_in"  // START or a synonym
)

var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	startWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
)

// TakeSMSReply takes a reply to our SMS: STOP and its synonyms opt the
// number out, START opts it back in; anything else goes into the
// communication log of the customer's newest open invoice and to the
// account manager as a task. A number of no customer's is Unmatched.
func (s *Service) TakeSMSReply(ctx context.Context, r SMSReply) (Outcome, error) {
	provider := r.Actor.Name
	first, err := s.Store.FirstWebhookEvent(ctx, provider+"-inbound", r.SID, s.now())
	if err != nil {
		return "", err
	}
	if !first {
		return Duplicate, nil
	}
	body := strings.TrimSpace(r.Body)
	word := strings.ToUpper(strings.Trim(body, " .!"))
	switch {
	case stopWords[word]:
		if err := s.Store.OptOut(ctx, &db.OptOut{Channel: "sms", Address: r.From, Reason: "reply " + word, CreatedAt: s.now()}); err != nil {
			return "", err
		}
		s.log().Info("sms opt-out", "reply", word)
		return OptedOut, nil
	case startWords[word]:
		if err := s.Store.OptIn(ctx, "sms", r.From); err != nil {
			return "", err
		}
		return OptedIn, nil
	}
	cust, err := s.Store.CustomerByPhone(ctx, r.From)
	if errors.Is(err, db.ErrNotFound) {
		s.log().Warn("sms reply from an unknown number", "sid", r.SID)
		return Unmatched, nil
	}
	if err != nil {
		return "", err
	}
	invs, err := s.Store.ListInvoices(ctx, db.InvoiceFilter{CustomerID: cust.ID, Limit: 50})
	if err != nil {
		return "", err
	}
	if len(invs) == 0 {
		return Unmatched, nil
	}
	inv := invs[0] // the newest; an open one if there is any
	for i := range invs {
		if invs[i].ClosedAt == nil {
			inv = invs[i]
			break
		}
	}
	now := s.now()
	if err := s.Store.InsertMessage(ctx, &db.Message{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
		Step: "reply:" + r.SID, Channel: "sms", Direction: db.Inbound, Recipient: r.From, Body: body, Status: "received",
		Provider: provider, ProviderMessageID: r.SID, ScheduledAt: now, CreatedAt: now, SentAt: &now}); err != nil {
		return "", err
	}
	if _, _, err := s.Store.ClaimTask(ctx, &db.Task{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
		Key: "reply:" + r.SID, Kind: "reply", Assignee: cust.AccountManager, Title: "The customer replied by SMS about invoice " + inv.Number,
		Detail: body, Status: db.TaskOpen, DueAt: now.Add(24 * time.Hour), CreatedAt: now}); err != nil {
		return "", err
	}
	return Accepted, nil
}
