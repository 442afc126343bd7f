package collect_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

var wlRule = db.WorklistRule{AmountPerTenfold: 200, PerDay: 10, MaxDays: 180, PerBrokenPromise: 150, MaxBrokenPromises: 3,
	WorseningTrend: 150, Stage: map[invoice.Stage]int64{invoice.StagePressing: 50}, TaskOverdue: 250, TaskDue: 100, TaskDueWithin: 24 * time.Hour}

var sendgrid = collect.Actor{Kind: collect.ActorProvider, Name: "sendgrid"}

func unmatched(t *testing.T, svc *collect.Service, from, subject, text string, atts ...collect.ReplyAttachment) collect.ReplyResult {
	t.Helper()
	res, err := svc.TakeEmailReply(context.Background(), collect.EmailReply{Actor: sendgrid, From: from, To: "ar@team.test", Subject: subject,
		Text: text, HTML: "<p>" + text + "</p><script>alert(1)</script>", Headers: map[string]string{}, Attachments: atts})
	if err != nil || res.Outcome != collect.Unmatched || res.TaskID == "" {
		t.Fatalf("reply from %s: %+v, %v", from, res, err)
	}
	return res
}

func inboundOf(t *testing.T, s *db.Store, taskID string) *db.InboundEmail {
	t.Helper()
	page, _, err := s.InboundPage(context.Background(), db.InboundUnmatched, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range page {
		if page[i].TaskID != nil && *page[i].TaskID == taskID {
			return &page[i]
		}
	}
	t.Fatalf("no open unmatched email with task %s", taskID)
	return nil
}

// A reply that matched no invoice is a task for the team, never an error;
// attaching it to an invoice does what a matched reply does, once, and
// every refusal leaves everything as it was.
func TestUnmatchedReplyIsTheTeamsTaskUntilAttached(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		open := seed(t, f.store, "open", false)
		seed(t, f.store, "closed", true) // a second customer at ap@acme.test
		other := &db.Customer{ID: "cus-b", Name: "Beta", Email: "AP@beta.test", AccountManager: "sam", Timezone: "UTC", CreatedAt: t0, UpdatedAt: t0}
		if _, err := f.store.InsertCustomer(ctx, other); err != nil {
			t.Fatal(err)
		}
		pdf := collect.ReplyAttachment{Filename: "remittance.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4 paid")}
		exe := collect.ReplyAttachment{Filename: "run.exe", ContentType: "application/x-msdownload", Content: []byte("MZ")}

		// ap@acme.test is two customers' address: the whole team's task.
		r1 := unmatched(t, f.svc, "ap@acme.test", "About our account", "We paid, remittance attached.", pdf, exe)
		r2 := unmatched(t, f.svc, "stranger@else.test", "Hello", "Who are you?")
		r3 := unmatched(t, f.svc, "ap@beta.test", "Question", "Can we talk?")
		for _, c := range []struct {
			res            collect.ReplyResult
			cust, assignee string
		}{{r1, "", ""}, {r2, "", ""}, {r3, "cus-b", "sam"}} {
			task, err := f.store.GetTask(ctx, c.res.TaskID)
			if err != nil || task.Kind != db.TaskUnmatchedReply || task.InvoiceID != "" || task.CustomerID != c.cust ||
				task.Assignee != c.assignee || task.Status != db.TaskOpen {
				t.Fatalf("team task %+v, %v", task, err)
			}
		}
		e1 := inboundOf(t, f.store, r1.TaskID)
		if atts, err := f.store.InboundAttachments(ctx, []string{e1.ID}); err != nil || len(atts) != 1 || atts[0].Filename != "remittance.pdf" || atts[0].MessageID != "" {
			t.Fatalf("attachments kept with the unmatched reply: %+v, %v", atts, err)
		}
		if e1.NotKept == "" || e1.HTML == "" || e1.Flags != "check_for_payment" {
			t.Fatalf("unmatched reply kept %+v", e1)
		}
		// The worklist counts invoices' tasks only; a team task is in
		// neither "with tasks" nor spoils "without tasks".
		yes, no := true, false
		with, err := f.store.Worklist(ctx, db.WorklistFilter{HasTask: &yes}, wlRule, t0.AddDate(0, 2, 0), nil, 10)
		if err != nil || len(with.Rows) != 0 {
			t.Fatalf("worklist with tasks: %+v, %v", with.Rows, err)
		}
		without, err := f.store.Worklist(ctx, db.WorklistFilter{HasTask: &no}, wlRule, t0.AddDate(0, 2, 0), nil, 10)
		if err != nil || len(without.Rows) != 1 || without.Rows[0].InvoiceID != open.ID {
			t.Fatalf("worklist without tasks: %+v, %v", without.Rows, err)
		}

		e3 := inboundOf(t, f.store, r3.TaskID)
		for _, c := range []struct {
			cmd   collect.AttachReply
			kind  collect.Kind
			field string
		}{
			{collect.AttachReply{InboundEmailID: e1.ID, Invoice: " "}, collect.Invalid, "invoice"},
			{collect.AttachReply{InboundEmailID: "nope", Invoice: "N-open"}, collect.NotFound, ""},
			{collect.AttachReply{InboundEmailID: e1.ID, Invoice: "N-404"}, collect.Refused, "invoice"},
			{collect.AttachReply{InboundEmailID: e1.ID, Invoice: "N-closed"}, collect.Closed, "invoice"},
			{collect.AttachReply{InboundEmailID: e3.ID, Invoice: "N-open"}, collect.Refused, "invoice"}, // Beta's reply, Acme's invoice
		} {
			_, err := f.svc.AttachReply(ctx, c.cmd)
			wantKind(t, err, c.kind, c.field)
		}
		if msgs, _ := f.store.ListMessages(ctx, db.MessageFilter{InvoiceID: open.ID}); len(msgs) != 0 {
			t.Fatalf("a refused attach wrote %d messages", len(msgs))
		}
		if e := inboundOf(t, f.store, r1.TaskID); e.Status != db.InboundUnmatched || e.ResolvedAt != nil {
			t.Fatalf("a refused attach changed the reply: %+v", e)
		}

		who := collect.Actor{Kind: collect.ActorKey, Name: "mia"}
		res, err := f.svc.AttachReply(ctx, collect.AttachReply{Actor: who, InboundEmailID: e1.ID, Invoice: "N-open"})
		if err != nil || res.Already || res.MessageID == "" || res.TaskID == "" || res.Invoice.ID != open.ID {
			t.Fatalf("attach: %+v, %v", res, err)
		}
		got, _ := f.store.GetInboundEmail(ctx, e1.ID)
		if got.Status != db.InboundMatched || got.MatchedBy != db.MatchedByAttached || got.ResolvedAt == nil || *got.InvoiceID != open.ID {
			t.Fatalf("attached email %+v", got)
		}
		team, _ := f.store.GetTask(ctx, r1.TaskID)
		if team.Status != db.TaskDone || team.Outcome != db.MatchedByAttached {
			t.Fatalf("team task after attach %+v", team)
		}
		msg, err := f.store.GetMessage(ctx, res.MessageID)
		if err != nil || msg.InvoiceID != open.ID || msg.Direction != db.Inbound || msg.Body != "We paid, remittance attached." ||
			msg.HTML == "" || msg.Recipient != "ap@acme.test" {
			t.Fatalf("message %+v, %v", msg, err)
		}
		if atts, _ := f.store.ListAttachments(ctx, []string{msg.ID}); len(atts) != 1 || atts[0].Filename != "remittance.pdf" {
			t.Fatalf("attachments on the message: %+v", atts)
		}
		reply, _ := f.store.GetTask(ctx, res.TaskID)
		if reply.Kind != "reply" || reply.InvoiceID != open.ID || reply.Status != db.TaskOpen {
			t.Fatalf("customer replied task %+v", reply)
		}
		want := workflows.SignalReplied + " " + open.WorkflowID
		if len(f.tc.signals) != 1 || f.tc.signals[0] != want {
			t.Fatalf("signals %v, want [%s]", f.tc.signals, want)
		}

		// Sent again (a double click, a retry): nothing more.
		again, err := f.svc.AttachReply(ctx, collect.AttachReply{Actor: who, InboundEmailID: e1.ID, Invoice: open.ID})
		if err != nil || !again.Already || again.MessageID != res.MessageID || len(f.tc.signals) != 1 {
			t.Fatalf("attach again: %+v, %v, signals %v", again, err, f.tc.signals)
		}
		// Dismissing it now, or completing the task again, changes nothing.
		_, err = f.svc.DismissReply(ctx, collect.DismissReply{Actor: who, InboundEmailID: e1.ID})
		wantKind(t, err, collect.Conflict, "id")

		// Dismissed: out of the queue, its task done; then not attachable.
		e2 := inboundOf(t, f.store, r2.TaskID)
		if _, err := f.svc.DismissReply(ctx, collect.DismissReply{Actor: who, InboundEmailID: e2.ID, Note: "spam"}); err != nil {
			t.Fatal(err)
		}
		if t2, _ := f.store.GetTask(ctx, r2.TaskID); t2.Status != db.TaskDone || t2.Outcome != "dismissed" || t2.Note != "spam (dismissed by key:mia)" {
			t.Fatalf("dismissed task %+v", t2)
		}
		_, err = f.svc.AttachReply(ctx, collect.AttachReply{InboundEmailID: e2.ID, Invoice: "N-open"})
		wantKind(t, err, collect.Conflict, "id")
		_, err = f.svc.DismissReply(ctx, collect.DismissReply{InboundEmailID: e2.ID})
		wantKind(t, err, collect.Conflict, "id")

		// Completing the team task (the tasks API) takes the reply out of
		// the queue too, and tells no workflow.
		if _, err := f.svc.CompleteTask(ctx, collect.CompleteTask{TaskID: r3.TaskID, Outcome: "done"}); err != nil {
			t.Fatal(err)
		}
		if page, _, _ := f.store.InboundPage(ctx, db.InboundUnmatched, nil, 10); len(page) != 0 {
			t.Fatalf("open unmatched replies left: %+v", page)
		}
		if len(f.tc.signals) != 1 {
			t.Fatalf("signals %v", f.tc.signals)
		}
		// A team task can be handed on; with no customer, no note is kept.
		r4 := unmatched(t, f.svc, "new@else.test", "Hi", "hello")
		if moved, err := f.svc.ReassignTask(ctx, collect.ReassignTask{TaskID: r4.TaskID, Assignee: "kim"}); err != nil || moved.Assignee != "kim" {
			t.Fatalf("reassign team task: %+v, %v", moved, err)
		}
	})
}

// Two people act on the same reply at once: one attach wins, the other
// attach (to another invoice) or the dismissal is refused, and nothing is
// written twice.
func TestAttachReplyRaces(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		seed(t, f.store, "a", false)
		seed(t, f.store, "b", false)
		for round := range 6 {
			r := unmatched(t, f.svc, "ap@acme.test", "Round", fmt.Sprint("text ", round))
			e := inboundOf(t, f.store, r.TaskID)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, errs[0] = f.svc.AttachReply(ctx, collect.AttachReply{InboundEmailID: e.ID, Invoice: "N-a"})
			}()
			go func() {
				defer wg.Done()
				if round%2 == 0 {
					_, errs[1] = f.svc.AttachReply(ctx, collect.AttachReply{InboundEmailID: e.ID, Invoice: "N-b"})
				} else {
					_, errs[1] = f.svc.DismissReply(ctx, collect.DismissReply{InboundEmailID: e.ID})
				}
			}()
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("round %d: both or neither won: %v / %v", round, errs[0], errs[1])
			}
			for _, err := range errs {
				if err != nil {
					if k, _ := collect.KindOf(err); k != collect.Conflict {
						t.Fatalf("round %d: loser got %v", round, err)
					}
				}
			}
		}
		var n int
		for _, id := range []string{"a", "b"} {
			msgs, _ := f.store.ListMessages(ctx, db.MessageFilter{InvoiceID: id})
			n += len(msgs)
		}
		if got, _ := f.store.ListTasks(ctx, db.TaskFilter{Status: db.TaskOpen}); n != len(got) || n < 3 || n > 6 {
			t.Fatalf("%d messages and %d open reply tasks after 6 rounds", n, len(got))
		}
	})
}
