package devstack_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/internal/portallink"
)

// The customer portal in a real browser, from the link in a real outbox
// message: one customer pays on the dev test payment page and its invoice's
// workflow completes; a second disputes one invoice and promises to pay
// another; a tampered and a revoked link get the friendly page.

var portalLink = regexp.MustCompile(`https?://[^\s"<>]+/portal/[A-Za-z0-9._~-]+`)

// outboxLink waits for the invoice's first message and returns the portal
// link in its body.
func outboxLink(t *testing.T, c client, invoiceID string) string {
	t.Helper()
	var link string
	eventually(t, 60*time.Second, "the invoice's message with a portal link", func() bool {
		for _, m := range c.must("GET", "/v1/outbox?invoice_id="+invoiceID, nil, 200)["messages"].([]any) {
			if l := portalLink.FindString(m.(map[string]any)["body"].(string)); l != "" {
				link = l
				return true
			}
		}
		return false
	})
	return link
}

func TestPortalInChromium(t *testing.T) {
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("no chromium binary found (apt-get install chromium; .ci/run installs it)")
	}
	databaseURL := ""
	if os.Getenv(dbtest.EnvPostgres) != "" {
		databaseURL = dbtest.Postgres(t).DSN
	}
	s := startStack(t, t.TempDir(), databaseURL, false)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	pacedPolicy(c)
	for _, id := range []string{"acme", "beta"} {
		c.must("POST", "/v1/customers", map[string]string{"id": id, "name": strings.ToUpper(id[:1]) + id[1:] + " GmbH",
			"email": "ap@" + id + ".test", "timezone": "Europe/Berlin", "account_manager": "mia@ar.test"}, 201)
	}
	now := time.Now()
	invoice := func(number, customer, amount string, dueInDays int) string {
		return c.must("POST", "/v1/invoices", map[string]string{"number": number, "customer_id": customer, "amount": amount,
			"currency": "EUR", "issued_at": rfc3339(now.Add(-time.Minute)), "due_at": rfc3339(now.AddDate(0, 0, dueInDays)),
			"policy": "paced"}, 201)["id"].(string)
	}
	acme1 := invoice("INV-7001", "acme", "1250.00", 20)
	beta1 := invoice("INV-8001", "beta", "300.00", 10)
	beta2 := invoice("INV-8002", "beta", "450.00", 25)
	beta3 := invoice("INV-8003", "beta", "900.00", 30)
	acmeLink := outboxLink(t, c, acme1)
	betaLink := outboxLink(t, c, beta1)
	if !strings.HasPrefix(acmeLink, s.APIURL+"/portal/") {
		t.Fatalf("the message links to %s, not the dev portal", acmeLink)
	}

	b := openBrowser(t, chrome)
	wide := func(name string) {
		t.Helper()
		b.do("wide", chromedp.EmulateViewport(1280, 900))
		b.screenshot(name + ".png")
		b.do("phone", chromedp.EmulateViewport(390, 844))
		b.screenshot(name + "-phone.png")
		b.do("wide again", chromedp.EmulateViewport(1280, 900))
	}

	// Acme opens the link from the invoice's message and pays it in full.
	b.do("open acme's link", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(acmeLink), chromedp.WaitVisible(chromedp.CSS("#open")))
	if body := b.text("body"); !strings.Contains(body, "Acme GmbH") || !strings.Contains(body, "INV-7001") || strings.Contains(body, "INV-8001") {
		t.Fatalf("acme's overview:\n%s", body)
	}
	wide("portal-overview")
	b.do("open the invoice", chromedp.Click(chromedp.CSS(`#about ~ p a`)), chromedp.WaitVisible(chromedp.CSS("#amount")))
	if bal := b.text("#balance"); bal != "EUR 1,250.00" {
		t.Fatalf("balance on the invoice page: %q", bal)
	}
	wide("portal-invoice")
	b.do("pay", chromedp.Click(chromedp.CSS(`form[action$="/pay"] button`)), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	if body := b.text("body"); !strings.Contains(body, "TEST PAYMENT PAGE") {
		t.Fatalf("the test payment page is not marked as a test:\n%s", body)
	}
	wide("portal-test-payment")
	b.do("confirm", chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS(".done")))
	if done, state := b.text(".done"), b.text("#state"); !strings.Contains(done, "payment has been received") || state != "Paid" {
		t.Fatalf("after paying: %q, state %q", done, state)
	}
	b.screenshot("portal-paid.png")
	inv := c.must("GET", "/v1/invoices/"+acme1, nil, 200)
	if inv["balance"] != "0.00" {
		t.Fatalf("the invoice after paying on the portal: %v", inv)
	}
	eventually(t, 30*time.Second, "the paid invoice's workflow to complete", func() bool {
		d, err := s.Client.DescribeWorkflowExecution(context.Background(), "invoice:"+acme1, "")
		return err == nil && d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	pays, _, err := db.NewStore(s.DB).PortalPayments(context.Background(), "acme", 5)
	if err != nil || len(pays) != 1 || !strings.HasPrefix(pays[0].Reference, "portal:") || pays[0].AmountMinor != 125000 {
		t.Fatalf("the payment recorded: %+v %v", pays, err)
	}

	// Reports credit the payment to the portal.
	eventually(t, 30*time.Second, "collected by channel to count the portal's payment", func() bool {
		for _, r := range c.must("GET", "/v1/reports/collected-by-channel", nil, 200)["rows"].([]any) {
			if r.(map[string]any)["channel"] == "portal" {
				return true
			}
		}
		return false
	})

	b.do("the statement", chromedp.Navigate(acmeLink+"/statement"), chromedp.WaitVisible(chromedp.CSS("#lines")))
	if body := b.text("body"); !strings.Contains(body, "INV-7001") || !strings.Contains(body, "Payment") || !strings.Contains(body, "portal:") {
		t.Errorf("the statement does not show the invoice and its payment:\n%s", body)
	}
	wide("portal-statement")
	// The statement downloads as a PDF (its contents are documents/'s tests).
	res, err := http.Get(acmeLink + "/statement.pdf")
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("statement.pdf: %d %s, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(pdf))
	}
	if a := artifactDir(t); a != "" {
		_ = os.WriteFile(filepath.Join(a, "portal-statement.pdf"), pdf, 0o644)
	}

	// Beta disputes one invoice and promises to pay the other.
	b.do("open beta's link", chromedp.Navigate(betaLink), chromedp.WaitVisible(chromedp.CSS("#open")))
	b.do("open INV-8001", chromedp.Navigate(betaLink+"/invoices/"+beta1), chromedp.WaitVisible(chromedp.CSS("#reason")))
	b.do("dispute", chromedp.SetValue(chromedp.CSS("#reason"), "wrong_amount"),
		chromedp.SendKeys(chromedp.CSS("#message"), "We were billed for 3 crates, we received 2."),
		chromedp.Click(chromedp.CSS(`form[action$="/dispute"] button`)), chromedp.WaitVisible(chromedp.CSS(".done")))
	if state := b.text("#state"); !strings.Contains(state, "Disputed") {
		t.Errorf("after the dispute the invoice shows %q", state)
	}
	b.screenshot("portal-disputed.png")
	if st := c.must("GET", "/v1/invoices/"+beta1, nil, 200)["stage"]; st != "disputed" {
		t.Errorf("beta's disputed invoice is at %v", st)
	}
	eventually(t, 30*time.Second, "the dispute's task for the account manager", func() bool {
		for _, tk := range c.must("GET", "/v1/tasks?status=open", nil, 200)["tasks"].([]any) {
			if m := tk.(map[string]any); m["invoice_id"] == beta1 && m["assignee"] == "mia@ar.test" {
				return true
			}
		}
		return false
	})
	promised := time.Now().In(mustLoc(t, "Europe/Berlin")).AddDate(0, 0, 14).Format("2006-01-02")
	b.do("open INV-8002", chromedp.Navigate(betaLink+"/invoices/"+beta2), chromedp.WaitVisible(chromedp.CSS("#promise_date")))
	b.do("promise", chromedp.SetValue(chromedp.CSS("#promise_date"), promised),
		chromedp.Click(chromedp.CSS(`form[action$="/promise"] button`)), chromedp.WaitVisible(chromedp.CSS(".done")))
	if state := b.text("#state"); !strings.Contains(state, "Promised for") {
		t.Errorf("after the promise the invoice shows %q", state)
	}
	b.screenshot("portal-promised.png")
	if st := c.must("GET", "/v1/invoices/"+beta2, nil, 200)["stage"]; st != "promised" {
		t.Errorf("beta's promised invoice is at %v", st)
	}

	// Beta asks to pay the third invoice in three monthly instalments: within
	// the policy's bounds, so the plan is agreed at once and the workflow
	// carries it.
	b.do("open INV-8003", chromedp.Navigate(betaLink+"/invoices/"+beta3), chromedp.WaitVisible(chromedp.CSS("#plan_count")))
	b.do("ask for a plan", chromedp.SetValue(chromedp.CSS("#plan_count"), "3"), chromedp.SetValue(chromedp.CSS("#plan_every"), "1 month"),
		chromedp.Click(chromedp.CSS(`form[action$="/plan"] button`)), chromedp.WaitVisible(chromedp.CSS(".done")))
	if state := b.text("#state"); !strings.Contains(state, "instalment 1 of 3") {
		t.Errorf("after the plan the invoice shows %q", state)
	}
	b.screenshot("portal-plan.png")
	got := c.must("GET", "/v1/invoices/"+beta3, nil, 200)
	if plan, _ := got["payment_plan"].(map[string]any); got["stage"] != "on_plan" || plan == nil || plan["state"] != "active" ||
		len(plan["instalments"].([]any)) != 3 {
		t.Errorf("beta's invoice on a plan: stage %v, plan %v", got["stage"], got["payment_plan"])
	}

	// A tampered link, and beta's links once revoked, get the friendly page.
	tampered := acmeLink[:len(acmeLink)-4] + "AAAA"
	b.do("a tampered link", chromedp.Navigate(tampered), chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)))
	friendly := b.text(`[role="alert"]`)
	if !strings.Contains(friendly, "This link does not work") {
		t.Fatalf("tampered link: %q", friendly)
	}
	b.screenshot("portal-bad-link.png")
	c.must("POST", "/v1/portal/revocations", map[string]string{"customer_id": "beta", "reason": "test"}, 201)
	b.do("a revoked link", chromedp.Navigate(betaLink), chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)))
	if got := b.text(`[role="alert"]`); got != friendly {
		t.Errorf("revoked link: %q", got)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// dev keeps its portal link key in the data dir: a link from before a
// restart still opens the portal after it.
func TestPortalLinksSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, dir, "", false)
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	link := c.must("POST", "/v1/portal/links", map[string]string{"customer_id": "acme"}, 201)["url"].(string)
	s.Stop()

	s = startStack(t, dir, "", false)
	defer s.Stop()
	path := link[strings.Index(link, "/portal/"):]
	res, err := http.Get(s.APIURL + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "Acme GmbH") {
		t.Fatalf("the link after a restart: %d\n%s", res.StatusCode, body)
	}
}

// The credit application form, from a link the team issues: a new
// applicant fills it in and sees the decision workflow's outcome.
func TestPortalCreditApplication(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	link := c.must("POST", "/v1/portal/links", map[string]string{"kind": "credit_application"}, 201)["url"].(string)
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("the form: %d\n%s", res.StatusCode, page)
	}
	apply := func(limit string) (int, string) {
		form := url.Values{"csrf": {string(m[1])}, "company": {"Nova Trading Ltd"}, "email": {"ap@nova.test"}, "timezone": {"Europe/London"},
			"limit": {limit}, "currency": {"EUR"}, "terms": {"30"}, "nonce": {portallink.RandomID()}}
		res, err := http.PostForm(link, form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(body)
	}
	status, body := apply("2000.00")
	if status != 200 || !(strings.Contains(body, "Approved") || strings.Contains(body, "Under review") || strings.Contains(body, "Not approved")) {
		t.Fatalf("the outcome: %d\n%s", status, body)
	}
	apps := c.must("GET", "/v1/credit-applications", nil, 200)["credit_applications"].([]any)
	if len(apps) != 1 || apps[0].(map[string]any)["company"].(map[string]any)["name"] != "Nova Trading Ltd" {
		t.Fatalf("applications: %v", apps)
	}
	t.Logf("outcome page says: %s", regexp.MustCompile(`<h2>([^<]+)</h2>`).FindStringSubmatch(body)[1])
	if status, _ := apply("-5"); status != http.StatusUnprocessableEntity {
		t.Errorf("a negative limit: %d", status)
	}
}
