package api

import (
	"context"
	"time"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/outbound"
)

// checkInvoiceDates refuses issue and due dates too far from today
// (invoice.DateRange), naming the field; dueUnset: the due date comes from
// the customer's payment terms.
func checkInvoiceDates(issued, due time.Time, dueUnset bool, now time.Time) error {
	if err := invoice.CheckDate(issued, now); err != nil {
		return invalid("issued_at", "%v", err)
	}
	if dueUnset {
		return nil
	}
	if err := invoice.CheckDate(due, now); err != nil {
		return invalid("due_at", "%v", err)
	}
	return nil
}

// checkSubscriptionURL refuses a webhook subscription's URL that is not
// https or whose host resolves to an address deliveries may not reach
// (outbound.Allowed.CheckURL), naming the field.
func checkSubscriptionURL(ctx context.Context, raw string) error {
	allowed, err := outbound.AllowedFromEnv()
	if err != nil {
		return err
	}
	if err := allowed.CheckURL(ctx, raw); err != nil {
		return invalid("url", "%v", err)
	}
	return nil
}
