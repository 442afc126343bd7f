package deskpage

import (
	"context"
	"strings"
	"testing"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// TestAccountShowsTheCustomersReply: a reply taken in by the inbound
// webhook is in the account's communications (its text, escaped, and its
// triage) and on the invoice's timeline.
func TestAccountShowsTheCustomersReply(t *testing.T) {
	env := newPageEnv(t, dbtest.SQLite(t))
	ctx := context.Background()
	at := env.now.Add(-2 * 60 * 60 * 1e9)
	if err := env.store.InsertMessage(ctx, &db.Message{ID: "reply-1", InvoiceID: "inv-new", CustomerID: "acme", Step: "reply:in-1", Channel: "email",
		Direction: db.Inbound, Recipient: "ap@acme.test", Subject: "Re: Invoice A-NEW", Body: "We paid <b>yesterday</b>, remittance attached.",
		Detail: "flags: check_for_payment", Status: "received", Provider: "sendgrid", ScheduledAt: at, CreatedAt: at, SentAt: &at}); err != nil {
		t.Fatal(err)
	}
	until := env.now.AddDate(0, 0, 3)
	if err := env.store.SaveStatus(ctx, invoice.Status{InvoiceID: "inv-new", Stage: invoice.StageReminded, AmountMinor: 40000, BalanceMinor: 40000,
		Currency: "EUR", DueAt: env.now.AddDate(0, 0, -10), PolicyName: "standard", PolicyVersion: 1,
		Timeline: []invoice.Event{{At: at, Kind: invoice.EventReplied, Outcome: "check_for_payment", Reference: "reply-1",
			Detail: "We paid yesterday, remittance attached.", Actor: "ap@acme.test", Until: &until}}}, env.now); err != nil {
		t.Fatal(err)
	}
	ck := sessionCookie(t, env.login(env.key, "/desk"))
	rec := env.get("/desk/customers/acme", ck)
	page := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("account: %d %s", rec.Code, page)
	}
	for _, want := range []string{"email (reply)", "Re: Invoice A-NEW", "We paid &lt;b&gt;yesterday&lt;/b&gt;, remittance attached.",
		`<span class="muted reply-detail">flags: check_for_payment</span>`, `<tr class="event" data-kind="replied">`, "check_for_payment",
		"We paid yesterday, remittance attached."} {
		if !strings.Contains(page, want) {
			t.Errorf("account lacks %s", want)
		}
	}
	if strings.Contains(page, "<b>yesterday") {
		t.Error("the reply's markup reached the page")
	}
}
