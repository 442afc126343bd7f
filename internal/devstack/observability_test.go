package devstack_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/workflows"
)

// quietPolicy sends its first step (the invoice, by email) at once and
// nothing else for an hour, so a test can count what was sent.
func quietPolicy(c client) {
	p := c.must("GET", "/v1/policies/standard", nil, 200)
	for i, s := range p["steps"].([]any) {
		s := s.(map[string]any)
		s["anchor"], s["offset"] = "issue", fmt.Sprintf("%dh", i)
	}
	delete(p, "builtin")
	delete(p, "calendar")
	delete(p, "contact_cap")
	p["name"], p["version"] = "quiet", 0
	c.must("POST", "/v1/policies", p, 201)
}

// scrape reads /metrics, without an API key, as metric families.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", res.StatusCode)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return fams
}

// value sums the series of family name that carry these labels (name,
// value pairs; a histogram counts its samples), and says whether any does.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	var sum float64
	found := false
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if v, ok := got[labels[i]]; !ok || v != labels[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

func TestMetricsCountMessagesWebhooksInvoicesRequestsAndTemporal(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{PaymentsSecret: paymentsSecret}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	quietPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	now := time.Now()
	id := c.must("POST", "/v1/invoices", map[string]string{"number": "MET-1", "customer_id": "acme", "amount": "1000.00",
		"currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": "quiet"}, 201)["id"].(string)
	eventually(t, 30*time.Second, "the invoice to go out", func() bool { return len(sentSteps(c, id)) == 1 })
	if got := sentSteps(c, id); got[0] != "notify/email" {
		t.Fatalf("sent %v, want the invoice by email", got)
	}

	pay := map[string]string{"event_id": "evt-m1", "type": "payment.succeeded", "invoice_id": id,
		"amount": "100.00", "currency": "EUR", "reference": "ch_m1"}
	for i, want := range []int{200, 200, 401} {
		secret := paymentsSecret
		if i == 2 {
			secret = "wrong"
		}
		if status, out := postPayment(t, s.APIURL, pay, time.Now(), secret); status != want {
			t.Fatalf("payment webhook %d: %d %v", i+1, status, out)
		}
	}
	eventually(t, 20*time.Second, "the payment to be applied", func() bool {
		return c.must("GET", "/v1/invoices/"+id, nil, 200)["balance"] == "900.00"
	})
	stage := c.must("GET", "/v1/invoices/"+id, nil, 200)["stage"].(string)

	var fams map[string]*dto.MetricFamily
	eventually(t, 20*time.Second, "collections_invoices to show the invoice in stage "+stage, func() bool {
		fams = scrape(t, s.APIURL)
		n, _ := value(fams, "collections_invoices", "stage", stage)
		return n == 1
	})
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"collections_messages_sent_total", []string{"channel", "email"}, 1},
		{"collections_reminder_lateness_seconds", nil, 1},
		{"collections_webhook_events_total", []string{"result", "accepted", "source", "payments"}, 1},
		{"collections_webhook_events_total", []string{"result", "duplicate", "source", "payments"}, 1},
		{"collections_webhook_events_total", []string{"result", "rejected", "source", "payments"}, 1},
		{"collections_invoices", []string{"stage", "paid"}, 0},
		{"collections_http_request_duration_seconds", []string{"code", "201", "method", "POST", "route", "/v1/invoices"}, 1},
	} {
		got, ok := value(fams, tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := value(fams, "collections_messages_failed_total", "channel", "email"); ok {
		t.Error("a failed message counted, none failed")
	}
	// Requests are labelled by route template, never by the raw URL.
	for _, m := range fams["collections_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), id) {
				t.Errorf("route label carries an invoice id: %s", l.GetValue())
			}
		}
	}
	if n, ok := value(fams, "collections_http_request_duration_seconds", "code", "200", "method", "GET", "route", "/v1/invoices/:id"); !ok || n < 2 {
		t.Errorf("GET /v1/invoices/:id counted %v times, want at least 2", n)
	}
	// The Temporal SDK's metrics share the registry, with their own names.
	var temporal []string
	for name := range fams {
		if strings.HasPrefix(name, "temporal_") {
			temporal = append(temporal, name)
		}
	}
	if n, ok := value(fams, "temporal_request_total", "operation", "StartWorkflowExecution"); !ok || n < 1 {
		t.Errorf("temporal_request_total for StartWorkflowExecution = %v (present %v); temporal series: %v", n, ok, temporal)
	}
	if _, ok := fams["temporal_activity_execution_latency_seconds"]; !ok {
		t.Errorf("no temporal_activity_execution_latency_seconds; temporal series: %v", temporal)
	}
}

func TestTracesLinkTheAPIRequestToTheWorkflowAndItsActivities(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) { o.Tracer = tp })
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	quietPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	now := time.Now()
	c.must("POST", "/v1/invoices", map[string]string{"number": "TR-1", "customer_id": "acme", "amount": "1000.00",
		"currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": "quiet"}, 201)

	find := func(name string) sdktrace.ReadOnlySpan {
		for _, sp := range rec.Started() {
			if sp.Name() == name {
				return sp
			}
		}
		return nil
	}
	wf := workflows.InvoiceWorkflowName
	eventually(t, 30*time.Second, "the invoice to be sent under a traced activity", func() bool {
		return find("RunActivity:SendStepMessage") != nil
	})
	httpSpan, start, run := find("POST /v1/invoices"), find("StartWorkflow:"+wf), find("RunWorkflow:"+wf)
	startAct, runAct := find("StartActivity:SendStepMessage"), find("RunActivity:SendStepMessage")
	for name, sp := range map[string]sdktrace.ReadOnlySpan{"POST /v1/invoices": httpSpan, "StartWorkflow": start,
		"RunWorkflow": run, "StartActivity": startAct} {
		if sp == nil {
			var names []string
			for _, sp := range rec.Started() {
				names = append(names, sp.Name())
			}
			t.Fatalf("no %s span; spans: %v", name, names)
		}
	}
	if httpSpan.SpanKind() != trace.SpanKindServer {
		t.Errorf("HTTP span kind %v", httpSpan.SpanKind())
	}
	// One trace, each span the child of the one before it.
	for _, link := range []struct {
		child, parent sdktrace.ReadOnlySpan
	}{{start, httpSpan}, {run, start}, {startAct, run}, {runAct, startAct}} {
		if link.child.Parent().SpanID() != link.parent.SpanContext().SpanID() ||
			link.child.SpanContext().TraceID() != httpSpan.SpanContext().TraceID() {
			t.Errorf("%s is not a child of %s in the request's trace", link.child.Name(), link.parent.Name())
		}
	}
}
