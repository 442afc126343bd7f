package workflows

import (
	"time"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
)

// PaymentRequest is the record-payment update's argument.
type PaymentRequest struct {
	Reference   string
	AmountMinor int64
	Currency    string
	ReceivedAt  time.Time
}

// PaymentResponse is the record-payment update's result.
type PaymentResponse struct {
	BalanceMinor int64
	Stage        invoice.Stage
	Duplicate    bool // the reference was already recorded; nothing changed
}

// Dispute reason codes.
var DisputeReasons = []string{"wrong_amount", "not_received", "quality", "duplicate", "not_ordered", "other"}

// DisputeRequest opens a dispute.
type DisputeRequest struct {
	Reason string
	Note   string
}

// Dispute resolutions.
const (
	ResolutionRejected = "rejected" // the invoice stands: chasing resumes where it left off
	ResolutionUpheld   = "upheld"   // the customer is right: the invoice is cancelled
	ResolutionAdjusted = "adjusted" // a credit note lowers the amount; chasing resumes
)

// ResolveDisputeRequest resolves the open dispute.
type ResolveDisputeRequest struct {
	Resolution string
	// NewAmountMinor is the invoice's corrected amount, for "adjusted".
	NewAmountMinor int64
	Note           string
	Actor          string
}

// PromiseRequest records a promise to pay AmountMinor by Date.
type PromiseRequest struct {
	AmountMinor int64
	Date        time.Time
	Note        string
}

// PauseRequest pauses chasing, until a moment or until resumed.
type PauseRequest struct {
	Until  *time.Time
	Reason string
	Actor  string
}

// CloseRequest cancels or writes off an invoice.
type CloseRequest struct {
	Reason string
	Actor  string
}

// DueDateRequest moves the due date; the schedule re-anchors on it.
type DueDateRequest struct {
	DueAt time.Time
	Actor string
}

// DecisionRequest is management's answer on an escalated account.
type DecisionRequest struct {
	Decision policy.Decision
	Until    *time.Time // the new deadline, for extend
	Note     string
	Actor    string
}

// Agency outcomes.
const (
	AgencyCollected          = "collected"
	AgencyPartiallyCollected = "partially_collected"
	AgencyReturned           = "returned"
)

// AgencyOutcome is reported by the collection agency.
type AgencyOutcome struct {
	Outcome     string
	AmountMinor int64 // collected, for collected and partially_collected
	Reference   string
}

// TaskCompleted reports that a person finished a task the workflow created.
type TaskCompleted struct {
	TaskID  string
	Kind    string
	Outcome string
	Note    string
	Actor   string
}

// Noted reports a note kept on the invoice: its id in the database, its
// kind (call, letter, question ...), a summary (the first lines of its
// body) and who wrote it.
type Noted struct {
	NoteID  string
	Kind    string
	Summary string
	Actor   string
}

// Delivery reports a provider's delivery event for one of the invoice's messages.
type Delivery struct {
	Step    string
	Channel string
	Status  string // DeliveryDelivered or DeliveryBounced
	Detail  string
}

// Delivery statuses the workflow acts on.
const (
	DeliveryDelivered = "delivered" // confirms the invoice arrived
	DeliveryBounced   = "bounced"   // undeliverable: the fallback channel and a locate-debtor task
)

// CommandResponse answers the updates that change an invoice's course.
type CommandResponse struct {
	Stage        invoice.Stage
	BalanceMinor int64
}

// PaymentReceived is a payment a processor or bank feed reported: a fact,
// applied once per Reference. Unlike the record-payment update it is never
// refused for exceeding the balance: money received is money received, and
// an over-payment closes the invoice with a credit on the record.
type PaymentReceived struct {
	Reference   string
	AmountMinor int64
	Currency    string
	ReceivedAt  time.Time
	Source      string
}

// CustomerChanged carries the customer's details that a running invoice
// keeps in its input, as they now stand: the time zone that places its send
// window and dates, and the account manager it names in search attributes.
// Tasks and messages read the customer from the database when they are
// made, so they follow without it.
type CustomerChanged struct {
	Timezone       string
	AccountManager string
	Actor          string
}

// RefundReceived is money a processor or bank feed returned to the
// customer: a fact, applied once (see invoice.Refund for Cumulative). It grows
// the balance again and reopens an invoice that was paid.
type RefundReceived struct {
	Reference   string
	AmountMinor int64
	Cumulative  bool
	Currency    string
	ReceivedAt  time.Time
	Source      string
}
