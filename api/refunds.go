package api

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/workflows"
)

// signalRefund hands a refund to the invoice's workflow. A paid invoice's
// workflow has completed: the refund then starts the next run of the same
// workflow id with everything the last run knew (its reopen query), and the
// refund arrives in that run with its start, so it reopens the invoice
// and the chasing resumes. Two refunds racing here both land: the second
// start finds the run the first began and only signals it.
func (s *Server) signalRefund(ctx context.Context, inv *db.Invoice, r workflows.RefundReceived) error {
	err := s.Temporal.SignalWorkflow(ctx, inv.WorkflowID, "", workflows.SignalRefund, r)
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return err
	}
	res, err := s.Temporal.QueryWorkflow(ctx, inv.WorkflowID, "", workflows.QueryReopen)
	if err != nil {
		return fmt.Errorf("read the closed invoice's state: %w", err)
	}
	var in workflows.InvoiceInput
	if err := res.Get(&in); err != nil {
		return fmt.Errorf("read the closed invoice's state: %w", err)
	}
	opts := client.StartWorkflowOptions{
		ID:                    inv.WorkflowID,
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         fmt.Sprintf("Invoice %s · customer %s · reopened by a refund", in.Number, in.CustomerID),
		TypedSearchAttributes: searchAttributes(in, in.State.Stage, in.State.BalanceMinor, in.State.DueAt),
	}
	_, err = s.Temporal.SignalWithStartWorkflow(ctx, inv.WorkflowID, workflows.SignalRefund, r, opts, workflows.InvoiceWorkflowName, in)
	return err
}
