package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// PaymentRequest is the body of POST /v1/invoices/{id}/payments.
type PaymentRequest struct {
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"` // the payment's id at the processor or bank; the same reference twice is one payment
}

// PaymentView is the answer: the invoice's balance after the payment.
type PaymentView struct {
	InvoiceID string        `json:"invoice_id"`
	Reference string        `json:"reference"`
	Amount    string        `json:"amount"`
	Balance   string        `json:"balance"`
	Currency  string        `json:"currency"`
	Stage     invoice.Stage `json:"stage"`
	Duplicate bool          `json:"duplicate"`
}

// createPayment records a payment through the invoice workflow's update,
// which stores it once and answers with the new balance. At zero the
// workflow ends and nothing more is sent.
func (s *Server) createPayment(c echo.Context) error {
	var req PaymentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	inv, err := s.pathInvoice(c)
	if err != nil {
		return err
	}
	req.Reference = strings.TrimSpace(req.Reference)
	switch {
	case strings.TrimSpace(req.Amount) == "":
		return invalid("amount", "is required, as a decimal string such as \"100.00\"")
	case strings.TrimSpace(req.Currency) == "":
		return invalid("currency", "is required (an ISO 4217 code such as EUR)")
	case req.Reference == "":
		return invalid("reference", "is required: the payment's id at your processor or bank")
	case len(req.Reference) > 200:
		return invalid("reference", "is longer than 200 characters")
	}
	cur, err := money.Currency(req.Currency)
	if err != nil {
		return invalid("currency", "%v", err)
	}
	if cur != inv.Currency {
		return invalid("currency", "invoice is in %s, payment is in %s", inv.Currency, cur)
	}
	amount, err := money.ParseAmount(req.Amount, cur)
	if err != nil {
		return invalid("amount", "%v", err)
	}
	if amount == 0 {
		return invalid("amount", "must be greater than zero")
	}
	if inv.ClosedAt != nil {
		return conflict("", "invoice %s is %s; no balance is left to pay", inv.Number, inv.Stage)
	}

	var res workflows.PaymentResponse
	if err := s.runUpdate(ctx, inv, workflows.UpdatePayment, "payment:"+req.Reference, workflows.PaymentRequest{
		Reference: req.Reference, AmountMinor: amount, Currency: cur, ReceivedAt: s.now(),
	}, &res); err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, PaymentView{
		InvoiceID: inv.ID, Reference: req.Reference, Amount: money.FormatAmount(amount, cur),
		Balance: money.FormatAmount(res.BalanceMinor, cur), Currency: cur, Stage: res.Stage, Duplicate: res.Duplicate,
	})
}

// runUpdate sends an update to the invoice's workflow and waits for its
// answer, mapping what the workflow said to an HTTP error.
func (s *Server) runUpdate(ctx context.Context, inv *db.Invoice, name, updateID string, arg, result any) error {
	handle, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: inv.WorkflowID, UpdateID: updateID, UpdateName: name,
		WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{arg},
	})
	if err == nil {
		err = handle.Get(ctx, result)
	}
	if err == nil {
		return nil
	}
	return updateError(err, fmt.Sprintf("invoice %s is closed (its workflow has ended)", inv.Number))
}

// updateError maps what a workflow answered an update with to an HTTP
// error: its validator's refusal naming a field (422), a conflict with its
// state (409), a workflow that has ended (409, saying ended), or else a 503.
func updateError(err error, ended string) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case workflows.ErrInvalidArgument:
			var field string
			_ = appErr.Details(&field)
			return &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Field: field, Message: appErr.Message()}
		case workflows.ErrConflict:
			return conflict("", "%s", appErr.Message())
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return conflict("", "%s", ended)
	}
	return unavailable("not recorded, try again: %v", err)
}

func (s *Server) listOutbox(c echo.Context) error {
	f := db.MessageFilter{InvoiceID: c.QueryParam("invoice_id")}
	n, err := queryLimit(c)
	if err != nil {
		return err
	}
	f.Limit = n
	msgs, err := s.Store.ListMessages(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]MessageView, 0, len(msgs))
	for i := range msgs {
		out = append(out, messageView(&msgs[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": out})
}
