package db

import (
	"context"
	"errors"
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

	// MatchedByAttached is how a reply someone attached to an invoice by
	// hand was matched.
	MatchedByAttached = "attached"
	// TaskUnmatchedReply is the team's task for a reply that matched no
	// invoice: the only kind of task without an invoice.
	TaskUnmatchedReply = "unmatched_reply"
)

// Attachment is a file that came with an inbound message.
type Attachment struct {
	bun.BaseModel `bun:"table:message_attachments"`

	ID string `bun:"id,pk"`
	// MessageID is the reply's message in the communication log; empty
	// (NULL) while the reply matches no invoice.
	MessageID      string    `bun:"message_id,nullzero"`
	InboundEmailID string    `bun:"inbound_email_id,nullzero"`
	Filename       string    `bun:"filename,notnull"`
	ContentType    string    `bun:"content_type,notnull"`
	SizeBytes      int64     `bun:"size_bytes,notnull"`
	Content        string    `bun:"content,notnull"` // base64
	CreatedAt      time.Time `bun:"created_at,notnull"`
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
	HTML        string     `bun:"html,notnull"`     // sanitised
	NotKept     string     `bun:"not_kept,notnull"` // attachments refused, and why
	TaskID      *string    `bun:"task_id"`          // the team's task, when unmatched
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
	Attachments       []Attachment // of Email, and of Message when matched
	// Task is the account manager's "customer replied" task, or the team's
	// unmatched_reply task; nil for an auto-reply.
	Task *Task
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
		}
		if in.Task != nil {
			q := tx.NewInsert().Model(in.Task)
			if in.Task.InvoiceID != "" {
				q = q.On("CONFLICT (invoice_id, task_key) DO NOTHING")
			} else {
				in.Email.TaskID = &in.Task.ID
			}
			if _, err := q.Exec(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.NewInsert().Model(in.Email).Exec(ctx); err != nil {
			return err
		}
		for i := range in.Attachments {
			in.Attachments[i].InboundEmailID = in.Email.ID
			if in.Message != nil {
				in.Attachments[i].MessageID = in.Message.ID
			}
			if _, err := tx.NewInsert().Model(&in.Attachments[i]).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	return first && err == nil, err
}

// ErrInboundResolved is returned when an inbound email that was open is
// not any more: attached to an invoice, or dismissed, meanwhile.
var ErrInboundResolved = errors.New("inbound email is no longer open")

// AttachedReply is what AttachInboundEmail writes together.
type AttachedReply struct {
	EmailID string
	Invoice *Invoice
	Message *Message // the reply in the invoice's communication log
	Task    *Task    // the account manager's "customer replied" task
	// CloseNote is the outcome note of the team's task, which closes.
	CloseNote string
	Now       time.Time
}

// AttachInboundEmail attaches an open unmatched email to an invoice, in
// one transaction: the email is marked matched (attached) and resolved,
// its message and attachments join the invoice's communication log, the
// account manager's task is created and the team's task done. Only one of
// two racing attaches (or an attach and a dismissal) wins; the other gets
// ErrInboundResolved and writes nothing.
func (r *Messages) AttachInboundEmail(ctx context.Context, a AttachedReply) error {
	return r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*InboundEmail)(nil)).Set("status = ?", InboundMatched).Set("matched_by = ?", MatchedByAttached).
			Set("invoice_id = ?", a.Invoice.ID).Set("message_id = ?", a.Message.ID).Set("resolved_at = ?", a.Now).
			Where("id = ? AND status = ? AND resolved_at IS NULL", a.EmailID, InboundUnmatched).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrInboundResolved
		}
		if _, err := tx.NewInsert().Model(a.Message).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*Attachment)(nil)).Set("message_id = ?", a.Message.ID).
			Where("inbound_email_id = ?", a.EmailID).Exec(ctx); err != nil {
			return err
		}
		if a.Task != nil {
			if _, err := tx.NewInsert().Model(a.Task).On("CONFLICT (invoice_id, task_key) DO NOTHING").Exec(ctx); err != nil {
				return err
			}
		}
		return completeTeamTask(ctx, tx, a.EmailID, MatchedByAttached, a.CloseNote, a.Now)
	})
}

// DismissInboundEmail resolves an open unmatched (or automatic) email
// without an invoice, and completes its team task with the outcome and
// note, in one transaction; ErrInboundResolved when it was not open.
func (r *Messages) DismissInboundEmail(ctx context.Context, id, outcome, note string, now time.Time) error {
	return r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*InboundEmail)(nil)).Set("resolved_at = ?", now).
			Where("id = ? AND status <> ? AND resolved_at IS NULL", id, InboundMatched).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrInboundResolved
		}
		return completeTeamTask(ctx, tx, id, outcome, note, now)
	})
}

// completeTeamTask completes the open team task of an inbound email.
func completeTeamTask(ctx context.Context, tx bun.IDB, emailID, outcome, note string, now time.Time) error {
	_, err := tx.NewUpdate().Model((*Task)(nil)).Set("status = ?", TaskDone).Set("outcome = ?", outcome).Set("note = ?", note).
		Set("completed_at = ?", now).
		Where("id = (SELECT task_id FROM inbound_emails WHERE id = ?) AND status = ? AND invoice_id IS NULL", emailID, TaskOpen).Exec(ctx)
	return err
}

// GetInboundEmail loads an inbound email.
func (r *Messages) GetInboundEmail(ctx context.Context, id string) (*InboundEmail, error) {
	e := new(InboundEmail)
	if err := r.db.NewSelect().Model(e).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "inbound email", id)
	}
	return e, nil
}

// InboundKey is where a page of inbound emails ends: the last one's time
// and id (newest first).
type InboundKey struct {
	ReceivedAt time.Time
	ID         string
}

// InboundPage lists up to n open inbound emails with a status, newest
// first, after the key (nil: from the newest), and the key of the next
// page (nil at the end). The database pages it (inbound_emails_open_idx).
func (r *Messages) InboundPage(ctx context.Context, status string, after *InboundKey, n int) (out []InboundEmail, next *InboundKey, err error) {
	n = int(limit(n))
	q := r.db.NewSelect().Model(&out).Where("status = ? AND resolved_at IS NULL", status).
		Order("received_at DESC", "id DESC").Limit(int64(n + 1))
	if after != nil {
		q = q.Where("(received_at < ? OR (received_at = ? AND id < ?))", after.ReceivedAt, after.ReceivedAt, after.ID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, err
	}
	if len(out) > n {
		out = out[:n]
		last := out[n-1]
		next = &InboundKey{ReceivedAt: last.ReceivedAt, ID: last.ID}
	}
	return out, next, nil
}

// InboundAttachments lists the attachments of inbound emails, without
// their content.
func (r *Messages) InboundAttachments(ctx context.Context, emailIDs []string) ([]Attachment, error) {
	var out []Attachment
	if len(emailIDs) == 0 {
		return out, nil
	}
	err := r.db.NewSelect().Model(&out).Column("id", "message_id", "inbound_email_id", "filename", "content_type", "size_bytes", "created_at").
		Where("inbound_email_id IN (?)", bun.In(emailIDs)).Order("created_at", "id").Scan(ctx)
	return out, err
}

// ListAttachments lists a message's attachments without their content.
func (r *Messages) ListAttachments(ctx context.Context, messageIDs []string) ([]Attachment, error) {
	var out []Attachment
	if len(messageIDs) == 0 {
		return out, nil
	}
	err := r.db.NewSelect().Model(&out).Column("id", "message_id", "inbound_email_id", "filename", "content_type", "size_bytes", "created_at").
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
