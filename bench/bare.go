package main

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare baselines: the least a Temporal workflow can do for each
// scenario, on their own task queue, on the same server and client as ours.
const bareQueue = "bench-bare"

// BareWait sleeps until it is signalled "pay", then completes: the bare
// counterpart of an open invoice (ingest, capacity) and of a payment
// closing it (reaction).
func BareWait(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "pay").Receive(ctx, nil)
	return nil
}

// BareRemind sleeps until due, then calls the "provider" (an activity that
// notes the time): the bare counterpart of a scheduled reminder.
func BareRemind(ctx workflow.Context, due time.Time) error {
	if d := due.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}})
	return workflow.ExecuteActivity(ctx, "BareSend", due).Get(ctx, nil)
}

// bareProvider records each call's lateness.
type bareProvider struct {
	mu   sync.Mutex
	late []time.Duration
}

// BareSend is the bare reminder's provider call.
func (p *bareProvider) BareSend(ctx context.Context, due time.Time) error {
	late := time.Since(due)
	if activity.GetInfo(ctx).Attempt > 1 {
		return nil // counted on the first attempt
	}
	p.mu.Lock()
	p.late = append(p.late, late)
	p.mu.Unlock()
	return nil
}

func (p *bareProvider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.late)
}

func (p *bareProvider) take() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.late
	p.late = nil
	return out
}

func startBareWorker(c client.Client, opts sdkworker.Options) (sdkworker.Worker, *bareProvider, error) {
	w := sdkworker.New(c, bareQueue, opts)
	w.RegisterWorkflow(BareWait)
	w.RegisterWorkflow(BareRemind)
	p := &bareProvider{}
	w.RegisterActivityWithOptions(p.BareSend, activity.RegisterOptions{Name: "BareSend"})
	return w, p, w.Start()
}
