package devstack_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/internal/devstack"
)

// postUnmatchedReply posts, as SendGrid Inbound Parse does, an email that
// names none of our messages and no invoice number, with a PDF attached.
func postUnmatchedReply(t *testing.T, apiURL, from, subject, text, filename string, pdf []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"from": from, "to": "ar@acme.test", "subject": subject, "text": text, "attachments": "1",
		"headers": "Subject: " + subject + "\r\n", "envelope": `{"to":["ar@acme.test"],"from":"` + from + `"}`} {
		_ = w.WriteField(k, v)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="attachment1"; filename="`+filename+`"`)
	h.Set("Content-Type", "application/pdf")
	part, _ := w.CreatePart(h)
	_, _ = part.Write(pdf)
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, apiURL+"/webhooks/sendgrid/inbound", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.SetBasicAuth("sendgrid", inboundParseSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Contains(body, []byte(`"unmatched"`)) {
		t.Fatalf("unmatched reply: %d %s", res.StatusCode, body)
	}
}

// A reply that matched no invoice, in headless Chromium against the whole
// stack: SendGrid posts it; the collector finds it on the Replies page,
// attaches it to the invoice by its number; the account page shows it on
// the invoice's timeline with its file, and the workflow holds the chase
// (pause_on_reply is on in the standard policy).
func TestUnmatchedReplyAttachedInChromium(t *testing.T) {
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("no chromium binary found (apt-get install chromium; .ci/run installs it)")
	}
	databaseURL := ""
	if os.Getenv(dbtest.EnvPostgres) != "" {
		databaseURL = dbtest.Postgres(t).DSN
	}
	s := startStack(t, t.TempDir(), databaseURL, false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{InboundParseSecret: inboundParseSecret}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	pacedPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "account_manager": "mia@ar.test",
		"email": "ap@acme.test", "timezone": "Europe/Berlin"}, 201)
	now := time.Now()
	id := c.must("POST", "/v1/invoices", map[string]string{"number": "INV-7001", "customer_id": "acme", "amount": "1000.00",
		"currency": "EUR", "issued_at": rfc3339(now.AddDate(0, 0, -70)), "due_at": rfc3339(now.AddDate(0, 0, -40)), "policy": "paced"}, 201)["id"].(string)
	store := db.NewStore(s.DB)
	ctx := context.Background()
	savedKinds := func() []string {
		inv, err := store.GetInvoice(ctx, id)
		if err != nil || inv.Status == nil {
			return nil
		}
		var kinds []string
		for _, e := range inv.Status.Timeline {
			kinds = append(kinds, e.Kind)
		}
		return kinds
	}
	eventually(t, 60*time.Second, "the invoice's saved timeline", func() bool { return slices.Contains(savedKinds(), "message") })

	pdf := []byte("%PDF-1.4\n% remittance advice: EUR 1000.00 for INV 7001\n")
	postUnmatchedReply(t, s.APIURL, "AP@acme.test", "About our account", "Hello,\n\nwe paid <b>all</b> of it last week, remittance advice attached.\n\nAnna",
		"remittance-advice.pdf", pdf)

	b := openBrowser(t, chrome)

	replies := s.APIURL + "/desk/replies"
	b.do("sign in", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(replies), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), s.APIKey), chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("article.reply")))
	if at := b.location(); at != replies {
		t.Fatalf("signed in at %s, want %s", at, replies)
	}
	if n := run(b, "count replies", chromedp.Evaluate[int](`document.querySelectorAll("article.reply").length`)); n != 1 {
		t.Fatalf("%d replies on the page, want 1", n)
	}
	if got := b.text("article.reply .reply-from"); got != "ap@acme.test" {
		t.Errorf("from: %q", got)
	}
	if got := b.text("article.reply .reply-subject"); got != "About our account" {
		t.Errorf("subject: %q", got)
	}
	if got := b.text("article.reply .reply-body"); !strings.Contains(got, "we paid <b>all</b> of it last week") {
		t.Errorf("the reply's text (shown as text): %q", got)
	}
	if got := b.text("article.reply ul.files"); !strings.Contains(got, "remittance-advice.pdf") || !strings.Contains(got, "application/pdf") {
		t.Errorf("the reply's file: %q", got)
	}
	if got := b.text("article.reply .reply-flags"); got != "check for payment" {
		t.Errorf("triage: %q", got)
	}
	// The nav leads here from the worklist, by keyboard too.
	if href := run(b, "the nav link", chromedp.Evaluate[string](`document.querySelector("header a#nav-replies").getAttribute("href")`)); href != "/desk/replies" {
		t.Errorf("nav link: %q", href)
	}
	b.screenshot("desk-replies.png")

	// Open the attach form from the keyboard: focus its summary, Enter.
	form := `article.reply details.act[data-form="attach"]`
	b.do("open the attach form", chromedp.Focus(chromedp.CSS(form+" > summary")), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(form+" form")))
	b.do("a phone's width", chromedp.EmulateViewport(390, 844))
	b.do("type the invoice number", chromedp.SendKeys(chromedp.CSS(form+` input[name="invoice"]`), "INV-7001"))
	b.screenshot("desk-replies-phone.png")
	if w := run(b, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("the page is %dpx wide on a 390px phone", w)
	}
	b.do("back to a wide window", chromedp.EmulateViewport(1280, 900))
	b.do("attach", chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if got := b.text("#flash"); got != "Reply attached on invoice INV-7001." {
		t.Fatalf("after attaching: %q", got)
	}
	account := s.APIURL + "/desk/customers/acme"
	if at := b.location(); !strings.HasPrefix(at, account+"?done=attach") {
		t.Fatalf("after attaching the browser is at %s", at)
	}

	// The invoice's timeline shows the reply once the workflow saved it.
	sel := `details.timeline[data-invoice="` + id + `"] tr.event[data-kind="replied"]`
	deadline := time.Now().Add(30 * time.Second)
	for run(b, "count replied", chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the page's timeline has no replied event; saved: %v", savedKinds())
		}
		time.Sleep(300 * time.Millisecond)
		b.do("reload", chromedp.Navigate(account), chromedp.WaitVisible(chromedp.CSS("#customer-name")))
	}
	if ev := b.text(sel); !strings.Contains(ev, "we paid <b>all</b> of it last week") || !strings.Contains(ev, "check_for_payment") {
		t.Errorf("the reply on the timeline: %q", ev)
	}
	if comm := b.text("#communications"); !strings.Contains(comm, "email (reply)") || !strings.Contains(comm, "remittance-advice.pdf") {
		t.Errorf("the reply in the communications: %q", comm)
	}
	if tasks := b.text("#tasks"); !strings.Contains(tasks, "Customer replied about invoice INV-7001") || !strings.Contains(tasks, "mia@ar.test") {
		t.Errorf("the account manager's task: %q", tasks)
	}
	b.screenshot("desk-reply-attached.png")

	// The file downloads from the desk, as a download, with the browser's
	// session (the page's CSP lets no script fetch it, so Go does, with the
	// browser's cookie).
	href := run(b, "the file's link", chromedp.Evaluate[string](`document.querySelector("#communications a.file").getAttribute("href")`))
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{account}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.APIURL+href, nil)
	for _, ck := range cookies.Cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if h := res.Header; res.StatusCode != 200 || h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Content-Disposition") != "attachment; filename=remittance-advice.pdf" || !bytes.Equal(body, pdf) {
		t.Errorf("download: %d %v %q", res.StatusCode, h, body)
	}
	// Without the session: sent to sign in.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if res, err := noFollow.Get(s.APIURL + href); err != nil || res.StatusCode/100 != 3 || !strings.HasPrefix(res.Header.Get("Location"), "/desk/login") {
		t.Errorf("the file without a session: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// The workflow holds the chase; the Replies page is empty.
	eventually(t, 30*time.Second, "the reply to hold the chase", func() bool {
		next, _ := c.must("GET", "/v1/invoices/"+id, nil, 200)["next_action"].(map[string]any)
		return next != nil && next["step"] == "reply-hold"
	})
	b.do("the replies again", chromedp.Navigate(replies), chromedp.WaitVisible(chromedp.CSS("#no-replies")))
	if open := c.must("GET", "/v1/inbound-emails?status=unmatched&open=true", nil, 200)["inbound_emails"].([]any); len(open) != 0 {
		t.Errorf("still open: %v", open)
	}
}
