package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/portal"
	"github.com/collections-engine/collections/workflows"
)

// App is a process of the engine built from a Config: what the API and the
// worker share, the HTTP API, and the worker once started. One process may
// serve the API, run the worker, or both (dev).
type App struct {
	Config     Config
	DB         *bun.DB
	Store      *db.Store
	Temporal   client.Client
	Telemetry  *Telemetry
	Activities *activities.Activities
	// Cases are the business actions, which every front door calls.
	Cases *collect.Service
	// API is the HTTP API, served by ServeAPI.
	API *api.Server
}

// Build makes the process cfg describes: telemetry, the migrated database
// (with the policies of cfg.PoliciesDir stored), the Temporal client with
// the payload codec's converters, the message senders and the activities,
// and the HTTP API. Nothing listens or polls until ServeAPI, RunWorker or
// StartWorker. Close it when done.
func Build(ctx context.Context, cfg Config) (_ *App, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Temporal.Namespace == "" {
		cfg.Temporal.Namespace = "default"
	}
	a := &App{Config: cfg}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	log := cfg.Log
	if a.Telemetry, err = NewTelemetry(ctx, cfg.Tracer, log); err != nil {
		return nil, err
	}
	if a.DB, err = OpenDatabase(ctx, cfg.DatabaseURL, log); err != nil {
		return nil, err
	}
	a.Store = db.NewStore(a.DB)
	if err := LoadPolicies(ctx, a.Store, cfg.PoliciesDir, log); err != nil {
		return nil, err
	}
	tc := cfg.Temporal
	tc.Codec = cfg.Codec
	if tc, err = a.Telemetry.Temporal(tc); err != nil {
		return nil, err
	}
	if a.Temporal, err = DialTemporal(ctx, tc, log); err != nil {
		return nil, err
	}
	if a.Activities, err = NewActivities(a.Store, cfg.Messages, log); err != nil {
		return nil, err
	}
	a.Activities.Dispatch = workflows.Dispatcher(a.Temporal, cfg.WebhookRetry)
	a.Activities.Metrics = a.Telemetry.Metrics
	links, err := portalLinks(cfg.Portal)
	if err != nil {
		return nil, err
	}
	if links != nil && cfg.Messages.PaymentLink == "" {
		// Every message links to its customer's portal; an explicit
		// PAYMENT_LINK_TEMPLATE stays the override.
		a.Activities.PaymentLink, a.Activities.Portal = "", links
	}
	a.Cases = &collect.Service{
		Store: a.Store, Workflows: &workflows.Client{Temporal: a.Temporal, HideAmounts: cfg.Codec != nil},
		CreditBounds: cfg.CreditBounds, Log: log, Portal: links, PromiseHorizon: cfg.Portal.PromiseHorizon,
	}
	a.API = &api.Server{
		Cases: a.Cases, Store: a.Store, Temporal: a.Temporal, Log: log,
		Previewer: activities.Previewer{Activities: a.Activities}, Webhooks: cfg.Webhooks, RateLimit: cfg.RateLimit,
		Codec: cfg.Codec, CodecCORSOrigins: cfg.CodecCORSOrigins, CodecUIOrigin: cfg.CodecUIOrigin,
		CreditBounds: cfg.CreditBounds, Metrics: a.Telemetry.Metrics, Tracer: a.Telemetry.Tracer,
		TemporalUIURL: cfg.TemporalUIURL, Namespace: cfg.Temporal.Namespace, SessionSecret: cfg.SessionSecret,
	}
	if links != nil {
		a.API.Portal = &portal.Config{Checkout: cfg.Checkout, TestPayments: cfg.Portal.TestPayments,
			RateLimit: cfg.Portal.RateLimit, Seller: cfg.Messages.Sender}
		log.Info("customer portal", "base_url", links.BaseURL, "keys", strings.Join(links.Signer.KeyIDs(), ","),
			"link_ttl", links.Signer.Lifetime(), "checkout", cfg.Checkout != nil, "test_payments", cfg.Checkout == nil && cfg.Portal.TestPayments,
			"payment_link_override", cfg.Messages.PaymentLink != "")
	}
	return a, nil
}

// portalLinks makes the portal's link signer from its settings; nil
// without keys (no portal).
func portalLinks(pc PortalConfig) (*portallink.Links, error) {
	if len(pc.Keys) == 0 {
		return nil, nil
	}
	signer, err := portallink.NewSigner(pc.Keys, pc.LinkTTL)
	if err != nil {
		return nil, fmt.Errorf("PORTAL_LINK_KEYS: %w", err)
	}
	if pc.BaseURL == "" {
		return nil, errors.New("PORTAL_BASE_URL: required with PORTAL_LINK_KEYS: the portal's public address, e.g. https://pay.example.com/portal")
	}
	return &portallink.Links{Signer: signer, BaseURL: strings.TrimRight(pc.BaseURL, "/")}, nil
}

// ServeAPI serves the HTTP API on Config.HTTPAddr, with the invoices-by-stage
// gauge in its metrics, until ctx ends; then it lets in-flight requests
// finish for up to Config.ShutdownTimeout. ready, if not nil, is called once
// it listens. Call it once.
func (a *App) ServeAPI(ctx context.Context, ready func(net.Addr)) error {
	if err := a.Telemetry.Metrics.WatchInvoices(a.Store.InvoicesByStage, a.Config.Log); err != nil {
		return err
	}
	return ServeAPI(ctx, a.Config.HTTPAddr, a.API, a.Config.shutdownTimeout(), ready)
}

// StartWorker registers the search attributes and starts the worker with
// the configured options (Config.WorkerPollers pollers each, stop timeout
// Config.ShutdownTimeout); stop it with its Stop method.
func (a *App) StartWorker(ctx context.Context) (sdkworker.Worker, error) {
	return StartWorker(ctx, a.Temporal, a.Config.Temporal.Namespace, a.Activities, a.Config.Log, a.Config.workerOptions())
}

// RunWorker runs the worker until ctx ends, then stops polling and lets
// running activities finish for up to Config.ShutdownTimeout (one cut off
// is retried by another worker; every send is idempotent). With
// Config.MetricsAddr set it serves /metrics and /healthz there meanwhile.
// A fatal worker error (the namespace deleted, the credentials revoked)
// ends it with that error, so that the process exits and its supervisor
// restarts it, instead of living on without polling.
func (a *App) RunWorker(ctx context.Context) error {
	log := a.Config.Log
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if addr := a.Config.MetricsAddr; addr != "" {
		go func() {
			if err := ServeMetrics(ctx, addr, a.Telemetry.Metrics, func(l net.Addr) {
				log.Info("metrics listening", "url", "http://"+l.String()+"/metrics")
			}); err != nil {
				log.Error("metrics server stopped", "error", err)
			}
		}()
	}
	fatal := make(chan error, 1)
	opts := a.Config.workerOptions()
	opts.OnFatalError = func(err error) {
		select {
		case fatal <- err:
		default:
		}
	}
	w, err := StartWorker(ctx, a.Temporal, a.Config.Temporal.Namespace, a.Activities, log, opts)
	if err != nil {
		return err
	}
	log.Info("worker running", "temporal", a.Config.Temporal.Address, "namespace", a.Config.Temporal.Namespace,
		"workflow_pollers", opts.MaxConcurrentWorkflowTaskPollers, "activity_pollers", opts.MaxConcurrentActivityTaskPollers)
	go a.SweepMissingWorkflows(ctx, MissingWorkflowSweep)
	select {
	case <-ctx.Done():
	case err := <-fatal:
		log.Error("worker stopped on a fatal error", "error", err)
		w.Stop()
		return fmt.Errorf("worker: %w", err)
	}
	// Stop polling at once; running activities get the stop timeout to
	// finish, workflow tasks in progress complete or time out to another
	// worker.
	log.Info("worker draining", "timeout", opts.WorkerStopTimeout)
	w.Stop()
	log.Info("worker stopped")
	return nil
}

// MissingWorkflowSweep is how often a worker process looks for open
// invoices whose workflow never started (a creation that stored the row,
// could not confirm the start, and was never retried).
const MissingWorkflowSweep = 10 * time.Minute

// SweepMissingWorkflows starts the workflows of open invoices that have
// none, now and then every interval until ctx ends. Each start is keyed by
// the invoice's workflow id, so workers sweeping at once start nothing twice.
func (a *App) SweepMissingWorkflows(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := a.Cases.StartMissingWorkflows(ctx); err != nil && ctx.Err() == nil {
			a.Config.Log.Warn("sweep for invoices without a workflow failed; it runs again", "in", interval, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close closes the Temporal client, flushes the telemetry and closes the
// database; stop the API and the worker first.
func (a *App) Close() error {
	var errs []error
	if a.Temporal != nil {
		a.Temporal.Close()
		a.Temporal = nil
	}
	if a.Telemetry != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.Telemetry.Close(ctx); err != nil && a.Config.Log != nil {
			a.Config.Log.Warn("telemetry not flushed", "error", err)
		}
		cancel()
		a.Telemetry = nil
	}
	if a.DB != nil {
		errs = append(errs, a.DB.Close())
		a.DB = nil
	}
	return errors.Join(errs...)
}
