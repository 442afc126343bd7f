// Package deskpage is the collectors' page: server-rendered HTML at /desk/
// (the worklist, with an aging chart of the book) and /desk/customers/{id}
// (the account view, with each invoice's timeline and a link to its
// workflow in the Temporal Web UI, and the forms for the day's work). No
// JavaScript, no external assets: one inline style block, whose hash is the
// only style the Content-Security-Policy allows.
//
// The forms (actions.go) log a call, add a note, record a payment, open and
// resolve a dispute, pause and resume, complete and reassign a task, and
// for management decide on an escalation or record the agency's outcome.
// Each calls the same business action (package collect) as the API, with
// the signed-in key as the actor; each carries a per-session anti-forgery
// token, is shown only to a key whose role may use it and refused (403) to
// any other, and answers with a redirect that says what happened, or with
// the form again and the error beside its field.
//
// Sign-in is with an API key (any role; a read-only key sees no forms). The key is
// checked against the key store once; the browser then holds a session
// cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) naming the key's id
// and an expiry, signed with HMAC-SHA256 — never the key itself. Every page
// checks the signature, the expiry and that the key is still unrevoked, so
// revoking a key ends its sessions.
//
// Routes lists every route; the API server mounts the page with it. The
// data comes from the desk package's read model, the same the JSON desk
// endpoints show.
package deskpage

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// Prefix is where the collectors' page is served.
const Prefix = "/desk"

// SessionTTL is how long a sign-in to the collectors' page lasts.
const SessionTTL = 12 * time.Hour

const deskCookie = "desk_session"

// ctxKey is where a request with a valid session keeps its API key.
const ctxKey = "deskpage.api_key"

// Config is what the page needs from the server that mounts it.
type Config struct {
	// Store holds the book and the API keys sessions are checked against.
	Store *db.Store
	// SessionSecret signs the sessions (DESK_SESSION_SECRET). Empty: a
	// random secret for the life of the Page, so sessions end when the
	// process restarts and do not carry over to other API replicas.
	SessionSecret []byte
	// TemporalUIURL is the Temporal Web UI's base URL, which each invoice's
	// workflow links into; empty: no links.
	TemporalUIURL string
	// Namespace is the Temporal namespace the workflows run in, for those
	// links ("default" if empty).
	Namespace string
	// Cases are the business actions the forms call, the same the API
	// calls (package collect). Nil: the page only reads.
	Cases *collect.Service
	Clock func() time.Time // time.Now if nil
	Log   *slog.Logger     // slog.Default() if nil
}

// Page serves the collectors' page.
type Page struct {
	cfg    Config
	store  *db.Store
	secret []byte
}

// New returns the page for cfg.
func New(cfg Config) *Page {
	pg := &Page{cfg: cfg, store: cfg.Store, secret: cfg.SessionSecret}
	if len(pg.secret) == 0 {
		pg.secret = make([]byte, 32)
		if _, err := rand.Read(pg.secret); err != nil {
			panic(err)
		}
	}
	return pg
}

func (pg *Page) logger() *slog.Logger {
	if pg.cfg.Log != nil {
		return pg.cfg.Log
	}
	return slog.Default()
}

func (pg *Page) now() time.Time {
	if pg.cfg.Clock != nil {
		return pg.cfg.Clock().UTC()
	}
	return time.Now().UTC()
}

//go:embed templates
var pageFS embed.FS

var (
	pageCSS   = mustRead(pageFS, "templates/desk.css")
	pageCSP   = "default-src 'none'; style-src 'sha256-" + sha256Base64(pageCSS) + "'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	pageFuncs = template.FuncMap{
		"when":  when,
		"day":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"label": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"whenp": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return when(*t)
		},
		"css":  func() template.CSS { return template.CSS(pageCSS) },
		"size": humanSize,
		"inc":  func(i int) int { return i + 1 },
		"num":  groupThousands,
		"trend": func(t desk.Trend) string {
			return map[desk.Trend]string{desk.TrendImproving: "earlier than before", desk.TrendSteady: "steadily",
				desk.TrendWorsening: "later and later", desk.TrendInsufficient: "too few paid invoices to tell"}[t]
		},
		"money": func(currency, amount string) string {
			if amount == "" {
				return ""
			}
			return currency + " " + groupThousands(amount)
		},
		// amount and figure write minor units: "EUR 2,500.00" and "2,500.00".
		"amount": func(currency string, minor int64) string {
			return currency + " " + groupThousands(money.FormatAmount(minor, currency))
		},
		"figure": func(currency string, minor int64) string { return groupThousands(money.FormatAmount(minor, currency)) },
	}
	pageTemplates = template.Must(template.New("").Funcs(pageFuncs).ParseFS(pageFS, "templates/*.html"))
)

func mustRead(fs embed.FS, name string) string {
	b, err := fs.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sha256Base64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// groupThousands writes a decimal string such as "-12500.00" with thousands
// separators: "-12,500.00".
func groupThousands(amount string) string {
	sign, digits := "", amount
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	whole, frac, hasFrac := strings.Cut(digits, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Serves says whether a path is the collectors' page, which signs in with a
// session cookie instead of a bearer key.
func Serves(path string) bool {
	return path == Prefix || strings.HasPrefix(path, Prefix+"/")
}

// Routes registers every route of the page on e.
func (pg *Page) Routes(e *echo.Echo) {
	e.GET(Prefix, func(c echo.Context) error { return c.Redirect(http.StatusFound, Prefix+"/") })
	// Compressed: a worklist is long, repetitive HTML, which gzip shrinks
	// several times over (sizes in docs/desk.md, "How fast").
	g := e.Group(Prefix, middleware.Gzip(), pg.headers)
	g.GET("/login", pg.loginPage)
	g.POST("/login", pg.login)
	g.POST("/logout", pg.logout)
	in := g.Group("", pg.session)
	in.GET("/", pg.worklistPage)
	in.GET("/customers/:id", pg.accountPage)
	in.GET("/replies", pg.repliesPage)        // replies.go
	in.GET("/attachments/:id", pg.attachment) // replies.go
	if pg.cfg.Cases != nil {
		pg.actionRoutes(in) // actions.go
	}
}

// pageHeaders: no caching of customer data, no framing, no scripts, and
// no form posts from other sites.
func (pg *Page) headers(next echo.HandlerFunc) echo.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if err := cop.Check(c.Request()); err != nil {
			return pg.render(c, http.StatusForbidden, "error", errorPage{Title: "Forbidden", Message: "This form was sent from another site."})
		}
		return next(c)
	}
}

type errorPage struct {
	Title   string
	Message string
}

func (pg *Page) failure(c echo.Context, err error) error {
	pg.logger().Error("collectors' page failed", "uri", c.Request().RequestURI, "error", err)
	return pg.render(c, http.StatusInternalServerError, "error", errorPage{Title: "Something went wrong",
		Message: "The page could not be made; the server log says why."})
}

func (pg *Page) render(c echo.Context, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// agingChart is one currency's aging as bars of an inline SVG chart.
type agingChart struct {
	Currency string
	Open     string
	Bars     []agingBar
}

type agingBar struct {
	Label  string
	Amount string
	Y      int // the bar's top, in the SVG's units
	Width  int // out of chartWidth
	Class  string
}

const chartWidth = 300

func agingCharts(as []desk.Aging) []agingChart {
	out := make([]agingChart, 0, len(as))
	for _, a := range as {
		parts := []struct {
			label, class string
			minor        int64
		}{{"current", "b0", a.Current}, {"1–30 days", "b1", a.Days1To30}, {"31–60 days", "b2", a.Days31To60},
			{"61–90 days", "b3", a.Days61To90}, {"over 90 days", "b4", a.Over90}}
		peak := int64(1)
		for _, p := range parts {
			peak = max(peak, p.minor)
		}
		ch := agingChart{Currency: a.Currency, Open: groupThousands(money.FormatAmount(a.OpenMinor, a.Currency))}
		for i, p := range parts {
			w := int(p.minor * chartWidth / peak)
			if p.minor > 0 {
				w = max(w, 2) // visible, however small
			}
			ch.Bars = append(ch.Bars, agingBar{Label: p.label, Amount: groupThousands(money.FormatAmount(p.minor, a.Currency)), Y: i * 24,
				Width: max(w, 0), Class: p.class})
		}
		out = append(out, ch)
	}
	return out
}

// workflowURL is the invoice workflow's page in the Temporal Web UI; empty
// when no UI is configured.
func (pg *Page) workflowURL(workflowID string) string {
	if pg.cfg.TemporalUIURL == "" || workflowID == "" {
		return ""
	}
	return strings.TrimRight(pg.cfg.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(cmp.Or(pg.cfg.Namespace, "default")) +
		"/workflows/" + url.PathEscape(workflowID)
}

// numberSearchURL is the Temporal Web UI's list of workflows filtered by
// the InvoiceNumber search attribute: every run of the invoice (a refund
// reopens a paid one in a new run); empty when no UI is configured.
func (pg *Page) numberSearchURL(number string) string {
	if pg.cfg.TemporalUIURL == "" || number == "" {
		return ""
	}
	return strings.TrimRight(pg.cfg.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(cmp.Or(pg.cfg.Namespace, "default")) +
		"/workflows?query=" + url.QueryEscape(workflows.SAInvoiceNumber.GetName()+` = "`+number+`"`)
}

type worklistPage struct {
	Title     string
	KeyName   string
	Manager   string
	Currency  string
	Stage     string
	Bucket    string
	MinAmount string
	HasTask   string // "", "true" or "false"
	Managers  []string
	Stages    []invoice.Stage
	Buckets   []string
	Limit     int
	First     bool // the first page (no cursor)
	FirstURL  string
	NextURL   string // the next page; "" on the last
	List      desk.List
	Charts    []agingChart
}

const maxPageRows = desk.MaxLimit

// worklistPage is GET /desk/?manager=&currency=&stage=&bucket=&min_amount=
// &has_task=&cursor=&limit=: the same query as GET /v1/worklist
// (desk.ParseQuery), a page at a time with a link to the next.
func (pg *Page) worklistPage(c echo.Context) error {
	q, err := desk.ParseQuery(c.QueryParam, 100)
	if err != nil {
		fe, _ := desk.AsFieldError(err)
		return pg.render(c, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Message: fe.Error()})
	}
	p := worklistPage{Title: "Worklist", KeyName: keyName(c), Manager: q.Manager, Currency: q.Currency, Stage: string(q.Stage),
		Bucket: q.Bucket, MinAmount: strings.TrimSpace(c.QueryParam("min_amount")), Limit: q.Limit, First: q.Cursor == "",
		Stages: desk.OpenStages, Buckets: desk.Buckets}
	if q.HasTask != nil {
		p.HasTask = strconv.FormatBool(*q.HasTask)
	}
	ctx := c.Request().Context()
	w, err := desk.LoadWorklist(ctx, pg.store, q, pg.now())
	if fe, ok := desk.AsFieldError(err); ok {
		return pg.render(c, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Message: fe.Error()})
	}
	if err != nil {
		return pg.failure(c, err)
	}
	p.List, p.Charts = w, agingCharts(w.Aging)
	// The filters as they were asked, for the next page and the first.
	v := url.Values{}
	for _, f := range [][2]string{{"manager", p.Manager}, {"currency", p.Currency}, {"stage", p.Stage}, {"bucket", p.Bucket},
		{"min_amount", p.MinAmount}, {"has_task", p.HasTask}} {
		if f[1] != "" {
			v.Set(f[0], f[1])
		}
	}
	if c.QueryParam("limit") != "" {
		v.Set("limit", strconv.Itoa(p.Limit))
	}
	p.FirstURL = Prefix + "/"
	if len(v) > 0 {
		p.FirstURL += "?" + v.Encode()
	}
	if w.NextCursor != "" {
		v.Set("cursor", w.NextCursor)
		p.NextURL = Prefix + "/?" + v.Encode()
	}
	if p.Managers, err = pg.store.AccountManagers(ctx); err != nil {
		return pg.failure(c, err)
	}
	return pg.render(c, http.StatusOK, "worklist", p)
}

func keyName(c echo.Context) string {
	if k, ok := c.Get(ctxKey).(*db.APIKey); ok {
		return cmp.Or(k.Name, k.Prefix)
	}
	return ""
}

type accountPage struct {
	Title    string
	KeyName  string
	A        desk.Account
	Charts   []agingChart
	Invoices []pageInvoice
	Act      *accountActions // the forms the key may use (actions.go)
	// More is the link to the next page of each list (invoices, payments,
	// messages, notes, tasks), absent at its end; First goes back to the
	// first page of every list.
	More  map[string]string
	First string
}

// pageInvoice is one of the customer's invoices with its timeline.
type pageInvoice struct {
	ID          string
	Number      string
	Currency    string
	Amount      string
	Balance     string
	DueAt       time.Time
	DaysOverdue int
	Stage       invoice.Stage
	Open        bool
	WorkflowID  string
	WorkflowURL string
	SearchURL   string // the Web UI's list filtered by InvoiceNumber
	NextAction  *invoice.NextAction
	Timeline    []pageEvent
}

// pageEvent is one event of an invoice's timeline.
type pageEvent struct {
	At        time.Time
	Kind      string
	Step      string
	Channel   string
	Outcome   string
	Detail    string
	Amount    string
	Balance   string
	Reference string
	Actor     string
}

// accountPage is GET /desk/customers/{id}.
func (pg *Page) accountPage(c echo.Context) error {
	ctx := c.Request().Context()
	cust, err := pg.store.GetCustomer(ctx, c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "Not found",
			Message: fmt.Sprintf("id: there is no customer %q.", c.Param("id"))})
	}
	if err != nil {
		return pg.failure(c, err)
	}
	q, err := desk.ParseAccountQuery(c.QueryParam)
	if err != nil {
		return pg.render(c, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Message: err.Error()})
	}
	now := pg.now()
	a, err := desk.LoadAccountPage(ctx, pg.store, cust, q, now)
	if fe, ok := desk.AsFieldError(err); ok {
		return pg.render(c, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Message: fe.Error()})
	}
	if err != nil {
		return pg.failure(c, err)
	}
	p := accountPage{Title: cust.Name, KeyName: keyName(c), A: a, Charts: agingCharts(a.Aging), More: map[string]string{}}
	// Each list pages on its own: its "more" link moves its cursor and keeps the others'.
	here := url.Values{}
	for _, l := range [][2]string{{"invoices", q.Invoices}, {"payments", q.Payments}, {"messages", q.Messages}, {"notes", q.Notes}, {"tasks", q.Tasks}} {
		if l[1] != "" {
			here.Set(l[0]+"_cursor", l[1])
		}
	}
	if c.QueryParam("limit") != "" {
		here.Set("limit", strconv.Itoa(q.Limit))
	}
	base := Prefix + "/customers/" + url.PathEscape(cust.ID)
	if q.Invoices != "" || q.Payments != "" || q.Messages != "" || q.Notes != "" || q.Tasks != "" {
		p.First = base
	}
	for _, l := range [][2]string{{"invoices", a.Next.Invoices}, {"payments", a.Next.Payments}, {"messages", a.Next.Messages},
		{"notes", a.Next.Notes}, {"tasks", a.Next.Tasks}} {
		if l[1] == "" {
			continue
		}
		v := url.Values{}
		for k, vs := range here {
			v[k] = vs
		}
		v.Set(l[0]+"_cursor", l[1])
		p.More[l[0]] = base + "?" + v.Encode()
	}
	if pg.cfg.Cases != nil {
		p.Act = pg.actions(c, a)
	} else {
		p.Act = &accountActions{}
	}
	for _, inv := range a.Invoices {
		pi := pageInvoice{ID: inv.ID, Number: inv.Number, Currency: inv.Currency, Amount: money.FormatAmount(inv.AmountMinor, inv.Currency),
			Balance: money.FormatAmount(inv.BalanceMinor, inv.Currency), DueAt: inv.DueAt,
			Stage: inv.Stage, Open: inv.ClosedAt == nil && !inv.Stage.Closed(), WorkflowID: inv.WorkflowID,
			WorkflowURL: pg.workflowURL(inv.WorkflowID), SearchURL: pg.numberSearchURL(inv.Number)}
		if pi.Open {
			pi.DaysOverdue = desk.DaysOverdue(inv.DueAt, now)
		}
		if st := inv.Status; st != nil {
			pi.NextAction = st.NextAction
			for _, e := range st.Timeline {
				ev := pageEvent{At: e.At, Kind: e.Kind, Step: e.Step, Channel: e.Channel, Outcome: e.Outcome, Detail: e.Detail,
					Reference: e.Reference, Actor: e.Actor}
				if e.AmountMinor != 0 {
					ev.Amount = money.FormatAmount(e.AmountMinor, inv.Currency)
				}
				if e.BalanceMinor != nil {
					ev.Balance = money.FormatAmount(*e.BalanceMinor, inv.Currency)
				}
				pi.Timeline = append(pi.Timeline, ev)
			}
		}
		p.Invoices = append(p.Invoices, pi)
	}
	// Open invoices first, oldest due first; then the closed ones, latest due first.
	slices.SortStableFunc(p.Invoices, func(a, b pageInvoice) int {
		switch {
		case a.Open != b.Open:
			if a.Open {
				return -1
			}
			return 1
		case a.Open:
			return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.Number, b.Number))
		}
		return cmp.Or(b.DueAt.Compare(a.DueAt), cmp.Compare(a.Number, b.Number))
	})
	return pg.render(c, http.StatusOK, "account", p)
}
