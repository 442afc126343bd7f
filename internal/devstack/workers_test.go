package devstack_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devstack"
)

// workerStats counts, for one worker, the activities it ran.
type workerStats struct {
	interceptor.WorkerInterceptorBase
	name string

	mu                         sync.Mutex
	started, finished, errored int
	inflight                   int
	afterStop                  int // activities started after Stop returned
	stopped                    bool
}

func (w *workerStats) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &countActivities{w: w}
	i.Next = next
	return i
}

type countActivities struct {
	interceptor.ActivityInboundInterceptorBase
	w *workerStats
}

func (c *countActivities) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	c.w.mu.Lock()
	c.w.started++
	c.w.inflight++
	if c.w.stopped {
		c.w.afterStop++
	}
	c.w.mu.Unlock()
	res, err := c.Next.ExecuteActivity(ctx, in)
	c.w.mu.Lock()
	c.w.inflight--
	c.w.finished++
	if err != nil {
		c.w.errored++
	}
	c.w.mu.Unlock()
	return res, err
}

func (w *workerStats) snapshot() (started, finished, errored, inflight, afterStop int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started, w.finished, w.errored, w.inflight, w.afterStop
}

// providerCalls stands in for SendGrid and Twilio: it counts every message
// handed to a provider by (invoice, step, channel), shared by both workers
// as the real providers would be, and takes a while to answer so that
// sends are in flight when a worker stops.
type providerCalls struct {
	mu    sync.Mutex
	calls map[string]int
	by    map[string]string // key -> the worker that sent it
}

type countingSender struct {
	next   channels.Sender
	calls  *providerCalls
	worker string
}

func (s countingSender) Provider() string { return s.next.Provider() }

func (s countingSender) Send(ctx context.Context, m channels.Message) (string, error) {
	time.Sleep(150 * time.Millisecond)
	s.calls.mu.Lock()
	key := m.InvoiceID + " " + m.Step + "/" + string(m.Channel)
	s.calls.calls[key]++
	s.calls.by[key] = s.worker
	s.calls.mu.Unlock()
	return s.next.Send(ctx, m)
}

// TestTwoWorkersShareTheInvoicesAndEveryStepRunsOnce runs the production
// shape: two worker processes (two clients, two workers, one task queue)
// against one Temporal and one database, over many invoices on a policy
// compressed to seconds. Partway through one worker is stopped, as a
// rolling deploy or a scale-down would: it drains what it is running and the
// other takes over its invoices. In the end every invoice went through every
// step, each message reached the provider exactly once, both workers worked,
// and none of the stopped worker's activities was cut off.
func TestTwoWorkersShareTheInvoicesAndEveryStepRunsOnce(t *testing.T) {
	const invoices = 50
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.NoWorker = true
		o.RateLimit = 10000
	})
	defer s.Stop()
	ctx := context.Background()
	store := db.NewStore(s.DB)
	calls := &providerCalls{calls: map[string]int{}, by: map[string]string{}}

	type runningWorker struct {
		stats *workerStats
		w     sdkworker.Worker
	}
	start := func(name string) runningWorker {
		c, err := app.DialTemporal(ctx, app.TemporalConfig{Address: s.TemporalAddr, Namespace: "default"}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		acts, err := app.NewActivities(store, app.MessageConfig{}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		for ch, snd := range acts.Senders {
			acts.Senders[ch] = countingSender{next: snd, calls: calls, worker: name}
		}
		acts.Agency = countingSender{next: acts.Agency, calls: calls, worker: name}
		stats := &workerStats{name: name}
		w, err := app.StartWorker(ctx, c, "default", acts, quiet, sdkworker.Options{
			Interceptors:      []interceptor.WorkerInterceptor{stats},
			WorkerStopTimeout: 20 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		return runningWorker{stats, w}
	}
	a, b := start("a"), start("b")
	defer b.w.Stop()

	c := client{t: t, base: s.APIURL, key: s.APIKey}
	// The standard policy's contact steps 11 seconds apart. A workflow task
	// that the stopping worker had already taken reaches the other worker
	// after the workflow task timeout (10s); a step held up for less than
	// the gap is never superseded by the next one, so every invoice must go
	// through every step.
	p := c.must("GET", "/v1/policies/standard", nil, 200)
	offsets := map[string]string{"notify": "0s", "confirm-delivery": "2s", "remind": "11s", "inquire": "22s", "escalate": "33s", "agency": "90s"}
	var steps []any
	for _, st := range p["steps"].([]any) {
		st := st.(map[string]any)
		if off, ok := offsets[st["id"].(string)]; ok {
			st["anchor"], st["offset"] = "issue", off
			steps = append(steps, st)
		}
	}
	if len(steps) != len(offsets) {
		t.Fatalf("the standard policy's steps changed: %v", p["steps"])
	}
	p["steps"] = steps
	delete(p, "builtin")
	delete(p, "calendar")
	delete(p, "contact_cap")
	p["name"], p["version"] = "spaced", 0
	p["final_notice_deadline"], p["dispute_deadline"], p["promise_grace"] = "3s", "2s", "1s"
	c.must("POST", "/v1/policies", p, 201)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test",
		"phone": "+4930123456", "timezone": "Europe/Berlin", "account_manager": "mia@ar.test"}, 201)
	began := time.Now()
	var ids []string
	for i := range invoices {
		now := time.Now()
		inv := c.must("POST", "/v1/invoices", map[string]string{"number": fmt.Sprintf("W-%03d", i), "customer_id": "acme", "amount": "1000.00",
			"currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": "spaced"}, 201)
		ids = append(ids, inv["id"].(string))
	}

	// Stop worker a while it is running activities: Stop returns once they
	// have finished, and a takes no new work after that.
	eventually(t, 30*time.Second, "worker a to be running activities", func() bool {
		started, _, _, inflight, _ := a.stats.snapshot()
		return inflight > 0 && started > 2*invoices
	})
	_, _, _, inflightAtStop, _ := a.stats.snapshot()
	a.w.Stop()
	a.stats.mu.Lock()
	a.stats.stopped = true
	a.stats.mu.Unlock()
	aStarted, aFinished, aErrored, aInflight, _ := a.stats.snapshot()
	t.Logf("worker a stopped after %s with %d activities in flight; it ran %d", time.Since(began).Round(time.Millisecond), inflightAtStop, aStarted)
	if aInflight != 0 || aFinished != aStarted || aErrored != 0 {
		t.Fatalf("worker a stopped with %d activities still running, %d of %d finished, %d failed: want all drained", aInflight, aFinished, aStarted, aErrored)
	}

	// Every invoice walks to the agency (the final deadline passes in
	// silence), worker b alone finishing what a left.
	eventually(t, 90*time.Second, "every invoice to reach the agency", func() bool {
		agency, err := s.DB.NewSelect().Model((*db.Message)(nil)).Where("step = ? AND status <> ?", "agency", "pending").Count(ctx)
		if err != nil || agency < invoices {
			return false
		}
		pending, err := s.DB.NewSelect().Model((*db.Message)(nil)).Where("status = ?", "pending").Count(ctx)
		return err == nil && pending == 0
	})
	took := time.Since(began)

	// From the database: each invoice has every step, each once.
	var rows []struct {
		InvoiceID string `bun:"invoice_id"`
		Step      string `bun:"step"`
		Channel   string `bun:"channel"`
		Status    string `bun:"status"`
	}
	if err := s.DB.NewSelect().Model((*db.Message)(nil)).Column("invoice_id", "step", "channel", "status").
		Where("direction = ?", "out").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	perInvoice := map[string][]string{}
	for _, r := range rows {
		if r.Status != "sent" && r.Status != "delivered" {
			t.Errorf("invoice %s %s/%s: status %q", r.InvoiceID, r.Step, r.Channel, r.Status)
		}
		perInvoice[r.InvoiceID] = append(perInvoice[r.InvoiceID], r.Step+"/"+r.Channel)
	}
	want := []string{"agency/agency", "escalate/email", "escalate/sms", "escalate:management/manager", "inquire/email",
		"inquire/sms", "notify/email", "remind/email"}
	for _, id := range ids {
		got := slices.Sorted(slices.Values(perInvoice[id]))
		if !slices.Equal(got, want) {
			t.Errorf("invoice %s sent %v, want each of %v once", id, got, want)
		}
	}

	// At the providers: every message handed over exactly once, none
	// twice, nothing the database does not know of.
	calls.mu.Lock()
	byWorker := map[string]int{}
	for key, n := range calls.calls {
		if n != 1 {
			t.Errorf("%s reached the provider %d times", key, n)
		}
		byWorker[calls.by[key]]++
	}
	total := len(calls.calls)
	calls.mu.Unlock()
	if total != invoices*len(want) {
		t.Errorf("%d messages reached the providers, want %d", total, invoices*len(want))
	}

	// Both workers did work; a did none after it stopped.
	bStarted, _, bErrored, _, _ := b.stats.snapshot()
	_, _, _, _, aAfterStop := a.stats.snapshot()
	if aStarted == 0 || bStarted == 0 || byWorker["a"] == 0 || byWorker["b"] == 0 {
		t.Errorf("activities a=%d b=%d, messages a=%d b=%d: want both workers to have worked", aStarted, bStarted, byWorker["a"], byWorker["b"])
	}
	if aAfterStop != 0 {
		t.Errorf("worker a started %d activities after it stopped", aAfterStop)
	}
	if bErrored != 0 {
		t.Errorf("worker b: %d activities failed", bErrored)
	}

	// Every workflow is waiting at the agency, none failed or stuck.
	for _, id := range ids {
		d, err := s.Client.DescribeWorkflowExecution(ctx, "invoice:"+id, "")
		if err != nil {
			t.Fatal(err)
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("invoice %s: workflow %s", id, st)
		}
		if stage := stageOf(c, id); stage != "agency" {
			t.Errorf("invoice %s: stage %s, want agency", id, stage)
		}
	}
	t.Logf("%d invoices, %d messages in %s; activities: a %d (stopped with %d in flight), b %d; messages: a %d, b %d",
		invoices, total, took.Round(time.Millisecond), aStarted, inflightAtStop, bStarted, byWorker["a"], byWorker["b"])
}
