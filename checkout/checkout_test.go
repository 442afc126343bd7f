package checkout_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/collections-engine/collections/checkout"
)

// fakeStripe is Stripe's API as far as creating a Checkout Session goes:
// it records each request and answers with a session id and URL, or with
// the error it is told to give.
type fakeStripe struct {
	mu       sync.Mutex
	requests []recorded
	fail     string // an error message to answer with (HTTP 400)
}

type recorded struct {
	method, path, auth string
	form               url.Values
}

func (f *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), form})
	fail := f.fail
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if fail != "" {
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"`+fail+`"}}`)
		return
	}
	_, _ = io.WriteString(w, `{"id":"cs_test_123","object":"checkout.session","mode":"payment","url":"https://checkout.stripe.test/c/pay/cs_test_123"}`)
}

func session() checkout.Session {
	return checkout.Session{InvoiceID: "inv-42", Number: "INV-42", CustomerID: "acme", CustomerEmail: "ap@acme.test",
		AmountMinor: 12550, Currency: "eur", SuccessURL: "https://portal.test/p/tok/paid", CancelURL: "https://portal.test/p/tok"}
}

func TestStripeCreatesACheckoutSessionNamingTheInvoice(t *testing.T) {
	fake := &fakeStripe{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	co := checkout.New("sk_test_key", srv.URL)
	redirect, err := co.Start(context.Background(), session())
	if err != nil {
		t.Fatal(err)
	}
	if redirect != "https://checkout.stripe.test/c/pay/cs_test_123" {
		t.Errorf("redirect %q", redirect)
	}
	if len(fake.requests) != 1 {
		t.Fatalf("%d requests", len(fake.requests))
	}
	r := fake.requests[0]
	if r.method != "POST" || r.path != "/v1/checkout/sessions" || r.auth != "Bearer sk_test_key" {
		t.Errorf("request %s %s auth %q", r.method, r.path, r.auth)
	}
	want := map[string]string{
		"mode":                                   "payment",
		"success_url":                            "https://portal.test/p/tok/paid",
		"cancel_url":                             "https://portal.test/p/tok",
		"client_reference_id":                    "inv-42",
		"customer_email":                         "ap@acme.test",
		"line_items[0][quantity]":                "1",
		"line_items[0][price_data][currency]":    "eur",
		"line_items[0][price_data][unit_amount]": "12550",
		"line_items[0][price_data][product_data][name]": "Invoice INV-42",
		"metadata[invoice_id]":                          "inv-42",
		"metadata[invoice_number]":                      "INV-42",
		"metadata[customer_id]":                         "acme",
		"payment_intent_data[metadata][invoice_id]":     "inv-42",
		"payment_intent_data[metadata][invoice_number]": "INV-42",
	}
	for k, v := range want {
		if got := r.form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// A session that cannot be paid is refused before Stripe is asked, naming
// the field; Stripe's own refusal comes back as an error.
func TestStripeRefusals(t *testing.T) {
	fake := &fakeStripe{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	co := checkout.New("sk_test_key", srv.URL)
	for field, change := range map[string]func(*checkout.Session){
		"invoice_id":  func(s *checkout.Session) { s.InvoiceID = " " },
		"amount":      func(s *checkout.Session) { s.AmountMinor = 0 },
		"currency":    func(s *checkout.Session) { s.Currency = "EURO" },
		"success_url": func(s *checkout.Session) { s.SuccessURL = "/relative" },
		"cancel_url":  func(s *checkout.Session) { s.CancelURL = "javascript:alert(1)" },
	} {
		s := session()
		change(&s)
		_, err := co.Start(context.Background(), s)
		if !errors.Is(err, checkout.ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("bad %s: %v", field, err)
		}
	}
	negative := session()
	negative.AmountMinor = -5
	if _, err := co.Start(context.Background(), negative); !errors.Is(err, checkout.ErrInvalid) {
		t.Errorf("negative amount: %v", err)
	}
	if len(fake.requests) != 0 {
		t.Fatalf("Stripe was called for an invalid session: %d requests", len(fake.requests))
	}
	fake.fail = "Amount must be at least 0.50 eur"
	if _, err := co.Start(context.Background(), session()); err == nil || !strings.Contains(err.Error(), "at least 0.50") {
		t.Errorf("Stripe's refusal: %v", err)
	}
}

func TestNoKeyNoCheckout(t *testing.T) {
	if co := checkout.New("", "http://unused"); co != nil {
		t.Fatalf("checkout without a key: %#v", co)
	}
}
