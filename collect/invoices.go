package collect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/internal/policies"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// invoiceStore is what creating invoices, payments, refunds and provider
// events need of the database.
type invoiceStore interface {
	policies.Store
	desk.TaskClaimer

	InsertCustomer(ctx context.Context, c *db.Customer) (inserted bool, err error)
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	UpdateCustomer(ctx context.Context, c *db.Customer) error
	CustomerByPhone(ctx context.Context, phone string) (*db.Customer, error)

	InsertInvoice(ctx context.Context, inv *db.Invoice) (inserted bool, err error)
	InsertInvoiceChecked(ctx context.Context, inv *db.Invoice, over func(c db.Customer, openBefore int64) bool) (inserted bool, openBefore int64, err error)
	GetInvoice(ctx context.Context, id string) (*db.Invoice, error)
	GetInvoiceByNumber(ctx context.Context, number string) (*db.Invoice, error)
	InvoiceForPayment(ctx context.Context, reference string) (*db.Invoice, error)
	ListInvoices(ctx context.Context, f db.InvoiceFilter) ([]db.Invoice, error)

	RecordPaymentEvent(ctx context.Context, e *db.PaymentEvent) (inserted bool, err error)
	DeletePaymentEvent(ctx context.Context, id string) error

	FirstWebhookEvent(ctx context.Context, provider, eventID string, now time.Time) (bool, error)
	GetMessage(ctx context.Context, id string) (*db.Message, error)
	MessageByProviderID(ctx context.Context, provider, providerID string) (*db.Message, error)
	AddMessageEvent(ctx context.Context, e *db.MessageEvent, setStatus bool) error
	InsertMessage(ctx context.Context, m *db.Message) error
	OptOut(ctx context.Context, o *db.OptOut) error
	OptIn(ctx context.Context, channel, address string) error

	StoreInboundEmail(ctx context.Context, in db.InboundReply) (first bool, err error)
	LatestOutboundTo(ctx context.Context, invoiceID, address string) (*db.Message, error)
	CustomersByEmail(ctx context.Context, email string, n int) ([]db.Customer, error)
	GetInboundEmail(ctx context.Context, id string) (*db.InboundEmail, error)
	AttachInboundEmail(ctx context.Context, a db.AttachedReply) error
	DismissInboundEmail(ctx context.Context, id, outcome, note string, now time.Time) error
	GetAttachment(ctx context.Context, id string) (*db.Attachment, error)
}

// CreateInvoice stores an invoice and starts its workflow. Fields are as a
// front door gives them: Amount a decimal string, IssuedAt and DueAt in
// RFC 3339. Without DueAt the customer's payment terms decide; without
// Policy the customer's default, else the service's.
type CreateInvoice struct {
	Actor      Actor
	Number     string
	CustomerID string
	Amount     string
	Currency   string
	IssuedAt   string
	DueAt      string
	Policy     string
}

// InvoiceResult is the stored invoice; Created is false when the number was
// taken already and the stored invoice is answered instead.
type InvoiceResult struct {
	Invoice *db.Invoice
	Created bool
}

type validInvoice struct {
	number, currency string
	amountMinor      int64
	issuedAt, dueAt  time.Time
	policy           policy.Policy
	customer         *db.Customer
}

// ParseTime reads a required RFC 3339 time given in field.
func ParseTime(field, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, invalidf(field, "is required, in RFC 3339 form such as 2026-12-01T00:00:00Z")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalidf(field, "%q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", s)
	}
	return t.UTC(), nil
}

func (s *Service) validateInvoice(ctx context.Context, r CreateInvoice) (validInvoice, error) {
	var v validInvoice
	v.number = strings.TrimSpace(r.Number)
	switch {
	case v.number == "":
		return v, invalidf("number", "is required")
	case len(v.number) > 128:
		return v, invalidf("number", "is longer than 128 characters")
	case strings.TrimSpace(r.CustomerID) == "":
		return v, invalidf("customer_id", "is required")
	case strings.TrimSpace(r.Amount) == "":
		return v, invalidf("amount", "is required, as a decimal string such as \"1250.00\"")
	case strings.TrimSpace(r.Currency) == "":
		return v, invalidf("currency", "is required (an ISO 4217 code such as EUR)")
	}
	cur, err := money.Currency(r.Currency)
	if err != nil {
		return v, invalidf("currency", "%v", err)
	}
	v.currency = cur
	if v.amountMinor, err = money.ParseAmount(r.Amount, cur); err != nil {
		return v, invalidf("amount", "%v", err)
	}
	if v.amountMinor == 0 {
		return v, invalidf("amount", "must be greater than zero")
	}
	if v.issuedAt, err = ParseTime("issued_at", r.IssuedAt); err != nil {
		return v, err
	}
	noDueDate := strings.TrimSpace(r.DueAt) == ""
	if !noDueDate {
		if v.dueAt, err = ParseTime("due_at", r.DueAt); err != nil {
			return v, err
		}
		if v.dueAt.Before(v.issuedAt) {
			return v, invalidf("due_at", "is before issued_at")
		}
	}
	if err := invoice.CheckDate(v.issuedAt, s.now()); err != nil {
		return v, invalidf("issued_at", "%v", err)
	}
	if !noDueDate {
		if err := invoice.CheckDate(v.dueAt, s.now()); err != nil {
			return v, invalidf("due_at", "%v", err)
		}
	}
	cust, err := s.Store.GetCustomer(ctx, strings.TrimSpace(r.CustomerID))
	if errors.Is(err, db.ErrNotFound) {
		return v, &Error{Kind: Refused, Field: "customer_id",
			Message: fmt.Sprintf("customer_id: no customer %q; create it with POST /v1/customers first", r.CustomerID)}
	}
	if err != nil {
		return v, err
	}
	if noDueDate { // the customer's payment terms decide
		if cust.PaymentTermsDays == 0 {
			return v, invalidf("due_at", "is required, in RFC 3339 form, unless the customer has payment_terms_days")
		}
		v.dueAt = v.issuedAt.AddDate(0, 0, cust.PaymentTermsDays)
	}
	// The invoice's own policy, else the customer's, else the service's.
	name := cmp.Or(r.Policy, cust.DefaultPolicy, s.DefaultPolicy, "standard")
	p, err := policies.Latest(ctx, s.Store, name)
	if errors.Is(err, db.ErrNotFound) {
		return v, invalidf("policy", "unknown policy %q", name)
	}
	if err != nil {
		return v, err
	}
	v.policy = p
	v.customer = cust
	return v, nil
}

// CreateInvoice validates and stores an invoice and starts its workflow
// (Created). An invoice number already taken answers the stored invoice and
// starts nothing new.
//
// Creation converges: the row is stored before the workflow starts, and a
// start that fails, or only seems to (a timeout may come after Temporal
// started it), keeps the row and answers Unavailable. The same command
// again finds the row and makes sure its workflow runs, starting it under
// the invoice's workflow id, which never starts twice; StartMissingWorkflows
// does the same for a command never repeated.
func (s *Service) CreateInvoice(ctx context.Context, cmd CreateInvoice) (InvoiceResult, error) {
	return s.createInvoice(ctx, cmd, false)
}

// ImportInvoice is CreateInvoice for a row of an import, stricter about a
// number already taken: an invoice with other details under it is a
// Conflict naming them, not the stored invoice.
func (s *Service) ImportInvoice(ctx context.Context, cmd CreateInvoice) (InvoiceResult, error) {
	return s.createInvoice(ctx, cmd, true)
}

func (s *Service) createInvoice(ctx context.Context, cmd CreateInvoice, strict bool) (InvoiceResult, error) {
	v, err := s.validateInvoice(ctx, cmd)
	if err != nil {
		return InvoiceResult{}, err
	}
	// A number already taken is found by the insert itself (it writes
	// nothing then), not by a read before it: a repeated command is rare,
	// a new invoice the rule.
	now := s.now()
	id := uuid.Must(uuid.NewV7()).String()
	inv := &db.Invoice{
		ID: id, Number: v.number, CustomerID: v.customer.ID, AmountMinor: v.amountMinor, BalanceMinor: v.amountMinor,
		Currency: v.currency, IssuedAt: v.issuedAt, DueAt: v.dueAt, Stage: invoice.StageIssued,
		PolicyName: v.policy.Name, PolicyVersion: v.policy.Version, WorkflowID: workflows.WorkflowID(id),
		CreatedAt: now, UpdatedAt: now,
	}
	// Credit check: the customer's open balance in the limit's currency,
	// this invoice included, against the limit. The invoice is still
	// created, flagged, and the account manager gets a task. The check and
	// the insert are one transaction per customer, so two invoices created
	// at once (by two API processes, say) cannot both fit under a limit
	// that only one fits; the customer is read again inside it, so a limit
	// changed meanwhile counts.
	//
	// A customer without a limit, as read above, has no rule to race for:
	// the invoice is inserted alone, without the transaction and the
	// customer's lock (which would line up all of a customer's concurrent
	// invoices behind each other's commits). A limit set since that read
	// counts from the invoices created after it, as if this one had come
	// just before it: setting a limit reads no invoices, so that order
	// is one the database could have run.
	var flagged db.Customer
	var inserted bool
	var openBefore int64
	if v.customer.CreditLimitMinor == nil {
		inserted, err = s.Store.InsertInvoice(ctx, inv)
	} else {
		inserted, openBefore, err = s.Store.InsertInvoiceChecked(ctx, inv, func(c db.Customer, open int64) bool {
			flagged = c
			return desk.OverLimit(c, inv.Currency, open, inv.AmountMinor)
		})
	}
	if err != nil {
		return InvoiceResult{}, err
	}
	if !inserted { // a concurrent command took the number first
		existing, err := s.Store.GetInvoiceByNumber(ctx, v.number)
		if err != nil {
			return InvoiceResult{}, err
		}
		return s.repeatedInvoice(ctx, existing, v, cmd, strict)
	}
	if inv.OverCreditLimit {
		// The invoice stands; a failure here leaves the flag without the
		// task, which the log reports. The task is keyed by the invoice, so
		// a retry of this command never makes a second one.
		if t, _, err := desk.FlagOverLimit(context.WithoutCancel(ctx), s.Store, inv, &flagged, openBefore, now); err != nil {
			s.log().Error("over-limit task not created", "invoice_id", inv.ID, "error", err)
		} else {
			s.log().Info("invoice takes the customer over its credit limit", "invoice_id", inv.ID, "task_id", t.ID)
		}
	}
	if _, err := s.Workflows.StartInvoice(ctx, invoiceInput(inv, v.customer, v.policy)); err != nil {
		s.log().Warn("invoice stored; its workflow's start is unconfirmed", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID,
			"actor", cmd.Actor.String(), "error", err)
		return InvoiceResult{}, unavailablef(err,
			"invoice %s is stored but its workflow's start is unconfirmed; retry the same request to finish: %v", inv.Number, err)
	}
	s.log().Info("invoice created", "invoice_id", inv.ID, "number", inv.Number, "workflow_id", inv.WorkflowID, "actor", cmd.Actor.String())
	return InvoiceResult{Invoice: inv, Created: true}, nil
}

// invoiceInput is what starts an invoice's workflow.
func invoiceInput(inv *db.Invoice, cust *db.Customer, p policy.Policy) workflows.InvoiceInput {
	return workflows.InvoiceInput{
		InvoiceID: inv.ID, Number: inv.Number, CustomerID: inv.CustomerID, AmountMinor: inv.AmountMinor,
		Currency: inv.Currency, IssuedAt: inv.IssuedAt, DueAt: inv.DueAt, Policy: p,
		Timezone: cust.Timezone, AccountManager: cust.AccountManager,
	}
}

// repeatedInvoice answers a number already taken: the stored invoice, after
// making sure its workflow runs (it heals a start that failed or was never
// confirmed; the workflow id is the invoice's, so nothing starts twice).
func (s *Service) repeatedInvoice(ctx context.Context, inv *db.Invoice, v validInvoice, cmd CreateInvoice, strict bool) (InvoiceResult, error) {
	if strict {
		if diff := invoiceDiff(inv, v, cmd); len(diff) > 0 {
			return InvoiceResult{}, conflictf("number", "number: invoice %q already exists with another %s", v.number, strings.Join(diff, ", "))
		}
	}
	if _, err := s.ensureWorkflow(ctx, inv); err != nil {
		return InvoiceResult{}, err
	}
	return InvoiceResult{Invoice: inv}, nil
}

// ensureWorkflow makes sure an open invoice's workflow runs, starting it if
// it never started.
func (s *Service) ensureWorkflow(ctx context.Context, inv *db.Invoice) (started bool, err error) {
	if inv.ClosedAt != nil {
		return false, nil
	}
	p, ok := policies.Version(ctx, s.Store, inv.PolicyName, inv.PolicyVersion)
	cust, err := s.Store.GetCustomer(ctx, inv.CustomerID)
	if !ok || err != nil {
		return false, nil
	}
	started, err = s.Workflows.StartInvoice(ctx, invoiceInput(inv, cust, p))
	if err != nil {
		return false, unavailablef(err, "invoice exists but its workflow could not be checked: %v", err)
	}
	if started {
		s.log().Info("workflow started for a stored invoice", "invoice_id", inv.ID, "number", inv.Number, "workflow_id", inv.WorkflowID)
	}
	return started, nil
}

// invoiceDiff names the fields in which a stored invoice differs from a
// validated command for the same number. The policy counts only when the
// command names one: without, the policy is chosen at creation (the
// customer's or the service's default then), not part of the row. Amount
// and due date are compared as issued, so an invoice adjusted since differs.
func invoiceDiff(inv *db.Invoice, v validInvoice, cmd CreateInvoice) []string {
	var diff []string
	// Databases keep microseconds (PostgreSQL rounds finer input).
	same := func(a, b time.Time) bool { return a.Sub(b).Abs() < time.Microsecond }
	if inv.CustomerID != v.customer.ID {
		diff = append(diff, "customer_id")
	}
	if inv.AmountMinor != v.amountMinor {
		diff = append(diff, "amount")
	}
	if inv.Currency != v.currency {
		diff = append(diff, "currency")
	}
	if !same(inv.IssuedAt, v.issuedAt) {
		diff = append(diff, "issued_at")
	}
	if !same(inv.DueAt, v.dueAt) {
		diff = append(diff, "due_at")
	}
	if cmd.Policy != "" && inv.PolicyName != v.policy.Name {
		diff = append(diff, "policy")
	}
	return diff
}

// sweepPage is how many invoices StartMissingWorkflows reads at a time.
const sweepPage = 500

// StartMissingWorkflows starts the workflow of every open invoice that has
// none: one whose creation stored the row but could not confirm the start,
// and whose command was never repeated. It is idempotent (each start is
// under the invoice's workflow id, and an existing workflow, running or
// ended, starts nothing) and logs each invoice it started. Only invoices
// without a status are candidates: a workflow saves its status as it
// starts, and an ended workflow is never rerun, so an invoice with a status
// has, or had, its workflow. It returns how many workflows it started; a
// failed start is logged, the sweep goes on, and the error is returned at
// the end.
func (s *Service) StartMissingWorkflows(ctx context.Context) (started int, err error) {
	var errs []error
	err = s.eachInvoice(ctx, db.InvoiceFilter{Unsaved: true}, func(inv *db.Invoice) error {
		ok, err := s.ensureWorkflow(ctx, inv)
		if err != nil {
			s.log().Warn("sweep: workflow not started", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "error", err)
			errs = append(errs, fmt.Errorf("invoice %s: %w", inv.ID, err))
			return ctx.Err() // go on, unless the sweep was cut off
		}
		if ok {
			started++
		}
		return nil
	})
	if started > 0 {
		s.log().Info("sweep: started missing invoice workflows", "started", started)
	}
	return started, errors.Join(append(errs, err)...)
}

// eachInvoice calls fn with every invoice f matches, newest first, reading
// them a page (sweepPage) at a time; it stops at the first error fn returns.
func (s *Service) eachInvoice(ctx context.Context, f db.InvoiceFilter, fn func(*db.Invoice) error) error {
	f.Limit = sweepPage
	for {
		page, err := s.Store.ListInvoices(ctx, f)
		if err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < sweepPage {
			return nil
		}
		f.Before = page[len(page)-1].ID
	}
}

// Status is an invoice's status: live from its workflow's query while it
// runs, else what the workflow last saved (nil if it saved nothing yet);
// live says which.
func (s *Service) Status(ctx context.Context, inv *db.Invoice) (st *invoice.Status, live bool) {
	if inv.ClosedAt == nil && s.Workflows != nil && s.Workflows.Temporal != nil {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		res, err := s.Workflows.Status(qctx, inv.WorkflowID)
		if err == nil {
			return &res, true
		}
		s.log().Debug("status query failed; using the saved status", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "error", err)
	}
	return inv.Status, false
}
