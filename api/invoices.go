package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// InvoiceRequest is the body of POST /v1/invoices.
type InvoiceRequest struct {
	Number     string `json:"number"`
	CustomerID string `json:"customer_id"`
	Amount     string `json:"amount"`   // decimal string, e.g. "1250.00"
	Currency   string `json:"currency"` // ISO 4217
	IssuedAt   string `json:"issued_at"`
	DueAt      string `json:"due_at"`
	Policy     string `json:"policy,omitempty"`
}

// InvoiceView is an invoice with its live status.
type InvoiceView struct {
	ID           string              `json:"id"`
	Number       string              `json:"number"`
	CustomerID   string              `json:"customer_id"`
	Amount       string              `json:"amount"`
	Balance      string              `json:"balance"`
	Currency     string              `json:"currency"`
	IssuedAt     time.Time           `json:"issued_at"`
	DueAt        time.Time           `json:"due_at"`
	Stage        invoice.Stage       `json:"stage"`
	Policy       PolicyRef           `json:"policy"`
	WorkflowID   string              `json:"workflow_id"`
	NextAction   *invoice.NextAction `json:"next_action"`
	Timeline     []EventView         `json:"timeline"`
	ClosedAt     *time.Time          `json:"closed_at,omitempty"`
	StatusSource string              `json:"status_source"` // "workflow" (live) or "database" (last saved)
	// OverCreditLimit is true when the invoice took the customer's open
	// balance over its credit limit at creation.
	OverCreditLimit bool `json:"over_credit_limit"`
}

// PolicyRef names the policy version an invoice runs on.
type PolicyRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
}

// EventView is a timeline event with amounts as decimal strings.
type EventView struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Step      string    `json:"step,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	Outcome   string    `json:"outcome,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Amount    string    `json:"amount,omitempty"`
	Balance   string    `json:"balance,omitempty"`
	Reference string    `json:"reference,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
}

type validInvoice struct {
	number, customerID, currency string
	amountMinor                  int64
	issuedAt, dueAt              time.Time
	policy                       policy.Policy
	customer                     *db.Customer
}

func (s *Server) validateInvoice(ctx context.Context, r InvoiceRequest) (validInvoice, error) {
	var v validInvoice
	v.number = strings.TrimSpace(r.Number)
	switch {
	case v.number == "":
		return v, invalid("number", "is required")
	case len(v.number) > 128:
		return v, invalid("number", "is longer than 128 characters")
	case strings.TrimSpace(r.CustomerID) == "":
		return v, invalid("customer_id", "is required")
	case strings.TrimSpace(r.Amount) == "":
		return v, invalid("amount", "is required, as a decimal string such as \"1250.00\"")
	case strings.TrimSpace(r.Currency) == "":
		return v, invalid("currency", "is required (an ISO 4217 code such as EUR)")
	}
	cur, err := money.Currency(r.Currency)
	if err != nil {
		return v, invalid("currency", "%v", err)
	}
	v.currency = cur
	if v.amountMinor, err = money.ParseAmount(r.Amount, cur); err != nil {
		return v, invalid("amount", "%v", err)
	}
	if v.amountMinor == 0 {
		return v, invalid("amount", "must be greater than zero")
	}
	if v.issuedAt, err = parseTime("issued_at", r.IssuedAt); err != nil {
		return v, err
	}
	noDueDate := strings.TrimSpace(r.DueAt) == ""
	if !noDueDate {
		if v.dueAt, err = parseTime("due_at", r.DueAt); err != nil {
			return v, err
		}
		if v.dueAt.Before(v.issuedAt) {
			return v, invalid("due_at", "is before issued_at")
		}
	}
	if err := checkInvoiceDates(v.issuedAt, v.dueAt, noDueDate, s.now()); err != nil {
		return v, err
	}
	cust, err := s.Store.GetCustomer(ctx, strings.TrimSpace(r.CustomerID))
	if errors.Is(err, db.ErrNotFound) {
		return v, &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Field: "customer_id",
			Message: fmt.Sprintf("customer_id: no customer %q; create it with POST /v1/customers first", r.CustomerID)}
	}
	if err != nil {
		return v, err
	}
	if noDueDate { // the customer's payment terms decide
		if cust.PaymentTermsDays == 0 {
			return v, invalid("due_at", "is required, in RFC 3339 form, unless the customer has payment_terms_days")
		}
		v.dueAt = v.issuedAt.AddDate(0, 0, cust.PaymentTermsDays)
	}
	// The invoice's own policy, else the customer's, else the server's.
	name := cmp.Or(r.Policy, cust.DefaultPolicy, s.DefaultPolicy, "standard")
	p, err := s.resolvePolicy(ctx, name)
	if errors.Is(err, db.ErrNotFound) {
		return v, invalid("policy", "unknown policy %q", name)
	}
	if err != nil {
		return v, err
	}
	v.policy = p
	v.customer = cust
	v.customerID = cust.ID
	return v, nil
}

func parseTime(field, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, invalid(field, "is required, in RFC 3339 form such as 2026-12-01T00:00:00Z")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalid(field, "%q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", s)
	}
	return t.UTC(), nil
}

// createInvoice stores an invoice and starts its workflow. An invoice number
// already taken returns the existing invoice (200) and starts nothing new;
// if the workflow could not be started, nothing is kept.
func (s *Server) createInvoice(c echo.Context) error {
	var req InvoiceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	inv, status, err := s.putInvoice(ctx, req, false)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		// The workflow has only just been started: what was stored is its
		// status. Asking it (a query) would wait for its first workflow
		// task and then a query task, several round trips for the same
		// answer; GET shows the live status from then on.
		return c.JSON(status, storedView(inv))
	}
	return c.JSON(status, s.view(ctx, inv))
}

// startWorkflow starts the invoice's workflow, or finds it already started:
// the id is derived from the invoice, and a closed workflow is never rerun.
func (s *Server) startWorkflow(ctx context.Context, inv *db.Invoice, cust *db.Customer, p policy.Policy) error {
	amount := money.Display(inv.AmountMinor, inv.Currency)
	opts := client.StartWorkflowOptions{
		ID:                       inv.WorkflowID,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            fmt.Sprintf("Invoice %s · customer %s · %s", inv.Number, inv.CustomerID, amount),
		StaticDetails: fmt.Sprintf("**Invoice:** %s  \n**Customer:** %s  \n**Amount:** %s  \n**Issued:** %s  \n**Due:** %s  \n**Policy:** %s v%d",
			inv.Number, inv.CustomerID, amount, inv.IssuedAt.Format("2006-01-02"), inv.DueAt.Format("2006-01-02"), p.Name, p.Version),
	}
	// Search attributes are indexed in clear: with the payloads encrypted,
	// the amount stays out of them (the summary and details above are
	// payloads, encrypted with the rest).
	in := workflows.InvoiceInput{
		InvoiceID: inv.ID, Number: inv.Number, CustomerID: inv.CustomerID, AmountMinor: inv.AmountMinor,
		Currency: inv.Currency, IssuedAt: inv.IssuedAt, DueAt: inv.DueAt, Policy: p,
		Timezone: cust.Timezone, AccountManager: cust.AccountManager, HideAmounts: s.Codec != nil,
	}
	opts.TypedSearchAttributes = searchAttributes(in, invoice.StageIssued, inv.BalanceMinor, inv.DueAt)
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.InvoiceWorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // it ran and closed already
	}
	return err
}

// searchAttributes are an invoice workflow's search attributes at its start:
// without the amount when the payloads are encrypted (HideAmounts).
func searchAttributes(in workflows.InvoiceInput, stage invoice.Stage, balance int64, due time.Time) temporal.SearchAttributes {
	attrs := []temporal.SearchAttributeUpdate{
		workflows.SAStage.ValueSet(string(stage)),
		workflows.SACustomerID.ValueSet(in.CustomerID),
		workflows.SACurrency.ValueSet(in.Currency),
		workflows.SADueDate.ValueSet(due),
		workflows.SAPolicyName.ValueSet(in.Policy.Name),
		workflows.SAAccountManager.ValueSet(in.AccountManager),
	}
	if !in.HideAmounts {
		attrs = append(attrs, workflows.SAAmountDueMinor.ValueSet(balance))
	}
	return temporal.NewSearchAttributes(attrs...)
}

func (s *Server) getInvoice(c echo.Context) error {
	ctx := c.Request().Context()
	inv, err := s.pathInvoice(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.view(ctx, inv))
}

// view combines the stored invoice with its status: live from the workflow's
// query while it runs, else the status the workflow last saved.
func (s *Server) view(ctx context.Context, inv *db.Invoice) InvoiceView {
	st, source := inv.Status, "database"
	if inv.ClosedAt == nil && s.Temporal != nil {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if res, err := s.Temporal.QueryWorkflow(qctx, inv.WorkflowID, "", workflows.QueryStatus); err == nil {
			var live invoice.Status
			if err := res.Get(&live); err == nil {
				st, source = &live, "workflow"
			}
		} else {
			s.log().Debug("status query failed; using the saved status", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "error", err)
		}
	}
	v := storedView(inv)
	v.StatusSource = source
	if st != nil {
		v.Stage, v.NextAction = st.Stage, st.NextAction
		v.Balance = money.FormatAmount(st.BalanceMinor, inv.Currency)
		if st.ClosedAt != nil {
			v.ClosedAt = st.ClosedAt
		}
		for _, e := range st.Timeline {
			ev := EventView{At: e.At, Kind: e.Kind, Step: e.Step, Channel: e.Channel, Outcome: e.Outcome,
				Detail: e.Detail, Reference: e.Reference, MessageID: e.MessageID}
			if e.AmountMinor != 0 {
				ev.Amount = money.FormatAmount(e.AmountMinor, inv.Currency)
			}
			if e.BalanceMinor != nil {
				ev.Balance = money.FormatAmount(*e.BalanceMinor, inv.Currency)
			}
			v.Timeline = append(v.Timeline, ev)
		}
	}
	return v
}

// storedView is the invoice as the database holds it, without a timeline.
func storedView(inv *db.Invoice) InvoiceView {
	return InvoiceView{
		ID: inv.ID, Number: inv.Number, CustomerID: inv.CustomerID,
		Amount: money.FormatAmount(inv.AmountMinor, inv.Currency), Balance: money.FormatAmount(inv.BalanceMinor, inv.Currency),
		Currency: inv.Currency, IssuedAt: inv.IssuedAt.UTC(), DueAt: inv.DueAt.UTC(), Stage: inv.Stage,
		Policy: PolicyRef{Name: inv.PolicyName, Version: inv.PolicyVersion}, WorkflowID: inv.WorkflowID,
		ClosedAt: inv.ClosedAt, StatusSource: "database", Timeline: []EventView{}, OverCreditLimit: inv.OverCreditLimit,
	}
}

func (s *Server) listInvoices(c echo.Context) error {
	ctx := c.Request().Context()
	f := db.InvoiceFilter{CustomerID: c.QueryParam("customer_id"), Stage: invoice.Stage(c.QueryParam("stage")),
		Manager: c.QueryParam("manager"), Before: c.QueryParam("cursor"), Now: s.now(), Limit: 100}
	if cur := c.QueryParam("currency"); cur != "" {
		code, err := money.Currency(cur)
		if err != nil {
			return invalid("currency", "%v", err)
		}
		f.Currency = code
	}
	switch c.QueryParam("overdue") {
	case "":
	case "true", "false":
		v := c.QueryParam("overdue") == "true"
		f.Overdue = &v
	default:
		return invalid("overdue", "must be true or false")
	}
	n, err := queryLimit(c)
	if err != nil {
		return err
	}
	if n > 0 {
		f.Limit = n
	}
	list, err := s.Store.ListInvoices(ctx, f)
	if err != nil {
		return err
	}
	out := make([]InvoiceView, 0, len(list))
	for i := range list {
		inv := &list[i]
		// Lists come from the database alone: one query per row would not scale.
		v := storedView(inv)
		if inv.Status != nil {
			v.NextAction = inv.Status.NextAction
		}
		out = append(out, v)
	}
	page := map[string]any{"invoices": out}
	if len(list) == f.Limit {
		page["next_cursor"] = list[len(list)-1].ID
	}
	return c.JSON(http.StatusOK, page)
}

// queryLimit reads ?limit= (1 to 500); 0 when absent.
func queryLimit(c echo.Context) (int, error) {
	l := c.QueryParam("limit")
	if l == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > 500 {
		return 0, invalid("limit", "must be a whole number from 1 to 500")
	}
	return n, nil
}
