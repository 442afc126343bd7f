package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
)

// ErrTypeAlreadyDecided is the non-retryable error type of a credit
// decision that contradicts one already stored.
const ErrTypeAlreadyDecided = "AlreadyDecided"

func (a *Activities) scorer() credit.Scorer {
	if a.CreditScorer != nil {
		return a.CreditScorer
	}
	return credit.InternalScorer{Store: a.Store, Clock: a.now}
}

// ScoreCreditApplication scores an application with the configured scorer
// (our own data unless a bureau adapter is plugged in) and stores the score
// and its reasons on the application.
func (a *Activities) ScoreCreditApplication(ctx context.Context, app credit.Application) (credit.Result, error) {
	res, err := a.scorer().Score(ctx, app)
	if err != nil {
		return credit.Result{}, nonRetryable(err)
	}
	if err := a.Store.SetCreditScore(ctx, app.ApplicationID, res.Score, res.Reasons, a.now()); err != nil {
		return credit.Result{}, err
	}
	return res, nil
}

// CreditReviewInput puts an application in front of management.
type CreditReviewInput struct {
	ApplicationID string
	Reviewer      string // empty: the customer's account manager
	DueAt         time.Time
}

// RequestCreditReview marks an application pending_review, assigned to the
// reviewer with a deadline, and returns who has it.
func (a *Activities) RequestCreditReview(ctx context.Context, in CreditReviewInput) (string, error) {
	app, err := a.Store.GetCreditApplication(ctx, in.ApplicationID)
	if err != nil {
		return "", nonRetryable(err)
	}
	reviewer := in.Reviewer
	if reviewer == "" {
		cust, err := a.Store.GetCustomer(ctx, app.CustomerID)
		if err != nil {
			return "", nonRetryable(err)
		}
		reviewer = cust.AccountManager
	}
	if reviewer == "" {
		reviewer = "management"
	}
	if err := a.Store.RequestCreditReview(ctx, app.ID, reviewer, in.DueAt.UTC(), a.now()); err != nil {
		return "", err
	}
	a.log(ctx).Info("credit application awaits a decision", "application_id", app.ID, "reviewer", reviewer, "due_at", in.DueAt)
	return reviewer, nil
}

// RemindCreditReview reminds the reviewer of an application still waiting
// past its deadline: recorded once on the application (reminded_at), and
// emailed when the reviewer is an email address. It reports whether a
// reminder went out now (false: decided meanwhile, or already reminded).
func (a *Activities) RemindCreditReview(ctx context.Context, applicationID string) (bool, error) {
	app, err := a.Store.GetCreditApplication(ctx, applicationID)
	if err != nil {
		return false, nonRetryable(err)
	}
	reminded, err := a.Store.MarkCreditReminded(ctx, app.ID, a.now())
	if err != nil || !reminded {
		return false, err
	}
	a.log(ctx).Warn("credit application overdue for a decision", "application_id", app.ID, "reviewer", app.Reviewer)
	if sender := a.Senders[policy.Email]; sender != nil && strings.Contains(app.Reviewer, "@") {
		// Sent at most once: the reminder is marked before it is sent, so
		// a retry after a failed send does not send it twice.
		_, err := sender.Send(ctx, channels.Message{
			ID: "credit-reminder:" + app.ID, Step: "credit-review", Channel: policy.Email, To: app.Reviewer,
			Subject: "[collections] Credit application awaits your decision: " + app.CompanyName,
			Body: fmt.Sprintf("%s asked for a credit limit of %s on %d-day terms (score %s).\nDecide with POST /v1/credit-applications/%s/decision.\n",
				app.CompanyName, money.Display(app.RequestedLimitMinor, app.Currency), app.RequestedTermsDays, scoreText(app.Score), app.ID),
		})
		if err != nil {
			a.log(ctx).Warn("credit reminder not sent", "application_id", app.ID, "error", err)
		}
	}
	return true, nil
}

func scoreText(s *int) string {
	if s == nil {
		return "none"
	}
	return fmt.Sprint(*s)
}

// CreditDecisionInput is an application's outcome to apply.
type CreditDecisionInput struct {
	ApplicationID string
	Approved      bool
	LimitMinor    int64
	TermsDays     int
	Note          string
	DecidedBy     string
}

// ApplyCreditDecision stores the outcome and, for an approval, sets the
// customer's credit limit, currency and payment terms, in one transaction.
// It is idempotent: applying the same decision again changes nothing.
func (a *Activities) ApplyCreditDecision(ctx context.Context, in CreditDecisionInput) (string, error) {
	app, err := a.Store.ApplyCreditDecision(ctx, in.ApplicationID, db.CreditDecision{
		Approved: in.Approved, LimitMinor: in.LimitMinor, TermsDays: in.TermsDays, Note: in.Note, DecidedBy: in.DecidedBy,
	}, a.now())
	if errors.Is(err, db.ErrAlreadyDecided) {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeAlreadyDecided, err)
	}
	if err != nil {
		return "", nonRetryable(err)
	}
	a.log(ctx).Info("credit application decided", "application_id", app.ID, "status", app.Status, "decided_by", app.DecidedBy)
	return app.Status, nil
}
