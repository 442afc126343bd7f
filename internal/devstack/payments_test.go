package devstack_test

import (
	"bytes"
	"context"
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
	"go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"

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

	// Refunds. Returning the over-payment leaves the invoice paid; returning
	// more reopens it in a new run of its workflow, where chasing resumes.
	refund := func(event, ref, amount string) {
		t.Helper()
		status, out := postPayment(t, s.APIURL, map[string]string{"event_id": event, "type": "payment.refunded", "invoice_id": id,
			"amount": amount, "currency": "EUR", "reference": ref}, time.Now(), paymentsSecret)
		if status != 200 || out["status"] != "accepted" {
			t.Fatalf("refund %s: %d %v", event, status, out)
		}
	}
	refund("evt-6", "re_1", "100.00")
	eventually(t, 20*time.Second, "the over-payment refunded", func() bool {
		return c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"] == "0.00"
	})
	if inv := c.must("GET", "/v1/invoices/"+id, nil, 200); inv["stage"] != "paid" {
		t.Fatalf("refunding the over-payment reopened the invoice: %v", inv["stage"])
	}
	for range 3 { // a refund reported again changes nothing
		if status, out := postPayment(t, s.APIURL, map[string]string{"event_id": "evt-6", "type": "payment.refunded", "invoice_id": id,
			"amount": "100.00", "currency": "EUR", "reference": "re_1"}, time.Now(), paymentsSecret); status != 200 || out["status"] != "duplicate" {
			t.Fatalf("repeated refund: %d %v", status, out)
		}
	}
	refund("evt-7", "re_2", "250.00")
	eventually(t, 30*time.Second, "the refund to reopen the invoice", func() bool {
		inv := c.must("GET", "/v1/invoices/"+id, nil, 200)
		return inv["balance"] == "250.00" && inv["stage"] != "paid" && inv["closed_at"] == nil
	})
	inv = c.must("GET", "/v1/invoices/"+id, nil, 200)
	kinds := []string{}
	for _, e := range inv["timeline"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	if !strings.Contains(strings.Join(kinds, ","), "paid,refund,refund,reopened") {
		t.Fatalf("timeline after the refunds: %v", kinds)
	}
	// The reopened invoice takes payments again and closes again.
	over["event_id"], over["reference"], over["amount"] = "evt-8", "ch_4", "250.00"
	if status, out := postPayment(t, s.APIURL, over, time.Now(), paymentsSecret); status != 200 || out["status"] != "accepted" {
		t.Fatalf("payment on the reopened invoice: %d %v", status, out)
	}
	waitClosed(t, s, id)
	if inv := c.must("GET", "/v1/invoices/"+id, nil, 200); inv["stage"] != "paid" || inv["balance"] != "0.00" {
		t.Fatalf("after paying the reopened invoice: %v %v", inv["stage"], inv["balance"])
	}
	if refunds := c.must("GET", "/v1/payment-events", nil, 200)["payment_events"].([]any); len(refunds) != 8 {
		t.Fatalf("payment events kept: %d", len(refunds))
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
	eventually(t, 20*time.Second, "the Stripe payment on the invoice", func() bool {
		return c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"] == "750.00"
	})
	waitSignalsHandled(t, s.Client, "invoice:"+id, 2) // the intent's and the session's: had the session counted, it has now
	if bal := c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"]; bal != "750.00" {
		t.Fatalf("the same payment counted twice: balance %v", bal)
	}
	// Refunds: a charge's amount_refunded is its running total. Without
	// metadata, the charge's payment intent finds the invoice.
	charge := func(event string, refunded int) map[string]any {
		return map[string]any{"id": event, "object": "event", "type": "charge.refunded",
			"data": map[string]any{"object": map[string]any{"id": "ch_1", "object": "charge", "amount_refunded": refunded,
				"currency": "eur", "payment_intent": "pi_1"}}}
	}
	for _, tc := range []struct {
		event    map[string]any
		status   string
		balance  string
		describe string
	}{
		{charge("evt_3", 500), "accepted", "755.00", "a first refund of 5.00"},
		{charge("evt_3", 500), "duplicate", "755.00", "the same event again"},
		{charge("evt_4", 800), "accepted", "758.00", "the total grows to 8.00: 3.00 more"},
		{charge("evt_5", 500), "accepted", "758.00", "an older total arriving late adds nothing"},
	} {
		if status, out := postStripe(t, s.APIURL, tc.event, stripeSecret, time.Now()); status != 200 || out["status"] != tc.status {
			t.Fatalf("%s: %d %v", tc.describe, status, out)
		}
		eventually(t, 20*time.Second, tc.describe, func() bool {
			return c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"] == tc.balance
		})
	}
	waitSignalsHandled(t, s.Client, "invoice:"+id, 5) // the late total's too: had it counted, it has now
	if bal := c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"]; bal != "758.00" {
		t.Fatalf("refunds counted twice: balance %v", bal)
	}
	if events := c.must("GET", "/v1/payment-events", nil, 200)["payment_events"].([]any); len(events) != 5 {
		t.Fatalf("payment events kept: %d", len(events))
	}
}

// waitSignalsHandled waits until the workflow has received at least n
// signals and handled every one: a workflow task completed after the last,
// and nothing it started is still running. A signal that would change the
// invoice has changed it by then, so a negative can be checked without
// guessing how long to wait.
func waitSignalsHandled(t *testing.T, tc sdkclient.Client, workflowID string, n int) {
	t.Helper()
	ctx := context.Background()
	eventually(t, 30*time.Second, fmt.Sprintf("%s to handle %d signals", workflowID, n), func() bool {
		d, err := tc.DescribeWorkflowExecution(ctx, workflowID, "")
		if err != nil || d.GetPendingWorkflowTask() != nil || len(d.GetPendingActivities()) > 0 {
			return false
		}
		signals, lastSignal, lastTask := 0, int64(0), int64(0)
		it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false
			}
			switch ev.GetEventType() {
			case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				signals++
				lastSignal = ev.GetEventId()
			case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				lastTask = ev.GetEventId()
			}
		}
		return signals >= n && lastTask > lastSignal
	})
}
