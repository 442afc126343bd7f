package workflows

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// TaskQueue is where the invoice workflows and their activities run.
const TaskQueue = "collections"

// Workflow, query, update and signal names: the contract between the API,
// the worker and running workflows. Renaming one breaks running invoices.
const (
	InvoiceWorkflowName         = "Invoice"
	WebhookDeliveryWorkflowName = "WebhookDelivery"
	CreditDecisionWorkflowName  = "CreditDecision"
	QueryStatus                 = "status"
	// QueryReopen returns the input that continues a closed invoice in a
	// new run: its policy and its whole state.
	QueryReopen = "reopen-input"

	// Updates: commands that need an answer, each with a validator.
	UpdatePayment        = "record-payment"
	UpdateOpenDispute    = "open-dispute"
	UpdateResolveDispute = "resolve-dispute"
	UpdatePromise        = "promise-to-pay"
	UpdatePause          = "pause"
	UpdateResume         = "resume"
	UpdateCancel         = "cancel"
	UpdateWriteOff       = "write-off"
	UpdateChangeDueDate  = "change-due-date"
	UpdateDecide         = "decide-escalation"
	// Payment plans (workflows/plans.go).
	UpdateProposePlan = "propose-payment-plan"
	UpdateDecidePlan  = "decide-payment-plan"
	UpdateCancelPlan  = "cancel-payment-plan"
	// UpdateDecideCredit is management's decision on a credit application
	// outside the automatic bounds (a CreditDecision workflow).
	UpdateDecideCredit = "decide-credit"

	// Signals: facts reported from outside.
	SignalAgencyOutcome = "agency-outcome"
	SignalTaskCompleted = "task-completed"
	SignalDelivery      = "delivery"
	SignalPayment       = "payment-received" // a processor's or bank feed's report
	SignalRefund        = "refund-received"  // money returned to the customer
	// SignalCustomerChanged: details of the customer that a running invoice
	// copied at its start (time zone, account manager) changed.
	SignalCustomerChanged = "customer-changed"
	// SignalNoted: a person kept a note on the invoice (a call logged, a
	// letter, the customer's question from the portal), shown on its
	// timeline.
	SignalNoted = "noted"
)

// WorkflowID is the id of an invoice's workflow, derived from the invoice so
// that one invoice never gets two workflows.
func WorkflowID(invoiceID string) string { return "invoice:" + invoiceID }

// Search attributes, typed, as shown and filtered on in the Temporal Web UI
// (for example `InvoiceStage = "reminded"`, or `InvoiceNumber = "INV-1001"`
// to find an invoice by its number).
var (
	SAInvoiceNumber  = temporal.NewSearchAttributeKeyKeyword("InvoiceNumber")
	SAStage          = temporal.NewSearchAttributeKeyKeyword("InvoiceStage")
	SACustomerID     = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	SAAmountDueMinor = temporal.NewSearchAttributeKeyInt64("AmountDueMinor")
	SACurrency       = temporal.NewSearchAttributeKeyKeyword("Currency")
	SADueDate        = temporal.NewSearchAttributeKeyTime("DueDate")
	SAAccountManager = temporal.NewSearchAttributeKeyKeyword("AccountManager")
	SAPolicyName     = temporal.NewSearchAttributeKeyKeyword("PolicyName")
)

// SearchAttributes lists every custom search attribute the workflows use,
// for registration on the namespace at start-up.
var SearchAttributes = map[string]enums.IndexedValueType{
	SAInvoiceNumber.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD,
	SAStage.GetName():          enums.INDEXED_VALUE_TYPE_KEYWORD,
	SACustomerID.GetName():     enums.INDEXED_VALUE_TYPE_KEYWORD,
	SAAmountDueMinor.GetName(): enums.INDEXED_VALUE_TYPE_INT,
	SACurrency.GetName():       enums.INDEXED_VALUE_TYPE_KEYWORD,
	SADueDate.GetName():        enums.INDEXED_VALUE_TYPE_DATETIME,
	SAAccountManager.GetName(): enums.INDEXED_VALUE_TYPE_KEYWORD,
	SAPolicyName.GetName():     enums.INDEXED_VALUE_TYPE_KEYWORD,
}

// Application error types the workflow returns to callers of its updates.
const (
	ErrInvalidArgument = "InvalidArgument" // details: the offending field's name
	ErrConflict        = "Conflict"        // the invoice is in a state that forbids it
)

func invalid(field, msg string) error {
	return temporal.NewApplicationError(field+": "+msg, ErrInvalidArgument, field)
}

func conflict(msg string) error {
	return temporal.NewApplicationError(msg, ErrConflict)
}
