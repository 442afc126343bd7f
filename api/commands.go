package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
)

// Interrupts on a running invoice: each handler decodes its body, runs the
// business action (package collect: the update on the invoice's workflow,
// validated there against the invoice's current state) and answers with
// the invoice as it stands afterwards.

// DisputeRequest opens a dispute.
type DisputeRequest struct {
	Reason string `json:"reason"` // wrong_amount, not_received, quality, duplicate, not_ordered, other
	Note   string `json:"note"`
}

// ResolveDisputeRequest resolves the open dispute.
type ResolveDisputeRequest struct {
	Resolution string `json:"resolution"` // rejected, upheld or adjusted
	Amount     string `json:"amount"`     // the corrected invoice amount, for adjusted
	Note       string `json:"note"`
	Actor      string `json:"actor"`
}

// PromiseRequest records a promise to pay.
type PromiseRequest struct {
	Amount string `json:"amount"`
	Date   string `json:"date"` // RFC 3339
	Note   string `json:"note"`
}

// PauseRequest pauses (or, for resume, resumes) chasing.
type PauseRequest struct {
	Until  string `json:"until"` // RFC 3339; empty pauses until resumed
	Reason string `json:"reason"`
	Actor  string `json:"actor"`
}

// CloseRequest cancels or writes off an invoice.
type CloseRequest struct {
	Reason string `json:"reason"`
	Actor  string `json:"actor"`
}

// DueDateRequest moves the due date.
type DueDateRequest struct {
	DueAt string `json:"due_at"`
	Actor string `json:"actor"`
}

// DecisionRequest is management's decision on an escalated invoice.
type DecisionRequest struct {
	Decision string `json:"decision"` // extend, agency or write_off
	Until    string `json:"until"`    // the new deadline, for extend
	Note     string `json:"note"`
	Actor    string `json:"actor"`
}

// AgencyOutcomeRequest is the collection agency's report.
type AgencyOutcomeRequest struct {
	Outcome   string `json:"outcome"` // collected, partially_collected, returned
	Amount    string `json:"amount"`  // collected so far, for partially_collected
	Reference string `json:"reference"`
}

func (s *Server) commandRoutes(g *echo.Group) {
	g.POST("/invoices/:id/disputes", s.openDispute)
	g.POST("/invoices/:id/disputes/resolve", s.resolveDispute)
	g.POST("/invoices/:id/promises", s.promise)
	g.POST("/invoices/:id/pause", s.pause)
	g.POST("/invoices/:id/resume", s.resume)
	g.POST("/invoices/:id/cancel", s.cancel)
	g.POST("/invoices/:id/write-off", s.writeOff)
	g.POST("/invoices/:id/due-date", s.changeDueDate)
	g.POST("/invoices/:id/escalation/decision", s.decide)
	g.POST("/invoices/:id/agency-outcome", s.agencyOutcome)
	g.POST("/invoices/:id/calls", s.logCall)
	s.planRoutes(g)
}

// pathInvoice loads the invoice named in the path.
func (s *Server) pathInvoice(c echo.Context) (*db.Invoice, error) {
	inv, err := s.Store.GetInvoice(c.Request().Context(), c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFound("invoice %q not found", c.Param("id"))
	}
	return inv, err
}

// commandOn is the invoice named in the path, the caller, and the
// request's Idempotency-Key (which makes a retried command one update).
func commandOn(c echo.Context) collect.InvoiceCommand {
	return collect.InvoiceCommand{InvoiceID: c.Param("id"), Actor: keyActor(c),
		IdempotencyKey: c.Request().Header.Get("Idempotency-Key")}
}

// command decodes the body, runs the business action on the invoice named
// in the path and answers with the invoice as it stands afterwards.
func command[B any](s *Server, c echo.Context, act func(context.Context, collect.InvoiceCommand, B) (*db.Invoice, error)) error {
	var body B
	if err := decode(c, &body); err != nil {
		return err
	}
	ctx := c.Request().Context()
	inv, err := act(ctx, commandOn(c), body)
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusOK, s.view(ctx, inv))
}

func (s *Server) openDispute(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b DisputeRequest) (*db.Invoice, error) {
		return s.cases().OpenDispute(ctx, collect.OpenDispute{InvoiceCommand: on, Reason: b.Reason, Note: b.Note})
	})
}

func (s *Server) resolveDispute(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b ResolveDisputeRequest) (*db.Invoice, error) {
		return s.cases().ResolveDispute(ctx, collect.ResolveDispute{InvoiceCommand: on, Resolution: b.Resolution,
			Amount: b.Amount, Note: b.Note, By: b.Actor})
	})
}

func (s *Server) promise(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b PromiseRequest) (*db.Invoice, error) {
		return s.cases().PromiseToPay(ctx, collect.PromiseToPay{InvoiceCommand: on, Amount: b.Amount, Date: b.Date, Note: b.Note})
	})
}

func (s *Server) pause(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b PauseRequest) (*db.Invoice, error) {
		return s.cases().Pause(ctx, collect.Pause{InvoiceCommand: on, Until: b.Until, Reason: b.Reason, By: b.Actor})
	})
}

func (s *Server) resume(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b PauseRequest) (*db.Invoice, error) {
		return s.cases().Resume(ctx, collect.Resume{InvoiceCommand: on, Reason: b.Reason, By: b.Actor})
	})
}

func (s *Server) cancel(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b CloseRequest) (*db.Invoice, error) {
		return s.cases().Cancel(ctx, collect.CloseInvoice{InvoiceCommand: on, Reason: b.Reason, By: b.Actor})
	})
}

func (s *Server) writeOff(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b CloseRequest) (*db.Invoice, error) {
		return s.cases().WriteOff(ctx, collect.CloseInvoice{InvoiceCommand: on, Reason: b.Reason, By: b.Actor})
	})
}

func (s *Server) changeDueDate(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b DueDateRequest) (*db.Invoice, error) {
		return s.cases().ChangeDueDate(ctx, collect.ChangeDueDate{InvoiceCommand: on, DueAt: b.DueAt, By: b.Actor})
	})
}

func (s *Server) decide(c echo.Context) error {
	return command(s, c, func(ctx context.Context, on collect.InvoiceCommand, b DecisionRequest) (*db.Invoice, error) {
		return s.cases().DecideEscalation(ctx, collect.DecideEscalation{InvoiceCommand: on, Decision: b.Decision,
			Until: b.Until, Note: b.Note, By: b.Actor})
	})
}

// agencyOutcome takes the agency's report as a signal: a fact, recorded by
// the workflow once per reference; it answers 202.
func (s *Server) agencyOutcome(c echo.Context) error {
	var b AgencyOutcomeRequest
	if err := decode(c, &b); err != nil {
		return err
	}
	r, err := s.cases().ReportAgencyOutcome(c.Request().Context(), collect.AgencyOutcome{InvoiceCommand: commandOn(c),
		Outcome: b.Outcome, Amount: b.Amount, Reference: b.Reference})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"invoice_id": r.Invoice.ID, "outcome": r.Outcome.Outcome, "reference": r.Outcome.Reference})
}
