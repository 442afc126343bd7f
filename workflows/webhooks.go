package workflows

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// DeliveryRetry is how patiently a webhook delivery is retried: the first
// retry after First, each wait doubling up to an hour, Attempts in all.
// The defaults (10 s, 15 attempts) keep trying for about seven hours.
type DeliveryRetry struct {
	First    time.Duration
	Attempts int32
}

func (r DeliveryRetry) policy() *temporal.RetryPolicy {
	first, attempts := r.First, r.Attempts
	if first <= 0 {
		first = 10 * time.Second
	}
	if attempts <= 0 {
		attempts = 15
	}
	return &temporal.RetryPolicy{InitialInterval: first, BackoffCoefficient: 2, MaximumInterval: time.Hour, MaximumAttempts: attempts}
}

// WebhookDeliveryInput names a queued delivery and its retry schedule.
type WebhookDeliveryInput struct {
	DeliveryID string
	Retry      DeliveryRetry
}

// WebhookDelivery delivers one queued webhook: the activity posts it and
// Temporal retries it with backoff until the subscriber answers 2xx or the
// attempts run out, when the delivery is marked failed. Every attempt is
// recorded and listable.
func WebhookDelivery(ctx workflow.Context, in WebhookDeliveryInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: in.Retry.policy(), Summary: "deliver webhook",
	})
	err := workflow.ExecuteActivity(ctx, a.DeliverWebhook, in.DeliveryID).Get(ctx, nil)
	if err == nil {
		return nil
	}
	reason := "every attempt failed: " + err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		reason = "every attempt failed: " + appErr.Message()
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second, Summary: "mark delivery failed"})
	return workflow.ExecuteActivity(ctx, a.FailWebhookDelivery, in.DeliveryID, reason).Get(ctx, nil)
}

// Dispatcher returns the function the activities use to hand a queued
// delivery to its sender: a WebhookDelivery workflow whose id is the
// delivery's, so handing it over twice starts it once.
func Dispatcher(c client.Client, retry DeliveryRetry) func(ctx context.Context, deliveryID string) error {
	return func(ctx context.Context, deliveryID string) error {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       "webhook-delivery:" + deliveryID,
			TaskQueue:                TaskQueue,
			WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			StaticSummary:            "Webhook delivery " + deliveryID,
		}, WebhookDeliveryWorkflowName, WebhookDeliveryInput{DeliveryID: deliveryID, Retry: retry})
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil
		}
		return err
	}
}
