package devstack_test

import (
	"context"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

// The collectors' page in a real browser: headless Chromium, driven over the
// DevTools protocol, against the whole stack with seeded data.

// chromiumPath finds the browser: $CHROMIUM, else Debian's chromium (or a
// Chrome) on the PATH.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactDir is where screenshots go: $TEST_ARTIFACTS (CI keeps it), else
// a temporary directory removed after the test.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pacedPolicy is the standard shape with its steps 1000 hours apart from
// the issue date: an invoice issued months ago runs the steps already due
// at once and then holds still, so stages, and the worklist's order, stay
// put while the browser looks.
func pacedPolicy(c client) {
	p := c.must("GET", "/v1/policies/standard", nil, 200)
	for i, s := range p["steps"].([]any) {
		s := s.(map[string]any)
		s["anchor"], s["offset"] = "issue", (time.Duration(i) * 1000 * time.Hour).String()
	}
	delete(p, "builtin")
	delete(p, "calendar")
	delete(p, "contact_cap")
	p["name"], p["version"] = "paced", 0
	c.must("POST", "/v1/policies", p, 201)
}

func TestCollectorsPageInChromium(t *testing.T) {
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("no chromium binary found (apt-get install chromium; .ci/run installs it)")
	}
	databaseURL := ""
	if os.Getenv(dbtest.EnvPostgres) != "" {
		databaseURL = dbtest.Postgres(t).DSN
	}
	s := startStack(t, t.TempDir(), databaseURL, true)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	pacedPolicy(c)
	for _, cu := range []map[string]string{
		{"id": "acme", "name": "Acme GmbH", "account_manager": "mia@ar.test", "credit_limit": "15000.00", "credit_currency": "EUR"},
		{"id": "beta", "name": "Beta SA", "account_manager": "mia@ar.test"},
		{"id": "cargo", "name": "Cargo Ltd", "account_manager": "leo@ar.test"},
		{"id": "delta", "name": "Delta AG", "account_manager": "leo@ar.test"},
	} {
		cu["email"], cu["timezone"] = "ap@"+cu["id"]+".test", "Europe/Berlin"
		c.must("POST", "/v1/customers", cu, 201)
	}
	now := time.Now()
	ids := map[string]string{}
	invoice := func(number, customer, amount string, issuedDaysAgo, dueDaysAgo int) {
		ids[number] = c.must("POST", "/v1/invoices", map[string]string{"number": number, "customer_id": customer, "amount": amount,
			"currency": "EUR", "issued_at": rfc3339(now.AddDate(0, 0, -issuedDaysAgo)), "due_at": rfc3339(now.AddDate(0, 0, -dueDaysAgo)),
			"policy": "paced"}, 201)["id"].(string)
	}
	invoice("INV-1001", "acme", "12000.00", 105, 75)
	invoice("INV-1002", "acme", "500.00", 50, 20)
	invoice("INV-2001", "beta", "1500.00", 70, 40)
	invoice("INV-3001", "cargo", "200.00", 40, 10)
	invoice("INV-4001", "delta", "800.00", 35, 5)
	c.must("POST", "/v1/invoices/"+ids["INV-1001"]+"/payments", map[string]string{"amount": "2000.00", "currency": "EUR", "reference": "BANK-77"}, 201)
	c.must("POST", "/v1/invoices/"+ids["INV-1002"]+"/payments", map[string]string{"amount": "500.00", "currency": "EUR", "reference": "BANK-78"}, 201)
	c.must("POST", "/v1/invoices/"+ids["INV-4001"]+"/disputes", map[string]string{"reason": "wrong_amount", "note": "billed twice for May"}, 200)

	// The page shows what the workflows saved: wait until they have.
	store := db.NewStore(s.DB)
	ctx := context.Background()
	saved := func(number string, kinds ...string) bool {
		inv, err := store.GetInvoice(ctx, ids[number])
		if err != nil || inv.Status == nil {
			return false
		}
		have := map[string]bool{}
		for _, e := range inv.Status.Timeline {
			have[e.Kind] = true
		}
		for _, k := range kinds {
			if !have[k] {
				return false
			}
		}
		return true
	}
	eventually(t, 60*time.Second, "the seeded workflows' saved timelines", func() bool {
		return saved("INV-1001", "started", "message", "payment") && saved("INV-1002", "paid") && saved("INV-4001", "dispute_opened") &&
			saved("INV-2001", "message") && saved("INV-3001", "message")
	})
	wantOrder := []string{"INV-1001", "INV-2001", "INV-3001", "INV-4001"}
	eventually(t, 30*time.Second, "the worklist's order", func() bool {
		var got []string
		for _, r := range c.must("GET", "/v1/worklist", nil, 200)["rows"].([]any) {
			got = append(got, r.(map[string]any)["number"].(string))
		}
		return slices.Equal(got, wantOrder)
	})

	b := openBrowser(t, chrome)

	// Not signed in: the page sends the browser to the sign-in form.
	b.do("open the worklist", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.APIURL+"/desk/"),
		chromedp.WaitVisible(chromedp.CSS("#key")))
	if at := b.location(); at != s.APIURL+"/desk/login?next=%2Fdesk%2F" {
		t.Fatalf("without a session the browser is at %s", at)
	}
	b.do("a wrong key", chromedp.SendKeys(chromedp.CSS("#key"), "ck_not_a_key"), chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)))
	if alert := b.text(`[role="alert"]`); !strings.Contains(alert, "not valid") {
		t.Fatalf("wrong key: %q", alert)
	}
	b.do("sign in", chromedp.SendKeys(chromedp.CSS("#key"), s.APIKey), chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#worklist")))
	if at := b.location(); at != s.APIURL+"/desk/" {
		t.Fatalf("after signing in the browser is at %s", at)
	}

	// The worklist, as a person reads it: the rows in priority order.
	rows := run(b, "read the worklist", chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#worklist tr.row")].map(r =>
		[".customer", ".number", ".overdue", ".days", ".action"].map(q => r.querySelector(q).innerText.trim()))`))
	want := [][]string{
		{"Acme GmbH", "INV-1001", "EUR 10,000.00", "75", "send final notice"},
		{"Beta SA", "INV-2001", "EUR 1,500.00", "40", "send final notice"},
		{"Cargo Ltd", "INV-3001", "EUR 200.00", "10", "call"},
		{"Delta AG", "INV-4001", "not chased", "", "review dispute"}, // disputed: there for its task
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("worklist rows:\n got %q\nwant %q", rows, want)
	}
	if tasks := b.text(`#worklist tr.row:nth-child(4) ul.tasks`); !regexp.MustCompile(
		`^Review the dispute on invoice INV-4001 \(wrong_amount\) \(leo@ar\.test\), due \d{4}-\d\d-\d\d \d\d:\d\d UTC$`).MatchString(tasks) {
		t.Errorf("the disputed invoice's task and its due time: %q", tasks)
	}
	if book := agingBars(b); !maps.Equal(book, map[string]string{"current": "0.00", "1–30 days": "1,000.00", "31–60 days": "1,500.00",
		"61–90 days": "10,000.00", "over 90 days": "0.00"}) {
		t.Errorf("the book's aging: %v", book)
	}
	b.screenshot("desk-worklist.png")
	b.do("a phone's width", chromedp.EmulateViewport(390, 844))
	b.screenshot("desk-worklist-phone.png")
	b.do("back to a wide window", chromedp.EmulateViewport(1280, 900))

	// Filter by manager: leo's customers only.
	b.do("filter by manager", chromedp.SetValue(chromedp.CSS("#manager"), "leo@ar.test"), chromedp.Submit(chromedp.CSS("#manager")),
		chromedp.WaitReady(chromedp.CSS(`#manager option[value="leo@ar.test"][selected]`)))
	leo := run(b, "read leo's worklist", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#worklist tr.row .number")].map(e => e.innerText)`))
	if !slices.Equal(leo, []string{"INV-3001", "INV-4001"}) {
		t.Errorf("leo's worklist: %v", leo)
	}
	b.do("back to everyone", chromedp.Navigate(s.APIURL+"/desk/"), chromedp.WaitVisible(chromedp.CSS("#worklist")))

	// Click into the first account.
	b.do("open Acme", chromedp.Click(chromedp.CSS(`#worklist tr.row:first-child a.customer`)), chromedp.WaitVisible(chromedp.CSS("#customer-name")))
	if at := b.location(); at != s.APIURL+"/desk/customers/acme" {
		t.Fatalf("clicked into %s", at)
	}
	name, balance, credit, body := b.text("#customer-name"), b.text("#balance"), b.text("#credit"), b.text("body")
	if name != "Acme GmbH" || balance != "EUR 10,000.00" || !strings.Contains(credit, "EUR 15,000.00: 10,000.00 used, 5,000.00 available") {
		t.Errorf("account header: %q, balance %q, credit %q", name, balance, credit)
	}
	if got := agingBars(b); !maps.Equal(got, map[string]string{"current": "0.00", "1–30 days": "0.00", "31–60 days": "0.00",
		"61–90 days": "10,000.00", "over 90 days": "0.00"}) {
		t.Errorf("Acme's aging: %v", got)
	}
	for _, want := range []string{"BANK-77", "BANK-78", "EUR 2,000.00", "EUR 500.00", "mia@ar.test", "INV-1002 · paid"} {
		if !strings.Contains(body, want) {
			t.Errorf("the account page does not show %q", want)
		}
	}
	// INV-1001's timeline: started, the steps already due, the payment.
	sel := `details.timeline[data-invoice="` + ids["INV-1001"] + `"]`
	kinds := run(b, "read the timeline", chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+sel+` tr.event')].map(e => e.dataset.kind)`))
	if len(kinds) < 3 || kinds[0] != "started" || !slices.Contains(kinds, "message") || !slices.Contains(kinds, "payment") {
		t.Errorf("INV-1001's timeline: %v", kinds)
	}
	if payment := b.text(sel + ` tr.event[data-kind="payment"]`); !strings.Contains(payment, "2,000.00") ||
		!strings.Contains(payment, "10,000.00") || !strings.Contains(payment, "BANK-77") {
		t.Errorf("the payment on the timeline: %q", payment)
	}
	// The link into the Temporal Web UI names the invoice's workflow.
	href := run(b, "the Temporal link", chromedp.AttributeValue(chromedp.CSS(`#open-invoices tr[data-invoice="`+ids["INV-1001"]+`"] a.temporal`), "href")).Value
	if want := s.UIURL + "/namespaces/default/workflows/" + url.PathEscape("invoice:"+ids["INV-1001"]); href != want {
		t.Errorf("Temporal UI link: %q, want %q", href, want)
	}
	b.screenshot("desk-account.png")
	b.do("a phone's width", chromedp.EmulateViewport(390, 844))
	b.screenshot("desk-account-phone.png")
	b.do("back to a wide window", chromedp.EmulateViewport(1280, 900))

	// The Web UI opens that workflow.
	b.do("follow the link", chromedp.Navigate(href))
	var uiText string
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(uiText, "invoice:"+ids["INV-1001"]) || !strings.Contains(strings.ToLower(uiText), "running") {
		if time.Now().After(deadline) {
			t.Fatalf("the Web UI at %s does not show the running workflow; it shows:\n%s", href, uiText)
		}
		time.Sleep(250 * time.Millisecond)
		uiText, _ = chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
	}
	b.screenshot("temporal-ui-workflow.png")

	// The Web UI's list filtered by the invoice's number finds it too.
	b.do("back to the account", chromedp.Navigate(s.APIURL+"/desk/customers/acme"), chromedp.WaitVisible(chromedp.CSS("#open-invoices")))
	search := run(b, "the search link", chromedp.AttributeValue(chromedp.CSS(`details.timeline[data-invoice="`+ids["INV-1001"]+`"] a.temporal-search`), "href")).Value
	if want := s.UIURL + "/namespaces/default/workflows?query=" + url.QueryEscape(`InvoiceNumber = "INV-1001"`); search != want {
		t.Errorf("Temporal UI search link: %q, want %q", search, want)
	}
	b.do("follow the search link", chromedp.Navigate(search))
	deadline = time.Now().Add(60 * time.Second)
	for uiText = ""; !strings.Contains(uiText, "invoice:"+ids["INV-1001"]); {
		if time.Now().After(deadline) {
			t.Fatalf("the Web UI's list at %s does not show the invoice's workflow; it shows:\n%s", search, uiText)
		}
		time.Sleep(250 * time.Millisecond)
		uiText, _ = chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
	}
	if strings.Contains(uiText, "invoice:"+ids["INV-1002"]) {
		t.Errorf("the Web UI's list for INV-1001 shows INV-1002's workflow too:\n%s", uiText)
	}
	b.screenshot("temporal-ui-search.png")

	// Signing out ends the session in the browser.
	b.do("sign out", chromedp.Navigate(s.APIURL+"/desk/"), chromedp.WaitVisible(chromedp.CSS("#worklist")),
		chromedp.Click(chromedp.CSS(`header button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.Navigate(s.APIURL+"/desk/customers/acme"), chromedp.WaitVisible(chromedp.CSS("#key")))
	if at := b.location(); !strings.HasPrefix(at, s.APIURL+"/desk/login") {
		t.Errorf("after signing out: %s", at)
	}
}

// browser is a tab of the test's Chromium.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // where screenshots go (artifactDir)
}

// openBrowser starts headless Chromium at chrome with exactly the issue's
// flags (chromedp adds only a temporary profile directory and the DevTools
// pipe it talks over), for at most three minutes; it is closed when the
// test ends.
func openBrowser(t *testing.T, chrome string) browser {
	t.Helper()
	actx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(actx, chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true))
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	return browser{t: t, ctx: bctx, dir: artifactDir(t)}
}

// screenshot saves the whole page as name in the test's artifacts.
func (b browser) screenshot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(b.dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

func (b browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](b browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

func (b browser) location() string {
	b.t.Helper()
	return run(b, "location", chromedp.Location())
}

// agingBars reads the first aging chart on the page: bucket → amount.
func agingBars(b browser) map[string]string {
	b.t.Helper()
	pairs := run(b, "read the aging chart", chromedp.Evaluate[[][]string](`[...document.querySelector("figure svg").querySelectorAll("g.bucket")].map(g =>
		[g.dataset.bucket, g.querySelectorAll("text")[1].textContent])`))
	out := map[string]string{}
	for _, p := range pairs {
		out[p[0]] = p[1]
	}
	return out
}
