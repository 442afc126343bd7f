package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
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
	// PaymentPlan is the invoice's current (or last) payment plan.
	PaymentPlan *PlanView `json:"payment_plan,omitempty"`
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
	Actor     string    `json:"actor,omitempty"` // who did it, when a person or a key did
}

// invoiceCommand is the use case's command for a request.
func invoiceCommand(c echo.Context, r InvoiceRequest) collect.CreateInvoice {
	return collect.CreateInvoice{Actor: keyActor(c), Number: r.Number, CustomerID: r.CustomerID, Amount: r.Amount,
		Currency: r.Currency, IssuedAt: r.IssuedAt, DueAt: r.DueAt, Policy: r.Policy}
}

// createInvoice stores an invoice and starts its workflow (201). An invoice
// number already taken returns the existing invoice (200), after making
// sure its workflow runs. A start that fails or is not confirmed keeps the
// invoice and answers 503: the same request again finishes it.
func (s *Server) createInvoice(c echo.Context) error {
	var req InvoiceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := s.cases().CreateInvoice(ctx, invoiceCommand(c, req))
	if err != nil {
		return fromCase(err)
	}
	if res.Created {
		// The workflow has only just been started: what was stored is its
		// status. Asking it (a query) would wait for its first workflow
		// task and then a query task, several round trips for the same
		// answer; GET shows the live status from then on.
		return c.JSON(http.StatusCreated, storedView(res.Invoice))
	}
	return c.JSON(http.StatusOK, s.view(ctx, res.Invoice))
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
	st, live := s.cases().Status(ctx, inv)
	source := "database"
	if live {
		source = "workflow"
	}
	v := storedView(inv)
	v.StatusSource = source
	if st != nil {
		v.Stage, v.NextAction = st.Stage, st.NextAction
		v.PaymentPlan = planView(st.Plan, inv.Currency)
		v.Balance = money.FormatAmount(st.BalanceMinor, inv.Currency)
		if st.ClosedAt != nil {
			v.ClosedAt = st.ClosedAt
		}
		for _, e := range st.Timeline {
			ev := EventView{At: e.At, Kind: e.Kind, Step: e.Step, Channel: e.Channel, Outcome: e.Outcome,
				Detail: e.Detail, Reference: e.Reference, MessageID: e.MessageID, Actor: e.Actor}
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
