package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/collections-engine/collections/metrics"
)

// Requests are counted by route template with the status the client got,
// errors included.
func TestEchoLabelsByRouteTemplateAndFinalStatus(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := echo.New()
	e.Use(m.Echo())
	e.GET("/v1/invoices/:id", func(c echo.Context) error {
		if c.Param("id") == "missing" {
			return echo.NewHTTPError(http.StatusNotFound, "no such invoice")
		}
		return c.String(http.StatusOK, "ok")
	})
	for _, path := range []string{"/v1/invoices/a", "/v1/invoices/b", "/v1/invoices/missing", "/nowhere/1"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	}
	n, err := testutil.GatherAndCount(m.Registry, "collections_http_request_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 { // /v1/invoices/:id 200, 404, and the unmatched route
		t.Errorf("%d series, want 3", n)
	}
	text := scrape(t, m)
	for _, line := range []string{
		`collections_http_request_duration_seconds_count{code="200",method="GET",route="/v1/invoices/:id"} 2`,
		`collections_http_request_duration_seconds_count{code="404",method="GET",route="/v1/invoices/:id"} 1`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("missing %s in\n%s", line, text)
		}
	}
	if strings.Contains(text, "nowhere") {
		t.Error("an unknown URL became a label")
	}
}

// The invoices gauge reports every stage, zeros included, from the count
// at scrape time; a failing count fails the scrape rather than reporting
// zeros.
func TestInvoicesGaugeComesFromTheCountAtScrapeTime(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	counts := map[string]int64{"notified": 3, "paid": 2}
	var fail error
	if err := m.WatchInvoices(func(context.Context) (map[string]int64, error) {
		out := map[string]int64{}
		for k, v := range counts {
			out[k] = v
		}
		return out, fail
	}, nil); err != nil {
		t.Fatal(err)
	}
	text := scrape(t, m)
	for _, line := range []string{`collections_invoices{stage="notified"} 3`, `collections_invoices{stage="paid"} 2`, `collections_invoices{stage="agency"} 0`} {
		if !strings.Contains(text, line) {
			t.Errorf("missing %s", line)
		}
	}
	counts["paid"] = 5
	if !strings.Contains(scrape(t, m), `collections_invoices{stage="paid"} 5`) {
		t.Error("the gauge did not follow the database")
	}
	fail = errors.New("database down")
	if _, err := m.Registry.Gather(); err == nil {
		t.Error("a failed count gathered without an error")
	}
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}
