package hooks

import (
	"encoding/json"
	"testing"
)

// FuzzStripeObject: whatever object a verified Stripe event carries, reading
// it never panics.
func FuzzStripeObject(f *testing.F) {
	f.Add(`{"id":"pi_1","amount_received":100,"currency":"eur","metadata":{"invoice_id":"x"}}`)
	f.Add(`{"payment_intent":{"id":"pi_1"},"metadata":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		var obj stripeObject
		_ = json.Unmarshal([]byte(raw), &obj)
		var pi string
		_ = json.Unmarshal(obj.PaymentIntent, &pi)
	})
}
