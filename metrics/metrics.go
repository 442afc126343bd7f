// Package metrics is the product's Prometheus metrics: one registry that
// holds our own series (prefixed collections_) and the Temporal SDK's
// (prefixed temporal_, through the SDK's OpenTelemetry metrics handler and
// the OpenTelemetry Prometheus exporter), served as Prometheus text by
// Handler.
//
// Every method is safe on a nil *Metrics and then does nothing, so the
// pieces that record (activities, API handlers) need no checks.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/collections-engine/collections/invoice"
)

// Metrics holds the registry and our collectors.
type Metrics struct {
	// Registry holds every series served by Handler.
	Registry *prometheus.Registry

	messagesSent   *prometheus.CounterVec
	messagesFailed *prometheus.CounterVec
	lateness       prometheus.Histogram
	webhookEvents  *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	portalActions  *prometheus.CounterVec
	temporal       *temporalMetrics
}

// New builds a registry with our metrics, the Go runtime's and the
// process's, and a Temporal SDK metrics handler writing into it (see
// Temporal).
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		messagesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "collections_messages_sent_total",
			Help: "Messages handed to a provider (or the dev outbox) and accepted, by channel.",
		}, []string{"channel"}),
		messagesFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "collections_messages_failed_total",
			Help: "Messages a provider refused for good, or that had no sender, by channel.",
		}, []string{"channel"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "collections_reminder_lateness_seconds",
			Help:    "Time from a message's scheduled time to the provider call.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}),
		webhookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "collections_webhook_events_total",
			Help: "Webhook events received, by source and what became of them (accepted, duplicate, rejected, invalid, unmatched, ignored, error, ...).",
		}, []string{"source", "result"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "collections_http_request_duration_seconds",
			Help:    "HTTP API request latency, by method, route template and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "code"}),
		portalActions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "collections_portal_actions_total",
			Help: "Customer portal visits and actions (visit, invoice_view, payment_started, payment_completed, dispute, promise, question, credit_application), by the channel the link came by (email, sms, link, credit_link).",
		}, []string{"action", "channel"}),
	}
	for _, c := range []prometheus.Collector{
		m.messagesSent, m.messagesFailed, m.lateness, m.webhookEvents, m.httpDuration, m.portalActions,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	t, err := newTemporalMetrics(reg)
	if err != nil {
		return nil, err
	}
	m.temporal = t
	return m, nil
}

// Close flushes and stops the Temporal SDK's meter provider.
func (m *Metrics) Close() error {
	if m == nil || m.temporal == nil {
		return nil
	}
	return m.temporal.provider.Shutdown(context.Background())
}

// Handler serves the registry as Prometheus text.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// MessageSent counts a message a provider accepted.
func (m *Metrics) MessageSent(channel string) {
	if m != nil {
		m.messagesSent.WithLabelValues(channel).Inc()
	}
}

// MessageFailed counts a message that failed for good.
func (m *Metrics) MessageFailed(channel string) {
	if m != nil {
		m.messagesFailed.WithLabelValues(channel).Inc()
	}
}

// ReminderLateness records how long after its scheduled time a message
// reached the provider (zero when early).
func (m *Metrics) ReminderLateness(d time.Duration) {
	if m != nil {
		m.lateness.Observe(max(d, 0).Seconds())
	}
}

// WebhookEvents counts n webhook events from source with a result.
func (m *Metrics) WebhookEvents(source, result string, n int) {
	if m != nil && n > 0 {
		m.webhookEvents.WithLabelValues(source, result).Add(float64(n))
	}
}

// PortalAction counts a customer portal visit or action, by the channel
// of the message whose link was used.
func (m *Metrics) PortalAction(action, channel string) {
	if m != nil {
		m.portalActions.WithLabelValues(action, channel).Inc()
	}
}

// ObserveHTTP records one API request.
func (m *Metrics) ObserveHTTP(method, route string, code int, d time.Duration) {
	if m != nil {
		m.httpDuration.WithLabelValues(method, route, strconv.Itoa(code)).Observe(d.Seconds())
	}
}

// Echo is middleware recording every request's latency labelled by its
// route template (c.Path(), e.g. /v1/invoices/:id), never the raw URL.
func (m *Metrics) Echo() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				// Let the error handler write the response now, so the
				// status recorded is the one the client gets.
				c.Error(err)
			}
			code := c.Response().Status
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m.ObserveHTTP(c.Request().Method, route, code, time.Since(start))
			return nil
		}
	}
}

// InvoiceCounter counts invoices by stage (db.Store.InvoicesByStage).
type InvoiceCounter func(ctx context.Context) (map[string]int64, error)

// WatchInvoices registers the collections_invoices gauge, computed from
// count at each scrape. Every known stage is reported, zero included, so a
// stage that empties drops to 0 rather than disappearing.
func (m *Metrics) WatchInvoices(count InvoiceCounter, log *slog.Logger) error {
	if m == nil {
		return nil
	}
	if log == nil {
		log = slog.Default()
	}
	return m.Registry.Register(&invoiceCollector{count: count, log: log, desc: prometheus.NewDesc(
		"collections_invoices", "Invoices by stage, from the application database at scrape time.", []string{"stage"}, nil)})
}

type invoiceCollector struct {
	count InvoiceCounter
	log   *slog.Logger
	desc  *prometheus.Desc
}

// knownStages are reported even when no invoice is in them.
var knownStages = []invoice.Stage{
	invoice.StageIssued, invoice.StageNotified, invoice.StageReminded, invoice.StageInquired,
	invoice.StagePressing, invoice.StageEscalated, invoice.StageAgency, invoice.StageDisputed,
	invoice.StagePromised, invoice.StagePaused, invoice.StageOnPlan, invoice.StagePaid, invoice.StageCancelled,
	invoice.StageWrittenOff, invoice.StageCollected, invoice.StageReturned,
}

func (c *invoiceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *invoiceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		// A failed count is reported as an invalid metric, which the
		// handler turns into an error for this scrape, and logged.
		c.log.Warn("collections_invoices: counting invoices failed", "error", err)
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, s := range knownStages {
		if _, ok := counts[string(s)]; !ok {
			counts[string(s)] = 0
		}
	}
	for stage, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), stage)
	}
}
