package deskpage

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

// fakeTemporal stands in for the invoices' workflows: it records the
// updates and signals the forms' actions send, and accepts them unless
// refuse is set. Status queries fail, so the saved status is used.
type fakeTemporal struct {
	client.Client
	mu      sync.Mutex
	updates []client.UpdateWorkflowOptions
	signals []string
	refuse  error
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, o)
	return fakeHandle{o: o, err: f.refuse}, nil
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, workflowID, _, name string, _ any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, name+" "+workflowID)
	return nil
}

func (f *fakeTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, errors.New("no live status in this test")
}

func (f *fakeTemporal) sent() (updates []client.UpdateWorkflowOptions, signals []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]client.UpdateWorkflowOptions(nil), f.updates...), append([]string(nil), f.signals...)
}

type fakeHandle struct {
	o   client.UpdateWorkflowOptions
	err error
}

func (h fakeHandle) WorkflowID() string { return h.o.WorkflowID }
func (h fakeHandle) RunID() string      { return "" }
func (h fakeHandle) UpdateID() string   { return h.o.UpdateID }
func (h fakeHandle) Get(_ context.Context, v any) error {
	if h.err != nil {
		return h.err
	}
	return json.Unmarshal([]byte(`{}`), v)
}

type actEnv struct {
	*pageEnv
	tc *fakeTemporal
}

// newActEnv is the page test's book with the forms on (a collect.Service
// over the same store) and keys of every role.
func newActEnv(t *testing.T, d dbtest.Database) *actEnv {
	env := &actEnv{pageEnv: newPageEnv(t, d), tc: &fakeTemporal{}}
	svc := &collect.Service{Store: env.store, Workflows: &workflows.Client{Temporal: env.tc}, Clock: func() time.Time { return env.now },
		Log: slog.New(slog.DiscardHandler)}
	env.pg = New(Config{Store: env.store, Cases: svc, Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return env.now }})
	e := echo.New()
	env.pg.Routes(e)
	env.h = e
	addKey(t, env.store, "ck_desk_rw_secret", "mia's desk", db.RoleReadWrite, env.now)
	addKey(t, env.store, "ck_desk_mgr_secret", "lea (manager)", db.RoleManager, env.now)
	ctx := context.Background()
	if _, _, err := env.store.ClaimTask(ctx, &db.Task{ID: "task-1", InvoiceID: "inv-old", CustomerID: "acme", Key: "call:1", Kind: "call",
		Assignee: "mia@ar.test", Title: "Call Acme about A-OLD", Status: db.TaskOpen, DueAt: env.now, CreatedAt: env.now}); err != nil {
		t.Fatal(err)
	}
	// A-NEW is escalated, awaiting management's decision.
	if err := env.store.SaveStatus(ctx, invoice.Status{InvoiceID: "inv-new", Stage: invoice.StageEscalated, AmountMinor: 40000,
		BalanceMinor: 40000, Currency: "EUR", DueAt: env.now.AddDate(0, 0, -10), PolicyName: "standard", PolicyVersion: 1,
		Escalation: &invoice.Escalation{At: env.now, Deadline: env.now.AddDate(0, 0, 7)}}, env.now); err != nil {
		t.Fatal(err)
	}
	// B-1 is with the agency.
	if err := env.store.SaveStatus(ctx, invoice.Status{InvoiceID: "inv-b1", Stage: invoice.StageAgency, AmountMinor: 9000,
		BalanceMinor: 9000, Currency: "EUR", DueAt: env.now.AddDate(0, 0, -20), PolicyName: "standard", PolicyVersion: 1}, env.now); err != nil {
		t.Fatal(err)
	}
	return env
}

// signIn opens a session with a key and reads the anti-forgery token from
// the account page.
func (env *actEnv) signIn(key string) (*http.Cookie, string) {
	env.t.Helper()
	ck := sessionCookie(env.t, env.login(key, "/desk/"))
	rec := env.get("/desk/customers/acme", ck)
	if rec.Code != 200 {
		env.t.Fatalf("account page: %d", rec.Code)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		return ck, ""
	}
	return ck, m[1]
}

func (env *actEnv) post(path string, ck *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ck != nil {
		req.AddCookie(ck)
	}
	return env.do(req)
}

func (env *actEnv) notes(invoiceID string) []db.Note {
	env.t.Helper()
	n, err := env.store.ListNotes(context.Background(), "acme", invoiceID)
	if err != nil {
		env.t.Fatal(err)
	}
	return n
}

func TestActions(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) { testActions(t, d) })
	}
}

func testActions(t *testing.T, d dbtest.Database) {
	env := newActEnv(t, d)
	ck, csrf := env.signIn("ck_desk_rw_secret")
	if csrf == "" {
		t.Fatal("no anti-forgery token on a read-write key's account page")
	}
	page := env.get("/desk/customers/acme", ck).Body.String()
	for _, want := range []string{`action="/desk/invoices/inv-old/calls"`, `action="/desk/invoices/inv-old/payments"`,
		`action="/desk/invoices/inv-old/notes"`, `action="/desk/invoices/inv-old/disputes"`, `action="/desk/invoices/inv-old/pause"`,
		`action="/desk/customers/acme/notes"`, `action="/desk/tasks/task-1/complete"`, `action="/desk/tasks/task-1/reassign"`,
		`<label for="call-inv-old-outcome">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the account page has no %s", want)
		}
	}
	// Management's form is for managers only; nothing to resume, nothing to resolve.
	for _, absent := range []string{`/escalation/decision"`, `action="/desk/invoices/inv-old/resume"`, `action="/desk/invoices/inv-old/disputes/resolve"`} {
		if strings.Contains(page, absent) {
			t.Errorf("a read-write key's account page has %s", absent)
		}
	}
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf}, "nonce": {"n0123456789abcdefXYZ"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	doneFor := func(customer string, rec *httptest.ResponseRecorder, what, invoiceID string) {
		t.Helper()
		want := "/desk/customers/" + customer + "?done=" + what
		if invoiceID != "" {
			want += "&invoice=" + invoiceID + "#inv-" + invoiceID
		}
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
			t.Fatalf("want 303 to %s, got %d %q %.600s", want, rec.Code, rec.Header().Get("Location"), rec.Body)
		}
	}
	done := func(rec *httptest.ResponseRecorder, what, invoiceID string) {
		t.Helper()
		doneFor("acme", rec, what, invoiceID)
	}
	// refused: the form again, with the status, the error beside the field
	// and what was typed.
	refused := func(rec *httptest.ResponseRecorder, status int, form, field, typed string) {
		t.Helper()
		body := rec.Body.String()
		errSpan := regexp.MustCompile(`<span class="err" id="f-` + form + `-` + field + `-err">` + field + `: [^<]+</span>`)
		if rec.Code != status || !errSpan.MatchString(body) {
			t.Fatalf("want %d with the error beside %s, got %d %.1500s", status, field, rec.Code, body)
		}
		if typed != "" && !strings.Contains(body, html.EscapeString(typed)) {
			t.Errorf("the form shown again lost what was typed (%q)", typed)
		}
		if !strings.Contains(body, `aria-invalid="true" aria-describedby="f-`+form+`-`+field+`-err`) {
			t.Errorf("the field %s is not marked invalid", field)
		}
	}

	// Log a call with a promise; the note is hostile HTML.
	hostile := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	rec := env.post("/desk/invoices/inv-old/calls", ck, form("outcome", "reached", "note", hostile,
		"promise_amount", "100.00", "promise_date", "2026-12-15"))
	done(rec, "call_promise", "inv-old")
	updates, _ := env.tc.sent()
	if len(updates) != 1 || updates[0].UpdateName != workflows.UpdatePromise || updates[0].UpdateID != workflows.UpdatePromise+":call:desk:n0123456789abcdefXYZ" {
		t.Fatalf("updates: %+v", updates)
	}
	if req := updates[0].Args[0].(workflows.PromiseRequest); req.AmountMinor != 10000 || req.Date.Format(time.RFC3339) != "2026-12-15T23:59:59Z" {
		t.Fatalf("promise sent: %+v", req)
	}
	notes := env.notes("inv-old")
	if len(notes) != 1 || notes[0].Kind != "call" || notes[0].Author != "mia's desk" || !strings.Contains(notes[0].Body, hostile) {
		t.Fatalf("notes: %+v", notes)
	}
	loc, _, _ := strings.Cut(rec.Header().Get("Location"), "#") // a browser keeps the fragment to itself
	after := env.get(loc, ck)
	body := after.Body.String()
	if !strings.Contains(body, `role="status" id="flash">Call logged with a promise to pay on invoice A-OLD.</p>`) {
		i := strings.Index(body, "id=\"flash\"")
		t.Errorf("no flash after the call: %d %.300s", after.Code, body[max(i-100, 0):])
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("the hostile note is not escaped on the page")
	}
	if !strings.Contains(body, "mia&#39;s desk") {
		t.Errorf("the note's author is not shown")
	}
	// The flash names only an invoice of the page, and only known outcomes.
	if b := env.get("/desk/customers/acme?done=<b>pwned</b>&invoice=x", ck).Body.String(); strings.Contains(b, `id="flash"`) {
		t.Errorf("an unknown outcome made a flash")
	}

	// Refused before anything is written: each beside its field.
	before := len(env.notes("inv-old"))
	updatesBefore, signalsBefore := env.tc.sent()
	for _, tc := range []struct {
		path, form, field string
		values            url.Values
	}{
		{"/desk/invoices/inv-old/calls", "call", "promise_amount", form("outcome", "reached", "promise_amount", "12,50", "promise_date", "2026-12-15")},
		{"/desk/invoices/inv-old/calls", "call", "promise_amount", form("outcome", "reached", "promise_amount", "-5", "promise_date", "2026-12-15")},
		{"/desk/invoices/inv-old/calls", "call", "promise_date", form("outcome", "reached", "promise_amount", "5.00", "promise_date", "2026-02-30")},
		{"/desk/invoices/inv-old/calls", "call", "outcome", form("outcome", "no_answer", "dispute_reason", "quality")},
		{"/desk/invoices/inv-old/calls", "call", "outcome", form("outcome", `"><script>x</script>`)},
		{"/desk/invoices/inv-old/calls", "call", "note", form("outcome", "reached", "note", strings.Repeat("é", 6000))},
		{"/desk/invoices/inv-old/notes", "note", "body", form("kind", "other", "body", "   ")},
		{"/desk/invoices/inv-old/notes", "note", "body", form("kind", "other", "body", strings.Repeat("x", 20001))},
		{"/desk/invoices/inv-old/notes", "note", "kind", form("kind", "gossip", "body", "hello")},
		{"/desk/invoices/inv-old/notes", "note", "body", form("kind", "other", "body", "nul\x00byte")},
		{"/desk/customers/acme/notes", "customer-note", "body", form("kind", "other", "body", "")},
		{"/desk/invoices/inv-old/payments", "payment", "amount", form("currency", "EUR", "amount", "1e3", "reference", "CHQ-1")},
		{"/desk/invoices/inv-old/payments", "payment", "amount", form("currency", "EUR", "amount", "0.00", "reference", "CHQ-1")},
		{"/desk/invoices/inv-old/payments", "payment", "amount", form("currency", "EUR", "amount", "12.345", "reference", "CHQ-1")},
		{"/desk/invoices/inv-old/payments", "payment", "reference", form("currency", "EUR", "amount", "10.00", "reference", strings.Repeat("R", 201))},
		{"/desk/invoices/inv-old/payments", "payment", "reference", form("currency", "EUR", "amount", "10.00")},
		{"/desk/invoices/inv-old/disputes", "dispute", "reason", form("reason", " ")},
		{"/desk/invoices/inv-old/disputes/resolve", "resolve", "resolution", form("resolution", "maybe")},
		{"/desk/invoices/inv-old/disputes/resolve", "resolve", "amount", form("resolution", "adjusted", "amount", "abc")},
		{"/desk/invoices/inv-old/pause", "pause", "until", form("until", "2026-13-01")},
		{"/desk/invoices/inv-old/pause", "pause", "until", form("until", "tomorrow")},
		{"/desk/tasks/task-1/complete", "complete", "outcome", form("outcome", "")},
		{"/desk/tasks/task-1/reassign", "reassign", "assignee", form("assignee", strings.Repeat("a", 201))},
		{"/desk/invoices/inv-b1/agency-outcome", "agency", "reference", form("outcome", "collected")},
		{"/desk/invoices/inv-b1/agency-outcome", "agency", "amount", form("outcome", "partially_collected", "amount", "lots", "reference", "AG-1")},
	} {
		t.Run(tc.form+" "+tc.field, func(t *testing.T) {
			typed := ""
			// A select shows its options, not what was posted.
			if v := tc.values.Get(tc.field); len(v) < 100 && !strings.ContainsRune(v, 0) && !strings.Contains("outcome kind resolution", tc.field) {
				typed = v
			}
			refused(env.post(tc.path, ck, tc.values), http.StatusBadRequest, tc.form, tc.field, typed)
		})
	}
	if n := len(env.notes("inv-old")); n != before {
		t.Fatalf("refused forms wrote %d notes", n-before)
	}
	if u, s := env.tc.sent(); len(u) != len(updatesBefore) || len(s) != len(signalsBefore) {
		t.Fatalf("refused forms reached the workflows: %d updates, %v", len(u)-len(updatesBefore), s[len(signalsBefore):])
	}

	// The workflow refuses the promise: 422 beside the call's field, nothing written.
	env.tc.refuse = temporal.NewApplicationError("amount: exceeds the balance of 2500.00", workflows.ErrInvalidArgument, "amount")
	rec = env.post("/desk/invoices/inv-old/calls", ck, form("outcome", "reached", "note", "big promise", "promise_amount", "9000.00",
		"promise_date", "2026-12-15"))
	refused(rec, http.StatusUnprocessableEntity, "call", "promise_amount", "9000.00")
	if !strings.Contains(rec.Body.String(), `value="n0123456789abcdefXYZ"`) {
		t.Errorf("the form shown again has another nonce: a retry would not be the same command")
	}
	if n := len(env.notes("inv-old")); n != before {
		t.Fatalf("a refused promise wrote a note")
	}
	env.tc.refuse = nil

	// Anti-forgery: no token, a wrong one, another session's: 403, nothing written.
	ck2, csrf2 := env.signIn("ck_desk_mgr_secret")
	for name, tok := range map[string]string{"no token": "", "a wrong token": "x" + csrf[1:], "another session's": csrf2} {
		v := form("kind", "other", "body", "forged")
		if tok == "" {
			v.Del("csrf")
		} else {
			v.Set("csrf", tok)
		}
		if rec := env.post("/desk/invoices/inv-old/notes", ck, v); rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
	// And a cross-site post is refused before it is read.
	req := httptest.NewRequest("POST", "/desk/invoices/inv-old/notes", strings.NewReader(form("kind", "other", "body", "forged").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(ck)
	if rec := env.do(req); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site post: %d", rec.Code)
	}
	// Without a session: to the sign-in form.
	if rec := env.post("/desk/invoices/inv-old/notes", nil, form("kind", "other", "body", "x")); rec.Code != http.StatusSeeOther {
		t.Errorf("no session: %d", rec.Code)
	}
	if n := len(env.notes("inv-old")); n != before {
		t.Fatalf("forged posts wrote notes")
	}

	// A read-only key sees no forms, and its posts are refused even with
	// its own valid token.
	roCk := sessionCookie(t, env.login(env.key, "/desk/"))
	roPage := env.get("/desk/customers/acme", roCk).Body.String()
	if strings.Contains(roPage, `class="act"`) || strings.Contains(roPage, `name="csrf"`) {
		t.Errorf("a read-only key's page has forms")
	}
	roToken := env.pg.csrfToken(roCk.Value)
	for _, path := range []string{"/desk/invoices/inv-old/notes", "/desk/invoices/inv-old/calls", "/desk/tasks/task-1/complete"} {
		v := form("kind", "other", "body", "read-only", "outcome", "reached")
		v.Set("csrf", roToken)
		if rec := env.post(path, roCk, v); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "read-only") {
			t.Errorf("read-only POST %s: %d", path, rec.Code)
		}
	}
	// Management's decision: refused to a read-write key, done for a manager.
	if rec := env.post("/desk/invoices/inv-new/escalation/decision", ck, form("decision", "extend", "until", "2026-12-20")); rec.Code != http.StatusForbidden {
		t.Errorf("decision by a read-write key: %d", rec.Code)
	}
	if n := len(env.notes("inv-old")); n != before {
		t.Fatalf("refused posts wrote notes")
	}
	mgrPage := env.get("/desk/customers/acme", ck2).Body.String()
	if !strings.Contains(mgrPage, `action="/desk/invoices/inv-new/escalation/decision"`) {
		t.Errorf("a manager's page has no decision form for the escalated invoice")
	}
	mv := url.Values{"csrf": {csrf2}, "decision": {"extend"}, "until": {"2026-12-20"}, "note": {"one more week"}}
	done(env.post("/desk/invoices/inv-new/escalation/decision", ck2, mv), "decision", "inv-new")
	updates, _ = env.tc.sent()
	if last := updates[len(updates)-1]; last.UpdateName != workflows.UpdateDecide ||
		last.Args[0].(workflows.DecisionRequest).Actor != "lea (manager)" || last.Args[0].(workflows.DecisionRequest).Until.Format("2006-01-02") != "2026-12-20" {
		t.Errorf("decision sent: %+v", last)
	}

	// Every other form, done.
	done(env.post("/desk/invoices/inv-old/notes", ck, form("kind", "letter", "body", "Sent a copy by post")), "note", "inv-old")
	done(env.post("/desk/customers/acme/notes", ck, form("kind", "meeting", "body", "Met the CFO")), "customer-note", "")
	done(env.post("/desk/invoices/inv-old/payments", ck, form("currency", "EUR", "amount", "250.00", "reference", "CHQ-0042")), "payment", "inv-old")
	done(env.post("/desk/invoices/inv-old/disputes", ck, form("reason", "quality", "note", "scratched")), "dispute", "inv-old")
	done(env.post("/desk/invoices/inv-old/disputes/resolve", ck, form("resolution", "adjusted", "amount", "2800.00")), "resolve", "inv-old")
	done(env.post("/desk/invoices/inv-old/pause", ck, form("until", "2026-12-01", "reason", "talks")), "pause", "inv-old")
	done(env.post("/desk/invoices/inv-old/resume", ck, form("reason", "talks over")), "resume", "inv-old")
	doneFor("beta", env.post("/desk/invoices/inv-b1/agency-outcome", ck, form("outcome", "partially_collected", "amount", "40.00", "reference", "AG-7")), "agency", "inv-b1")
	done(env.post("/desk/tasks/task-1/reassign", ck, form("assignee", "leo@ar.test", "note", "holiday")), "reassign", "inv-old")
	done(env.post("/desk/tasks/task-1/complete", ck, form("outcome", "reached", "note", "spoke to AP")), "complete", "inv-old")

	updates, signals := env.tc.sent()
	byName := map[string]client.UpdateWorkflowOptions{}
	for _, u := range updates {
		byName[u.UpdateName] = u
	}
	if p := byName[workflows.UpdatePayment]; p.Args == nil || p.Args[0].(workflows.PaymentRequest).AmountMinor != 25000 ||
		p.Args[0].(workflows.PaymentRequest).Reference != "CHQ-0042" {
		t.Errorf("payment sent: %+v", p)
	}
	if r := byName[workflows.UpdateResolveDispute]; r.Args == nil || r.Args[0].(workflows.ResolveDisputeRequest).NewAmountMinor != 280000 ||
		r.Args[0].(workflows.ResolveDisputeRequest).Actor != "mia's desk" {
		t.Errorf("resolution sent: %+v", r)
	}
	if p := byName[workflows.UpdatePause]; p.Args == nil || p.Args[0].(workflows.PauseRequest).Actor != "mia's desk" ||
		p.Args[0].(workflows.PauseRequest).Until.Format(time.RFC3339) != "2026-12-01T00:00:00Z" {
		t.Errorf("pause sent: %+v", p)
	}
	for _, name := range []string{workflows.UpdateOpenDispute, workflows.UpdateResume} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no %s update", name)
		}
	}
	if len(signals) < 2 {
		t.Errorf("the agency outcome and the completed task were not signalled: %v", signals)
	}
	task, err := env.store.GetTask(context.Background(), "task-1")
	if err != nil || task.Status != db.TaskDone || task.Assignee != "leo@ar.test" || task.Outcome != "reached" {
		t.Errorf("task: %+v %v", task, err)
	}
	notes = env.notes("")
	var kinds []string
	for _, n := range notes {
		kinds = append(kinds, n.Kind+"/"+n.Author)
	}
	if len(notes) != 4 { // the call, the letter, the meeting, the reassignment
		t.Errorf("notes: %v", kinds)
	}
	for _, n := range notes {
		if n.Author != "mia's desk" {
			t.Errorf("note %q by %q", n.Body, n.Author)
		}
	}
	// A task already done cannot be reassigned: 409, the form again.
	rec = env.post("/desk/tasks/task-1/reassign", ck, form("assignee", "zoe@ar.test"))
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "already done") {
		t.Errorf("reassigning a done task: %d %.400s", rec.Code, rec.Body)
	}
	// An unknown invoice: 404.
	if rec := env.post("/desk/invoices/nope/notes", ck, form("kind", "other", "body", "x")); rec.Code != http.StatusNotFound {
		t.Errorf("unknown invoice: %d", rec.Code)
	}
}

func TestFormDate(t *testing.T) {
	for in, want := range map[string][2]string{
		"2026-12-15":           {"2026-12-15T00:00:00Z", "2026-12-15T23:59:59Z"},
		" 2026-12-15 ":         {"2026-12-15T00:00:00Z", "2026-12-15T23:59:59Z"},
		"2026-02-30":           {"2026-02-30", "2026-02-30"},
		"2026-12-15T10:00:00Z": {"2026-12-15T10:00:00Z", "2026-12-15T10:00:00Z"},
		"":                     {"", ""},
	} {
		if got := [2]string{formDate(in, false), formDate(in, true)}; got != want {
			t.Errorf("formDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoleAtLeast(t *testing.T) {
	for _, tc := range []struct {
		have, need string
		ok         bool
	}{
		{db.RoleReadOnly, db.RoleReadWrite, false}, {db.RoleReadWrite, db.RoleReadWrite, true}, {db.RoleReadWrite, db.RoleManager, false},
		{db.RoleManager, db.RoleManager, true}, {db.RoleAdmin, db.RoleManager, true}, {"root", db.RoleReadOnly, false}, {"", db.RoleReadOnly, false},
	} {
		if roleAtLeast(tc.have, tc.need) != tc.ok {
			t.Errorf("roleAtLeast(%q, %q) = %v", tc.have, tc.need, !tc.ok)
		}
	}
}
