package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

// POST /v1/invoices/{id}/calls runs collect.LogCall: a wrong number needs no
// workflow (a note and a locate_debtor task); bad input names the field and
// writes nothing; a read-only key is refused.
func TestLogCallRoute(t *testing.T) {
	env := newRoleEnv(t)
	tmp := &signalTemporal{fakeTemporal: newFakeTemporal()} // takes the note's signal to the timeline
	env.srv.Temporal = tmp
	h := env.srv.Handler()
	ctx := context.Background()
	store := env.srv.Store
	now := time.Now().UTC()
	if _, err := store.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", Timezone: "UTC",
		AccountManager: "mia@ar.test", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: "inv-1", Number: "INV-1", CustomerID: "acme", AmountMinor: 10000,
		BalanceMinor: 10000, Currency: "EUR", IssuedAt: now, DueAt: now, Stage: invoice.StageIssued, PolicyName: "standard",
		PolicyVersion: 1, WorkflowID: workflows.WorkflowID("inv-1"), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if status, out := env.do(h, "POST", "/v1/invoices/inv-1/calls", db.RoleReadOnly, `{"outcome":"wrong_number"}`); status != http.StatusForbidden {
		t.Fatalf("read-only: %d %v", status, out)
	}
	for body, field := range map[string]string{
		`{"outcome":"reached","promise_amount":"10.00","promise_date":"2030-01-01T00:00:00Z","dispute_reason":"quality"}`: "dispute_reason",
		`{"outcome":"no_answer","dispute_reason":"quality"}`:                                                              "outcome",
		`{"outcome":"reached","note":"` + strings.Repeat("<script>", 1500) + `"}`:                                         "note",
		`{"outcome":"reached","promise_amount":"10.00","promise_date":"next friday"}`:                                     "promise_date",
		`{"outcome":"reached","promise_amount":"0.00","promise_date":"2030-01-01T00:00:00Z"}`:                             "promise_amount",
	} {
		status, out := env.do(h, "POST", "/v1/invoices/inv-1/calls", db.RoleReadWrite, body)
		e, _ := out["error"].(map[string]any)
		if status != http.StatusBadRequest || e == nil || !strings.Contains(fmt.Sprint(e["field"], " ", e["message"]), field) {
			t.Errorf("%.80s: %d %v, want 400 naming %s", body, status, out, field)
		}
	}
	if notes, _ := store.ListNotes(ctx, "acme", "inv-1"); len(notes) != 0 {
		t.Fatalf("refused calls wrote notes: %v", notes)
	}
	status, out := env.do(h, "POST", "/v1/invoices/inv-1/calls", db.RoleReadWrite, `{"outcome":"wrong_number","note":"a bakery"}`)
	if status != http.StatusCreated {
		t.Fatalf("wrong number: %d %v", status, out)
	}
	note := out["note"].(map[string]any)
	task, _ := out["task"].(map[string]any)
	if note["kind"] != "call" || note["author"] != "read-write key" || task == nil || task["kind"] != "locate_debtor" ||
		task["assignee"] != "mia@ar.test" {
		t.Fatalf("wrong number: %v", out)
	}
}
