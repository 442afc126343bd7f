package devstack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/checkout"
	"github.com/collections-engine/collections/internal/devstack"
)

// A payment started with checkout.Stripe comes back through the existing
// verified Stripe webhook and pays the invoice: the events are built from
// what the fake Stripe API received, so the metadata Start writes is the
// metadata the webhook reads — on the session (checkout.session.completed)
// and on its payment intent (payment_intent.succeeded).
func TestStripeCheckoutPaymentsReturnThroughTheWebhook(t *testing.T) {
	var mu sync.Mutex
	var forms []url.Values
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		mu.Lock()
		forms = append(forms, form)
		n := len(forms)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"cs_`+strconv.Itoa(n)+`","object":"checkout.session","url":"https://checkout.stripe.test/`+strconv.Itoa(n)+`"}`)
	}))
	defer fake.Close()

	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{StripeSecret: stripeSecret}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	fastPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	id := newInvoice(c, "CHECKOUT-1")

	co := checkout.New("sk_test_key", fake.URL)
	start := func(amount int64) url.Values {
		t.Helper()
		if _, err := co.Start(context.Background(), checkout.Session{InvoiceID: id, Number: "CHECKOUT-1", CustomerID: "acme",
			AmountMinor: amount, Currency: "EUR", SuccessURL: "https://portal.test/ok", CancelURL: "https://portal.test/"}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return forms[len(forms)-1]
	}
	meta := func(form url.Values, prefix string) map[string]string {
		return map[string]string{"invoice_id": form.Get(prefix + "[invoice_id]"), "invoice_number": form.Get(prefix + "[invoice_number]")}
	}
	amount := func(form url.Values) int64 {
		n, _ := strconv.ParseInt(form.Get("line_items[0][price_data][unit_amount]"), 10, 64)
		return n
	}

	// A partial payment, reported as the session completing.
	form := start(40000)
	session := map[string]any{"id": "evt_co_1", "object": "event", "type": "checkout.session.completed",
		"data": map[string]any{"object": map[string]any{"id": "cs_1", "object": "checkout.session", "amount_total": amount(form),
			"currency": form.Get("line_items[0][price_data][currency]"), "payment_status": "paid", "payment_intent": "pi_co_1",
			"metadata": meta(form, "metadata")}}}
	if status, out := postStripe(t, s.APIURL, session, stripeSecret, time.Now()); status != 200 || out["status"] != "accepted" {
		t.Fatalf("session completed: %d %v", status, out)
	}
	eventually(t, 30*time.Second, "the partial checkout payment on the invoice", func() bool {
		return c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"] == "600.00"
	})

	// The rest, reported as its payment intent succeeding: only the
	// intent's metadata names the invoice.
	form = start(60000)
	intent := map[string]any{"id": "evt_co_2", "object": "event", "type": "payment_intent.succeeded",
		"data": map[string]any{"object": map[string]any{"id": "pi_co_2", "object": "payment_intent", "amount_received": amount(form),
			"currency": form.Get("line_items[0][price_data][currency]"), "metadata": meta(form, "payment_intent_data[metadata]")}}}
	if status, out := postStripe(t, s.APIURL, intent, stripeSecret, time.Now()); status != 200 || out["status"] != "accepted" {
		t.Fatalf("payment intent succeeded: %d %v", status, out)
	}
	waitClosed(t, s, id)
	if inv := c.must("GET", "/v1/invoices/"+id, nil, 200); inv["stage"] != "paid" || inv["balance"] != "0.00" {
		t.Fatalf("after paying by checkout: %v %v", inv["stage"], inv["balance"])
	}
}
