package devstack_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

// The day's work from the collectors' page, in headless Chromium against
// the whole stack: a collector logs a call with a promise to pay, records
// the cheque that keeps it, opens and resolves a dispute, all by clicking;
// the invoice's timeline on the page and its workflow's live status show
// each step, and name who did it.
func TestCollectorsPageActionsInChromium(t *testing.T) {
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
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "account_manager": "mia@ar.test",
		"email": "ap@acme.test", "phone": "+4930123456", "timezone": "Europe/Berlin"}, 201)
	now := time.Now()
	id := c.must("POST", "/v1/invoices", map[string]string{"number": "INV-5001", "customer_id": "acme", "amount": "1000.00",
		"currency": "EUR", "issued_at": rfc3339(now.AddDate(0, 0, -70)), "due_at": rfc3339(now.AddDate(0, 0, -40)), "policy": "paced"}, 201)["id"].(string)

	store := db.NewStore(s.DB)
	ctx := context.Background()
	// savedKinds is the invoice's timeline as its workflow last saved it.
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

	b := openBrowser(t, chrome)
	account := s.APIURL + "/desk/customers/acme"
	inv := `details.timeline[data-invoice="` + id + `"]`
	form := func(name string) string { return inv + ` details.act[data-form="` + name + `"]` }
	// open clicks a form's summary open (as a person does: by its label).
	open := func(name string) {
		t.Helper()
		b.do("open the "+name+" form", chromedp.WaitVisible(chromedp.CSS(form(name)+" > summary")),
			chromedp.Click(chromedp.CSS(form(name)+" > summary")), chromedp.WaitVisible(chromedp.CSS(form(name)+" form")))
	}
	// submit clicks the form's button and waits for the page that says what happened.
	submit := func(name, wantFlash string) {
		t.Helper()
		// The page may still show the last action's message: it goes, so
		// that the next one is the answer to this form.
		run(b, "forget the last message", chromedp.Evaluate[bool](`(document.getElementById("flash")?.remove(), true)`))
		b.do("send the "+name+" form", chromedp.Click(chromedp.CSS(form(name)+` button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#flash")))
		if got := b.text("#flash"); got != wantFlash {
			t.Fatalf("after the %s form: %q, want %q", name, got, wantFlash)
		}
		if at := b.location(); !strings.HasPrefix(at, account+"?done=") {
			t.Fatalf("after the %s form the browser is at %s", name, at)
		}
	}
	// timeline waits for the page to show the invoice's timeline with an
	// event of kind (the workflow saves it a moment after it answers).
	timeline := func(kind string) string {
		t.Helper()
		sel := inv + ` tr.event[data-kind="` + kind + `"]`
		deadline := time.Now().Add(30 * time.Second)
		for {
			n := run(b, "count "+kind, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`))
			if n > 0 {
				return run(b, "read "+kind, chromedp.Evaluate[string](`[...document.querySelectorAll('`+sel+`')].map(e => e.innerText).join("\n")`))
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page's timeline has no %s event; saved: %v", kind, savedKinds())
			}
			time.Sleep(300 * time.Millisecond)
			b.do("reload", chromedp.Navigate(account), chromedp.WaitVisible(chromedp.CSS("#customer-name")))
		}
	}

	b.do("sign in", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(account), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), s.APIKey), chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#customer-name")))

	// 1. A call that reached the customer, with a promise to pay 300.00 in ten days.
	promised := now.AddDate(0, 0, 10).UTC().Format("2006-01-02")
	open("call")
	p := "#call-" + id
	b.do("fill in the call", chromedp.SetValue(chromedp.CSS(p+"-outcome"), "reached"),
		chromedp.SendKeys(chromedp.CSS(p+"-note"), "Spoke to Anna in AP: <b>cheque</b> in the post"),
		chromedp.SendKeys(chromedp.CSS(p+"-promise_amount"), "300.00"), chromedp.SetValue(chromedp.CSS(p+"-promise_date"), promised))
	b.screenshot("desk-action-call.png")
	submit("call", "Call logged with a promise to pay on invoice INV-5001.")
	if ev := timeline("promise"); !strings.Contains(ev, "300.00") || !strings.Contains(ev, "On a call by dev admin: Spoke to Anna in AP: <b>cheque</b> in the post") {
		t.Errorf("the promise on the timeline: %q", ev)
	}
	if note := b.text("#notes"); !strings.Contains(note, "Call: reached. Promised EUR 300.00 by "+promised+".") || !strings.Contains(note, "(dev admin)") {
		t.Errorf("the call's note: %q", note)
	}

	// 2. A refused form: a badly written amount comes back beside its field.
	open("payment")
	p = "#payment-" + id
	b.do("a bad payment", chromedp.SendKeys(chromedp.CSS(p+"-amount"), "3OO,00"), chromedp.SendKeys(chromedp.CSS(p+"-reference"), "CHQ-1001"),
		chromedp.Click(chromedp.CSS(form("payment")+` button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#form-error")))
	if e := b.text("#f-payment-amount-err"); !strings.HasPrefix(e, "amount: ") {
		t.Errorf("the error beside the amount: %q", e)
	}
	if v := run(b, "the reference kept", chromedp.Evaluate[string](`document.querySelector("#f-payment-reference").value`)); v != "CHQ-1001" {
		t.Errorf("the reference typed was lost: %q", v)
	}
	b.screenshot("desk-action-refused.png")
	b.do("a phone's width", chromedp.EmulateViewport(390, 844))
	b.screenshot("desk-action-refused-phone.png")
	b.do("back to a wide window", chromedp.EmulateViewport(1280, 900))

	// 3. Corrected there, the cheque is recorded: the promise is kept.
	b.do("correct the amount", chromedp.SetValue(chromedp.CSS("#f-payment-amount"), "300.00"),
		chromedp.Click(chromedp.CSS(`form[data-form="payment"] button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if got := b.text("#flash"); got != "Payment recorded on invoice INV-5001." {
		t.Fatalf("after the payment: %q", got)
	}
	if ev := timeline("payment"); !strings.Contains(ev, "300.00") || !strings.Contains(ev, "700.00") || !strings.Contains(ev, "CHQ-1001") {
		t.Errorf("the payment on the timeline: %q", ev)
	}
	timeline("promise_kept")

	// 4. The customer disputes the amount; the collector opens the dispute, then resolves it.
	open("dispute")
	b.do("fill in the dispute", chromedp.SetValue(chromedp.CSS("#dispute-"+id+"-reason"), "wrong_amount"),
		chromedp.SendKeys(chromedp.CSS("#dispute-"+id+"-note"), "says the discount is missing"))
	submit("dispute", "Dispute opened: chasing is paused until it is resolved on invoice INV-5001.")
	timeline("dispute_opened")
	open("resolve")
	b.do("fill in the resolution", chromedp.SetValue(chromedp.CSS("#resolve-"+id+"-resolution"), "rejected"),
		chromedp.SendKeys(chromedp.CSS("#resolve-"+id+"-note"), "the discount was for orders over 5,000"))
	b.screenshot("desk-action-resolve.png")
	b.do("a phone's width", chromedp.EmulateViewport(390, 844))
	b.screenshot("desk-action-resolve-phone.png")
	b.do("back to a wide window", chromedp.EmulateViewport(1280, 900))
	submit("resolve", "Dispute resolved on invoice INV-5001.")
	if ev := timeline("dispute_resolved"); !strings.Contains(ev, "rejected") || !strings.Contains(ev, "by dev admin") {
		t.Errorf("the resolution on the timeline: %q", ev)
	}
	b.screenshot("desk-actions-done.png")

	// The workflow's own status, live from Temporal.
	st := c.must("GET", "/v1/invoices/"+id, nil, 200)
	var kinds []string
	for _, e := range st["timeline"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	if st["status_source"] != "workflow" || st["balance"] != "700.00" || st["stage"] == "disputed" || st["stage"] == "promised" {
		t.Errorf("the workflow's status: source %v, balance %v, stage %v", st["status_source"], st["balance"], st["stage"])
	}
	for _, k := range []string{"promise", "payment", "promise_kept", "dispute_opened", "dispute_resolved"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("the workflow's timeline has no %s: %v", k, kinds)
		}
	}
}
