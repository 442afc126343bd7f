package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/outbound"
)

// dispatch hands queued deliveries to their sender and notes that it did.
// Starting a sender twice is harmless (its workflow id is the delivery's),
// so a retry after a crash between the two steps loses nothing.
func (a *Activities) dispatch(ctx context.Context, queued []db.WebhookDelivery) error {
	if a.Dispatch == nil || len(queued) == 0 {
		return nil
	}
	ids := make([]string, 0, len(queued))
	for _, d := range queued {
		if err := a.Dispatch(ctx, d.ID); err != nil {
			return err
		}
		ids = append(ids, d.ID)
	}
	return a.Store.MarkDispatched(ctx, ids, a.now())
}

// DeliverWebhook makes one attempt at a delivery and records it. It fails
// (and Temporal retries it with backoff) until the subscriber answers 2xx.
// A delivery already settled, or whose subscription was removed, is done.
func (a *Activities) DeliverWebhook(ctx context.Context, deliveryID string) error {
	d, sub, err := a.Store.GetDelivery(ctx, deliveryID)
	if err != nil {
		return nonRetryable(err)
	}
	if d.Status != db.DeliveryPending {
		return nil
	}
	if !sub.Active {
		return a.Store.FailDelivery(ctx, d.ID, "the subscription was removed")
	}
	client := a.HTTP
	if client == nil {
		// Only to public addresses, checked on the address dialled, unless
		// OUTBOUND_ALLOW_HOSTS allows the host (outbound/guard.go).
		if client, err = outbound.Client(10 * time.Second); err != nil {
			return err
		}
	}
	started := a.now()
	res := outbound.Send(ctx, client, d, sub, started)
	rec := db.WebhookAttempt{DeliveryID: d.ID, Attempt: int(activity.GetInfo(ctx).Attempt), StartedAt: started,
		DurationMS: res.Duration.Milliseconds(), StatusCode: res.StatusCode}
	if res.Err != nil {
		rec.Error = truncate(res.Err.Error(), 500)
	}
	if err := a.Store.RecordAttempt(ctx, rec, res.Delivered()); err != nil {
		return err
	}
	if !res.Delivered() {
		a.log(ctx).Warn("webhook delivery refused", "delivery_id", d.ID, "event", d.EventType, "invoice_id", d.InvoiceID,
			"attempt", rec.Attempt, "status", res.StatusCode, "error", res.Err)
		return res.Err
	}
	return nil
}

// FailWebhookDelivery marks a delivery failed once every attempt failed.
func (a *Activities) FailWebhookDelivery(ctx context.Context, deliveryID, reason string) error {
	return a.Store.FailDelivery(ctx, deliveryID, reason)
}
