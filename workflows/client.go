package workflows

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
)

// Client is the typed client of the invoice workflow and its siblings: the
// one place outside the worker that calls Temporal. The use cases (package
// collect) talk to running invoices only through it.
type Client struct {
	Temporal client.Client
	// HideAmounts leaves amounts out of the search attributes, which Temporal
	// indexes in clear (set when the payload codec is on).
	HideAmounts bool
}

// ErrEnded is returned for a command sent to a workflow that has ended.
var ErrEnded = errors.New("the workflow has ended")

// RefusedError is a workflow validator's refusal of a command, naming the
// offending field.
type RefusedError struct {
	Field   string
	Message string
}

func (e *RefusedError) Error() string { return e.Message }

// ConflictError is a command the workflow's current state forbids.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// Update runs the named update on a workflow and waits for its result.
// updateID makes a retried command run once. A validator's refusal comes
// back as *RefusedError, a state conflict as *ConflictError, an ended
// workflow as ErrEnded; anything else (Temporal unreachable, a deadline) is
// returned as it came.
func (c *Client) Update(ctx context.Context, workflowID, name, updateID string, arg, result any) error {
	handle, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateID: updateID, UpdateName: name,
		WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{arg},
	})
	if err == nil {
		err = handle.Get(ctx, result)
	}
	return CommandError(err)
}

// CommandError maps what Temporal answered a command with to the client's
// typed errors (and leaves those as they are).
func CommandError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case ErrInvalidArgument:
			var field string
			_ = appErr.Details(&field)
			return &RefusedError{Field: field, Message: appErr.Message()}
		case ErrConflict:
			return &ConflictError{Message: appErr.Message()}
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return ErrEnded
	}
	return err
}

// StartInvoice starts an invoice's workflow under its id (WorkflowID of the
// invoice). It is idempotent: a workflow already started under the id, still
// running or ended (a closed invoice's workflow is never rerun), starts
// nothing and answers started false without an error. An error does not
// prove that nothing started (a timeout may come after the start): calling
// again finds out. HideAmounts is set on the input from the client, and
// the run starts on CurrentRevision.
func (c *Client) StartInvoice(ctx context.Context, in InvoiceInput) (started bool, err error) {
	in.HideAmounts = c.HideAmounts
	in.Revision = CurrentRevision
	balance, stage, due := in.AmountMinor, invoice.StageIssued, in.DueAt
	if in.State != nil {
		balance, stage, due = in.State.BalanceMinor, in.State.Stage, in.State.DueAt
	}
	amount := money.Display(in.AmountMinor, in.Currency)
	// The summary and details are payloads, encrypted with the rest when
	// the codec is on; the search attributes are not (see
	// StartSearchAttributes).
	opts := client.StartWorkflowOptions{
		ID:                       WorkflowID(in.InvoiceID),
		TaskQueue:                TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Told apart from a start, an existing workflow is how the sweep
		// knows what it started.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("Invoice %s · customer %s · %s", in.Number, in.CustomerID, amount),
		StaticDetails: fmt.Sprintf("**Invoice:** %s  \n**Customer:** %s  \n**Amount:** %s  \n**Issued:** %s  \n**Due:** %s  \n**Policy:** %s v%d",
			in.Number, in.CustomerID, amount, in.IssuedAt.Format("2006-01-02"), in.DueAt.Format("2006-01-02"), in.Policy.Name, in.Policy.Version),
		TypedSearchAttributes: StartSearchAttributes(in, stage, balance, due),
	}
	_, err = c.Temporal.ExecuteWorkflow(ctx, opts, InvoiceWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return false, nil
	}
	return err == nil, err
}

// Status asks a running invoice's workflow for its full status.
func (c *Client) Status(ctx context.Context, workflowID string) (invoice.Status, error) {
	var st invoice.Status
	res, err := c.Temporal.QueryWorkflow(ctx, workflowID, "", QueryStatus)
	if err == nil {
		err = res.Get(&st)
	}
	return st, err
}

// PaymentReceived reports a processor's payment to the invoice's workflow.
func (c *Client) PaymentReceived(ctx context.Context, workflowID string, p PaymentReceived) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalPayment, p)
}

// Delivered reports a provider's delivery event (delivered, bounced) of one
// of the invoice's messages.
func (c *Client) Delivered(ctx context.Context, workflowID string, d Delivery) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalDelivery, d)
}

// TaskCompleted reports that a person completed one of the invoice's tasks.
func (c *Client) TaskCompleted(ctx context.Context, workflowID string, t TaskCompleted) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalTaskCompleted, t)
}

// AgencyOutcome reports what the collection agency achieved.
func (c *Client) AgencyOutcome(ctx context.Context, workflowID string, o AgencyOutcome) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalAgencyOutcome, o)
}

// CustomerChanged tells an invoice's workflow its customer's details as
// they now stand (time zone, account manager).
func (c *Client) CustomerChanged(ctx context.Context, workflowID string, ch CustomerChanged) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalCustomerChanged, ch)
}

// Noted puts a note kept on the invoice on its workflow's timeline.
func (c *Client) Noted(ctx context.Context, workflowID string, n Noted) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalNoted, n)
}

// RefundReceived hands a refund to the invoice's workflow. A paid invoice's
// workflow has completed: the refund then starts the next run of the same
// workflow id with everything the last run knew (its reopen query), and the
// refund arrives in that run with its start, so it reopens the invoice and
// the chasing resumes. Two refunds racing here both land: the second start
// finds the run the first began and only signals it.
func (c *Client) RefundReceived(ctx context.Context, workflowID string, r RefundReceived) error {
	err := c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalRefund, r)
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return err
	}
	res, err := c.Temporal.QueryWorkflow(ctx, workflowID, "", QueryReopen)
	if err != nil {
		return fmt.Errorf("read the closed invoice's state: %w", err)
	}
	var in InvoiceInput
	if err := res.Get(&in); err != nil {
		return fmt.Errorf("read the closed invoice's state: %w", err)
	}
	in.Revision = CurrentRevision // a new run, with an empty history
	opts := client.StartWorkflowOptions{
		ID:                    workflowID,
		TaskQueue:             TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         fmt.Sprintf("Invoice %s · customer %s · reopened by a refund", in.Number, in.CustomerID),
		TypedSearchAttributes: StartSearchAttributes(in, in.State.Stage, in.State.BalanceMinor, in.State.DueAt),
	}
	_, err = c.Temporal.SignalWithStartWorkflow(ctx, workflowID, SignalRefund, r, opts, InvoiceWorkflowName, in)
	return err
}

// Replied reports a customer's emailed reply to the invoice's workflow.
func (c *Client) Replied(ctx context.Context, workflowID string, r Replied) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalReplied, r)
}
