package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/workflows"
)

// fakeTemporal is the part of client.Client the create paths use. It
// behaves like Temporal with the id policies workflows.Client.StartInvoice
// sets: a second ExecuteWorkflow with a workflow id already started starts
// nothing and answers WorkflowExecutionAlreadyStarted. Every other method
// panics (nil embedded interface).
type fakeTemporal struct {
	client.Client

	mu      sync.Mutex
	calls   int               // ExecuteWorkflow calls
	started map[string]string // workflow id -> invoice number: the workflows started
	fail    map[string]bool   // invoice numbers whose start fails
}

func newFakeTemporal() *fakeTemporal {
	return &fakeTemporal{started: map[string]string{}, fail: map[string]bool{}}
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if wf != workflows.InvoiceWorkflowName || len(args) != 1 || opts.ID == "" {
		return nil, fmt.Errorf("fake temporal: unexpected start of %v with %d args, id %q", wf, len(args), opts.ID)
	}
	in, ok := args[0].(workflows.InvoiceInput)
	if !ok {
		return nil, fmt.Errorf("fake temporal: unexpected input %T", args[0])
	}
	if f.fail[in.Number] {
		return nil, errors.New("fake temporal: unavailable")
	}
	if _, ok := f.started[opts.ID]; ok {
		if opts.WorkflowExecutionErrorWhenAlreadyStarted {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run-"+opts.ID)
		}
		return fakeRun{id: opts.ID}, nil
	}
	f.started[opts.ID] = in.Number
	return fakeRun{id: opts.ID}, nil
}

// QueryWorkflow fails, so views fall back to the database.
func (f *fakeTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, errors.New("fake temporal: queries are not supported")
}

func (f *fakeTemporal) counts() (calls, started int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, len(f.started)
}

// workflowsFor counts the workflows started for an invoice number.
func (f *fakeTemporal) workflowsFor(number string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, num := range f.started {
		if num == number {
			n++
		}
	}
	return n
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-" + r.id }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type importEnv struct {
	s        *Server
	e        *echo.Echo
	temporal *fakeTemporal
	logs     *lockedBuffer
}

// newImportEnv serves the single-item endpoints and the imports the way
// Handler does (error handler, body limit), without authentication.
func newImportEnv(tb testing.TB, logs bool) *importEnv {
	tb.Helper()
	env := &importEnv{temporal: newFakeTemporal(), logs: &lockedBuffer{}}
	var h slog.Handler = slog.DiscardHandler
	if logs {
		h = slog.NewJSONHandler(env.logs, nil)
	}
	env.s = &Server{Store: db.NewStore(dbtest.SQLite(tb).DB), Temporal: env.temporal, Log: slog.New(h)}
	e := echo.New()
	e.HTTPErrorHandler = env.s.errorHandler
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, MaxBodyBytes)
			return next(c)
		}
	})
	v1 := e.Group("/v1")
	v1.POST("/customers", env.s.createCustomer)
	v1.POST("/invoices", env.s.createInvoice)
	env.s.importRoutes(v1)
	env.e = e
	return env
}

func (env *importEnv) post(path, contentType, accept string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set(echo.HeaderContentType, contentType)
	if accept != "" {
		req.Header.Set(echo.HeaderAccept, accept)
	}
	rec := httptest.NewRecorder()
	env.e.ServeHTTP(rec, req)
	return rec
}

func (env *importEnv) postJSON(t *testing.T, path string, v any, want int) {
	t.Helper()
	body, _ := json.Marshal(v)
	if rec := env.post(path, echo.MIMEApplicationJSON, "", body); rec.Code != want {
		t.Fatalf("POST %s: %d %s, want %d", path, rec.Code, rec.Body, want)
	}
}

func (env *importEnv) importFile(t *testing.T, kind, file string) ImportSummary {
	t.Helper()
	body, err := os.ReadFile("testdata/imports/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return env.importCSV(t, kind, body)
}

func (env *importEnv) importCSV(t *testing.T, kind string, body []byte) ImportSummary {
	t.Helper()
	rec := env.post("/v1/imports/"+kind, "text/csv", "", body)
	if rec.Code != http.StatusOK {
		t.Fatalf("import %s: %d %s", kind, rec.Code, rec.Body)
	}
	var sum ImportSummary
	if err := json.Unmarshal(rec.Body.Bytes(), &sum); err != nil {
		t.Fatalf("import %s: %v: %s", kind, err, rec.Body)
	}
	return sum
}

type rowErr struct {
	row         int
	field, code string
}

func checkSummary(t *testing.T, sum ImportSummary, total, created, existing, failed int, errs []rowErr) {
	t.Helper()
	if sum.Total != total || sum.Created != created || sum.Existing != existing || sum.Failed != failed {
		t.Errorf("total/created/existing/failed = %d/%d/%d/%d, want %d/%d/%d/%d",
			sum.Total, sum.Created, sum.Existing, sum.Failed, total, created, existing, failed)
	}
	var got []rowErr
	for _, e := range sum.Errors {
		got = append(got, rowErr{e.Row, e.Field, e.Code})
		if e.Message == "" {
			t.Errorf("row %d: no message", e.Row)
		}
	}
	if !slices.Equal(got, errs) {
		t.Errorf("errors:\n got %v\nwant %v\nfull: %+v", got, errs, sum.Errors)
	}
}

var wantCustomerErrors = []rowErr{
	{4, "name", CodeInvalid},
	{5, "email", CodeInvalid},
	{6, "phone", CodeInvalid},
	{7, "timezone", CodeInvalid},
	{8, "default_policy", CodeInvalid},
	{9, "id", CodeConflict},  // C-100 again in the file
	{12, "id", CodeConflict}, // C-110 stored with another email
	{13, "id", CodeInvalid},
	{14, "row", CodeInvalid}, // 5 fields
}

func TestImportCustomers(t *testing.T) {
	env := newImportEnv(t, false)
	ctx := context.Background()
	env.postJSON(t, "/v1/customers", CustomerRequest{ID: "C-109", Name: "Existing Co", Email: "ap@existing.example", Timezone: "UTC"}, http.StatusCreated)
	env.postJSON(t, "/v1/customers", CustomerRequest{ID: "C-110", Name: "Changed Co", Email: "ap@old.example", Timezone: "UTC"}, http.StatusCreated)

	sum := env.importFile(t, "customers", "customers.csv")
	checkSummary(t, sum, 15, 5, 1, 9, wantCustomerErrors)
	for _, e := range sum.Errors {
		t.Logf("row %d: %s %s: %s", e.Row, e.Field, e.Code, e.Message)
	}

	for _, id := range []string{"C-103", "C-104", "C-105", "C-106", "C-107", "C-111", "bad id!"} {
		if _, err := env.s.Store.GetCustomer(ctx, id); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("customer %q of a failed row: %v, want not found", id, err)
		}
	}
	if c, _ := env.s.Store.GetCustomer(ctx, "C-100"); c == nil || c.Name != "Acme GmbH" || c.Locale != "de" || c.Phone != "+4930123456" {
		t.Errorf("C-100 = %+v, want the first row's", c)
	}
	if c, _ := env.s.Store.GetCustomer(ctx, "C-110"); c == nil || c.Email != "ap@old.example" {
		t.Errorf("C-110 = %+v, want it unchanged", c)
	}
	if c, _ := env.s.Store.GetCustomer(ctx, "C-108"); c == nil || c.Name != "Quoted, Inc." || c.AccountManager != `Bob "The Closer" Smith` || c.Locale != "ja" {
		t.Errorf("C-108 = %+v, want the quoted fields", c)
	}
	if c, _ := env.s.Store.GetCustomer(ctx, "C-102"); c == nil || c.Locale != "en" {
		t.Errorf("C-102 = %+v, want the default locale", c)
	}

	again := env.importFile(t, "customers", "customers.csv")
	checkSummary(t, again, 15, 0, 6, 9, wantCustomerErrors)
}

var wantInvoiceErrors = []rowErr{
	{3, "amount", CodeInvalid},      // missing
	{4, "amount", CodeInvalid},      // "1,250.00"
	{5, "currency", CodeInvalid},    // ZZZ
	{6, "issued_at", CodeInvalid},   // not RFC 3339
	{7, "customer_id", CodeInvalid}, // no such customer
	{8, "number", CodeConflict},     // INV-1001 again in the file
	{12, "due_at", CodeInvalid},     // before issued_at
	{13, "amount", CodeInvalid},     // zero
	{14, "policy", CodeInvalid},     // unknown policy
	{16, "number", CodeConflict},    // INV-1016 stored with another amount
	{17, "number", CodeInvalid},     // missing
}

func TestImportInvoices(t *testing.T) {
	env := newImportEnv(t, false)
	ctx := context.Background()
	env.importFile(t, "customers", "customers.csv")
	// INV-1009 as the file has it; INV-1016 with another amount.
	env.postJSON(t, "/v1/invoices", InvoiceRequest{Number: "INV-1009", CustomerID: "C-101", Amount: "500.00", Currency: "GBP",
		IssuedAt: "2026-10-01T00:00:00Z", DueAt: "2026-10-31T00:00:00Z"}, http.StatusCreated)
	env.postJSON(t, "/v1/invoices", InvoiceRequest{Number: "INV-1016", CustomerID: "C-100", Amount: "70.00", Currency: "EUR",
		IssuedAt: "2026-11-12T00:00:00Z", DueAt: "2026-12-12T00:00:00Z"}, http.StatusCreated)
	if calls, started := env.temporal.counts(); calls != 2 || started != 2 {
		t.Fatalf("after seeding: %d calls, %d workflows", calls, started)
	}

	sum := env.importFile(t, "invoices", "invoices.csv")
	checkSummary(t, sum, 17, 5, 1, 11, wantInvoiceErrors)
	for _, e := range sum.Errors {
		t.Logf("row %d: %s %s: %s", e.Row, e.Field, e.Code, e.Message)
	}
	calls, started := env.temporal.counts()
	// 5 new workflows; INV-1009's existing one is checked (same id), as POST /v1/invoices does.
	if calls != 2+5+1 || started != 2+5 {
		t.Errorf("after the import: %d calls, %d workflows; want 8, 7", calls, started)
	}

	for _, n := range []string{"INV-1003", "INV-1004", "INV-1005", "INV-1006", "INV-1007", "INV-1012", "INV-1013", "INV-1014", ""} {
		if _, err := env.s.Store.GetInvoiceByNumber(ctx, n); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("invoice %q of a failed row: %v, want not found", n, err)
		}
	}
	if inv, _ := env.s.Store.GetInvoiceByNumber(ctx, "INV-1016"); inv == nil || inv.AmountMinor != 7000 {
		t.Errorf("INV-1016 = %+v, want it unchanged", inv)
	}
	if inv, _ := env.s.Store.GetInvoiceByNumber(ctx, "INV-1015"); inv == nil || inv.Currency != "USD" || inv.AmountMinor != 1500 || inv.PolicyName != "standard" {
		t.Errorf("INV-1015 = %+v", inv)
	}
	if inv, _ := env.s.Store.GetInvoiceByNumber(ctx, "INV-1011"); inv == nil || inv.PolicyName != "demo" || inv.CustomerID != "C-112" {
		t.Errorf("INV-1011 = %+v", inv)
	}
	if inv, _ := env.s.Store.GetInvoiceByNumber(ctx, "INV-1010"); inv == nil || inv.AmountMinor != 100000 ||
		!inv.DueAt.Equal(time.Date(2026, 12, 5, 0, 0, 0, 123456000, time.UTC)) {
		t.Errorf("INV-1010 = %+v", inv)
	}
	list, err := env.s.Store.ListInvoices(ctx, db.InvoiceFilter{})
	if err != nil || len(list) != 7 {
		t.Fatalf("%d invoices stored (%v), want 7", len(list), err)
	}

	again := env.importFile(t, "invoices", "invoices.csv")
	checkSummary(t, again, 17, 0, 6, 11, wantInvoiceErrors)
	calls2, started2 := env.temporal.counts()
	if started2 != started {
		t.Errorf("re-posting started %d workflows", started2-started)
	}
	if calls2 != calls+6 { // each existing invoice's workflow checked once, under its own id
		t.Errorf("re-posting made %d ExecuteWorkflow calls, want 6", calls2-calls)
	}
	list, _ = env.s.Store.ListInvoices(ctx, db.InvoiceFilter{})
	if len(list) != 7 {
		t.Errorf("%d invoices after re-posting, want 7", len(list))
	}
	for _, inv := range list {
		if n := env.temporal.workflowsFor(inv.Number); n != 1 {
			t.Errorf("invoice %s has %d workflows", inv.Number, n)
		}
	}
}

// A row whose workflow does not start is reported unavailable, and its
// invoice is kept: the start may have happened (an error does not prove it
// did not), and importing the same file again finishes it, with one
// workflow per invoice.
func TestImportInvoiceWorkflowFails(t *testing.T) {
	env := newImportEnv(t, false)
	env.postJSON(t, "/v1/customers", CustomerRequest{ID: "C-1", Name: "One", Email: "ap@one.example", Timezone: "UTC"}, http.StatusCreated)
	env.temporal.fail["INV-2"] = true
	file := []byte("number,customer_id,amount,currency,issued_at,due_at\n" +
		"INV-1,C-1,10.00,EUR,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z\n" +
		"INV-2,C-1,20.00,EUR,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z\n" +
		"INV-3,C-1,30.00,EUR,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z\n")
	sum := env.importCSV(t, "invoices", file)
	checkSummary(t, sum, 3, 2, 0, 1, []rowErr{{2, "", CodeUnavailable}})
	if _, err := env.s.Store.GetInvoiceByNumber(context.Background(), "INV-2"); err != nil {
		t.Fatalf("INV-2 not kept: %v", err)
	}
	if n := env.temporal.workflowsFor("INV-2"); n != 0 {
		t.Fatalf("INV-2 has %d workflows before the retry", n)
	}
	delete(env.temporal.fail, "INV-2")
	sum = env.importCSV(t, "invoices", file)
	checkSummary(t, sum, 3, 0, 3, 0, nil)
	for _, number := range []string{"INV-1", "INV-2", "INV-3"} {
		if n := env.temporal.workflowsFor(number); n != 1 {
			t.Errorf("%s has %d workflows, want 1", number, n)
		}
	}
}

// startTimesOut starts the workflow and then answers as if the start had
// timed out: what a client sees when Temporal's answer is lost.
type startTimesOut struct {
	*fakeTemporal
	times int // how many starts time out
}

func (f *startTimesOut) ExecuteWorkflow(ctx context.Context, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	run, err := f.fakeTemporal.ExecuteWorkflow(ctx, opts, wf, args...)
	if err != nil || f.times == 0 {
		return run, err
	}
	f.times--
	return nil, context.DeadlineExceeded
}

// Creating an invoice converges: a start that errs after starting keeps the
// invoice and answers 503 saying to retry; the retry answers the invoice
// with exactly one workflow.
func TestCreateInvoiceStartTimesOut(t *testing.T) {
	env := newImportEnv(t, false)
	timeouts := &startTimesOut{fakeTemporal: env.temporal, times: 1}
	env.s.Temporal = timeouts
	env.postJSON(t, "/v1/customers", CustomerRequest{ID: "C-1", Name: "One", Email: "ap@one.example", Timezone: "UTC"}, http.StatusCreated)
	req := InvoiceRequest{Number: "INV-T", CustomerID: "C-1", Amount: "10.00", Currency: "EUR",
		IssuedAt: "2026-11-01T00:00:00Z", DueAt: "2026-12-01T00:00:00Z"}
	body, _ := json.Marshal(req)
	rec := env.post("/v1/invoices", echo.MIMEApplicationJSON, "", body)
	var failed struct{ Error Error }
	_ = json.Unmarshal(rec.Body.Bytes(), &failed)
	if rec.Code != http.StatusServiceUnavailable || failed.Error.Code != CodeUnavailable || !strings.Contains(failed.Error.Message, "retry") {
		t.Fatalf("POST with a start that times out: %d %s, want 503 saying to retry", rec.Code, rec.Body)
	}
	stored, err := env.s.Store.GetInvoiceByNumber(context.Background(), "INV-T")
	if err != nil {
		t.Fatalf("the invoice was not kept: %v", err)
	}
	rec = env.post("/v1/invoices", echo.MIMEApplicationJSON, "", body)
	var got InvoiceView
	_ = json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != http.StatusOK || got.ID != stored.ID || got.Number != "INV-T" {
		t.Fatalf("retry: %d %s, want 200 with invoice %s", rec.Code, rec.Body, stored.ID)
	}
	if n := env.temporal.workflowsFor("INV-T"); n != 1 {
		t.Errorf("INV-T has %d workflows, want 1", n)
	}
	if calls, _ := env.temporal.counts(); calls != 2 {
		t.Errorf("%d starts, want 2 (the one that timed out, the retry's)", calls)
	}
}

func TestImportRejectsBadFiles(t *testing.T) {
	env := newImportEnv(t, false)
	var tooMany strings.Builder
	tooMany.WriteString("id,name,email,timezone\n")
	for i := range MaxImportRows + 1 {
		fmt.Fprintf(&tooMany, "T-%d,n,a@b.example,UTC\n", i)
	}
	for _, tc := range []struct {
		name, kind, contentType, body string
		status                        int
		code, field, message          string
	}{
		{"unknown column", "customers", "text/csv", "id,name,email,timezone,colour\nC-1,n,a@b.example,UTC,red\n",
			400, CodeInvalid, "colour", "colour: unknown column"},
		{"missing columns", "invoices", "text/csv", "number,customer_id,amount,policy\nINV-1,C-1,1.00,\n",
			400, CodeInvalid, "currency", "currency, issued_at, due_at"},
		{"column twice", "customers", "text/csv", "id,name,email,timezone,Name\n", 400, CodeInvalid, "name", "twice"},
		{"unnamed column", "customers", "text/csv", "id,name,,email,timezone\n", 400, CodeInvalid, "body", "column 3 has no name"},
		{"empty", "customers", "text/csv", "", 400, CodeInvalid, "body", "header row"},
		{"bad quote", "customers", "text/csv", "id,name,email,timezone\nC-1,n,a@b.example,UTC\nC-2,Ac\"me,a@b.example,UTC\n",
			400, CodeInvalid, "body", "malformed CSV at line 3"},
		{"unclosed quote", "customers", "text/csv", "id,name,email,timezone\nC-1,\"n,a@b.example,UTC\nC-2,x,a@b.example,UTC\n",
			400, CodeInvalid, "body", "row starting at line 2"},
		{"not utf-8", "customers", "text/csv", "id,name,email,timezone\nC-1,M\xfcller,a@b.example,UTC\n", 400, CodeInvalid, "body", "line 2"},
		{"NUL", "customers", "text/csv", "id,name,email,timezone\nC-1,a\x00b,a@b.example,UTC\n", 400, CodeInvalid, "body", "NUL byte (line 2)"},
		{"too many rows", "customers", "text/csv", tooMany.String(), 400, CodeTooManyRows, "body", "more than 10000 rows"},
		{"json", "customers", "application/json", `{"id":"C-1"}`, 415, CodeInvalid, "Content-Type", "text/csv"},
		{"latin-1", "customers", "text/csv; charset=iso-8859-1", "id,name,email,timezone\n", 415, CodeInvalid, "Content-Type", "UTF-8"},
		{"no boundary", "customers", "multipart/form-data", "x", 400, CodeInvalid, "Content-Type", "boundary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.post("/v1/imports/"+tc.kind, tc.contentType, "", []byte(tc.body))
			var body struct{ Error Error }
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != tc.status || body.Error.Code != tc.code || body.Error.Field != tc.field || !strings.Contains(body.Error.Message, tc.message) {
				t.Errorf("%d %s; want %d %s %s %q", rec.Code, rec.Body, tc.status, tc.code, tc.field, tc.message)
			}
		})
	}
	for _, id := range []string{"C-1", "C-2", "T-0"} {
		if _, err := env.s.Store.GetCustomer(context.Background(), id); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("customer %s stored by a rejected file: %v", id, err)
		}
	}

	// A header alone (with a BOM, odd case and spaces) is an empty import.
	sum := env.importCSV(t, "customers", []byte("\ufeffID, Name ,EMAIL,timezone\r\n"))
	checkSummary(t, sum, 0, 0, 0, 0, nil)
}

func TestImportMultipart(t *testing.T) {
	env := newImportEnv(t, false)
	form := func(field string) (string, []byte) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.WriteField("note", "first the note, then the file")
		fw, _ := w.CreateFormFile(field, "customers.csv")
		_, _ = fw.Write([]byte("id,name,email,timezone\nC-1,One,ap@one.example,UTC\nC-2,Two,bad,UTC\n"))
		_ = w.Close()
		return w.FormDataContentType(), b.Bytes()
	}
	ct, body := form("file")
	rec := env.post("/v1/imports/customers", ct, "", body)
	var sum ImportSummary
	if err := json.Unmarshal(rec.Body.Bytes(), &sum); rec.Code != 200 || err != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	checkSummary(t, sum, 2, 1, 0, 1, []rowErr{{2, "email", CodeInvalid}})

	ct, body = form("upload")
	if rec := env.post("/v1/imports/customers", ct, "", body); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"file"`) {
		t.Errorf("without a file field: %d %s", rec.Code, rec.Body)
	}
}

func TestImportNDJSONProgress(t *testing.T) {
	env := newImportEnv(t, true)
	var b strings.Builder
	b.WriteString("id,name,email,timezone\n")
	for i := 1; i <= 1200; i++ {
		email := fmt.Sprintf("ap%d@example.com", i)
		if i%100 == 0 {
			email = "not an email"
		}
		fmt.Fprintf(&b, "C-%d,Customer %d,%s,Europe/Berlin\n", i, i, email)
	}
	rec := env.post("/v1/imports/customers", "text/csv", "application/json;q=0.5, application/x-ndjson", []byte(b.String()))
	if rec.Code != 200 || rec.Header().Get(echo.HeaderContentType) != MIMENDJSON || !rec.Flushed {
		t.Fatalf("%d %q flushed=%v", rec.Code, rec.Header().Get(echo.HeaderContentType), rec.Flushed)
	}
	var lines []string
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 2 progress lines and the summary:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, want := range []ImportProgress{{Rows: 500, Total: 1200, Created: 495, Failed: 5}, {Rows: 1000, Total: 1200, Created: 990, Failed: 10}} {
		var got map[string]ImportProgress
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil || got["progress"] != want {
			t.Errorf("line %d = %s, want progress %+v", i+1, lines[i], want)
		}
	}
	var sum ImportSummary
	if err := json.Unmarshal([]byte(lines[2]), &sum); err != nil {
		t.Fatal(err)
	}
	var errs []rowErr
	for i := 100; i <= 1200; i += 100 {
		errs = append(errs, rowErr{i, "email", CodeInvalid})
	}
	checkSummary(t, sum, 1200, 1188, 0, 12, errs)

	var progress []int
	for line := range strings.SplitSeq(env.logs.String(), "\n") {
		var l struct {
			Msg                   string
			Kind                  string
			Rows, Created, Failed int
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "import progress" && l.Kind == "customers" {
			progress = append(progress, l.Rows)
		}
	}
	if !slices.Equal(progress, []int{500, 1000}) {
		t.Errorf("progress logged at rows %v, want [500 1000]", progress)
	}

	// Without the Accept, the same file answers one JSON document.
	if rec := env.post("/v1/imports/customers", "text/csv", "", []byte(b.String())); rec.Code != 200 ||
		!strings.HasPrefix(rec.Header().Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		t.Errorf("%d %q", rec.Code, rec.Header().Get(echo.HeaderContentType))
	}
}

// A middleware's writer that cannot flush (as the idempotency recorder)
// gets the stream at the end, without echo's Flush panicking.
func TestImportNDJSONWithoutFlusher(t *testing.T) {
	env := newImportEnv(t, false)
	env.e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Writer = struct{ http.ResponseWriter }{c.Response().Writer}
			return next(c)
		}
	})
	rec := env.post("/v1/imports/customers", "text/csv", MIMENDJSON, []byte("id,name,email,timezone\nC-1,One,ap@one.example,UTC\n"))
	var sum ImportSummary
	if err := json.Unmarshal(rec.Body.Bytes(), &sum); rec.Code != 200 || err != nil || sum.Created != 1 || rec.Flushed {
		t.Errorf("%d %s flushed=%v", rec.Code, rec.Body, rec.Flushed)
	}
}

// The columns are the requests' JSON fields, so they cannot drift apart.
func TestImportColumnsMatchRequests(t *testing.T) {
	for _, tc := range []struct {
		kind *importKind
		req  any
	}{{&customerImport, CustomerRequest{}}, {&invoiceImport, InvoiceRequest{}}} {
		var fields []string
		typ := reflect.TypeOf(tc.req)
		for i := range typ.NumField() {
			if !typ.Field(i).IsExported() {
				continue
			}
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			fields = append(fields, name)
		}
		if !slices.Equal(fields, tc.kind.columns) {
			t.Errorf("%s columns %v, want %v", tc.kind.name, tc.kind.columns, fields)
		}
		if !slices.Contains(tc.kind.columns, tc.kind.key) {
			t.Errorf("%s key %q is no column", tc.kind.name, tc.kind.key)
		}
	}
}

func FuzzImportInvoicesCSV(f *testing.F) {
	for _, file := range []string{"invoices.csv", "customers.csv"} {
		b, err := os.ReadFile("testdata/imports/" + file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte("number,customer_id,amount,currency,issued_at,due_at\nINV-F,C-100,1.00,EUR,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z\n"), false)
	f.Add([]byte("number,customer_id,amount,currency,issued_at,due_at,policy\n\"a\"\"b\",C-100,1,JPY,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z,demo\n"), true)
	f.Add([]byte("\ufeffnumber,customer_id,amount,currency,issued_at,due_at\r\n,,,,,\r\n"), false)
	f.Add([]byte("number\n\"unterminated\n"), false)
	f.Add([]byte{}, false)

	env := newImportEnv(f, false)
	customers, err := os.ReadFile("testdata/imports/customers.csv")
	if err != nil {
		f.Fatal(err)
	}
	if rec := env.post("/v1/imports/customers", "text/csv", "", customers); rec.Code != 200 {
		f.Fatalf("customers: %d %s", rec.Code, rec.Body)
	}

	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		if len(body) > 64<<10 {
			t.Skip("large bodies only cost time")
		}
		accept := ""
		if stream {
			accept = MIMENDJSON
		}
		rec := env.post("/v1/imports/invoices", "text/csv", accept, body)
		if rec.Code >= 500 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if rec.Code != 200 {
			var e struct{ Error Error }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d without an error body: %s", rec.Code, rec.Body)
			}
			return
		}
		out := rec.Body.Bytes()
		if stream {
			lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
			out = lines[len(lines)-1]
		}
		var sum ImportSummary
		if err := json.Unmarshal(out, &sum); err != nil {
			t.Fatalf("summary: %v: %s", err, rec.Body)
		}
		if sum.Created+sum.Existing+sum.Failed != sum.Total || len(sum.Errors) != sum.Failed {
			t.Fatalf("counts do not add up: %+v", sum)
		}
		last := 0
		for _, e := range sum.Errors {
			if e.Row <= last || e.Row > sum.Total || e.Code == CodeInternal || e.Code == CodeUnavailable {
				t.Fatalf("row error %+v (after row %d of %d)", e, last, sum.Total)
			}
			last = e.Row
		}
	})
}
