// Package portal is the customer's side: the page a message's link opens,
// at /portal/<token>. The token is a signed, expiring link scoped to one
// customer (package internal/portallink, checked by collect.OpenPortalLink);
// there is no password. The customer sees their open invoices, recent
// payments and a statement of account with aging, and can pay, dispute,
// promise a date or ask a question — each through the same use case in
// package collect the API calls, as the actor "<customer> via portal".
// The statement and each invoice download as PDF (package documents), and
// "Pay" goes to Stripe Checkout when configured (package checkout).
// A second kind of link opens the credit application form
// (/portal/apply/<token>) for a prospective customer.
//
// Like the collectors' page: server-rendered HTML, no JavaScript, no
// external assets, one inline style block whose hash is the only style the
// Content-Security-Policy allows. Every form carries an anti-forgery token
// (a MAC of the link, compared in constant time) and cross-origin posts
// are refused; requests are rate-limited per link and per client address.
// A bad, expired or revoked link, and an invoice id that is not the
// link's customer's, all get the same friendly 404 page.
package portal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/collections-engine/collections/checkout"
	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/metrics"
	"github.com/collections-engine/collections/money"
)

// Prefix is where the portal is served.
const Prefix = "/portal"

// Serves says whether a path is the portal's, which needs no API key.
func Serves(path string) bool {
	return path == Prefix || strings.HasPrefix(path, Prefix+"/")
}

// Config is what the portal needs from the server that mounts it.
type Config struct {
	// Cases are the business actions; Cases.Portal signs and checks links.
	Cases *collect.Service
	// Store is the database the portal reads (db.Portal's scoped reads).
	Store *db.Store
	// Checkout, when set, is where "Pay" goes (Stripe Checkout); the
	// payment comes back through the verified Stripe webhook.
	Checkout checkout.Checkout
	// TestPayments, without a Checkout, offers a clearly marked TEST
	// payment page that records the payment through collect.RecordPayment
	// (dev only: never set it where real customers pay).
	TestPayments bool
	// Seller names the business on the PDFs (MESSAGE_SENDER; empty:
	// documents.DefaultSeller).
	Seller string
	// Metrics counts visits and actions by the channel the link came by.
	Metrics *metrics.Metrics
	// RateLimit is the requests a second one link may make (default 2,
	// in bursts of up to 30, or 15 seconds' worth when more); one client
	// address may make 3 times as many.
	RateLimit float64
	Clock     func() time.Time
	Log       *slog.Logger
}

// Page serves the portal.
type Page struct {
	cfg Config
}

// New returns the portal for cfg.
func New(cfg Config) *Page { return &Page{cfg: cfg} }

func (pg *Page) log() *slog.Logger {
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
	pageCSS = mustRead("templates/portal.css")
	pageCSP = "default-src 'none'; style-src 'sha256-" + sha256Base64(pageCSS) + "'; img-src 'self'; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'"
	funcs   = template.FuncMap{
		"css":    func() template.CSS { return template.CSS(pageCSS) },
		"amount": func(currency string, minor int64) string { return money.Display(minor, currency) },
		"label":  func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	}
	pages = template.Must(template.New("").Funcs(funcs).ParseFS(pageFS, "templates/*.html"))
)

func mustRead(name string) string {
	b, err := pageFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sha256Base64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Routes registers every route of the portal on e.
func (pg *Page) Routes(e *echo.Echo) {
	g := e.Group(Prefix, middleware.Gzip(), pg.headers, pg.limit())
	g.GET("/apply/:token", pg.applyForm)
	g.POST("/apply/:token", pg.apply)
	c := g.Group("/:token", pg.link)
	c.GET("", pg.home)
	c.GET("/statement", pg.statement)
	c.GET("/invoices/:id", pg.invoicePage)
	c.POST("/invoices/:id/dispute", pg.dispute)
	c.POST("/invoices/:id/promise", pg.promise)
	c.POST("/invoices/:id/question", pg.question)
	c.POST("/invoices/:id/plan", pg.plan)
	c.POST("/invoices/:id/pay", pg.pay)
	c.POST("/invoices/:id/pay/test", pg.testPay)
	c.GET("/statement.pdf", pg.statementPDF)
	c.GET("/invoices/:id/invoice.pdf", pg.invoicePDF)
}

// headers: no caching, no framing, no scripts, no referrer (the link is a
// credential and must not leak to another site), no posts from other sites.
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
			return pg.render(c, http.StatusForbidden, "error", errorPage{Title: "This form was sent from another site",
				Message: "For your safety it was not accepted. Open the link from your message again and use the form there."})
		}
		return next(c)
	}
}

// limit allows each link RateLimit requests a second (burst 30) and each
// client address three times as many.
func (pg *Page) limit() echo.MiddlewareFunc {
	r := pg.cfg.RateLimit
	if r <= 0 {
		r = 2
	}
	deny := func(c echo.Context, _ string, _ error) error {
		c.Response().Header().Set("Retry-After", "10")
		return pg.render(c, http.StatusTooManyRequests, "error", errorPage{Title: "Too many requests",
			Message: "Please wait a few seconds and try again."})
	}
	burst := max(30, int(15*r))
	byLink := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(r), Burst: burst, ExpiresIn: 10 * time.Minute})
	byAddr := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(3 * r), Burst: 3 * burst, ExpiresIn: 10 * time.Minute})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if ok, _ := byAddr.Allow("addr:" + c.RealIP()); !ok {
				return deny(c, "", nil)
			}
			// The token is the path's first segment after the prefix (or
			// after /apply/): the limiter runs before routing binds it.
			if tok := linkToken(c.Request().URL.Path); tok != "" {
				if ok, _ := byLink.Allow("link:" + tok); !ok {
					return deny(c, "", nil)
				}
			}
			return next(c)
		}
	}
}

// RedactPath hides the link in a portal path ("/portal/<token>/statement"
// becomes "/portal/…/statement"), for logs and traces: a link is a
// credential. Other paths come back as they are.
func RedactPath(path string) string {
	rest, ok := strings.CutPrefix(path, Prefix+"/")
	if !ok {
		return path
	}
	head := ""
	if r, ok := strings.CutPrefix(rest, "apply/"); ok {
		head, rest = "apply/", r
	}
	if rest == "" {
		return path
	}
	_, tail, _ := strings.Cut(rest, "/")
	if tail != "" {
		tail = "/" + tail
	}
	return Prefix + "/" + head + "…" + tail
}

func linkToken(path string) string {
	rest, ok := strings.CutPrefix(path, Prefix+"/")
	if !ok {
		return ""
	}
	rest = strings.TrimPrefix(rest, "apply/")
	tok, _, _ := strings.Cut(rest, "/")
	if len(tok) > 2048 {
		tok = tok[:2048]
	}
	return tok
}

// ctxClaims is where a request with a valid link keeps what it grants.
const ctxClaims = "portal.claims"

// link lets a request with a valid customer link through; any other gets
// the one friendly page, whatever was wrong with it.
func (pg *Page) link(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		claims, err := pg.cfg.Cases.OpenPortalLink(c.Request().Context(), c.Param("token"), portallink.KindCustomer)
		if err != nil {
			if !errors.Is(err, collect.ErrPortalLink) {
				return pg.failure(c, err)
			}
			return pg.badLink(c)
		}
		c.Set(ctxClaims, claims)
		return next(c)
	}
}

func claimsOf(c echo.Context) portallink.Claims {
	cl, _ := c.Get(ctxClaims).(portallink.Claims)
	return cl
}

// badLink is the page for every link that does not open the portal:
// malformed, forged, expired or revoked. Always 404, always the same.
func (pg *Page) badLink(c echo.Context) error {
	return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "This link does not work",
		Message: "The link may have expired or been replaced by a newer one. Use the link in the latest message we sent you, or reply to that message and we will send a new one."})
}

// notFound is the page for an invoice that is not the link's customer's
// (or does not exist): the same answer for both.
func (pg *Page) notFound(c echo.Context) error {
	return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "Invoice not found",
		Message: "There is no such invoice on your account.", Back: pg.homeURL(c)})
}

type errorPage struct {
	Title   string
	Message string
	Back    string
}

func (pg *Page) failure(c echo.Context, err error) error {
	pg.log().Error("portal page failed", "path", c.Path(), "error", err)
	return pg.render(c, http.StatusInternalServerError, "error", errorPage{Title: "Something went wrong",
		Message: "Please try again in a few minutes."})
}

func (pg *Page) render(c echo.Context, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// csrf is the anti-forgery token of the link's forms: a MAC of the link
// under the signing key.
func (pg *Page) csrf(token string) string { return pg.cfg.Cases.Portal.Signer.Tag("form", token) }

// checkCSRF compares the form's token with the link's in constant time.
func (pg *Page) checkCSRF(c echo.Context) bool {
	return hmac.Equal([]byte(c.FormValue("csrf")), []byte(pg.csrf(c.Param("token"))))
}

func (pg *Page) forged(c echo.Context) error {
	return pg.render(c, http.StatusForbidden, "error", errorPage{Title: "This form has expired",
		Message: "For your safety it was not accepted. Open the page again and send the form from there.", Back: pg.homeURL(c)})
}

// channel is how the link reached the customer, for the metrics: the
// message's channel, or "link" for one the team issued.
func channel(cl portallink.Claims) string {
	if cl.Channel != "" {
		return cl.Channel
	}
	return "link"
}

func (pg *Page) count(c echo.Context, action string) {
	pg.cfg.Metrics.PortalAction(action, channel(claimsOf(c)))
}

func (pg *Page) homeURL(c echo.Context) string { return Prefix + "/" + c.Param("token") }
func (pg *Page) invoiceURL(c echo.Context, id string) string {
	return pg.homeURL(c) + "/invoices/" + id
}
