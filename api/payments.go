package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
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
	res, err := s.cases().RecordPayment(c.Request().Context(), collect.RecordPayment{Actor: keyActor(c), InvoiceID: c.Param("id"),
		Amount: req.Amount, Currency: req.Currency, Reference: req.Reference})
	if err != nil {
		return fromCase(err)
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, PaymentView{
		InvoiceID: res.Invoice.ID, Reference: res.Reference, Amount: money.FormatAmount(res.AmountMinor, res.Currency),
		Balance: money.FormatAmount(res.BalanceMinor, res.Currency), Currency: res.Currency, Stage: res.Stage, Duplicate: res.Duplicate,
	})
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

// PaymentEventView is a reported payment and what became of it.
type PaymentEventView struct {
	EventID    string    `json:"event_id"`
	Source     string    `json:"source"`
	Kind       string    `json:"kind"` // payment or refund
	InvoiceID  string    `json:"invoice_id,omitempty"`
	InvoiceRef string    `json:"invoice_ref"`
	Amount     string    `json:"amount"`
	Currency   string    `json:"currency"`
	Reference  string    `json:"reference"`
	Status     string    `json:"status"`
	Detail     string    `json:"detail,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// listPaymentEvents lists reported payments (?status=unmatched for the ones
// a person must reconcile).
func (s *Server) listPaymentEvents(c echo.Context) error {
	list, err := s.Store.ListPaymentEvents(c.Request().Context(), c.QueryParam("status"), 500)
	if err != nil {
		return err
	}
	out := make([]PaymentEventView, 0, len(list))
	for _, e := range list {
		out = append(out, PaymentEventView{EventID: e.EventID, Source: e.Source, Kind: e.Kind, InvoiceID: e.InvoiceID, InvoiceRef: e.InvoiceRef,
			Amount: money.FormatAmount(e.AmountMinor, e.Currency), Currency: e.Currency, Reference: e.Reference,
			Status: e.Status, Detail: e.Detail, ReceivedAt: e.ReceivedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"payment_events": out})
}
