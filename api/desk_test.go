package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

// signalTemporal is fakeTemporal that also takes signals and remembers them.
type signalTemporal struct {
	*fakeTemporal
	mu      sync.Mutex
	signals []workflows.TaskCompleted
}

func (f *signalTemporal) SignalWorkflow(_ context.Context, id, _, name string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := arg.(workflows.TaskCompleted); ok && name == workflows.SignalTaskCompleted && strings.HasPrefix(id, "invoice:") {
		f.signals = append(f.signals, t)
	}
	return nil
}

type deskEnv struct {
	t     *testing.T
	e     *echo.Echo
	store *db.Store
	tmp   *signalTemporal
}

func newDeskEnv(t *testing.T, d dbtest.Database, now time.Time) *deskEnv {
	env := &deskEnv{t: t, store: db.NewStore(d.DB), tmp: &signalTemporal{fakeTemporal: newFakeTemporal()}}
	s := &Server{Store: env.store, Temporal: env.tmp, Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return now }}
	e := echo.New()
	e.HTTPErrorHandler = s.errorHandler
	v1 := e.Group("/v1")
	v1.POST("/customers", s.createCustomer)
	v1.POST("/invoices", s.createInvoice)
	v1.GET("/tasks", s.listTasks)
	v1.POST("/tasks/:id/complete", s.completeTask)
	s.deskRoutes(v1)
	env.e = e
	return env
}

func (env *deskEnv) do(method, path string, body any, want int) map[string]any {
	env.t.Helper()
	var r *bytes.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	} else {
		r = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	rec := httptest.NewRecorder()
	env.e.ServeHTTP(rec, req)
	if rec.Code != want {
		env.t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, want)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		env.t.Fatalf("%s %s: not JSON: %s", method, path, rec.Body)
	}
	return out
}

func list(v any) []map[string]any {
	var out []map[string]any
	for _, x := range v.([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// setStage saves a status for an invoice as its workflow would.
func setStage(t *testing.T, s *db.Store, id string, st invoice.Status, now time.Time) {
	t.Helper()
	st.InvoiceID = id
	if err := s.SaveStatus(context.Background(), st, now); err != nil {
		t.Fatal(err)
	}
	if st.Stage == invoice.StagePaid { // as activities.SaveStatus does: the stored payment trend stays current
		if _, _, err := desk.AfterPaid(context.Background(), s, id, desk.DefaultTrendRule, now); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeskEndpoints(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) { testDesk(t, d) })
	}
}

func testDesk(t *testing.T, d dbtest.Database) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	env := newDeskEnv(t, d, now)
	day := func(n int) string { return now.AddDate(0, 0, n).Format(time.RFC3339) }
	env.do("POST", "/v1/customers", map[string]any{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test", "timezone": "Europe/Berlin",
		"account_manager": "mia@ar.test", "credit_limit": "5000.00", "credit_currency": "EUR"}, 201)
	env.do("POST", "/v1/customers", map[string]any{"id": "beta", "name": "Beta SA", "email": "ap@beta.test", "timezone": "Europe/Paris",
		"account_manager": "leo@ar.test"}, 201)

	// Over the limit: INV-2 takes Acme's open EUR balance to 5,500.00.
	inv1 := env.do("POST", "/v1/invoices", map[string]any{"number": "INV-1", "customer_id": "acme", "amount": "3000.00", "currency": "EUR",
		"issued_at": day(-76), "due_at": day(-46)}, 201)
	usd := env.do("POST", "/v1/invoices", map[string]any{"number": "INV-USD", "customer_id": "acme", "amount": "9000.00", "currency": "USD",
		"issued_at": day(-20), "due_at": day(-5)}, 201)
	inv2req := map[string]any{"number": "INV-2", "customer_id": "acme", "amount": "2500.00", "currency": "EUR", "issued_at": day(-10), "due_at": day(20)}
	inv2 := env.do("POST", "/v1/invoices", inv2req, 201)
	if inv1["over_credit_limit"] != false || usd["over_credit_limit"] != false || inv2["over_credit_limit"] != true {
		t.Fatalf("flags: INV-1 %v, INV-USD %v (another currency), INV-2 %v", inv1["over_credit_limit"], usd["over_credit_limit"], inv2["over_credit_limit"])
	}
	env.do("POST", "/v1/invoices", inv2req, 200) // a retry: no second task
	tasks := list(env.do("GET", "/v1/tasks?invoice_id="+inv2["id"].(string), nil, 200)["tasks"])
	if len(tasks) != 1 || tasks[0]["kind"] != "credit_limit" || tasks[0]["assignee"] != "mia@ar.test" ||
		!strings.Contains(tasks[0]["detail"].(string), "EUR 5,500.00 against a credit limit of EUR 5,000.00") {
		t.Fatalf("over-limit tasks: %v", tasks)
	}
	creditTask := tasks[0]["id"].(string)

	// Beta: a broken promise on an invoice 10 days overdue, a disputed one
	// with a review task, one promised for later, and a paid history that
	// turned worse.
	b1 := env.do("POST", "/v1/invoices", map[string]any{"number": "B-1", "customer_id": "beta", "amount": "800.00", "currency": "EUR",
		"issued_at": day(-40), "due_at": day(-10)}, 201)["id"].(string)
	promised := now.AddDate(0, 0, -3)
	setStage(t, env.store, b1, invoice.Status{Stage: invoice.StageInquired, Timeline: []invoice.Event{
		{At: now.AddDate(0, 0, -6), Kind: invoice.EventPromise, AmountMinor: 80000, Until: &promised},
		{At: promised, Kind: invoice.EventPromiseBroken},
	}}, now)
	b2 := env.do("POST", "/v1/invoices", map[string]any{"number": "B-2", "customer_id": "beta", "amount": "99000.00", "currency": "EUR",
		"issued_at": day(-60), "due_at": day(-30)}, 201)["id"].(string)
	setStage(t, env.store, b2, invoice.Status{Stage: invoice.StageDisputed,
		Dispute: &invoice.Dispute{Reason: "wrong_amount", OpenedAt: now.AddDate(0, 0, -2), Deadline: now.AddDate(0, 0, 12)}}, now)
	if _, _, err := env.store.ClaimTask(ctx, &db.Task{ID: "task-review", InvoiceID: b2, CustomerID: "beta", Key: "dispute-1:review",
		Kind: "dispute_review", Assignee: "leo@ar.test", Title: "Review the dispute on B-2", Status: db.TaskOpen,
		DueAt: now.Add(-time.Hour), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	b3 := env.do("POST", "/v1/invoices", map[string]any{"number": "B-3", "customer_id": "beta", "amount": "50000.00", "currency": "EUR",
		"issued_at": day(-60), "due_at": day(-30)}, 201)["id"].(string)
	later := now.AddDate(0, 0, 7)
	setStage(t, env.store, b3, invoice.Status{Stage: invoice.StagePromised, Promise: &invoice.Promise{AmountMinor: 5000000, Date: later}}, now)
	for i, late := range []int{0, 1, 0, 9, 14, 20} { // paid: on time, then later and later
		issued := now.AddDate(0, -12+i, 0)
		due := issued.AddDate(0, 0, 30)
		id := env.do("POST", "/v1/invoices", map[string]any{"number": "B-P" + string(rune('0'+i)), "customer_id": "beta", "amount": "100.00",
			"currency": "EUR", "issued_at": issued.Format(time.RFC3339), "due_at": due.Format(time.RFC3339)}, 201)["id"].(string)
		paid := due.AddDate(0, 0, late)
		if _, _, err := env.store.RecordPayment(ctx, &db.Payment{ID: "pay-" + id, InvoiceID: id, Reference: "tx-" + id, AmountMinor: 10000,
			Currency: "EUR", ReceivedAt: paid}, paid); err != nil {
			t.Fatal(err)
		}
		if i == 5 { // and a refund after the last one was paid, and paid again
			if _, err := env.store.RecordRefund(ctx, db.Refund{InvoiceID: id, Reference: "re-1", AmountMinor: 2000, Currency: "EUR",
				ReceivedAt: paid.Add(time.Hour)}, paid); err != nil {
				t.Fatal(err)
			}
			if _, _, err := env.store.RecordPayment(ctx, &db.Payment{ID: "pay2-" + id, InvoiceID: id, Reference: "tx2-" + id,
				AmountMinor: 2000, Currency: "EUR", ReceivedAt: paid.AddDate(0, 0, 1)}, paid); err != nil {
				t.Fatal(err)
			}
		}
		setStage(t, env.store, id, invoice.Status{Stage: invoice.StagePaid, ClosedAt: &paid}, paid)
	}

	// The whole worklist, by score: INV-1 (EUR 3,000 46 days overdue:
	// 69.5 + 46), B-1 (EUR 800 10 days: 58.1 + 10, + 15 for the broken
	// promise, + 15 for the worsening trend), INV-USD (79.1 + 5), B-2
	// (disputed: its overdue review task, 25) and INV-2 (not yet due: its
	// credit task, due now, 10). B-3 is promised for later; the paid ones
	// are closed.
	wl := env.do("GET", "/v1/worklist", nil, 200)
	rows := list(wl["rows"])
	var order []string
	for _, r := range rows {
		order = append(order, r["number"].(string)+"/"+r["suggested_action"].(string))
	}
	want := []string{"INV-1/send_final_notice", "B-1/call", "INV-USD/call", "B-2/review_dispute", "INV-2/review_credit"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("worklist %v, want %v", order, want)
	}
	if rows[0]["reason"] != "EUR 3,000.00 is 46 days overdue" || rows[0]["overdue"] != "3000.00" || rows[0]["days_overdue"] != float64(46) {
		t.Fatalf("INV-1 row: %v", rows[0])
	}
	if rows[1]["payment_trend"] != "worsening" || rows[1]["broken_promises"] != float64(1) ||
		!strings.Contains(rows[1]["reason"].(string), "promise broken on "+promised.Format("2006-01-02")) {
		t.Fatalf("B-1 row: %v", rows[1])
	}
	if rows[3]["chase"] != false || len(list(rows[3]["tasks"])) != 1 || rows[3]["overdue"] != "0.00" {
		t.Fatalf("B-2 row: %v", rows[3])
	}
	if wl["total"] != float64(5) || wl["weights"].(map[string]any)["amount_per_tenfold"] != float64(20) {
		t.Fatalf("worklist: total %v, weights %v", wl["total"], wl["weights"])
	}
	if got := list(env.do("GET", "/v1/worklist?limit=2", nil, 200)["rows"]); len(got) != 2 || got[0]["number"] != "INV-1" {
		t.Fatalf("limit 2: %v", got)
	}
	// By manager and currency.
	var mine []string
	for _, r := range list(env.do("GET", "/v1/worklist?manager=mia@ar.test&currency=eur", nil, 200)["rows"]) {
		mine = append(mine, r["number"].(string))
	}
	if strings.Join(mine, " ") != "INV-1 INV-2" {
		t.Fatalf("mia's EUR worklist: %v", mine)
	}
	env.do("GET", "/v1/worklist?currency=EURO", nil, 400)
	env.do("GET", "/v1/worklist?limit=0", nil, 400)
	// Every filter is checked, and the error names it.
	for q, field := range map[string]string{"stage=paid": "stage", "bucket=100": "bucket", "min_amount=5": "min_amount",
		"currency=EUR&min_amount=5.001": "min_amount", "has_task=maybe": "has_task", "cursor=zzz": "cursor", "limit=501": "limit"} {
		raw, _ := json.Marshal(env.do("GET", "/v1/worklist?"+q, nil, 400))
		if !strings.Contains(string(raw), `"field":"`+field+`"`) {
			t.Errorf("%s: %s, want the field %s named", q, raw, field)
		}
	}
	// Page by page, the cursor gives the whole list once, in order.
	var paged []string
	for path := "/v1/worklist?limit=2"; ; {
		p := env.do("GET", path, nil, 200)
		for _, r := range list(p["rows"]) {
			paged = append(paged, r["number"].(string)+"/"+r["suggested_action"].(string))
		}
		next, _ := p["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/v1/worklist?limit=2&cursor=" + next
	}
	if strings.Join(paged, " ") != strings.Join(want, " ") {
		t.Fatalf("paged worklist %v, want %v", paged, want)
	}
	// Filters: the overdue bucket, the stage, a minimum balance, open tasks.
	for q, wantNumbers := range map[string]string{
		"bucket=31-60":                     "INV-1",
		"bucket=1-30":                      "B-1 INV-USD B-2", // B-2: 30 days, there for its task
		"bucket=current":                   "INV-2",
		"stage=disputed":                   "B-2",
		"currency=EUR&min_amount=1000":     "INV-1 B-2 INV-2",
		"has_task=true":                    "B-2 INV-2",
		"has_task=false&currency=USD":      "INV-USD",
		"manager=leo@ar.test&bucket=90%2B": "",
	} {
		var got []string
		for _, r := range list(env.do("GET", "/v1/worklist?"+q, nil, 200)["rows"]) {
			got = append(got, r["number"].(string))
		}
		if strings.Join(got, " ") != wantNumbers {
			t.Errorf("%s: %v, want %s", q, got, wantNumbers)
		}
	}

	// Reassign the credit task to Leo: it appears on his list, not Mia's.
	env.do("POST", "/v1/tasks/"+creditTask+"/reassign", map[string]any{"assignee": " "}, 400)
	env.do("POST", "/v1/tasks/nope/reassign", map[string]any{"assignee": "leo@ar.test"}, 404)
	got := env.do("POST", "/v1/tasks/"+creditTask+"/reassign", map[string]any{"assignee": "leo@ar.test", "note": "Mia is on leave", "actor": "boss"}, 200)
	if got["assignee"] != "leo@ar.test" || got["status"] != "open" {
		t.Fatalf("reassigned: %v", got)
	}
	var leo []string
	for _, r := range list(env.do("GET", "/v1/worklist?manager=leo@ar.test", nil, 200)["rows"]) {
		leo = append(leo, r["number"].(string)+"/"+r["suggested_action"].(string))
		if r["number"] == "INV-2" && r["chase"] != false {
			t.Fatalf("another manager's invoice is there for the task only: %v", r)
		}
	}
	if strings.Join(leo, " ") != "B-1/call B-2/review_dispute INV-2/review_credit" {
		t.Fatalf("leo's worklist: %v", leo)
	}
	for _, r := range list(env.do("GET", "/v1/worklist?manager=mia@ar.test", nil, 200)["rows"]) {
		if r["number"] == "INV-2" {
			t.Fatalf("INV-2 is not yet due and its task moved to Leo: %v", r)
		}
	}
	// Completing it reaches the invoice's workflow with outcome and note;
	// a done task cannot be reassigned.
	env.do("POST", "/v1/tasks/"+creditTask+"/complete", map[string]any{"outcome": "approved", "note": "limit raised by phone", "actor": "leo"}, 200)
	if len(env.tmp.signals) != 1 || env.tmp.signals[0].TaskID != creditTask || env.tmp.signals[0].Outcome != "approved" ||
		env.tmp.signals[0].Note != "limit raised by phone" || env.tmp.signals[0].Kind != "credit_limit" {
		t.Fatalf("signals: %+v", env.tmp.signals)
	}
	env.do("POST", "/v1/tasks/"+creditTask+"/reassign", map[string]any{"assignee": "mia@ar.test"}, 409)

	// The account view.
	acc := env.do("GET", "/v1/customers/acme/account", nil, 200)
	bal := list(acc["balances"])
	if len(bal) != 2 || bal[0]["currency"] != "EUR" || bal[0]["open"] != "5500.00" || bal[0]["current"] != "2500.00" ||
		bal[0]["days_31_60"] != "3000.00" || bal[1]["currency"] != "USD" || bal[1]["days_1_30"] != "9000.00" {
		t.Fatalf("balances: %v", bal)
	}
	cr := acc["credit"].(map[string]any)
	if cr["limit"] != "5000.00" || cr["used"] != "5500.00" || cr["available"] != "-500.00" || cr["over_limit"] != true ||
		cr["other_currencies"].([]any)[0] != "USD" {
		t.Fatalf("credit: %v", cr)
	}
	open := list(acc["open_invoices"])
	if len(open) != 3 || open[0]["number"] != "INV-1" || open[2]["number"] != "INV-2" || open[2]["over_credit_limit"] != true {
		t.Fatalf("open invoices: %v", open)
	}
	notes := list(acc["notes"])
	if acc["account_manager"] != "mia@ar.test" || len(notes) != 1 ||
		notes[0]["body"] != `Task "Acme GmbH is over its credit limit" reassigned from mia@ar.test to leo@ar.test: Mia is on leave` || notes[0]["author"] != "boss" {
		t.Fatalf("manager %v, notes %v", acc["account_manager"], notes)
	}

	beta := env.do("GET", "/v1/customers/beta/account", nil, 200)
	if beta["credit"] != nil {
		t.Fatalf("no limit, no credit: %v", beta["credit"])
	}
	pb := beta["payment_behaviour"].(map[string]any)
	paid := list(pb["paid_invoices"])
	if pb["trend"] != "worsening" || pb["recent_mean_days_late"] != 14.7 || pb["change_days"] != 14.4 || pb["prior_mean_days_late"] != 0.3 || len(paid) != 6 ||
		paid[5]["days_late"] != float64(21) || paid[0]["days_to_pay"] != float64(30) {
		t.Fatalf("payment behaviour: %v", pb)
	}
	pays := list(beta["payments"])
	if len(pays) != 8 || pays[0]["amount"] != "20.00" || pays[1]["kind"] != "refund" || pays[1]["amount"] != "-20.00" {
		t.Fatalf("payments: %v", pays)
	}
	prom := list(beta["promises"])
	if len(prom) != 1 || prom[0]["outcome"] != "broken" || prom[0]["amount"] != "800.00" {
		t.Fatalf("promises: %v", prom)
	}
	dis := list(beta["disputes"])
	if len(dis) != 1 || dis[0]["reason"] != "wrong_amount" || dis[0]["number"] != "B-2" {
		t.Fatalf("disputes: %v", dis)
	}
	// The reach-out task the worsening trend created (desk.AfterPaid), and the review.
	if ot := list(beta["open_tasks"]); len(ot) != 2 || ot[0]["kind"] != "payment_trend" || ot[1]["kind"] != "dispute_review" {
		t.Fatalf("open tasks: %v", ot)
	}
	env.do("GET", "/v1/customers/nobody/account", nil, 404)

	// The account's lists page: two at a time, the payments come in four
	// pages, the same eight as above, once each; counts cover the account.
	var pagedPays []string
	for path := "/v1/customers/beta/account?limit=2"; ; {
		a := env.do("GET", path, nil, 200)
		for _, p := range list(a["payments"]) {
			pagedPays = append(pagedPays, p["reference"].(string))
		}
		if n := len(list(a["open_invoices"])); path == "/v1/customers/beta/account?limit=2" && n != 2 {
			t.Fatalf("open invoices on the first page of 2: %d", n)
		}
		if c := a["counts"].(map[string]any); c["payments"] != float64(8) || c["invoices"] != float64(9) || c["open_invoices"] != float64(3) ||
			c["paid_invoices"] != float64(6) {
			t.Fatalf("counts: %v", c)
		}
		next, _ := a["next_cursors"].(map[string]any)["payments"].(string)
		if next == "" {
			break
		}
		path = "/v1/customers/beta/account?limit=2&payments_cursor=" + next
	}
	var all []string
	for _, p := range pays {
		all = append(all, p["reference"].(string))
	}
	if strings.Join(pagedPays, " ") != strings.Join(all, " ") {
		t.Fatalf("pagedPays payments %v, want %v", pagedPays, all)
	}
	for q, field := range map[string]string{"payments_cursor=zzz": "payments_cursor", "invoices_cursor=e30": "invoices_cursor", "limit=101": "limit"} {
		raw, _ := json.Marshal(env.do("GET", "/v1/customers/beta/account?"+q, nil, 400))
		if !strings.Contains(string(raw), `"field":"`+field+`"`) {
			t.Errorf("%s: %s, want the field %s named", q, raw, field)
		}
	}
}
