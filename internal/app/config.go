package app

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/checkout"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/workflows"
)

// Config is every setting a process of the engine takes: `collections api`,
// `collections worker` and `collections dev` (through internal/devstack)
// fill it in, from their flags and environment or by hand, and Build makes
// the process from it. A zero field means the default its comment names.
type Config struct {
	// DatabaseURL is the application database: a postgres:// URL or the
	// path of a SQLite file (DATABASE_URL).
	DatabaseURL string
	// Temporal says how to reach Temporal. Its Codec, Metrics and
	// Interceptors are set by Build, from Codec and the telemetry.
	Temporal TemporalConfig
	// Codec, when set, encrypts every payload written to Temporal; the API
	// serves it at /codec for the Web UI. Nil: payloads in clear.
	Codec converter.PayloadCodec
	// Messages shapes outgoing messages and chooses their providers.
	Messages MessageConfig
	// Webhooks verifies provider callbacks (the API).
	Webhooks api.WebhookConfig
	// WebhookRetry paces outbound webhook deliveries (zero: the defaults).
	WebhookRetry workflows.DeliveryRetry

	// HTTPAddr is where the API listens (HTTP_ADDR).
	HTTPAddr string
	// MetricsAddr is where a worker serves /metrics and /healthz
	// (METRICS_ADDR); empty: not served.
	MetricsAddr string
	// Tracer traces the API, the Temporal client and the worker; nil: the
	// OTLP exporter the standard OTEL_* variables ask for, none without an
	// endpoint.
	Tracer trace.TracerProvider
	// ShutdownTimeout is how long a stopping process lets in-flight requests
	// (API) and running activities (worker) finish (SHUTDOWN_TIMEOUT;
	// DefaultShutdownTimeout when zero).
	ShutdownTimeout time.Duration

	// PoliciesDir holds policy documents to store at start (POLICIES_DIR;
	// empty: none).
	PoliciesDir string
	// CreditBounds decide credit applications without a person (nil:
	// credit.DefaultBounds).
	CreditBounds *credit.Bounds
	// SessionSecret signs the collectors' page sessions
	// (DESK_SESSION_SECRET); empty: random per process.
	SessionSecret []byte
	// TemporalUIURL is the Web UI's base URL the collectors' page links
	// workflows into (TEMPORAL_UI_URL); empty: no links.
	TemporalUIURL string
	// CodecCORSOrigins are the browser origins allowed to call /codec
	// (CODEC_CORS_ORIGINS); CodecUIOrigin is the embedded Web UI's, which
	// may call it without a key (dev only).
	CodecCORSOrigins []string
	CodecUIOrigin    string
	// RateLimit is the requests a second each API key may make (0: the
	// API's default).
	RateLimit float64
	// Portal is the customer portal (docs/portal.md). Without keys there is
	// no portal, and messages link to Messages.PaymentLink.
	Portal PortalConfig
	// Checkout starts card payments from the customer's portal (Stripe
	// Checkout with STRIPE_SECRET_KEY, see checkout.New); nil: none, the
	// portal offers its dev test payment page instead.
	Checkout checkout.Checkout

	// WorkerPollers is the worker's workflow task pollers and activity task
	// pollers each (WORKER_POLLERS; DefaultPollers when zero). Pollers set
	// in Worker win over it.
	WorkerPollers int
	// Worker tunes the worker further (concurrency, interceptors); its
	// WorkerStopTimeout defaults to ShutdownTimeout.
	Worker sdkworker.Options

	Log *slog.Logger
}

// MessageConfig shapes outgoing messages and chooses who delivers them.
type MessageConfig struct {
	PaymentLink  string // URL template with {invoice_id} and {number} (PAYMENT_LINK_TEMPLATE)
	Sender       string // signature: the business and its contact details (MESSAGE_SENDER)
	TemplatesDir string // overrides for the embedded templates (TEMPLATES_DIR; optional)
	// Channels are the email and SMS providers (SENDGRID_*, TWILIO_*); a
	// channel without one goes to the dev outbox.
	Channels channels.Config
	// AgencyEmail receives agency case files (AGENCY_EMAIL); empty: they
	// are kept in the outbox.
	AgencyEmail string
}

// PortalConfig is the customer portal's settings.
type PortalConfig struct {
	// Keys sign and check the portal's links (PORTAL_LINK_KEYS,
	// "kid:secret,..."; the first signs, all verify).
	Keys []portallink.Key
	// BaseURL is the portal's public address (PORTAL_BASE_URL), required
	// with Keys: messages link to BaseURL/<token>.
	BaseURL string
	// LinkTTL is how long a link lasts (PORTAL_LINK_TTL;
	// portallink.DefaultTTL when zero).
	LinkTTL time.Duration
	// PromiseHorizon is how far out a customer may promise to pay from the
	// portal (PORTAL_PROMISE_MAX_DAYS; collect.DefaultPromiseHorizon when
	// zero).
	PromiseHorizon time.Duration
	// TestPayments offers the clearly marked test payment page when no
	// Checkout (Config.Checkout) is configured: dev only.
	TestPayments bool
	// RateLimit is the requests a second one link may make (0: the
	// portal's default).
	RateLimit float64
}

// DefaultShutdownTimeout is how long a stopping process waits for running
// activities (worker) or in-flight requests (API) before it stops anyway
// (SHUTDOWN_TIMEOUT).
const DefaultShutdownTimeout = 30 * time.Second

// DefaultPollers is the worker's workflow and activity task pollers each
// (WORKER_POLLERS), in every process: eight rather than the SDK's two, so
// that reminders falling due together reach the worker without queueing
// behind two polls. What it bought: docs/benchmarks.md, "Tuning".
const DefaultPollers = 8

func (c Config) shutdownTimeout() time.Duration {
	if c.ShutdownTimeout > 0 {
		return c.ShutdownTimeout
	}
	return DefaultShutdownTimeout
}

// workerOptions are the worker's options: Worker with the pollers and the
// stop timeout filled in.
func (c Config) workerOptions() sdkworker.Options {
	o := c.Worker
	pollers := c.WorkerPollers
	if pollers <= 0 {
		pollers = DefaultPollers
	}
	if o.MaxConcurrentWorkflowTaskPollers == 0 && o.WorkflowTaskPollerBehavior == nil {
		o.MaxConcurrentWorkflowTaskPollers = pollers
	}
	if o.MaxConcurrentActivityTaskPollers == 0 && o.ActivityTaskPollerBehavior == nil {
		o.MaxConcurrentActivityTaskPollers = pollers
	}
	if o.WorkerStopTimeout == 0 {
		o.WorkerStopTimeout = c.shutdownTimeout()
	}
	return o
}
