// Package channels sends messages to customers. Each channel (email, SMS) is
// a Sender; without provider keys the dev Outbox stands in for both, so the
// product runs offline and every message can still be read.
package channels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/collections-engine/collections/policy"
)

// Message is one rendered message for one recipient.
type Message struct {
	ID        string // our message id, unique; providers get it as a custom argument
	InvoiceID string
	Step      string
	Channel   policy.Channel
	To        string
	Subject   string
	Body      string // plain text
	HTML      string // the HTML part of an email; empty for SMS
	// Attachments go with an email (a statement of account as PDF); SMS
	// senders ignore them.
	Attachments []Attachment
}

// Attachment is a file sent with an email.
type Attachment struct {
	Filename    string
	ContentType string // e.g. application/pdf
	Content     []byte
}

// Sender hands a message to a provider and returns the provider's message id.
// An error wrapped with Permanent will not succeed on retry.
type Sender interface {
	Provider() string
	Send(ctx context.Context, m Message) (providerMessageID string, err error)
}

// PermanentError marks a provider refusal that retrying cannot fix (invalid
// number, unsubscribed address, bad request).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Senders maps each channel to its sender.
type Senders map[policy.Channel]Sender

// For returns the sender for a channel.
func (s Senders) For(c policy.Channel) (Sender, error) {
	if snd, ok := s[c]; ok {
		return snd, nil
	}
	return nil, fmt.Errorf("no sender configured for channel %q", c)
}

// Outbox is the dev sender: the message is already stored in the database's
// message log by the caller; the outbox prints it as one log line and
// reports it delivered locally.
type Outbox struct{ Log *slog.Logger }

// Provider names the dev outbox in the message log.
func (Outbox) Provider() string { return "outbox" }

// Send logs the message.
func (o Outbox) Send(ctx context.Context, m Message) (string, error) {
	if o.Log != nil {
		args := []any{"message_id", m.ID, "invoice_id", m.InvoiceID, "step", m.Step,
			"channel", string(m.Channel), "to", m.To, "subject", m.Subject, "body", m.Body}
		for _, a := range m.Attachments {
			args = append(args, "attachment", fmt.Sprintf("%s (%s, %d bytes)", a.Filename, a.ContentType, len(a.Content)))
		}
		o.Log.InfoContext(ctx, "outbox", args...)
	}
	return "outbox-" + m.ID, nil
}

// DevOutbox sends every channel through the outbox.
func DevOutbox(log *slog.Logger) Senders {
	o := Outbox{Log: log}
	return Senders{policy.Email: o, policy.SMS: o}
}
