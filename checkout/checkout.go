// Package checkout starts a hosted payment for an invoice: a Stripe
// Checkout Session created through stripe-go. It only starts payments: the
// money comes back through the verified Stripe webhook (hooks/stripe.go),
// which reads the invoice id this package puts in the session's metadata
// and in its payment intent's metadata, and records it with
// collect.TakePayment like any other payment. There is no second path for
// money.
package checkout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stripe/stripe-go/v84"

	"github.com/collections-engine/collections/money"
)

// Session is one payment to start: the amount (the open balance, or a part
// of it the caller validated: > 0 and <= the balance) of one invoice.
type Session struct {
	InvoiceID     string
	Number        string
	CustomerID    string
	CustomerEmail string
	AmountMinor   int64
	Currency      string
	// SuccessURL and CancelURL are where the payment page sends the
	// customer back.
	SuccessURL string
	CancelURL  string
}

// Checkout starts a hosted payment and says where to send the customer.
type Checkout interface {
	Start(ctx context.Context, s Session) (redirectURL string, err error)
}

// ErrInvalid: the session is incomplete or its amount is not payable; the
// error names the field.
var ErrInvalid = errors.New("invalid checkout session")

// Stripe is Checkout through Stripe Checkout Sessions (mode payment).
type Stripe struct {
	// SecretKey is the Stripe API key (STRIPE_SECRET_KEY).
	SecretKey string
	// BackendURL, when set, replaces https://api.stripe.com (tests, a
	// proxy, stripe-mock).
	BackendURL string
	// HTTPClient, when set, makes the requests (its timeout bounds them).
	HTTPClient *http.Client
}

// New is Stripe with a key (STRIPE_SECRET_KEY) and an optional backend URL
// (STRIPE_API_URL); a nil Checkout without a key, so that no key means no
// card payments (never a nil *Stripe inside a non-nil interface).
func New(secretKey, backendURL string) Checkout {
	if secretKey == "" {
		return nil
	}
	return &Stripe{SecretKey: secretKey, BackendURL: backendURL}
}

// Metadata keys on the session and on its payment intent; the Stripe
// webhook (hooks/stripe.go) reads invoice_id, then invoice_number.
const (
	MetaInvoiceID     = "invoice_id"
	MetaInvoiceNumber = "invoice_number"
	MetaCustomerID    = "customer_id"
)

// Validate checks what every Checkout needs of a session, naming the field
// that is wrong. That the amount is at most the open balance is the
// caller's to check: it knows the balance.
func (s Session) Validate() error {
	switch {
	case strings.TrimSpace(s.InvoiceID) == "":
		return fmt.Errorf("%w: invoice_id is required", ErrInvalid)
	case s.AmountMinor <= 0:
		return fmt.Errorf("%w: amount must be more than zero", ErrInvalid)
	}
	if _, err := money.Currency(s.Currency); err != nil {
		return fmt.Errorf("%w: currency: %v", ErrInvalid, err)
	}
	for field, raw := range map[string]string{"success_url": s.SuccessURL, "cancel_url": s.CancelURL} {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: %s must be an absolute http(s) URL", ErrInvalid, field)
		}
	}
	return nil
}

// Start creates a Checkout Session in payment mode for one line, "Invoice
// <number>", of the session's amount, and returns the session's URL. The
// invoice's id and number are in the session's metadata and in its payment
// intent's (payment_intent_data.metadata), so both checkout.session.completed
// and payment_intent.succeeded name the invoice; the webhook counts them
// once, by the payment intent's id.
func (s *Stripe) Start(ctx context.Context, sess Session) (string, error) {
	if err := sess.Validate(); err != nil {
		return "", err
	}
	cur, _ := money.Currency(sess.Currency)
	meta := map[string]string{MetaInvoiceID: sess.InvoiceID, MetaInvoiceNumber: sess.Number, MetaCustomerID: sess.CustomerID}
	name := "Invoice " + sess.Number
	if sess.Number == "" {
		name = "Invoice " + sess.InvoiceID
	}
	params := &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		SuccessURL:        stripe.String(sess.SuccessURL),
		CancelURL:         stripe.String(sess.CancelURL),
		ClientReferenceID: stripe.String(sess.InvoiceID),
		Metadata:          meta,
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(strings.ToLower(cur)),
				UnitAmount:  stripe.Int64(sess.AmountMinor),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String(name)},
			},
		}},
		PaymentIntentData: &stripe.CheckoutSessionCreatePaymentIntentDataParams{
			Description: stripe.String(name),
			Metadata:    meta,
		},
	}
	if sess.CustomerEmail != "" {
		params.CustomerEmail = stripe.String(sess.CustomerEmail)
	}
	created, err := s.client().V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return "", fmt.Errorf("checkout: stripe did not create the session: %w", err)
	}
	if created.URL == "" {
		return "", fmt.Errorf("checkout: stripe created session %s without a URL", created.ID)
	}
	return created.URL, nil
}

// client is a stripe-go client on this value's backend.
func (s *Stripe) client() *stripe.Client {
	cfg := &stripe.BackendConfig{
		HTTPClient:    s.HTTPClient,
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelError},
	}
	if s.BackendURL != "" {
		cfg.URL = stripe.String(strings.TrimRight(s.BackendURL, "/"))
	}
	return stripe.NewClient(s.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}

var _ Checkout = (*Stripe)(nil)
