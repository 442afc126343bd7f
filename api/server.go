// Package api is the HTTP API: customers, invoices, payments, the outbox and
// health, served by Echo. Handlers validate everything before they write
// anything, answer bad input with a 4xx naming the field, and reach running
// invoices through their Temporal workflows.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/deskpage"
	"github.com/collections-engine/collections/hooks"
	"github.com/collections-engine/collections/internal/tracing"
	"github.com/collections-engine/collections/metrics"
	"github.com/collections-engine/collections/portal"
	"github.com/collections-engine/collections/workflows"
)

// Server holds the API's dependencies.
type Server struct {
	Store    *db.Store
	Temporal client.Client
	// Previewer renders messages for the preview endpoint (the activities).
	Previewer Previewer
	// Webhooks verifies provider callbacks.
	Webhooks WebhookConfig
	// RateLimit is the requests a second each API key may make (default 50).
	RateLimit float64
	// Codec, when set, is the payload codec the workflows' payloads are
	// encrypted with: the codec endpoints serve it, and amounts stay out of
	// the search attributes (they are indexed in clear).
	Codec converter.PayloadCodec
	// CodecCORSOrigins are the browser origins (scheme://host:port) allowed
	// to call the codec endpoints: the Temporal Web UI's (CODEC_CORS_ORIGINS).
	CodecCORSOrigins []string
	// CodecUIOrigin is the origin of the Web UI that dev embeds, which may
	// call the codec endpoints without a key (it has no login to get one
	// from, and shows everything to whoever opens it). Empty outside dev.
	CodecUIOrigin string
	// DefaultPolicy is used when an invoice names none ("standard" if empty).
	DefaultPolicy string
	// CreditBounds decide which credit applications are decided without a
	// person (nil: credit.DefaultBounds). They are passed to each
	// application's workflow as it starts.
	CreditBounds *credit.Bounds
	Log          *slog.Logger
	Clock        func() time.Time
	// Metrics, when set, records request latency and webhook events and is
	// served at /metrics.
	Metrics *metrics.Metrics
	// Tracer, when set, starts a span for each request (see tracing.Echo).
	Tracer trace.TracerProvider
	// TemporalUIURL is the Temporal Web UI's base URL (TEMPORAL_UI_URL),
	// which the collectors' page links each invoice's workflow into; empty:
	// no links.
	TemporalUIURL string
	// Namespace is the Temporal namespace the workflows run in, for those
	// links ("default" if empty).
	Namespace string
	// SessionSecret signs the collectors' page sessions (DESK_SESSION_SECRET).
	// Empty: a random secret for the life of the process, so sessions end
	// when it restarts and do not carry over to other API replicas.
	SessionSecret []byte

	// Portal, when set (and Cases.Portal signs links), mounts the customer
	// portal at /portal with these settings; its Cases, Store, Metrics, Log
	// and Clock are the server's.
	Portal *portal.Config

	// Cases are the business actions every handler calls (package collect).
	// Nil: built on first use from the fields above.
	Cases *collect.Service

	casesOnce sync.Once
}

// cases returns the business actions, building them from the server's own
// dependencies when the composition root did not give them.
func (s *Server) cases() *collect.Service {
	s.casesOnce.Do(func() {
		if s.Cases != nil {
			return
		}
		s.Cases = &collect.Service{
			Store:         s.Store,
			Workflows:     &workflows.Client{Temporal: s.Temporal, HideAmounts: s.Codec != nil},
			DefaultPolicy: s.DefaultPolicy,
			CreditBounds:  s.CreditBounds,
			Clock:         s.Clock,
			Log:           s.Log,
		}
	})
	return s.Cases
}

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Handler returns the Echo instance serving the API.
func (s *Server) Handler() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.Recover())
	if s.Tracer != nil {
		e.Use(tracing.Echo(s.Tracer))
	}
	e.Use(s.requestLog())
	if s.Metrics != nil {
		e.Use(s.Metrics.Echo(), s.countWebhooks())
	}
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			limit := int64(MaxBodyBytes)
			if hooks.LargeBody(c.Request().URL.Path) {
				limit = hooks.MaxInboundBytes // inbound email with its attachments
			}
			c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, limit)
			return next(c)
		}
	})
	e.Use(s.codecCORS())
	e.Use(s.authenticate(), s.rateLimit(), cleanQuery, s.validateRequests(), s.idempotency())

	s.webhooks().Routes(e)
	s.specRoutes(e)
	s.codecRoutes(e)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.Metrics.Handler()))
	deskpage.New(deskpage.Config{Store: s.Store, SessionSecret: s.SessionSecret, TemporalUIURL: s.TemporalUIURL,
		Namespace: s.Namespace, Cases: s.cases(), Clock: s.Clock, Log: s.Log}).Routes(e)
	if pg := s.portalPage(); pg != nil {
		pg.Routes(e)
	}

	v1 := e.Group("/v1")
	v1.POST("/customers", s.createCustomer)
	v1.GET("/customers", s.listCustomers)
	v1.GET("/customers/:id", s.getCustomer)
	v1.POST("/invoices", s.createInvoice)
	v1.GET("/invoices", s.listInvoices)
	v1.GET("/invoices/:id", s.getInvoice)
	v1.POST("/invoices/:id/payments", s.createPayment)
	v1.GET("/outbox", s.listOutbox)
	v1.GET("/payment-events", s.listPaymentEvents)
	v1.PATCH("/customers/:id", s.updateCustomer)
	v1.GET("/tasks", s.listTasks)
	v1.POST("/policies", s.createPolicy)
	v1.GET("/policies", s.listPolicies)
	v1.GET("/policies/:name", s.getPolicy)
	v1.POST("/tasks/:id/complete", s.completeTask)
	s.commandRoutes(v1)
	s.communicationRoutes(v1)
	s.importRoutes(v1)
	s.noteRoutes(v1)
	s.inboundRoutes(v1)
	s.subscriptionRoutes(v1)
	s.deskRoutes(v1)
	s.creditRoutes(v1)
	s.reportRoutes(v1)
	s.keyRoutes(v1)
	s.portalRoutes(v1)
	return e
}

// cleanQuery refuses query parameters no database can compare: a NUL byte
// (PostgreSQL rejects it, SQLite cuts the string there) or invalid UTF-8.
// Without it such a filter reached the database and came back a 500.
func cleanQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := cleanValues(c.QueryParams()); err != nil {
			return err
		}
		return next(c)
	}
}

// isPage says whether a path is the collectors' page (package deskpage),
// which signs in with a session of its own instead of a bearer key, or the
// customer portal (package portal), whose links are its credentials.
func isPage(path string) bool { return deskpage.Serves(path) || portal.Serves(path) }

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Server) now() time.Time {
	if s.Clock != nil {
		return s.Clock().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) requestLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURI: true, LogStatus: true, LogLatency: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.log().LogAttrs(c.Request().Context(), level, "http", append([]slog.Attr{
				slog.String("method", v.Method), slog.String("uri", hooks.RedactURI(portal.RedactPath(v.URI))),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency)}, invoiceAttrs(c)...)...)
			return nil
		},
	})
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether Temporal and the database answer.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "temporal": "ok"}
	ready := true
	if err := s.Store.Ping(ctx); err != nil {
		checks["database"], ready = err.Error(), false
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ready = err.Error(), false
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, map[string]any{"ready": ready, "checks": checks})
}

// MessageView is one message of the outbox / communication log.
type MessageView struct {
	ID                string     `json:"id"`
	InvoiceID         string     `json:"invoice_id"`
	CustomerID        string     `json:"customer_id"`
	Step              string     `json:"step"`
	Channel           string     `json:"channel"`
	To                string     `json:"to"`
	Subject           string     `json:"subject,omitempty"`
	Body              string     `json:"body"`
	Status            string     `json:"status"`
	Detail            string     `json:"detail,omitempty"`
	Provider          string     `json:"provider,omitempty"`
	ProviderMessageID string     `json:"provider_message_id,omitempty"`
	ScheduledAt       time.Time  `json:"scheduled_at"`
	CreatedAt         time.Time  `json:"created_at"`
	SentAt            *time.Time `json:"sent_at,omitempty"`
}
