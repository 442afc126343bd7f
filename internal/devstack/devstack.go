// Package devstack is the whole product in one process, as `collections dev`
// runs it: an embedded Temporal server and Web UI, the worker, the HTTP API
// and the application database, all kept under one data directory so that
// invoices and their timers survive a restart.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devserver"
	"github.com/collections-engine/collections/workflows"
)

// Options configure the dev stack.
type Options struct {
	DataDir      string // holds temporal.db and collections.db (and the API key)
	HTTPAddr     string // the API
	TemporalAddr string // the embedded server's gRPC frontend
	UIAddr       string // the Web UI; empty for none
	// DatabaseURL, when set, is used instead of the SQLite file in DataDir.
	DatabaseURL string
	// TemporalPostgres, when set, keeps the embedded Temporal server's state
	// in PostgreSQL instead of DataDir/temporal.db (see devserver.Postgres).
	TemporalPostgres *devserver.Postgres
	Namespace        string
	// PoliciesDir holds policy documents to load at start (optional).
	PoliciesDir string
	Messages    app.MessageConfig
	Webhooks    api.WebhookConfig
	// RateLimit is requests a second per API key (0: the API's default).
	RateLimit float64
	// APIKey is the admin key to accept (COLLECTIONS_API_KEY); empty: one is
	// created on first start and kept in DataDir/api-key.
	APIKey string
	// WebhookRetry paces outbound webhook deliveries (zero: the defaults).
	WebhookRetry workflows.DeliveryRetry
	// Codec, when set, encrypts every payload the stack writes to Temporal;
	// the API serves it at /codec, and the Web UI decodes through it.
	Codec converter.PayloadCodec
	// CodecCORSOrigins are more browser origins allowed to call /codec
	// (the embedded Web UI's own origin always is).
	CodecCORSOrigins []string
	// Tracer traces the API, the client and the worker; nil: from the
	// environment (OTEL_EXPORTER_OTLP_ENDPOINT), off without it.
	Tracer trace.TracerProvider
	// NoWorker leaves the worker out: tests that run workers of their own
	// against the stack's Temporal (several at once, stopped at will).
	NoWorker bool
	// CreditBounds decide credit applications without a person (nil: the
	// defaults, credit.DefaultBounds).
	CreditBounds *credit.Bounds
	// Worker tunes the worker (pollers, concurrency); WorkerStopTimeout
	// defaults to 10s, the pollers to DefaultPollers.
	Worker sdkworker.Options
	// Server tunes the embedded Temporal server (zero: its defaults).
	Server devserver.Tuning
	Log    *slog.Logger
}

// DefaultPollers is the dev worker's workflow and activity task pollers
// each, unless Options.Worker sets them.
const DefaultPollers = 8

// Stack is a running dev stack.
type Stack struct {
	APIURL       string // e.g. http://127.0.0.1:8080
	APIKey       string // the admin key
	UIURL        string // empty without a UI
	TemporalAddr string
	DatabaseDSN  string
	Client       client.Client
	DB           *bun.DB

	server    *devserver.Server
	telemetry *app.Telemetry
	worker    sdkworker.Worker
	stopAPI   context.CancelFunc
	apiDone   chan struct{} // closed when the API server has returned
	apiErr    error
	log       *slog.Logger
}

// Start brings the stack up and returns once the API accepts requests.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &Stack{TemporalAddr: o.TemporalAddr, log: o.Log}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if o.TemporalPostgres != nil {
		db, vis, err := devserver.PostgresDatabases(o.TemporalPostgres.URL)
		if err != nil {
			return nil, err
		}
		o.Log.Info("starting embedded Temporal server", "address", o.TemporalAddr, "postgres", db+", "+vis)
	} else {
		o.Log.Info("starting embedded Temporal server", "address", o.TemporalAddr, "data_dir", o.DataDir)
	}
	var uiCodec string
	if o.Codec != nil && o.UIAddr != "" {
		uiCodec = browserURL(o.HTTPAddr) + "/codec"
	}
	s.server, err = devserver.Start(devserver.Options{
		DatabaseFile:     filepath.Join(o.DataDir, "temporal.db"),
		Postgres:         o.TemporalPostgres,
		FrontendAddr:     o.TemporalAddr,
		UIAddr:           o.UIAddr,
		UICodecEndpoint:  uiCodec,
		Namespace:        o.Namespace,
		SearchAttributes: workflows.SearchAttributes,
		Log:              o.Log,
		Tuning:           o.Server,
	})
	if err != nil {
		return nil, err
	}
	if o.UIAddr != "" {
		s.UIURL = "http://" + o.UIAddr
	}
	if s.telemetry, err = app.NewTelemetry(ctx, o.Tracer, o.Log); err != nil {
		return nil, err
	}
	tc, err := s.telemetry.Temporal(app.TemporalConfig{Address: o.TemporalAddr, Namespace: o.Namespace, Codec: o.Codec})
	if err != nil {
		return nil, err
	}
	s.Client, err = app.DialTemporal(ctx, tc, o.Log)
	if err != nil {
		return nil, err
	}
	s.DatabaseDSN = o.DatabaseURL
	if s.DatabaseDSN == "" {
		s.DatabaseDSN = filepath.Join(o.DataDir, "collections.db")
	}
	s.DB, err = app.OpenDatabase(ctx, s.DatabaseDSN, o.Log)
	if err != nil {
		return nil, err
	}
	store := db.NewStore(s.DB)
	if err := app.LoadPolicies(ctx, store, o.PoliciesDir, o.Log); err != nil {
		return nil, err
	}
	if s.APIKey, err = devKey(ctx, store, o.DataDir, o.APIKey); err != nil {
		return nil, err
	}
	acts, err := app.NewActivities(store, o.Messages, o.Log)
	if err != nil {
		return nil, err
	}
	acts.Dispatch = workflows.Dispatcher(s.Client, o.WebhookRetry)
	acts.Metrics = s.telemetry.Metrics
	if !o.NoWorker {
		wo := o.Worker
		if wo.WorkerStopTimeout == 0 {
			wo.WorkerStopTimeout = 10 * time.Second
		}
		// Eight pollers rather than the SDK's two: reminders falling due
		// together reach the worker without queueing behind two polls
		// (punctuality p99 halved in the bench, docs/benchmarks.md).
		if wo.MaxConcurrentWorkflowTaskPollers == 0 {
			wo.MaxConcurrentWorkflowTaskPollers = DefaultPollers
		}
		if wo.MaxConcurrentActivityTaskPollers == 0 {
			wo.MaxConcurrentActivityTaskPollers = DefaultPollers
		}
		s.worker, err = app.StartWorker(ctx, s.Client, o.Namespace, acts, o.Log, wo)
		if err != nil {
			return nil, err
		}
	}
	apiCtx, cancel := context.WithCancel(context.Background())
	s.stopAPI = cancel
	s.apiDone = make(chan struct{})
	ready := make(chan net.Addr, 1)
	srv := &api.Server{Store: store, Temporal: s.Client, Log: o.Log, Previewer: activities.Previewer{Activities: acts}, Webhooks: o.Webhooks, RateLimit: o.RateLimit,
		Codec: o.Codec, CodecCORSOrigins: o.CodecCORSOrigins, CreditBounds: o.CreditBounds,
		Namespace: o.Namespace}
	if o.UIAddr != "" {
		srv.TemporalUIURL = browserURL(o.UIAddr) // the collectors' page links each invoice's workflow there
	}
	if o.Codec != nil && o.UIAddr != "" {
		// The embedded UI has no login, so no API key to send: its origin
		// may use /codec without one.
		srv.CodecUIOrigin = browserURL(o.UIAddr)
		srv.CodecCORSOrigins = append([]string{srv.CodecUIOrigin}, o.CodecCORSOrigins...)
	}
	if err := s.telemetry.API(srv, store, o.Log); err != nil {
		return nil, err
	}
	go func() {
		defer close(s.apiDone)
		s.apiErr = app.ServeAPI(apiCtx, o.HTTPAddr, srv, 10*time.Second, func(a net.Addr) { ready <- a })
	}()
	select {
	case addr := <-ready:
		s.APIURL = "http://" + addr.String()
	case <-s.apiDone:
		return nil, s.apiErr
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("HTTP API did not start on %s", o.HTTPAddr)
	}
	return s, nil
}

// browserURL is the http URL a browser on this machine reaches addr at
// (a wildcard host is reached on the loopback address).
func browserURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Done is closed when the API server stops; Err then says why.
func (s *Stack) Done() <-chan struct{} { return s.apiDone }

// Err is the API server's error once Done is closed (nil after Stop).
func (s *Stack) Err() error { return s.apiErr }

// Stop shuts everything down in reverse order: the API finishes in-flight
// requests, the worker drains, then the server and the database close.
func (s *Stack) Stop() {
	if s.stopAPI != nil {
		s.stopAPI()
		<-s.apiDone
		if s.apiErr != nil {
			s.log.Warn("HTTP API stopped with an error", "error", s.apiErr)
		}
		s.stopAPI = nil
	}
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
	if s.Client != nil {
		s.Client.Close()
		s.Client = nil
	}
	if s.telemetry != nil {
		if err := s.telemetry.Close(context.Background()); err != nil {
			s.log.Warn("telemetry not flushed", "error", err)
		}
		s.telemetry = nil
	}
	if s.server != nil {
		s.server.Stop()
		s.server = nil
	}
	if s.DB != nil {
		_ = s.DB.Close()
		s.DB = nil
	}
}

// devKey makes sure the dev stack has an admin API key and returns it: the
// one given (stored on first use), or the one kept in dataDir/api-key,
// created on first start.
func devKey(ctx context.Context, store *db.Store, dataDir, given string) (string, error) {
	now := time.Now().UTC()
	ensure := func(secret string) error {
		if _, err := store.APIKeyByHash(ctx, api.HashKey(secret)); err == nil {
			return nil
		} else if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		return store.InsertAPIKey(ctx, api.KeyRecord(secret, "dev admin", db.RoleAdmin, now))
	}
	if given != "" {
		return given, ensure(given)
	}
	path := filepath.Join(dataDir, "api-key")
	if raw, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(raw))
		return secret, ensure(secret)
	}
	secret, rec, err := api.NewKey("dev admin", db.RoleAdmin, now)
	if err != nil {
		return "", err
	}
	if err := store.InsertAPIKey(ctx, rec); err != nil {
		return "", err
	}
	return secret, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}
