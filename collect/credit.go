package collect

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// creditStore is what credit applications need of the database.
type creditStore interface {
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	InsertCreditApplication(ctx context.Context, app *db.CreditApplication, newCustomer *db.Customer) error
	DeleteCreditApplication(ctx context.Context, app *db.CreditApplication) error
	GetCreditApplication(ctx context.Context, id string) (*db.CreditApplication, error)
}

// Company identifies the company applying for credit.
type Company struct {
	Name               string
	RegistrationNumber string
	Address            string
	ContactEmail       string
}

// ApplyForCredit is a credit application. Exactly one of CustomerID (an
// existing customer applying for a limit) and NewCustomer (a new applicant,
// created with the application) is given.
type ApplyForCredit struct {
	Actor      Actor
	CustomerID string
	// NewCustomer is the applicant to create, already checked as a customer
	// by its front door (its fields are the customer's: "customer.*");
	// its credit limit is left to the decision.
	NewCustomer        *db.Customer
	Company            Company
	RequestedLimit     string // a decimal string in Currency
	Currency           string // ISO 4217
	RequestedTermsDays int
	TradeReferences    []db.TradeReference
}

// ApplyForCredit stores a credit application (and the customer it creates)
// and starts its decision workflow; if the workflow could not be started,
// nothing is kept. The decision follows: inside the automatic bounds at
// once, otherwise after management's DecideCredit.
func (s *Service) ApplyForCredit(ctx context.Context, cmd ApplyForCredit) (*db.CreditApplication, error) {
	app, newCust, err := s.application(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := s.Store.InsertCreditApplication(ctx, app, newCust); err != nil {
		return nil, err
	}
	if err := s.Workflows.StartCreditDecision(ctx, app.WorkflowID, credit.Application{
		ApplicationID: app.ID, CustomerID: app.CustomerID, NewCustomer: app.NewCustomer, RequestedLimitMinor: app.RequestedLimitMinor,
		Currency: app.Currency, TermsDays: app.RequestedTermsDays, TradeReferences: len(app.TradeReferences)}, s.creditBounds()); err != nil {
		if derr := s.Store.DeleteCreditApplication(context.WithoutCancel(ctx), app); derr != nil {
			s.log().Error("credit application kept without a workflow", "application_id", app.ID, "error", derr)
		}
		return nil, unavailablef(err, "credit application not started, try again: %v", err)
	}
	s.log().Info("credit application submitted", "application_id", app.ID, "customer_id", app.CustomerID, "actor", cmd.Actor.String())
	return app, nil
}

func (s *Service) creditBounds() credit.Bounds {
	if s.CreditBounds != nil {
		return *s.CreditBounds
	}
	return credit.DefaultBounds()
}

// application checks a command into the application to store, and the
// customer to create with it (nil for an existing customer).
func (s *Service) application(ctx context.Context, cmd ApplyForCredit) (*db.CreditApplication, *db.Customer, error) {
	customerID := strings.TrimSpace(cmd.CustomerID)
	now := s.now()
	newCust := cmd.NewCustomer
	switch {
	case customerID != "" && newCust != nil:
		return nil, nil, invalidf("customer", "give customer_id for an existing customer or customer for a new one, not both")
	case customerID == "" && newCust == nil:
		return nil, nil, invalidf("customer_id", "is required (or customer, to create a new applicant)")
	case newCust != nil:
		if newCust.CreditLimitMinor != nil {
			return nil, nil, invalidf("customer.credit_limit", "is set by the credit decision; leave it out")
		}
		if _, err := s.Store.GetCustomer(ctx, newCust.ID); err == nil {
			return nil, nil, conflictf("customer.id", "customer.id: customer %q already exists; apply with customer_id", newCust.ID)
		}
		customerID = newCust.ID
	default:
		if _, err := s.Store.GetCustomer(ctx, customerID); errors.Is(err, db.ErrNotFound) {
			return nil, nil, invalidf("customer_id", "no customer %q", customerID)
		} else if err != nil {
			return nil, nil, err
		}
	}
	co := cmd.Company
	co.Name, co.RegistrationNumber = strings.TrimSpace(co.Name), strings.TrimSpace(co.RegistrationNumber)
	co.Address, co.ContactEmail = strings.TrimSpace(co.Address), strings.TrimSpace(co.ContactEmail)
	switch {
	case co.Name == "":
		return nil, nil, invalidf("company.name", "is required")
	case len(co.Name) > 300:
		return nil, nil, invalidf("company.name", "is longer than 300 characters")
	case len(co.RegistrationNumber) > 100:
		return nil, nil, invalidf("company.registration_number", "is longer than 100 characters")
	case len(co.Address) > 1000:
		return nil, nil, invalidf("company.address", "is longer than 1000 characters")
	}
	if co.ContactEmail != "" {
		if addr, err := mail.ParseAddress(co.ContactEmail); err != nil || addr.Address != co.ContactEmail {
			return nil, nil, invalidf("company.contact_email", "is not a valid email address (like ap@example.com)")
		}
	}
	if strings.TrimSpace(cmd.Currency) == "" {
		return nil, nil, invalidf("currency", "is required (an ISO 4217 code such as EUR)")
	}
	cur, err := money.Currency(strings.TrimSpace(cmd.Currency))
	if err != nil {
		return nil, nil, invalidf("currency", "%v", err)
	}
	if strings.TrimSpace(cmd.RequestedLimit) == "" {
		return nil, nil, invalidf("requested_limit", "is required, a decimal string such as \"5000.00\"")
	}
	limit, err := money.ParseAmount(strings.TrimSpace(cmd.RequestedLimit), cur)
	if err != nil {
		return nil, nil, invalidf("requested_limit", "%v", err)
	}
	if limit <= 0 {
		return nil, nil, invalidf("requested_limit", "must be greater than zero")
	}
	if cmd.RequestedTermsDays < 1 || cmd.RequestedTermsDays > 365 {
		return nil, nil, invalidf("requested_terms_days", "must be between 1 and 365")
	}
	if len(cmd.TradeReferences) > 20 {
		return nil, nil, invalidf("trade_references", "at most 20")
	}
	refs := make([]db.TradeReference, 0, len(cmd.TradeReferences))
	for i, ref := range cmd.TradeReferences {
		ref.Name, ref.Contact, ref.Since = strings.TrimSpace(ref.Name), strings.TrimSpace(ref.Contact), strings.TrimSpace(ref.Since)
		field := fmt.Sprintf("trade_references[%d]", i)
		switch {
		case ref.Name == "":
			return nil, nil, invalidf(field+".name", "is required")
		case len(ref.Name) > 300 || len(ref.Contact) > 300 || len(ref.Since) > 100:
			return nil, nil, invalidf(field, "name and contact at most 300 characters, since at most 100")
		}
		refs = append(refs, ref)
	}
	id := uuid.Must(uuid.NewV7()).String()
	return &db.CreditApplication{ID: id, CustomerID: customerID, NewCustomer: newCust != nil, CompanyName: co.Name,
		RegistrationNumber: co.RegistrationNumber, Address: co.Address, ContactEmail: co.ContactEmail,
		RequestedLimitMinor: limit, Currency: cur, RequestedTermsDays: cmd.RequestedTermsDays, TradeReferences: refs,
		Status: db.CreditSubmitted, Reasons: []string{}, WorkflowID: workflows.CreditWorkflowID(id), CreatedAt: now, UpdatedAt: now}, newCust, nil
}

// DecideCredit is management's decision on an application outside the
// automatic bounds.
type DecideCredit struct {
	ApplicationID string
	Actor         Actor
	// IdempotencyKey, when given, makes the same decision sent again one
	// update on the workflow.
	IdempotencyKey string
	Decision       string // approve or decline
	Limit          string // approve: the limit granted, a decimal string in the application's currency
	TermsDays      *int   // approve: the terms granted
	Reason         string // decline: why
	By             string // who decided, as the application records them
}

// DecideCredit decides an application waiting for review: the
// decide-credit update on its workflow, answered once the customer's limit
// and terms are set. It answers with the application as it stands then.
func (s *Service) DecideCredit(ctx context.Context, cmd DecideCredit) (*db.CreditApplication, error) {
	app, err := s.Store.GetCreditApplication(ctx, cmd.ApplicationID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFoundf("credit application %q not found", cmd.ApplicationID)
	}
	if err != nil {
		return nil, err
	}
	req := workflows.CreditDecisionRequest{Decision: cmd.Decision, Reason: strings.TrimSpace(cmd.Reason), Actor: strings.TrimSpace(cmd.By)}
	switch cmd.Decision {
	case workflows.CreditApprove:
		if strings.TrimSpace(cmd.Limit) == "" {
			return nil, invalidf("limit", "is required to approve, a decimal string in %s", app.Currency)
		}
		if req.LimitMinor, err = money.ParseAmount(strings.TrimSpace(cmd.Limit), app.Currency); err != nil {
			return nil, invalidf("limit", "%v", err)
		}
		if req.LimitMinor <= 0 {
			return nil, invalidf("limit", "must be greater than zero")
		}
		if cmd.TermsDays == nil {
			return nil, invalidf("terms_days", "is required to approve")
		}
		if *cmd.TermsDays < 0 || *cmd.TermsDays > 365 {
			return nil, invalidf("terms_days", "must be between 0 and 365")
		}
		req.TermsDays = *cmd.TermsDays
	case workflows.CreditDecline:
		if req.Reason == "" {
			return nil, invalidf("reason", "is required to decline: say why, for the record")
		}
	default:
		return nil, invalidf("decision", "must be approve or decline")
	}
	if len(req.Actor) > 200 {
		return nil, invalidf("actor", "is longer than 200 characters")
	}
	// The workflow's validator refuses a decision it is not waiting for;
	// the stored status answers the common cases without a Temporal call,
	// and says who decided.
	switch app.Status {
	case db.CreditApproved, db.CreditDeclined:
		return nil, conflictf("", "credit application %s was already %s by %s", app.ID, app.Status, app.DecidedBy)
	case db.CreditSubmitted:
		return nil, conflictf("", "credit application %s is still being scored; decide once it is pending_review", app.ID)
	}
	updateID := workflows.UpdateDecideCredit + ":" + uuid.Must(uuid.NewV7()).String()
	if cmd.IdempotencyKey != "" {
		updateID = workflows.UpdateDecideCredit + ":" + cmd.IdempotencyKey
	}
	if _, err := s.Workflows.DecideCredit(ctx, app.WorkflowID, updateID, req); err != nil {
		return nil, fromWorkflow(err, fmt.Sprintf("credit application %s was already decided (its workflow has ended)", app.ID))
	}
	s.log().Info("credit application decided", "application_id", app.ID, "decision", req.Decision, "actor", cmd.Actor.String())
	return s.Store.GetCreditApplication(ctx, app.ID)
}
