package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/portal"
)

// The customer portal's links: the team issues them (a customer's portal,
// or the credit application form for a prospective customer) and revokes
// them. The pages themselves are package portal's, mounted by Handler.

// PortalLinkRequest is the body of POST /v1/portal/links.
type PortalLinkRequest struct {
	// Kind is "customer" (default) or "credit_application".
	Kind       string `json:"kind"`
	CustomerID string `json:"customer_id"`
	InvoiceID  string `json:"invoice_id"`
}

// PortalLinkView is an issued link.
type PortalLinkView struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PortalRevocationRequest is the body of POST /v1/portal/revocations.
type PortalRevocationRequest struct {
	LinkID     string `json:"link_id"`
	CustomerID string `json:"customer_id"`
	Reason     string `json:"reason"`
}

// PortalRevocationView is a stored revocation.
type PortalRevocationView struct {
	ID            string     `json:"id"`
	LinkID        string     `json:"link_id,omitempty"`
	CustomerID    string     `json:"customer_id,omitempty"`
	RevokedBefore *time.Time `json:"revoked_before,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	RevokedBy     string     `json:"revoked_by"`
	CreatedAt     time.Time  `json:"created_at"`
}

func (s *Server) portalRoutes(g *echo.Group) {
	g.POST("/portal/links", s.issuePortalLink)
	g.POST("/portal/revocations", s.revokePortalLinks)
}

// issuePortalLink signs a new portal link.
func (s *Server) issuePortalLink(c echo.Context) error {
	var req PortalLinkRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	cmd := collect.IssuePortalLink{Actor: keyActor(c), CustomerID: req.CustomerID, InvoiceID: req.InvoiceID}
	switch req.Kind {
	case "", "customer":
	case "credit_application":
		cmd.CreditApplication = true
	default:
		return invalid("kind", "must be customer or credit_application")
	}
	l, err := s.cases().IssuePortalLink(c.Request().Context(), cmd)
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusCreated, PortalLinkView{ID: l.ID, URL: l.URL, ExpiresAt: l.ExpiresAt})
}

// revokePortalLinks voids one link or all of a customer's links issued so far.
func (s *Server) revokePortalLinks(c echo.Context) error {
	var req PortalRevocationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := s.cases().RevokePortalLinks(c.Request().Context(), collect.RevokePortalLinks{Actor: keyActor(c),
		LinkID: req.LinkID, CustomerID: req.CustomerID, Reason: req.Reason})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusCreated, revocationView(r))
}

func revocationView(r *db.PortalRevocation) PortalRevocationView {
	return PortalRevocationView{ID: r.ID, LinkID: r.LinkID, CustomerID: r.CustomerID, RevokedBefore: r.RevokedBefore,
		Reason: r.Reason, RevokedBy: r.RevokedBy, CreatedAt: r.CreatedAt}
}

// portalPage is the customer portal the server mounts, nil when no portal
// links are configured.
func (s *Server) portalPage() *portal.Page {
	if s.Portal == nil || s.cases().Portal == nil {
		return nil
	}
	cfg := *s.Portal
	cfg.Cases, cfg.Store, cfg.Metrics, cfg.Log, cfg.Clock = s.cases(), s.Store, s.Metrics, s.Log, s.Clock
	return portal.New(cfg)
}
