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
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devserver"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/workflows"
)

// Options configure the dev stack: the settings of every process
// (app.Config; HTTPAddr, the API's, is required) and the embedded server's.
type Options struct {
	// Config is what app.Build makes the worker and the API from. Its
	// DatabaseURL defaults to the SQLite file DataDir/collections.db, its
	// Temporal address is TemporalAddr, and its ShutdownTimeout defaults to
	// 10s.
	app.Config
	DataDir      string // holds temporal.db and collections.db (and the API key)
	TemporalAddr string // the embedded server's gRPC frontend
	UIAddr       string // the Web UI; empty for none
	// TemporalPostgres, when set, keeps the embedded Temporal server's state
	// in PostgreSQL instead of DataDir/temporal.db (see devserver.Postgres).
	TemporalPostgres *devserver.Postgres
	// APIKey is the admin key to accept (COLLECTIONS_API_KEY); empty: one is
	// created on first start and kept in DataDir/api-key.
	APIKey string
	// NoWorker leaves the worker out: tests that run workers of their own
	// against the stack's Temporal (several at once, stopped at will).
	NoWorker bool
	// Server tunes the embedded Temporal server (zero: its defaults).
	Server devserver.Tuning
}

// DefaultPollers is the worker's workflow and activity task pollers each,
// as in every process (app.DefaultPollers).
const DefaultPollers = app.DefaultPollers

// Stack is a running dev stack.
type Stack struct {
	APIURL       string // e.g. http://127.0.0.1:8080
	APIKey       string // the admin key
	UIURL        string // empty without a UI
	TemporalAddr string
	DatabaseDSN  string
	Client       client.Client
	DB           *bun.DB

	server  *devserver.Server
	app     *app.App
	worker  sdkworker.Worker
	stopAPI context.CancelFunc
	apiDone chan struct{} // closed when the API server has returned
	apiErr  error
	log     *slog.Logger
}

// Start brings the stack up and returns once the API accepts requests.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Temporal.Namespace == "" {
		o.Temporal.Namespace = "default"
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
		Namespace:        o.Temporal.Namespace,
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
	cfg := o.config()
	if cfg.Portal, err = devPortal(cfg.Portal, cfg.Checkout != nil, o.DataDir, browserURL(o.HTTPAddr)); err != nil {
		return nil, err
	}
	s.app, err = app.Build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.Client, s.DB, s.DatabaseDSN = s.app.Temporal, s.app.DB, s.app.Config.DatabaseURL
	if s.APIKey, err = devKey(ctx, s.app.Store, o.DataDir, o.APIKey); err != nil {
		return nil, err
	}
	if !o.NoWorker {
		if s.worker, err = s.app.StartWorker(ctx); err != nil {
			return nil, err
		}
		// An invoice stored just before a crash, whose start was never
		// confirmed, gets its workflow now (the worker command sweeps
		// periodically too).
		if _, err := s.app.Cases.StartMissingWorkflows(ctx); err != nil {
			s.app.Config.Log.Warn("sweep for invoices without a workflow failed", "error", err)
		}
	}
	apiCtx, cancel := context.WithCancel(context.Background())
	s.stopAPI = cancel
	s.apiDone = make(chan struct{})
	ready := make(chan net.Addr, 1)
	go func() {
		defer close(s.apiDone)
		s.apiErr = s.app.ServeAPI(apiCtx, func(a net.Addr) { ready <- a })
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

// config is the processes' configuration in the stack: the embedded
// server's address, the data dir's database, and the embedded Web UI
// linked from the collectors' page and allowed to decode payloads.
func (o Options) config() app.Config {
	cfg := o.Config
	cfg.Temporal.Address = o.TemporalAddr
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = filepath.Join(o.DataDir, "collections.db")
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if o.UIAddr != "" {
		cfg.TemporalUIURL = browserURL(o.UIAddr) // the collectors' page links each invoice's workflow there
		if o.Codec != nil {
			// The embedded UI has no login, so no API key to send: its
			// origin may use /codec without one.
			cfg.CodecUIOrigin = browserURL(o.UIAddr)
			cfg.CodecCORSOrigins = append([]string{cfg.CodecUIOrigin}, o.CodecCORSOrigins...)
		}
	}
	return cfg
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
// requests, the worker drains, then the client, the database and the
// server close.
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
	if s.app != nil {
		if err := s.app.Close(); err != nil {
			s.log.Warn("closing the database", "error", err)
		}
		s.app, s.Client, s.DB = nil, nil, nil
	}
	if s.server != nil {
		s.server.Stop()
		s.server = nil
	}
}

// devPortal fills in the customer portal's settings for dev: the link key
// given, else the one kept in dataDir/portal-link-key (created on first
// start, so links in the outbox survive a restart); the API's own address
// as the portal's base URL; and, without a checkout, the test payment page.
func devPortal(pc app.PortalConfig, checkout bool, dataDir, apiURL string) (app.PortalConfig, error) {
	if pc.BaseURL == "" {
		pc.BaseURL = apiURL + "/portal"
	}
	pc.TestPayments = !checkout
	if len(pc.Keys) > 0 {
		return pc, nil
	}
	path := filepath.Join(dataDir, "portal-link-key")
	if raw, err := os.ReadFile(path); err == nil {
		keys, err := portallink.ParseKeys(strings.TrimSpace(string(raw)))
		if err != nil {
			return pc, fmt.Errorf("%s: %w", path, err)
		}
		pc.Keys = keys
		return pc, nil
	}
	k, err := portallink.NewKey("dev")
	if err != nil {
		return pc, err
	}
	pc.Keys = []portallink.Key{k}
	return pc, os.WriteFile(path, []byte(k.String()+"\n"), 0o600)
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
