package devstack_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/internal/devstack"
)

const paymentsSecret = "whsec-test-0123456789"

func postPayment(t *testing.T, base string, body map[string]string, ts time.Time, secret string) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+"/webhooks/payments", bytes.NewReader(raw))
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stamp + "."))
	mac.Write(raw)
	req.Header.Set(api.PaymentsTimestampHeader, stamp)
	req.Header.Set(api.PaymentsSignatureHeader, hex.EncodeToString(mac.Sum(nil)))
	return doJSON(t, req)
}

func TestPaymentWebhooksAreVerifiedAppliedOnceAndNeverLost(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{PaymentsSecret: paymentsSecret}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	fastPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	id := newInvoice(c, "PAY-1")
	pay := map[string]string{"event_id": "evt-1", "type": "payment.succeeded", "invoice_number": "PAY-1",
		"amount": "400.00", "currency": "EUR", "reference": "ch_1"}

	for name, tc := range map[string]struct {
		ts     time.Time
		secret string
	}{"wrong secret": {time.Now(), "nope"}, "stale": {time.Now().Add(-time.Hour), paymentsSecret}} {
		if status, _ := postPayment(t, s.APIURL, pay, tc.ts, tc.secret); status != 401 {
			t.Fatalf("%s: %d", name, status)
		}
	}
	for i := range 5 { // the same event five times: applied once
		status, out := postPayment(t, s.APIURL, pay, time.Now(), paymentsSecret)
		want := "accepted"
		if i > 0 {
			want = "duplicate"
		}
		if status != 200 || out["status"] != want {
			t.Fatalf("delivery %d: %d %v", i+1, status, out)
		}
	}
	eventually(t, 20*time.Second, "the balance to fall", func() bool {
		return c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"] == "600.00"
	})
	for _, tc := range []struct {
		change map[string]string
		status string
	}{
		{map[string]string{"event_id": "evt-2", "invoice_number": "NOPE-9"}, "unmatched"},
		{map[string]string{"event_id": "evt-3", "currency": "USD"}, "currency_mismatch"},
	} {
		body := map[string]string{}
		for k, v := range pay {
			body[k] = v
		}
		for k, v := range tc.change {
			body[k] = v
		}
		if status, out := postPayment(t, s.APIURL, body, time.Now(), paymentsSecret); status != 200 || out["status"] != tc.status {
			t.Fatalf("%v: %d %v", tc.change, status, out)
		}
	}
	unmatched := c.must("GET", "/v1/payment-events?status=unmatched", nil, 200)["payment_events"].([]any)
	if len(unmatched) != 1 || unmatched[0].(map[string]any)["invoice_ref"] != "NOPE-9" {
		t.Fatalf("unmatched payments kept for reconciliation: %v", unmatched)
	}
	// An over-payment is money received: applied, the invoice closes, the credit is on the record.
	over := map[string]string{"event_id": "evt-4", "type": "payment.succeeded", "invoice_id": id, "amount": "700.00", "currency": "EUR", "reference": "ch_2"}
	if status, out := postPayment(t, s.APIURL, over, time.Now(), paymentsSecret); status != 200 || out["status"] != "accepted" {
		t.Fatalf("over-payment: %d %v", status, out)
	}
	waitClosed(t, s, id)
	inv := c.must("GET", "/v1/invoices/"+id, nil, 200)
	if inv["stage"] != "paid" || inv["balance"] != "-100.00" {
		t.Fatalf("after the over-payment: %v %v", inv["stage"], inv["balance"])
	}
	found := false
	for _, e := range inv["timeline"].([]any) {
		if d, _ := e.(map[string]any)["detail"].(string); strings.Contains(d, "over-payment of EUR 100.00") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the over-payment is not on the record: %v", inv["timeline"])
	}
	if status, out := postPayment(t, s.APIURL, map[string]string{"event_id": "evt-5", "type": "payment.succeeded", "invoice_id": id,
		"amount": "1.00", "currency": "EUR", "reference": "ch_3"}, time.Now(), paymentsSecret); status != 200 || out["status"] != "invoice_closed" {
		t.Fatalf("payment for a closed invoice: %d %v", status, out)
	}
}

const stripeSecret = "whsec_stripe_test_secret"

func postStripe(t *testing.T, base string, event map[string]any, secret string, at time.Time) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(event)
	req, _ := http.NewRequest("POST", base+"/webhooks/stripe", bytes.NewReader(raw))
	sig := webhook.ComputeSignature(at, raw, secret)
	req.Header.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(sig)))
	return doJSON(t, req)
}

func TestStripePaymentsAreVerifiedAndCountedOnce(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{StripeSecret: stripeSecret}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	fastPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	id := newInvoice(c, "STRIPE-1")
	intent := map[string]any{"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "api_version": "2020-08-27",
		"data": map[string]any{"object": map[string]any{"id": "pi_1", "object": "payment_intent", "amount_received": 25000,
			"currency": "eur", "metadata": map[string]string{"invoice_id": id}}}}
	if status, _ := postStripe(t, s.APIURL, intent, "whsec_wrong", time.Now()); status != 401 {
		t.Fatalf("wrong signature: %d", status)
	}
	if status, _ := postStripe(t, s.APIURL, intent, stripeSecret, time.Now().Add(-time.Hour)); status != 401 {
		t.Fatalf("stale signature: %d", status)
	}
	for i := range 3 {
		status, out := postStripe(t, s.APIURL, intent, stripeSecret, time.Now())
		if status != 200 || (i == 0 && out["status"] != "accepted") || (i > 0 && out["status"] != "duplicate") {
			t.Fatalf("delivery %d: %d %v", i+1, status, out)
		}
	}
	// The checkout session of the same payment names the same intent: counted once.
	session := map[string]any{"id": "evt_2", "object": "event", "type": "checkout.session.completed",
		"data": map[string]any{"object": map[string]any{"id": "cs_1", "object": "checkout.session", "amount_total": 25000,
			"currency": "eur", "payment_status": "paid", "payment_intent": "pi_1", "metadata": map[string]string{"invoice_id": id}}}}
	if status, out := postStripe(t, s.APIURL, session, stripeSecret, time.Now()); status != 200 || out["status"] != "accepted" {
		t.Fatalf("session: %d %v", status, out)
	}
	refund := map[string]any{"id": "evt_3", "object": "event", "type": "charge.refunded",
		"data": map[string]any{"object": map[string]any{"id": "ch_1", "object": "charge", "amount_refunded": 500,
			"currency": "eur", "metadata": map[string]string{"invoice_id": id}}}}
	if status, out := postStripe(t, s.APIURL, refund, stripeSecret, time.Now()); status != 200 || out["status"] != "refund_not_applied" {
		t.Fatalf("refund: %d %v", status, out)
	}
	eventually(t, 20*time.Second, "the Stripe payment on the invoice", func() bool {
		return c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"] == "750.00"
	})
	time.Sleep(500 * time.Millisecond) // the session's signal, if it were counted, would land by now
	if bal := c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"]; bal != "750.00" {
		t.Fatalf("the same payment counted twice: balance %v", bal)
	}
	if events := c.must("GET", "/v1/payment-events", nil, 200)["payment_events"].([]any); len(events) != 3 {
		t.Fatalf("payment events kept: %d", len(events))
	}
}
