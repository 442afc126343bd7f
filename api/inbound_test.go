package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

func TestListInboundEmails(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	env := newDeskEnv(t, dbtest.SQLite(t), now)
	s := &Server{Store: env.store}
	env.e.GET("/v1/inbound-emails", s.listInboundEmails)
	ctx := context.Background()
	resolved := now
	for i, e := range []db.InboundEmail{
		{ID: "e1", ReceivedAt: now.Add(-3 * time.Hour), Sender: "who@else.test", Subject: "Re: ?", Body: "which invoice?", Status: db.InboundUnmatched},
		{ID: "e2", ReceivedAt: now.Add(-2 * time.Hour), Sender: "old@else.test", Status: db.InboundUnmatched, ResolvedAt: &resolved},
		{ID: "e3", ReceivedAt: now.Add(-1 * time.Hour), Sender: "ap@acme.test", Status: db.InboundAutoReply},
	} {
		if _, err := env.store.StoreInboundEmail(ctx, db.InboundReply{Email: &e}); err != nil {
			t.Fatal(i, err)
		}
	}
	list := env.do("GET", "/v1/inbound-emails?status=unmatched&open=true", nil, 200)["inbound_emails"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != "e1" || list[0].(map[string]any)["body"] != "which invoice?" {
		t.Errorf("the team's queue: %v", list)
	}
	if all := env.do("GET", "/v1/inbound-emails", nil, 200)["inbound_emails"].([]any); len(all) != 3 || all[0].(map[string]any)["id"] != "e3" {
		t.Errorf("all, newest first: %v", all)
	}
	env.do("GET", "/v1/inbound-emails?status=lost", nil, 400)
}

// The team's queue through the API: an unmatched reply is listed with its
// task and files; attaching it is refused with a clear 4xx, writing
// nothing, until it names an open invoice of the sender's; its attachment
// downloads as a download, never rendered.
func TestAttachInboundEmailRoute(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			env := newDeskEnv(t, d, now)
			s := &Server{Store: env.store, Temporal: env.tmp, Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return now }}
			s.inboundRoutes(env.e.Group("/v1"))
			ctx := context.Background()
			for _, c := range []db.Customer{{ID: "acme", Name: "Acme", Email: "ap@acme.test", AccountManager: "mia"},
				{ID: "beta", Name: "Beta", Email: "ap@beta.test"}} {
				c.Timezone, c.CreatedAt, c.UpdatedAt = "UTC", now, now
				if _, err := env.store.InsertCustomer(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			for _, inv := range []db.Invoice{{ID: "inv-a", Number: "A-1", CustomerID: "acme"}, {ID: "inv-b", Number: "B-1", CustomerID: "beta"},
				{ID: "inv-paid", Number: "A-0", CustomerID: "acme", Stage: invoice.StagePaid, ClosedAt: &now}} {
				inv.AmountMinor, inv.BalanceMinor, inv.Currency, inv.IssuedAt, inv.DueAt = 5000, 5000, "EUR", now, now.AddDate(0, 0, 10)
				inv.Stage = cmp.Or(inv.Stage, invoice.StageIssued)
				inv.PolicyName, inv.PolicyVersion, inv.WorkflowID, inv.CreatedAt, inv.UpdatedAt = "standard", 1, workflows.WorkflowID(inv.ID), now, now
				if _, err := env.store.InsertInvoice(ctx, &inv); err != nil {
					t.Fatal(err)
				}
			}
			res, err := s.cases().TakeEmailReply(ctx, collect.EmailReply{Actor: collect.Actor{Kind: collect.ActorProvider, Name: "sendgrid"},
				From: "AP@acme.test", Subject: "our payment", Text: "Paid, see remittance.", Headers: map[string]string{},
				Attachments: []collect.ReplyAttachment{
					{Filename: "remit.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4")},
					{Filename: "page.html\r\nX: y", ContentType: "text/plain", Content: []byte("<script>alert(1)</script>")}}})
			if err != nil || res.Outcome != collect.Unmatched {
				t.Fatalf("%+v %v", res, err)
			}
			queue := list(env.do("GET", "/v1/inbound-emails?status=unmatched&open=true", nil, 200)["inbound_emails"])
			if len(queue) != 1 || queue[0]["task_id"] != res.TaskID || len(queue[0]["files"].([]any)) != 2 {
				t.Fatalf("queue %v", queue)
			}
			id := queue[0]["id"].(string)
			tasks := list(env.do("GET", "/v1/tasks?status=open", nil, 200)["tasks"])
			if len(tasks) != 1 || tasks[0]["kind"] != db.TaskUnmatchedReply || tasks[0]["invoice_id"] != nil || tasks[0]["customer_id"] != "acme" ||
				tasks[0]["assignee"] != "mia" {
				t.Fatalf("tasks %v", tasks)
			}

			// The files download as files.
			for _, f := range queue[0]["files"].([]any) {
				file := f.(map[string]any)
				rec := httptest.NewRecorder()
				env.e.ServeHTTP(rec, httptest.NewRequest("GET", file["url"].(string), nil))
				h := rec.Header()
				if rec.Code != 200 || h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment; filename=") ||
					strings.ContainsAny(h.Get("Content-Disposition"), "\r\n") {
					t.Fatalf("download %v: %d %v", file["filename"], rec.Code, h)
				}
				switch file["filename"] {
				case "remit.pdf":
					if h.Get("Content-Type") != "application/pdf" || rec.Body.String() != "%PDF-1.4" {
						t.Errorf("pdf: %v %q", h, rec.Body)
					}
				default:
					if h.Get("Content-Type") != "text/plain" || !strings.Contains(h.Get("Content-Disposition"), `"page.html__X: y"`) {
						t.Errorf("text: %v", h)
					}
				}
			}
			env.do("GET", "/v1/attachments/nope", nil, 404)

			for _, c := range []struct {
				path string
				body any
				want int
			}{
				{"/v1/inbound-emails/nope/attach", map[string]string{"invoice": "A-1"}, 404},
				{"/v1/inbound-emails/" + id + "/attach", map[string]string{}, 400},
				{"/v1/inbound-emails/" + id + "/attach", map[string]any{"invoice": 7}, 400},
				{"/v1/inbound-emails/" + id + "/attach", map[string]string{"invoice": "Z-9"}, 422},
				{"/v1/inbound-emails/" + id + "/attach", map[string]string{"invoice": "A-0"}, 409}, // paid
				{"/v1/inbound-emails/" + id + "/attach", map[string]string{"invoice": "B-1"}, 422}, // Beta's
			} {
				out := env.do("POST", c.path, c.body, c.want)
				if e, _ := out["error"].(map[string]any); e == nil || e["message"] == "" {
					t.Errorf("%s %v: %v", c.path, c.body, out)
				}
			}
			if msgs, _ := env.store.ListMessages(ctx, db.MessageFilter{}); len(msgs) != 0 {
				t.Fatalf("refused attaches wrote %d messages", len(msgs))
			}

			out := env.do("POST", "/v1/inbound-emails/"+id+"/attach", map[string]string{"invoice": "A-1"}, 200)
			email := out["inbound_email"].(map[string]any)
			if out["already"] != false || out["invoice_id"] != "inv-a" || email["matched_by"] != "attached" || email["resolved_at"] == nil {
				t.Fatalf("attached %v", out)
			}
			again := env.do("POST", "/v1/inbound-emails/"+id+"/attach", map[string]string{"invoice": "inv-a"}, 200)
			if again["already"] != true || again["message_id"] != out["message_id"] {
				t.Fatalf("again %v", again)
			}
			env.do("POST", "/v1/inbound-emails/"+id+"/dismiss", map[string]string{}, 409)
			open := list(env.do("GET", "/v1/tasks?status=open", nil, 200)["tasks"])
			if len(open) != 1 || open[0]["kind"] != "reply" || open[0]["invoice_id"] != "inv-a" {
				t.Fatalf("open tasks after attach %v", open)
			}
		})
	}
}
