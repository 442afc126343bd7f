package devstack_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/workflows"
)

// TestPaymentPlansThroughTheAPI agrees payment plans through the HTTP API
// on the real stack and lets the workflow carry them out: one kept to
// paid, one approved by a manager and broken, chasing resuming at the next
// firm step. Each history replays against the current code and, with
// -update, is saved as a replay fixture (workflows/testdata/plan_*.json);
// the other fixtures are not rewritten. With TEST_DATABASE_URL set the
// stack's database is PostgreSQL.
func TestPaymentPlansThroughTheAPI(t *testing.T) {
	databaseURL := ""
	if os.Getenv(dbtest.EnvPostgres) != "" {
		databaseURL = dbtest.Postgres(t).DSN // the same paths against PostgreSQL
	}
	s := startStack(t, t.TempDir(), databaseURL, false)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	// The standard shape with the invoice at once and every later step ten
	// minutes away, and plans of at most 2 instalments agreed without
	// approval, reminded 2 s before each date with 2 s of grace.
	p := c.must("GET", "/v1/policies/standard", nil, 200)
	offsets := []string{"0s", "600s", "601s", "602s", "603s", "604s", "605s", "900s"}
	for i, st := range p["steps"].([]any) {
		st := st.(map[string]any)
		st["anchor"], st["offset"] = "issue", offsets[i]
	}
	delete(p, "builtin")
	delete(p, "calendar")
	delete(p, "contact_cap")
	p["name"], p["version"] = "fast-plan", 0
	p["final_notice_deadline"], p["dispute_deadline"], p["promise_grace"] = "60s", "60s", "2s"
	p["payment_plans"] = map[string]any{"max_instalments": 2, "max_length": "1d", "min_instalment_minor": 0,
		"require_approval": false, "reminder_before": "2s", "grace": "2s"}
	c.must("POST", "/v1/policies", p, 201)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test",
		"phone": "+4930123456", "timezone": "Europe/Berlin", "account_manager": "mia@ar.test"}, 201)
	paths := map[string]string{}
	sent := func(id, step string) func() bool {
		return func() bool { return slices.Contains(sentSteps(c, id), step) }
	}

	t.Run("agreed and kept", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		id := newInvoiceOn(c, "PLAN-1", "fast-plan")
		paths["plan_kept"] = id
		base := "/v1/invoices/" + id
		eventually(t, 30*time.Second, "the invoice to go out", sent(id, "notify/email"))
		now := time.Now()
		// Refused, naming the field: amounts that do not add up to the
		// balance (422: the workflow checks the balance), an amount badly
		// written and a period that is none (400).
		bad := c.must("POST", base+"/payment-plan", map[string]any{"instalments": []map[string]string{
			{"due_at": rfc3339(now.Add(6 * time.Second)), "amount": "500.00"}, {"due_at": rfc3339(now.Add(12 * time.Second)), "amount": "400.00"}}}, 422)
		if e := bad["error"].(map[string]any); e["field"] != "instalments" {
			t.Fatalf("sum refused: %v", e)
		}
		bad = c.must("POST", base+"/payment-plan", map[string]any{"instalments": []map[string]string{
			{"due_at": rfc3339(now.Add(6 * time.Second)), "amount": "500,00"}, {"due_at": rfc3339(now.Add(12 * time.Second)), "amount": "500.00"}}}, 400)
		if e := bad["error"].(map[string]any); e["field"] != "instalments[0].amount" {
			t.Fatalf("amount refused: %v", e)
		}
		bad = c.must("POST", base+"/payment-plan", map[string]any{"count": 2, "every": "1 fortnight", "first_due_at": rfc3339(now.Add(time.Hour))}, 400)
		if e := bad["error"].(map[string]any); e["field"] != "every" {
			t.Fatalf("period refused: %v", e)
		}
		inv := c.must("POST", base+"/payment-plan", map[string]any{"instalments": []map[string]string{
			{"due_at": rfc3339(now.Add(6 * time.Second)), "amount": "500.00"}, {"due_at": rfc3339(now.Add(12 * time.Second)), "amount": "500.00"}},
			"note": "agreed on the phone"}, 200)
		plan := inv["payment_plan"].(map[string]any)
		if inv["stage"] != "on_plan" || plan["state"] != "active" || plan["total"] != "1000.00" || len(plan["instalments"].([]any)) != 2 {
			t.Fatalf("after agreeing: stage %v plan %v", inv["stage"], plan)
		}
		eventually(t, 30*time.Second, "the first instalment's reminder", sent(id, "plan-1:instalment-1:reminder/email"))
		c.must("POST", base+"/payments", map[string]string{"amount": "500.00", "currency": "EUR", "reference": "plan-tx-1"}, 201)
		eventually(t, 30*time.Second, "the second instalment's reminder", sent(id, "plan-1:instalment-2:reminder/email"))
		c.must("POST", base+"/payments", map[string]string{"amount": "500.00", "currency": "EUR", "reference": "plan-tx-2"}, 201)
		waitClosed(t, s, id)
		inv = c.must("GET", base, nil, 200)
		plan = inv["payment_plan"].(map[string]any)
		if inv["stage"] != "paid" || plan["state"] != "completed" {
			t.Fatalf("after the last instalment: stage %v plan %v", inv["stage"], plan)
		}
	})

	t.Run("approved, missed and broken", func(t *testing.T) {
		c := client{t: t, base: s.APIURL, key: s.APIKey}
		id := newInvoiceOn(c, "PLAN-2", "fast-plan")
		paths["plan_approved_broken"] = id
		base := "/v1/invoices/" + id
		eventually(t, 30*time.Second, "the invoice to go out", sent(id, "notify/email"))
		first := time.Now().Add(8 * time.Second)
		inv := c.must("POST", base+"/payment-plan", map[string]any{"count": 3, "every": "3s", "first_due_at": rfc3339(first)}, 200)
		plan := inv["payment_plan"].(map[string]any)
		if plan["state"] != "pending" || len(plan["approval_reasons"].([]any)) != 1 {
			t.Fatalf("three instalments, at most two without approval: %v", plan)
		}
		c.must("POST", base+"/payment-plan/decision", map[string]string{"decision": "maybe"}, 400)
		inv = c.must("POST", base+"/payment-plan/decision", map[string]string{"decision": "approve", "actor": "mia"}, 200)
		if plan := inv["payment_plan"].(map[string]any); plan["state"] != "active" || inv["stage"] != "on_plan" {
			t.Fatalf("after approval: %v %v", inv["stage"], plan)
		}
		// Nothing paid: missed at its date, broken 2 s later, and the next
		// firm step goes out at once.
		eventually(t, 40*time.Second, "the next firm step after the plan broke", sent(id, "overdue-15/email"))
		inv = c.must("GET", base, nil, 200)
		plan = inv["payment_plan"].(map[string]any)
		if plan["state"] != "broken" {
			t.Fatalf("plan %v", plan)
		}
		for _, step := range []string{"plan-1:instalment-1:missed/email", "plan-1:broken/email", "plan-1:approval/manager", "plan-1:broken/manager"} {
			if !slices.Contains(sentSteps(c, id), step) {
				t.Fatalf("messages %v lack %s", sentSteps(c, id), step)
			}
		}
		// The approval task was completed with the decision.
		tasks := c.must("GET", "/v1/tasks?invoice_id="+id, nil, 200)["tasks"].([]any)
		approved := false
		for _, x := range tasks {
			x := x.(map[string]any)
			approved = approved || (x["kind"] == "plan_approval" && x["status"] == "done" && x["outcome"] == "approved")
		}
		if !approved {
			t.Fatalf("the approval task is not done: %v", tasks)
		}
		c.must("POST", base+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "plan-tx-3"}, 201)
		waitClosed(t, s, id)
	})

	// One plan kept, one broken, both today: the database counts them.
	if !t.Failed() {
		r := c.must("GET", "/v1/reports/plan-kept", nil, 200)
		rows := r["rows"].([]any)
		if len(rows) != 1 {
			t.Fatalf("plan-kept: %v", r)
		}
		row := rows[0].(map[string]any)
		if row["currency"] != "EUR" || row["kept"] != 1.0 || row["broken"] != 1.0 || row["kept_rate"] != 50.0 {
			t.Fatalf("plan-kept row: %v", row)
		}
	}

	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.Invoice, workflow.RegisterOptions{Name: workflows.InvoiceWorkflowName})
	if t.Failed() {
		return // no half-run histories as fixtures
	}
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
