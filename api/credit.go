package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/money"
)

// CompanyDetails identify the applicant company.
type CompanyDetails struct {
	Name               string `json:"name"`
	RegistrationNumber string `json:"registration_number,omitempty"`
	Address            string `json:"address,omitempty"`
	ContactEmail       string `json:"contact_email,omitempty"`
}

// CreditApplicationRequest is the body of POST /v1/credit-applications.
// Exactly one of CustomerID (an existing customer applying for a limit) and
// Customer (a new applicant: the customer is created with the application)
// is given.
type CreditApplicationRequest struct {
	CustomerID         string              `json:"customer_id"`
	Customer           *CustomerRequest    `json:"customer"`
	Company            CompanyDetails      `json:"company"`
	RequestedLimit     string              `json:"requested_limit"`
	Currency           string              `json:"currency"`
	RequestedTermsDays int                 `json:"requested_terms_days"`
	TradeReferences    []db.TradeReference `json:"trade_references"`
}

// CreditDecisionBody is the body of POST /v1/credit-applications/{id}/decision.
type CreditDecisionBody struct {
	Decision  string `json:"decision"`   // approve or decline
	Limit     string `json:"limit"`      // approve: the limit granted, in the application's currency
	TermsDays *int   `json:"terms_days"` // approve: the terms granted
	Reason    string `json:"reason"`     // decline: why
	Actor     string `json:"actor"`
}

// CreditApplicationView is an application as the API shows it.
type CreditApplicationView struct {
	ID                 string              `json:"id"`
	CustomerID         string              `json:"customer_id"`
	NewCustomer        bool                `json:"new_customer"`
	Company            CompanyDetails      `json:"company"`
	RequestedLimit     string              `json:"requested_limit"`
	Currency           string              `json:"currency"`
	RequestedTermsDays int                 `json:"requested_terms_days"`
	TradeReferences    []db.TradeReference `json:"trade_references"`
	Status             string              `json:"status"`
	Score              *int                `json:"score,omitempty"`
	Reasons            []string            `json:"reasons"`
	Reviewer           string              `json:"reviewer,omitempty"`
	ReviewDueAt        *time.Time          `json:"review_due_at,omitempty"`
	RemindedAt         *time.Time          `json:"reminded_at,omitempty"`
	ApprovedLimit      string              `json:"approved_limit,omitempty"`
	ApprovedTermsDays  *int                `json:"approved_terms_days,omitempty"`
	DecisionNote       string              `json:"decision_note,omitempty"`
	DecidedBy          string              `json:"decided_by,omitempty"`
	DecidedAt          *time.Time          `json:"decided_at,omitempty"`
	WorkflowID         string              `json:"workflow_id"`
	CreatedAt          time.Time           `json:"created_at"`
	UpdatedAt          time.Time           `json:"updated_at"`
}

func creditView(a *db.CreditApplication) CreditApplicationView {
	v := CreditApplicationView{ID: a.ID, CustomerID: a.CustomerID, NewCustomer: a.NewCustomer,
		Company:        CompanyDetails{Name: a.CompanyName, RegistrationNumber: a.RegistrationNumber, Address: a.Address, ContactEmail: a.ContactEmail},
		RequestedLimit: money.FormatAmount(a.RequestedLimitMinor, a.Currency), Currency: a.Currency, RequestedTermsDays: a.RequestedTermsDays,
		TradeReferences: a.TradeReferences, Status: a.Status, Score: a.Score, Reasons: a.Reasons, Reviewer: a.Reviewer,
		ReviewDueAt: a.ReviewDueAt, RemindedAt: a.RemindedAt, ApprovedTermsDays: a.ApprovedTermsDays, DecisionNote: a.DecisionNote,
		DecidedBy: a.DecidedBy, DecidedAt: a.DecidedAt, WorkflowID: a.WorkflowID, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if a.ApprovedLimitMinor != nil {
		v.ApprovedLimit = money.FormatAmount(*a.ApprovedLimitMinor, a.Currency)
	}
	if v.TradeReferences == nil {
		v.TradeReferences = []db.TradeReference{}
	}
	if v.Reasons == nil {
		v.Reasons = []string{}
	}
	return v
}

func (s *Server) creditRoutes(g *echo.Group) {
	g.POST("/credit-applications", s.createCreditApplication)
	g.GET("/credit-applications", s.listCreditApplications)
	g.GET("/credit-applications/:id", s.getCreditApplication)
	g.POST("/credit-applications/:id/decision", s.decideCreditApplication)
}

// prefixed names a nested field in a validation error: email → customer.email.
func prefixed(prefix string, err error) error {
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.Field != "" {
		e := *apiErr
		e.Field = prefix + "." + apiErr.Field
		e.Message = prefix + "." + apiErr.Message
		return &e
	}
	return err
}

// createCreditApplication stores an application (and the customer it
// creates) and starts its decision workflow; if the workflow could not be
// started, nothing is kept. It answers 202: the decision follows.
func (s *Server) createCreditApplication(c echo.Context) error {
	var req CreditApplicationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cmd := collect.ApplyForCredit{Actor: keyActor(c), CustomerID: req.CustomerID, Company: collect.Company{
		Name: req.Company.Name, RegistrationNumber: req.Company.RegistrationNumber, Address: req.Company.Address,
		ContactEmail: req.Company.ContactEmail}, RequestedLimit: req.RequestedLimit, Currency: req.Currency,
		RequestedTermsDays: req.RequestedTermsDays, TradeReferences: req.TradeReferences}
	if req.Customer != nil {
		// A new applicant is checked as any customer is (given alone: with
		// customer_id too, the application refuses the pair).
		if strings.TrimSpace(req.CustomerID) == "" {
			if err := req.Customer.validate(); err != nil {
				return prefixed("customer", err)
			}
			if err := s.knownPolicy(ctx, "customer.default_policy", req.Customer.DefaultPolicy); err != nil {
				return err
			}
		}
		cmd.NewCustomer = req.Customer.customer(s.now())
	}
	app, err := s.cases().ApplyForCredit(ctx, cmd)
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusAccepted, creditView(app))
}

func (s *Server) pathCreditApplication(c echo.Context) (*db.CreditApplication, error) {
	app, err := s.Store.GetCreditApplication(c.Request().Context(), c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFound("credit application %q not found", c.Param("id"))
	}
	return app, err
}

func (s *Server) getCreditApplication(c echo.Context) error {
	app, err := s.pathCreditApplication(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, creditView(app))
}

// listCreditApplications lists applications, newest first (?status=&limit=).
func (s *Server) listCreditApplications(c echo.Context) error {
	status := c.QueryParam("status")
	switch status {
	case "", db.CreditSubmitted, db.CreditPendingReview, db.CreditApproved, db.CreditDeclined:
	default:
		return invalid("status", "must be submitted, pending_review, approved or declined")
	}
	n, err := queryLimit(c)
	if err != nil {
		return err
	}
	list, err := s.Store.ListCreditApplications(c.Request().Context(), status, n)
	if err != nil {
		return err
	}
	out := make([]CreditApplicationView, 0, len(list))
	for i := range list {
		out = append(out, creditView(&list[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"credit_applications": out})
}

// decideCreditApplication is management's decision on an application
// outside the automatic bounds: the decide-credit update, answered once the
// customer's limit and terms are set.
func (s *Server) decideCreditApplication(c echo.Context) error {
	var b CreditDecisionBody
	if err := decode(c, &b); err != nil {
		return err
	}
	app, err := s.cases().DecideCredit(c.Request().Context(), collect.DecideCredit{ApplicationID: c.Param("id"),
		Actor: keyActor(c), IdempotencyKey: c.Request().Header.Get("Idempotency-Key"), Decision: b.Decision,
		Limit: b.Limit, TermsDays: b.TermsDays, Reason: b.Reason, By: b.Actor})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusOK, creditView(app))
}
