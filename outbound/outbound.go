// Package outbound tells subscribers what happens to invoices: the events a
// webhook subscription can name, the JSON each delivery carries, and the
// signed HTTP request that delivers it. Deliveries are queued in the same
// transaction as the status save that produced them and retried with
// backoff by a Temporal workflow (workflows.WebhookDelivery).
package outbound

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/webhooks"
)

// Event types a subscription can name.
const (
	StageChanged    = "invoice.stage_changed"
	PaymentRecorded = "payment.recorded"
	PaymentRefunded = "payment.refunded"
	DisputeOpened   = "dispute.opened"
	DisputeResolved = "dispute.resolved"
	PromiseBroken   = "promise.broken"
	AgencyPlaced    = "invoice.placed_with_agency"
	// Payment plans (outbound/plans.go).
	PlanProposed     = "plan.proposed"
	PlanAgreed       = "plan.agreed"
	PlanApproved     = "plan.approved"
	PlanDeclined     = "plan.declined"
	PlanCancelled    = "plan.cancelled"
	InstalmentPaid   = "plan.instalment_paid"
	InstalmentMissed = "plan.instalment_missed"
	PlanBroken       = "plan.broken"
	PlanCompleted    = "plan.completed"
)

// Types lists every event type, in the order the docs present them.
var Types = []string{StageChanged, PaymentRecorded, PaymentRefunded, DisputeOpened, DisputeResolved, PromiseBroken, AgencyPlaced,
	PlanProposed, PlanAgreed, PlanApproved, PlanDeclined, PlanCancelled, InstalmentPaid, InstalmentMissed, PlanBroken, PlanCompleted}

// timelineTypes maps the timeline events that subscribers hear about.
var timelineTypes = map[string]string{
	invoice.EventPayment:         PaymentRecorded,
	invoice.EventRefund:          PaymentRefunded,
	invoice.EventDisputeOpened:   DisputeOpened,
	invoice.EventDisputeResolved: DisputeResolved,
	invoice.EventPromiseBroken:   PromiseBroken,
	invoice.EventAgencyPlaced:    AgencyPlaced,

	invoice.EventPlanProposed:     PlanProposed,
	invoice.EventPlanAgreed:       PlanAgreed,
	invoice.EventPlanApproved:     PlanApproved,
	invoice.EventPlanDeclined:     PlanDeclined,
	invoice.EventPlanCancelled:    PlanCancelled,
	invoice.EventInstalmentPaid:   InstalmentPaid,
	invoice.EventInstalmentMissed: InstalmentMissed,
	invoice.EventPlanBroken:       PlanBroken,
	invoice.EventPlanCompleted:    PlanCompleted,
}

// Payload is the JSON body of every delivery.
type Payload struct {
	ID        string    `json:"id"` // the event's id: the same event never comes with another
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      Data      `json:"data"`
}

// Data describes the invoice and what happened to it. Amounts are decimal
// strings in the invoice's currency, as everywhere in the API.
type Data struct {
	InvoiceID     string `json:"invoice_id"`
	InvoiceNumber string `json:"invoice_number"`
	CustomerID    string `json:"customer_id"`
	Stage         string `json:"stage"`
	PreviousStage string `json:"previous_stage,omitempty"` // stage changes
	Balance       string `json:"balance"`
	Currency      string `json:"currency"`
	Amount        string `json:"amount,omitempty"`    // payments, refunds, broken promises
	Reference     string `json:"reference,omitempty"` // payments and refunds
	Outcome       string `json:"outcome,omitempty"`   // a dispute's reason or resolution
	Detail        string `json:"detail,omitempty"`
}

// Events returns the outbound events a status save brings: one per new
// timeline event of a kind subscribers hear about, and a stage change when
// the stage moved. It is a db.EventsFunc.
func Events(inv *db.Invoice, st invoice.Status) []db.OutboundEvent {
	var out []db.OutboundEvent
	base := Data{InvoiceID: inv.ID, InvoiceNumber: inv.Number, CustomerID: inv.CustomerID, Stage: string(st.Stage),
		Balance: money.FormatAmount(st.BalanceMinor, st.Currency), Currency: st.Currency}
	for i := inv.EventsPublished; i < len(st.Timeline); i++ {
		e := st.Timeline[i]
		typ, ok := timelineTypes[e.Kind]
		if !ok || (e.Kind == invoice.EventPayment && e.Outcome == "not applied") {
			continue
		}
		d := base
		d.Reference, d.Detail, d.Outcome = e.Reference, e.Detail, e.Outcome
		if e.AmountMinor != 0 {
			d.Amount = money.FormatAmount(e.AmountMinor, st.Currency)
		}
		if e.BalanceMinor != nil {
			d.Balance = money.FormatAmount(*e.BalanceMinor, st.Currency)
		}
		out = append(out, event(inv.ID+":"+strconv.Itoa(i), typ, e.At, d))
	}
	if inv.Stage != st.Stage && inv.Stage != "" {
		d := base
		d.PreviousStage = string(inv.Stage)
		at := st.ClosedAt
		if at == nil && len(st.Timeline) > 0 {
			at = &st.Timeline[len(st.Timeline)-1].At
		}
		var when time.Time
		if at != nil {
			when = *at
		}
		out = append(out, event(fmt.Sprintf("%s:stage:%d:%s", inv.ID, len(st.Timeline), st.Stage), StageChanged, when, d))
	}
	return out
}

func event(id, typ string, at time.Time, d Data) db.OutboundEvent {
	body, _ := json.Marshal(Payload{ID: id, Type: typ, CreatedAt: at.UTC(), Data: d}) // plain strings: cannot fail
	return db.OutboundEvent{ID: id, Type: typ, At: at, Payload: body}
}

// Headers of a delivery. The signature is HMAC-SHA256, in hex, over
// "<timestamp>.<body>" with the subscription's secret: the same scheme our
// inbound payments webhook verifies (webhooks.VerifyHMAC).
const (
	EventHeader     = "X-Collections-Event"
	DeliveryHeader  = "X-Collections-Delivery"
	TimestampHeader = "X-Collections-Timestamp"
	SignatureHeader = "X-Collections-Signature"
)

// Attempt is what one try at a delivery did.
type Attempt struct {
	StatusCode int
	Err        error
	Duration   time.Duration
}

// Delivered reports whether the subscriber accepted the delivery.
func (a Attempt) Delivered() bool { return a.Err == nil && a.StatusCode >= 200 && a.StatusCode < 300 }

// ErrNotAccepted is the error of an attempt the subscriber answered with a
// status other than 2xx.
var ErrNotAccepted = errors.New("subscriber did not accept the delivery")

// Send posts a delivery to its subscription's URL, signed, and reports what
// happened. It never follows the subscriber's answer beyond its status.
func Send(ctx context.Context, client *http.Client, d *db.WebhookDelivery, sub *db.WebhookSubscription, now time.Time) Attempt {
	start := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader([]byte(d.Payload)))
	if err != nil {
		return Attempt{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "collections-webhooks/1")
	req.Header.Set(EventHeader, d.EventType)
	req.Header.Set(DeliveryHeader, d.ID)
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, hex.EncodeToString(webhooks.SignHMAC([]byte(sub.Secret), ts, []byte(d.Payload))))
	res, err := client.Do(req)
	a := Attempt{Duration: time.Since(start), Err: err}
	if err != nil {
		return a
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	a.StatusCode = res.StatusCode
	if !a.Delivered() {
		a.Err = fmt.Errorf("%w: HTTP %d", ErrNotAccepted, res.StatusCode)
	}
	return a
}
