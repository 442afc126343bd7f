package devstack_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/internal/devstack"
)

// TestWebhookChaosKeepsBalancesExactAndEveryEventAccountedFor delivers a
// processor's payment events the way real processors misbehave: every
// event five times at once, a refund before the payment it returns, a
// payment for an invoice that does not exist, one in the wrong currency, an
// over-payment, and a payment after the invoice closed. The balance is
// exact after each step, the invoice closes once, and every distinct event
// is listed once in GET /v1/payment-events with what became of it.
func TestWebhookChaosKeepsBalancesExactAndEveryEventAccountedFor(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{PaymentsSecret: paymentsSecret}
		o.RateLimit = 10000
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	fastPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	id := newInvoice(c, "CHAOS-1") // 1000.00 EUR

	answers := map[string]int{} // status -> deliveries answered with it
	var mu sync.Mutex
	deliver := func(copies int, ev map[string]string) {
		t.Helper()
		var wg sync.WaitGroup
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, out := postPayment(t, s.APIURL, ev, time.Now(), paymentsSecret)
				if status != 200 {
					t.Errorf("event %s: %d %v", ev["event_id"], status, out)
					return
				}
				mu.Lock()
				answers[out["status"].(string)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	balance := func(want string) {
		t.Helper()
		eventually(t, 20*time.Second, "balance "+want, func() bool {
			return c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"] == want
		})
	}
	event := func(eventID, typ, amount, currency, ref string) map[string]string {
		return map[string]string{"event_id": eventID, "type": typ, "invoice_id": id, "amount": amount, "currency": currency, "reference": ref}
	}

	// The refund of ch_1 arrives before ch_1 itself.
	deliver(5, event("evt-refund-1", "payment.refunded", "100.00", "EUR", "re_1"))
	balance("1100.00")
	deliver(5, event("evt-pay-1", "payment.succeeded", "400.00", "EUR", "ch_1"))
	balance("700.00")
	deliver(5, event("evt-pay-2", "payment.succeeded", "300.00", "EUR", "ch_2"))
	balance("400.00")
	unknown := event("evt-unknown", "payment.succeeded", "50.00", "EUR", "ch_x")
	delete(unknown, "invoice_id")
	unknown["invoice_number"] = "NO-SUCH-INVOICE"
	deliver(5, unknown)
	deliver(5, event("evt-usd", "payment.succeeded", "400.00", "USD", "ch_usd"))
	balance("400.00")
	deliver(5, event("evt-over", "payment.succeeded", "500.00", "EUR", "ch_3")) // 100.00 too much
	waitClosed(t, s, id)
	deliver(5, event("evt-late", "payment.succeeded", "10.00", "EUR", "ch_4"))

	inv := c.must("GET", "/v1/invoices/"+id, nil, 200)
	if inv["balance"] != "-100.00" || inv["stage"] != "paid" {
		t.Fatalf("end state: balance %v stage %v, want -100.00 paid", inv["balance"], inv["stage"])
	}
	kinds := timelineKinds(c, id)
	if count(kinds, "paid") != 1 || count(kinds, "payment") != 3 || count(kinds, "refund") != 1 {
		t.Fatalf("timeline: %v", kinds)
	}

	want := map[string]string{"evt-refund-1": "accepted", "evt-pay-1": "accepted", "evt-pay-2": "accepted", "evt-unknown": "unmatched",
		"evt-usd": "currency_mismatch", "evt-over": "accepted", "evt-late": "invoice_closed"}
	listed := map[string]string{}
	for _, e := range c.must("GET", "/v1/payment-events", nil, 200)["payment_events"].([]any) {
		e := e.(map[string]any)
		ev := e["event_id"].(string)
		if _, dup := listed[ev]; dup {
			t.Errorf("event %s listed twice", ev)
		}
		listed[ev] = e["status"].(string)
	}
	if fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("payment events: %v\nwant %v", listed, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if answers["duplicate"] != 7*4 || answers["accepted"] != 4 || answers["unmatched"] != 1 || answers["currency_mismatch"] != 1 || answers["invoice_closed"] != 1 {
		t.Fatalf("answers to 35 deliveries: %v", answers)
	}
	t.Logf("35 deliveries of 7 events: %v; final balance %v", answers, inv["balance"])
}
