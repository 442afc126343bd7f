package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/collections-engine/collections/internal/tracing"
	"github.com/collections-engine/collections/metrics"
)

// Telemetry is what a process reports: Prometheus metrics (always) and
// OpenTelemetry traces (when OTEL_EXPORTER_OTLP_ENDPOINT is set, or a
// tracer provider is given).
type Telemetry struct {
	Metrics *metrics.Metrics
	// Tracer is nil when tracing is off.
	Tracer trace.TracerProvider

	shutdown func(context.Context) error
}

// NewTelemetry builds the metrics registry and, when tracer is nil, the
// OTLP tracer provider the environment asks for (none without an
// endpoint). Close it to flush.
func NewTelemetry(ctx context.Context, tracer trace.TracerProvider, log *slog.Logger) (*Telemetry, error) {
	m, err := metrics.New()
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	t := &Telemetry{Metrics: m, Tracer: tracer}
	if tracer == nil {
		tp, err := tracing.FromEnv(ctx)
		if err != nil {
			return nil, err
		}
		if tp != nil {
			t.Tracer, t.shutdown = tp, tp.Shutdown
			if log != nil {
				log.Info("tracing on: spans go to the OTLP endpoint of OTEL_EXPORTER_OTLP_ENDPOINT")
			}
		}
	}
	return t, nil
}

// Temporal adds the SDK metrics handler and, with tracing on, the tracing
// interceptor to a Temporal configuration.
func (t *Telemetry) Temporal(cfg TemporalConfig) (TemporalConfig, error) {
	if t == nil {
		return cfg, nil
	}
	cfg.Metrics = t.Metrics.Temporal()
	if t.Tracer != nil {
		i, err := tracing.TemporalInterceptor(t.Tracer)
		if err != nil {
			return cfg, fmt.Errorf("temporal tracing: %w", err)
		}
		cfg.Interceptors = append(cfg.Interceptors, i)
	}
	return cfg, nil
}

// Close flushes pending spans and stops the SDK's meter provider.
func (t *Telemetry) Close(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.shutdown != nil {
		errs = append(errs, t.shutdown(ctx))
	}
	errs = append(errs, t.Metrics.Close())
	return errors.Join(errs...)
}

// ServeMetrics serves /metrics and /healthz on addr until ctx ends (the
// worker's METRICS_ADDR). ready, if not nil, is called once it listens.
func ServeMetrics(ctx context.Context, addr string, m *metrics.Metrics, ready func(net.Addr)) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	if err := serveHTTP(ctx, addr, mux, 5*time.Second, ready); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
