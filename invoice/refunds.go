package invoice

import (
	"strconv"
	"time"
)

// Refund is money returned to the customer against an invoice's payments.
// The workflow hands it to the refund activity, so it is part of workflow
// histories: its fields keep their names.
type Refund struct {
	InvoiceID string
	// Reference names the refund at the processor (a refund id), or with
	// Cumulative the charge whose refunds it totals.
	Reference string
	// AmountMinor is this refund's amount or, with Cumulative, the total
	// refunded on the charge so far (Stripe's amount_refunded).
	AmountMinor int64
	Cumulative  bool
	Currency    string
	ReceivedAt  time.Time
}

// RefundResult is what a recorded refund did.
type RefundResult struct {
	Key          string // the payments row's reference: the refund's identity
	AppliedMinor int64  // how much this call added back to the balance
	BalanceMinor int64
	Duplicate    bool // nothing new: the refund (or a larger total) was already recorded
}

// RefundKey is the payments reference a refund is stored under. The
// workflow remembers it to apply a refund once, so its form never changes.
func RefundKey(r Refund) string {
	if r.Cumulative {
		return "refund:" + r.Reference + "@" + strconv.FormatInt(r.AmountMinor, 10)
	}
	return "refund:" + r.Reference
}
