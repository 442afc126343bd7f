package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Inbound email: replies to our email that came back through SendGrid
// Inbound Parse. A matched reply is a Message with Direction Inbound on its
// invoice, with its Attachments; every inbound email, matched or not, is
// an InboundEmail, and an unmatched one stays open for the team.

// Inbound email statuses.
const (
	InboundMatched   = "matched"
	InboundUnmatched = "unmatched"
	InboundAutoReply = "auto_reply"
)

// Attachment is a file that came with an inbound message.
type Attachment struct {
	bun.BaseModel `bun:"table:message_attachments"`

	ID          string    `bun:"id,pk"`
	MessageID   string    `bun:"message_id,notnull"`
	Filename    string    `bun:"filename,notnull"`
	ContentType string    `bun:"content_type,notnull"`
	SizeBytes   int64     `bun:"size_bytes,notnull"`
	Content     string    `bun:"content,notnull"` // base64
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// InboundEmail is one email that came in.
type InboundEmail struct {
	bun.BaseModel `bun:"table:inbound_emails"`

	ID          string     `bun:"id,pk"`
	ReceivedAt  time.Time  `bun:"received_at,notnull"`
	Sender      string     `bun:"sender,notnull"`
	Recipient   string     `bun:"recipient,notnull"`
	Subject     string     `bun:"subject,notnull"`
	Body        string     `bun:"body,notnull"`
	Status      string     `bun:"status,notnull"`
	MatchedBy   string     `bun:"matched_by,notnull"`
	Flags       string     `bun:"flags,notnull"`
	InvoiceID   *string    `bun:"invoice_id"`
	MessageID   *string    `bun:"message_id"`
	Attachments int        `bun:"attachments,notnull"`
	ResolvedAt  *time.Time `bun:"resolved_at"`
}

// InboundReply is what StoreInboundEmail writes together: the email's
// record, and for a matched one its message, attachments and task.
type InboundReply struct {
	// Provider and EventID take the email in once (webhook_events), in the
	// same transaction as the rest: a failed write leaves no mark, so the
	// provider's retry is taken.
	Provider, EventID string
	Email             *InboundEmail
	Message           *Message     // nil when unmatched
	Attachments       []Attachment // of Message
	Task              *Task        // nil for an auto-reply
}

// StoreInboundEmail writes an inbound email and what it brings in one
// transaction: all of it or nothing. first is false, and nothing written,
// when the email (Provider, EventID) was taken before.
func (r *Messages) StoreInboundEmail(ctx context.Context, in InboundReply) (first bool, err error) {
	err = r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if in.EventID != "" {
			res, err := tx.NewInsert().Model(&WebhookEvent{Provider: in.Provider, EventID: in.EventID, ReceivedAt: in.Email.ReceivedAt}).
				On("CONFLICT DO NOTHING").Exec(ctx)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
		}
		first = true
		if in.Message != nil {
			if _, err := tx.NewInsert().Model(in.Message).Exec(ctx); err != nil {
				return err
			}
			for i := range in.Attachments {
				if _, err := tx.NewInsert().Model(&in.Attachments[i]).Exec(ctx); err != nil {
					return err
				}
			}
		}
		if in.Task != nil {
			if _, err := tx.NewInsert().Model(in.Task).On("CONFLICT (invoice_id, task_key) DO NOTHING").Exec(ctx); err != nil {
				return err
			}
		}
		_, err := tx.NewInsert().Model(in.Email).Exec(ctx)
		return err
	})
	return first && err == nil, err
}

// ListAttachments lists a message's attachments without their content.
func (r *Messages) ListAttachments(ctx context.Context, messageIDs []string) ([]Attachment, error) {
	var out []Attachment
	if len(messageIDs) == 0 {
		return out, nil
	}
	err := r.db.NewSelect().Model(&out).Column("id", "message_id", "filename", "content_type", "size_bytes", "created_at").
		Where("message_id IN (?)", bun.In(messageIDs)).Order("created_at", "id").Scan(ctx)
	return out, err
}

// GetAttachment loads an attachment with its content.
func (r *Messages) GetAttachment(ctx context.Context, id string) (*Attachment, error) {
	a := new(Attachment)
	if err := r.db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "attachment", id)
	}
	return a, nil
}

// ListInboundEmails lists inbound emails with the given status (all when
// empty), newest first; open only leaves out the resolved ones.
func (r *Messages) ListInboundEmails(ctx context.Context, status string, open bool, n int) ([]InboundEmail, error) {
	var out []InboundEmail
	q := r.db.NewSelect().Model(&out).Order("received_at DESC", "id DESC").Limit(limit(n))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if open {
		q = q.Where("resolved_at IS NULL")
	}
	err := q.Scan(ctx)
	return out, err
}

// LatestOutboundTo finds the invoice's newest message sent to address
// (case-insensitive), for matching a reply by its sender.
func (r *Messages) LatestOutboundTo(ctx context.Context, invoiceID, address string) (*Message, error) {
	m := new(Message)
	err := r.db.NewSelect().Model(m).Where("invoice_id = ? AND direction = ? AND LOWER(recipient) = LOWER(?)", invoiceID, "out", address).
		Order("created_at DESC", "id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "message to", address)
	}
	return m, nil
}
