package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/reports"
)

// Every report's definition is in the API docs, word for word.
func TestReportDefinitionsAreInTheSpec(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	op := sp.doc.Paths.Find("/v1/reports/{name}").Get
	doc := strings.Join(strings.Fields(op.Description), " ")
	for _, n := range reports.Names {
		if def := strings.Join(strings.Fields(reports.Definitions[n]), " "); !strings.Contains(doc, def) {
			t.Errorf("the getReport description lacks the definition of %s:\n%s", n, def)
		}
	}
}

func TestReportsAsJSONAndCSV(t *testing.T) {
	store := db.NewStore(dbtest.SQLite(t).DB)
	ctx := context.Background()
	at := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	if _, err := store.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", Timezone: "UTC", CreatedAt: at("2026-01-01"), UpdatedAt: at("2026-01-01")}); err != nil {
		t.Fatal(err)
	}
	// One invoice of 1000.00 issued 09-01, due 10-01; 250.00 paid on 10-10.
	if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: "i1", Number: "I1", CustomerID: "acme", AmountMinor: 100000, BalanceMinor: 100000,
		Currency: "EUR", IssuedAt: at("2026-09-01"), DueAt: at("2026-10-01"), Stage: invoice.StageNotified, PolicyName: "standard", PolicyVersion: 1,
		WorkflowID: "invoice:i1", CreatedAt: at("2026-09-01"), UpdatedAt: at("2026-09-01")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.RecordPayment(ctx, &db.Payment{ID: "p1", InvoiceID: "i1", Reference: "r1", AmountMinor: 25000, Currency: "EUR", ReceivedAt: at("2026-10-10")}, at("2026-10-10")); err != nil {
		t.Fatal(err)
	}
	s := &Server{Store: store, Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC) }}
	e := echo.New()
	e.HTTPErrorHandler = s.errorHandler
	s.reportRoutes(e.Group("/v1"))
	get := func(path, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if accept != "" {
			r.Header.Set(echo.HeaderAccept, accept)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		return rec
	}
	// Defaults: to = today (10-31), from = 10-01, as_of = 10-31: 750.00 open, 30 days past due → 1-30.
	rec := get("/v1/reports/aging", "")
	var r reports.Report
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != 200 {
		t.Fatalf("aging: %d %s", rec.Code, rec.Body)
	}
	if r.From != "2026-10-01" || r.To != "2026-10-31" || r.AsOf != "2026-10-31" || r.Definition != reports.Definitions[reports.Aging] ||
		len(r.Rows) != 3 || r.Rows[0]["1_30"] != "750.00" || r.Rows[0]["total"] != "750.00" {
		t.Errorf("aging: %+v", r)
	}
	// CEI for September..October: beginning 0, sales 1000.00, ending 750.00, none current:
	// (0 + 1000 − 750) / (0 + 1000 − 0) = 25%.
	want := "currency,beginning_receivables,credit_sales,ending_receivables,ending_current_receivables,cei\nEUR,0.00,1000.00,750.00,0.00,25\n"
	for _, c := range []struct{ path, accept string }{
		{"/v1/reports/cei?from=2026-09-01&to=2026-10-31", "text/csv"},
		{"/v1/reports/cei?from=2026-09-01&to=2026-10-31&format=csv", ""},
	} {
		rec := get(c.path, c.accept)
		if rec.Code != 200 || rec.Body.String() != want || !strings.HasPrefix(rec.Header().Get(echo.HeaderContentType), "text/csv") ||
			!strings.Contains(rec.Header().Get(echo.HeaderContentDisposition), "cei_2026-09-01_2026-10-31.csv") {
			t.Errorf("%s: %d %q %v\n%s", c.path, rec.Code, rec.Header().Get(echo.HeaderContentType), rec.Header(), rec.Body)
		}
	}
	// Promises with none resolved: an empty rate cell.
	if rec := get("/v1/reports/promises?format=csv", ""); rec.Body.String() != "kept,broken,rate\n0,0,\n" {
		t.Errorf("promises: %q", rec.Body)
	}
	if rec := get("/v1/reports", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"collected-by-channel"`) {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
	for path, field := range map[string]string{
		"/v1/reports/aging?as_of=31.10.2026":                   "as_of",
		"/v1/reports/cei?from=2026-11-01&to=2026-10-31":        "from",
		"/v1/reports/dso?currency=EURO":                        "currency",
		"/v1/reports/dso?format=xml":                           "format",
		"/v1/reports/messages-by-stage?to=2026-02-30":          "to",
		"/v1/reports/collected-by-stage?from=2026-10-01T00:00": "from",
	} {
		rec := get(path, "")
		var body map[string]map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != 400 || body["error"]["field"] != field {
			t.Errorf("%s: %d %s, want 400 naming %s", path, rec.Code, rec.Body, field)
		}
	}
	if rec := get("/v1/reports/profit", ""); rec.Code != 404 {
		t.Errorf("unknown report: %d", rec.Code)
	}
}
