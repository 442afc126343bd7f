package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
)

// CallRequest is the body of POST /v1/invoices/{id}/calls: a call to the
// customer about the invoice, and what came of it.
type CallRequest struct {
	Outcome       string `json:"outcome"` // reached, no_answer, left_voicemail, wrong_number
	Note          string `json:"note"`
	PromiseAmount string `json:"promise_amount"` // with promise_date: the customer promised to pay
	PromiseDate   string `json:"promise_date"`   // RFC 3339
	DisputeReason string `json:"dispute_reason"` // the customer disputes the invoice
	Author        string `json:"author"`         // who called; default the API key's name
}

// CallView is what a logged call recorded.
type CallView struct {
	Note     NoteView    `json:"note"`
	Promised bool        `json:"promised"`
	Disputed bool        `json:"disputed"`
	Task     *TaskView   `json:"task,omitempty"` // the locate_debtor task of a wrong number
	Invoice  InvoiceView `json:"invoice"`
}

// logCall records a call (collect.LogCall): a note of kind call, and from
// the same call a promise or a dispute on the invoice's workflow, or for a
// wrong number a locate_debtor task.
func (s *Server) logCall(c echo.Context) error {
	var b CallRequest
	if err := decode(c, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := s.cases().LogCall(ctx, collect.LogCall{InvoiceCommand: commandOn(c), Outcome: b.Outcome, Note: b.Note,
		PromiseAmount: b.PromiseAmount, PromiseDate: b.PromiseDate, DisputeReason: b.DisputeReason, Author: b.Author})
	if err != nil {
		return fromCase(err)
	}
	out := CallView{Note: noteView(res.Note), Promised: res.Promised, Disputed: res.Disputed, Invoice: s.view(ctx, res.Invoice)}
	if res.Task != nil {
		tv := taskView(res.Task)
		out.Task = &tv
	}
	return c.JSON(http.StatusCreated, out)
}
