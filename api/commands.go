package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// Interrupts on a running invoice: each becomes an update on its workflow
// (validated there against the invoice's current state) and answers with
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
	g.POST("/invoices/:id/cancel", s.closeCommand(workflows.UpdateCancel))
	g.POST("/invoices/:id/write-off", s.closeCommand(workflows.UpdateWriteOff))
	g.POST("/invoices/:id/due-date", s.changeDueDate)
	g.POST("/invoices/:id/escalation/decision", s.decide)
	g.POST("/invoices/:id/agency-outcome", s.agencyOutcome)
}

// pathInvoice loads the invoice named in the path.
func (s *Server) pathInvoice(c echo.Context) (*db.Invoice, error) {
	inv, err := s.Store.GetInvoice(c.Request().Context(), c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFound("invoice %q not found", c.Param("id"))
	}
	return inv, err
}

// openInvoice loads the invoice named in the path, refusing closed ones.
func (s *Server) openInvoice(c echo.Context) (*db.Invoice, error) {
	inv, err := s.pathInvoice(c)
	if err != nil {
		return nil, err
	}
	if inv.ClosedAt != nil {
		return nil, conflict("", "invoice %s is %s; nothing more can change", inv.Number, inv.Stage)
	}
	return inv, nil
}

// command decodes the body, builds the workflow's request, runs the update
// and answers with the invoice.
func command[B any](s *Server, c echo.Context, name string, build func(*db.Invoice, B) (any, error)) error {
	var body B
	if err := decode(c, &body); err != nil {
		return err
	}
	inv, err := s.openInvoice(c)
	if err != nil {
		return err
	}
	arg, err := build(inv, body)
	if err != nil {
		return err
	}
	updateID := name + ":" + uuid.Must(uuid.NewV7()).String()
	if key := c.Request().Header.Get("Idempotency-Key"); key != "" {
		updateID = name + ":" + key
	}
	var res workflows.CommandResponse
	ctx := c.Request().Context()
	if err := s.runUpdate(ctx, inv, name, updateID, arg, &res); err != nil {
		return err
	}
	fresh, err := s.Store.GetInvoice(ctx, inv.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.view(ctx, fresh))
}

func optionalTime(field, v string) (*time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	t, err := parseTime(field, v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func positiveAmount(field, v, currency string) (int64, error) {
	if strings.TrimSpace(v) == "" {
		return 0, invalid(field, "is required, as a decimal string such as \"100.00\"")
	}
	n, err := money.ParseAmount(v, currency)
	if err != nil {
		return 0, invalid(field, "%v", err)
	}
	if n == 0 {
		return 0, invalid(field, "must be greater than zero")
	}
	return n, nil
}

func (s *Server) openDispute(c echo.Context) error {
	return command(s, c, workflows.UpdateOpenDispute, func(_ *db.Invoice, b DisputeRequest) (any, error) {
		if strings.TrimSpace(b.Reason) == "" {
			return nil, invalid("reason", "is required: one of %s", strings.Join(workflows.DisputeReasons, ", "))
		}
		return workflows.DisputeRequest{Reason: strings.TrimSpace(b.Reason), Note: b.Note}, nil
	})
}

func (s *Server) resolveDispute(c echo.Context) error {
	return command(s, c, workflows.UpdateResolveDispute, func(inv *db.Invoice, b ResolveDisputeRequest) (any, error) {
		req := workflows.ResolveDisputeRequest{Resolution: b.Resolution, Note: b.Note, Actor: b.Actor}
		switch b.Resolution {
		case workflows.ResolutionRejected, workflows.ResolutionUpheld:
		case workflows.ResolutionAdjusted:
			n, err := positiveAmount("amount", b.Amount, inv.Currency)
			if err != nil {
				return nil, err
			}
			req.NewAmountMinor = n
		default:
			return nil, invalid("resolution", "must be rejected, upheld or adjusted")
		}
		return req, nil
	})
}

func (s *Server) promise(c echo.Context) error {
	return command(s, c, workflows.UpdatePromise, func(inv *db.Invoice, b PromiseRequest) (any, error) {
		n, err := positiveAmount("amount", b.Amount, inv.Currency)
		if err != nil {
			return nil, err
		}
		date, err := parseTime("date", b.Date)
		if err != nil {
			return nil, err
		}
		return workflows.PromiseRequest{AmountMinor: n, Date: date, Note: b.Note}, nil
	})
}

func (s *Server) pause(c echo.Context) error {
	return command(s, c, workflows.UpdatePause, func(_ *db.Invoice, b PauseRequest) (any, error) {
		until, err := optionalTime("until", b.Until)
		if err != nil {
			return nil, err
		}
		return workflows.PauseRequest{Until: until, Reason: b.Reason, Actor: b.Actor}, nil
	})
}

func (s *Server) resume(c echo.Context) error {
	return command(s, c, workflows.UpdateResume, func(_ *db.Invoice, b PauseRequest) (any, error) {
		return workflows.PauseRequest{Reason: b.Reason, Actor: b.Actor}, nil
	})
}

func (s *Server) closeCommand(name string) echo.HandlerFunc {
	return func(c echo.Context) error {
		return command(s, c, name, func(_ *db.Invoice, b CloseRequest) (any, error) {
			if strings.TrimSpace(b.Reason) == "" {
				return nil, invalid("reason", "is required: say why, for the record")
			}
			return workflows.CloseRequest{Reason: b.Reason, Actor: b.Actor}, nil
		})
	}
}

func (s *Server) changeDueDate(c echo.Context) error {
	return command(s, c, workflows.UpdateChangeDueDate, func(_ *db.Invoice, b DueDateRequest) (any, error) {
		due, err := parseTime("due_at", b.DueAt)
		if err != nil {
			return nil, err
		}
		return workflows.DueDateRequest{DueAt: due, Actor: b.Actor}, nil
	})
}

func (s *Server) decide(c echo.Context) error {
	return command(s, c, workflows.UpdateDecide, func(_ *db.Invoice, b DecisionRequest) (any, error) {
		until, err := optionalTime("until", b.Until)
		if err != nil {
			return nil, err
		}
		switch policy.Decision(b.Decision) {
		case policy.DecisionExtend, policy.DecisionAgency, policy.DecisionWriteOff:
		default:
			return nil, invalid("decision", "must be extend, agency or write_off")
		}
		return workflows.DecisionRequest{Decision: policy.Decision(b.Decision), Until: until, Note: b.Note, Actor: b.Actor}, nil
	})
}

// agencyOutcome takes the agency's report as a signal: a fact, recorded by
// the workflow once per reference.
func (s *Server) agencyOutcome(c echo.Context) error {
	var b AgencyOutcomeRequest
	if err := decode(c, &b); err != nil {
		return err
	}
	inv, err := s.openInvoice(c)
	if err != nil {
		return err
	}
	o := workflows.AgencyOutcome{Outcome: b.Outcome, Reference: strings.TrimSpace(b.Reference)}
	switch b.Outcome {
	case workflows.AgencyCollected, workflows.AgencyReturned:
	case workflows.AgencyPartiallyCollected:
		if o.AmountMinor, err = positiveAmount("amount", b.Amount, inv.Currency); err != nil {
			return err
		}
	default:
		return invalid("outcome", "must be collected, partially_collected or returned")
	}
	if o.Reference == "" {
		return invalid("reference", "is required: the agency's reference for this report")
	}
	ctx := c.Request().Context()
	if stage := s.view(ctx, inv).Stage; stage != invoice.StageAgency {
		return conflict("", "invoice %s is not with the agency (stage %s)", inv.Number, stage)
	}
	if err := s.Temporal.SignalWorkflow(ctx, inv.WorkflowID, "", workflows.SignalAgencyOutcome, o); err != nil {
		return unavailable("agency outcome not delivered, try again: %v", err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"invoice_id": inv.ID, "outcome": o.Outcome, "reference": o.Reference})
}
