package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// WebhookEvents remembers the provider events already taken in.
type WebhookEvents struct{ db bun.IDB }

// NewWebhookEvents wraps a database or a transaction.
func NewWebhookEvents(db bun.IDB) *WebhookEvents { return &WebhookEvents{db: db} }

// FirstWebhookEvent records a provider event id and reports whether it is
// new; a repeat delivery of the same event returns false.
func (r *WebhookEvents) FirstWebhookEvent(ctx context.Context, provider, eventID string, now time.Time) (bool, error) {
	res, err := r.db.NewInsert().Model(&WebhookEvent{Provider: provider, EventID: eventID, ReceivedAt: now}).
		On("CONFLICT (provider, event_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
