package hooks_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stripe/stripe-go/v84/webhook"
	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/hooks"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/webhooks"
)

const (
	fuzzPaymentsSecret = "fuzz-payments-secret"
	fuzzStripeSecret   = "whsec_fuzz"
	fuzzTwilioToken    = "fuzztwiliotoken0123456789"
	fuzzPublicURL      = "https://ar.example.com"
)

// webhookFuzzEnv serves the webhook routes as the API does, on a SQLite
// store holding one open EUR invoice (id inv-1, number INV-1).
func webhookFuzzEnv(tb testing.TB) *echo.Echo {
	store := db.NewStore(dbtest.SQLite(tb).DB)
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := store.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", Phone: "+4930123456",
		Timezone: "UTC", CreatedAt: now, UpdatedAt: now}); err != nil {
		tb.Fatal(err)
	}
	if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: "inv-1", Number: "INV-1", CustomerID: "acme", AmountMinor: 100000, BalanceMinor: 100000,
		Currency: "EUR", IssuedAt: now, DueAt: now.AddDate(0, 0, 30), Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1,
		WorkflowID: "invoice:inv-1", CreatedAt: now, UpdatedAt: now}); err != nil {
		tb.Fatal(err)
	}
	s := &api.Server{Store: store, Temporal: signals{}, Log: slog.New(slog.DiscardHandler),
		Webhooks: hooks.Config{PaymentsSecret: fuzzPaymentsSecret, StripeSecret: fuzzStripeSecret, TwilioAuthToken: fuzzTwilioToken, PublicBaseURL: fuzzPublicURL}}
	return s.Handler()
}

// signals is the part of Temporal the hooks use: signals, all taken.
// Every other method panics (nil embedded interface).
type signals struct{ client.Client }

func (signals) SignalWorkflow(context.Context, string, string, string, any) error { return nil }

func serve(e *echo.Echo, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// clientError fails unless the answer is a success or a client error: a
// verified event, however odd, is never a 5xx (which would make the
// processor retry it forever).
func clientError(t *testing.T, what string, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %q: %d %s", what, body, rec.Code, rec.Body)
	}
}

// FuzzPaymentsWebhook signs arbitrary bodies for POST /webhooks/payments.
func FuzzPaymentsWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"event_id":"e1","type":"payment.succeeded","invoice_id":"inv-1","amount":"10.00","currency":"EUR","reference":"ch_1"}`,
		`{"event_id":"e2","type":"payment.refunded","invoice_number":"INV-1","amount":"10.00","currency":"EUR","reference":"re_1"}`,
		`{"event_id":"e3","type":"payment.succeeded","invoice_id":"nope","amount":"-1","currency":"XXX","reference":"r"}`,
		`{"event_id":"e4","type":"payment.succeeded","invoice_id":"inv-1","amount":"99999999999999999999","currency":"EUR","reference":"r","received_at":"x"}`,
		`{"event_id":"e5","type":"payment.succeeded","invoice_id":"inv-1","amount":"1.00","currency":"JPY","reference":"r"}`,
		`{"event_id":"' OR 1=1 --","type":"payment.succeeded","invoice_number":"'; DROP TABLE invoices; --","amount":"1.00","currency":"EUR","reference":"r"}`,
		``, `{}`, `[]`, `null`, `{"amount":1}`,
	} {
		f.Add([]byte(seed))
	}
	e := webhookFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		req := httptest.NewRequest(http.MethodPost, "/webhooks/payments", bytes.NewReader(body))
		req.Header.Set(hooks.PaymentsTimestampHeader, stamp)
		req.Header.Set(hooks.PaymentsSignatureHeader, hex.EncodeToString(webhooks.SignHMAC([]byte(fuzzPaymentsSecret), stamp, body)))
		clientError(t, "payments", body, serve(e, req))
	})
}

// FuzzStripeWebhook signs arbitrary events for POST /webhooks/stripe.
func FuzzStripeWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","api_version":"2020-08-27","data":{"object":{"id":"pi_1","object":"payment_intent","amount_received":2500,"currency":"eur","metadata":{"invoice_id":"inv-1"}}}}`,
		`{"id":"evt_2","object":"event","type":"charge.refunded","api_version":"2020-08-27","data":{"object":{"id":"ch_1","object":"charge","amount_refunded":100,"currency":"eur","payment_intent":"pi_1"}}}`,
		`{"id":"evt_3","object":"event","type":"payment_intent.succeeded","data":{"object":{"amount_received":-5,"currency":"zzz","metadata":{"invoice_number":"INV-1"}}}}`,
		`{"id":"evt_4","type":"invoice.paid","data":{"object":null}}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	e := webhookFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		now := time.Now()
		req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
		req.Header.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(webhook.ComputeSignature(now, body, fuzzStripeSecret))))
		clientError(t, "stripe", body, serve(e, req))
	})
}

// twilioSignature is Twilio's X-Twilio-Signature: base64(HMAC-SHA1(token,
// URL followed by each parameter's name and value, sorted by name)).
func twilioSignature(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// FuzzTwilioWebhooks signs arbitrary form bodies for Twilio's status
// callback and inbound message webhooks.
func FuzzTwilioWebhooks(f *testing.F) {
	for _, seed := range []string{
		"MessageSid=SM1&MessageStatus=delivered&To=%2B4930123456",
		"MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30003",
		"From=%2B4930123456&Body=STOP&MessageSid=SM3",
		"From=%2B4930123456&Body=I+dispute+INV-1&MessageSid=SM4",
		"From=nonsense&Body=%00%ff&MessageSid=",
		"a=1&a=2", "", "%zz",
	} {
		f.Add(seed)
	}
	e := webhookFuzzEnv(f)
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return // not a form Twilio could sign
		}
		for _, path := range []string{"/webhooks/twilio/status", "/webhooks/twilio/inbound"} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(raw))
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
			req.Header.Set(webhooks.TwilioSignatureHeader, twilioSignature(fuzzTwilioToken, fuzzPublicURL+path, form))
			clientError(t, path, []byte(raw), serve(e, req))
		}
	})
}

// TestWebhookFuzzTargetsGetPastVerification makes sure the fuzz targets
// sign as the providers do: a well-formed event is taken (200), so the
// fuzzer explores the parsers behind verification, not the 401.
func TestWebhookFuzzTargetsGetPastVerification(t *testing.T) {
	e := webhookFuzzEnv(t)
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	body := []byte(`{"event_id":"e1","type":"payment.succeeded","invoice_id":"inv-1","amount":"10.00","currency":"EUR","reference":"ch_1"}`)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/payments", bytes.NewReader(body))
	req.Header.Set(hooks.PaymentsTimestampHeader, stamp)
	req.Header.Set(hooks.PaymentsSignatureHeader, hex.EncodeToString(webhooks.SignHMAC([]byte(fuzzPaymentsSecret), stamp, body)))
	if rec := serve(e, req); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"accepted"`) {
		t.Errorf("payments: %d %s", rec.Code, rec.Body)
	}
	now := time.Now()
	body = []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","api_version":"2020-08-27","data":{"object":{"id":"pi_1","object":"payment_intent","amount_received":2500,"currency":"eur","metadata":{"invoice_id":"inv-1"}}}}`)
	req = httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(webhook.ComputeSignature(now, body, fuzzStripeSecret))))
	if rec := serve(e, req); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"accepted"`) {
		t.Errorf("stripe: %d %s", rec.Code, rec.Body)
	}
	raw := "MessageSid=SM1&MessageStatus=delivered&To=%2B4930123456"
	form, _ := url.ParseQuery(raw)
	req = httptest.NewRequest(http.MethodPost, "/webhooks/twilio/status", strings.NewReader(raw))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
	req.Header.Set(webhooks.TwilioSignatureHeader, twilioSignature(fuzzTwilioToken, fuzzPublicURL+"/webhooks/twilio/status", form))
	if rec := serve(e, req); rec.Code >= 300 {
		t.Errorf("twilio: %d %s", rec.Code, rec.Body)
	}
}
