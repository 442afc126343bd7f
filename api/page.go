package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
)

// The collectors' page: server-rendered HTML at /desk/ (the worklist, with
// an aging chart of the book) and /desk/customers/{id} (the account view,
// with each invoice's timeline and a link to its workflow in the Temporal
// Web UI). No JavaScript, no external assets: one inline style block, whose
// hash is the only style the Content-Security-Policy allows.
//
// Sign-in is with an API key (any role: the pages only read). The key is
// checked against the key store once; the browser then holds a session
// cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) naming the key's id
// and an expiry, signed with HMAC-SHA256 — never the key itself. Every page
// checks the signature, the expiry and that the key is still unrevoked, so
// revoking a key ends its sessions.

// DeskPrefix is where the collectors' page is served.
const DeskPrefix = "/desk"

// DeskSessionTTL is how long a sign-in to the collectors' page lasts.
const DeskSessionTTL = 12 * time.Hour

const deskCookie = "desk_session"

//go:embed page
var pageFS embed.FS

var (
	pageCSS   = mustRead(pageFS, "page/desk.css")
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
		"css": func() template.CSS { return template.CSS(pageCSS) },
		"inc": func(i int) int { return i + 1 },
		"num": groupThousands,
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
	pageTemplates = template.Must(template.New("").Funcs(pageFuncs).ParseFS(pageFS, "page/*.html"))
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

// isPage says whether a path is the collectors' page, which signs in with a
// session cookie instead of a bearer key.
func isPage(path string) bool {
	return path == DeskPrefix || strings.HasPrefix(path, DeskPrefix+"/")
}

func (s *Server) pageRoutes(e *echo.Echo) {
	e.GET(DeskPrefix, func(c echo.Context) error { return c.Redirect(http.StatusFound, DeskPrefix+"/") })
	// Compressed: a worklist of 200 rows is about 94 KB of HTML, 11 KB gzipped.
	g := e.Group(DeskPrefix, middleware.Gzip(), s.pageHeaders)
	g.GET("/login", s.loginPage)
	g.POST("/login", s.login)
	g.POST("/logout", s.logout)
	in := g.Group("", s.pageSession)
	in.GET("/", s.worklistPage)
	in.GET("/customers/:id", s.accountPage)
}

// pageHeaders: no caching of customer data, no framing, no scripts, and
// no form posts from other sites.
func (s *Server) pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if err := cop.Check(c.Request()); err != nil {
			return s.renderPage(c, http.StatusForbidden, "error", errorPage{Title: "Forbidden", Message: "This form was sent from another site."})
		}
		return next(c)
	}
}

// sessionKey is the HMAC key sessions are signed with: SessionSecret, or
// one drawn at random for the life of the process.
func (s *Server) sessionKey() []byte {
	s.sessionOnce.Do(func() {
		if len(s.SessionSecret) > 0 {
			s.sessionSecret = s.SessionSecret
			return
		}
		s.sessionSecret = make([]byte, 32)
		if _, err := rand.Read(s.sessionSecret); err != nil {
			panic(err)
		}
	})
	return s.sessionSecret
}

func sessionMAC(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("collections desk session\x00" + payload))
	return m.Sum(nil)
}

// sessionToken is "<key id>|<expiry unix seconds>" and its MAC, each
// base64url-encoded, joined by a dot.
func (s *Server) sessionToken(keyID string, expires time.Time) string {
	return s.sessionTokenWith(s.sessionKey(), keyID, expires)
}

func (s *Server) sessionTokenWith(secret []byte, keyID string, expires time.Time) string {
	payload := keyID + "|" + strconv.FormatInt(expires.Unix(), 10)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sessionMAC(secret, payload))
}

var errSession = errors.New("no valid session")

// checkSession returns the key a session token names when the signature
// holds, the session has not expired and the key is not revoked.
func (s *Server) checkSession(ctx context.Context, token string) (*db.APIKey, error) {
	p64, m64, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errSession
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, sessionMAC(s.sessionKey(), string(payload))) {
		return nil, errSession
	}
	id, exp, ok := strings.Cut(string(payload), "|")
	expires, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || !s.now().Before(time.Unix(expires, 0)) {
		return nil, errSession
	}
	key, err := s.Store.APIKeyByID(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, errSession
	}
	return key, err
}

func (s *Server) setSessionCookie(c echo.Context, value string, expires time.Time, maxAge int) {
	c.SetCookie(&http.Cookie{Name: deskCookie, Value: value, Path: DeskPrefix + "/", Expires: expires, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https"})
}

// pageSession lets a request with a valid session through; any other goes
// to the sign-in form, which brings the reader back afterwards.
func (s *Server) pageSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ck, err := c.Cookie(deskCookie); err == nil {
			key, err := s.checkSession(c.Request().Context(), ck.Value)
			if err == nil {
				c.Set(ctxAPIKey, key)
				return next(c)
			}
			if !errors.Is(err, errSession) {
				return s.pageFailure(c, err)
			}
		}
		return c.Redirect(http.StatusSeeOther, DeskPrefix+"/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
}

// localNext is where to go after signing in: a page under /desk/ only,
// never another site.
func localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		!strings.HasPrefix(u.Path, DeskPrefix+"/") || strings.Contains(u.Path, "..") {
		return DeskPrefix + "/"
	}
	return next
}

type loginPage struct {
	Title   string
	Next    string
	Message string
}

func (s *Server) loginPage(c echo.Context) error {
	next := localNext(c.QueryParam("next"))
	if ck, err := c.Cookie(deskCookie); err == nil {
		if _, err := s.checkSession(c.Request().Context(), ck.Value); err == nil {
			return c.Redirect(http.StatusSeeOther, next)
		}
	}
	return s.renderPage(c, http.StatusOK, "login", loginPage{Title: "Sign in", Next: next})
}

// login checks the key from the form and opens a session.
func (s *Server) login(c echo.Context) error {
	next := localNext(c.FormValue("next"))
	secret := strings.TrimSpace(c.FormValue("key"))
	if secret == "" {
		return s.renderPage(c, http.StatusBadRequest, "login", loginPage{Title: "Sign in", Next: next, Message: "key: enter an API key."})
	}
	key, err := s.Store.APIKeyByHash(c.Request().Context(), HashKey(secret))
	if errors.Is(err, db.ErrNotFound) {
		return s.renderPage(c, http.StatusUnauthorized, "login", loginPage{Title: "Sign in", Next: next,
			Message: "key: this API key is not valid or has been revoked."})
	}
	if err != nil {
		return s.pageFailure(c, err)
	}
	expires := s.now().Add(DeskSessionTTL)
	s.setSessionCookie(c, s.sessionToken(key.ID, expires), expires, int(DeskSessionTTL/time.Second))
	s.log().Info("signed in to the collectors' page", "key", key.Prefix, "key_name", key.Name)
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) logout(c echo.Context) error {
	s.setSessionCookie(c, "", time.Unix(0, 0), -1)
	return c.Redirect(http.StatusSeeOther, DeskPrefix+"/login")
}

type errorPage struct {
	Title   string
	Message string
}

func (s *Server) pageFailure(c echo.Context, err error) error {
	s.log().Error("collectors' page failed", "uri", c.Request().RequestURI, "error", err)
	return s.renderPage(c, http.StatusInternalServerError, "error", errorPage{Title: "Something went wrong",
		Message: "The page could not be made; the server log says why."})
}

func (s *Server) renderPage(c echo.Context, status int, name string, data any) error {
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
func (s *Server) workflowURL(workflowID string) string {
	if s.TemporalUIURL == "" || workflowID == "" {
		return ""
	}
	return strings.TrimRight(s.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(cmp.Or(s.Namespace, "default")) +
		"/workflows/" + url.PathEscape(workflowID)
}

type worklistPage struct {
	Title    string
	KeyName  string
	Manager  string
	Currency string
	Managers []string
	Limit    int
	List     desk.List
	Charts   []agingChart
}

const maxPageRows = 500

// worklistPage is GET /desk/?manager=&currency=&limit=.
func (s *Server) worklistPage(c echo.Context) error {
	p := worklistPage{Title: "Worklist", KeyName: keyName(c), Manager: strings.TrimSpace(c.QueryParam("manager")), Limit: 100}
	bad := func(msg string) error {
		return s.renderPage(c, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Message: msg})
	}
	if cur := strings.TrimSpace(c.QueryParam("currency")); cur != "" {
		code, err := money.Currency(cur)
		if err != nil {
			return bad(fmt.Sprintf("currency: %v", err))
		}
		p.Currency = code
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPageRows {
			return bad(fmt.Sprintf("limit: must be a whole number from 1 to %d", maxPageRows))
		}
		p.Limit = n
	}
	ctx := c.Request().Context()
	w, err := desk.LoadWorklist(ctx, s.Store, desk.Query{Manager: p.Manager, Currency: p.Currency, Limit: p.Limit}, s.now())
	if err != nil {
		return s.pageFailure(c, err)
	}
	p.List, p.Charts = w, agingCharts(w.Aging)
	if p.Managers, err = s.Store.AccountManagers(ctx); err != nil {
		return s.pageFailure(c, err)
	}
	return s.renderPage(c, http.StatusOK, "worklist", p)
}

func keyName(c echo.Context) string {
	if k, ok := c.Get(ctxAPIKey).(*db.APIKey); ok {
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
}

// accountPage is GET /desk/customers/{id}.
func (s *Server) accountPage(c echo.Context) error {
	ctx := c.Request().Context()
	cust, err := s.Store.GetCustomer(ctx, c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return s.renderPage(c, http.StatusNotFound, "error", errorPage{Title: "Not found",
			Message: fmt.Sprintf("id: there is no customer %q.", c.Param("id"))})
	}
	if err != nil {
		return s.pageFailure(c, err)
	}
	now := s.now()
	a, err := desk.LoadAccount(ctx, s.Store, cust, now)
	if err != nil {
		return s.pageFailure(c, err)
	}
	p := accountPage{Title: cust.Name, KeyName: keyName(c), A: a, Charts: agingCharts(a.Aging)}
	for _, inv := range a.Invoices {
		pi := pageInvoice{ID: inv.ID, Number: inv.Number, Currency: inv.Currency, Amount: money.FormatAmount(inv.AmountMinor, inv.Currency),
			Balance: money.FormatAmount(inv.BalanceMinor, inv.Currency), DueAt: inv.DueAt,
			Stage: inv.Stage, Open: inv.ClosedAt == nil && !inv.Stage.Closed(), WorkflowID: inv.WorkflowID,
			WorkflowURL: s.workflowURL(inv.WorkflowID)}
		if pi.Open {
			pi.DaysOverdue = desk.DaysOverdue(inv.DueAt, now)
		}
		if st := inv.Status; st != nil {
			pi.NextAction = st.NextAction
			for _, e := range st.Timeline {
				ev := pageEvent{At: e.At, Kind: e.Kind, Step: e.Step, Channel: e.Channel, Outcome: e.Outcome, Detail: e.Detail,
					Reference: e.Reference}
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
	return s.renderPage(c, http.StatusOK, "account", p)
}
