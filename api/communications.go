package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/policies"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/templates"
)

// The communication log: every message to and from a customer, with its
// text, address, provider id and status history. It is the evidence when a
// customer disputes or a case goes to court.

// CommunicationView is one message with its status history.
type CommunicationView struct {
	MessageView
	Direction string             `json:"direction"` // out or in
	History   []MessageEventView `json:"history"`
}

// MessageEventView is one step of a message's status history.
type MessageEventView struct {
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	Source string    `json:"source"`
	At     time.Time `json:"at"`
}

// Previewer renders a step's message without sending it.
type Previewer interface {
	Preview(ctx context.Context, invoiceID, template string, tone policy.Tone, channel policy.Channel) (templates.Rendered, string, error)
}

func (s *Server) communicationRoutes(g *echo.Group) {
	g.GET("/invoices/:id/communications", s.invoiceCommunications)
	g.GET("/customers/:id/communications", s.customerCommunications)
	g.GET("/invoices/:id/preview", s.preview)
}

func messageView(m *db.Message) MessageView {
	return MessageView{ID: m.ID, InvoiceID: m.InvoiceID, CustomerID: m.CustomerID, Step: m.Step,
		Channel: m.Channel, To: m.Recipient, Subject: m.Subject, Body: m.Body, Status: m.Status, Detail: m.Detail,
		Provider: m.Provider, ProviderMessageID: m.ProviderMessageID, ScheduledAt: m.ScheduledAt, CreatedAt: m.CreatedAt, SentAt: m.SentAt}
}

func (s *Server) communications(c echo.Context, msgs []db.Message) error {
	out, err := s.communicationViews(c.Request().Context(), msgs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"communications": out})
}

// communicationViews are messages with their status histories.
func (s *Server) communicationViews(ctx context.Context, msgs []db.Message) ([]CommunicationView, error) {
	ids := make([]string, len(msgs))
	for i := range msgs {
		ids[i] = msgs[i].ID
	}
	events, err := s.Store.MessageEvents(ctx, ids)
	if err != nil {
		return nil, err
	}
	history := map[string][]MessageEventView{}
	for _, e := range events {
		history[e.MessageID] = append(history[e.MessageID], MessageEventView{Status: e.Status, Detail: e.Detail, Source: e.Source, At: e.OccurredAt})
	}
	out := make([]CommunicationView, 0, len(msgs))
	for i := range msgs {
		h := history[msgs[i].ID]
		if h == nil {
			h = []MessageEventView{}
		}
		out = append(out, CommunicationView{MessageView: messageView(&msgs[i]), Direction: msgs[i].Direction, History: h})
	}
	return out, nil
}

func (s *Server) invoiceCommunications(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.pathInvoice(c); err != nil {
		return err
	}
	msgs, err := s.Store.ListMessages(ctx, db.MessageFilter{InvoiceID: c.Param("id"), Limit: 500})
	if err != nil {
		return err
	}
	return s.communications(c, msgs)
}

func (s *Server) customerCommunications(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.pathCustomer(c); err != nil {
		return err
	}
	msgs, err := s.Store.CustomerMessages(ctx, c.Param("id"), 500)
	if err != nil {
		return err
	}
	return s.communications(c, msgs)
}

// PreviewView is a rendered, unsent message.
type PreviewView struct {
	InvoiceID string `json:"invoice_id"`
	Step      string `json:"step"`
	Channel   string `json:"channel"`
	To        string `json:"to"`
	Subject   string `json:"subject,omitempty"`
	Body      string `json:"body"`
	HTML      string `json:"html,omitempty"`
}

// preview renders a step of the invoice's policy for it, as it would go out
// now (with today's balance), without sending: ?step=remind&channel=email.
func (s *Server) preview(c echo.Context) error {
	if s.Previewer == nil {
		return unavailable("previews are not available on this server")
	}
	ctx := c.Request().Context()
	inv, err := s.pathInvoice(c)
	if err != nil {
		return err
	}
	p, ok := s.policyVersion(ctx, inv.PolicyName, inv.PolicyVersion)
	if !ok {
		return unavailable("policy %s v%d is not available", inv.PolicyName, inv.PolicyVersion)
	}
	step, names := policies.MessageStep(p, c.QueryParam("step"))
	if step == nil {
		return invalid("step", "must be a step of policy %s v%d that sends a message: %s", p.Name, p.Version, strings.Join(names, ", "))
	}
	channel := policy.Channel(c.QueryParam("channel"))
	if channel == "" {
		channel = step.Channels[0]
	}
	if channel != policy.Email && channel != policy.SMS {
		return invalid("channel", "must be email or sms")
	}
	r, to, err := s.Previewer.Preview(ctx, inv.ID, step.Template, step.Tone, channel)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, PreviewView{InvoiceID: inv.ID, Step: step.ID, Channel: string(channel), To: to,
		Subject: r.Subject, Body: r.Body, HTML: r.HTML})
}
