package devstack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/outbound"
	"github.com/collections-engine/collections/webhooks"
	"github.com/collections-engine/collections/workflows"
)

// TestOutboundWebhooksAreSignedRetriedAndListed subscribes a receiver that
// refuses each delivery's first attempt, drives an invoice through a dispute
// to payment, and checks every event arrived signed, once accepted, with
// both attempts listed.
func TestOutboundWebhooksAreSignedRetriedAndListed(t *testing.T) {
	var mu sync.Mutex
	var secret string
	seen := map[string]int{}                  // delivery id -> attempts
	accepted := map[string]outbound.Payload{} // event id -> body
	var badSignatures int
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhooks.VerifyHMAC([]byte(secret), r.Header.Get(outbound.TimestampHeader), body,
			r.Header.Get(outbound.SignatureHeader), time.Now(), webhooks.DefaultTolerance); err != nil {
			badSignatures++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(outbound.DeliveryHeader)
		seen[id]++
		if seen[id] == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // refuse the first attempt: Temporal retries
			return
		}
		var p outbound.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("delivery body: %v", err)
		}
		if _, dup := accepted[p.ID]; dup {
			t.Errorf("event %s accepted twice", p.ID)
		}
		accepted[p.ID] = p
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	// The receiver listens on loopback, where deliveries only go when
	// allowed by name.
	t.Setenv("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")

	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.WebhookRetry = workflows.DeliveryRetry{First: 200 * time.Millisecond, Attempts: 5}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	fastPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)

	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"events": []string{"payment.recorded"}}, "url"},
		{map[string]any{"url": "ftp://example.test", "events": []string{"payment.recorded"}}, "url"},
		{map[string]any{"url": receiver.URL}, "events"},
		{map[string]any{"url": receiver.URL, "events": []string{"payment.teleported"}}, "events[0]"},
		{map[string]any{"url": receiver.URL, "events": []string{"payment.recorded"}, "colour": "red"}, "colour"},
	} {
		status, out := c.do("POST", "/v1/webhook-subscriptions", bad.body)
		if e, _ := out["error"].(map[string]any); status != 400 || e == nil || e["field"] != bad.field {
			t.Fatalf("%v: %d %v", bad.body, status, out)
		}
	}
	sub := c.must("POST", "/v1/webhook-subscriptions", map[string]any{"url": receiver.URL,
		"events": []string{"invoice.stage_changed", "payment.recorded", "dispute.opened", "dispute.resolved"}}, 201)
	mu.Lock()
	secret = sub["secret"].(string)
	mu.Unlock()
	if listed := c.must("GET", "/v1/webhook-subscriptions", nil, 200)["webhook_subscriptions"].([]any); len(listed) != 1 || listed[0].(map[string]any)["secret"] != nil {
		t.Fatalf("listed subscriptions (secret must not show): %v", listed)
	}

	id := newInvoice(c, "HOOK-1")
	c.must("POST", "/v1/invoices/"+id+"/disputes", map[string]string{"reason": "wrong_amount"}, 200)
	c.must("POST", "/v1/invoices/"+id+"/disputes/resolve", map[string]string{"resolution": "rejected", "actor": "mia"}, 200)
	c.must("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "wire-1"}, 201)
	waitClosed(t, s, id)

	has := func(typ string, match func(outbound.Data) bool) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range accepted {
			if p.Type == typ && match(p.Data) {
				return true
			}
		}
		return false
	}
	eventually(t, 30*time.Second, "every event delivered", func() bool {
		return has("dispute.opened", func(d outbound.Data) bool { return d.Outcome == "wrong_amount" }) &&
			has("dispute.resolved", func(d outbound.Data) bool { return d.Outcome == "rejected" }) &&
			has("payment.recorded", func(d outbound.Data) bool {
				return d.Amount == "1000.00" && d.Balance == "0.00" && d.Reference == "wire-1"
			}) &&
			has("invoice.stage_changed", func(d outbound.Data) bool { return d.Stage == "paid" && d.InvoiceNumber == "HOOK-1" }) &&
			has("invoice.stage_changed", func(d outbound.Data) bool { return d.Stage == "disputed" })
	})
	deliveries := c.must("GET", "/v1/webhook-deliveries?invoice_id="+id, nil, 200)["webhook_deliveries"].([]any)
	mu.Lock()
	defer mu.Unlock()
	if len(deliveries) != len(accepted) || badSignatures != 0 {
		t.Fatalf("%d deliveries listed, %d events accepted, %d bad signatures", len(deliveries), len(accepted), badSignatures)
	}
	for _, d := range deliveries {
		d := d.(map[string]any)
		attempts := d["attempts"].([]any)
		if d["status"] != "delivered" || len(attempts) != 2 || attempts[0].(map[string]any)["status_code"] != float64(503) {
			t.Fatalf("delivery %v", d)
		}
	}
	c.must("DELETE", "/v1/webhook-subscriptions/"+sub["id"].(string), nil, 204)
	c.must("GET", "/v1/webhook-subscriptions/"+sub["id"].(string), nil, 404)
}
