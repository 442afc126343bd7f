package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// temporalMetrics is the Temporal SDK's metrics handler: the SDK's
// OpenTelemetry handler on a meter provider whose only reader is the
// OpenTelemetry Prometheus exporter, registered in our registry. Counters
// are monotonic (exported with _total) and timers are histograms in
// seconds (_seconds), which gives the names Temporal's dashboards use
// (temporal_request_total, temporal_activity_execution_latency_seconds).
type temporalMetrics struct {
	provider *sdkmetric.MeterProvider
	handler  client.MetricsHandler
}

func newTemporalMetrics(reg prometheus.Registerer) (*temporalMetrics, error) {
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, err
	}
	// OpenTelemetry's default histogram buckets are for milliseconds; the
	// SDK's timers are in seconds.
	seconds := sdkmetric.NewView(sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: prometheus.DefBuckets}})
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(seconds))
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		// The default panics; a metric that cannot be recorded must not
		// take a worker down.
		OnError: func(error) {},
	})
	return &temporalMetrics{provider: provider, handler: handler}, nil
}

// Temporal is the metrics handler to set in the Temporal client's options
// (client.Options.MetricsHandler); workers made from the client use it too.
// On a nil *Metrics it is nil, which the SDK takes as no metrics.
func (m *Metrics) Temporal() client.MetricsHandler {
	if m == nil || m.temporal == nil {
		return nil
	}
	return m.temporal.handler
}
