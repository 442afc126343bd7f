package hooks

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/api/wire"
	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/webhooks"
)

// Config holds what verifies provider callbacks. A provider whose secret is
// not configured has its webhook refused: nothing unverified reaches a
// workflow.
type Config struct {
	SendGridPublicKey string // SENDGRID_WEBHOOK_PUBLIC_KEY: the event webhook's verification key
	TwilioAuthToken   string // TWILIO_AUTH_TOKEN
	// PublicBaseURL is the URL Twilio calls us at (e.g. https://ar.example.com);
	// Twilio signs the full public URL.
	PublicBaseURL string
	// PaymentsSecret signs POST /webhooks/payments (PAYMENTS_WEBHOOK_SECRET).
	PaymentsSecret string
	// StripeSecret is the signing secret of the Stripe endpoint (STRIPE_WEBHOOK_SECRET).
	StripeSecret string
	// Inbound email (inbound.go): the domain replies come to
	// (INBOUND_EMAIL_DOMAIN), the key of its reply-to tags
	// (INBOUND_EMAIL_SECRET), and the secret SendGrid Inbound Parse posts
	// with (INBOUND_PARSE_SECRET).
	InboundDomain, InboundSecret, InboundParseSecret string
}

// Hooks serves the provider webhooks: payment processors (our signed
// format, Stripe), SendGrid's event webhook and Twilio's callbacks. Each
// request is verified and decoded, then handed to one business action,
// whose failure is returned as it is for the front door's error handler
// to answer (the API's, which serves these routes).
type Hooks struct {
	Config Config
	// Cases returns the business actions.
	Cases func() *collect.Service
	Clock func() time.Time
	Log   *slog.Logger
}

// Routes lists every provider webhook, under /webhooks/.
func (h *Hooks) Routes(e *echo.Echo) {
	e.POST("/webhooks/sendgrid", h.sendgridEvents)
	e.POST("/webhooks/twilio/status", h.twilioStatus)
	e.POST("/webhooks/twilio/inbound", h.twilioInbound)
	e.POST("/webhooks/payments", h.paymentsWebhook)
	e.POST("/webhooks/stripe", h.stripeWebhook)
	e.POST(InboundPath, h.sendgridInbound)
	e.POST(InboundPath+"/:secret", h.sendgridInbound)
}

func (h *Hooks) now() time.Time {
	if h.Clock != nil {
		return h.Clock().UTC()
	}
	return time.Now().UTC()
}

func unauthorized(format string, args ...any) *wire.Error {
	return &wire.Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: fmt.Sprintf(format, args...)}
}

func providerActor(name string) collect.Actor {
	return collect.Actor{Kind: collect.ActorProvider, Name: name}
}

// sendgridEvents takes SendGrid's event webhook: a verified batch of
// delivery events, each taken in once (by sg_event_id).
func (h *Hooks) sendgridEvents(c echo.Context) error {
	if h.Config.SendGridPublicKey == "" {
		return unauthorized("sendgrid webhook refused: SENDGRID_WEBHOOK_PUBLIC_KEY is not configured")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return wire.Invalid("body", "could not be read: %v", err)
	}
	hdr := c.Request().Header
	if err := webhooks.VerifySendGrid(h.Config.SendGridPublicKey, body, hdr.Get(webhooks.SendGridSignatureHeader),
		hdr.Get(webhooks.SendGridTimestampHeader), h.now(), webhooks.DefaultTolerance); err != nil {
		return unauthorized("%v", err)
	}
	if err := wire.NoNUL(body); err != nil {
		return err
	}
	events, err := webhooks.ParseSendGridEvents(body)
	if err != nil {
		return wire.Invalid("body", "%v", err)
	}
	ctx := c.Request().Context()
	var tally webhookTally
	for _, e := range events {
		if e.SGEventID == "" {
			tally.Ignored++
			continue
		}
		outcome, err := h.Cases().TakeDeliveryEvent(ctx, collect.DeliveryEvent{Actor: providerActor("sendgrid"), EventID: e.SGEventID,
			MessageID: e.MessageID, ProviderMessageID: e.ProviderMessageID(), Event: e.Event, Detail: e.Reason,
			At: time.Unix(e.Timestamp, 0).UTC(), OptOut: e.Event == "unsubscribe" || e.Event == "spamreport" || e.Event == "group_unsubscribe"})
		if err != nil {
			return err
		}
		switch outcome {
		case collect.Duplicate:
			tally.Duplicates++
		case collect.Unmatched:
			tally.Unmatched++
		default:
			tally.Accepted++
		}
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

// twilioForm reads and verifies a Twilio callback: the signature covers the
// public URL and every form field.
func (h *Hooks) twilioForm(c echo.Context) (url.Values, error) {
	if h.Config.TwilioAuthToken == "" || h.Config.PublicBaseURL == "" {
		return nil, unauthorized("twilio webhook refused: TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL must be configured")
	}
	if err := c.Request().ParseForm(); err != nil {
		return nil, wire.Invalid("body", "not a form: %v", err)
	}
	form := c.Request().PostForm
	full := strings.TrimSuffix(h.Config.PublicBaseURL, "/") + c.Request().URL.RequestURI()
	if err := webhooks.VerifyTwilio(h.Config.TwilioAuthToken, full, form, c.Request().Header.Get(webhooks.TwilioSignatureHeader)); err != nil {
		return nil, unauthorized("%v", err)
	}
	if err := wire.CleanValues(form); err != nil {
		return nil, err
	}
	return form, nil
}

// twilioStatus takes Twilio's status callbacks for our SMS.
func (h *Hooks) twilioStatus(c echo.Context) error {
	form, err := h.twilioForm(c)
	if err != nil {
		return err
	}
	sid, status := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" || status == "" {
		return wire.Invalid("MessageSid", "MessageSid and MessageStatus are required")
	}
	detail := status
	if code := form.Get("ErrorCode"); code != "" {
		detail += " (error " + code + ")"
	}
	outcome, err := h.Cases().TakeDeliveryEvent(c.Request().Context(), collect.DeliveryEvent{Actor: providerActor("twilio"),
		EventID: sid + ":" + status, ProviderMessageID: sid, Event: status, Detail: detail, At: h.now()})
	if err != nil {
		return err
	}
	if outcome != collect.Accepted {
		webhookResult(c, string(outcome), 1)
	}
	return c.NoContent(http.StatusNoContent)
}

// twilioInbound takes replies to our SMS: STOP and its synonyms opt the
// number out, START opts it back in; anything else goes into the
// communication log and to the account manager as a task.
func (h *Hooks) twilioInbound(c echo.Context) error {
	form, err := h.twilioForm(c)
	if err != nil {
		return err
	}
	from, body, sid := form.Get("From"), strings.TrimSpace(form.Get("Body")), form.Get("MessageSid")
	if from == "" || sid == "" {
		return wire.Invalid("From", "From and MessageSid are required")
	}
	outcome, err := h.Cases().TakeSMSReply(c.Request().Context(), collect.SMSReply{Actor: providerActor("twilio"), SID: sid, From: from, Body: body})
	if err != nil {
		return err
	}
	if outcome == collect.Duplicate {
		webhookResult(c, "duplicate", 1)
	}
	return c.Blob(http.StatusOK, "text/xml", []byte("<Response></Response>"))
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
func (h *Hooks) paymentsWebhook(c echo.Context) error {
	if h.Config.PaymentsSecret == "" {
		return unauthorized("payments webhook refused: PAYMENTS_WEBHOOK_SECRET is not configured")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return wire.Invalid("body", "could not be read: %v", err)
	}
	hdr := c.Request().Header
	if err := webhooks.VerifyHMAC([]byte(h.Config.PaymentsSecret), hdr.Get(PaymentsTimestampHeader), body,
		hdr.Get(PaymentsSignatureHeader), h.now(), webhooks.DefaultTolerance); err != nil {
		return unauthorized("%v", err)
	}
	var p PaymentWebhook
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	if err := wire.Decode(c, &p); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(p.EventID) == "":
		return wire.Invalid("event_id", "is required")
	case p.Type != "payment.succeeded" && p.Type != "payment.refunded":
		return wire.Invalid("type", "must be payment.succeeded or payment.refunded")
	case strings.TrimSpace(p.Reference) == "":
		return wire.Invalid("reference", "is required")
	case p.InvoiceID == "" && p.InvoiceNumber == "":
		return wire.Invalid("invoice_id", "invoice_id or invoice_number is required")
	}
	cur, err := money.Currency(p.Currency)
	if err != nil {
		return wire.Invalid("currency", "%v", err)
	}
	amount, err := money.ParseAmount(p.Amount, cur)
	if err != nil || amount == 0 {
		return wire.Invalid("amount", "must be a positive decimal string in %s's minor units", cur)
	}
	received := h.now()
	if p.ReceivedAt != "" {
		if received, err = collect.ParseTime("received_at", p.ReceivedAt); err != nil {
			return err
		}
	}
	return h.takePayment(c, collect.TakePayment{Actor: providerActor("payments"), EventID: p.EventID, Refund: p.Type == "payment.refunded",
		InvoiceID: p.InvoiceID, InvoiceNumber: p.InvoiceNumber, AmountMinor: amount, Currency: cur, Reference: p.Reference, ReceivedAt: received})
}

// takePayment hands a processor's verified payment or refund to the
// business action. Whatever becomes of it, the answer is 200 with its
// status, so a processor never retries into a loop; only a failure to
// deliver it to the invoice is a 503, after which the processor's retry
// comes back.
func (h *Hooks) takePayment(c echo.Context, cmd collect.TakePayment) error {
	res, err := h.Cases().TakePayment(c.Request().Context(), cmd)
	if err != nil {
		return err
	}
	webhookResult(c, res.Status, 1)
	if res.Duplicate() {
		return c.JSON(http.StatusOK, map[string]any{"event_id": res.EventID, "status": "duplicate"})
	}
	return c.JSON(http.StatusOK, map[string]any{"event_id": res.EventID, "status": res.Status, "detail": res.Detail})
}
