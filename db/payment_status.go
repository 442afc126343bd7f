package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
)

// PaymentSaved is what RecordPaymentWithStatus did.
type PaymentSaved struct {
	BalanceMinor int64 // the invoice's balance after the payment
	Duplicate    bool  // the reference was recorded already
	// Saved: the balance came out as the status said, and the status was
	// saved with the payment.
	Saved bool
	// Undispatched are the invoice's webhook deliveries not yet handed to
	// a sender (as SaveStatusWithEvents returns them), when Saved.
	Undispatched []WebhookDelivery
}

// RecordPaymentWithStatus records a payment (RecordPayment) and, in the
// same transaction, saves st (SaveStatusWithEvents) if the invoice's
// balance then comes out at st.BalanceMinor: a payment a processor
// reported and what the invoice's workflow makes of it, in one commit.
// With another balance only the payment is recorded, and the workflow
// saves its own status once it knows the balance.
func (s *Store) RecordPaymentWithStatus(ctx context.Context, p *Payment, st invoice.Status, now time.Time, events EventsFunc) (PaymentSaved, error) {
	var out PaymentSaved
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		out = PaymentSaved{}
		in := NewStore(tx)
		var err error
		if out.BalanceMinor, out.Duplicate, err = in.RecordPayment(ctx, p, now); err != nil {
			return err
		}
		if out.BalanceMinor != st.BalanceMinor {
			return nil
		}
		out.Undispatched, err = in.SaveStatusWithEvents(ctx, st, now, events)
		out.Saved = err == nil
		return err
	})
	return out, err
}
