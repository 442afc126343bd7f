package deskpage

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/collect"
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

// The team's replies page: open unmatched replies, escaped, with their
// files; paged by the database; attach refused beside its field, then
// attached (to the account, at the invoice, once); dismissed back to the
// page; a read-only key sees no forms and may not post; files download.
func TestRepliesPage(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			env := newActEnv(t, d)
			ctx := context.Background()
			take := func(from, subject, text string, atts ...collect.ReplyAttachment) collect.ReplyResult {
				t.Helper()
				res, err := env.pg.cases().TakeEmailReply(ctx, collect.EmailReply{Actor: collect.Actor{Kind: collect.ActorProvider, Name: "sendgrid"},
					From: from, Subject: subject, Text: text, Headers: map[string]string{}, Attachments: atts})
				if err != nil || res.Outcome != collect.Unmatched {
					t.Fatalf("%+v %v", res, err)
				}
				return res
			}
			r1 := take("ap@acme.test", "Our <payment>", "We paid <b>everything</b>, remittance attached.\n"+strings.Repeat("x", 700),
				collect.ReplyAttachment{Filename: "remit.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4 remit")})
			for i := range 27 { // two pages of 25
				env.now = env.now.Add(time.Minute)
				take(fmt.Sprintf("who%d@else.test", i), fmt.Sprintf("Hello %d", i), "which invoice is this?")
			}
			ro, _ := env.signIn(env.key)
			rec := env.get("/desk/replies", ro)
			page := rec.Body.String()
			if rec.Code != 200 || strings.Count(page, `class="box reply"`) != 25 || !strings.Contains(page, `id="next-page"`) ||
				strings.Contains(page, `data-form="attach"`) || !strings.Contains(page, `id="nav-replies"`) {
				t.Fatalf("first page (read-only): %d, %d replies\n%s", rec.Code, strings.Count(page, `class="box reply"`), page)
			}
			next := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(page)[1]
			rec = env.get(html.UnescapeString(next), ro)
			page = rec.Body.String()
			if rec.Code != 200 || strings.Count(page, `class="box reply"`) != 3 || strings.Contains(page, `id="next-page"`) {
				t.Fatalf("second page: %d\n%s", rec.Code, page)
			}
			for _, want := range []string{"Our &lt;payment&gt;", "We paid &lt;b&gt;everything&lt;/b&gt;, remittance attached.", "…",
				`download>remit.pdf</a>`, "application/pdf, 14 bytes", "check for payment"} {
				if !strings.Contains(page, want) {
					t.Errorf("the oldest reply lacks %s", want)
				}
			}
			if strings.Contains(page, "<b>everything") || strings.Contains(page, strings.Repeat("x", 601)) {
				t.Error("the reply's markup, or more than an excerpt, reached the page")
			}
			if env.get("/desk/replies?cursor=!!", ro).Code != 400 {
				t.Error("a forged cursor was taken")
			}
			// The file downloads, never rendered.
			file := regexp.MustCompile(`href="(/desk/attachments/[^"]+)"`).FindStringSubmatch(page)[1]
			rec = env.get(file, ro)
			if h := rec.Header(); rec.Code != 200 || h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("Content-Disposition") != `attachment; filename=remit.pdf` || rec.Body.String() != "%PDF-1.4 remit" {
				t.Fatalf("download: %d %v %q", rec.Code, h, rec.Body)
			}
			if env.get("/desk/attachments/nope", ro).Code != 404 {
				t.Error("an unknown file is not a 404")
			}
			if rec := env.get(file, nil); rec.Code == 200 {
				t.Error("a file downloads without a session")
			}

			e1, err := env.store.GetInboundEmail(ctx, inboundIDOf(t, env.store, r1.TaskID))
			if err != nil {
				t.Fatal(err)
			}
			attach := "/desk/replies/" + e1.ID + "/attach"
			if rec := env.post(attach, ro, url.Values{"csrf": {csrfOf(t, env, ro)}, "invoice": {"A-NEW"}}); rec.Code != 403 {
				t.Fatalf("read-only attach: %d", rec.Code)
			}
			rw, csrf := env.signIn("ck_desk_rw_secret")
			if rec := env.post(attach, rw, url.Values{"invoice": {"A-NEW"}}); rec.Code != 403 {
				t.Fatalf("attach without the token: %d", rec.Code)
			}
			nonce := "nonce-attach-0000001"
			rec = env.post(attach, rw, url.Values{"csrf": {csrf}, "nonce": {nonce}, "invoice": {"B-1"}}) // Beta's invoice
			if rec.Code != 422 || !strings.Contains(rec.Body.String(), `id="f-attach-invoice-err"`) || !strings.Contains(rec.Body.String(), `value="B-1"`) ||
				!strings.Contains(rec.Body.String(), "Back to the replies") {
				t.Fatalf("another customer's invoice: %d\n%s", rec.Code, rec.Body)
			}
			rec = env.post(attach, rw, url.Values{"csrf": {csrf}, "nonce": {nonce}, "invoice": {"A-NEW"}})
			if rec.Code != 303 || rec.Header().Get("Location") != "/desk/customers/acme?done=attach&invoice=inv-new#inv-inv-new" {
				t.Fatalf("attach: %d %v", rec.Code, rec.Header())
			}
			// Sent twice (a double click): the same place, nothing more.
			rec = env.post(attach, rw, url.Values{"csrf": {csrf}, "nonce": {nonce}, "invoice": {"A-NEW"}})
			if rec.Code != 303 || !strings.Contains(rec.Header().Get("Location"), "done=attach_already") {
				t.Fatalf("attach again: %d %v", rec.Code, rec.Header())
			}
			if _, signals := env.tc.sent(); len(signals) != 1 {
				t.Fatalf("signals %v", signals)
			}
			acct := env.get("/desk/customers/acme?done=attach&invoice=inv-new", rw).Body.String()
			for _, want := range []string{"Reply attached on invoice A-NEW.", "email (reply)", "Our &lt;payment&gt;", `download>remit.pdf</a>`, "attached by key:mia&#39;s desk"} {
				if !strings.Contains(acct, want) {
					t.Errorf("account page lacks %s", want)
				}
			}

			// Dismissed: back to the replies, one fewer.
			e2 := regexp.MustCompile(`data-reply="([^"]+)"`).FindStringSubmatch(env.get("/desk/replies", rw).Body.String())[1]
			rec = env.post("/desk/replies/"+e2+"/dismiss", rw, url.Values{"csrf": {csrf}, "nonce": {"nonce-dismiss-000001"}, "note": {"spam"}})
			if rec.Code != 303 || rec.Header().Get("Location") != "/desk/replies?done=dismiss" {
				t.Fatalf("dismiss: %d %v", rec.Code, rec.Header())
			}
			page = env.get("/desk/replies?done=dismiss", rw).Body.String()
			if !strings.Contains(page, "Reply dismissed.") || strings.Count(page, `class="box reply"`) != 25 || strings.Contains(page, e2) {
				t.Fatalf("after the dismissal:\n%s", page)
			}
			rec = env.post("/desk/replies/"+e2+"/dismiss", rw, url.Values{"csrf": {csrf}, "nonce": {"nonce-dismiss-000002"}})
			if rec.Code != 409 {
				t.Fatalf("dismiss again: %d", rec.Code)
			}
		})
	}
}

func inboundIDOf(t *testing.T, s *db.Store, taskID string) string {
	t.Helper()
	for after := (*db.InboundKey)(nil); ; {
		page, next, err := s.InboundPage(context.Background(), db.InboundUnmatched, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if e.TaskID != nil && *e.TaskID == taskID {
				return e.ID
			}
		}
		if next == nil {
			t.Fatalf("no reply with task %s", taskID)
		}
		after = next
	}
}

// csrfOf is the anti-forgery token a session's page carries (a read-only
// session's forms are not drawn, so it is worked out as the page does).
func csrfOf(t *testing.T, env *actEnv, ck *http.Cookie) string {
	t.Helper()
	return env.pg.csrfToken(ck.Value)
}
