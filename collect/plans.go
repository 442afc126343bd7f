package collect

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// Payment plans (issue 17): the API, the collectors' page and the
// customer's portal all agree, decide and cancel plans through these. The
// invoice's workflow is the authority: it checks the plan against the
// balance and the policy's bounds, agrees it at once or leaves it pending
// for the account manager, and carries it out.

// PlanInstalment is one date and amount of a proposed plan.
type PlanInstalment struct {
	DueAt       time.Time
	AmountMinor int64 // in the invoice's currency
}

// ProposePlan proposes a payment plan for an invoice's whole balance:
// either Instalments, or Count instalments Every period from FirstDueAt
// (the balance split evenly, the last instalment carrying the remainder).
//
// Every is "N days", "N weeks" or "N months" (singular or plural, N from 1
// to 120; months are calendar months, kept to the month's last day), or a
// duration as policies write them: "14d", "36h", "30s".
type ProposePlan struct {
	Actor          Actor
	InvoiceID      string
	IdempotencyKey string
	Instalments    []PlanInstalment
	Count          int
	Every          string
	FirstDueAt     time.Time
	Note           string
	By             string // who agreed it, as the timeline names them (default: the actor)
}

// DecidePlan is the account manager's decision on a pending plan.
type DecidePlan struct {
	Actor          Actor
	InvoiceID      string
	IdempotencyKey string
	Decision       string // approve or decline
	Note           string
	By             string
}

// CancelPlan cancels the invoice's pending or active plan.
type CancelPlan struct {
	Actor          Actor
	InvoiceID      string
	IdempotencyKey string
	Reason         string // required, for the record
	By             string
}

// PlanResult is the invoice and its plan after a plan command.
type PlanResult struct {
	Invoice      *db.Invoice
	Plan         invoice.Plan
	Stage        invoice.Stage
	BalanceMinor int64
}

// Pending reports whether the plan waits for the account manager.
func (r PlanResult) Pending() bool { return r.Plan.State == invoice.PlanPending }

// ProposePaymentPlan proposes a plan; within the policy's bounds it is
// agreed at once, else it waits for approval (PlanResult.Pending).
func (s *Service) ProposePaymentPlan(ctx context.Context, cmd ProposePlan) (PlanResult, error) {
	req := workflows.ProposePlanRequest{Note: cmd.Note, Actor: actorName(cmd.By, cmd.Actor)}
	generated := cmd.Count != 0 || strings.TrimSpace(cmd.Every) != "" || !cmd.FirstDueAt.IsZero()
	switch {
	case len(cmd.Instalments) > 0 && generated:
		return PlanResult{}, invalidf("instalments", "give either instalments or count, every and first_due_at, not both")
	case len(cmd.Instalments) > 0:
		if n := len(cmd.Instalments); n < 2 || n > policy.MaxPlanInstalments {
			return PlanResult{}, invalidf("instalments", "a plan has from 2 to %d instalments, not %d (for a single date, record a promise to pay)", policy.MaxPlanInstalments, n)
		}
		for i, in := range cmd.Instalments {
			if in.DueAt.IsZero() {
				return PlanResult{}, invalidf(fmt.Sprintf("instalments[%d].due_at", i), "is required")
			}
			if in.AmountMinor <= 0 {
				return PlanResult{}, invalidf(fmt.Sprintf("instalments[%d].amount", i), "must be greater than zero")
			}
			req.Instalments = append(req.Instalments, workflows.PlanInstalment{DueAt: in.DueAt.UTC(), AmountMinor: in.AmountMinor})
		}
	case !generated:
		return PlanResult{}, invalidf("instalments", "are required: give instalments, or count, every and first_due_at")
	default:
		if cmd.Count < 2 || cmd.Count > policy.MaxPlanInstalments {
			return PlanResult{}, invalidf("count", "must be from 2 to %d", policy.MaxPlanInstalments)
		}
		every, err := policy.ParsePeriod(cmd.Every)
		if err != nil {
			return PlanResult{}, invalidf("every", "%v", err)
		}
		if cmd.FirstDueAt.IsZero() {
			return PlanResult{}, invalidf("first_due_at", "is required")
		}
		req.Count, req.Every, req.FirstDueAt = cmd.Count, every, cmd.FirstDueAt.UTC()
	}
	return s.planCommand(ctx, cmd.InvoiceID, cmd.IdempotencyKey, cmd.Actor, workflows.UpdateProposePlan, req)
}

// DecidePaymentPlan approves or declines the invoice's pending plan, and
// completes the approval task the workflow gave the account manager.
func (s *Service) DecidePaymentPlan(ctx context.Context, cmd DecidePlan) (PlanResult, error) {
	switch cmd.Decision {
	case workflows.PlanApprove, workflows.PlanDecline:
	default:
		return PlanResult{}, invalidf("decision", "must be approve or decline")
	}
	res, err := s.planCommand(ctx, cmd.InvoiceID, cmd.IdempotencyKey, cmd.Actor, workflows.UpdateDecidePlan,
		workflows.DecidePlanRequest{Decision: cmd.Decision, Note: cmd.Note, Actor: actorName(cmd.By, cmd.Actor)})
	if err != nil {
		return res, err
	}
	s.completeApprovalTask(ctx, res, cmd)
	return res, nil
}

// completeApprovalTask marks the plan's approval task done with the
// decision: it is found on the invoice's timeline by its key.
func (s *Service) completeApprovalTask(ctx context.Context, res PlanResult, cmd DecidePlan) {
	st, _ := s.Status(ctx, res.Invoice)
	if st == nil {
		return
	}
	key := fmt.Sprintf("plan-%d:approval", res.Plan.Number)
	for _, e := range st.Timeline {
		if e.Kind != invoice.EventTask || e.Step != key || e.Reference == "" {
			continue
		}
		outcome := map[string]string{workflows.PlanApprove: "approved", workflows.PlanDecline: "declined"}[cmd.Decision]
		if _, err := s.CompleteTask(ctx, CompleteTask{TaskID: e.Reference, Outcome: outcome, Note: cmd.Note, By: cmd.By, Actor: cmd.Actor}); err != nil {
			s.log().Warn("plan approval task not completed", "task_id", e.Reference, "error", err)
		}
	}
}

// CancelPaymentPlan cancels the invoice's pending or active plan; chasing
// resumes where the plan interrupted it.
func (s *Service) CancelPaymentPlan(ctx context.Context, cmd CancelPlan) (PlanResult, error) {
	if strings.TrimSpace(cmd.Reason) == "" {
		return PlanResult{}, invalidf("reason", "is required: say why, for the record")
	}
	return s.planCommand(ctx, cmd.InvoiceID, cmd.IdempotencyKey, cmd.Actor, workflows.UpdateCancelPlan,
		workflows.CancelPlanRequest{Reason: cmd.Reason, Actor: actorName(cmd.By, cmd.Actor)})
}

func actorName(by string, a Actor) string {
	if strings.TrimSpace(by) != "" {
		return by
	}
	return a.String()
}

// planCommand runs a plan update on the invoice's workflow (one update per
// idempotency key) and answers with the invoice and its plan afterwards.
func (s *Service) planCommand(ctx context.Context, invoiceID, idem string, actor Actor, update string, arg any) (PlanResult, error) {
	inv, err := s.openInvoice(ctx, invoiceID)
	if err != nil {
		return PlanResult{}, err
	}
	updateID := update + ":" + uuid.Must(uuid.NewV7()).String()
	if idem != "" {
		updateID = update + ":" + idem
	}
	var res workflows.PlanResponse
	if err := s.Workflows.Update(ctx, inv.WorkflowID, update, updateID, arg, &res); err != nil {
		return PlanResult{}, fromWorkflow(err, fmt.Sprintf("invoice %s is closed (its workflow has ended)", inv.Number))
	}
	s.log().Info("payment plan", "update", update, "invoice_id", inv.ID, "plan", res.Plan.Number, "state", res.Plan.State, "actor", actor.String())
	if inv, err = s.Store.GetInvoice(ctx, inv.ID); err != nil {
		return PlanResult{}, err
	}
	return PlanResult{Invoice: inv, Plan: res.Plan, Stage: res.Stage, BalanceMinor: res.BalanceMinor}, nil
}
