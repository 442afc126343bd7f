package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/devstack"
)

type bench struct {
	s        *devstack.Stack
	bare     sdkworker.Worker
	provider *bareProvider
	dir      string
	cfg      config
	http     *http.Client
	seq      atomic.Int64 // makes invoice numbers and workflow ids unique
	// temporalSize measures Temporal's databases on PostgreSQL (nil: its
	// SQLite file in dir).
	temporalSize *pgSizer
}

func newBench(s *devstack.Stack, w sdkworker.Worker, p *bareProvider, dir string, cfg config) *bench {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4 * cfg.concurrency
	return &bench{s: s, bare: w, provider: p, dir: dir, cfg: cfg, http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

func (b *bench) stop() {
	b.bare.Stop()
	b.s.Stop()
	if b.temporalSize != nil {
		b.temporalSize.close()
	}
}

// call sends a JSON request to the API and decodes the answer; any status
// but want is an error (want 0: 200 or 201).
func (b *bench) call(ctx context.Context, method, path string, body any, want int) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.s.APIURL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.s.APIKey)
	req.Header.Set("Content-Type", "application/json")
	return b.do(req, want)
}

func (b *bench) do(req *http.Request, want int) (map[string]any, error) {
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode != want && (want != 0 || (resp.StatusCode != 200 && resp.StatusCode != 201)) {
		return out, fmt.Errorf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, bytes.TrimSpace(raw))
	}
	return out, nil
}

// setup posts the bench's policies (the standard policy with its steps
// moved) and customers.
func (b *bench) setup(ctx context.Context) error {
	std, err := b.call(ctx, "GET", "/v1/policies/standard", nil, 200)
	if err != nil {
		return err
	}
	far := []string{"864000s", "864001s", "864002s", "864003s", "864004s", "864005s", "864006s", "864007s"}
	for name, offsets := range map[string][]string{
		// Every step days away: an open invoice that sleeps (ingest, reaction, capacity).
		"bench-sleep": far,
		// Only the first message due, an hour after issue (punctuality).
		"bench-punctual": append([]string{"3600s"}, far[1:]...),
		// The standard policy in seconds, as the lifecycle tests run it (cost: the path to the agency).
		"bench-fast": {"0s", "1s", "2s", "3s", "4s", "5s", "6s", "60s"},
		// Issued, notified and reminded in two seconds, then quiet (cost: reminded → paid).
		"bench-remind": {"0s", "1s", "2s", "864003s", "864004s", "864005s", "864006s", "864007s"},
	} {
		p := map[string]any{}
		for k, v := range std {
			p[k] = v
		}
		raw, _ := json.Marshal(std["steps"])
		var steps []map[string]any
		if err := json.Unmarshal(raw, &steps); err != nil {
			return err
		}
		if len(steps) != len(offsets) {
			return fmt.Errorf("the standard policy has %d steps; the bench expects %d", len(steps), len(offsets))
		}
		for i, s := range steps {
			s["anchor"], s["offset"] = "issue", offsets[i]
		}
		p["steps"] = steps
		delete(p, "builtin")
		delete(p, "calendar")
		delete(p, "contact_cap")
		p["name"], p["version"] = name, 0
		p["final_notice_deadline"], p["dispute_deadline"], p["promise_grace"] = "3s", "2s", "1s"
		if _, err := b.call(ctx, "POST", "/v1/policies", p, 201); err != nil {
			return err
		}
	}
	_, err = b.call(ctx, "POST", "/v1/customers", map[string]string{"id": "bench", "name": "Bench Ltd", "email": "ap@bench.test",
		"phone": "+4930123456", "timezone": "UTC", "account_manager": "am@bench.test"}, 201)
	return err
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// newInvoice creates an invoice through the API (which starts its
// workflow) and returns its id.
func (b *bench) newInvoice(ctx context.Context, customer, pol string, issued time.Time) (string, error) {
	return b.postInvoice(ctx, fmt.Sprintf("B-%d", b.seq.Add(1)), customer, pol, issued, 201)
}

// postInvoice posts the invoice numbered number; want is the status
// expected (201 created, or 200 when it may exist already).
func (b *bench) postInvoice(ctx context.Context, number, customer, pol string, issued time.Time, want int) (string, error) {
	out, err := b.call(ctx, "POST", "/v1/invoices", map[string]string{"number": number, "customer_id": customer,
		"amount": "1000.00", "currency": "EUR", "issued_at": rfc3339(issued), "due_at": rfc3339(issued.Add(30 * 24 * time.Hour)), "policy": pol}, want)
	if err != nil {
		return "", err
	}
	id, _ := out["id"].(string)
	if id == "" {
		return "", fmt.Errorf("invoice created without an id: %v", out)
	}
	return id, nil
}

// startBare starts a bare workflow and returns its id.
func (b *bench) startBare(ctx context.Context, wf any, args ...any) (string, error) {
	id := fmt.Sprintf("bare-%d", b.seq.Add(1))
	_, err := b.s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: bareQueue}, wf, args...)
	return id, err
}

// parallel runs f(i) for i in [0, n) on the bench's concurrency and
// returns the first error.
func (b *bench) parallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(b.cfg.concurrency, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // stop handing out work
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// ingest: starts a second, bare and ours alternating round by round.
func (b *bench) ingest(ctx context.Context) (*IngestResult, error) {
	r := &IngestResult{Concurrency: b.cfg.concurrency, PerRound: b.cfg.ingestN}
	rate := func(f func(i int) error) (float64, error) {
		t := time.Now()
		if err := b.parallel(b.cfg.ingestN, f); err != nil {
			return 0, err
		}
		return float64(b.cfg.ingestN) / time.Since(t).Seconds(), nil
	}
	for range b.cfg.rounds {
		// Each side starts on a quiet process: the work a start leaves
		// behind (the workflows' first tasks, visibility records) is not
		// charged to the side that follows.
		quiesce()
		bare, err := rate(func(int) error { _, err := b.startBare(ctx, BareWait); return err })
		if err != nil {
			return nil, err
		}
		quiesce()
		ours, err := rate(func(int) error { _, err := b.newInvoice(ctx, "bench", "bench-sleep", time.Now()); return err })
		if err != nil {
			return nil, err
		}
		r.Bare, r.Ours = append(r.Bare, bare), append(r.Ours, ours)
		fmt.Fprintf(os.Stderr, "bench:   bare %.1f/s, ours %.1f/s\n", bare, ours)
	}
	return r, nil
}

// postPayment sends the signed payment webhook paying the invoice in full.
func (b *bench) postPayment(ctx context.Context, invoiceID string) error {
	raw, _ := json.Marshal(map[string]string{"event_id": "evt-" + invoiceID, "type": "payment.succeeded", "invoice_id": invoiceID,
		"amount": "1000.00", "currency": "EUR", "reference": "ch-" + invoiceID})
	req, err := http.NewRequestWithContext(ctx, "POST", b.s.APIURL+"/webhooks/payments", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(paymentsSecret))
	mac.Write([]byte(stamp + "."))
	mac.Write(raw)
	req.Header.Set(api.PaymentsTimestampHeader, stamp)
	req.Header.Set(api.PaymentsSignatureHeader, hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	out, err := b.do(req, 200)
	if err == nil && out["status"] != "accepted" {
		err = fmt.Errorf("payment for %s: %v", invoiceID, out)
	}
	return err
}

// waitClosed waits for a workflow to complete.
func (b *bench) waitClosed(ctx context.Context, workflowID string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return b.s.Client.GetWorkflow(ctx, workflowID, "").Get(ctx, nil)
}

// closedAfter waits for a workflow to complete and returns how long after
// t it closed, by the server's close time: a client's long poll for the
// result is sometimes told late (up to its 20 s expiry), which is not the
// workflow's reaction.
func (b *bench) closedAfter(ctx context.Context, workflowID string, t time.Time) (time.Duration, error) {
	if err := b.waitClosed(ctx, workflowID); err != nil {
		return 0, err
	}
	d, err := b.s.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return 0, err
	}
	return d.GetWorkflowExecutionInfo().GetCloseTime().AsTime().Sub(t), nil
}

// reaction: from the payment to the workflow closed, one at a time, bare
// and ours alternating.
func (b *bench) reaction(ctx context.Context) (*ReactionResult, error) {
	n := b.cfg.reactionN
	bare, ours := make([]string, n), make([]string, n)
	if err := b.parallel(n, func(i int) (err error) {
		if bare[i], err = b.startBare(ctx, BareWait); err != nil {
			return err
		}
		ours[i], err = b.newInvoice(ctx, "bench", "bench-sleep", time.Now())
		return err
	}); err != nil {
		return nil, err
	}
	quiesce() // every workflow asleep before the clock starts
	r := &ReactionResult{}
	for i := range n {
		t := time.Now()
		if err := b.s.Client.SignalWorkflow(ctx, bare[i], "", "pay", nil); err != nil {
			return nil, err
		}
		d, err := b.closedAfter(ctx, bare[i], t)
		if err != nil {
			return nil, err
		}
		r.Bare = append(r.Bare, d)
		t = time.Now()
		if err := b.postPayment(ctx, ours[i]); err != nil {
			return nil, err
		}
		if d, err = b.closedAfter(ctx, "invoice:"+ours[i], t); err != nil {
			return nil, err
		}
		r.Ours = append(r.Ours, d)
	}
	return r, nil
}

// punctuality: n reminders due inside one window, bare first, then ours in
// the next window. Every workflow is started before the first is due.
func (b *bench) punctuality(ctx context.Context, n int, ingest *IngestResult) (PunctualityResult, error) {
	window := b.cfg.window
	if window == 0 {
		window = max(30*time.Second, time.Duration(n)*15*time.Minute/10000)
	}
	r := PunctualityResult{N: n, Window: window}
	// Time to start them all: 2n starts at the ingest rate measured (or a
	// cautious 20 a second), with half as much again to spare.
	rate := 20.0
	if ingest != nil {
		rate = max(1, Median(ingest.Ours))
	}
	lead := time.Duration(float64(2*n)/rate*1.5*float64(time.Second)) + 20*time.Second
	bareStart := time.Now().Add(lead).Truncate(time.Second)
	oursStart := bareStart.Add(window + 10*time.Second)
	due := func(start time.Time, i int) time.Time {
		return start.Add(time.Duration(i) * window / time.Duration(n)).Truncate(time.Second)
	}
	customer := fmt.Sprintf("punctual-%d", n)
	if _, err := b.call(ctx, "POST", "/v1/customers", map[string]string{"id": customer, "name": "Punctual", "email": "ap@punctual.test", "timezone": "UTC"}, 201); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "bench:   N=%d: starting %d workflows; bare due from %s, ours from %s, each over %s\n",
		n, 2*n, bareStart.Format(time.TimeOnly), oursStart.Format(time.TimeOnly), window)
	b.provider.take()
	if err := b.parallel(n, func(i int) error {
		if _, err := b.startBare(ctx, BareRemind, due(bareStart, i)); err != nil {
			return err
		}
		// The first message is due an hour after issue.
		_, err := b.newInvoice(ctx, customer, "bench-punctual", due(oursStart, i).Add(-time.Hour))
		return err
	}); err != nil {
		return r, err
	}
	if late := time.Since(bareStart); late > 0 {
		return r, fmt.Errorf("starting the workflows took %s longer than the %s allowed; lower N or widen -window", late.Round(time.Second), lead)
	}
	end := oursStart.Add(window)
	deadline := end.Add(2 * time.Minute)
	var sent []db.Message
	for {
		bareDone := b.provider.count()
		var err error
		sent = sent[:0]
		if err = b.s.DB.NewSelect().Model(&sent).Column("scheduled_at", "sent_at").
			Where("customer_id = ? AND step = 'notify' AND status = ?", customer, db.MessageSent).Scan(ctx); err != nil {
			return r, err
		}
		if (len(sent) >= n && bareDone >= n) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	r.Bare = b.provider.take()
	for _, m := range sent {
		r.Ours = append(r.Ours, m.SentAt.Sub(m.ScheduledAt))
	}
	r.BareMissed, r.OursMissed = n-len(r.Bare), n-len(r.Ours)
	return r, nil
}

// capacity: what n open, sleeping workflows add to the process and the
// databases, bare first, then ours. The starts run on the bench's
// concurrency (that many goroutines, whatever n), with progress on stderr
// every 10 seconds; a start that fails is tried again (same workflow id,
// same invoice number, so never twice) up to three times before the run
// gives up, and the retries are counted.
func (b *bench) capacity(ctx context.Context) (*CapacityResult, error) {
	n := b.cfg.capacityN
	r := &CapacityResult{N: n}
	measure := func(side string, start func(i, attempt int) error) (CapacitySample, error) {
		quiesce()
		before, err := b.footprint(ctx)
		if err != nil {
			return CapacitySample{}, err
		}
		var done, retries atomic.Int64
		stopProgress := progress(side, n, &done, &retries)
		t := time.Now()
		err = b.parallel(n, func(i int) error {
			for attempt := 1; ; attempt++ {
				err := start(i, attempt)
				if err == nil {
					done.Add(1)
					return nil
				}
				if attempt == 3 || ctx.Err() != nil {
					return err
				}
				retries.Add(1)
				fmt.Fprintf(os.Stderr, "bench:   capacity %s: start %d failed (%v); again in %ds\n", side, i, err, attempt)
				time.Sleep(time.Duration(attempt) * time.Second)
			}
		})
		took := time.Since(t)
		stopProgress()
		if err != nil {
			return CapacitySample{}, err
		}
		time.Sleep(b.cfg.settle)
		quiesce()
		after, err := b.footprint(ctx)
		if err != nil {
			return CapacitySample{}, err
		}
		return CapacitySample{RSS: after.RSS - before.RSS, Heap: after.Heap - before.Heap,
			TemporalDB: after.TemporalDB - before.TemporalDB, TemporalVisibility: after.TemporalVisibility - before.TemporalVisibility,
			AppDB: after.AppDB - before.AppDB, Took: took,
			Retries: int(retries.Load())}, nil
	}
	r.StickyCache = cmp.Or(b.cfg.tuning.stickyCache, 10000) // the SDK's default
	if b.temporalSize != nil {
		r.TemporalMeasure = "pg_database_size of " + strings.Join(b.temporalSize.names, " and ")
	} else {
		r.TemporalMeasure = "the SQLite file with its WAL"
	}
	if b.cfg.appDB != "" {
		r.AppMeasure = "pg_database_size"
	} else {
		r.AppMeasure = "the SQLite file, checkpointed"
	}
	run := b.seq.Add(1) // ids and numbers unique to this capacity run
	var err error
	if r.Bare, err = measure("bare", func(i, attempt int) error {
		_, err := b.s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bare-cap-%d-%d", run, i), TaskQueue: bareQueue}, BareWait)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if attempt > 1 && errors.As(err, &started) {
			return nil // an earlier attempt started it after all
		}
		return err
	}); err != nil {
		return nil, err
	}
	if r.Ours, err = measure("ours", func(i, attempt int) error {
		want := 201
		if attempt > 1 {
			want = 0 // 201, or 200: an earlier attempt created it after all
		}
		_, err := b.postInvoice(ctx, fmt.Sprintf("CAP-%d-%d", run, i), "bench", "bench-sleep", time.Now(), want)
		return err
	}); err != nil {
		return nil, err
	}
	return r, nil
}

// progress prints, every 10 seconds until stopped, how many of n starts
// are done, at what rate, and when the rest should be.
func progress(side string, n int, done, retries *atomic.Int64) (stop func()) {
	t0 := time.Now()
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				d, el := done.Load(), time.Since(t0)
				rate := float64(d) / el.Seconds()
				eta := "–"
				if rate > 0 {
					eta = (time.Duration(float64(int64(n)-d)/rate) * time.Second).Round(time.Second).String()
				}
				fmt.Fprintf(os.Stderr, "bench:   capacity %s: %d/%d started in %s, %.1f/s, %s to go (%d retried)\n",
					side, d, n, el.Round(time.Second), rate, eta, retries.Load())
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// footprint reads the process's memory (after a collection) and the sizes
// of both databases: SQLite files (the application's checkpointed first),
// or on PostgreSQL pg_database_size.
func (b *bench) footprint(ctx context.Context) (CapacitySample, error) {
	runtime.GC()
	runtime.GC()
	var s CapacitySample
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	s.Heap = int64(sample[0].Value.Uint64())
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			s.RSS = kb << 10
		}
	}
	if b.temporalSize != nil {
		if s.TemporalDB, s.TemporalVisibility, err = b.temporalSize.size(ctx); err != nil {
			return s, err
		}
	} else {
		s.TemporalDB = fileSizes(filepath.Join(b.dir, "temporal.db"))
	}
	if b.cfg.appDB != "" {
		if err := b.s.DB.QueryRowContext(ctx, "SELECT pg_database_size(current_database())").Scan(&s.AppDB); err != nil {
			return s, err
		}
	} else {
		if _, err := b.s.DB.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return s, err
		}
		s.AppDB = fileSizes(filepath.Join(b.dir, "collections.db"))
	}
	return s, nil
}

// fileSizes is the size of a SQLite file with its WAL.
func fileSizes(path string) int64 {
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	return total
}

// history counts the events and bytes of a workflow's history and keeps
// what the billable actions are counted from.
func (b *bench) history(ctx context.Context, workflowID string) (events, size int, kinds map[string]int, hist []HistoryEvent, err error) {
	kinds = map[string]int{}
	it := b.s.Client.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, 0, nil, nil, err
		}
		events++
		size += proto.Size(ev)
		kinds[eventKind(ev.GetEventType())]++
		hist = append(hist, historyEvent(ev))
	}
	return events, size, kinds, hist, nil
}

// eventKind groups history event types by what they record.
func eventKind(t enums.EventType) string {
	name := strings.TrimPrefix(t.String(), "EventType")
	for _, k := range []struct{ prefix, kind string }{
		{"WorkflowTask", "workflow task"}, {"ActivityTask", "activity"}, {"Timer", "timer"},
		{"MarkerRecorded", "marker"}, {"UpsertWorkflowSearchAttributes", "upsert"},
		{"WorkflowExecutionUpdate", "update"}, {"WorkflowExecutionSignaled", "signal"},
		{"WorkflowExecutionStarted", "start"}, {"WorkflowExecution", "close"},
	} {
		if strings.HasPrefix(name, k.prefix) {
			return k.kind
		}
	}
	return name
}

// waitStage polls the invoice until it reaches stage.
func (b *bench) waitStage(ctx context.Context, id, stage string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		inv, err := b.call(ctx, "GET", "/v1/invoices/"+id, nil, 200)
		if err != nil {
			return err
		}
		if inv["stage"] == stage {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("invoice %s did not reach stage %s", id, stage)
}

// cost: the history each path leaves, on the compressed policies.
func (b *bench) cost(ctx context.Context) ([]CostResult, error) {
	var out []CostResult
	add := func(path, workflowID string) error {
		if err := b.waitClosed(ctx, workflowID); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		ev, size, kinds, hist, err := b.history(ctx, workflowID)
		if err != nil {
			return err
		}
		actions, _ := Actions(hist)
		out = append(out, CostResult{Path: path, Events: ev, Bytes: size, Kinds: kinds, Actions: actions, History: hist})
		return nil
	}
	bare, err := b.startBare(ctx, BareWait)
	if err != nil {
		return nil, err
	}
	if err := b.s.Client.SignalWorkflow(ctx, bare, "", "pay", nil); err != nil {
		return nil, err
	}
	if err := add("bare: started → signalled → completed", bare); err != nil {
		return nil, err
	}
	bareRemind, err := b.startBare(ctx, BareRemind, time.Now().Add(time.Second))
	if err != nil {
		return nil, err
	}
	if err := add("bare: timer → one activity → completed", bareRemind); err != nil {
		return nil, err
	}
	b.provider.take()

	id, err := b.newInvoice(ctx, "bench", "bench-sleep", time.Now())
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second)
	if err := b.postPayment(ctx, id); err != nil {
		return nil, err
	}
	if err := add("issued → paid", "invoice:"+id); err != nil {
		return nil, err
	}

	if id, err = b.newInvoice(ctx, "bench", "bench-remind", time.Now()); err != nil {
		return nil, err
	}
	if err := b.waitStage(ctx, id, "reminded"); err != nil {
		return nil, err
	}
	if err := b.postPayment(ctx, id); err != nil {
		return nil, err
	}
	if err := add("issued → reminded → paid", "invoice:"+id); err != nil {
		return nil, err
	}

	if id, err = b.newInvoice(ctx, "bench", "bench-fast", time.Now()); err != nil {
		return nil, err
	}
	if err := b.waitStage(ctx, id, "agency"); err != nil {
		return nil, err
	}
	if _, err := b.call(ctx, "POST", "/v1/invoices/"+id+"/agency-outcome", map[string]string{"outcome": "collected", "reference": "ag-1"}, 202); err != nil {
		return nil, err
	}
	if err := add("unpaid: every reminder → escalation → agency → collected", "invoice:"+id); err != nil {
		return nil, err
	}
	return out, nil
}

// quiesce waits (up to a minute) until the process has used less than a
// tenth of a core over half a second: the work earlier steps left behind
// is done.
func quiesce() {
	deadline := time.Now().Add(time.Minute)
	prev := cpuTime()
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		now := cpuTime()
		if now-prev < 50*time.Millisecond {
			return
		}
		prev = now
	}
}

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name (in parentheses, which may hold
	// spaces): utime and stime are the 12th and 13th of them, in clock
	// ticks (100 a second on Linux).
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
