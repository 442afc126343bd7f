package workflows

import (
	"context"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/money"
)

// StartCreditDecision starts the decision workflow of a stored credit
// application (under workflowID, the id stored with it), deciding it under
// bounds. A retried start finds the workflow already running, and a decided
// application is never decided again.
func (c *Client) StartCreditDecision(ctx context.Context, workflowID string, app credit.Application, bounds credit.Bounds) error {
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflowID, TaskQueue: TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary: fmt.Sprintf("Credit application · customer %s · %s on %d days", app.CustomerID,
			money.Display(app.RequestedLimitMinor, app.Currency), app.TermsDays),
	}, CreditDecisionWorkflowName, CreditInput{Bounds: bounds, Application: app})
	return err
}

// DecideCredit runs management's decide-credit update on an application's
// workflow and waits until the decision is applied. Errors are typed as
// Update's are.
func (c *Client) DecideCredit(ctx context.Context, workflowID, updateID string, req CreditDecisionRequest) (CreditResult, error) {
	var res CreditResult
	err := c.Update(ctx, workflowID, UpdateDecideCredit, updateID, req, &res)
	return res, err
}
