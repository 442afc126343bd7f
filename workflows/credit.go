package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/credit/application"
)

// CreditWorkflowID is the id of an application's decision workflow: one
// application, one workflow.
func CreditWorkflowID(applicationID string) string { return "credit:" + applicationID }

// CreditInput starts a credit decision. The bounds travel with it, so a
// changed configuration applies to new applications only and a replay sees
// the bounds the decision was taken under.
type CreditInput struct {
	Application credit.Application
	Bounds      credit.Bounds
}

// CreditResult is what was decided.
type CreditResult struct {
	ApplicationID string
	Status        string // approved or declined
	Score         int
	LimitMinor    int64 // the approved limit (0 when declined)
	TermsDays     int
	Note          string
	DecidedBy     string // "auto", or the person who decided
}

// Credit decisions a person takes through UpdateDecideCredit.
const (
	CreditApprove = "approve"
	CreditDecline = "decline"
)

// CreditDecisionRequest is management's decision on an application outside
// the automatic bounds.
type CreditDecisionRequest struct {
	Decision   string // approve or decline
	LimitMinor int64  // for approve: the limit granted, in the application's currency
	TermsDays  int    // for approve: the payment terms granted
	Reason     string // required for decline
	Actor      string
}

// DecidedByAuto is who decided an application inside the automatic bounds.
const DecidedByAuto = "auto"

type creditRun struct {
	in       CreditInput
	awaiting bool // pending review: management's update is accepted
	decision *CreditDecisionRequest
	result   *CreditResult
}

// CreditDecision decides a credit application: the Score activity scores
// it; inside the configured bounds the decision is automatic; otherwise the
// application waits for management's decide-credit update, with a reminder
// to the reviewer when the review deadline passes. The outcome is applied by
// the ApplyCreditDecision activity (the customer's limit and terms) and
// returned.
func CreditDecision(ctx workflow.Context, in CreditInput) (CreditResult, error) {
	w := &creditRun{in: in}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecideCredit, w.decide,
		workflow.UpdateHandlerOptions{Validator: w.validate}); err != nil {
		return CreditResult{}, err
	}
	app := in.Application
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 24 * time.Hour})

	var score credit.Result
	if err := workflow.ExecuteActivity(withSummary(ctx, "score application"), a.ScoreCreditApplication, app).Get(ctx, &score); err != nil {
		return CreditResult{}, err
	}
	var d activities.CreditDecisionInput
	switch outcome := in.Bounds.Decide(score.Score, app); outcome.Kind {
	case credit.Approve:
		d = activities.CreditDecisionInput{Approved: true, LimitMinor: app.RequestedLimitMinor, TermsDays: app.TermsDays, Note: outcome.Reason, DecidedBy: DecidedByAuto}
	case credit.Decline:
		d = activities.CreditDecisionInput{Note: outcome.Reason, DecidedBy: DecidedByAuto}
	default:
		// Management may decide from the moment the application shows as
		// pending_review, which the activity below writes.
		w.awaiting = true
		due := workflow.Now(ctx).Add(in.Bounds.ReviewWithin)
		if err := workflow.ExecuteActivity(withSummary(ctx, "ask management"), a.RequestCreditReview, activities.CreditReviewInput{
			ApplicationID: app.ApplicationID, Reviewer: in.Bounds.Reviewer, DueAt: due,
		}).Get(ctx, nil); err != nil {
			return CreditResult{}, err
		}
		decided := func() bool { return w.decision != nil }
		ok, err := workflow.AwaitWithTimeout(ctx, in.Bounds.ReviewWithin, decided)
		if err != nil {
			return CreditResult{}, err
		}
		if !ok {
			if err := workflow.ExecuteActivity(withSummary(ctx, "remind management"), a.RemindCreditReview, app.ApplicationID).Get(ctx, nil); err != nil {
				return CreditResult{}, err
			}
			if err := workflow.Await(ctx, decided); err != nil {
				return CreditResult{}, err
			}
		}
		r := w.decision
		d = activities.CreditDecisionInput{Approved: r.Decision == CreditApprove, LimitMinor: r.LimitMinor, TermsDays: r.TermsDays, Note: r.Reason, DecidedBy: r.Actor}
	}
	d.ApplicationID = app.ApplicationID
	if err := workflow.ExecuteActivity(withSummary(ctx, "apply decision"), a.ApplyCreditDecision, d).Get(ctx, nil); err != nil {
		return CreditResult{}, err
	}
	res := CreditResult{ApplicationID: app.ApplicationID, Status: application.Declined, Score: score.Score, Note: d.Note, DecidedBy: d.DecidedBy}
	if d.Approved {
		res.Status, res.LimitMinor, res.TermsDays = application.Approved, d.LimitMinor, d.TermsDays
	}
	w.result = &res
	// The update's handler answers with the result: let it finish first.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return CreditResult{}, err
	}
	return res, nil
}

func withSummary(ctx workflow.Context, s string) workflow.Context {
	opts := workflow.GetActivityOptions(ctx)
	opts.Summary = s
	return workflow.WithActivityOptions(ctx, opts)
}

func (w *creditRun) validate(ctx workflow.Context, req CreditDecisionRequest) error {
	switch {
	case w.decision != nil || w.result != nil:
		return conflict("the application was already decided")
	case !w.awaiting:
		return conflict("the application is not waiting for a management decision")
	}
	switch req.Decision {
	case CreditApprove:
		if req.LimitMinor <= 0 {
			return invalid("limit", "an approval needs a limit above zero")
		}
		if req.TermsDays < 0 || req.TermsDays > 365 {
			return invalid("terms_days", "must be between 0 and 365")
		}
	case CreditDecline:
		if strings.TrimSpace(req.Reason) == "" {
			return invalid("reason", "a decline needs a reason")
		}
	default:
		return invalid("decision", fmt.Sprintf("must be %s or %s", CreditApprove, CreditDecline))
	}
	return nil
}

// decide records management's decision and answers once it is applied.
func (w *creditRun) decide(ctx workflow.Context, req CreditDecisionRequest) (CreditResult, error) {
	if strings.TrimSpace(req.Actor) == "" {
		req.Actor = "management"
	}
	w.decision = &req
	if err := workflow.Await(ctx, func() bool { return w.result != nil }); err != nil {
		return CreditResult{}, err
	}
	return *w.result, nil
}
