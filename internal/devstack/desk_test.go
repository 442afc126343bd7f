package devstack_test

import (
	"strings"
	"testing"
	"time"
)

// TestDeskTaskReachesWorkflow runs the collector's desk on the real stack:
// an invoice over its customer's credit limit is flagged with a task, the
// workflow's management task shows on the manager's worklist, is
// reassigned, and its completion (outcome and note) lands on the
// invoice's timeline in the workflow.
func TestDeskTaskReachesWorkflow(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	fastPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test",
		"phone": "+4930123456", "timezone": "Europe/Berlin", "account_manager": "mia@ar.test",
		"credit_limit": "500.00", "credit_currency": "EUR"}, 201)
	id := newInvoice(c, "DESK-1") // EUR 1,000.00: over the limit
	inv := c.must("GET", "/v1/invoices/"+id, nil, 200)
	if inv["over_credit_limit"] != true {
		t.Fatalf("invoice over the limit: %v", inv["over_credit_limit"])
	}

	// The fast policy escalates within seconds: management gets a task.
	var taskID string
	eventually(t, 60*time.Second, "the management task on mia's worklist", func() bool {
		for _, r := range c.must("GET", "/v1/worklist?manager=mia@ar.test", nil, 200)["rows"].([]any) {
			row := r.(map[string]any)
			for _, tk := range row["tasks"].([]any) {
				if tk := tk.(map[string]any); tk["kind"] == "management_contact" && row["invoice_id"] == id {
					taskID = tk["id"].(string)
					return true
				}
			}
		}
		return false
	})
	kinds := map[string]bool{}
	for _, tk := range c.must("GET", "/v1/tasks?invoice_id="+id, nil, 200)["tasks"].([]any) {
		kinds[tk.(map[string]any)["kind"].(string)] = true
	}
	if !kinds["credit_limit"] || !kinds["management_contact"] {
		t.Fatalf("tasks: %v", kinds)
	}

	got := c.must("POST", "/v1/tasks/"+taskID+"/reassign", map[string]string{"assignee": "leo@ar.test", "note": "Leo knows them", "actor": "mia"}, 200)
	if got["assignee"] != "leo@ar.test" {
		t.Fatalf("reassigned: %v", got)
	}
	c.must("POST", "/v1/tasks/"+taskID+"/reassign", map[string]any{"assignee": 7}, 400) // the contract: a string
	rows := c.must("GET", "/v1/worklist?manager=leo@ar.test", nil, 200)["rows"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["suggested_action"] != "management_contact" {
		t.Fatalf("leo's worklist: %v", rows)
	}

	c.must("POST", "/v1/tasks/"+taskID+"/complete", map[string]string{"outcome": "reached", "note": "pays on Friday", "actor": "leo"}, 200)
	eventually(t, 30*time.Second, "task_completed on the workflow's timeline", func() bool {
		inv := c.must("GET", "/v1/invoices/"+id, nil, 200)
		if inv["status_source"] != "workflow" {
			return false
		}
		for _, e := range inv["timeline"].([]any) {
			e := e.(map[string]any)
			if e["kind"] == "task_completed" && e["outcome"] == "reached" && e["detail"] == "pays on Friday" && e["reference"] == taskID {
				return true
			}
		}
		return false
	})
	c.must("POST", "/v1/tasks/"+taskID+"/reassign", map[string]string{"assignee": "mia@ar.test"}, 409)

	acc := c.must("GET", "/v1/customers/acme/account", nil, 200)
	credit := acc["credit"].(map[string]any)
	if credit["over_limit"] != true || credit["used"] != "1000.00" {
		t.Fatalf("credit: %v", credit)
	}
	found := false
	for _, n := range acc["notes"].([]any) {
		if strings.Contains(n.(map[string]any)["body"].(string), "reassigned from mia@ar.test to leo@ar.test: Leo knows them") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no reassignment note: %v", acc["notes"])
	}
}
