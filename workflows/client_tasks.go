package workflows

import "context"

// ReportTaskCompleted tells an invoice's workflow that a person finished
// one of its tasks (a fact: a signal), so its timeline records it.
func (c *Client) ReportTaskCompleted(ctx context.Context, workflowID string, done TaskCompleted) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalTaskCompleted, done)
}
