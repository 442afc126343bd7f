package devstack_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/workflows"
)

// Credit applications through the API on the whole stack: inside the
// bounds approved or declined by the workflow alone, in between waiting for
// management (reminded when the review window passes), and the approval
// setting the customer's limit and terms.
func TestCreditApplicationsThroughTheAPI(t *testing.T) {
	bounds := credit.DefaultBounds()
	// New applicants score 15 (no history) + 20 (no exposure) + 5 per trade
	// reference: 50 with three approves, 40 with one needs a person, 35 with
	// none declines.
	bounds.AutoApproveScore, bounds.AutoDeclineScore, bounds.ReviewWithin = 50, 40, time.Second
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) { o.CreditBounds = &bounds })
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}

	apply := func(id string, refs int) string {
		list := []map[string]string{}
		for i := range refs {
			list = append(list, map[string]string{"name": "Supplier " + string(rune('A'+i))})
		}
		out := c.must("POST", "/v1/credit-applications", map[string]any{
			"customer": map[string]any{"id": id, "name": id + " Ltd", "email": "ap@" + id + ".test", "timezone": "UTC", "account_manager": "mia@ar.test"},
			"company":  map[string]any{"name": id + " Ltd"}, "requested_limit": "5000.00", "currency": "EUR", "requested_terms_days": 30,
			"trade_references": list,
		}, 202)
		return out["id"].(string)
	}
	state := func(id string) map[string]any { return c.must("GET", "/v1/credit-applications/"+id, nil, 200) }
	settled := func(id, status string) map[string]any {
		var app map[string]any
		eventually(t, 30*time.Second, id+" to be "+status, func() bool {
			app = state(id)
			return app["status"] == status
		})
		return app
	}

	// Bad input is a 400 naming the field, nested ones by their path.
	for field, body := range map[string]map[string]any{
		"customer.email":       {"customer": map[string]any{"id": "x", "name": "X", "timezone": "UTC"}, "company": map[string]any{"name": "X"}, "requested_limit": "1.00", "currency": "EUR", "requested_terms_days": 30},
		"requested_limit":      {"customer_id": "x", "company": map[string]any{"name": "X"}, "requested_limit": "-5", "currency": "EUR", "requested_terms_days": 30},
		"requested_terms_days": {"customer_id": "x", "company": map[string]any{"name": "X"}, "requested_limit": "5.00", "currency": "EUR", "requested_terms_days": 400},
		"company":              {"customer_id": "x", "requested_limit": "5.00", "currency": "EUR", "requested_terms_days": 30},
	} {
		status, out := c.do("POST", "/v1/credit-applications", body)
		if e, _ := out["error"].(map[string]any); status != 400 || e["field"] != field {
			t.Errorf("want a 400 naming %s: %d %v", field, status, out)
		}
	}

	approved := settled(apply("alpha", 3), "approved")
	if approved["score"] != float64(50) || approved["decided_by"] != "auto" || approved["approved_limit"] != "5000.00" {
		t.Errorf("auto-approved: %v", approved)
	}
	if cust := c.must("GET", "/v1/customers/alpha", nil, 200); cust["credit_limit"] != "5000.00" || cust["credit_currency"] != "EUR" || cust["payment_terms_days"] != float64(30) {
		t.Errorf("approved customer: %v", cust)
	}
	declined := settled(apply("beta", 0), "declined")
	if declined["score"] != float64(35) || !strings.Contains(declined["decision_note"].(string), "below the automatic decline threshold") {
		t.Errorf("auto-declined: %v", declined)
	}
	if status, out := c.do("POST", "/v1/credit-applications/"+declined["id"].(string)+"/decision",
		map[string]any{"decision": "approve", "limit": "100.00", "terms_days": 14}); status != 409 {
		t.Errorf("deciding a declined application: %d %v", status, out)
	}

	id := apply("gamma", 1)
	pending := settled(id, "pending_review")
	if pending["score"] != float64(40) || pending["reviewer"] != "mia@ar.test" {
		t.Errorf("pending: %v", pending)
	}
	queue := c.must("GET", "/v1/credit-applications?status=pending_review", nil, 200)["credit_applications"].([]any)
	if len(queue) != 1 || queue[0].(map[string]any)["id"] != id {
		t.Errorf("management's queue: %v", queue)
	}
	eventually(t, 30*time.Second, "the reviewer to be reminded", func() bool { return state(id)["reminded_at"] != nil })
	if status, out := c.do("POST", "/v1/credit-applications/"+id+"/decision", map[string]any{"decision": "approve", "limit": "0.00", "terms_days": 14}); status != 400 {
		t.Errorf("a zero limit: %d %v", status, out)
	}
	decided := c.must("POST", "/v1/credit-applications/"+id+"/decision",
		map[string]any{"decision": "approve", "limit": "3000.00", "terms_days": 14, "actor": "cfo@ar.test"}, 200)
	if decided["status"] != "approved" || decided["decided_by"] != "cfo@ar.test" || decided["approved_limit"] != "3000.00" {
		t.Errorf("management's approval: %v", decided)
	}
	if cust := c.must("GET", "/v1/customers/gamma", nil, 200); cust["credit_limit"] != "3000.00" || cust["payment_terms_days"] != float64(14) {
		t.Errorf("customer after management's approval: %v", cust)
	}
	if status, out := c.do("POST", "/v1/credit-applications/"+id+"/decision", map[string]any{"decision": "decline", "reason": "second thoughts"}); status != 409 {
		t.Errorf("a second decision: %d %v", status, out)
	}

	// The reports through the whole middleware (key, spec validation): no
	// invoices yet, so an aging report of headers only, and a bad date named.
	req, _ := http.NewRequest("GET", s.APIURL+"/v1/reports/aging?as_of=2026-10-31", nil)
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	req.Header.Set("Accept", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "group,key,currency,current,1_30,31_60,61_90,90_plus,total\n" {
		t.Errorf("aging as CSV: %d %q", res.StatusCode, body)
	}
	if status, out := c.do("GET", "/v1/reports/dso?as_of=31.10.2026", nil); status != 400 || out["error"].(map[string]any)["field"] != "as_of" {
		t.Errorf("a bad as_of: %d %v", status, out)
	}

	// Each path's history replays against the current code; -update saves
	// them to workflows/testdata/credit for TestSavedCreditHistoriesReplay.
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.CreditDecision, workflow.RegisterOptions{Name: workflows.CreditDecisionWorkflowName})
	for name, appID := range map[string]string{"auto_approved": approved["id"].(string), "auto_declined": declined["id"].(string), "management_approved": id} {
		wfID := workflows.CreditWorkflowID(appID)
		var res workflows.CreditResult
		if err := s.Client.GetWorkflow(context.Background(), wfID, "").Get(context.Background(), &res); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		hist := history(t, s.Client, wfID)
		if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
			t.Fatalf("replay %s: %v", name, err)
		}
		if *update {
			raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(hist)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "workflows", "testdata", "credit", name+".json")
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			fmt.Println("wrote", path)
		}
	}
}
