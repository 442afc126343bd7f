package portal_test

import (
	"context"
	"errors"
	"io"
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

	"github.com/collections-engine/collections/checkout"
	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/metrics"
	"github.com/collections-engine/collections/portal"
	"github.com/collections-engine/collections/workflows"
)

// The portal's handlers against a real database (SQLite, and PostgreSQL
// with TEST_DATABASE_URL): links, scoping, anti-forgery, input checks.
// What needs a running workflow (a dispute, a promise or a payment taking
// effect) is covered by internal/devstack's browser test.

type env struct {
	t       *testing.T
	e       *echo.Echo
	store   *db.Store
	cases   *collect.Service
	signer  *portallink.Signer
	metrics *metrics.Metrics
	now     time.Time
}

const secret = "0123456789abcdef0123456789abcdef"

func setup(t *testing.T, d dbtest.Database, rateLimit float64) *env {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	store := db.NewStore(d.DB)
	for _, c := range []string{"acme", "beta"} {
		if _, err := store.InsertCustomer(ctx, &db.Customer{ID: c, Name: strings.ToUpper(c[:1]) + c[1:] + " Ltd", Email: c + "@x.test",
			Timezone: "Europe/Berlin", AccountManager: "mia@ar.test", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	add := func(id, number, cust string, amount int64, dueIn time.Duration) {
		if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: id, Number: number, CustomerID: cust, AmountMinor: amount, BalanceMinor: amount,
			Currency: "EUR", IssuedAt: now.Add(-24 * time.Hour), DueAt: now.Add(dueIn), Stage: invoice.StageNotified, PolicyName: "standard",
			PolicyVersion: 1, WorkflowID: "invoice:" + id, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	add("inv-a1", "A-1001", "acme", 125000, 10*24*time.Hour)
	add("inv-a2", "A-1002", "acme", 5000, -40*24*time.Hour)
	add("inv-b1", "B-2001", "beta", 990000, 24*time.Hour)
	k, _ := portallink.ParseKeys("k1:" + secret)
	signer, err := portallink.NewSigner(k, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	cases := &collect.Service{Store: store, Workflows: &workflows.Client{Temporal: &fakeTemporal{}}, Portal: &portallink.Links{Signer: signer, BaseURL: "http://portal.test/portal"},
		Log: slog.New(slog.DiscardHandler)}
	e := echo.New()
	portal.New(portal.Config{Cases: cases, Store: store, TestPayments: true, Metrics: m, RateLimit: rateLimit, Log: slog.New(slog.DiscardHandler)}).Routes(e)
	return &env{t: t, e: e, store: store, cases: cases, signer: signer, metrics: m, now: now}
}

// fakeTemporal takes the signals a note sends to its invoice's workflow and
// has no workflow to query (the pages fall back to the saved status).
// Anything else panics (nil embedded interface): updates need the real
// stack (internal/devstack's browser test).
type fakeTemporal struct {
	client.Client
	mu      sync.Mutex
	signals []string
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, id, _, name string, _ any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, id+" "+name)
	return nil
}

func (f *fakeTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, errors.New("no workflow here")
}

type fakeCheckout struct{ got checkout.Session }

func (f *fakeCheckout) Start(_ context.Context, s checkout.Session) (string, error) {
	f.got = s
	return "https://checkout.test/s/1", nil
}

func (v *env) token(c portallink.Claims) string {
	if c.Kind == "" {
		c.Kind = portallink.KindCustomer
	}
	if c.ID == "" {
		c.ID = portallink.RandomID()
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = v.now
	}
	return v.signer.Sign(c)
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (v *env) do(method, path string, form url.Values, headers ...string) resp {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	v.e.ServeHTTP(rec, req)
	return resp{rec.Code, rec.Body.String(), rec.Header()}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (v *env) csrf(tok string) string {
	v.t.Helper()
	r := v.do("GET", "/portal/"+tok+"/invoices/inv-a1", nil)
	m := csrfField.FindStringSubmatch(r.body)
	if m == nil {
		v.t.Fatalf("no anti-forgery field on the invoice page (%d)", r.status)
	}
	return m[1]
}

func TestPortal(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			v := setup(t, d, 1000)
			acme := v.token(portallink.Claims{CustomerID: "acme", InvoiceID: "inv-a1", Channel: "email"})

			t.Run("the overview shows the customer's own invoices only", func(t *testing.T) {
				r := v.do("GET", "/portal/"+acme, nil)
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				for _, want := range []string{"Acme Ltd", "A-1001", "A-1002", "Overdue by 40 days", "31–60 days"} {
					if !strings.Contains(r.body, want) {
						t.Errorf("overview lacks %q", want)
					}
				}
				if strings.Contains(r.body, "B-2001") || strings.Contains(r.body, "Beta") {
					t.Error("overview shows another customer's data")
				}
				for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
					if got := r.header.Get(h); got != want {
						t.Errorf("%s: %q, want %q", h, got, want)
					}
				}
				if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
					t.Errorf("CSP: %s", csp)
				}
			})

			t.Run("bad, expired, tampered and revoked links get the same page", func(t *testing.T) {
				expired := v.token(portallink.Claims{CustomerID: "acme", IssuedAt: v.now.Add(-31 * 24 * time.Hour)})
				revoked := v.token(portallink.Claims{ID: "revoke-me", CustomerID: "acme"})
				if _, err := v.cases.RevokePortalLinks(context.Background(), collect.RevokePortalLinks{LinkID: "revoke-me", Actor: collect.Actor{Name: "t"}}); err != nil {
					t.Fatal(err)
				}
				other, _ := portallink.NewSigner([]portallink.Key{{ID: "k1", Secret: []byte(strings.Repeat("z", 32))}}, 0)
				forged := other.Sign(portallink.Claims{Kind: portallink.KindCustomer, ID: "x", CustomerID: "acme", IssuedAt: v.now})
				tampered := []byte(acme)
				tampered[len(tampered)-3] ^= 1
				gone := v.token(portallink.Claims{CustomerID: "nobody"})
				credit := v.token(portallink.Claims{Kind: portallink.KindCredit})
				var first string
				for name, tok := range map[string]string{"expired": expired, "revoked": revoked, "forged": forged, "tampered": string(tampered),
					"garbage": "not-a-token", "unknown customer": gone, "credit link": credit, "long": strings.Repeat("a", 3000)} {
					for _, path := range []string{"/portal/" + tok, "/portal/" + tok + "/invoices/inv-a1", "/portal/" + tok + "/statement"} {
						r := v.do("GET", path, nil)
						if r.status != http.StatusNotFound || !strings.Contains(r.body, "This link does not work") {
							t.Errorf("%s %s: %d", name, path[:min(len(path), 40)], r.status)
						}
						if first == "" {
							first = r.body
						} else if r.body != first {
							t.Errorf("%s: the page differs from the other bad links'", name)
						}
					}
				}
				// All of a customer's links issued so far.
				old := v.token(portallink.Claims{CustomerID: "beta", IssuedAt: v.now.Add(-time.Hour)})
				if r := v.do("GET", "/portal/"+old, nil); r.status != 200 {
					t.Fatalf("beta's link before revoking: %d", r.status)
				}
				if _, err := v.cases.RevokePortalLinks(context.Background(), collect.RevokePortalLinks{CustomerID: "beta", Actor: collect.Actor{Name: "t"}}); err != nil {
					t.Fatal(err)
				}
				if r := v.do("GET", "/portal/"+old, nil); r.status != http.StatusNotFound || r.body != first {
					t.Errorf("beta's revoked link: %d", r.status)
				}
			})

			t.Run("another customer's invoice is not found, however it is asked for", func(t *testing.T) {
				tok := v.csrf(acme)
				for _, r := range []resp{
					v.do("GET", "/portal/"+acme+"/invoices/inv-b1", nil),
					v.do("GET", "/portal/"+acme+"/invoices/nope", nil),
					v.do("POST", "/portal/"+acme+"/invoices/inv-b1/dispute", url.Values{"csrf": {tok}, "reason": {"other"}}),
					v.do("POST", "/portal/"+acme+"/invoices/inv-b1/promise", url.Values{"csrf": {tok}, "promise_date": {v.now.AddDate(0, 0, 5).Format("2006-01-02")}}),
					v.do("POST", "/portal/"+acme+"/invoices/inv-b1/pay", url.Values{"csrf": {tok}, "amount": {"1.00"}}),
					v.do("POST", "/portal/"+acme+"/invoices/inv-b1/question", url.Values{"csrf": {tok}, "question": {"hi"}}),
				} {
					if r.status != http.StatusNotFound || !strings.Contains(r.body, "Invoice not found") || strings.Contains(r.body, "B-2001") {
						t.Errorf("status %d: %.200s", r.status, r.body)
					}
				}
			})

			t.Run("forms without the anti-forgery token, or from another site, are refused", func(t *testing.T) {
				for _, form := range []url.Values{{"question": {"hi"}}, {"question": {"hi"}, "csrf": {"x"}},
					{"question": {"hi"}, "csrf": {v.signer.Tag("form", "other-token")}}} {
					if r := v.do("POST", "/portal/"+acme+"/invoices/inv-a1/question", form); r.status != http.StatusForbidden {
						t.Errorf("csrf %q: %d", form.Get("csrf"), r.status)
					}
				}
				r := v.do("POST", "/portal/"+acme+"/invoices/inv-a1/question", url.Values{"csrf": {v.csrf(acme)}, "question": {"hi"}},
					"Sec-Fetch-Site", "cross-site")
				if r.status != http.StatusForbidden || !strings.Contains(r.body, "another site") {
					t.Errorf("cross-site post: %d", r.status)
				}
				tasks, _ := v.store.ListTasks(context.Background(), db.TaskFilter{InvoiceID: "inv-a1"})
				if len(tasks) != 0 {
					t.Errorf("a refused form wrote %d task(s)", len(tasks))
				}
			})

			t.Run("bad amounts and dates stand beside their fields and write nothing", func(t *testing.T) {
				tok := v.csrf(acme)
				for _, c := range []struct {
					path string
					form url.Values
					want string
				}{
					{"pay", url.Values{"amount": {"abc"}}, "amount"},
					{"pay", url.Values{"amount": {"-5"}}, "amount"},
					{"pay", url.Values{"amount": {"0"}}, "greater than zero"},
					{"pay", url.Values{"amount": {"1.234"}}, "amount"},
					{"pay", url.Values{"amount": {"1250.01"}}, "more than the"},
					{"pay", url.Values{"amount": {"1e9"}}, "amount"},
					{"promise", url.Values{"promise_date": {""}}, "choose the date"},
					{"promise", url.Values{"promise_date": {"31/12/2026"}}, "not a date"},
					{"promise", url.Values{"promise_date": {v.now.AddDate(0, 0, 45).Format("2006-01-02")}, "promise_amount": {"10.00"}}, "within 30 days"},
					{"promise", url.Values{"promise_date": {v.now.AddDate(0, 0, -2).Format("2006-01-02")}, "promise_amount": {"10.00"}}, "in the future"},
					{"promise", url.Values{"promise_date": {v.now.AddDate(0, 0, 5).Format("2006-01-02")}, "promise_amount": {"ten"}}, "promise_amount"},
					{"dispute", url.Values{"reason": {""}, "message": {"<script>alert(1)</script>"}}, "reason"},
					{"plan", url.Values{"plan_count": {"1"}, "plan_every": {"1 month"}, "plan_first": {v.now.AddDate(0, 0, 5).Format("2006-01-02")}}, "between 2 and 12"},
					{"plan", url.Values{"plan_count": {"x"}, "plan_every": {"1 month"}, "plan_first": {v.now.AddDate(0, 0, 5).Format("2006-01-02")}}, "between 2 and 12"},
					{"plan", url.Values{"plan_count": {"3"}, "plan_every": {"1 decade"}, "plan_first": {v.now.AddDate(0, 0, 5).Format("2006-01-02")}}, "how often"},
					{"plan", url.Values{"plan_count": {"3"}, "plan_every": {"1 month"}, "plan_first": {"tomorrow"}}, "not a date"},
					{"plan", url.Values{"plan_count": {"3"}, "plan_every": {"1 month"}, "plan_first": {v.now.AddDate(0, 0, 45).Format("2006-01-02")}}, "within the next 30 days"},
					{"plan", url.Values{"plan_count": {"3"}, "plan_every": {"1 month"}, "plan_first": {v.now.AddDate(0, 0, -1).Format("2006-01-02")}}, "within the next 30 days"},
					{"question", url.Values{"question": {"   "}}, "must not be empty"},
					{"question", url.Values{"question": {strings.Repeat("x", 5001)}}, "longer than"},
				} {
					c.form.Set("csrf", tok)
					r := v.do("POST", "/portal/"+acme+"/invoices/inv-a1/"+c.path, c.form)
					if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `class="error"`) {
						t.Errorf("%s %v: %d", c.path, c.form, r.status)
						continue
					}
					if c.want != "promise_amount" && c.want != "amount" && c.want != "reason" && !strings.Contains(r.body, c.want) {
						t.Errorf("%s %v: the page does not say %q", c.path, c.form, c.want)
					}
					if strings.Contains(r.body, "<script>alert") {
						t.Errorf("%s: typed input reflected unescaped", c.path)
					}
				}
				ctx := context.Background()
				if pays, _, _ := v.store.PortalPayments(ctx, "acme", 10); len(pays) != 0 {
					t.Errorf("payments written: %v", pays)
				}
				if tasks, _ := v.store.ListTasks(ctx, db.TaskFilter{InvoiceID: "inv-a1"}); len(tasks) != 0 {
					t.Errorf("tasks written: %v", tasks)
				}
			})

			t.Run("a question becomes a note and a task for the account manager", func(t *testing.T) {
				r := v.do("POST", "/portal/"+acme+"/invoices/inv-a1/question", url.Values{"csrf": {v.csrf(acme)}, "question": {"Can I pay by cheque?"}})
				if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "/invoices/inv-a1?done=question") {
					t.Fatalf("status %d, location %q: %s", r.status, r.header.Get("Location"), r.body)
				}
				tasks, err := v.store.ListTasks(context.Background(), db.TaskFilter{InvoiceID: "inv-a1"})
				if err != nil || len(tasks) != 1 || tasks[0].Assignee != "mia@ar.test" || tasks[0].Kind != "question" || tasks[0].Detail != "Can I pay by cheque?" {
					t.Fatalf("tasks: %+v %v", tasks, err)
				}
				if ft := v.cases.Workflows.Temporal.(*fakeTemporal); len(ft.signals) != 1 || ft.signals[0] != "invoice:inv-a1 "+workflows.SignalNoted {
					t.Errorf("the note's signal to the invoice's timeline: %v", ft.signals)
				}
				if r := v.do("GET", r.header.Get("Location"), nil); !strings.Contains(r.body, "sent to your account manager") {
					t.Errorf("no confirmation after the question")
				}
			})

			t.Run("the test payment page is clearly marked and checks the amount", func(t *testing.T) {
				r := v.do("POST", "/portal/"+acme+"/invoices/inv-a1/pay", url.Values{"csrf": {v.csrf(acme)}, "amount": {"100.00"}})
				if r.status != 200 || !strings.Contains(r.body, "TEST PAYMENT PAGE") || !strings.Contains(r.body, "no money moves") {
					t.Fatalf("status %d: %.300s", r.status, r.body)
				}
				// A tampered amount on the confirmation is checked again.
				form := url.Values{"csrf": {v.csrf(acme)}, "minor": {"99999999"}, "nonce": {portallink.RandomID()}}
				if r := v.do("POST", "/portal/"+acme+"/invoices/inv-a1/pay/test", form); r.status != http.StatusUnprocessableEntity {
					t.Errorf("tampered test amount: %d", r.status)
				}
				form.Set("minor", "100")
				form.Set("nonce", "../../etc")
				if r := v.do("POST", "/portal/"+acme+"/invoices/inv-a1/pay/test", form); r.status != http.StatusUnprocessableEntity {
					t.Errorf("bad nonce: %d", r.status)
				}
			})

			t.Run("the statement is paged and a made-up page is refused", func(t *testing.T) {
				r := v.do("GET", "/portal/"+acme+"/statement", nil)
				if r.status != 200 || !strings.Contains(r.body, "A-1001") || strings.Contains(r.body, "B-2001") {
					t.Fatalf("statement: %d", r.status)
				}
				if r := v.do("GET", "/portal/"+acme+"/statement?before=%00%ff", nil); r.status != http.StatusBadRequest {
					t.Errorf("bad cursor: %d", r.status)
				}
				if r := v.do("GET", "/portal/"+acme+"?after=bm9wZQ", nil); r.status != http.StatusBadRequest {
					t.Errorf("bad cursor on the overview: %d", r.status)
				}
			})

			t.Run("the credit application link opens only the form", func(t *testing.T) {
				credit := v.token(portallink.Claims{Kind: portallink.KindCredit})
				r := v.do("GET", "/portal/apply/"+credit, nil)
				if r.status != 200 || !strings.Contains(r.body, "Apply for credit") {
					t.Fatalf("form: %d", r.status)
				}
				if r := v.do("GET", "/portal/apply/"+acme, nil); r.status != http.StatusNotFound {
					t.Errorf("a customer link opens the credit form: %d", r.status)
				}
				m := csrfField.FindStringSubmatch(r.body)
				bad := url.Values{"csrf": {m[1]}, "company": {"New Co"}, "email": {"ap@new.test"}, "timezone": {"Europe/Berlin"},
					"limit": {"lots"}, "currency": {"EUR"}, "terms": {"30"}}
				if r := v.do("POST", "/portal/apply/"+credit, bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `class="error"`) {
					t.Errorf("bad limit: %d", r.status)
				}
				bad.Set("limit", "5000.00")
				bad.Set("timezone", "Mars/Olympus")
				if r := v.do("POST", "/portal/apply/"+credit, bad); r.status != http.StatusUnprocessableEntity {
					t.Errorf("bad time zone: %d", r.status)
				}
				bad.Del("csrf")
				if r := v.do("POST", "/portal/apply/"+credit, bad); r.status != http.StatusForbidden {
					t.Errorf("no csrf: %d", r.status)
				}
			})

			t.Run("the statement and the customer's invoices download as PDF, another's does not", func(t *testing.T) {
				r := v.do("GET", "/portal/"+acme+"/statement.pdf", nil)
				if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.body, "%PDF") {
					t.Errorf("statement: %d %s", r.status, r.header.Get("Content-Type"))
				}
				r = v.do("GET", "/portal/"+acme+"/invoices/inv-a1/invoice.pdf", nil)
				if r.status != 200 || !strings.HasPrefix(r.body, "%PDF") || !strings.Contains(r.header.Get("Content-Disposition"), "invoice-A-1001.pdf") {
					t.Errorf("invoice: %d %s", r.status, r.header.Get("Content-Disposition"))
				}
				if r := v.do("GET", "/portal/"+acme+"/invoices/inv-b1/invoice.pdf", nil); r.status != http.StatusNotFound || strings.HasPrefix(r.body, "%PDF") {
					t.Errorf("another customer's invoice PDF: %d", r.status)
				}
			})

			t.Run("with a checkout, Pay redirects to it for the amount chosen", func(t *testing.T) {
				fake := &fakeCheckout{}
				e := echo.New()
				portal.New(portal.Config{Cases: v.cases, Store: v.store, Checkout: fake, RateLimit: 1000}).Routes(e)
				w := *v
				w.e = e
				r := w.do("POST", "/portal/"+acme+"/invoices/inv-a1/pay", url.Values{"csrf": {w.csrf(acme)}, "amount": {"250.00"}})
				if r.status != http.StatusSeeOther || r.header.Get("Location") != "https://checkout.test/s/1" {
					t.Fatalf("status %d, location %q", r.status, r.header.Get("Location"))
				}
				if fake.got.InvoiceID != "inv-a1" || fake.got.AmountMinor != 25000 || fake.got.Currency != "EUR" ||
					!strings.HasSuffix(fake.got.SuccessURL, "/invoices/inv-a1?done=started") {
					t.Errorf("session: %+v", fake.got)
				}
				if r := w.do("POST", "/portal/"+acme+"/invoices/inv-a1/pay/test", url.Values{"csrf": {w.csrf(acme)}, "minor": {"100"},
					"nonce": {portallink.RandomID()}}); r.status != http.StatusNotFound {
					t.Errorf("the test payment page with a checkout: %d", r.status)
				}
			})

			t.Run("visits are counted by the link's channel", func(t *testing.T) {
				rec := httptest.NewRecorder()
				v.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				if !strings.Contains(rec.Body.String(), `collections_portal_actions_total{action="visit",channel="email"}`) ||
					!strings.Contains(rec.Body.String(), `collections_portal_actions_total{action="question",channel="email"} 1`) {
					t.Errorf("metrics lack the portal's counts")
				}
			})

			t.Run("too many requests from one link are slowed down", func(t *testing.T) {
				v := setup(t, dbtest.SQLite(t), 0)
				tok := v.token(portallink.Claims{CustomerID: "acme"})
				limited := false
				for range 60 {
					if r := v.do("GET", "/portal/"+tok+"/statement", nil); r.status == http.StatusTooManyRequests {
						limited = true
						break
					}
				}
				if !limited {
					t.Error("60 requests at once from one link were all served")
				}
			})
		})
	}
}

func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/portal/k1.abc.def":                "/portal/…",
		"/portal/k1.abc.def/invoices/x/pay": "/portal/…/invoices/x/pay",
		"/portal/k1.abc.def?after=zz":       "/portal/…",
		"/portal/apply/k1.abc.def":          "/portal/apply/…",
		"/portal/":                          "/portal/",
		"/v1/invoices/abc":                  "/v1/invoices/abc",
		"/desk/customers/acme":              "/desk/customers/acme",
	} {
		if got := portal.RedactPath(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// Links the team issues: scoped to the customer (and one of its invoices),
// or to the credit form; what is wrong names the field.
func TestIssuedLinks(t *testing.T) {
	v := setup(t, dbtest.SQLite(t), 1000)
	ctx := context.Background()
	admin := collect.Actor{Kind: collect.ActorKey, Name: "admin"}
	l, err := v.cases.IssuePortalLink(ctx, collect.IssuePortalLink{Actor: admin, CustomerID: "acme", InvoiceID: "inv-a2"})
	if err != nil || !strings.HasPrefix(l.URL, "http://portal.test/portal/") || l.ExpiresAt.Sub(v.now) < 29*24*time.Hour {
		t.Fatalf("link: %+v %v", l, err)
	}
	path := strings.TrimPrefix(l.URL, "http://portal.test")
	if r := v.do("GET", path, nil); r.status != 200 || !strings.Contains(r.body, `id="about"`) || !strings.Contains(r.body, "A-1002") {
		t.Errorf("the issued link: %d", r.status)
	}
	for _, c := range []struct {
		cmd  collect.IssuePortalLink
		kind collect.Kind
		fld  string
	}{
		{collect.IssuePortalLink{CustomerID: ""}, collect.Invalid, "customer_id"},
		{collect.IssuePortalLink{CustomerID: "nobody"}, collect.NotFound, ""},
		{collect.IssuePortalLink{CustomerID: "acme", InvoiceID: "inv-b1"}, collect.Invalid, "invoice_id"},
		{collect.IssuePortalLink{CreditApplication: true, CustomerID: "acme"}, collect.Invalid, "customer_id"},
	} {
		_, err := v.cases.IssuePortalLink(ctx, c.cmd)
		var ce *collect.Error
		if !errors.As(err, &ce) || ce.Kind != c.kind || ce.Field != c.fld {
			t.Errorf("%+v: %v", c.cmd, err)
		}
	}
	cl, err := v.cases.IssuePortalLink(ctx, collect.IssuePortalLink{Actor: admin, CreditApplication: true})
	if err != nil || !strings.Contains(cl.URL, "/portal/apply/") {
		t.Fatalf("credit link: %+v %v", cl, err)
	}
	if r := v.do("GET", strings.TrimPrefix(cl.URL, "http://portal.test"), nil); r.status != 200 {
		t.Errorf("the credit link: %d", r.status)
	}
	// Revoking asks for exactly one of link_id and customer_id.
	for _, bad := range []collect.RevokePortalLinks{{}, {LinkID: "a", CustomerID: "acme"}, {CustomerID: "nobody"}} {
		if _, err := v.cases.RevokePortalLinks(ctx, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := v.cases.RevokePortalLinks(ctx, collect.RevokePortalLinks{Actor: admin, LinkID: l.ID}); err != nil {
		t.Fatal(err)
	}
	if r := v.do("GET", path, nil); r.status != http.StatusNotFound {
		t.Errorf("the revoked link: %d", r.status)
	}
}
