package devstack_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/workflows"
)

var update = flag.Bool("update", false, "write the histories of the lifecycle paths to workflows/testdata")

// fastPolicy is the standard shape compressed to seconds, posted through the
// API like any user policy, so every stage runs against the real server.
func fastPolicy(c client) { fastPolicyWith(c, "fast", "3s") }

// fastPolicyWith is fastPolicy named name, whose final notice gives the
// customer finalNotice.
func fastPolicyWith(c client, name, finalNotice string) {
	p := c.must("GET", "/v1/policies/standard", nil, 200)
	steps := p["steps"].([]any)
	offsets := []string{"0s", "1s", "2s", "3s", "4s", "5s", "6s", "60s"}
	for i, s := range steps {
		s := s.(map[string]any)
		s["anchor"], s["offset"] = "issue", offsets[i]
	}
	delete(p, "builtin")
	delete(p, "calendar")
	delete(p, "contact_cap")
	p["name"], p["version"] = name, 0
	p["final_notice_deadline"], p["dispute_deadline"], p["promise_grace"] = finalNotice, "2s", "1s"
	c.must("POST", "/v1/policies", p, 201)
}

func newInvoice(c client, number string) string { return newInvoiceOn(c, number, "fast") }

func newInvoiceOn(c client, number, policyName string) string {
	now := time.Now()
	inv := c.must("POST", "/v1/invoices", map[string]string{"number": number, "customer_id": "acme", "amount": "1000.00",
		"currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": policyName}, 201)
	return inv["id"].(string)
}

func stageOf(c client, id string) string {
	return c.must("GET", "/v1/invoices/"+id, nil, 200)["stage"].(string)
}

func waitStage(t *testing.T, c client, id, stage string) {
	t.Helper()
	eventually(t, 60*time.Second, "stage "+stage, func() bool { return stageOf(c, id) == stage })
}

func sentSteps(c client, id string) []string {
	var out []string
	msgs := messages(c, id)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m["status"] == "sent" {
			out = append(out, m["step"].(string)+"/"+m["channel"].(string))
		}
	}
	return out
}

func waitClosed(t *testing.T, s *devstack.Stack, id string) {
	t.Helper()
	waitClosedIn(t, s.Client, id)
}

// waitClosedIn waits for the invoice's workflow to complete in tc's Temporal.
func waitClosedIn(t *testing.T, tc sdkclient.Client, id string) {
	t.Helper()
	eventually(t, 30*time.Second, "the workflow to complete", func() bool {
		d, err := tc.DescribeWorkflowExecution(context.Background(), "invoice:"+id, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
}

// TestLifecycleThroughTheAPI drives each path of the lifecycle through the
// HTTP API on the real stack, then replays every resulting history against
// the current workflow code (and, with -update, saves them as the replay
// test's fixtures in workflows/testdata).
func TestLifecycleThroughTheAPI(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{PaymentsSecret: paymentsSecret, InboundParseSecret: inboundParseSecret}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	fastPolicy(c)
	// The path where management decides needs the final notice's window
	// open while the test posts three decisions: 3 s raced the decision on
	// a loaded machine, so that path runs on a policy giving 60 s.
	fastPolicyWith(c, "fast-decide", "60s")
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test",
		"phone": "+4930123456", "timezone": "Europe/Berlin", "account_manager": "mia@ar.test"}, 201)
	paths := map[string]string{}

	t.Run("unpaid to the agency, which collects", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		id := newInvoice(c, "FAST-1")
		paths["agency_collected"] = id
		waitStage(t, c, id, "agency") // the final deadline passes in silence
		c.must("POST", "/v1/invoices/"+id+"/agency-outcome", map[string]string{"outcome": "collected", "reference": "ag-77"}, 202)
		waitClosed(t, s, id)
		inv := c.must("GET", "/v1/invoices/"+id, nil, 200)
		if inv["stage"] != "collected" || inv["balance"] != "0.00" {
			t.Fatalf("after the agency collected: %v", inv)
		}
		got := strings.Join(sentSteps(c, id), " ")
		for _, want := range []string{"notify/email", "remind/email", "inquire/email", "inquire/sms", "overdue-15/email",
			"overdue-30/sms", "escalate/email", "escalate/sms", "escalate:management/manager", "agency/agency"} {
			if !strings.Contains(got, want) {
				t.Fatalf("messages %q lack %s", got, want)
			}
		}
		tasks := c.must("GET", "/v1/tasks?invoice_id="+id, nil, 200)["tasks"].([]any)
		if len(tasks) != 1 || tasks[0].(map[string]any)["kind"] != "management_contact" {
			t.Fatalf("tasks: %v", tasks)
		}
		task := tasks[0].(map[string]any)
		c.must("POST", "/v1/tasks/"+task["id"].(string)+"/complete", map[string]string{"outcome": "reached"}, 200)
	})

	t.Run("disputed, adjusted, promised, paused, resumed and paid", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		id := newInvoice(c, "FAST-2")
		paths["interrupts_paid"] = id
		base := "/v1/invoices/" + id
		c.must("POST", base+"/disputes/resolve", map[string]string{"resolution": "rejected"}, 409) // nothing to resolve
		c.must("POST", base+"/disputes", map[string]string{"reason": "dunno"}, 400)                // refused by the OpenAPI contract
		if inv := c.must("POST", base+"/disputes", map[string]string{"reason": "wrong_amount", "note": "billed twice"}, 200); inv["stage"] != "disputed" {
			t.Fatalf("after opening a dispute: %v", inv["stage"])
		}
		c.must("POST", base+"/disputes/resolve", map[string]string{"resolution": "adjusted", "amount": "1200.00"}, 422)
		inv := c.must("POST", base+"/disputes/resolve", map[string]string{"resolution": "adjusted", "amount": "800.00"}, 200)
		if inv["balance"] != "800.00" || inv["amount"] != "800.00" {
			t.Fatalf("after the credit note: %v", inv)
		}
		c.must("POST", base+"/promises", map[string]string{"amount": "900.00", "date": rfc3339(time.Now().Add(time.Hour))}, 422)
		if inv := c.must("POST", base+"/promises", map[string]string{"amount": "300.00", "date": rfc3339(time.Now().Add(time.Hour))}, 200); inv["stage"] != "promised" {
			t.Fatalf("after a promise: %v", inv["stage"])
		}
		if inv := c.must("POST", base+"/pause", map[string]string{"reason": "on holiday"}, 200); inv["stage"] != "paused" {
			t.Fatalf("after pausing: %v", inv["stage"])
		}
		c.must("POST", base+"/resume", map[string]string{}, 200)
		c.must("POST", base+"/resume", map[string]string{}, 409) // not paused
		pay := c.must("POST", base+"/payments", map[string]string{"amount": "300.00", "currency": "EUR", "reference": "p-1"}, 201)
		if pay["balance"] != "500.00" {
			t.Fatalf("partial payment: %v", pay)
		}
		c.must("POST", base+"/payments", map[string]string{"amount": "500.00", "currency": "EUR", "reference": "p-2"}, 201)
		waitClosed(t, s, id)
		final := c.must("GET", base, nil, 200)
		kinds := []string{}
		for _, e := range final["timeline"].([]any) {
			kinds = append(kinds, e.(map[string]any)["kind"].(string))
		}
		for _, want := range []string{"dispute_opened", "dispute_resolved", "promise", "paused", "resumed", "payment", "promise_kept", "paid"} {
			if !strings.Contains(strings.Join(kinds, " "), want) {
				t.Fatalf("timeline %v lacks %s", kinds, want)
			}
		}
	})

	t.Run("due date moved, then cancelled", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		id := newInvoice(c, "FAST-3")
		paths["due_date_cancelled"] = id
		base := "/v1/invoices/" + id
		c.must("POST", base+"/due-date", map[string]string{"due_at": "not a date"}, 400)
		inv := c.must("POST", base+"/due-date", map[string]string{"due_at": rfc3339(time.Now().Add(60 * 24 * time.Hour))}, 200)
		if !strings.HasPrefix(inv["due_at"].(string), time.Now().Add(60*24*time.Hour).UTC().Format("2006-01-02")) {
			t.Fatalf("due date: %v", inv["due_at"])
		}
		c.must("POST", base+"/cancel", map[string]string{}, 400) // a reason is required
		if inv := c.must("POST", base+"/cancel", map[string]string{"reason": "issued in error"}, 200); inv["stage"] != "cancelled" {
			t.Fatalf("after cancel: %v", inv["stage"])
		}
		c.must("POST", base+"/pause", map[string]string{}, 409) // closed
	})

	t.Run("escalated, then management writes it off", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		id := newInvoiceOn(c, "FAST-4", "fast-decide")
		paths["escalated_written_off"] = id
		base := "/v1/invoices/" + id
		c.must("POST", base+"/escalation/decision", map[string]string{"decision": "agency"}, 409) // not escalated yet
		waitStage(t, c, id, "escalated")
		c.must("POST", base+"/escalation/decision", map[string]string{"decision": "extend"}, 422) // needs a date
		c.must("POST", base+"/escalation/decision", map[string]string{"decision": "extend", "until": rfc3339(time.Now().Add(time.Hour))}, 200)
		if inv := c.must("POST", base+"/escalation/decision", map[string]string{"decision": "write_off", "actor": "cfo"}, 200); inv["stage"] != "written_off" {
			t.Fatalf("after write-off: %v", inv["stage"])
		}
	})

	t.Run("paid, refunded, reopened and paid again", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		id := newInvoice(c, "FAST-5")
		paths["refund_reopened"] = id
		base := "/v1/invoices/" + id
		c.must("POST", base+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "p-5"}, 201)
		waitClosed(t, s, id)
		if status, out := postPayment(t, s.APIURL, map[string]string{"event_id": "evt-r5", "type": "payment.refunded", "invoice_id": id,
			"amount": "400.00", "currency": "EUR", "reference": "re-5"}, time.Now(), paymentsSecret); status != 200 || out["status"] != "accepted" {
			t.Fatalf("refund: %d %v", status, out)
		}
		eventually(t, 30*time.Second, "the refund to reopen the invoice", func() bool {
			inv := c.must("GET", base, nil, 200)
			return inv["balance"] == "400.00" && inv["stage"] != "paid"
		})
		c.must("POST", base+"/payments", map[string]string{"amount": "400.00", "currency": "EUR", "reference": "p-6"}, 201)
		waitClosed(t, s, id)
		if inv := c.must("GET", base, nil, 200); inv["stage"] != "paid" || inv["balance"] != "0.00" {
			t.Fatalf("after paying the reopened invoice: %v %v", inv["stage"], inv["balance"])
		}
	})

	// Lists page by cursor and filter by manager, currency and overdue.
	count := func(path string) (int, any) {
		page := c.must("GET", path, nil, 200)
		return len(page["invoices"].([]any)), page["next_cursor"]
	}
	n, cursor := count("/v1/invoices?limit=3")
	if n != 3 || cursor == nil {
		t.Fatalf("first page: %d invoices, cursor %v", n, cursor)
	}
	if n, next := count("/v1/invoices?limit=3&cursor=" + cursor.(string)); n != 2 || next != nil {
		t.Fatalf("second page: %d invoices, cursor %v", n, next)
	}
	for path, want := range map[string]int{
		"/v1/invoices?manager=mia@ar.test": 5, "/v1/invoices?manager=nobody": 0,
		"/v1/invoices?currency=eur": 5, "/v1/invoices?overdue=true": 0, "/v1/invoices?overdue=false": 5,
	} {
		if n, _ := count(path); n != want {
			t.Fatalf("%s: %d invoices, want %d", path, n, want)
		}
	}
	c.must("GET", "/v1/invoices?currency=XYZ", nil, 400)
	if cs := c.must("GET", "/v1/customers", nil, 200)["customers"].([]any); len(cs) != 1 {
		t.Fatalf("customers: %v", cs)
	}

	t.Run("the customer moves to another time zone between two messages", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		// The window is open now in the first zone and closed for hours in
		// the second.
		closed, open, window := zonesApart(time.Now())
		p := c.must("GET", "/v1/policies/fast", nil, 200)
		delete(p, "builtin")
		p["name"], p["version"] = "windowed", 0
		p["calendar"] = map[string]string{"window_start": window[0], "window_end": window[1]}
		for i, st := range p["steps"].([]any) {
			if i > 0 { // time to move the customer between the invoice and the reminder
				st.(map[string]any)["offset"] = fmt.Sprintf("%ds", 20+i)
			}
		}
		c.must("POST", "/v1/policies", p, 201)
		c.must("POST", "/v1/customers", map[string]string{"id": "mover", "name": "Mover Ltd", "email": "ap@mover.test",
			"timezone": open, "account_manager": "mia@ar.test"}, 201)
		now := time.Now()
		inv := c.must("POST", "/v1/invoices", map[string]string{"number": "FAST-6", "customer_id": "mover", "amount": "1000.00",
			"currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": "windowed"}, 201)
		id := inv["id"].(string)
		paths["customer_moved"] = id
		base := "/v1/invoices/" + id
		eventually(t, 30*time.Second, "the invoice to go out in the open window", func() bool {
			return slices.Contains(sentSteps(c, id), "notify/email")
		})
		c.must("PATCH", "/v1/customers/mover", map[string]string{"timezone": closed, "account_manager": "kenji@ar.test"}, 200)
		// The reminder, due in seconds, now waits for the new zone's window.
		eventually(t, 30*time.Second, "the next message to wait for the new zone's window", func() bool {
			got := c.must("GET", base, nil, 200)
			next, _ := got["next_action"].(map[string]any)
			at, _ := next["at"].(string)
			planned, _ := time.Parse(time.RFC3339Nano, at)
			moved := false
			for _, e := range got["timeline"].([]any) {
				e := e.(map[string]any)
				moved = moved || (e["kind"] == "customer_changed" && strings.Contains(e["detail"].(string), open+" → "+closed))
			}
			return moved && next["step"] != "notify" && time.Until(planned) > time.Hour
		})
		if sent := sentSteps(c, id); len(sent) != 1 {
			t.Fatalf("only the invoice may have gone out before the new zone's window: %v", sent)
		}
		// A call logged on the open invoice is on its timeline, with who made it.
		c.must("POST", base+"/notes", map[string]string{"kind": "call", "body": "Kenji will pay next week", "author": "kenji"}, 201)
		eventually(t, 30*time.Second, "the call to be on the timeline", func() bool {
			for _, e := range c.must("GET", base, nil, 200)["timeline"].([]any) {
				e := e.(map[string]any)
				if e["kind"] == "note" && e["outcome"] == "call" && e["detail"] == "Kenji will pay next week" && e["actor"] == "kenji" {
					return true
				}
			}
			return false
		})
		c.must("POST", base+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "p-mover"}, 201)
		waitClosed(t, s, id)
	})

	t.Run("replied, held, answered and paid", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		id := newInvoice(c, "FAST-7")
		paths["replied_answered"] = id
		base := "/v1/invoices/" + id
		eventually(t, 30*time.Second, "the invoice to go out", func() bool { return slices.Contains(sentSteps(c, id), "notify/email") })
		postInboundReply(t, s.APIURL, "ap@acme.test", "Re: Invoice FAST-7", "Could you send the delivery note first?")
		var task map[string]any
		eventually(t, 30*time.Second, "the reply to hold the chase", func() bool {
			got := c.must("GET", base, nil, 200)
			next, _ := got["next_action"].(map[string]any)
			for _, e := range got["timeline"].([]any) {
				if e := e.(map[string]any); e["kind"] == "replied" && next != nil && next["step"] == "reply-hold" {
					return true
				}
			}
			return false
		})
		for _, tk := range c.must("GET", "/v1/tasks?invoice_id="+id, nil, 200)["tasks"].([]any) {
			if tk := tk.(map[string]any); tk["kind"] == "reply" {
				task = tk
			}
		}
		if task == nil || task["assignee"] != "mia@ar.test" {
			t.Fatalf("no reply task for the account manager: %v", task)
		}
		held := len(sentSteps(c, id))
		time.Sleep(2 * time.Second) // steps fall due every second: none goes out while held
		if now := len(sentSteps(c, id)); now != held {
			t.Fatalf("%d messages went out during the hold", now-held)
		}
		c.must("POST", "/v1/tasks/"+task["id"].(string)+"/complete", map[string]string{"outcome": "answered"}, 200)
		eventually(t, 30*time.Second, "the chase to resume", func() bool {
			for _, e := range c.must("GET", base, nil, 200)["timeline"].([]any) {
				if e := e.(map[string]any); e["kind"] == "resumed" && e["detail"] == "reply hold ended: answered" {
					return true
				}
			}
			return false
		})
		c.must("POST", base+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "p-replied"}, 201)
		waitClosed(t, s, id)
	})

	// Notes: call logs per invoice and per customer.
	someInvoice := paths["interrupts_paid"]
	c.must("POST", "/v1/invoices/"+someInvoice+"/notes", map[string]string{"kind": "call", "body": "Spoke to AP, paying Friday", "author": "mia"}, 201)
	c.must("POST", "/v1/customers/acme/notes", map[string]string{"kind": "letter", "body": "Sent statement of account"}, 201)
	c.must("POST", "/v1/customers/acme/notes", map[string]string{"kind": "fax", "body": "?"}, 400)
	if notes := c.must("GET", "/v1/customers/acme/notes", nil, 200)["notes"].([]any); len(notes) != 2 {
		t.Fatalf("customer notes: %v", notes)
	}
	if notes := c.must("GET", "/v1/invoices/"+someInvoice+"/notes", nil, 200)["notes"].([]any); len(notes) != 1 {
		t.Fatalf("invoice notes: %v", notes)
	}

	// Every history replays against the current code.
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.Invoice, workflow.RegisterOptions{Name: workflows.InvoiceWorkflowName})
	for name, id := range paths {
		hist := history(t, s.Client, "invoice:"+id)
		if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
			t.Fatalf("replay %s: %v", name, err)
		}
		if *update {
			raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(hist)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "workflows", "testdata", name+".json")
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			fmt.Println("wrote", path)
		}
	}
}

// zonesApart picks two time zones at least ten hours apart and a send window
// of two hours that is open now in the second and closed for hours in the
// first. The window never crosses midnight.
func zonesApart(now time.Time) (from, to string, window [2]string) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	from, to = "America/New_York", "Asia/Tokyo"
	if h := now.In(tokyo).Hour(); h < 2 || h > 21 {
		from, to = to, from
	}
	loc, _ := time.LoadLocation(to)
	h := now.In(loc).Hour()
	return from, to, [2]string{fmt.Sprintf("%02d:00", h-1), fmt.Sprintf("%02d:00", h+1)}
}

func history(t *testing.T, c sdkclient.Client, workflowID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}
