// Package invoice holds the vocabulary shared by the workflow, the activities,
// the database and the API: an invoice's stage, its status as the workflow
// reports it, and the timeline of what happened to it.
package invoice

import "time"

// Stage is where an invoice stands in its collection lifecycle. The values are
// stored in the database, shown by the API and set as the InvoiceStage search
// attribute, so they never change once released.
type Stage string

// The stages, in the order an unpaid invoice passes through them, then the
// states an interrupt puts it in, then the ends.
const (
	StageIssued    Stage = "issued"    // workflow started, nothing sent yet
	StageNotified  Stage = "notified"  // 1: the invoice itself was sent
	StageReminded  Stage = "reminded"  // 3: friendly reminder before the due date
	StageInquired  Stage = "inquired"  // 4: overdue, asked what is wrong
	StagePressing  Stage = "pressing"  // 5: firmer reminders
	StageEscalated Stage = "escalated" // 6: management involved, final notice sent
	StageAgency    Stage = "agency"    // placed with a collection agency

	StageDisputed Stage = "disputed" // chasing paused until the dispute is resolved
	StagePromised Stage = "promised" // chasing paused until the promised date
	StagePaused   Stage = "paused"   // paused by a person

	StagePaid       Stage = "paid"        // balance reached zero; nothing more is sent
	StageCancelled  Stage = "cancelled"   // cancelled (or a dispute upheld)
	StageWrittenOff Stage = "written_off" // written off by management
	StageCollected  Stage = "collected"   // the agency collected the balance
	StageReturned   Stage = "returned"    // the agency returned the account uncollected
)

// Closed reports whether nothing more will happen to an invoice in this stage.
func (s Stage) Closed() bool {
	switch s {
	case StagePaid, StageCancelled, StageWrittenOff, StageCollected, StageReturned:
		return true
	}
	return false
}

// Event kinds recorded in an invoice's timeline.
const (
	EventStarted           = "started"
	EventMessage           = "message"    // a step's message went out, or was skipped with a reason
	EventSuperseded        = "superseded" // a step was already overdue when a later one fell due
	EventDeliveryConfirmed = "delivery_confirmed"
	EventTask              = "task" // a task was created for a person
	EventTaskCompleted     = "task_completed"
	EventPayment           = "payment"
	EventPaid              = "paid"
	EventRefund            = "refund"   // money returned to the customer: the balance grows again
	EventReopened          = "reopened" // a refund reopened a paid invoice
	EventDisputeOpened     = "dispute_opened"
	EventDisputeResolved   = "dispute_resolved"
	EventDisputeOverdue    = "dispute_overdue"
	EventPromise           = "promise"
	EventPromiseKept       = "promise_kept"
	EventPromiseBroken     = "promise_broken"
	EventPaused            = "paused"
	EventResumed           = "resumed"
	EventDueDateChanged    = "due_date_changed"
	EventEscalated         = "escalated"
	EventDecision          = "decision" // management decided on an escalated account
	EventAgencyPlaced      = "agency_placed"
	EventAgencyOutcome     = "agency_outcome"
	EventCancelled         = "cancelled"
	EventWrittenOff        = "written_off"
	EventContinuedAsNew    = "continued_as_new"
	EventCustomerChanged   = "customer_changed" // the customer's time zone or account manager changed
	EventNote              = "note"             // a person kept a note (outcome: its kind, e.g. call)
	EventReplied           = "replied"          // the customer replied by email (outcome: triage flags; until: the hold)
	EventPolicyRefused     = "policy_refused"   // the policy exceeds the engine's bounds: nothing is scheduled
)

// Event is one line of an invoice's timeline.
type Event struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Step    string    `json:"step,omitempty"`
	Channel string    `json:"channel,omitempty"`
	Outcome string    `json:"outcome,omitempty"` // sent, skipped, failed, kept, broken, agency ...
	Detail  string    `json:"detail,omitempty"`
	// AmountMinor and BalanceMinor are set on events that move money.
	AmountMinor  int64      `json:"amount_minor,omitempty"`
	BalanceMinor *int64     `json:"balance_minor,omitempty"`
	Reference    string     `json:"reference,omitempty"`
	MessageID    string     `json:"message_id,omitempty"`
	Until        *time.Time `json:"until,omitempty"` // deadlines, promised dates, pauses, new due dates
	Actor        string     `json:"actor,omitempty"` // who decided, when a person did
}

// NextAction is what the workflow will do next, and when.
type NextAction struct {
	Step     string    `json:"step"`
	What     string    `json:"what"`
	At       time.Time `json:"at,omitzero"` // zero when it waits for something, not a time
	Channels []string  `json:"channels,omitempty"`
}

// Dispute is an open or resolved dispute.
type Dispute struct {
	Reason   string     `json:"reason"`
	Note     string     `json:"note,omitempty"`
	OpenedAt time.Time  `json:"opened_at"`
	Deadline time.Time  `json:"deadline"`
	Overdue  bool       `json:"overdue"` // the deadline passed and the account manager was asked to resolve it
	Resolved *time.Time `json:"resolved_at,omitempty"`
}

// Promise is a customer's promise to pay an amount by a date.
type Promise struct {
	AmountMinor int64     `json:"amount_minor"`
	Date        time.Time `json:"date"`
	// TargetBalanceMinor is the balance at or below which the promise is kept.
	TargetBalanceMinor int64 `json:"target_balance_minor"`
	Reminded           bool  `json:"reminded"`
}

// Escalation is management's involvement in an account.
type Escalation struct {
	At       time.Time `json:"at"`
	Deadline time.Time `json:"deadline"` // the final notice's deadline
	Decision string    `json:"decision,omitempty"`
	Actor    string    `json:"actor,omitempty"`
}

// Status is the invoice as its workflow sees it: returned by the status query,
// saved to the database at every change, and served by GET /v1/invoices/{id}.
type Status struct {
	InvoiceID      string      `json:"invoice_id"`
	Stage          Stage       `json:"stage"`
	AmountMinor    int64       `json:"amount_minor"`
	BalanceMinor   int64       `json:"balance_minor"`
	Currency       string      `json:"currency"`
	DueAt          time.Time   `json:"due_at"`
	PolicyName     string      `json:"policy_name"`
	PolicyVersion  int         `json:"policy_version"`
	AccountManager string      `json:"account_manager,omitempty"`
	NextAction     *NextAction `json:"next_action,omitempty"`
	Dispute        *Dispute    `json:"dispute,omitempty"`
	Promise        *Promise    `json:"promise,omitempty"`
	Escalation     *Escalation `json:"escalation,omitempty"`
	PausedUntil    *time.Time  `json:"paused_until,omitempty"`
	Paused         bool        `json:"paused"`
	// Plan is the invoice's current (or last) payment plan.
	Plan     *Plan      `json:"plan,omitempty"`
	Timeline []Event    `json:"timeline"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
}
