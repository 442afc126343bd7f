package hooks

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/collections-engine/collections/api/wire"
	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/money"
)

// Stripe: payment_intent.succeeded, checkout.session.completed and
// charge.refunded, verified with stripe-go's webhook package (signature
// over the raw body, timestamp tolerance) and matched to our invoice by the
// metadata the payment link sets: invoice_id (or invoice_number). Stripe
// amounts are already in minor units.

// stripeObject is the part of a PaymentIntent, Checkout Session or Charge
// that we read; decoding only these keeps us independent of Stripe's API
// version.
type stripeObject struct {
	ID             string            `json:"id"`
	AmountReceived int64             `json:"amount_received"` // PaymentIntent
	AmountTotal    int64             `json:"amount_total"`    // Checkout Session
	AmountRefunded int64             `json:"amount_refunded"` // Charge
	Currency       string            `json:"currency"`
	PaymentStatus  string            `json:"payment_status"` // Checkout Session: paid
	PaymentIntent  json.RawMessage   `json:"payment_intent"` // an id or an expanded object
	Metadata       map[string]string `json:"metadata"`
	Created        int64             `json:"created"`
}

func (h *Hooks) stripeWebhook(c echo.Context) error {
	if h.Config.StripeSecret == "" {
		return unauthorized("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not configured")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return wire.Invalid("body", "could not be read: %v", err)
	}
	event, err := webhook.ConstructEventWithOptions(body, c.Request().Header.Get("Stripe-Signature"), h.Config.StripeSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return unauthorized("stripe webhook: %v", err)
	}
	if err := wire.NoNUL(body); err != nil {
		return err
	}
	if event.Data == nil {
		return wire.Invalid("data", "the event has no object")
	}
	var obj stripeObject
	if err := json.Unmarshal(event.Data.Raw, &obj); err != nil {
		return wire.Invalid("data.object", "unreadable: %v", err)
	}
	cur, err := money.Currency(obj.Currency)
	if err != nil {
		return wire.Invalid("data.object.currency", "%v", err)
	}
	received := time.Unix(obj.Created, 0).UTC()
	if obj.Created == 0 {
		received = h.now()
	}
	cmd := collect.TakePayment{Actor: providerActor("stripe"), EventID: event.ID, Currency: cur, Reference: obj.ID, ReceivedAt: received,
		InvoiceID: obj.Metadata["invoice_id"], InvoiceNumber: strings.TrimSpace(obj.Metadata["invoice_number"]),
		InvoiceRef: cmp.Or(obj.Metadata["invoice_id"], obj.Metadata["invoice_number"])}
	var paymentIntent string
	_ = json.Unmarshal(obj.PaymentIntent, &paymentIntent) // absent, or expanded: the metadata names the invoice then
	switch string(event.Type) {
	case "payment_intent.succeeded":
		cmd.AmountMinor = obj.AmountReceived
	case "checkout.session.completed":
		if obj.PaymentStatus != "paid" {
			webhookResult(c, "ignored", 1)
			return c.JSON(http.StatusOK, map[string]any{"event_id": event.ID, "status": "ignored", "detail": "session not paid"})
		}
		cmd.AmountMinor = obj.AmountTotal
		// A session and its payment intent may both be reported: the
		// intent's id is the reference, so the payment counts once.
		cmd.Reference = cmp.Or(paymentIntent, cmd.Reference)
	case "charge.refunded":
		// amount_refunded is the charge's total refunded so far: the
		// workflow applies what exceeds the refunds already recorded for
		// this charge. Without metadata the charge's payment intent (the
		// payment's reference) finds the invoice.
		cmd.Refund, cmd.Cumulative, cmd.AmountMinor, cmd.PaymentRef = true, true, obj.AmountRefunded, paymentIntent
	default:
		webhookResult(c, "ignored", 1)
		return c.JSON(http.StatusOK, map[string]any{"event_id": event.ID, "status": "ignored", "detail": "event type " + string(event.Type) + " is not used"})
	}
	if cmd.AmountMinor <= 0 {
		cmd.Ignore = "no amount"
	}
	return h.takePayment(c, cmd)
}
