package collect

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/collections-engine/collections/db"
)

// A reply that matched no invoice waits in the team's queue (an inbound
// email with status unmatched and its task of kind unmatched_reply). A
// person then attaches it to the invoice it is about (AttachReply), which
// does what a matched reply does, or dismisses it (DismissReply).

// AttachReply attaches an unmatched reply to an invoice.
type AttachReply struct {
	Actor          Actor
	InboundEmailID string
	// Invoice is the invoice's id or its number, as a person types it.
	Invoice string
}

// AttachResult is what attaching did.
type AttachResult struct {
	Email   *db.InboundEmail
	Invoice *db.Invoice
	// MessageID is the reply in the invoice's communication log; TaskID the
	// account manager's "customer replied" task.
	MessageID, TaskID string
	// Already: the reply was on this invoice before (a form sent twice, an
	// API retry); nothing changed.
	Already bool
}

// AttachReply puts an open unmatched reply on an invoice as if it had
// matched on arrival: into the invoice's communication log with its
// attachments, a "customer replied" task for the account manager, the
// timeline and the policy's hold through the workflow; the team's task is
// done and the reply leaves the queue, all in one transaction. Refused:
//
//   - an unknown reply: NotFound;
//   - an automatic reply, a dismissed one, or one on another invoice
//     already: Conflict (attaching it to the invoice it is on again is
//     answered Already, nothing changed);
//   - no invoice named, or none with that id or number: Invalid, Refused
//     (field invoice);
//   - a closed invoice (paid, settled, written off, cancelled): Closed — its
//     workflow has ended, so the reply would reach neither the timeline nor
//     a hold; dismiss it with a note instead;
//   - an invoice of another customer when the sender's address is a
//     customer's: Refused (field invoice), so a reply never lands on a
//     stranger's account.
func (s *Service) AttachReply(ctx context.Context, cmd AttachReply) (AttachResult, error) {
	ref := strings.TrimSpace(cmd.Invoice)
	if ref == "" {
		return AttachResult{}, invalidf("invoice", "is required: the number or id of the invoice the reply is about")
	}
	if len(ref) > 200 {
		return AttachResult{}, invalidf("invoice", "is longer than 200 characters")
	}
	email, err := s.Store.GetInboundEmail(ctx, cmd.InboundEmailID)
	if errors.Is(err, db.ErrNotFound) {
		return AttachResult{}, notFoundf("inbound email %q not found", cmd.InboundEmailID)
	}
	if err != nil {
		return AttachResult{}, err
	}
	inv, err := s.invoiceByRef(ctx, ref)
	if err != nil {
		return AttachResult{}, err
	}
	if err := attachable(email, inv); err != nil {
		if errors.Is(err, errAlready) {
			return AttachResult{Email: email, Invoice: inv, MessageID: deref(email.MessageID), Already: true}, nil
		}
		return AttachResult{}, err
	}
	if inv.ClosedAt != nil || inv.Stage.Closed() {
		return AttachResult{}, &Error{Kind: Closed, Field: "invoice", Message: "invoice: " + inv.Number + " is closed (" + string(inv.Stage) +
			"); a reply is attached to an open invoice only. Dismiss it with a note instead."}
	}
	custs, err := s.Store.CustomersByEmail(ctx, email.Sender, 20)
	if err != nil {
		return AttachResult{}, err
	}
	if len(custs) > 0 && !slices.ContainsFunc(custs, func(c db.Customer) bool { return c.ID == inv.CustomerID }) {
		return AttachResult{}, &Error{Kind: Refused, Field: "invoice", Message: "invoice: " + inv.Number + " is another customer's; the sender " +
			email.Sender + " is the address of customer " + custs[0].ID}
	}

	var flags []string
	if email.Flags != "" {
		flags = strings.Split(email.Flags, ",")
	}
	var notKept []string
	if email.NotKept != "" {
		notKept = []string{email.NotKept}
	}
	f := replyFacts{EmailID: email.ID, From: email.Sender, Subject: email.Subject, Text: email.Body, HTML: email.HTML,
		Own: OwnText(email.Body), Flags: flags, Provider: cmd.Actor.Name, ProviderMessageID: "inbound:" + email.ID, NotKept: notKept}
	now := s.now()
	msg, task, err := s.replyOnInvoice(ctx, inv, f, now)
	if err != nil {
		return AttachResult{}, err
	}
	by := "attached by " + cmd.Actor.String()
	if msg.Detail != "" {
		by = msg.Detail + "; " + by
	}
	msg.Detail = truncateRunes(by, 500)
	err = s.Store.AttachInboundEmail(ctx, db.AttachedReply{EmailID: email.ID, Invoice: inv, Message: msg, Task: task,
		CloseNote: "attached to invoice " + inv.Number + " by " + cmd.Actor.String(), Now: now})
	if errors.Is(err, db.ErrInboundResolved) {
		// Someone else attached or dismissed it meanwhile.
		now, gerr := s.Store.GetInboundEmail(ctx, email.ID)
		if gerr != nil {
			return AttachResult{}, gerr
		}
		if aerr := attachable(now, inv); errors.Is(aerr, errAlready) {
			return AttachResult{Email: now, Invoice: inv, MessageID: deref(now.MessageID), Already: true}, nil
		} else if aerr != nil {
			return AttachResult{}, aerr
		}
		return AttachResult{}, conflictf("id", "inbound email %q changed meanwhile; try again", email.ID)
	}
	if err != nil {
		return AttachResult{}, err
	}
	s.log().Info("reply attached", "inbound_id", email.ID, "invoice_id", inv.ID, "message_id", msg.ID, "actor", cmd.Actor.String())
	s.signalReply(ctx, inv, msg, task, f)
	email.Status, email.MatchedBy, email.InvoiceID, email.MessageID, email.ResolvedAt = db.InboundMatched, db.MatchedByAttached, &inv.ID, &msg.ID, &now
	res := AttachResult{Email: email, Invoice: inv, MessageID: msg.ID}
	if task != nil {
		res.TaskID = task.ID
	}
	return res, nil
}

var errAlready = errors.New("already on this invoice")

// attachable says whether an email may be attached to inv: errAlready when
// it is on inv already.
func attachable(e *db.InboundEmail, inv *db.Invoice) error {
	switch {
	case e.Status == db.InboundMatched && e.InvoiceID != nil && *e.InvoiceID == inv.ID:
		return errAlready
	case e.Status == db.InboundMatched:
		return conflictf("id", "inbound email %q is already on another invoice (%s)", e.ID, deref(e.InvoiceID))
	case e.Status == db.InboundAutoReply:
		return conflictf("id", "inbound email %q is an automatic reply; it is kept, not attached", e.ID)
	case e.ResolvedAt != nil:
		return conflictf("id", "inbound email %q was dismissed", e.ID)
	}
	return nil
}

// invoiceByRef finds an invoice by its id, else its number.
func (s *Service) invoiceByRef(ctx context.Context, ref string) (*db.Invoice, error) {
	inv, err := s.Store.GetInvoice(ctx, ref)
	if errors.Is(err, db.ErrNotFound) {
		inv, err = s.Store.GetInvoiceByNumber(ctx, ref)
	}
	if errors.Is(err, db.ErrNotFound) {
		return nil, &Error{Kind: Refused, Field: "invoice", Message: "invoice: there is no invoice with the number or id " + quote(ref)}
	}
	return inv, err
}

// DismissReply closes an unmatched reply without an invoice: spam, a
// question answered by other means, a reply already dealt with.
type DismissReply struct {
	Actor          Actor
	InboundEmailID string
	Note           string // why, kept on the team's task
}

// DismissReply takes an open unmatched (or automatic) reply out of the
// team's queue and completes its task (outcome dismissed), in one
// transaction. Dismissing it again, or a reply on an invoice, is a
// Conflict.
func (s *Service) DismissReply(ctx context.Context, cmd DismissReply) (*db.InboundEmail, error) {
	if len(cmd.Note) > 10000 {
		return nil, invalidf("note", "is longer than 10000 characters")
	}
	email, err := s.Store.GetInboundEmail(ctx, cmd.InboundEmailID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFoundf("inbound email %q not found", cmd.InboundEmailID)
	}
	if err != nil {
		return nil, err
	}
	note := strings.TrimSpace(cmd.Note)
	if note != "" {
		note += " "
	}
	note += "(dismissed by " + cmd.Actor.String() + ")"
	now := s.now()
	err = s.Store.DismissInboundEmail(ctx, email.ID, "dismissed", note, now)
	if errors.Is(err, db.ErrInboundResolved) {
		if email.Status == db.InboundMatched {
			return nil, conflictf("id", "inbound email %q is on invoice %s; it is not dismissed", email.ID, deref(email.InvoiceID))
		}
		return nil, conflictf("id", "inbound email %q was dismissed or attached already", email.ID)
	}
	if err != nil {
		return nil, err
	}
	s.log().Info("reply dismissed", "inbound_id", email.ID, "actor", cmd.Actor.String())
	email.ResolvedAt = &now
	return email, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func quote(s string) string { return `"` + s + `"` }

// AttachmentFile is a stored attachment as it is downloaded.
type AttachmentFile struct {
	ID, Filename string
	// ContentType is the stored type when it is one of AttachmentTypes,
	// else application/octet-stream: a browser is never told to render
	// what the intake did not allow.
	ContentType string
	Content     []byte
}

// Header sets the download's headers: always a download (never shown
// inline), its declared type only, no sniffing, no caching.
func (f AttachmentFile) Header(h http.Header) {
	h.Set("Content-Type", f.ContentType)
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename})
	if cd == "" { // a name mime cannot write: a download all the same
		cd = "attachment"
	}
	h.Set("Content-Disposition", cd)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
}

// Attachment loads a stored attachment of an inbound email for download;
// NotFound when there is none with that id.
func (s *Service) Attachment(ctx context.Context, id string) (AttachmentFile, error) {
	a, err := s.Store.GetAttachment(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return AttachmentFile{}, notFoundf("attachment %q not found", id)
	}
	if err != nil {
		return AttachmentFile{}, err
	}
	content, err := base64.StdEncoding.DecodeString(a.Content)
	if err != nil {
		return AttachmentFile{}, fmt.Errorf("attachment %s: stored content: %w", a.ID, err)
	}
	ct := "application/octet-stream"
	if AttachmentTypes[a.ContentType] {
		ct = a.ContentType
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, a.Filename)
	return AttachmentFile{ID: a.ID, Filename: cmpOr(name, "attachment"), ContentType: ct, Content: content}, nil
}
