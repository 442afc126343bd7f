// Package invoice holds the vocabulary shared by the workflow, the activities,
// the database and the API: an invoice's stage, its status as the workflow
// reports it, and the timeline of what happened to it.
package invoice

import "time"

// Stage is where an invoice stands in its collection lifecycle. The values are
// stored in the database, shown by the API and set as the InvoiceStage search
// attribute, so they never change once released.
type Stage string

// The stages, in the order an unpaid invoice passes through them.
const (
	StageIssued      Stage = "issued"       // workflow started, nothing sent yet
	StageNotified    Stage = "notified"     // 1: the invoice itself was sent
	StageReminded    Stage = "reminded"     // 3: friendly reminder before the due date
	StageInquired    Stage = "inquired"     // 4: overdue, asked what is wrong
	StagePressing    Stage = "pressing"     // 5: firmer reminders
	StageFinalNotice Stage = "final_notice" // 6: final notice with a deadline
	StagePaid        Stage = "paid"         // balance reached zero; nothing more is sent
)

// Closed reports whether nothing more will happen to an invoice in this stage.
func (s Stage) Closed() bool { return s == StagePaid }

// Event kinds recorded in an invoice's timeline.
const (
	EventStarted    = "started"
	EventMessage    = "message"    // a step's message went out, or was skipped with a reason
	EventSuperseded = "superseded" // a step was already overdue when a later one fell due
	EventPayment    = "payment"
	EventPaid       = "paid"
)

// Event is one line of an invoice's timeline.
type Event struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Step    string    `json:"step,omitempty"`
	Channel string    `json:"channel,omitempty"`
	Outcome string    `json:"outcome,omitempty"` // sent, skipped, failed ...
	Detail  string    `json:"detail,omitempty"`
	// AmountMinor and BalanceMinor are set on payment events.
	AmountMinor  int64  `json:"amount_minor,omitempty"`
	BalanceMinor *int64 `json:"balance_minor,omitempty"`
	Reference    string `json:"reference,omitempty"`
	MessageID    string `json:"message_id,omitempty"`
}

// NextAction is what the workflow will do next, and when.
type NextAction struct {
	Step     string    `json:"step"`
	What     string    `json:"what"`
	At       time.Time `json:"at"`
	Channels []string  `json:"channels,omitempty"`
}

// Status is the invoice as its workflow sees it: returned by the status query,
// saved to the database at every change, and served by GET /v1/invoices/{id}.
type Status struct {
	InvoiceID     string      `json:"invoice_id"`
	Stage         Stage       `json:"stage"`
	BalanceMinor  int64       `json:"balance_minor"`
	Currency      string      `json:"currency"`
	PolicyName    string      `json:"policy_name"`
	PolicyVersion int         `json:"policy_version"`
	NextAction    *NextAction `json:"next_action,omitempty"`
	Timeline      []Event     `json:"timeline"`
	ClosedAt      *time.Time  `json:"closed_at,omitempty"`
}
