package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Messages is the outbox and the communication log: every message to or
// from a customer and its status history.
type Messages struct{ db bun.IDB }

// NewMessages wraps a database or a transaction.
func NewMessages(db bun.IDB) *Messages { return &Messages{db: db} }

// ReleasedPrefix starts the detail of a pending message whose last attempt
// the provider refused for now (429, 5xx): the provider does not have it,
// so the next attempt may take the claim back at once instead of waiting
// out the lease that guards a send whose outcome is unknown.
const ReleasedPrefix = "released: "

// ClaimMessage inserts m unless a message for the same (invoice, step,
// channel) exists. It returns the row that stands: m itself when claimed is
// true, else the earlier one, which must not be sent again.
func (r *Messages) ClaimMessage(ctx context.Context, m *Message) (stored *Message, claimed bool, err error) {
	res, err := r.db.NewInsert().Model(m).On("CONFLICT (invoice_id, step, channel) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("claim message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return m, true, nil
	}
	existing := new(Message)
	err = r.db.NewSelect().Model(existing).
		Where("invoice_id = ? AND step = ? AND channel = ?", m.InvoiceID, m.Step, m.Channel).Scan(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("load claimed message: %w", err)
	}
	return existing, false, nil
}

// ReleaseMessage marks the pending message id as refused for now, with the
// provider's reason, so that the next attempt can reclaim it.
func (r *Messages) ReleaseMessage(ctx context.Context, id, reason string) error {
	_, err := r.db.NewUpdate().Model((*Message)(nil)).
		Set("detail = ?", ReleasedPrefix+reason).
		Where("id = ? AND status = ?", id, MessagePending).
		Exec(ctx)
	return err
}

// ReclaimMessage takes a pending message back for one more attempt: one
// the provider refused (released), or one whose claim's lease has run out
// (claimedAt, the created_at the caller read). It is a compare-and-swap, so
// of two attempts only one wins (true); the claim's time becomes now,
// starting a new lease.
func (r *Messages) ReclaimMessage(ctx context.Context, id string, released bool, claimedAt, now time.Time) (bool, error) {
	q := r.db.NewUpdate().Model((*Message)(nil)).
		Set("detail = ''").
		Set("created_at = ?", now).
		Where("id = ? AND status = ?", id, MessagePending)
	if released {
		q = q.Where("detail LIKE ?", ReleasedPrefix+"%")
	} else {
		q = q.Where("created_at = ?", claimedAt).Where("detail NOT LIKE ?", ReleasedPrefix+"%")
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MessageOutcome is what became of a claimed message.
type MessageOutcome struct {
	Status            string
	Detail            string
	Provider          string
	ProviderMessageID string
	SentAt            *time.Time
}

// FinishMessage records the outcome of a claimed message.
func (r *Messages) FinishMessage(ctx context.Context, id string, o MessageOutcome) error {
	_, err := r.db.NewUpdate().Model((*Message)(nil)).
		Set("status = ?", o.Status).
		Set("detail = ?", o.Detail).
		Set("provider = ?", o.Provider).
		Set("provider_message_id = ?", o.ProviderMessageID).
		Set("sent_at = ?", o.SentAt).
		Where("id = ?", id).
		Exec(ctx)
	return err
}

// MessageFilter narrows ListMessages; zero values match everything.
type MessageFilter struct {
	InvoiceID string
	Limit     int
}

// ListMessages returns messages, newest first.
func (r *Messages) ListMessages(ctx context.Context, f MessageFilter) ([]Message, error) {
	var out []Message
	q := r.db.NewSelect().Model(&out).Order("created_at DESC", "id DESC").Limit(limit(f.Limit))
	if f.InvoiceID != "" {
		q = q.Where("invoice_id = ?", f.InvoiceID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// ListMessagesForSteps returns an invoice's messages for the given steps.
func (r *Messages) ListMessagesForSteps(ctx context.Context, invoiceID string, steps []string) ([]Message, error) {
	var out []Message
	if len(steps) == 0 {
		return out, nil
	}
	err := r.db.NewSelect().Model(&out).Where("invoice_id = ?", invoiceID).Where("step IN (?)", bun.In(steps)).
		Order("created_at", "id").Scan(ctx)
	return out, err
}

// InsertMessage stores a message as is (inbound replies).
func (r *Messages) InsertMessage(ctx context.Context, m *Message) error {
	_, err := r.db.NewInsert().Model(m).Exec(ctx)
	return err
}

// GetMessage loads a message by id.
func (r *Messages) GetMessage(ctx context.Context, id string) (*Message, error) {
	m := new(Message)
	if err := r.db.NewSelect().Model(m).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "message", id)
	}
	return m, nil
}

// MessageByProviderID finds a message by the provider's id for it.
func (r *Messages) MessageByProviderID(ctx context.Context, provider, providerID string) (*Message, error) {
	m := new(Message)
	if err := r.db.NewSelect().Model(m).Where("provider = ? AND provider_message_id = ?", provider, providerID).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "message with provider id", providerID)
	}
	return m, nil
}

// CustomerMessages returns a customer's messages (both directions), newest first.
func (r *Messages) CustomerMessages(ctx context.Context, customerID string, lim int) ([]Message, error) {
	var out []Message
	err := r.db.NewSelect().Model(&out).Where("customer_id = ?", customerID).Order("created_at DESC", "id DESC").Limit(limit(lim)).Scan(ctx)
	return out, err
}

// ContactsSince counts the distinct (invoice, step) contacts with a
// customer between two moments (see contactsSince), leaving out one (invoice,
// step): the one about to be sent, whose other channels are the same
// contact. It also returns when the earliest of them was made.
func (r *Messages) ContactsSince(ctx context.Context, customerID string, since, until time.Time, exceptInvoice, exceptStep string) (int, time.Time, error) {
	return contactsSince(ctx, r.db, customerID, since, until, exceptInvoice, exceptStep)
}

// AddMessageEvent appends to a message's status history and, when status
// is given, moves the message to it (a delivery, a bounce ...).
func (r *Messages) AddMessageEvent(ctx context.Context, e *MessageEvent, setStatus bool) error {
	return r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(e).Exec(ctx); err != nil {
			return err
		}
		if !setStatus {
			return nil
		}
		_, err := tx.NewUpdate().Model((*Message)(nil)).Set("status = ?", e.Status).Set("detail = ?", e.Detail).
			Where("id = ?", e.MessageID).Exec(ctx)
		return err
	})
}

// MessageEvents returns the status history of the given messages, oldest first.
func (r *Messages) MessageEvents(ctx context.Context, messageIDs []string) ([]MessageEvent, error) {
	var out []MessageEvent
	if len(messageIDs) == 0 {
		return out, nil
	}
	err := r.db.NewSelect().Model(&out).Where("message_id IN (?)", bun.In(messageIDs)).Order("occurred_at", "id").Scan(ctx)
	return out, err
}
