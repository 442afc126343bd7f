package activities_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/documents"
	"github.com/collections-engine/collections/policy"
)

// recording keeps every message it is asked to send.
type recording struct {
	mu   sync.Mutex
	sent []channels.Message
}

func (r *recording) Provider() string { return "recording" }

func (r *recording) Send(_ context.Context, m channels.Message) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return "rec-" + m.ID, nil
}

// A step with the statement template (re-bill monthly) emails the
// customer's statement of account as a PDF, as of the send; its SMS carries
// none, and other templates attach nothing.
func TestStatementEmailAttachesTheStatementPDF(t *testing.T) {
	a, store, _ := setup(t)
	rec := &recording{}
	a.Senders = channels.Senders{policy.Email: rec, policy.SMS: rec}
	a.Sender = "Acme Supplies Ltd\nar@acme-supplies.test"
	ctx := context.Background()
	for _, in := range []activities.SendInput{
		{InvoiceID: "inv-1", Step: "statement", Template: activities.StatementTemplate, Tone: policy.Neutral, Channel: policy.Email, ScheduledAt: now},
		{InvoiceID: "inv-1", Step: "statement", Template: activities.StatementTemplate, Tone: policy.Neutral, Channel: policy.SMS, ScheduledAt: now},
		remind,
	} {
		if res, err := a.SendStepMessage(ctx, in); err != nil || res.Status != db.MessageSent {
			t.Fatalf("%s/%s: %+v %v", in.Template, in.Channel, res, err)
		}
	}
	if len(rec.sent) != 3 {
		t.Fatalf("%d messages sent", len(rec.sent))
	}
	email := rec.sent[0]
	if len(email.Attachments) != 1 {
		t.Fatalf("statement email has %d attachments", len(email.Attachments))
	}
	att := email.Attachments[0]
	if att.Filename != "statement-2026-11-20.pdf" || att.ContentType != "application/pdf" || !bytes.HasPrefix(att.Content, []byte("%PDF-")) {
		t.Errorf("attachment %s %s %q...", att.Filename, att.ContentType, att.Content[:min(8, len(att.Content))])
	}
	// It is the customer's statement as of the send, from the sender.
	st, err := documents.LoadStatement(ctx, store, "acme", now)
	if err != nil {
		t.Fatal(err)
	}
	st.Seller = a.Sender
	want, err := st.PDF()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(att.Content, want) {
		t.Errorf("the attachment is not the customer's statement as of the send (%d bytes, want %d)", len(att.Content), len(want))
	}
	if len(st.Invoices) != 1 || st.Invoices[0].Number != "INV-1" {
		t.Errorf("statement lists %+v", st.Invoices)
	}
	if n := len(rec.sent[1].Attachments) + len(rec.sent[2].Attachments); n != 0 {
		t.Errorf("the SMS or the reminder carries %d attachments", n)
	}
}
