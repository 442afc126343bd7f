package deskpage

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/internal/keys"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

type pageEnv struct {
	t     *testing.T
	pg    *Page
	h     http.Handler
	store *db.Store
	now   time.Time
	key   string // a read-only key's secret
	keyID string
}

// addKey stores an API key with the given secret.
func addKey(t testing.TB, store *db.Store, secret, name, role string, now time.Time) *db.APIKey {
	t.Helper()
	k := &db.APIKey{ID: "key-" + name, Name: name, Role: role, Prefix: secret[:10], KeyHash: keys.Hash(secret), CreatedAt: now}
	if err := store.InsertAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k
}

// addInvoice stores an invoice as the API does when it starts its workflow.
func addInvoice(t testing.TB, store *db.Store, id, number, customerID, amount, currency string, issued, due time.Time) {
	t.Helper()
	minor, err := money.ParseAmount(amount, currency)
	if err != nil {
		t.Fatal(err)
	}
	inv := &db.Invoice{ID: id, Number: number, CustomerID: customerID, AmountMinor: minor, BalanceMinor: minor, Currency: currency,
		IssuedAt: issued, DueAt: due, Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1,
		WorkflowID: workflows.WorkflowID(id), CreatedAt: issued, UpdatedAt: issued}
	if _, err := store.InsertInvoice(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
}

func newPageEnv(t *testing.T, d dbtest.Database) *pageEnv {
	env := &pageEnv{t: t, store: db.NewStore(d.DB), now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	env.pg = New(Config{Store: env.store, Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return env.now },
		TemporalUIURL: "http://ui.test:8233/", Namespace: "ar"})
	e := echo.New()
	env.pg.Routes(e)
	env.h = e
	env.key = "ck_desktestsecret"
	env.keyID = addKey(t, env.store, env.key, "desk test", db.RoleReadOnly, env.now).ID
	ctx := context.Background()
	day := func(n int) time.Time { return env.now.AddDate(0, 0, n) }
	limit := int64(500000)
	for _, c := range []*db.Customer{
		{ID: "acme", Name: "Acme <GmbH>", Email: "ap@acme.test", Timezone: "Europe/Berlin", Locale: "en",
			AccountManager: "mia@ar.test", CreditLimitMinor: &limit, CreditCurrency: "EUR", CreatedAt: day(-90), UpdatedAt: day(-90)},
		{ID: "beta", Name: "Beta SA", Email: "ap@beta.test", Timezone: "Europe/Paris", Locale: "en",
			AccountManager: "leo@ar.test", CreatedAt: day(-90), UpdatedAt: day(-90)},
	} {
		if _, err := env.store.InsertCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	addInvoice(t, env.store, "inv-old", "A-OLD", "acme", "3000.00", "EUR", day(-76), day(-46))
	addInvoice(t, env.store, "inv-new", "A-NEW", "acme", "400.00", "EUR", day(-20), day(-10))
	addInvoice(t, env.store, "inv-b1", "B-1", "beta", "90.00", "EUR", day(-40), day(-20))
	addInvoice(t, env.store, "inv-usd", "A-USD", "acme", "700.00", "USD", day(-5), day(25))
	// A-OLD's workflow saved a timeline: issued, reminded, part paid.
	id := "inv-old"
	bal := int64(250000)
	st := invoice.Status{InvoiceID: id, Stage: invoice.StagePressing, AmountMinor: 300000, BalanceMinor: bal, Currency: "EUR",
		DueAt: env.now.AddDate(0, 0, -46), PolicyName: "standard", PolicyVersion: 1,
		Timeline: []invoice.Event{
			{At: env.now.AddDate(0, 0, -76), Kind: invoice.EventStarted},
			{At: env.now.AddDate(0, 0, -45), Kind: invoice.EventMessage, Step: "inquire", Channel: "email", Outcome: "sent"},
			{At: env.now.AddDate(0, 0, -30), Kind: invoice.EventPayment, AmountMinor: 50000, BalanceMinor: &bal, Reference: "PAY-7"},
		}}
	if err := env.store.SaveStatus(ctx, st, env.now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.store.RecordPayment(ctx, &db.Payment{ID: "p1", InvoiceID: id, Reference: "PAY-7", AmountMinor: 50000,
		Currency: "EUR", ReceivedAt: env.now.AddDate(0, 0, -30)}, env.now); err != nil {
		t.Fatal(err)
	}
	return env
}

func (env *pageEnv) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	env.h.ServeHTTP(rec, req)
	return rec
}

func (env *pageEnv) get(path string, cookie *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return env.do(req)
}

func (env *pageEnv) login(key, next string) *httptest.ResponseRecorder {
	form := url.Values{"key": {key}, "next": {next}}
	req := httptest.NewRequest("POST", "/desk/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return env.do(req)
}

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == deskCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie: %v", deskCookie, rec.Header())
	return nil
}

func TestCollectorsPage(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) { testCollectorsPage(t, d) })
	}
}

func testCollectorsPage(t *testing.T, d dbtest.Database) {
	env := newPageEnv(t, d)

	// Without a session every page goes to the sign-in form, which comes back.
	for _, path := range []string{"/desk/", "/desk/customers/acme"} {
		rec := env.get(path, nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/desk/login?next="+url.QueryEscape(path) {
			t.Fatalf("GET %s without a session: %d %q", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	if rec := env.get("/desk", nil); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/desk/" {
		t.Fatalf("GET /desk: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// A bearer key is not a session.
	req := httptest.NewRequest("GET", "/desk/", nil)
	req.Header.Set("Authorization", "Bearer "+env.key)
	if rec := env.do(req); rec.Code != http.StatusSeeOther {
		t.Fatalf("GET /desk/ with a bearer key: %d", rec.Code)
	}
	if rec := env.get("/desk/login?next=/desk/customers/acme", nil); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), `name="next" value="/desk/customers/acme"`) {
		t.Fatalf("login form: %d %s", rec.Code, rec.Body)
	}

	// Wrong and missing keys are refused, naming the field.
	if rec := env.login("ck_wrong", "/desk/"); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "key: this API key is not valid") {
		t.Fatalf("wrong key: %d %s", rec.Code, rec.Body)
	}
	if rec := env.login(" ", "/desk/"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "key: enter an API key") {
		t.Fatalf("no key: %d %s", rec.Code, rec.Body)
	}
	// Never a redirect to another site.
	for _, next := range []string{"//evil.test/desk/", "https://evil.test/desk/", "/v1/worklist", "/desk/../v1/customers", `/\evil.test`} {
		if rec := env.login(env.key, next); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/desk/" {
			t.Fatalf("next=%q: %d %q", next, rec.Code, rec.Header().Get("Location"))
		}
	}
	// A form posted from another site is refused.
	form := url.Values{"key": {env.key}}
	req = httptest.NewRequest("POST", "/desk/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec := env.do(req); rec.Code != http.StatusForbidden || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("cross-site login: %d %v", rec.Code, rec.Result().Cookies())
	}

	rec := env.login(env.key, "/desk/customers/acme")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/desk/customers/acme" {
		t.Fatalf("login: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	ck := sessionCookie(t, rec)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/desk/" || ck.MaxAge != int(SessionTTL/time.Second) {
		t.Fatalf("cookie: %+v", ck)
	}
	if strings.Contains(ck.Value, env.key) || strings.Contains(ck.Value, keys.Hash(env.key)) {
		t.Fatal("the cookie holds the key")
	}
	if rec := env.get("/desk/login", ck); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/desk/" {
		t.Fatalf("login form when signed in: %d", rec.Code)
	}

	// The worklist: highest priority first, the book's aging below.
	rec = env.get("/desk/", ck)
	page := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("worklist: %d %s", rec.Code, page)
	}
	h := rec.Header()
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("Cache-Control") != "no-store" ||
		h.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers: %v", h)
	}
	// The only style the policy allows is the inline block, by its hash.
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if style == nil || !strings.Contains(h.Get("Content-Security-Policy"), "'sha256-"+sha256Base64(style[1])+"'") {
		t.Fatalf("style block does not match the policy's hash")
	}
	for _, asset := range []string{"<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(page, asset) {
			t.Fatalf("the page loads scripts or other assets: %s", asset)
		}
	}
	numbers := regexp.MustCompile(`<td class="number">([^<]*)</td>`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range numbers {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != "A-OLD,A-NEW,B-1" {
		t.Fatalf("worklist order: %v", got)
	}
	for _, want := range []string{`Acme &lt;GmbH&gt;`, `href="/desk/customers/acme"`, `EUR 2,500.00`, `<td class="n days">46</td>`,
		`signed in as desk test`, `aria-label="aging EUR"`, `<strong>EUR 2,990.00</strong> open`, `<strong>USD 700.00</strong> open`,
		`<option value="leo@ar.test">`, `3 of 3 rows`} {
		if !strings.Contains(page, want) {
			t.Errorf("worklist lacks %s", want)
		}
	}
	// 31–60 days holds A-OLD's 2500.00, the largest bar at full width.
	if !regexp.MustCompile(`data-bucket="31–60 days"><text[^>]*>31–60 days</text><rect class="b2" x="100" y="48" width="300"`).MatchString(page) {
		t.Errorf("aging bars: %s", page[strings.Index(page, "<svg"):])
	}

	// Filtered by manager.
	page = env.get("/desk/?manager=leo@ar.test", ck).Body.String()
	if !strings.Contains(page, "B-1") || strings.Contains(page, "A-OLD") || !strings.Contains(page, `<option value="leo@ar.test" selected>`) {
		t.Errorf("leo's worklist: %s", page)
	}
	if rec := env.get("/desk/?currency=EURO", ck); rec.Code != 400 || !strings.Contains(rec.Body.String(), "currency:") {
		t.Errorf("bad currency: %d %s", rec.Code, rec.Body)
	}
	if rec := env.get("/desk/?limit=0", ck); rec.Code != 400 || !strings.Contains(rec.Body.String(), "limit:") {
		t.Errorf("bad limit: %d", rec.Code)
	}
	// A page at a time: the next-page link carries the filters and the cursor.
	page = env.get("/desk/?limit=2&currency=EUR", ck).Body.String()
	next := regexp.MustCompile(`<a id="next-page" href="([^"]+)"`).FindStringSubmatch(page)
	if next == nil || !strings.Contains(page, "2 of 3 rows") {
		t.Fatalf("first page of 2: %s", page)
	}
	link := html.UnescapeString(next[1])
	if !strings.Contains(link, "currency=EUR") || !strings.Contains(link, "limit=2") || !strings.Contains(link, "cursor=") {
		t.Fatalf("next page link %s", link)
	}
	page = env.get(link, ck).Body.String()
	if got := regexp.MustCompile(`<td class="number">([^<]*)</td>`).FindAllStringSubmatch(page, -1); len(got) != 1 || got[0][1] != "B-1" ||
		strings.Contains(page, `id="next-page"`) || !strings.Contains(page, `id="first-page"`) {
		t.Fatalf("second page: %v", got)
	}
	// The filters, offered in the form and applied.
	page = env.get("/desk/?bucket=31-60&stage=pressing&has_task=false", ck).Body.String()
	if got := regexp.MustCompile(`<td class="number">([^<]*)</td>`).FindAllStringSubmatch(page, -1); len(got) != 1 || got[0][1] != "A-OLD" ||
		!strings.Contains(page, `<option value="31-60" selected>`) || !strings.Contains(page, `<option value="false" selected>`) {
		t.Fatalf("filtered: %v", got)
	}
	for q, field := range map[string]string{"bucket=old": "bucket:", "stage=paid": "stage:", "min_amount=5": "min_amount:",
		"has_task=x": "has_task:", "cursor=abc": "cursor:"} {
		if rec := env.get("/desk/?"+q, ck); rec.Code != 400 || !strings.Contains(rec.Body.String(), field) {
			t.Errorf("%s: %d, want 400 naming %s", q, rec.Code, field)
		}
	}

	// Compressed for browsers that take it.
	req = httptest.NewRequest("GET", "/desk/", nil)
	req.AddCookie(ck)
	req.Header.Set("Accept-Encoding", "gzip")
	if rec := env.do(req); rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" || rec.Body.Len() >= len(page) {
		t.Errorf("gzip: %d %q, %d bytes", rec.Code, rec.Header().Get("Content-Encoding"), rec.Body.Len())
	}

	// The account.
	rec = env.get("/desk/customers/acme", ck)
	page = rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("account: %d %s", rec.Code, page)
	}
	for _, want := range []string{`<h1 id="customer-name">Acme &lt;GmbH&gt;</h1>`, `<dd id="balance">EUR 2,900.00, USD 700.00</dd>`,
		`EUR 5,000.00: 2,900.00 used, 2,100.00 available`,
		`<a class="temporal" href="http://ui.test:8233/namespaces/ar/workflows/invoice:` + "inv-old" + `"`,
		`<tr class="event" data-kind="payment">`, `<td class="n">500.00</td><td class="n">2,500.00</td><td> <span class="muted">PAY-7</span>`,
		`<td>inquire (email)</td><td>sent</td>`, `PAY-7</td>`, `mia@ar.test`, `<dd id="trend">too few paid invoices to tell</dd>`} {
		if !strings.Contains(page, want) {
			t.Errorf("account lacks %s", want)
		}
	}
	// One invoice a page: a link to the next page of invoices.
	page = env.get("/desk/customers/acme?limit=1", ck).Body.String()
	moreRe := regexp.MustCompile(`<a id="more-invoices" href="([^"]+)"`)
	if !strings.Contains(page, "1 of 3 invoices shown") || strings.Contains(page, `id="first-page"`) {
		t.Fatalf("account, one invoice a page: %s", page)
	}
	var shown []string
	for pages := 1; ; pages++ {
		shown = append(shown, regexp.MustCompile(`<details class="timeline" id="inv-[^"]+" data-invoice="([^"]+)"`).FindStringSubmatch(page)[1])
		more := moreRe.FindStringSubmatch(page)
		if more == nil {
			break
		}
		if pages > 3 {
			t.Fatal("more invoices than there are")
		}
		page = env.get(html.UnescapeString(more[1]), ck).Body.String()
	}
	if slices.Sort(shown); len(shown) != 3 || len(slices.Compact(slices.Clone(shown))) != 3 {
		t.Fatalf("account invoices page by page: %v", shown)
	}
	if rec := env.get("/desk/customers/acme?payments_cursor=zz", ck); rec.Code != 400 || !strings.Contains(rec.Body.String(), "payments_cursor:") {
		t.Errorf("bad account cursor: %d", rec.Code)
	}
	if rec := env.get("/desk/customers/nobody", ck); rec.Code != 404 || !strings.Contains(rec.Body.String(), `id: there is no customer &#34;nobody&#34;`) {
		t.Errorf("unknown customer: %d %s", rec.Code, rec.Body)
	}

	// A tampered, an expired and a revoked session all go back to sign-in.
	bad := *ck
	bad.Value = strings.Replace(ck.Value, ".", "x.", 1)
	if rec := env.get("/desk/", &bad); rec.Code != http.StatusSeeOther {
		t.Errorf("tampered session: %d", rec.Code)
	}
	forged := *ck
	forged.Value = sessionTokenWith([]byte("another secret"), env.keyID, env.now.Add(time.Hour))
	if rec := env.get("/desk/", &forged); rec.Code != http.StatusSeeOther {
		t.Errorf("forged session: %d", rec.Code)
	}
	env.now = env.now.Add(SessionTTL + time.Second)
	if rec := env.get("/desk/", ck); rec.Code != http.StatusSeeOther {
		t.Errorf("expired session: %d", rec.Code)
	}
	env.now = env.now.Add(-SessionTTL)
	if rec := env.get("/desk/", ck); rec.Code != 200 {
		t.Errorf("live session: %d", rec.Code)
	}
	if err := env.store.RevokeAPIKey(context.Background(), env.keyID, env.now); err != nil {
		t.Fatal(err)
	}
	if rec := env.get("/desk/", ck); rec.Code != http.StatusSeeOther {
		t.Errorf("revoked key's session: %d", rec.Code)
	}

	// Signing out clears the cookie.
	req = httptest.NewRequest("POST", "/desk/logout", nil)
	req.AddCookie(ck)
	rec = env.do(req)
	if out := sessionCookie(t, rec); rec.Code != http.StatusSeeOther || out.Value != "" || out.MaxAge >= 0 {
		t.Errorf("logout: %d %+v", rec.Code, out)
	}
}

func TestGroupThousands(t *testing.T) {
	for in, want := range map[string]string{"0.00": "0.00", "999.99": "999.99", "1000.00": "1,000.00", "-12500.5": "-12,500.5",
		"1234567": "1,234,567", "100000.000": "100,000.000", "-1.00": "-1.00"} {
		if got := groupThousands(in); got != want {
			t.Errorf("groupThousands(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkWorklistPage renders the worklist page of a book of 200 open
// invoices (40 customers, some tasks), server side: the database queries,
// the ranking and the template.
func BenchmarkWorklistPage(b *testing.B) {
	d := dbtest.SQLite(b)
	ctx := context.Background()
	store := db.NewStore(d.DB)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	pg := New(Config{Store: store, Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return now }})
	e := echo.New()
	pg.Routes(e)
	h := e
	rec := addKey(b, store, "ck_benchsecret", "bench", db.RoleAdmin, now)
	for c := range 40 {
		if _, err := store.InsertCustomer(ctx, &db.Customer{ID: fmt.Sprintf("c%02d", c), Name: fmt.Sprintf("Customer %02d", c),
			Email: fmt.Sprintf("ap@c%02d.test", c), Timezone: "Europe/Berlin", Locale: "en", AccountManager: fmt.Sprintf("m%d@ar.test", c%4),
			CreatedAt: now, UpdatedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 200 {
		due := now.AddDate(0, 0, -1-i%120) // all overdue: 200 rows
		addInvoice(b, store, fmt.Sprintf("inv-%03d", i), fmt.Sprintf("INV-%03d", i), fmt.Sprintf("c%02d", i%40),
			fmt.Sprintf("%d.%02d", 100+i*37%5000, i%100), "EUR", due.AddDate(0, 0, -30), due)
	}
	expires := now.Add(time.Hour)
	cookie := &http.Cookie{Name: deskCookie, Value: pg.sessionToken(rec.ID, expires)}
	b.Run("request", func(b *testing.B) {
		var size int
		for b.Loop() {
			req := httptest.NewRequest("GET", "/desk/?limit=200", nil)
			req.AddCookie(cookie)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 || !strings.Contains(w.Body.String(), "200 of 200 rows") {
				b.Fatalf("worklist page: %d %.300s", w.Code, w.Body)
			}
			size = w.Body.Len()
		}
		b.ReportMetric(float64(size), "bytes/page")
		req := httptest.NewRequest("GET", "/desk/?limit=200", nil)
		req.AddCookie(cookie)
		req.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		b.ReportMetric(float64(w.Body.Len()), "gzip-bytes/page")
	})
	// The template alone, on the same data.
	list, err := desk.LoadWorklist(ctx, store, desk.Query{Limit: 200}, now)
	if err != nil {
		b.Fatal(err)
	}
	managers, _ := store.AccountManagers(ctx)
	data := worklistPage{Title: "Worklist", KeyName: "bench", Limit: 200, List: list, Charts: agingCharts(list.Aging), Managers: managers}
	b.Run("template", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := pageTemplates.ExecuteTemplate(&buf, "worklist", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
