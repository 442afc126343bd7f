package app

import (
	"testing"
	"time"

	sdkworker "go.temporal.io/sdk/worker"
)

// A worker polls with DefaultPollers pollers of each kind unless the config
// says otherwise, and drains for the shutdown timeout.
func TestWorkerOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wf, act int
		stop    time.Duration
	}{
		{name: "defaults", cfg: Config{}, wf: DefaultPollers, act: DefaultPollers, stop: DefaultShutdownTimeout},
		{name: "WORKER_POLLERS and SHUTDOWN_TIMEOUT", cfg: Config{WorkerPollers: 3, ShutdownTimeout: 5 * time.Second}, wf: 3, act: 3, stop: 5 * time.Second},
		{name: "explicit options win", cfg: Config{WorkerPollers: 3, ShutdownTimeout: 5 * time.Second,
			Worker: sdkworker.Options{MaxConcurrentWorkflowTaskPollers: 4, WorkerStopTimeout: time.Second}}, wf: 4, act: 3, stop: time.Second},
		{name: "poller behaviour", cfg: Config{Worker: sdkworker.Options{WorkflowTaskPollerBehavior: sdkworker.NewPollerBehaviorSimpleMaximum(sdkworker.PollerBehaviorSimpleMaximumOptions{MaximumNumberOfPollers: 5})}},
			wf: 0, act: DefaultPollers, stop: DefaultShutdownTimeout},
	} {
		o := tc.cfg.workerOptions()
		if o.MaxConcurrentWorkflowTaskPollers != tc.wf || o.MaxConcurrentActivityTaskPollers != tc.act || o.WorkerStopTimeout != tc.stop {
			t.Errorf("%s: pollers %d/%d, stop %s; want %d/%d, %s", tc.name, o.MaxConcurrentWorkflowTaskPollers,
				o.MaxConcurrentActivityTaskPollers, o.WorkerStopTimeout, tc.wf, tc.act, tc.stop)
		}
	}
}
