package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/workflows"
)

type creditTemporal struct {
	client.Client
	started []workflows.CreditInput
	fail    bool
}

func (f *creditTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if f.fail {
		return nil, errors.New("fake temporal: unavailable")
	}
	in := args[0].(workflows.CreditInput)
	if wf != workflows.CreditDecisionWorkflowName || opts.ID != workflows.CreditWorkflowID(in.Application.ApplicationID) {
		return nil, errors.New("fake temporal: unexpected start")
	}
	f.started = append(f.started, in)
	return fakeRun{id: opts.ID}, nil
}

func newCreditEnv(t *testing.T) (*Server, *echo.Echo, *creditTemporal) {
	t.Helper()
	ft := &creditTemporal{}
	bounds := credit.DefaultBounds()
	bounds.AutoApproveScore = 80
	s := &Server{Store: db.NewStore(dbtest.SQLite(t).DB), Temporal: ft, Log: slog.New(slog.DiscardHandler), CreditBounds: &bounds,
		Clock: func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }}
	e := echo.New()
	e.HTTPErrorHandler = s.errorHandler
	v1 := e.Group("/v1")
	v1.POST("/customers", s.createCustomer)
	s.creditRoutes(v1)
	return s, e, ft
}

func call(e *echo.Echo, method, path string, body any) (int, map[string]any) {
	var r *http.Request
	if body != nil {
		b, _ := json.Marshal(body)
		r = httptest.NewRequest(method, path, bytes.NewReader(b))
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func errField(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

func TestCreditApplicationInputErrorsNameTheField(t *testing.T) {
	_, e, ft := newCreditEnv(t)
	if code, out := call(e, http.MethodPost, "/v1/customers", map[string]any{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}); code != http.StatusCreated {
		t.Fatalf("customer: %d %v", code, out)
	}
	good := func() map[string]any {
		return map[string]any{"customer_id": "acme", "company": map[string]any{"name": "Acme GmbH"},
			"requested_limit": "5000.00", "currency": "EUR", "requested_terms_days": 30}
	}
	for _, c := range []struct {
		name   string
		change func(map[string]any)
		status int
		field  string
	}{
		{"no applicant", func(b map[string]any) { delete(b, "customer_id") }, 400, "customer_id"},
		{"unknown customer", func(b map[string]any) { b["customer_id"] = "nobody" }, 400, "customer_id"},
		{"both", func(b map[string]any) { b["customer"] = map[string]any{"id": "x"} }, 400, "customer"},
		{"new customer without email", func(b map[string]any) {
			delete(b, "customer_id")
			b["customer"] = map[string]any{"id": "newco", "name": "NewCo", "timezone": "UTC"}
		}, 400, "customer.email"},
		{"new customer already exists", func(b map[string]any) {
			delete(b, "customer_id")
			b["customer"] = map[string]any{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}
		}, 409, "customer.id"},
		{"no company name", func(b map[string]any) { b["company"] = map[string]any{"address": "1 Road"} }, 400, "company.name"},
		{"bad contact", func(b map[string]any) { b["company"] = map[string]any{"name": "A", "contact_email": "nope"} }, 400, "company.contact_email"},
		{"bad currency", func(b map[string]any) { b["currency"] = "EURO" }, 400, "currency"},
		{"too many decimals", func(b map[string]any) { b["requested_limit"] = "10.001" }, 400, "requested_limit"},
		{"zero limit", func(b map[string]any) { b["requested_limit"] = "0" }, 400, "requested_limit"},
		{"terms", func(b map[string]any) { b["requested_terms_days"] = 0 }, 400, "requested_terms_days"},
		{"reference without name", func(b map[string]any) { b["trade_references"] = []any{map[string]any{"contact": "x"}} }, 400, "trade_references[0].name"},
		{"unknown field", func(b map[string]any) { b["score"] = 100 }, 400, "score"},
	} {
		b := good()
		c.change(b)
		code, out := call(e, http.MethodPost, "/v1/credit-applications", b)
		if code != c.status || errField(out) != c.field {
			t.Errorf("%s: %d field %q (%v), want %d %q", c.name, code, errField(out), out, c.status, c.field)
		}
	}
	if len(ft.started) != 0 {
		t.Errorf("bad input started %d workflows", len(ft.started))
	}
}

func TestCreditApplicationStartsItsWorkflow(t *testing.T) {
	s, e, ft := newCreditEnv(t)
	body := map[string]any{
		"customer":        map[string]any{"id": "newco", "name": "NewCo Ltd", "email": "ap@newco.test", "timezone": "Europe/London", "account_manager": "mia@ar.test"},
		"company":         map[string]any{"name": "NewCo Ltd", "registration_number": "12345678"},
		"requested_limit": "2500.50", "currency": "gbp", "requested_terms_days": 45,
		"trade_references": []any{map[string]any{"name": "Supplies AG", "contact": "credit@supplies.test"}, map[string]any{"name": "Parts Ltd"}},
	}
	code, out := call(e, http.MethodPost, "/v1/credit-applications", body)
	if code != http.StatusAccepted || out["status"] != db.CreditSubmitted || out["requested_limit"] != "2500.50" || out["currency"] != "GBP" || out["new_customer"] != true {
		t.Fatalf("apply: %d %v", code, out)
	}
	if len(ft.started) != 1 {
		t.Fatalf("started %d workflows", len(ft.started))
	}
	in := ft.started[0]
	want := credit.Application{ApplicationID: out["id"].(string), CustomerID: "newco", NewCustomer: true, RequestedLimitMinor: 250050,
		Currency: "GBP", TermsDays: 45, TradeReferences: 2}
	if in.Application != want || in.Bounds.AutoApproveScore != 80 {
		t.Errorf("workflow input %+v, want %+v with the server's bounds", in, want)
	}
	if _, err := s.Store.GetCustomer(context.Background(), "newco"); err != nil {
		t.Errorf("the new customer was not stored: %v", err)
	}
	id := out["id"].(string)
	if code, got := call(e, http.MethodGet, "/v1/credit-applications/"+id, nil); code != 200 || got["id"] != id {
		t.Errorf("get: %d %v", code, got)
	}
	if code, got := call(e, http.MethodGet, "/v1/credit-applications?status=submitted", nil); code != 200 || len(got["credit_applications"].([]any)) != 1 {
		t.Errorf("list: %d %v", code, got)
	}
	if code, got := call(e, http.MethodGet, "/v1/credit-applications?status=open", nil); code != 400 || errField(got) != "status" {
		t.Errorf("list bad status: %d %v", code, got)
	}
	// Still being scored: management cannot decide yet.
	if code, got := call(e, http.MethodPost, "/v1/credit-applications/"+id+"/decision", map[string]any{"decision": "approve", "limit": "1000.00", "terms_days": 30}); code != 409 {
		t.Errorf("decision while scoring: %d %v", code, got)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"decision": "maybe"}, "decision"},
		{map[string]any{"decision": "approve", "terms_days": 30}, "limit"},
		{map[string]any{"decision": "approve", "limit": "1000.001", "terms_days": 30}, "limit"},
		{map[string]any{"decision": "approve", "limit": "1000.00"}, "terms_days"},
		{map[string]any{"decision": "decline"}, "reason"},
	} {
		if code, got := call(e, http.MethodPost, "/v1/credit-applications/"+id+"/decision", c.body); code != 400 || errField(got) != c.field {
			t.Errorf("decision %v: %d %v, want 400 naming %s", c.body, code, got, c.field)
		}
	}
	if code, _ := call(e, http.MethodGet, "/v1/credit-applications/nope", nil); code != 404 {
		t.Errorf("unknown application: %d", code)
	}
}

func TestCreditApplicationNotKeptWhenTheWorkflowCannotStart(t *testing.T) {
	s, e, ft := newCreditEnv(t)
	ft.fail = true
	code, out := call(e, http.MethodPost, "/v1/credit-applications", map[string]any{
		"customer": map[string]any{"id": "newco", "name": "NewCo", "email": "ap@newco.test", "timezone": "UTC"},
		"company":  map[string]any{"name": "NewCo"}, "requested_limit": "100", "currency": "EUR", "requested_terms_days": 30,
	})
	if code != http.StatusServiceUnavailable {
		t.Fatalf("%d %v", code, out)
	}
	list, _ := s.Store.ListCreditApplications(context.Background(), "", 0)
	if _, err := s.Store.GetCustomer(context.Background(), "newco"); len(list) != 0 || !errors.Is(err, db.ErrNotFound) {
		t.Errorf("kept %d applications; customer: %v", len(list), err)
	}
}
