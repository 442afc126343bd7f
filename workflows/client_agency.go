package workflows

import (
	"context"

	"github.com/collections-engine/collections/invoice"
)

// ReportAgencyOutcome passes the collection agency's report to an invoice's
// workflow: a fact (a signal), which the workflow records once per
// reference.
func (c *Client) ReportAgencyOutcome(ctx context.Context, workflowID string, o AgencyOutcome) error {
	return c.Temporal.SignalWorkflow(ctx, workflowID, "", SignalAgencyOutcome, o)
}

// LiveStatus asks a running invoice's workflow for its status (the status
// query): the stage as it is now, which the database may not show yet.
func (c *Client) LiveStatus(ctx context.Context, workflowID string) (invoice.Status, error) {
	var st invoice.Status
	res, err := c.Temporal.QueryWorkflow(ctx, workflowID, "", QueryStatus)
	if err == nil {
		err = res.Get(&st)
	}
	return st, err
}
