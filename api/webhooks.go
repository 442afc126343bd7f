package api

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/webhooks"
	"github.com/collections-engine/collections/workflows"
)

// WebhookConfig holds what verifies provider callbacks. A provider whose
// secret is not configured has its webhook refused: nothing unverified
// reaches a workflow.
type WebhookConfig struct {
	SendGridPublicKey string // SENDGRID_WEBHOOK_PUBLIC_KEY: the event webhook's verification key
	TwilioAuthToken   string // TWILIO_AUTH_TOKEN
	// PublicBaseURL is the URL Twilio calls us at (e.g. https://ar.example.com);
	// Twilio signs the full public URL.
	PublicBaseURL string
	// PaymentsSecret signs POST /webhooks/payments (PAYMENTS_WEBHOOK_SECRET).
	PaymentsSecret string
	// StripeSecret is the signing secret of the Stripe endpoint (STRIPE_WEBHOOK_SECRET).
	StripeSecret string
}

func (s *Server) webhookRoutes(e *echo.Echo) {
	e.POST("/webhooks/sendgrid", s.sendgridEvents)
	e.POST("/webhooks/twilio/status", s.twilioStatus)
	e.POST("/webhooks/twilio/inbound", s.twilioInbound)
	e.POST("/webhooks/payments", s.paymentsWebhook)
	e.POST("/webhooks/stripe", s.stripeWebhook)
}

func unauthorized(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: fmt.Sprintf(format, args...)}
}

// sendgridEvents takes SendGrid's event webhook: a verified batch of
// delivery events, each taken in once (by sg_event_id).
func (s *Server) sendgridEvents(c echo.Context) error {
	if s.Webhooks.SendGridPublicKey == "" {
		return unauthorized("sendgrid webhook refused: SENDGRID_WEBHOOK_PUBLIC_KEY is not configured")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return invalid("body", "could not be read: %v", err)
	}
	h := c.Request().Header
	if err := webhooks.VerifySendGrid(s.Webhooks.SendGridPublicKey, body, h.Get(webhooks.SendGridSignatureHeader),
		h.Get(webhooks.SendGridTimestampHeader), s.now(), webhooks.DefaultTolerance); err != nil {
		return unauthorized("%v", err)
	}
	if err := noNUL(body); err != nil {
		return err
	}
	events, err := webhooks.ParseSendGridEvents(body)
	if err != nil {
		return invalid("body", "%v", err)
	}
	ctx := c.Request().Context()
	var tally webhookTally
	for _, e := range events {
		if e.SGEventID == "" {
			tally.Ignored++
			continue
		}
		first, err := s.Store.FirstWebhookEvent(ctx, "sendgrid", e.SGEventID, s.now())
		if err != nil {
			return err
		}
		if !first {
			tally.Duplicates++
			continue
		}
		msg, err := s.Store.GetMessage(ctx, e.MessageID)
		if errors.Is(err, db.ErrNotFound) || e.MessageID == "" {
			msg, err = s.Store.MessageByProviderID(ctx, "sendgrid", e.ProviderMessageID())
		}
		if errors.Is(err, db.ErrNotFound) {
			s.log().Warn("sendgrid event for an unknown message", "event", e.Event, "sg_event_id", e.SGEventID)
			tally.Unmatched++
			continue
		}
		if err != nil {
			return err
		}
		at := time.Unix(e.Timestamp, 0).UTC()
		if err := s.takeDeliveryEvent(ctx, msg, "sendgrid", e.Event, e.Reason, at); err != nil {
			return err
		}
		if e.Event == "unsubscribe" || e.Event == "spamreport" || e.Event == "group_unsubscribe" {
			if err := s.Store.OptOut(ctx, &db.OptOut{Channel: "email", Address: msg.Recipient, Reason: e.Event, CreatedAt: s.now()}); err != nil {
				return err
			}
		}
		tally.Accepted++
	}
	tally.record(c)
	return c.JSON(http.StatusOK, tally)
}

type webhookTally struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Unmatched  int `json:"unmatched"`
	Ignored    int `json:"ignored"`
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

// takeDeliveryEvent records a provider's event in the message's history,
// moves its status where it matters, and tells the workflow when the
// policy cares (a delivery confirms, a bounce calls for the fallback).
func (s *Server) takeDeliveryEvent(ctx context.Context, msg *db.Message, source, event, detail string, at time.Time) error {
	status, tell := providerStatus(event)
	recorded := status
	if recorded == "" {
		recorded = event
	}
	if err := s.Store.AddMessageEvent(ctx, &db.MessageEvent{ID: uuid.Must(uuid.NewV7()).String(), MessageID: msg.ID,
		Status: recorded, Detail: truncateText(detail, 500), Source: source, OccurredAt: at}, status != ""); err != nil {
		return err
	}
	if tell == "" {
		return nil
	}
	inv, err := s.Store.GetInvoice(ctx, msg.InvoiceID)
	if err != nil || inv.ClosedAt != nil {
		return nil
	}
	step := strings.TrimSuffix(msg.Step, ":fallback")
	if err := s.Temporal.SignalWorkflow(ctx, inv.WorkflowID, "", workflows.SignalDelivery, workflows.Delivery{
		Step: step, Channel: msg.Channel, Status: tell, Detail: detail,
	}); err != nil {
		s.log().Warn("delivery event not signalled", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "message_id", msg.ID, "error", err)
	}
	return nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// twilioForm reads and verifies a Twilio callback: the signature covers the
// public URL and every form field.
func (s *Server) twilioForm(c echo.Context) (url.Values, error) {
	if s.Webhooks.TwilioAuthToken == "" || s.Webhooks.PublicBaseURL == "" {
		return nil, unauthorized("twilio webhook refused: TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL must be configured")
	}
	if err := c.Request().ParseForm(); err != nil {
		return nil, invalid("body", "not a form: %v", err)
	}
	form := c.Request().PostForm
	full := strings.TrimSuffix(s.Webhooks.PublicBaseURL, "/") + c.Request().URL.RequestURI()
	if err := webhooks.VerifyTwilio(s.Webhooks.TwilioAuthToken, full, form, c.Request().Header.Get(webhooks.TwilioSignatureHeader)); err != nil {
		return nil, unauthorized("%v", err)
	}
	if err := cleanValues(form); err != nil {
		return nil, err
	}
	return form, nil
}

// twilioStatus takes Twilio's status callbacks for our SMS.
func (s *Server) twilioStatus(c echo.Context) error {
	form, err := s.twilioForm(c)
	if err != nil {
		return err
	}
	sid, status := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" || status == "" {
		return invalid("MessageSid", "MessageSid and MessageStatus are required")
	}
	ctx := c.Request().Context()
	first, err := s.Store.FirstWebhookEvent(ctx, "twilio", sid+":"+status, s.now())
	if err != nil {
		return err
	}
	if !first {
		webhookResult(c, "duplicate", 1)
		return c.NoContent(http.StatusNoContent)
	}
	msg, err := s.Store.MessageByProviderID(ctx, "twilio", sid)
	if errors.Is(err, db.ErrNotFound) {
		s.log().Warn("twilio status for an unknown message", "sid", sid, "status", status)
		webhookResult(c, "unmatched", 1)
		return c.NoContent(http.StatusNoContent)
	}
	if err != nil {
		return err
	}
	detail := status
	if code := form.Get("ErrorCode"); code != "" {
		detail += " (error " + code + ")"
	}
	if err := s.takeDeliveryEvent(ctx, msg, "twilio", status, detail, s.now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	startWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
)

// twilioInbound takes replies to our SMS: STOP and its synonyms opt the
// number out, START opts it back in; anything else goes into the
// communication log and to the account manager as a task.
func (s *Server) twilioInbound(c echo.Context) error {
	form, err := s.twilioForm(c)
	if err != nil {
		return err
	}
	from, body, sid := form.Get("From"), strings.TrimSpace(form.Get("Body")), form.Get("MessageSid")
	if from == "" || sid == "" {
		return invalid("From", "From and MessageSid are required")
	}
	ctx := c.Request().Context()
	first, err := s.Store.FirstWebhookEvent(ctx, "twilio-inbound", sid, s.now())
	if err != nil {
		return err
	}
	twiml := func() error { return c.Blob(http.StatusOK, "text/xml", []byte("<Response></Response>")) }
	if !first {
		webhookResult(c, "duplicate", 1)
		return twiml()
	}
	word := strings.ToUpper(strings.Trim(body, " .!"))
	switch {
	case stopWords[word]:
		if err := s.Store.OptOut(ctx, &db.OptOut{Channel: "sms", Address: from, Reason: "reply " + word, CreatedAt: s.now()}); err != nil {
			return err
		}
		s.log().Info("sms opt-out", "reply", word)
		return twiml()
	case startWords[word]:
		if err := s.Store.OptIn(ctx, "sms", from); err != nil {
			return err
		}
		return twiml()
	}
	cust, err := s.Store.CustomerByPhone(ctx, from)
	if errors.Is(err, db.ErrNotFound) {
		s.log().Warn("sms reply from an unknown number", "sid", sid)
		return twiml()
	}
	if err != nil {
		return err
	}
	invs, err := s.Store.ListInvoices(ctx, db.InvoiceFilter{CustomerID: cust.ID, Limit: 50})
	if err != nil {
		return err
	}
	if len(invs) == 0 {
		return twiml()
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
		Step: "reply:" + sid, Channel: "sms", Direction: db.Inbound, Recipient: from, Body: body, Status: "received",
		Provider: "twilio", ProviderMessageID: sid, ScheduledAt: now, CreatedAt: now, SentAt: &now}); err != nil {
		return err
	}
	if _, _, err := s.Store.ClaimTask(ctx, &db.Task{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
		Key: "reply:" + sid, Kind: "reply", Assignee: cust.AccountManager, Title: "The customer replied by SMS about invoice " + inv.Number,
		Detail: body, Status: db.TaskOpen, DueAt: now.Add(24 * time.Hour), CreatedAt: now}); err != nil {
		return err
	}
	return twiml()
}

// PaymentWebhook is the body of POST /webhooks/payments, our documented
// format for any payment processor or bank feed. It is signed with
// HMAC-SHA256 over "<timestamp>.<raw body>" with the shared secret
// (PAYMENTS_WEBHOOK_SECRET), sent as hex in X-Collections-Signature with the
// unix timestamp in X-Collections-Timestamp; older than five minutes is
// refused as a replay.
type PaymentWebhook struct {
	EventID string `json:"event_id"` // unique per event: a repeat is ignored
	Type    string `json:"type"`     // payment.succeeded, or payment.refunded for money returned
	// For a refund, Amount is this refund's amount and Reference the
	// refund's id at the processor.
	InvoiceID     string `json:"invoice_id"`
	InvoiceNumber string `json:"invoice_number"` // either this or invoice_id
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Reference     string `json:"reference"` // the payment's id at the processor
	ReceivedAt    string `json:"received_at"`
}

// Signature headers of the payments webhook.
const (
	PaymentsTimestampHeader = "X-Collections-Timestamp"
	PaymentsSignatureHeader = "X-Collections-Signature"
)

// paymentsWebhook takes a processor's payment. Every verified event is kept
// (payment_events) whatever becomes of it: a payment for an unknown
// invoice, in another currency or for a closed invoice is recorded and
// reported with 200, never a retry loop of 5xx; an over-payment is applied
// and closes the invoice with the credit on the record.
func (s *Server) paymentsWebhook(c echo.Context) error {
	if s.Webhooks.PaymentsSecret == "" {
		return unauthorized("payments webhook refused: PAYMENTS_WEBHOOK_SECRET is not configured")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return invalid("body", "could not be read: %v", err)
	}
	h := c.Request().Header
	if err := webhooks.VerifyHMAC([]byte(s.Webhooks.PaymentsSecret), h.Get(PaymentsTimestampHeader), body,
		h.Get(PaymentsSignatureHeader), s.now(), webhooks.DefaultTolerance); err != nil {
		return unauthorized("%v", err)
	}
	var p PaymentWebhook
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	if err := decode(c, &p); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(p.EventID) == "":
		return invalid("event_id", "is required")
	case p.Type != "payment.succeeded" && p.Type != "payment.refunded":
		return invalid("type", "must be payment.succeeded or payment.refunded")
	case strings.TrimSpace(p.Reference) == "":
		return invalid("reference", "is required")
	case p.InvoiceID == "" && p.InvoiceNumber == "":
		return invalid("invoice_id", "invoice_id or invoice_number is required")
	}
	cur, err := money.Currency(p.Currency)
	if err != nil {
		return invalid("currency", "%v", err)
	}
	amount, err := money.ParseAmount(p.Amount, cur)
	if err != nil || amount == 0 {
		return invalid("amount", "must be a positive decimal string in %s's minor units", cur)
	}
	received := s.now()
	if p.ReceivedAt != "" {
		if received, err = parseTime("received_at", p.ReceivedAt); err != nil {
			return err
		}
	}
	kind := db.PaymentKindPayment
	if p.Type == "payment.refunded" {
		kind = db.PaymentKindRefund
	}
	ev := &db.PaymentEvent{Source: "payments", Kind: kind, EventID: p.EventID,
		InvoiceRef: cmp.Or(p.InvoiceID, p.InvoiceNumber), AmountMinor: amount, Currency: cur, Reference: p.Reference, ReceivedAt: received}
	return s.takePayment(c, ev, p.InvoiceID, p.InvoiceNumber, "", false)
}

// takePayment keeps a reported payment or refund once per (source, event
// id) with what became of it, and hands an applicable one to the invoice's
// workflow as a signal. Whatever the outcome it answers 200, so a processor
// never retries into a loop; only a failure to deliver the signal is a 503,
// after which the event is forgotten so the processor's retry comes back.
// A refund may name only the original payment (paymentRef) to find its
// invoice, and applies to a paid invoice too: it reopens it.
func (s *Server) takePayment(c echo.Context, ev *db.PaymentEvent, invoiceID, invoiceNumber, paymentRef string, cumulative bool) error {
	ctx := c.Request().Context()
	ev.ID = uuid.Must(uuid.NewV7()).String()
	refund := ev.Kind == db.PaymentKindRefund
	var inv *db.Invoice
	var err error
	switch {
	case invoiceID != "":
		inv, err = s.Store.GetInvoice(ctx, invoiceID)
	case invoiceNumber != "":
		inv, err = s.Store.GetInvoiceByNumber(ctx, invoiceNumber)
	case refund && paymentRef != "":
		inv, err = s.Store.InvoiceForPayment(ctx, paymentRef)
	default:
		err = db.ErrNotFound
	}
	switch {
	case ev.Status != "": // decided by the caller
		if inv != nil {
			ev.InvoiceID = inv.ID
		}
	case errors.Is(err, db.ErrNotFound):
		ev.Status, ev.Detail = db.PaymentEventUnmatched, "no invoice "+cmp.Or(ev.InvoiceRef, paymentRef, "named")
	case err != nil:
		return err
	case inv.Currency != ev.Currency:
		ev.InvoiceID, ev.Status, ev.Detail = inv.ID, db.PaymentEventCurrencyMismatch, "invoice is in "+inv.Currency
	case inv.ClosedAt != nil && !(refund && inv.Stage == invoice.StagePaid):
		ev.InvoiceID, ev.Status, ev.Detail = inv.ID, db.PaymentEventInvoiceClosed, "invoice is "+string(inv.Stage)
	default:
		ev.InvoiceID, ev.Status = inv.ID, db.PaymentEventAccepted
	}
	first, err := s.Store.RecordPaymentEvent(ctx, ev)
	if err != nil {
		return err
	}
	if !first {
		webhookResult(c, "duplicate", 1)
		return c.JSON(http.StatusOK, map[string]any{"event_id": ev.EventID, "status": "duplicate"})
	}
	if ev.Status == db.PaymentEventAccepted {
		if refund {
			err = s.signalRefund(ctx, inv, workflows.RefundReceived{Reference: ev.Reference, AmountMinor: ev.AmountMinor,
				Cumulative: cumulative, Currency: ev.Currency, ReceivedAt: ev.ReceivedAt, Source: ev.Source})
		} else {
			err = s.Temporal.SignalWorkflow(ctx, inv.WorkflowID, "", workflows.SignalPayment, workflows.PaymentReceived{
				Reference: ev.Reference, AmountMinor: ev.AmountMinor, Currency: ev.Currency, ReceivedAt: ev.ReceivedAt, Source: ev.Source,
			})
		}
		if err != nil {
			_ = s.Store.DeletePaymentEvent(context.WithoutCancel(ctx), ev.ID)
			return unavailable("%s not delivered to the invoice, retry: %v", ev.Kind, err)
		}
	} else {
		s.log().Warn(ev.Kind+" not applied", "source", ev.Source, "event_id", ev.EventID, "status", ev.Status, "detail", ev.Detail)
	}
	webhookResult(c, ev.Status, 1)
	return c.JSON(http.StatusOK, map[string]any{"event_id": ev.EventID, "status": ev.Status, "detail": ev.Detail})
}

// PaymentEventView is a reported payment and what became of it.
type PaymentEventView struct {
	EventID    string    `json:"event_id"`
	Source     string    `json:"source"`
	Kind       string    `json:"kind"` // payment or refund
	InvoiceID  string    `json:"invoice_id,omitempty"`
	InvoiceRef string    `json:"invoice_ref"`
	Amount     string    `json:"amount"`
	Currency   string    `json:"currency"`
	Reference  string    `json:"reference"`
	Status     string    `json:"status"`
	Detail     string    `json:"detail,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// listPaymentEvents lists reported payments (?status=unmatched for the ones
// a person must reconcile).
func (s *Server) listPaymentEvents(c echo.Context) error {
	list, err := s.Store.ListPaymentEvents(c.Request().Context(), c.QueryParam("status"), 500)
	if err != nil {
		return err
	}
	out := make([]PaymentEventView, 0, len(list))
	for _, e := range list {
		out = append(out, PaymentEventView{EventID: e.EventID, Source: e.Source, Kind: e.Kind, InvoiceID: e.InvoiceID, InvoiceRef: e.InvoiceRef,
			Amount: money.FormatAmount(e.AmountMinor, e.Currency), Currency: e.Currency, Reference: e.Reference,
			Status: e.Status, Detail: e.Detail, ReceivedAt: e.ReceivedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"payment_events": out})
}
