// Package worker builds the Temporal worker that runs invoice workflows and
// their activities, and prepares the namespace they need.
package worker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/workflows"
)

// New returns a worker on the collections task queue with the invoice and
// webhook-delivery and credit-decision workflows and the activities registered. Start it with Start or Run.
func New(c client.Client, acts *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	w := sdkworker.New(c, workflows.TaskQueue, opts)
	w.RegisterWorkflowWithOptions(workflows.Invoice, workflow.RegisterOptions{Name: workflows.InvoiceWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.WebhookDelivery, workflow.RegisterOptions{Name: workflows.WebhookDeliveryWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.CreditDecision, workflow.RegisterOptions{Name: workflows.CreditDecisionWorkflowName})
	w.RegisterActivity(acts)
	return w
}

// EnsureSearchAttributes registers the workflows' custom search attributes
// on the namespace, adding only the missing ones, so it is safe to call on
// every start. It fails if a name exists with another type.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, log *slog.Logger) error {
	op := c.OperatorService()
	list, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range workflows.SearchAttributes {
		existing, ok := list.GetCustomAttributes()[name]
		if !ok {
			missing[name] = typ
			continue
		}
		if existing != typ {
			return fmt.Errorf("search attribute %s exists as %s, the workflows need %s", name, existing, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	if log != nil {
		log.Info("registered search attributes", "namespace", namespace, "count", len(missing))
	}
	return nil
}
