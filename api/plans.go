package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
)

// Payment plans (issue 17): agree, decide and cancel an invoice's plan.
// Each answers with the invoice as it stands afterwards, its plan in
// payment_plan.

// PlanRequest proposes a payment plan: instalments, or count, every and
// first_due_at.
type PlanRequest struct {
	Instalments []PlanInstalmentRequest `json:"instalments"`
	Count       int                     `json:"count"`
	Every       string                  `json:"every"` // "1 month", "2 weeks", "10 days", or a duration such as "14d"
	FirstDueAt  string                  `json:"first_due_at"`
	Note        string                  `json:"note"`
	Actor       string                  `json:"actor"`
}

// PlanInstalmentRequest is one date and amount of a proposed plan.
type PlanInstalmentRequest struct {
	DueAt  string `json:"due_at"`
	Amount string `json:"amount"`
}

// PlanDecisionRequest is the account manager's decision on a pending plan.
type PlanDecisionRequest struct {
	Decision string `json:"decision"` // approve or decline
	Note     string `json:"note"`
	Actor    string `json:"actor"`
}

// PlanCancelRequest cancels the pending or active plan.
type PlanCancelRequest struct {
	Reason string `json:"reason"`
	Actor  string `json:"actor"`
}

// PlanView is an invoice's payment plan with amounts as decimal strings.
type PlanView struct {
	Number          int              `json:"number"`
	State           string           `json:"state"`
	Total           string           `json:"total"`
	Instalments     []InstalmentView `json:"instalments"`
	ProposedAt      time.Time        `json:"proposed_at"`
	ProposedBy      string           `json:"proposed_by,omitempty"`
	ApprovalReasons []string         `json:"approval_reasons,omitempty"`
	AgreedAt        *time.Time       `json:"agreed_at,omitempty"`
	DecidedBy       string           `json:"decided_by,omitempty"`
	EndedAt         *time.Time       `json:"ended_at,omitempty"`
	EndReason       string           `json:"end_reason,omitempty"`
}

// InstalmentView is one instalment and what became of it.
type InstalmentView struct {
	DueAt  time.Time  `json:"due_at"`
	Amount string     `json:"amount"`
	Paid   string     `json:"paid"`
	State  string     `json:"state"` // upcoming, missed, paid, void
	PaidAt *time.Time `json:"paid_at,omitempty"`
}

func planView(p *invoice.Plan, currency string) *PlanView {
	if p == nil {
		return nil
	}
	v := &PlanView{Number: p.Number, State: p.State, Total: money.FormatAmount(p.TotalMinor, currency),
		ProposedAt: p.ProposedAt, ProposedBy: p.ProposedBy, ApprovalReasons: p.ApprovalReasons, AgreedAt: p.AgreedAt,
		DecidedBy: p.DecidedBy, EndedAt: p.EndedAt, EndReason: p.EndReason, Instalments: []InstalmentView{}}
	for _, in := range p.Instalments {
		v.Instalments = append(v.Instalments, InstalmentView{DueAt: in.DueAt, Amount: money.FormatAmount(in.AmountMinor, currency),
			Paid: money.FormatAmount(in.PaidMinor, currency), State: in.State, PaidAt: in.PaidAt})
	}
	return v
}

func (s *Server) planRoutes(g *echo.Group) {
	g.POST("/invoices/:id/payment-plan", s.proposePlan)
	g.POST("/invoices/:id/payment-plan/decision", s.decidePlan)
	g.POST("/invoices/:id/payment-plan/cancel", s.cancelPlan)
}

// proposePlan agrees a plan (state active) or leaves it for the account
// manager (state pending); 200 either way, with the invoice.
func (s *Server) proposePlan(c echo.Context) error {
	var b PlanRequest
	if err := decode(c, &b); err != nil {
		return err
	}
	inv, err := s.pathInvoice(c)
	if err != nil {
		return err
	}
	on := commandOn(c)
	cmd := collect.ProposePlan{Actor: on.Actor, InvoiceID: on.InvoiceID, IdempotencyKey: on.IdempotencyKey,
		Count: b.Count, Every: b.Every, Note: b.Note, By: b.Actor}
	for i, in := range b.Instalments {
		field := fmt.Sprintf("instalments[%d]", i)
		due, err := parseTime(field+".due_at", in.DueAt)
		if err != nil {
			return err
		}
		if strings.TrimSpace(in.Amount) == "" {
			return invalid(field+".amount", "is required, as a decimal string such as \"100.00\"")
		}
		n, err := money.ParseAmount(in.Amount, inv.Currency)
		if err != nil {
			return invalid(field+".amount", "%v", err)
		}
		cmd.Instalments = append(cmd.Instalments, collect.PlanInstalment{DueAt: due, AmountMinor: n})
	}
	if b.FirstDueAt != "" {
		if cmd.FirstDueAt, err = parseTime("first_due_at", b.FirstDueAt); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	res, err := s.cases().ProposePaymentPlan(ctx, cmd)
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusOK, s.view(ctx, res.Invoice))
}

func (s *Server) decidePlan(c echo.Context) error {
	var b PlanDecisionRequest
	if err := decode(c, &b); err != nil {
		return err
	}
	on := commandOn(c)
	ctx := c.Request().Context()
	res, err := s.cases().DecidePaymentPlan(ctx, collect.DecidePlan{Actor: on.Actor, InvoiceID: on.InvoiceID,
		IdempotencyKey: on.IdempotencyKey, Decision: b.Decision, Note: b.Note, By: b.Actor})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusOK, s.view(ctx, res.Invoice))
}

func (s *Server) cancelPlan(c echo.Context) error {
	var b PlanCancelRequest
	if err := decode(c, &b); err != nil {
		return err
	}
	on := commandOn(c)
	ctx := c.Request().Context()
	res, err := s.cases().CancelPaymentPlan(ctx, collect.CancelPlan{Actor: on.Actor, InvoiceID: on.InvoiceID,
		IdempotencyKey: on.IdempotencyKey, Reason: b.Reason, By: b.Actor})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusOK, s.view(ctx, res.Invoice))
}

// parseTime reads a required RFC 3339 time, naming the field.
func parseTime(field, v string) (time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return time.Time{}, invalid(field, "is required, in RFC 3339 form such as 2026-12-01T00:00:00Z")
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid(field, "%q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", v)
	}
	return t.UTC(), nil
}
