package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// Calls: a collector phones the customer about an invoice and records what
// came of it. One call is one note of kind "call" on the invoice, and, from
// the same call, a promise to pay or a dispute; a wrong number asks the
// account manager to find the customer's current details.

// Call outcomes.
const (
	CallReached       = "reached"
	CallNoAnswer      = "no_answer"
	CallLeftVoicemail = "left_voicemail"
	CallWrongNumber   = "wrong_number"
)

// CallOutcomes are the outcomes a call can have.
var CallOutcomes = []string{CallReached, CallNoAnswer, CallLeftVoicemail, CallWrongNumber}

// maxCallNote bounds a call's note (the note it becomes holds a line more).
const maxCallNote = 10000

// LogCall records a call to the customer about an invoice.
type LogCall struct {
	InvoiceCommand
	Outcome string // one of CallOutcomes
	Note    string // what was said; optional
	// PromiseAmount and PromiseDate, both or neither: the customer promised
	// to pay this amount (a decimal string in the invoice's currency) by
	// this date (RFC 3339). Only when the call reached someone.
	PromiseAmount string
	PromiseDate   string
	// DisputeReason (one of workflows.DisputeReasons): the customer
	// disputes the invoice. Only when the call reached someone, and not
	// with a promise.
	DisputeReason string
	// Author is who made the call, as the note names them (default: the
	// actor's name).
	Author string
}

// CallResult is what a logged call recorded.
type CallResult struct {
	Note    *db.Note
	Invoice *db.Invoice // as it stands afterwards
	// Promised and Disputed say whether the call recorded a promise or
	// opened a dispute on the invoice's workflow.
	Promised, Disputed bool
	// Task is the locate-debtor task a wrong number created (or the one it
	// had created already, for a retried call); nil otherwise.
	Task *db.Task
}

// LogCall records a call. Everything the call carries is checked before
// anything is written: the outcome, the note's length, the promise's
// amount and date, the dispute's reason, that the invoice exists and is
// open. Then, in this order:
//
//  1. the promise or the dispute goes to the invoice's workflow, whose
//     validator may still refuse it (a promise above the balance, a date in
//     the past, a dispute already open). A refusal writes nothing: no note,
//     no task; the error names the call's field (promise_amount,
//     promise_date, dispute_reason).
//  2. the note of kind "call" is stored (AddNote), naming the outcome and
//     what was promised or disputed.
//  3. a wrong number creates a locate_debtor task for the account manager,
//     once per call.
//
// If step 2 or 3 fails after the workflow accepted step 1 (the database
// went away), the promise or dispute stands and the error is Unavailable;
// sending the same call again with the same IdempotencyKey does not promise
// or dispute twice (the workflow update has the same id) and writes the note
// and the task.
func (s *Service) LogCall(ctx context.Context, cmd LogCall) (CallResult, error) {
	outcome := strings.TrimSpace(cmd.Outcome)
	promised := strings.TrimSpace(cmd.PromiseAmount) != "" || strings.TrimSpace(cmd.PromiseDate) != ""
	reason := strings.TrimSpace(cmd.DisputeReason)
	switch {
	case outcome == "":
		return CallResult{}, invalidf("outcome", "is required: one of %s", strings.Join(CallOutcomes, ", "))
	case !slices.Contains(CallOutcomes, outcome):
		return CallResult{}, invalidf("outcome", "must be one of %s", strings.Join(CallOutcomes, ", "))
	case len(cmd.Note) > maxCallNote:
		return CallResult{}, invalidf("note", "is longer than 10,000 characters")
	case len(cmd.Author) > 200:
		return CallResult{}, invalidf("author", "is longer than 200 characters")
	case promised && reason != "":
		return CallResult{}, invalidf("dispute_reason", "a call records a promise to pay or a dispute, not both")
	case (promised || reason != "") && outcome != CallReached:
		return CallResult{}, invalidf("outcome", "must be reached to record a promise or a dispute: nobody was spoken to")
	case reason != "" && !slices.Contains(workflows.DisputeReasons, reason):
		return CallResult{}, invalidf("dispute_reason", "must be one of %s", strings.Join(workflows.DisputeReasons, ", "))
	}
	inv, err := s.openInvoice(ctx, cmd.InvoiceID)
	if err != nil {
		return CallResult{}, err
	}
	var promiseMinor int64
	if promised {
		if promiseMinor, err = positiveAmount("promise_amount", cmd.PromiseAmount, inv.Currency); err != nil {
			return CallResult{}, err
		}
		if _, err := requiredTime("promise_date", cmd.PromiseDate); err != nil {
			return CallResult{}, err
		}
	}
	cust, err := s.Store.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return CallResult{}, err
	}
	author := strings.TrimSpace(cmd.Author)
	if author == "" {
		author = cmd.Actor.Name
	}

	// 1. The workflow's part, which may still be refused.
	sub := cmd.InvoiceCommand
	res := CallResult{}
	switch {
	case promised:
		if cmd.IdempotencyKey != "" {
			sub.IdempotencyKey = "call:" + cmd.IdempotencyKey
		}
		if _, err := s.PromiseToPay(ctx, PromiseToPay{InvoiceCommand: sub, Amount: cmd.PromiseAmount, Date: cmd.PromiseDate,
			Note: callDetail(author, cmd.Note)}); err != nil {
			return CallResult{}, renameField(err, "promise_", "amount", "date")
		}
		res.Promised = true
	case reason != "":
		if cmd.IdempotencyKey != "" {
			sub.IdempotencyKey = "call:" + cmd.IdempotencyKey
		}
		if _, err := s.OpenDispute(ctx, OpenDispute{InvoiceCommand: sub, Reason: reason, Note: callDetail(author, cmd.Note)}); err != nil {
			return CallResult{}, renameField(err, "dispute_", "reason")
		}
		res.Disputed = true
	}

	// 2. The note.
	body := "Call: " + strings.ReplaceAll(outcome, "_", " ") + "."
	switch {
	case res.Promised:
		date, _ := requiredTime("promise_date", cmd.PromiseDate)
		body += fmt.Sprintf(" Promised %s by %s.", money.Display(promiseMinor, inv.Currency), date.Format("2006-01-02"))
	case res.Disputed:
		body += " Disputed: " + strings.ReplaceAll(reason, "_", " ") + "."
	case outcome == CallWrongNumber:
		body += " The number on file does not reach the customer."
	}
	if n := strings.TrimSpace(cmd.Note); n != "" {
		body += "\n\n" + n
	}
	note, err := s.AddNote(ctx, AddNote{InvoiceID: inv.ID, Kind: "call", Body: body, Author: author, Actor: cmd.Actor})
	if err != nil {
		return CallResult{}, afterWorkflow(err, res)
	}
	res.Note = note

	// 3. A wrong number: someone must find the customer's current number.
	if outcome == CallWrongNumber {
		key := "locate-debtor:call:" + note.ID
		if cmd.IdempotencyKey != "" {
			key = "locate-debtor:call:" + cmd.IdempotencyKey
		}
		now := s.now()
		t, _, err := s.Store.ClaimTask(ctx, &db.Task{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
			Key: key, Kind: "locate_debtor", Assignee: cust.AccountManager,
			Title:  fmt.Sprintf("Find a current phone number for the customer of invoice %s", inv.Number),
			Detail: fmt.Sprintf("%s called %s and reached a wrong number.", author, orNobody(cust.Phone)),
			Status: db.TaskOpen, DueAt: now.Add(48 * time.Hour), CreatedAt: now})
		if err != nil {
			return CallResult{}, afterWorkflow(err, res)
		}
		res.Task = t
	}
	if res.Invoice, err = s.Store.GetInvoice(ctx, inv.ID); err != nil {
		res.Invoice = inv
	}
	s.log().Info("call logged", "invoice_id", inv.ID, "outcome", outcome, "promised", res.Promised, "disputed", res.Disputed,
		"actor", cmd.Actor.String())
	return res, nil
}

// callDetail is what the promise or dispute carries to the timeline: who
// called, and the call's note.
func callDetail(author, note string) string {
	d := "On a call"
	if author != "" {
		d += " by " + author
	}
	if n := strings.TrimSpace(note); n != "" {
		d += ": " + n
	}
	return d
}

// renameField makes a use case's error about one of fields name the
// call's own field (prefix+field), so that the form shows it beside the
// right input.
func renameField(err error, prefix string, fields ...string) error {
	var e *Error
	if !errors.As(err, &e) || !slices.Contains(fields, e.Field) {
		return err
	}
	out := *e
	out.Field = prefix + e.Field
	if rest, ok := strings.CutPrefix(e.Message, e.Field+": "); ok {
		out.Message = out.Field + ": " + rest
	}
	return &out
}

// afterWorkflow reports a failure to store the call after its workflow
// accepted the promise or dispute: that stands, and the call may be sent
// again with the same idempotency key.
func afterWorkflow(err error, res CallResult) error {
	if !res.Promised && !res.Disputed {
		return err
	}
	what := "promise"
	if res.Disputed {
		what = "dispute"
	}
	return unavailablef(err, "the %s was recorded but the call's note was not: send the call again (with the same Idempotency-Key) to store it: %v", what, err)
}
