package collect

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/workflows"
)

// Notes: call logs and correspondence, per invoice or per customer. The
// seed documents insist on them: they are the record of who said what.

// NoteKinds are the kinds of note.
var NoteKinds = []string{"call", "email", "letter", "meeting", "other"}

// AddNote keeps a note on an invoice (InvoiceID) or, when no invoice is
// named, on a customer (CustomerID).
type AddNote struct {
	InvoiceID  string
	CustomerID string
	Kind       string // one of NoteKinds
	Body       string
	Author     string // who wrote it, as the note names them
	Actor      Actor
}

// AddNote stores a note on an invoice or a customer.
func (s *Service) AddNote(ctx context.Context, cmd AddNote) (*db.Note, error) {
	n := &db.Note{Kind: cmd.Kind, Body: cmd.Body, Author: strings.TrimSpace(cmd.Author)}
	var inv *db.Invoice
	if cmd.InvoiceID != "" {
		var err error
		if inv, err = s.Invoice(ctx, cmd.InvoiceID); err != nil {
			return nil, err
		}
		n.CustomerID, n.InvoiceID = inv.CustomerID, inv.ID
	} else {
		cust, err := s.Store.GetCustomer(ctx, cmd.CustomerID)
		if errors.Is(err, db.ErrNotFound) {
			return nil, notFoundf("customer %q not found", cmd.CustomerID)
		}
		if err != nil {
			return nil, err
		}
		n.CustomerID = cust.ID
	}
	switch {
	case !slices.Contains(NoteKinds, cmd.Kind):
		return nil, invalidf("kind", "must be one of %s", strings.Join(NoteKinds, ", "))
	case strings.TrimSpace(cmd.Body) == "":
		return nil, invalidf("body", "must not be empty")
	case len(cmd.Body) > 20000:
		return nil, invalidf("body", "is longer than 20,000 characters")
	}
	n.ID, n.CreatedAt = uuid.Must(uuid.NewV7()).String(), s.now()
	if err := s.Store.InsertNote(ctx, n); err != nil {
		return nil, err
	}
	s.log().Info("note added", "note_id", n.ID, "customer_id", n.CustomerID, "invoice_id", n.InvoiceID, "actor", cmd.Actor.String())
	if inv != nil && inv.ClosedAt == nil {
		// The note is kept; the timeline shows it once the workflow takes
		// the signal. A closed invoice's workflow has finished: the note
		// stays in the notes list only.
		if err := s.Workflows.Noted(ctx, inv.WorkflowID, workflows.Noted{
			NoteID: n.ID, Kind: n.Kind, Summary: noteSummary(n.Body), Actor: cmp.Or(n.Author, cmd.Actor.String()),
		}); err != nil {
			s.log().Warn("note not put on the timeline", "note_id", n.ID, "invoice_id", inv.ID, "error", err)
		}
	}
	return n, nil
}

// noteSummary is what the timeline shows of a note: its first 280
// characters, cut at a character boundary.
func noteSummary(body string) string {
	body = strings.TrimSpace(body)
	if r := []rune(body); len(r) > 280 {
		return string(r[:279]) + "…"
	}
	return body
}
