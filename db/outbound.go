package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
)

// Subscriptions keeps the outbound webhooks: subscriptions, the deliveries
// queued for them and every attempt at one.
type Subscriptions struct{ db bun.IDB }

// NewSubscriptions wraps a database or a transaction.
func NewSubscriptions(db bun.IDB) *Subscriptions { return &Subscriptions{db: db} }

// OutboundEvent is something that happened to an invoice, to be offered to
// webhook subscribers. Its ID is stable, so offering it twice delivers it
// once.
type OutboundEvent struct {
	ID      string
	Type    string
	At      time.Time // when it happened: a subscription hears of what happens after it was made
	Payload []byte
}

// EventsFunc turns a status save into outbound events: inv is the invoice as
// stored before the save (its stage and EventsPublished), st the new status.
type EventsFunc func(inv *Invoice, st invoice.Status) []OutboundEvent

// queueDeliveries queues a delivery of every event for every active
// subscription that wants it, in tx: the transaction of the status save
// that produced the events (Invoices.SaveStatusWithEvents).
func queueDeliveries(ctx context.Context, tx bun.Tx, inv *Invoice, evs []OutboundEvent, now time.Time) error {
	if len(evs) == 0 {
		return nil
	}
	var subs []WebhookSubscription
	if err := tx.NewSelect().Model(&subs).Where("active = ?", true).Scan(ctx); err != nil {
		return fmt.Errorf("list subscriptions: %w", err)
	}
	for _, sub := range subs {
		for _, ev := range evs {
			if !sub.Wants(ev.Type) || ev.At.Before(sub.CreatedAt) {
				continue
			}
			d := &WebhookDelivery{ID: newID(), SubscriptionID: sub.ID, EventID: ev.ID, EventType: ev.Type,
				InvoiceID: inv.ID, Payload: string(ev.Payload), Status: DeliveryPending, CreatedAt: now}
			if _, err := tx.NewInsert().Model(d).On("CONFLICT (subscription_id, event_id) DO NOTHING").Exec(ctx); err != nil {
				return fmt.Errorf("queue delivery: %w", err)
			}
		}
	}
	return nil
}

// MarkDispatched records that deliveries were handed to their sender.
func (r *Subscriptions) MarkDispatched(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := r.db.NewUpdate().Model((*WebhookDelivery)(nil)).Set("dispatched_at = ?", now).
		Where("id IN (?)", bun.In(ids)).Where("dispatched_at IS NULL").Exec(ctx)
	return err
}

// CreateSubscription stores a webhook subscription.
func (r *Subscriptions) CreateSubscription(ctx context.Context, sub *WebhookSubscription) error {
	_, err := r.db.NewInsert().Model(sub).Exec(ctx)
	return err
}

// GetSubscription returns one subscription.
func (r *Subscriptions) GetSubscription(ctx context.Context, id string) (*WebhookSubscription, error) {
	sub := new(WebhookSubscription)
	if err := r.db.NewSelect().Model(sub).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "webhook subscription", id)
	}
	return sub, nil
}

// ListSubscriptions returns the active subscriptions, oldest first.
func (r *Subscriptions) ListSubscriptions(ctx context.Context) ([]WebhookSubscription, error) {
	var out []WebhookSubscription
	err := r.db.NewSelect().Model(&out).Where("active = ?", true).Order("created_at", "id").Scan(ctx)
	return out, err
}

// DeactivateSubscription stops a subscription: nothing new is queued for
// it; its deliveries stay listable.
func (r *Subscriptions) DeactivateSubscription(ctx context.Context, id string) error {
	res, err := r.db.NewUpdate().Model((*WebhookSubscription)(nil)).Set("active = ?", false).
		Where("id = ?", id).Where("active = ?", true).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "webhook subscription", id)
	}
	return nil
}

// GetDelivery returns a delivery with its subscription.
func (r *Subscriptions) GetDelivery(ctx context.Context, id string) (*WebhookDelivery, *WebhookSubscription, error) {
	d := new(WebhookDelivery)
	if err := r.db.NewSelect().Model(d).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, nil, notFound(err, "webhook delivery", id)
	}
	sub, err := r.GetSubscription(ctx, d.SubscriptionID)
	return d, sub, err
}

// RecordAttempt stores one try at a delivery and, on success, marks it
// delivered. A repeated attempt number is kept once.
func (r *Subscriptions) RecordAttempt(ctx context.Context, a WebhookAttempt, delivered bool) error {
	return r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&a).On("CONFLICT (delivery_id, attempt) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
		q := tx.NewUpdate().Model((*WebhookDelivery)(nil)).Where("id = ?", a.DeliveryID).
			Set("attempts = (SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = ?)", a.DeliveryID).
			Set("last_error = ?", a.Error).
			Where("status = ?", DeliveryPending)
		if delivered {
			q = q.Set("status = ?", DeliveryDelivered).Set("delivered_at = ?", a.StartedAt.Add(time.Duration(a.DurationMS)*time.Millisecond))
		}
		_, err := q.Exec(ctx)
		return err
	})
}

// FailDelivery marks a delivery failed once its sender gave up.
func (r *Subscriptions) FailDelivery(ctx context.Context, id, reason string) error {
	_, err := r.db.NewUpdate().Model((*WebhookDelivery)(nil)).Set("status = ?", DeliveryFailed).Set("last_error = ?", truncate(reason, 500)).
		Where("id = ?", id).Where("status = ?", DeliveryPending).Exec(ctx)
	return err
}

// DeliveryFilter narrows ListDeliveries.
type DeliveryFilter struct {
	SubscriptionID string
	InvoiceID      string
	Status         string
	Limit          int
}

// ListDeliveries returns deliveries, newest first, with their attempts.
func (r *Subscriptions) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]WebhookDelivery, map[string][]WebhookAttempt, error) {
	var out []WebhookDelivery
	q := r.db.NewSelect().Model(&out).Order("created_at DESC", "id DESC").Limit(int64(cmp.Or(f.Limit, 100)))
	if f.SubscriptionID != "" {
		q = q.Where("subscription_id = ?", f.SubscriptionID)
	}
	if f.InvoiceID != "" {
		q = q.Where("invoice_id = ?", f.InvoiceID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, err
	}
	attempts := map[string][]WebhookAttempt{}
	if len(out) == 0 {
		return out, attempts, nil
	}
	ids := make([]string, len(out))
	for i, d := range out {
		ids[i] = d.ID
	}
	var all []WebhookAttempt
	if err := r.db.NewSelect().Model(&all).Where("delivery_id IN (?)", bun.In(ids)).Order("delivery_id", "attempt").Scan(ctx); err != nil {
		return nil, nil, err
	}
	for _, a := range all {
		attempts[a.DeliveryID] = append(attempts[a.DeliveryID], a)
	}
	return out, attempts, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
