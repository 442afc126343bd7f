// Package tracing is OpenTelemetry tracing for the API and the Temporal
// client and workers: an OTLP exporter configured by the standard OTel
// environment variables, the Temporal SDK's tracing interceptor, and Echo
// middleware that starts a server span per request.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME (or
// OTEL_RESOURCE_ATTRIBUTES) names another.
const DefaultServiceName = "collections"

// Enabled reports whether the environment asks for tracing: an OTLP
// endpoint is set.
func Enabled() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// FromEnv returns a tracer provider that batches spans to the OTLP endpoint
// the standard environment variables name (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL grpc or http/protobuf (the default),
// OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER ...),
// or nil when no endpoint is set. It also installs the provider and the W3C
// trace-context propagator globally. Shut it down to flush.
func FromEnv(ctx context.Context) (*sdktrace.TracerProvider, error) {
	if !Enabled() {
		return nil, nil
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	var err error
	switch strings.ToLower(protocol) {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is neither grpc nor http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := Resource(ctx)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	return tp, nil
}

// Resource describes this process: service.name "collections" unless the
// environment says otherwise.
func Resource(ctx context.Context) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil {
		return nil, fmt.Errorf("OTel resource: %w", err)
	}
	return res, nil
}

// Propagator carries trace context in and out of HTTP requests (W3C trace
// context and baggage).
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// TemporalInterceptor traces workflow starts, signals, updates and queries
// from the client and workflow and activity executions on the workers
// (set on the client's options, it applies to the workers made from it),
// with the span context passed along in Temporal headers.
func TemporalInterceptor(tp trace.TracerProvider) (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: tp.Tracer("temporal-sdk-go")})
}

// Echo starts a server span for each request, continuing the caller's trace
// when the request carries one, named by method and route template.
func Echo(tp trace.TracerProvider) echo.MiddlewareFunc {
	tracer := tp.Tracer("github.com/collections-engine/collections/api")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := Propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			ctx, span := tracer.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("url.path", redactPath(redactPortal(req.URL.Path)))))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			if err := next(c); err != nil {
				c.Error(err) // write the response now, so its status is known
			}
			status := c.Response().Status
			if route := c.Path(); route != "" {
				span.SetName(req.Method + " " + route)
				span.SetAttributes(attribute.String("http.route", route))
			}
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return nil
		}
	}
}

// redactPath hides the secret in the path of the inbound email webhook
// (hooks.InboundPath + "/<secret>").
func redactPath(p string) string {
	const inbound = "/webhooks/sendgrid/inbound/"
	if strings.HasPrefix(p, inbound) {
		return inbound + "[REDACTED]"
	}
	return p
}

// redactPortal hides the link in a customer portal path ("/portal/<token>/…"):
// a link is a credential and must not reach a trace backend. (The same rule
// as portal.RedactPath, which this tier may not import.)
func redactPortal(path string) string {
	rest, ok := strings.CutPrefix(path, "/portal/")
	if !ok || rest == "" {
		return path
	}
	head := ""
	if r, ok := strings.CutPrefix(rest, "apply/"); ok {
		head, rest = "apply/", r
	}
	_, tail, _ := strings.Cut(rest, "/")
	if tail != "" {
		tail = "/" + tail
	}
	return "/portal/" + head + "…" + tail
}
