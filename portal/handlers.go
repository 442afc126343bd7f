package portal

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/checkout"
	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/documents"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// PageSize is how many rows a page of the portal's lists holds.
const PageSize = 20

// RecentPayments is how many payments the overview shows (the statement
// lists them all).
const RecentPayments = 5

// base is what every page of a customer's portal shows.
type base struct {
	Title    string
	Customer string
	Home     string // the overview's address
	CSRF     string
	TestMode bool // the dev test payment page is on
}

func (pg *Page) base(c echo.Context, cust *db.Customer, title string) base {
	return base{Title: title, Customer: cust.Name, Home: pg.homeURL(c), CSRF: pg.csrf(c.Param("token")),
		TestMode: pg.cfg.Checkout == nil && pg.cfg.TestPayments}
}

// customer loads the link's customer.
func (pg *Page) customer(c echo.Context) (*db.Customer, *time.Location, error) {
	cust, err := pg.cfg.Store.GetCustomer(c.Request().Context(), claimsOf(c).CustomerID)
	if err != nil {
		return nil, nil, err
	}
	loc, err := time.LoadLocation(cust.Timezone)
	if err != nil {
		loc = time.UTC
	}
	return cust, loc, nil
}

// invoiceRow is an invoice as the portal shows it.
type invoiceRow struct {
	ID, Number, URL string
	Amount, Balance string
	Currency        string
	BalanceMinor    int64
	Issued, Due     string
	DueISO          string
	DaysOverdue     int
	State           string // in the customer's words
	Open            bool
	Disputed        bool
	Promised        string // the promised date, when there is a promise
	OnPlan          string // the plan's state in the customer's words, when one is pending or active
}

func (pg *Page) row(c echo.Context, inv *db.Invoice, loc *time.Location, now time.Time) invoiceRow {
	r := invoiceRow{ID: inv.ID, Number: inv.Number, URL: pg.invoiceURL(c, inv.ID), Currency: inv.Currency,
		Amount: money.Display(inv.AmountMinor, inv.Currency), Balance: money.Display(inv.BalanceMinor, inv.Currency),
		BalanceMinor: inv.BalanceMinor, Issued: day(inv.IssuedAt, loc), Due: day(inv.DueAt, loc), DueISO: inv.DueAt.In(loc).Format("2006-01-02"),
		Open: inv.ClosedAt == nil && !inv.Stage.Closed()}
	if r.Open && now.After(inv.DueAt) {
		r.DaysOverdue = int(now.Sub(inv.DueAt).Hours() / 24)
	}
	stage := inv.Stage
	if st := inv.Status; st != nil {
		stage = st.Stage
		if st.Promise != nil {
			r.Promised = day(st.Promise.Date, loc)
		}
		if st.Plan.Open() {
			r.OnPlan = planState(st.Plan, inv.Currency, loc)
		}
	}
	if inv.BalanceMinor <= 0 {
		r.Open = false // paid: its workflow is ending, whatever was last saved
	}
	switch {
	case !r.Open && inv.BalanceMinor <= 0:
		r.State = "Paid"
	case !r.Open:
		r.State = "Closed"
	case stage == invoice.StageDisputed:
		r.State, r.Disputed = "Disputed: we are looking into it", true
	case r.OnPlan != "":
		r.State = r.OnPlan
	case stage == invoice.StagePromised && r.Promised != "":
		r.State = "Promised for " + r.Promised
	case r.DaysOverdue > 0:
		r.State = fmt.Sprintf("Overdue by %d day%s", r.DaysOverdue, plural(r.DaysOverdue))
	case now.Before(inv.DueAt):
		r.State = "Due " + r.Due
	default:
		r.State = "Due today"
	}
	return r
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func day(t time.Time, loc *time.Location) string { return t.In(loc).Format("2 January 2006") }

// agingRow is one currency's open balance by age.
type agingRow struct {
	Currency                                        string
	Open, Current, D1to30, D31to60, D61to90, Over90 string
	Invoices                                        int64
}

func agingRows(as []db.OpenAging) []agingRow {
	out := make([]agingRow, 0, len(as))
	for _, a := range as {
		d := func(n int64) string { return money.Display(n, a.Currency) }
		out = append(out, agingRow{Currency: a.Currency, Open: d(a.OpenMinor), Current: d(a.Current), D1to30: d(a.Days1To30),
			D31to60: d(a.Days31To60), D61to90: d(a.Days61To90), Over90: d(a.Over90), Invoices: a.Invoices})
	}
	return out
}

// lineRow is a statement line or a payment.
type lineRow struct {
	Date, Kind, Number, URL, Reference string
	Charge, Credit                     string
}

func (pg *Page) lineRows(c echo.Context, ls []db.StatementLine, loc *time.Location) []lineRow {
	out := make([]lineRow, 0, len(ls))
	for _, l := range ls {
		r := lineRow{Date: day(l.At, loc), Number: l.Number, URL: pg.invoiceURL(c, l.InvoiceID), Reference: l.Reference}
		switch {
		case l.Kind == "invoice":
			r.Kind, r.Charge = "Invoice", money.Display(l.AmountMinor, l.Currency)
		case l.AmountMinor < 0:
			r.Kind, r.Charge = "Refund", money.Display(-l.AmountMinor, l.Currency)
		default:
			r.Kind, r.Credit = "Payment", money.Display(l.AmountMinor, l.Currency)
		}
		out = append(out, r)
	}
	return out
}

// cursor is a page's starting point in a URL: base64url of "time|id".
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(s string) (*db.PortalCursor, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 300 {
		return nil, errors.New("not a page of this list")
	}
	at, id, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || id == "" {
		return nil, errors.New("not a page of this list")
	}
	return &db.PortalCursor{At: t, ID: id}, nil
}

func (pg *Page) badPage(c echo.Context, field string) error {
	return pg.render(c, http.StatusBadRequest, "error", errorPage{Title: "Page not found",
		Message: field + ": this is not a page of the list. Start again from the overview.", Back: pg.homeURL(c)})
}

type homePage struct {
	base
	About     *invoiceRow // the invoice the link was sent about, if open
	Invoices  []invoiceRow
	Next      string // the next page of open invoices
	Aging     []agingRow
	Payments  []lineRow
	More      bool // older payments exist (see the statement)
	Statement string
	PDF       string
}

// home is GET /portal/{token}: open invoices (paged), aging and the latest
// payments.
func (pg *Page) home(c echo.Context) error {
	ctx := c.Request().Context()
	cust, loc, err := pg.customer(c)
	if err != nil {
		return pg.failure(c, err)
	}
	after, err := decodeCursor(c.QueryParam("after"))
	if err != nil {
		return pg.badPage(c, "after")
	}
	now := pg.now()
	p := homePage{base: pg.base(c, cust, "Your account"), Statement: pg.homeURL(c) + "/statement"}
	p.PDF = pg.homeURL(c) + "/statement.pdf"
	invs, more, err := pg.cfg.Store.PortalOpenInvoices(ctx, cust.ID, after, PageSize)
	if err != nil {
		return pg.failure(c, err)
	}
	for i := range invs {
		p.Invoices = append(p.Invoices, pg.row(c, &invs[i], loc, now))
	}
	if more {
		last := invs[len(invs)-1]
		p.Next = pg.homeURL(c) + "?after=" + encodeCursor(last.DueAt, last.ID)
	}
	if id := claimsOf(c).InvoiceID; id != "" && after == nil {
		if inv, err := pg.cfg.Store.PortalInvoice(ctx, cust.ID, id); err == nil && inv.ClosedAt == nil {
			r := pg.row(c, inv, loc, now)
			p.About = &r
		}
	}
	aging, err := pg.cfg.Store.Aging(ctx, db.AgingFilter{CustomerID: cust.ID}, now)
	if err != nil {
		return pg.failure(c, err)
	}
	p.Aging = agingRows(aging)
	pays, morePays, err := pg.cfg.Store.PortalPayments(ctx, cust.ID, RecentPayments)
	if err != nil {
		return pg.failure(c, err)
	}
	p.Payments, p.More = pg.lineRows(c, pays, loc), morePays
	if after == nil {
		pg.count(c, "visit")
	}
	return pg.render(c, http.StatusOK, "home", p)
}

type statementPage struct {
	base
	AsOf  string
	Aging []agingRow
	Lines []lineRow
	Next  string
	PDF   string
}

// statement is GET /portal/{token}/statement: the statement of account,
// newest first, paged, with aging.
func (pg *Page) statement(c echo.Context) error {
	ctx := c.Request().Context()
	cust, loc, err := pg.customer(c)
	if err != nil {
		return pg.failure(c, err)
	}
	before, err := decodeCursor(c.QueryParam("before"))
	if err != nil {
		return pg.badPage(c, "before")
	}
	now := pg.now()
	p := statementPage{base: pg.base(c, cust, "Statement of account"), AsOf: day(now, loc)}
	p.PDF = pg.homeURL(c) + "/statement.pdf"
	aging, err := pg.cfg.Store.Aging(ctx, db.AgingFilter{CustomerID: cust.ID}, now)
	if err != nil {
		return pg.failure(c, err)
	}
	p.Aging = agingRows(aging)
	lines, more, err := pg.cfg.Store.PortalStatement(ctx, cust.ID, before, PageSize)
	if err != nil {
		return pg.failure(c, err)
	}
	p.Lines = pg.lineRows(c, lines, loc)
	if more {
		last := lines[len(lines)-1]
		p.Next = pg.homeURL(c) + "/statement?before=" + encodeCursor(last.At, last.ID)
	}
	return pg.render(c, http.StatusOK, "statement", p)
}

// invoicePage is an invoice with its forms; Errors stand beside their
// fields, Form holds what was typed.
type invoicePage struct {
	base
	Inv         invoiceRow
	Done        string
	Errors      map[string]string
	Form        map[string]string
	Reasons     []reason
	PromiseMin  string
	PromiseMax  string
	HorizonDays int
	CanPay      bool
	PayNote     string
	PDF         string
	Action      string // the forms' base address
	Everies     []reason
	PlanCounts  []int
	PlanOffered bool // no plan pending or active, no dispute
}

type reason struct{ Value, Label string }

var reasonLabels = map[string]string{
	"wrong_amount": "The amount is wrong", "not_received": "I did not receive the goods or service",
	"quality": "There is a problem with the quality", "duplicate": "I was billed twice",
	"not_ordered": "I did not order this", "other": "Something else",
}

var doneMessages = map[string]string{
	"paid":     "Thank you: your payment has been received.",
	"dispute":  "Thank you: your dispute has been opened. We have paused reminders while we look into it, and your account manager will be in touch.",
	"promise":  "Thank you: we have noted your promise and will not send reminders before that date.",
	"question": "Thank you: your question has been sent to your account manager, who will reply soon.",
	"started":  "Your payment has been started; it will show here once the payment provider confirms it.",
	"plan":     "Thank you: your payment plan is agreed. We will remind you before each instalment and send no other reminders while it is kept.",
	"plan_pending": "Thank you: your request for a payment plan has been sent to your account manager, who will reply soon. " +
		"Reminders go on until it is agreed.",
}

// planState says where a pending or active plan stands.
func planState(p *invoice.Plan, currency string, loc *time.Location) string {
	if p.State == invoice.PlanPending {
		return "Payment plan requested: waiting for your account manager"
	}
	if i := p.Next(); i >= 0 {
		in := p.Instalments[i]
		return fmt.Sprintf("On a payment plan: instalment %d of %d, %s due %s", i+1, len(p.Instalments),
			money.Display(in.AmountMinor-in.PaidMinor, currency), day(in.DueAt, loc))
	}
	return "On a payment plan"
}

// Everies are the intervals a customer may ask instalments to fall at.
var everies = []reason{{Value: "1 month", Label: "every month"}, {Value: "2 weeks", Label: "every two weeks"}, {Value: "1 week", Label: "every week"}}

// invoicePage is GET /portal/{token}/invoices/{id}.
func (pg *Page) invoicePage(c echo.Context) error {
	return pg.showInvoice(c, http.StatusOK, nil, nil)
}

func (pg *Page) showInvoice(c echo.Context, status int, errs, form map[string]string) error {
	ctx := c.Request().Context()
	cust, loc, err := pg.customer(c)
	if err != nil {
		return pg.failure(c, err)
	}
	inv, err := pg.cfg.Store.PortalInvoice(ctx, cust.ID, c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return pg.notFound(c)
	}
	if err != nil {
		return pg.failure(c, err)
	}
	// The invoice's stage as its workflow has it now (the saved status
	// lags an action just taken by a moment), else as last saved.
	if st, _ := pg.cfg.Cases.Status(ctx, inv); st != nil {
		inv.Status = st
	}
	now := pg.now()
	horizon := pg.horizon()
	p := invoicePage{base: pg.base(c, cust, "Invoice "+inv.Number), Inv: pg.row(c, inv, loc, now),
		Done: doneMessages[c.QueryParam("done")], Errors: errs, Form: form, Action: pg.invoiceURL(c, inv.ID),
		PromiseMin: now.In(loc).AddDate(0, 0, 1).Format("2006-01-02"), PromiseMax: now.Add(horizon).In(loc).Format("2006-01-02"),
		HorizonDays: int(horizon.Hours() / 24)}
	if p.Form == nil {
		p.Form = map[string]string{}
	}
	if p.Form["amount"] == "" {
		p.Form["amount"] = money.FormatAmount(inv.BalanceMinor, inv.Currency)
	}
	if p.Form["promise_amount"] == "" {
		p.Form["promise_amount"] = money.FormatAmount(inv.BalanceMinor, inv.Currency)
	}
	p.Everies = everies
	for n := 2; n <= maxPortalInstalments; n++ {
		p.PlanCounts = append(p.PlanCounts, n)
	}
	p.PlanOffered = p.Inv.OnPlan == "" && !p.Inv.Disputed
	if p.Form["plan_first"] == "" {
		p.Form["plan_first"] = now.In(loc).AddDate(0, 0, 7).Format("2006-01-02")
	}
	for _, r := range workflows.DisputeReasons {
		p.Reasons = append(p.Reasons, reason{Value: r, Label: reasonLabels[r]})
	}
	switch {
	case pg.cfg.Checkout != nil:
		p.CanPay = true
	case pg.cfg.TestPayments:
		p.CanPay, p.PayNote = true, "This is a test system: the payment page records a test payment, no money moves."
	default:
		p.PayNote = "Online payment is not available. Please pay by bank transfer, quoting invoice " + inv.Number + "."
	}
	p.PDF = pg.invoiceURL(c, inv.ID) + "/invoice.pdf"
	if c.QueryParam("done") == "" && status == http.StatusOK {
		pg.count(c, "invoice_view")
	}
	return pg.render(c, status, "invoice", p)
}

func (pg *Page) horizon() time.Duration {
	if h := pg.cfg.Cases.PromiseHorizon; h > 0 {
		return h
	}
	return collect.DefaultPromiseHorizon
}

// action runs a form's use case: the anti-forgery token first, then the
// invoice must be the link's customer's (else the same 404 as a missing
// one), then the case; its errors stand beside the form's fields.
func (pg *Page) action(c echo.Context, run func(inv *db.Invoice, cust *db.Customer, loc *time.Location) (done string, err error)) error {
	if !pg.checkCSRF(c) {
		return pg.forged(c)
	}
	ctx := c.Request().Context()
	cust, loc, err := pg.customer(c)
	if err != nil {
		return pg.failure(c, err)
	}
	inv, err := pg.cfg.Store.PortalInvoice(ctx, cust.ID, c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return pg.notFound(c)
	}
	if err != nil {
		return pg.failure(c, err)
	}
	done, err := run(inv, cust, loc)
	if err == nil {
		if strings.HasPrefix(done, "http") || strings.HasPrefix(done, "/") {
			return c.Redirect(http.StatusSeeOther, done)
		}
		return c.Redirect(http.StatusSeeOther, pg.invoiceURL(c, inv.ID)+"?done="+url.QueryEscape(done))
	}
	form := map[string]string{}
	if params, perr := c.FormParams(); perr == nil {
		for k := range params {
			if k != "csrf" {
				form[k] = params.Get(k)
			}
		}
	}
	return pg.caseError(c, err, form)
}

// fieldError is a form field's error the portal found before the case.
type fieldError struct{ field, msg string }

func (e fieldError) Error() string { return e.field + ": " + e.msg }

// caseError shows what a use case said on the invoice's page: a bad field
// beside it (422), a state that refuses the action (409), anything else as
// a page of its own.
func (pg *Page) caseError(c echo.Context, err error, form map[string]string) error {
	var fe fieldError
	if errors.As(err, &fe) {
		return pg.showInvoice(c, http.StatusUnprocessableEntity, map[string]string{fe.field: fe.msg}, form)
	}
	var ce *collect.Error
	if !errors.As(err, &ce) {
		return pg.failure(c, err)
	}
	field := formField(ce.Field)
	switch ce.Kind {
	case collect.Invalid, collect.Refused:
		msg := ce.Message
		if ce.Field != "" {
			msg = strings.TrimPrefix(msg, ce.Field+": ")
		}
		return pg.showInvoice(c, http.StatusUnprocessableEntity, map[string]string{cmpOr(field, "form"): msg}, form)
	case collect.Conflict, collect.Closed:
		return pg.showInvoice(c, http.StatusConflict, map[string]string{"form": ce.Message}, form)
	case collect.NotFound:
		return pg.notFound(c)
	}
	pg.log().Warn("portal action not done", "error", err)
	return pg.render(c, http.StatusServiceUnavailable, "error", errorPage{Title: "Please try again",
		Message: "We could not record that just now. Please try again in a minute.", Back: pg.homeURL(c)})
}

// formField maps a use case's field to the form's (the promise's amount
// and date have their own names on the page).
func formField(f string) string {
	switch f {
	case "date":
		return "promise_date"
	case "reason", "amount", "question", "note":
		return f
	}
	return f
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dispute is POST /portal/{token}/invoices/{id}/dispute: reason, message.
func (pg *Page) dispute(c echo.Context) error {
	return pg.action(c, func(inv *db.Invoice, cust *db.Customer, _ *time.Location) (string, error) {
		msg := strings.TrimSpace(c.FormValue("message"))
		if len(msg) > collect.MaxQuestion {
			return "", fieldError{"message", fmt.Sprintf("is longer than %d characters", collect.MaxQuestion)}
		}
		_, err := pg.cfg.Cases.OpenDispute(c.Request().Context(), collect.OpenDispute{
			InvoiceCommand: collect.InvoiceCommand{InvoiceID: inv.ID, Actor: collect.PortalActor(cust.ID)},
			Reason:         c.FormValue("reason"), Note: msg})
		if err == nil {
			pg.count(c, "dispute")
		}
		return "dispute", err
	})
}

// promise is POST /portal/{token}/invoices/{id}/promise: promise_date
// (YYYY-MM-DD, in the customer's time zone) and promise_amount.
func (pg *Page) promise(c echo.Context) error {
	return pg.action(c, func(inv *db.Invoice, cust *db.Customer, loc *time.Location) (string, error) {
		raw := strings.TrimSpace(c.FormValue("promise_date"))
		if raw == "" {
			return "", fieldError{"promise_date", "choose the date you will pay by"}
		}
		d, err := time.ParseInLocation("2006-01-02", raw, loc)
		if err != nil {
			return "", fieldError{"promise_date", "is not a date such as 2026-12-31"}
		}
		_, err = pg.cfg.Cases.PromiseToPay(c.Request().Context(), collect.PromiseToPay{
			InvoiceCommand: collect.InvoiceCommand{InvoiceID: inv.ID, Actor: collect.PortalActor(cust.ID)},
			Amount:         c.FormValue("promise_amount"), Date: d.UTC().Format(time.RFC3339), Note: "promised on the customer portal"})
		var ce *collect.Error
		if errors.As(err, &ce) && ce.Field == "amount" {
			return "", fieldError{"promise_amount", strings.TrimPrefix(ce.Message, "amount: ")}
		}
		if err == nil {
			pg.count(c, "promise")
		}
		return "promise", err
	})
}

// plan is POST /portal/{token}/invoices/{id}/plan: the customer asks to
// pay the open balance in plan_count instalments, plan_every apart, the
// first on plan_first (YYYY-MM-DD, in the customer's time zone). The same
// use case as the API's: agreed at once within the policy's bounds, else
// pending with a task for the account manager.
func (pg *Page) plan(c echo.Context) error {
	return pg.action(c, func(inv *db.Invoice, cust *db.Customer, loc *time.Location) (string, error) {
		count, err := strconv.Atoi(strings.TrimSpace(c.FormValue("plan_count")))
		if err != nil || count < 2 || count > maxPortalInstalments {
			return "", fieldError{"plan_count", fmt.Sprintf("choose between 2 and %d instalments", maxPortalInstalments)}
		}
		every := c.FormValue("plan_every")
		if !slices.ContainsFunc(everies, func(r reason) bool { return r.Value == every }) {
			return "", fieldError{"plan_every", "choose how often to pay"}
		}
		raw := strings.TrimSpace(c.FormValue("plan_first"))
		first, err := time.ParseInLocation("2006-01-02", raw, loc)
		if err != nil {
			return "", fieldError{"plan_first", "is not a date such as 2026-12-31"}
		}
		if now := pg.now(); !first.After(now) || first.After(now.Add(pg.horizon())) {
			return "", fieldError{"plan_first", fmt.Sprintf("must be within the next %d days", int(pg.horizon().Hours()/24))}
		}
		res, err := pg.cfg.Cases.ProposePaymentPlan(c.Request().Context(), collect.ProposePlan{Actor: collect.PortalActor(cust.ID),
			InvoiceID: inv.ID, Count: count, Every: every, FirstDueAt: first.Add(12 * time.Hour).UTC(), Note: "asked for on the customer portal"})
		if err != nil {
			var ce *collect.Error
			if errors.As(err, &ce) && planFields[ce.Field] != "" {
				return "", fieldError{planFields[ce.Field], strings.TrimPrefix(ce.Message, ce.Field+": ")}
			}
			return "", err
		}
		pg.count(c, "plan")
		if res.Pending() {
			return "plan_pending", nil
		}
		return "plan", nil
	})
}

// maxPortalInstalments is the most instalments the portal offers; a
// policy may allow fewer (the plan then waits for the account manager).
const maxPortalInstalments = 12

// planFields maps the use case's fields to the plan form's.
var planFields = map[string]string{"count": "plan_count", "every": "plan_every", "first_due_at": "plan_first", "instalments": "plan_count"}

// question is POST /portal/{token}/invoices/{id}/question.
func (pg *Page) question(c echo.Context) error {
	return pg.action(c, func(inv *db.Invoice, cust *db.Customer, _ *time.Location) (string, error) {
		_, err := pg.cfg.Cases.AskQuestion(c.Request().Context(), collect.AskQuestion{Actor: collect.PortalActor(cust.ID),
			CustomerID: cust.ID, InvoiceID: inv.ID, Question: c.FormValue("question")})
		if err == nil {
			pg.count(c, "question")
		}
		return "question", err
	})
}

// payAmount checks the amount to pay: a decimal in the invoice's currency,
// above zero and at most the balance.
func payAmount(inv *db.Invoice, raw string) (int64, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, fieldError{"amount", "is required, such as " + money.FormatAmount(inv.BalanceMinor, inv.Currency)}
	}
	n, err := money.ParseAmount(raw, inv.Currency)
	switch {
	case err != nil:
		return 0, fieldError{"amount", err.Error()}
	case n <= 0:
		return 0, fieldError{"amount", "must be greater than zero"}
	case n > inv.BalanceMinor:
		return 0, fieldError{"amount", "is more than the " + money.Display(inv.BalanceMinor, inv.Currency) + " still owed"}
	}
	return n, nil
}

type testPayPage struct {
	base
	Inv    invoiceRow
	Amount string
	Minor  int64
	Nonce  string
	Action string
}

// pay is POST /portal/{token}/invoices/{id}/pay: amount. With a checkout
// configured, to the processor's page; in dev, to the test payment page.
func (pg *Page) pay(c echo.Context) error {
	if !pg.checkCSRF(c) {
		return pg.forged(c)
	}
	ctx := c.Request().Context()
	cust, loc, err := pg.customer(c)
	if err != nil {
		return pg.failure(c, err)
	}
	inv, err := pg.cfg.Store.PortalInvoice(ctx, cust.ID, c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return pg.notFound(c)
	}
	if err != nil {
		return pg.failure(c, err)
	}
	form := map[string]string{"amount": c.FormValue("amount")}
	if inv.ClosedAt != nil {
		return pg.showInvoice(c, http.StatusConflict, map[string]string{"form": "This invoice is closed; nothing is left to pay."}, form)
	}
	n, err := payAmount(inv, c.FormValue("amount"))
	if err != nil {
		return pg.caseError(c, err, form)
	}
	switch {
	case pg.cfg.Checkout != nil:
		back := absolute(c, pg.invoiceURL(c, inv.ID))
		dest, err := pg.cfg.Checkout.Start(ctx, checkout.Session{InvoiceID: inv.ID, Number: inv.Number, CustomerID: cust.ID,
			CustomerEmail: cust.Email, AmountMinor: n, Currency: inv.Currency, SuccessURL: back + "?done=started", CancelURL: back})
		if err != nil {
			pg.log().Warn("checkout not started", "invoice_id", inv.ID, "error", err)
			return pg.showInvoice(c, http.StatusBadGateway, map[string]string{"form": "The payment could not be started. Please try again, or pay by bank transfer quoting invoice " + inv.Number + "."}, form)
		}
		pg.count(c, "payment_started")
		return c.Redirect(http.StatusSeeOther, dest)
	case pg.cfg.TestPayments:
		pg.count(c, "payment_started")
		return pg.render(c, http.StatusOK, "testpay", testPayPage{base: pg.base(c, cust, "Test payment"), Inv: pg.row(c, inv, loc, pg.now()),
			Amount: money.Display(n, inv.Currency), Minor: n, Nonce: portallink.RandomID(), Action: pg.invoiceURL(c, inv.ID) + "/pay/test"})
	}
	return pg.showInvoice(c, http.StatusConflict, map[string]string{"form": "Online payment is not available; please pay by bank transfer."}, form)
}

// testPay is POST /portal/{token}/invoices/{id}/pay/test: the dev test
// payment page's button. It records the payment through the same use case
// as the API, under the reference "portal:<nonce>" (the nonce makes a
// form sent twice one payment).
func (pg *Page) testPay(c echo.Context) error {
	if pg.cfg.Checkout != nil || !pg.cfg.TestPayments {
		return pg.notFound(c)
	}
	return pg.action(c, func(inv *db.Invoice, cust *db.Customer, _ *time.Location) (string, error) {
		minor, err := strconv.ParseInt(c.FormValue("minor"), 10, 64)
		if err != nil {
			return "", fieldError{"amount", "is not an amount"}
		}
		if _, err := payAmount(inv, money.FormatAmount(minor, inv.Currency)); err != nil {
			return "", err
		}
		nonce := c.FormValue("nonce")
		if len(nonce) != 24 || strings.Trim(nonce, "0123456789abcdef") != "" {
			return "", fieldError{"form", "the payment form is not valid; start the payment again"}
		}
		_, err = pg.cfg.Cases.RecordPayment(c.Request().Context(), collect.RecordPayment{Actor: collect.PortalActor(cust.ID),
			InvoiceID: inv.ID, Amount: money.FormatAmount(minor, inv.Currency), Currency: inv.Currency, Reference: PaymentReference(nonce)})
		if err == nil {
			pg.count(c, "payment_completed")
		}
		return "paid", err
	})
}

// PaymentReference is the reference a payment made on the portal is
// recorded under: "portal:" and the payment page's nonce. The prefix is how
// reports tell the portal's payments (channel "portal") from others.
func PaymentReference(nonce string) string { return db.PortalPaymentPrefix + nonce }

// absolute is path on the address the request came to.
func absolute(c echo.Context, path string) string {
	return c.Scheme() + "://" + c.Request().Host + path
}

func (pg *Page) statementPDF(c echo.Context) error {
	st, err := documents.LoadStatement(c.Request().Context(), pg.cfg.Store, claimsOf(c).CustomerID, pg.now())
	if err != nil {
		return pg.failure(c, err)
	}
	if pg.cfg.Seller != "" {
		st.Seller = pg.cfg.Seller
	}
	b, err := st.PDF()
	if err != nil {
		return pg.failure(c, err)
	}
	pg.count(c, "statement_pdf")
	c.Response().Header().Set("Content-Disposition", `attachment; filename="statement.pdf"`)
	return c.Blob(http.StatusOK, "application/pdf", b)
}

func (pg *Page) invoicePDF(c echo.Context) error {
	d, err := documents.LoadInvoice(c.Request().Context(), pg.cfg.Store, claimsOf(c).CustomerID, c.Param("id"), pg.now())
	if errors.Is(err, documents.ErrNotFound) || errors.Is(err, db.ErrNotFound) {
		return pg.notFound(c)
	}
	if err != nil {
		return pg.failure(c, err)
	}
	if pg.cfg.Seller != "" {
		d.Seller = pg.cfg.Seller
	}
	b, err := d.PDF()
	if err != nil {
		return pg.failure(c, err)
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="invoice-`+safeName(d.Number)+`.pdf"`)
	return c.Blob(http.StatusOK, "application/pdf", b)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func displayMoney(minor int64, currency string) string { return money.Display(minor, currency) }
