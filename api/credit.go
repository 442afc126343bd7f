package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
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

func (s *Server) creditBounds() credit.Bounds {
	if s.CreditBounds != nil {
		return *s.CreditBounds
	}
	return credit.DefaultBounds()
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

// application validates a request into the application to store, and the
// customer to create with it (nil for an existing customer).
func (s *Server) application(ctx context.Context, r *CreditApplicationRequest) (*db.CreditApplication, *db.Customer, error) {
	r.CustomerID = strings.TrimSpace(r.CustomerID)
	now := s.now()
	var newCust *db.Customer
	switch {
	case r.CustomerID != "" && r.Customer != nil:
		return nil, nil, invalid("customer", "give customer_id for an existing customer or customer for a new one, not both")
	case r.CustomerID == "" && r.Customer == nil:
		return nil, nil, invalid("customer_id", "is required (or customer, to create a new applicant)")
	case r.Customer != nil:
		if err := r.Customer.validate(); err != nil {
			return nil, nil, prefixed("customer", err)
		}
		if r.Customer.CreditLimit != "" {
			return nil, nil, invalid("customer.credit_limit", "is set by the credit decision; leave it out")
		}
		if err := s.knownPolicy(ctx, "customer.default_policy", r.Customer.DefaultPolicy); err != nil {
			return nil, nil, err
		}
		if _, err := s.Store.GetCustomer(ctx, r.Customer.ID); err == nil {
			return nil, nil, conflict("customer.id", "customer.id: customer %q already exists; apply with customer_id", r.Customer.ID)
		}
		newCust = r.Customer.customer(now)
		r.CustomerID = newCust.ID
	default:
		if _, err := s.Store.GetCustomer(ctx, r.CustomerID); errors.Is(err, db.ErrNotFound) {
			return nil, nil, invalid("customer_id", "no customer %q", r.CustomerID)
		} else if err != nil {
			return nil, nil, err
		}
	}
	co := &r.Company
	co.Name, co.RegistrationNumber = strings.TrimSpace(co.Name), strings.TrimSpace(co.RegistrationNumber)
	co.Address, co.ContactEmail = strings.TrimSpace(co.Address), strings.TrimSpace(co.ContactEmail)
	switch {
	case co.Name == "":
		return nil, nil, invalid("company.name", "is required")
	case len(co.Name) > 300:
		return nil, nil, invalid("company.name", "is longer than 300 characters")
	case len(co.RegistrationNumber) > 100:
		return nil, nil, invalid("company.registration_number", "is longer than 100 characters")
	case len(co.Address) > 1000:
		return nil, nil, invalid("company.address", "is longer than 1000 characters")
	}
	if co.ContactEmail != "" {
		if addr, err := mail.ParseAddress(co.ContactEmail); err != nil || addr.Address != co.ContactEmail {
			return nil, nil, invalid("company.contact_email", "is not a valid email address (like ap@example.com)")
		}
	}
	if strings.TrimSpace(r.Currency) == "" {
		return nil, nil, invalid("currency", "is required (an ISO 4217 code such as EUR)")
	}
	cur, err := money.Currency(strings.TrimSpace(r.Currency))
	if err != nil {
		return nil, nil, invalid("currency", "%v", err)
	}
	if strings.TrimSpace(r.RequestedLimit) == "" {
		return nil, nil, invalid("requested_limit", "is required, a decimal string such as \"5000.00\"")
	}
	limit, err := money.ParseAmount(strings.TrimSpace(r.RequestedLimit), cur)
	if err != nil {
		return nil, nil, invalid("requested_limit", "%v", err)
	}
	if limit <= 0 {
		return nil, nil, invalid("requested_limit", "must be greater than zero")
	}
	if r.RequestedTermsDays < 1 || r.RequestedTermsDays > 365 {
		return nil, nil, invalid("requested_terms_days", "must be between 1 and 365")
	}
	if len(r.TradeReferences) > 20 {
		return nil, nil, invalid("trade_references", "at most 20")
	}
	refs := make([]db.TradeReference, 0, len(r.TradeReferences))
	for i, ref := range r.TradeReferences {
		ref.Name, ref.Contact, ref.Since = strings.TrimSpace(ref.Name), strings.TrimSpace(ref.Contact), strings.TrimSpace(ref.Since)
		field := fmt.Sprintf("trade_references[%d]", i)
		switch {
		case ref.Name == "":
			return nil, nil, invalid(field+".name", "is required")
		case len(ref.Name) > 300 || len(ref.Contact) > 300 || len(ref.Since) > 100:
			return nil, nil, invalid(field, "name and contact at most 300 characters, since at most 100")
		}
		refs = append(refs, ref)
	}
	id := uuid.Must(uuid.NewV7()).String()
	return &db.CreditApplication{ID: id, CustomerID: r.CustomerID, NewCustomer: newCust != nil, CompanyName: co.Name,
		RegistrationNumber: co.RegistrationNumber, Address: co.Address, ContactEmail: co.ContactEmail,
		RequestedLimitMinor: limit, Currency: cur, RequestedTermsDays: r.RequestedTermsDays, TradeReferences: refs,
		Status: db.CreditSubmitted, Reasons: []string{}, WorkflowID: workflows.CreditWorkflowID(id), CreatedAt: now, UpdatedAt: now}, newCust, nil
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
	app, newCust, err := s.application(ctx, &req)
	if err != nil {
		return err
	}
	if err := s.Store.InsertCreditApplication(ctx, app, newCust); err != nil {
		return err
	}
	in := workflows.CreditInput{Bounds: s.creditBounds(), Application: credit.Application{
		ApplicationID: app.ID, CustomerID: app.CustomerID, NewCustomer: app.NewCustomer, RequestedLimitMinor: app.RequestedLimitMinor,
		Currency: app.Currency, TermsDays: app.RequestedTermsDays, TradeReferences: len(app.TradeReferences)}}
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: app.WorkflowID, TaskQueue: workflows.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary: fmt.Sprintf("Credit application · customer %s · %s on %d days", app.CustomerID,
			money.Display(app.RequestedLimitMinor, app.Currency), app.RequestedTermsDays),
	}, workflows.CreditDecisionWorkflowName, in)
	if err != nil {
		if derr := s.Store.DeleteCreditApplication(context.WithoutCancel(ctx), app); derr != nil {
			s.log().Error("credit application kept without a workflow", "application_id", app.ID, "error", derr)
		}
		return unavailable("credit application not started, try again: %v", err)
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
	app, err := s.pathCreditApplication(c)
	if err != nil {
		return err
	}
	req := workflows.CreditDecisionRequest{Decision: b.Decision, Reason: strings.TrimSpace(b.Reason), Actor: strings.TrimSpace(b.Actor)}
	switch b.Decision {
	case workflows.CreditApprove:
		if strings.TrimSpace(b.Limit) == "" {
			return invalid("limit", "is required to approve, a decimal string in %s", app.Currency)
		}
		if req.LimitMinor, err = money.ParseAmount(strings.TrimSpace(b.Limit), app.Currency); err != nil {
			return invalid("limit", "%v", err)
		}
		if req.LimitMinor <= 0 {
			return invalid("limit", "must be greater than zero")
		}
		if b.TermsDays == nil {
			return invalid("terms_days", "is required to approve")
		}
		if *b.TermsDays < 0 || *b.TermsDays > 365 {
			return invalid("terms_days", "must be between 0 and 365")
		}
		req.TermsDays = *b.TermsDays
	case workflows.CreditDecline:
		if req.Reason == "" {
			return invalid("reason", "is required to decline: say why, for the record")
		}
	default:
		return invalid("decision", "must be approve or decline")
	}
	if len(req.Actor) > 200 {
		return invalid("actor", "is longer than 200 characters")
	}
	switch app.Status {
	case db.CreditApproved, db.CreditDeclined:
		return conflict("", "credit application %s was already %s by %s", app.ID, app.Status, app.DecidedBy)
	case db.CreditSubmitted:
		return conflict("", "credit application %s is still being scored; decide once it is pending_review", app.ID)
	}
	ctx := c.Request().Context()
	updateID := "decide-credit:" + uuid.Must(uuid.NewV7()).String()
	if key := c.Request().Header.Get("Idempotency-Key"); key != "" {
		updateID = "decide-credit:" + key
	}
	handle, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: app.WorkflowID, UpdateID: updateID, UpdateName: workflows.UpdateDecideCredit,
		WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{req},
	})
	var res workflows.CreditResult
	if err == nil {
		err = handle.Get(ctx, &res)
	}
	if err != nil {
		return creditUpdateError(app, err)
	}
	fresh, err := s.Store.GetCreditApplication(ctx, app.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, creditView(fresh))
}

func creditUpdateError(app *db.CreditApplication, err error) error {
	return updateError(err, fmt.Sprintf("credit application %s was already decided (its workflow has ended)", app.ID))
}
