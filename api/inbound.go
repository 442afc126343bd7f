package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
)

// InboundEmailView is an email that came in through SendGrid Inbound Parse.
type InboundEmailView struct {
	ID          string     `json:"id"`
	ReceivedAt  time.Time  `json:"received_at"`
	From        string     `json:"from"`
	To          string     `json:"to"`
	Subject     string     `json:"subject"`
	Body        string     `json:"body"`
	Status      string     `json:"status"` // matched, unmatched, auto_reply
	MatchedBy   string     `json:"matched_by,omitempty"`
	Flags       string     `json:"flags,omitempty"`
	InvoiceID   *string    `json:"invoice_id"`
	MessageID   *string    `json:"message_id"`
	Attachments int        `json:"attachments"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
}

// listInboundEmails lists inbound emails, newest first: status=unmatched is
// the team's queue of replies that found no invoice.
func (s *Server) listInboundEmails(c echo.Context) error {
	status := c.QueryParam("status")
	switch status {
	case "", db.InboundMatched, db.InboundUnmatched, db.InboundAutoReply:
	default:
		return invalid("status", "must be matched, unmatched or auto_reply")
	}
	n, err := queryLimit(c)
	if err != nil {
		return err
	}
	list, err := s.Store.ListInboundEmails(c.Request().Context(), status, c.QueryParam("open") == "true", n)
	if err != nil {
		return err
	}
	out := make([]InboundEmailView, 0, len(list))
	for _, e := range list {
		out = append(out, InboundEmailView{ID: e.ID, ReceivedAt: e.ReceivedAt, From: e.Sender, To: e.Recipient, Subject: e.Subject, Body: e.Body,
			Status: e.Status, MatchedBy: e.MatchedBy, Flags: e.Flags, InvoiceID: e.InvoiceID, MessageID: e.MessageID,
			Attachments: e.Attachments, ResolvedAt: e.ResolvedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"inbound_emails": out})
}
