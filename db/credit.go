package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/credit/application"
)

// CreditApplications keeps credit applications and what became of them.
type CreditApplications struct{ db bun.IDB }

// NewCreditApplications wraps a database or a transaction.
func NewCreditApplications(db bun.IDB) *CreditApplications { return &CreditApplications{db: db} }

// Credit application states (see package credit/application).
const (
	CreditSubmitted     = application.Submitted
	CreditPendingReview = application.PendingReview
	CreditApproved      = application.Approved
	CreditDeclined      = application.Declined
)

// TradeReference is a supplier who gives the applicant credit today.
type TradeReference struct {
	Name    string `json:"name"`
	Contact string `json:"contact,omitempty"`
	// Since is how long the supplier has traded with the applicant (free text).
	Since string `json:"since,omitempty"`
}

// CreditApplication is a company's request for a credit limit and payment
// terms, and what became of it.
type CreditApplication struct {
	bun.BaseModel `bun:"table:credit_applications,alias:ca"`

	ID                  string           `bun:"id,pk"`
	CustomerID          string           `bun:"customer_id,notnull"`
	NewCustomer         bool             `bun:"new_customer,notnull"`
	CompanyName         string           `bun:"company_name,notnull"`
	RegistrationNumber  string           `bun:"registration_number,notnull"`
	Address             string           `bun:"address,notnull"`
	ContactEmail        string           `bun:"contact_email,notnull"`
	RequestedLimitMinor int64            `bun:"requested_limit_minor,notnull"`
	Currency            string           `bun:"currency,notnull"`
	RequestedTermsDays  int              `bun:"requested_terms_days,notnull"`
	TradeReferences     []TradeReference `bun:"trade_references,type:text,notnull"`
	Status              string           `bun:"status,notnull"`
	Score               *int             `bun:"score"`
	Reasons             []string         `bun:"reasons,type:text,notnull"`
	Reviewer            string           `bun:"reviewer,notnull"`
	ReviewDueAt         *time.Time       `bun:"review_due_at"`
	RemindedAt          *time.Time       `bun:"reminded_at"`
	ApprovedLimitMinor  *int64           `bun:"approved_limit_minor"`
	ApprovedTermsDays   *int             `bun:"approved_terms_days"`
	DecisionNote        string           `bun:"decision_note,notnull"`
	DecidedBy           string           `bun:"decided_by,notnull"`
	DecidedAt           *time.Time       `bun:"decided_at"`
	WorkflowID          string           `bun:"workflow_id,notnull"`
	CreatedAt           time.Time        `bun:"created_at,notnull"`
	UpdatedAt           time.Time        `bun:"updated_at,notnull"`
}

// Decided reports whether the application was approved or declined.
func (a *CreditApplication) Decided() bool {
	return a.Status == CreditApproved || a.Status == CreditDeclined
}

// InsertCreditApplication stores an application and, when newCustomer is
// given, the customer it creates, in one transaction: both or neither.
//
// The customer belongs to Customers; it is written here, in the
// application's transaction, so that an application never names a customer
// that was not stored (nor the other way round).
func (r *CreditApplications) InsertCreditApplication(ctx context.Context, app *CreditApplication, newCustomer *Customer) error {
	return r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if newCustomer != nil {
			if _, err := tx.NewInsert().Model(newCustomer).Exec(ctx); err != nil {
				return fmt.Errorf("insert customer: %w", err)
			}
		}
		if _, err := tx.NewInsert().Model(app).Exec(ctx); err != nil {
			return fmt.Errorf("insert credit application: %w", err)
		}
		return nil
	})
}

// DeleteCreditApplication removes an application whose workflow could not
// be started (the API's compensation), and the customer it created.
func (r *CreditApplications) DeleteCreditApplication(ctx context.Context, app *CreditApplication) error {
	return r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*CreditApplication)(nil)).Where("id = ?", app.ID).Exec(ctx); err != nil {
			return err
		}
		if app.NewCustomer {
			_, err := tx.NewDelete().Model((*Customer)(nil)).Where("id = ?", app.CustomerID).Exec(ctx)
			return err
		}
		return nil
	})
}

// GetCreditApplication loads an application by id.
func (r *CreditApplications) GetCreditApplication(ctx context.Context, id string) (*CreditApplication, error) {
	app := new(CreditApplication)
	if err := r.db.NewSelect().Model(app).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "credit application", id)
	}
	return app, nil
}

// ListCreditApplications returns applications, newest first, in one status
// when given.
func (r *CreditApplications) ListCreditApplications(ctx context.Context, status string, lim int) ([]CreditApplication, error) {
	out := []CreditApplication{}
	q := r.db.NewSelect().Model(&out).Order("created_at DESC", "id DESC").Limit(limit(lim))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	err := q.Scan(ctx)
	return out, err
}

// SetCreditScore records an application's score and reasons; an
// application already decided keeps its state.
func (r *CreditApplications) SetCreditScore(ctx context.Context, id string, score int, reasons []string, now time.Time) error {
	_, err := r.db.NewUpdate().Model((*CreditApplication)(nil)).
		Set("score = ?", score).Set("reasons = ?", jsonText(reasons)).Set("updated_at = ?", now).
		Where("id = ? AND status IN (?)", id, bun.In([]string{CreditSubmitted, CreditPendingReview})).Exec(ctx)
	return err
}

// RequestCreditReview puts a submitted application in front of a reviewer
// by a deadline. It changes nothing once the application was decided.
func (r *CreditApplications) RequestCreditReview(ctx context.Context, id, reviewer string, due, now time.Time) error {
	_, err := r.db.NewUpdate().Model((*CreditApplication)(nil)).
		Set("status = ?", CreditPendingReview).Set("reviewer = ?", reviewer).Set("review_due_at = ?", due).Set("updated_at = ?", now).
		Where("id = ? AND status IN (?)", id, bun.In([]string{CreditSubmitted, CreditPendingReview})).Exec(ctx)
	return err
}

// MarkCreditReminded records that the reviewer was reminded; reminded is
// false when the application is no longer pending or was already reminded.
func (r *CreditApplications) MarkCreditReminded(ctx context.Context, id string, now time.Time) (reminded bool, err error) {
	res, err := r.db.NewUpdate().Model((*CreditApplication)(nil)).Set("reminded_at = ?", now).Set("updated_at = ?", now).
		Where("id = ? AND status = ? AND reminded_at IS NULL", id, CreditPendingReview).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CreditDecision is the outcome of an application.
type CreditDecision struct {
	Approved   bool
	LimitMinor int64 // approved limit, in the application's currency
	TermsDays  int
	Note       string // the reason, for a decline
	DecidedBy  string // "auto" or the person
}

// ErrAlreadyDecided is returned when an application was decided differently
// before.
var ErrAlreadyDecided = errors.New("credit application already decided")

// ApplyCreditDecision stores an application's outcome and, when approved,
// sets the customer's credit limit, currency and payment terms, in one
// transaction. Applying the same decision again changes nothing (a retried
// activity); a different one returns ErrAlreadyDecided.
//
// An approval also writes the customer's credit terms (an aggregate of
// Customers) inside the application's transaction: a decision and the terms
// it grants are stored together or not at all.
func (r *CreditApplications) ApplyCreditDecision(ctx context.Context, id string, d CreditDecision, now time.Time) (*CreditApplication, error) {
	var app CreditApplication
	err := r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&app).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "credit application", id)
		}
		status := CreditDeclined
		if d.Approved {
			status = CreditApproved
		}
		if app.Decided() {
			if app.Status == status && app.DecidedBy == d.DecidedBy {
				return nil
			}
			return fmt.Errorf("%w: %s by %s", ErrAlreadyDecided, app.Status, app.DecidedBy)
		}
		app.Status, app.DecidedBy, app.DecidedAt, app.DecisionNote, app.UpdatedAt = status, d.DecidedBy, &now, d.Note, now
		q := tx.NewUpdate().Model(&app).Column("status", "decided_by", "decided_at", "decision_note", "updated_at")
		if d.Approved {
			app.ApprovedLimitMinor, app.ApprovedTermsDays = &d.LimitMinor, &d.TermsDays
			q = q.Column("approved_limit_minor", "approved_terms_days")
		}
		if _, err := q.WherePK().Exec(ctx); err != nil {
			return err
		}
		if !d.Approved {
			return nil
		}
		res, err := tx.NewUpdate().Model((*Customer)(nil)).
			Set("credit_limit_minor = ?", d.LimitMinor).Set("credit_currency = ?", app.Currency).
			Set("payment_terms_days = ?", d.TermsDays).Set("updated_at = ?", now).
			Where("id = ?", app.CustomerID).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "customer", app.CustomerID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &app, nil
}

// jsonText is v as the JSON text a `type:text` JSON column holds.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("jsonText: %v", err)) // only called with plain lists
	}
	return string(b)
}
