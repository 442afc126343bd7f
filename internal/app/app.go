// Package app is the composition root: Config holds every setting a
// process takes, and Build makes the database, the Temporal client, the
// activities, the worker and the HTTP API from it. The commands in
// cmd/collections and internal/devstack only fill in a Config and call
// Build; the functions in this file are its pieces (tests that run workers
// of their own use them too). It never links the embedded server.
package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/internal/logging"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/templates"
	"github.com/collections-engine/collections/worker"
	"github.com/collections-engine/collections/workflows"
)

// TemporalConfig says how to reach Temporal.
type TemporalConfig struct {
	Address       string // host:port of the frontend
	Namespace     string
	TLSCertFile   string // client certificate (mTLS), with TLSKeyFile
	TLSKeyFile    string
	TLSCAFile     string // CA to verify the server; system roots when empty
	TLSServerName string
	TLS           bool   // use TLS even without certificates (Temporal Cloud with an API key)
	APIKey        string // Temporal Cloud API key
	// Codec, when set, encrypts every payload the client writes to Temporal
	// and decrypts what it reads (see package codec); nil stores them in clear.
	Codec converter.PayloadCodec

	// Metrics receives the SDK's metrics and Interceptors see every call
	// (tracing); see Telemetry.Temporal. Both optional.
	Metrics      client.MetricsHandler
	Interceptors []interceptor.ClientInterceptor
}

// OpenDatabase opens the application database and applies migrations.
func OpenDatabase(ctx context.Context, dsn string, log *slog.Logger) (*bun.DB, error) {
	bdb, err := db.Open(dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, bdb, log); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	// Customers from before the stored payment trend get theirs (the worklist ranks by it).
	if err := desk.BackfillTrends(ctx, db.NewStore(bdb)); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("backfill payment trends: %w", err)
	}
	return bdb, nil
}

// DialTemporal connects to Temporal, waiting up to a minute for it to answer.
func DialTemporal(ctx context.Context, cfg TemporalConfig, log *slog.Logger) (client.Client, error) {
	opts := client.Options{
		HostPort:  cfg.Address,
		Namespace: cfg.Namespace,
		Logger:    logging.SDK(log.With("component", "temporal-sdk")),

		MetricsHandler: cfg.Metrics,
		Interceptors:   cfg.Interceptors,
	}
	tlsConf, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts.ConnectionOptions.TLS = tlsConf
	if cfg.Codec != nil {
		opts.DataConverter, opts.FailureConverter = Converters(cfg.Codec)
	}
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.Address, err)
		}
		log.Warn("Temporal not reachable yet; retrying", "address", cfg.Address, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Converters are the data and failure converters of a client whose payloads
// go through codec: the failure converter moves error messages and stack
// traces into the encoded attributes, so that an error quoting customer data
// is encrypted too (the Web UI shows them once decoded through the codec
// endpoint).
func Converters(codec converter.PayloadCodec) (converter.DataConverter, converter.FailureConverter) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec)
	return dc, temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}

func (cfg TemporalConfig) tlsConfig() (*tls.Config, error) {
	if !cfg.TLS && cfg.TLSCertFile == "" && cfg.TLSCAFile == "" && cfg.APIKey == "" {
		return nil, nil
	}
	conf := &tls.Config{ServerName: cfg.TLSServerName, MinVersion: tls.VersionTLS12}
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal TLS client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal TLS CA: no certificates in %s", cfg.TLSCAFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// NewActivities builds the activities with their dependencies. Email goes
// through SendGrid and SMS through Twilio when msg.Channels configures them;
// without them, through the dev outbox, so the product runs offline.
func NewActivities(store *db.Store, msg MessageConfig, log *slog.Logger) (*activities.Activities, error) {
	log = logging.Wrap(log)
	tmpl, err := templates.Load(msg.TemplatesDir)
	if err != nil {
		return nil, err
	}
	if msg.PaymentLink == "" {
		msg.PaymentLink = "https://pay.example.com/invoices/{number}"
	}
	if msg.Sender == "" {
		msg.Sender = "Accounts Receivable"
	}
	senders, choice, err := msg.Channels.Senders(channels.Outbox{Log: log})
	if err != nil {
		return nil, err
	}
	// Agency case files go by email to AGENCY_EMAIL, through the same
	// email sender (the dev outbox without SendGrid keys).
	agency := msg.AgencyEmail
	agencySender := channels.Sender(channels.Outbox{Log: log})
	if agency != "" {
		agencySender = senders[policy.Email]
	}
	choice = append(choice, "agency: "+cmp.Or(agency, "not configured (case files to the outbox)"))
	log.Info("message channels", "channels", strings.Join(choice, "; "))
	return &activities.Activities{
		Store: store, Senders: senders, Templates: tmpl,
		PaymentLink: msg.PaymentLink, Sender: msg.Sender, Log: log,
		Agency: agencySender, AgencyAddress: agency,
	}, nil
}

// StartWorker registers the search attributes and starts the worker; stop
// it with its Stop method. Webhook deliveries the activities queue are sent
// by workflows on the same client. Stop stops polling at once and then waits up to
// opts.WorkerStopTimeout (DefaultShutdownTimeout when zero) for running
// activities to finish before cancelling their contexts; an activity cut
// off is retried by another worker, and every send is idempotent.
func StartWorker(ctx context.Context, c client.Client, namespace string, acts *activities.Activities, log *slog.Logger, opts sdkworker.Options) (sdkworker.Worker, error) {
	if err := worker.EnsureSearchAttributes(ctx, c, namespace, log); err != nil {
		return nil, err
	}
	if acts.Dispatch == nil {
		acts.Dispatch = workflows.Dispatcher(c, workflows.DeliveryRetry{})
	}
	if opts.WorkerStopTimeout == 0 {
		opts.WorkerStopTimeout = DefaultShutdownTimeout
	}
	w := worker.New(c, acts, opts)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}

// ServeAPI serves the HTTP API on addr until ctx ends, then stops accepting
// connections and lets in-flight requests finish, for up to shutdownTimeout
// (DefaultShutdownTimeout when zero); requests still running then are cut
// off. ready, if not nil, is called once the listener is open.
func ServeAPI(ctx context.Context, addr string, srv *api.Server, shutdownTimeout time.Duration, ready func(net.Addr)) error {
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultShutdownTimeout
	}
	if err := serveHTTP(ctx, addr, srv.Handler(), shutdownTimeout, ready); err != nil {
		return fmt.Errorf("HTTP API: %w", err)
	}
	return nil
}

// serveHTTP serves h on addr until ctx ends, then stops accepting
// connections and lets in-flight requests finish for up to shutdownTimeout.
func serveHTTP(ctx context.Context, addr string, h http.Handler, shutdownTimeout time.Duration, ready func(net.Addr)) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(l.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("requests still running after %s: %w", shutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
