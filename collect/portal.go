package collect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/portallink"
)

// The customer portal's actions: the links that open it, and the one
// action only the portal has (a question). Disputes, promises, payments
// and credit applications from the portal are the same use cases the API
// calls, with the actor PortalActor.

// portalStore is what the portal's actions need of the database.
type portalStore interface {
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	GetInvoice(ctx context.Context, id string) (*db.Invoice, error)
	InsertNote(ctx context.Context, n *db.Note) error
	ClaimTask(ctx context.Context, t *db.Task) (*db.Task, bool, error)
	RevokePortalLinks(ctx context.Context, r *db.PortalRevocation) error
	PortalLinkRevoked(ctx context.Context, linkID, customerID string, issuedAt time.Time) (bool, error)
}

// DefaultPromiseHorizon is how far out a customer may promise to pay from
// the portal when the service sets none: the team may agree to any date
// through the API or the desk, a customer on their own to at most this.
const DefaultPromiseHorizon = 30 * 24 * time.Hour

func (s *Service) promiseHorizon() time.Duration {
	if s.PromiseHorizon > 0 {
		return s.PromiseHorizon
	}
	return DefaultPromiseHorizon
}

// PortalActor is the customer acting through the portal.
func PortalActor(customerID string) Actor {
	return Actor{Kind: ActorCustomer, Name: customerID + " via portal"}
}

// IssuePortalLink makes a link to a customer's portal (optionally about
// one invoice), or, with CreditApplication, to the credit application
// form for a prospective customer.
type IssuePortalLink struct {
	Actor             Actor
	CustomerID        string
	InvoiceID         string
	CreditApplication bool
}

// PortalLink is an issued link.
type PortalLink struct {
	ID        string
	URL       string
	ExpiresAt time.Time
}

var errNoPortal = &Error{Kind: Unavailable, Message: "the customer portal is not configured (PORTAL_LINK_KEYS, PORTAL_BASE_URL)"}

// IssuePortalLink signs a new link; nothing is stored (a link is revoked
// by its id or by its customer).
func (s *Service) IssuePortalLink(ctx context.Context, cmd IssuePortalLink) (PortalLink, error) {
	if s.Portal == nil || s.Portal.Signer == nil {
		return PortalLink{}, errNoPortal
	}
	now := s.now()
	c := portallink.Claims{ID: portallink.RandomID(), IssuedAt: now}
	if cmd.CreditApplication {
		if cmd.CustomerID != "" || cmd.InvoiceID != "" {
			return PortalLink{}, invalidf("customer_id", "a credit application link is for a prospective customer: give no customer_id or invoice_id")
		}
		c.Kind = portallink.KindCredit
	} else {
		c.Kind = portallink.KindCustomer
		if strings.TrimSpace(cmd.CustomerID) == "" {
			return PortalLink{}, invalidf("customer_id", "is required")
		}
		cust, err := s.Store.GetCustomer(ctx, cmd.CustomerID)
		if errors.Is(err, db.ErrNotFound) {
			return PortalLink{}, notFoundf("customer %q not found", cmd.CustomerID)
		} else if err != nil {
			return PortalLink{}, err
		}
		c.CustomerID = cust.ID
		if cmd.InvoiceID != "" {
			inv, err := s.Invoice(ctx, cmd.InvoiceID)
			if err != nil {
				return PortalLink{}, err
			}
			if inv.CustomerID != cust.ID {
				return PortalLink{}, invalidf("invoice_id", "invoice %q is not customer %q's", cmd.InvoiceID, cust.ID)
			}
			c.InvoiceID = inv.ID
		}
	}
	tok := s.Portal.Signer.Sign(c)
	link := PortalLink{ID: c.ID, URL: s.Portal.URL(tok), ExpiresAt: c.IssuedAt.Add(s.Portal.Signer.Lifetime()).Truncate(time.Second)}
	if cmd.CreditApplication {
		link.URL = s.Portal.CreditURL(tok)
	}
	s.log().Info("portal link issued", "link_id", c.ID, "customer_id", c.CustomerID, "invoice_id", c.InvoiceID, "actor", cmd.Actor.String())
	return link, nil
}

// ErrPortalLink is every reason a link does not open the portal: malformed,
// forged, expired, revoked, or its customer gone. Front doors answer all of
// them alike, so a holder learns nothing about which.
var ErrPortalLink = &Error{Kind: NotFound, Message: "this link is not valid or has expired"}

// OpenPortalLink checks a link: genuine, unexpired, not revoked, of the
// kind wanted, and for a customer that exists. Anything else is
// ErrPortalLink.
func (s *Service) OpenPortalLink(ctx context.Context, token, kind string) (portallink.Claims, error) {
	if s.Portal == nil || s.Portal.Signer == nil {
		return portallink.Claims{}, ErrPortalLink
	}
	c, err := s.Portal.Signer.Verify(token, s.now())
	if err != nil || c.Kind != kind {
		return portallink.Claims{}, ErrPortalLink
	}
	revoked, err := s.Store.PortalLinkRevoked(ctx, c.ID, c.CustomerID, c.IssuedAt)
	if err != nil {
		return portallink.Claims{}, err
	}
	if revoked {
		return portallink.Claims{}, ErrPortalLink
	}
	if c.Kind == portallink.KindCustomer {
		if _, err := s.Store.GetCustomer(ctx, c.CustomerID); errors.Is(err, db.ErrNotFound) {
			return portallink.Claims{}, ErrPortalLink
		} else if err != nil {
			return portallink.Claims{}, err
		}
	}
	return c, nil
}

// RevokePortalLinks voids one link (LinkID), or every link of a customer
// issued until now (CustomerID).
type RevokePortalLinks struct {
	Actor      Actor
	LinkID     string
	CustomerID string
	Reason     string
}

// RevokePortalLinks stores the revocation; from now on the links it names
// open the same page as an unknown link.
func (s *Service) RevokePortalLinks(ctx context.Context, cmd RevokePortalLinks) (*db.PortalRevocation, error) {
	link, cust := strings.TrimSpace(cmd.LinkID), strings.TrimSpace(cmd.CustomerID)
	switch {
	case (link == "") == (cust == ""):
		return nil, invalidf("link_id", "give either link_id (one link) or customer_id (all of a customer's links), not both or neither")
	case len(link) > 64:
		return nil, invalidf("link_id", "is longer than 64 characters")
	case len(cmd.Reason) > 500:
		return nil, invalidf("reason", "is longer than 500 characters")
	}
	now := s.now()
	r := &db.PortalRevocation{ID: uuid.Must(uuid.NewV7()).String(), LinkID: link, Reason: strings.TrimSpace(cmd.Reason),
		RevokedBy: cmd.Actor.String(), CreatedAt: now}
	if cust != "" {
		if _, err := s.Store.GetCustomer(ctx, cust); errors.Is(err, db.ErrNotFound) {
			return nil, notFoundf("customer %q not found", cust)
		} else if err != nil {
			return nil, err
		}
		// A link carries its issue time to the second: everything issued up
		// to and including this second is void.
		before := now.Truncate(time.Second).Add(time.Second)
		r.CustomerID, r.RevokedBefore = cust, &before
	}
	if err := s.Store.RevokePortalLinks(ctx, r); err != nil {
		return nil, err
	}
	s.audit(ctx, cmd.Actor, "revoke portal links", "portal_link", link+cust, map[string]any{"link_id": link, "customer_id": cust, "reason": r.Reason})
	return r, nil
}

// AskQuestion is a customer's question about an invoice, from the portal.
type AskQuestion struct {
	Actor      Actor
	CustomerID string // the customer asking: the invoice must be theirs
	InvoiceID  string
	Question   string
}

// Question is what became of a question: the note on the invoice and the
// task for the account manager.
type Question struct {
	Note *db.Note
	Task *db.Task
}

// MaxQuestion is the longest question, in bytes.
const MaxQuestion = 5000

// AskQuestion keeps the question as a note on the invoice (its timeline)
// and gives the customer's account manager a task to answer it within a
// day.
func (s *Service) AskQuestion(ctx context.Context, cmd AskQuestion) (Question, error) {
	q := strings.TrimSpace(cmd.Question)
	switch {
	case q == "":
		return Question{}, invalidf("question", "must not be empty")
	case len(q) > MaxQuestion:
		return Question{}, invalidf("question", "is longer than %d characters", MaxQuestion)
	}
	inv, err := s.Invoice(ctx, cmd.InvoiceID)
	if err != nil {
		return Question{}, err
	}
	if cmd.CustomerID != "" && inv.CustomerID != cmd.CustomerID {
		return Question{}, notFoundf("invoice %q not found", cmd.InvoiceID)
	}
	cust, err := s.Store.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return Question{}, err
	}
	note, err := s.AddNote(ctx, AddNote{InvoiceID: inv.ID, Kind: "other", Body: "Question from the customer (portal): " + q,
		Author: cust.Name + " (customer, portal)", Actor: cmd.Actor})
	if err != nil {
		return Question{}, err
	}
	now := s.now()
	t, _, err := s.Store.ClaimTask(ctx, &db.Task{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
		Key: "question:" + note.ID, Kind: "question", Assignee: cust.AccountManager,
		Title:  fmt.Sprintf("Answer %s's question about invoice %s", cust.Name, inv.Number),
		Detail: q, Status: db.TaskOpen, DueAt: now.Add(24 * time.Hour), CreatedAt: now})
	if err != nil {
		return Question{}, err
	}
	s.log().Info("customer question", "invoice_id", inv.ID, "task_id", t.ID, "note_id", note.ID, "actor", cmd.Actor.String())
	return Question{Note: note, Task: t}, nil
}
