package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestSpecLoads(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if sp.doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi: %q, want 3.0.3", sp.doc.OpenAPI)
	}
	if _, ok := sp.doc.Components.SecuritySchemes["bearerAuth"]; !ok {
		t.Error("components.securitySchemes.bearerAuth is missing")
	}
	ids := map[string]string{}
	for path, item := range sp.doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", at)
			} else if other, ok := ids[op.OperationID]; ok {
				t.Errorf("%s: operationId %q is also used by %s", at, op.OperationID, other)
			}
			ids[op.OperationID] = at
			if len(op.Tags) == 0 || op.Summary == "" {
				t.Errorf("%s: needs a tag and a summary", at)
			}
			// The open routes are exactly those the authenticate middleware
			// lets through without a key.
			open := op.Security != nil && len(*op.Security) == 0
			if want := openPath(path); open != want {
				t.Errorf("%s: open (security: []) is %v, want %v", at, open, want)
			}
			if !open && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s: needs a bearer key but documents no 401", at)
			}
			if op.RequestBody != nil && op.Responses.Status(http.StatusRequestEntityTooLarge) == nil {
				t.Errorf("%s: takes a body but documents no 413", at)
			}
		}
	}
}

func openPath(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/openapi.yaml", "/docs":
		return true
	}
	return strings.HasPrefix(path, "/webhooks/")
}

// The spec's routes, until Handler registers them (s.specRoutes(e)).
var specRoutePaths = []string{"GET /openapi.yaml", "GET /docs"}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestSpecMatchesRoutes is the drift check: every route Handler registers is
// described in openapi.yaml with the same method, and every operation
// openapi.yaml describes is registered.
func TestSpecMatchesRoutes(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, r := range (&Server{}).Handler().Routes() {
		if !slices.Contains(httpMethods, r.Method) {
			continue // Echo's own entries, such as a group's route-not-found
		}
		if isPage(r.Path) {
			continue // the collectors' HTML pages (package deskpage), not API operations
		}
		registered[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	for _, r := range specRoutePaths {
		if !registered[r] {
			t.Logf("%s is not registered by Handler yet: add s.specRoutes(e) to Handler", r)
			registered[r] = true
		}
	}
	described := map[string]bool{}
	for path, item := range sp.doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	var undocumented, unregistered []string
	for r := range registered {
		if !described[r] {
			undocumented = append(undocumented, r)
		}
	}
	for r := range described {
		if !registered[r] {
			unregistered = append(unregistered, r)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(unregistered)
	if len(undocumented) > 0 {
		t.Errorf("routes Handler registers that api/openapi.yaml does not describe:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unregistered) > 0 {
		t.Errorf("operations api/openapi.yaml describes that Handler does not register:\n  %s", strings.Join(unregistered, "\n  "))
	}
}

var httpMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect}

func TestSpecRoutesServeTheDocument(t *testing.T) {
	e := echo.New()
	(&Server{}).specRoutes(e)

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if rec.Code != http.StatusOK || rec.Header().Get(echo.HeaderContentType) != "application/yaml" {
		t.Errorf("GET /openapi.yaml: %d %q", rec.Code, rec.Header().Get(echo.HeaderContentType))
	}
	if rec.Body.String() != string(openAPIDocument) {
		t.Error("GET /openapi.yaml does not serve the embedded document")
	}

	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs", nil))
	page := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get(echo.HeaderContentType), "text/html") {
		t.Errorf("GET /docs: %d %q", rec.Code, rec.Header().Get(echo.HeaderContentType))
	}
	if !strings.Contains(page, `url: "openapi.yaml"`) || !regexp.MustCompile(`(?s)<noscript>.*href="openapi.yaml".*</noscript>`).MatchString(page) {
		t.Error("GET /docs: the page must point its viewer at openapi.yaml and link to it in <noscript>")
	}
}

// A valid POST /v1/invoices body; the cases below break one thing each.
const validInvoiceBody = `{"number": "INV-1001", "customer_id": "acme", "amount": "1250.00", "currency": "EUR",
	"issued_at": "2026-11-01T00:00:00Z", "due_at": "2026-12-01T00:00:00Z", "policy": "demo"}`

func withInvoice(change func(map[string]any)) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(validInvoiceBody), &m); err != nil {
		panic(err)
	}
	change(m)
	b, _ := json.Marshal(m)
	return string(b)
}

// validate runs one request through validateRequests with a stub handler
// that decodes the body as the real handlers do. It returns the
// middleware's error and whether the stub ran (and what it decoded).
func validate(t *testing.T, method, target, contentType, body string, header ...string) (error, bool) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	req.Body = http.MaxBytesReader(rec, req.Body, MaxBodyBytes)
	c := echo.New().NewContext(req, rec)
	ran := false
	next := func(c echo.Context) error {
		ran = true
		return nil
	}
	err := (&Server{}).validateRequests()(next)(c)
	return err, ran
}

func TestValidationRejectsInvoiceBodies(t *testing.T) {
	for _, tc := range []struct {
		name, body, field, message string
	}{
		{"unknown field", withInvoice(func(m map[string]any) { m["colour"] = "red" }), "colour", "colour: unknown field"},
		{"number for a string", withInvoice(func(m map[string]any) { m["number"] = 1001 }), "number", "number: must be a string"},
		{"number for an amount", withInvoice(func(m map[string]any) { m["amount"] = 1250 }), "amount", `amount: must be a decimal string such as "1250.00"`},
		{"malformed date-time", withInvoice(func(m map[string]any) { m["due_at"] = "2026-12-01" }), "due_at", "due_at: must be an RFC 3339 time such as 2026-12-01T00:00:00Z"},
		{"missing required field", withInvoice(func(m map[string]any) { delete(m, "currency") }), "currency", "currency: is required"},
		{"amount pattern", withInvoice(func(m map[string]any) { m["amount"] = "1,250.00" }), "amount", `amount: must be a decimal string such as "1250.00"`},
		{"negative amount", withInvoice(func(m map[string]any) { m["amount"] = "-5" }), "amount", `amount: must be a decimal string such as "1250.00"`},
		{"currency pattern", withInvoice(func(m map[string]any) { m["currency"] = "EURO" }), "currency", "currency: must be a 3-letter ISO 4217 code such as EUR"},
		{"null for a string", withInvoice(func(m map[string]any) { m["policy"] = nil }), "policy", "policy: must be a string, not null"},
		{"a list, not an object", `["INV-1001"]`, "body", "body: must be a JSON object"},
		{"malformed JSON", `{"number": "INV-1001",`, "body", "body: malformed JSON"},
		{"no body", ``, "body", "body: a JSON object is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err, ran := validate(t, http.MethodPost, "/v1/invoices", echo.MIMEApplicationJSON, tc.body)
			assertInvalid(t, err, tc.field, tc.message)
			if ran {
				t.Error("the handler ran on an invalid body")
			}
		})
	}
}

func assertInvalid(t *testing.T, err error, field, message string) {
	t.Helper()
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want a 400 naming %s", err, field)
	}
	if apiErr.Status != http.StatusBadRequest || apiErr.Code != CodeInvalid || apiErr.Field != field {
		t.Errorf("got %d %s field %q (%s), want 400 %s field %q", apiErr.Status, apiErr.Code, apiErr.Field, apiErr.Message, CodeInvalid, field)
	}
	if !strings.HasPrefix(apiErr.Message, message) {
		t.Errorf("message %q, want it to start with %q", apiErr.Message, message)
	}
}

func TestValidationPassesAValidBodyOn(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/v1/invoices", strings.NewReader(validInvoiceBody))
	// curl -d sends a form content type; the handlers read JSON regardless.
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(req, rec)
	var got InvoiceRequest
	ran := false
	next := func(c echo.Context) error {
		ran = true
		return decode(c, &got)
	}
	if err := (&Server{}).validateRequests()(next)(c); err != nil {
		t.Fatalf("a valid body was refused: %v", err)
	}
	if !ran {
		t.Fatal("the handler did not run")
	}
	want := InvoiceRequest{Number: "INV-1001", CustomerID: "acme", Amount: "1250.00", Currency: "EUR",
		IssuedAt: "2026-11-01T00:00:00Z", DueAt: "2026-12-01T00:00:00Z", Policy: "demo"}
	if got != want {
		t.Errorf("the handler decoded %+v, want %+v", got, want)
	}
}

// Through Echo, as Handler serves: the error goes out as the API's error body.
func TestValidationErrorBody(t *testing.T) {
	s := &Server{}
	e := echo.New()
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.validateRequests())
	e.POST("/v1/invoices", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v1/invoices", strings.NewReader(withInvoice(func(m map[string]any) { m["amount"] = 12.5 })))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	e.ServeHTTP(rec, req)
	var body struct{ Error Error }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusBadRequest || body.Error.Code != CodeInvalid || body.Error.Field != "amount" {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}

	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/nothing-here", strings.NewReader(`{"x": 1}`)))
	if rec.Code != http.StatusNotFound {
		t.Errorf("an unknown route: got %d %s, want Echo's 404", rec.Code, rec.Body)
	}
}

func TestValidationOfOtherRequests(t *testing.T) {
	const gentle = `{"name": "gentle", "steps": [
		{"id": "notify", "stage": "notified", "anchor": "issue", "offset": "0d", "channels": ["email"], "template": "invoice"},
		{"id": "remind", "stage": "reminded", "anchor": "due", "offset": "-3d", "channels": ["email"], "template": "reminder"}]}`
	for _, tc := range []struct {
		name, method, target, contentType, body string
		header                                  []string
		field, message                          string // "" for a request that passes
	}{
		{name: "limit not a number", method: "GET", target: "/v1/invoices?limit=abc", field: "limit", message: "limit: must be a whole number from 1 to 500"},
		{name: "limit too large", method: "GET", target: "/v1/outbox?limit=501", field: "limit", message: "limit: must be a whole number from 1 to 500"},
		{name: "limit ok", method: "GET", target: "/v1/tasks?limit=20&status=open"},
		{name: "empty filters are absent ones", method: "GET", target: "/v1/invoices?customer_id=&stage=&limit="},
		{name: "unknown stage", method: "GET", target: "/v1/invoices?stage=lost", field: "stage", message: "stage: must be one of issued, notified"},
		{name: "task status", method: "GET", target: "/v1/tasks?status=closed", field: "status", message: "status: must be one of open, done"},
		{name: "preview without a step", method: "GET", target: "/v1/invoices/x/preview", field: "step", message: "step: is required"},
		{name: "preview channel", method: "GET", target: "/v1/invoices/x/preview?step=remind&channel=fax", field: "channel"},
		{name: "payment amount", method: "POST", target: "/v1/invoices/x/payments", body: `{"amount": "ten", "currency": "EUR", "reference": "tx-1"}`, field: "amount"},
		{name: "pause until, through allOf", method: "POST", target: "/v1/invoices/x/pause", body: `{"until": "tomorrow"}`, field: "until", message: "until: must be an RFC 3339 time"},
		{name: "pause without until", method: "POST", target: "/v1/invoices/x/pause", body: `{"reason": "talks"}`},
		{name: "resume with {}", method: "POST", target: "/v1/invoices/x/resume", body: `{}`},
		{name: "dispute reason", method: "POST", target: "/v1/invoices/x/disputes", body: `{"reason": "too expensive"}`, field: "reason", message: "reason: must be one of wrong_amount"},
		{name: "decision", method: "POST", target: "/v1/invoices/x/escalation/decision", body: `{"decision": "extend", "until": "2027-02-01T00:00:00Z"}`},
		{name: "idempotency key too long", method: "POST", target: "/v1/invoices/x/cancel", body: `{"reason": "error"}`, header: []string{"Idempotency-Key", strings.Repeat("k", 256)}, field: "Idempotency-Key"},
		{name: "patch with null", method: "PATCH", target: "/v1/customers/acme", body: `{"phone": null, "email": "billing@acme.example"}`},
		{name: "patch an id", method: "PATCH", target: "/v1/customers/acme", body: `{"id": "other"}`, field: "id", message: "id: unknown field"},
		{name: "customer", method: "POST", target: "/v1/customers", body: `{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.example", "timezone": "Europe/Berlin"}`},
		{name: "task outcome type", method: "POST", target: "/v1/tasks/t1/complete", body: `{"outcome": true}`, field: "outcome", message: "outcome: must be a string"},
		{name: "policy", method: "POST", target: "/v1/policies", body: gentle},
		{name: "policy step template", method: "POST", target: "/v1/policies", body: strings.Replace(gentle, `"reminder"`, `"nagging"`, 1), field: "steps[1].template", message: "steps[1].template: must be one of invoice, reminder"},
		{name: "policy step unknown field", method: "POST", target: "/v1/policies", body: strings.Replace(gentle, `"stage": "reminded"`, `"stag": "reminded"`, 1), field: "steps[1].stag", message: "steps[1].stag: unknown field"},
		{name: "policy as YAML", method: "POST", target: "/v1/policies", contentType: "application/yaml",
			body: "name: gentle\nsteps:\n  - {id: notify, anchor: issue, offset: 0d, channels: [email], template: invoice}\ncontact_cap:\n"},
		{name: "policy as YAML, unknown field", method: "POST", target: "/v1/policies", contentType: "application/yaml",
			body: "name: gentle\nsteps:\n  - {id: notify, anchor: issue, offset: 0d, chanels: [email]}\n", field: "steps[0].chanels"},
		{name: "policy YAML that does not parse is the handler's", method: "POST", target: "/v1/policies", contentType: "application/yaml", body: "name: [gentle\n"},
		{name: "webhooks are not checked", method: "POST", target: "/webhooks/sendgrid", body: `not json`},
		{name: "routes outside the document pass", method: "POST", target: "/v1/unknown", body: `not json`},
		{name: "methods outside the document pass", method: "DELETE", target: "/v1/invoices/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			if ct == "" && tc.body != "" {
				ct = echo.MIMEApplicationJSON
			}
			err, ran := validate(t, tc.method, tc.target, ct, tc.body, tc.header...)
			if tc.field == "" {
				if err != nil || !ran {
					t.Fatalf("refused (%v) or did not reach the handler (%v)", err, ran)
				}
				return
			}
			assertInvalid(t, err, tc.field, tc.message)
			if ran {
				t.Error("the handler ran on an invalid request")
			}
		})
	}
}

func TestValidationBodyTooLarge(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/v1/invoices", strings.NewReader(validInvoiceBody))
	rec := httptest.NewRecorder()
	req.Body = http.MaxBytesReader(rec, req.Body, 16)
	c := echo.New().NewContext(req, rec)
	err := (&Server{}).validateRequests()(func(echo.Context) error { return nil })(c)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusRequestEntityTooLarge || apiErr.Field != "body" {
		t.Errorf("got %v, want a 413 naming the body", err)
	}
}
