package collect_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/workflows"
)

// answering is the recording Temporal stand-in with a workflow that
// answers updates: accepted (an empty CommandResponse) unless refuse is set.
type answering struct {
	*temporal
	refuse error
}

func (a *answering) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	a.updates = append(a.updates, o)
	return answeredHandle{o: o, err: a.refuse}, nil
}

type answeredHandle struct {
	o   client.UpdateWorkflowOptions
	err error
}

func (h answeredHandle) WorkflowID() string { return h.o.WorkflowID }
func (h answeredHandle) RunID() string      { return "" }
func (h answeredHandle) UpdateID() string   { return h.o.UpdateID }
func (h answeredHandle) Get(_ context.Context, v any) error {
	if h.err != nil {
		return h.err
	}
	return json.Unmarshal([]byte(`{"Stage":"promised"}`), v)
}

func callFixture(t *testing.T, f fixture) (*answering, *collect.Service) {
	a := &answering{temporal: f.tc}
	svc := *f.svc
	svc.Workflows = &workflows.Client{Temporal: a}
	return a, &svc
}

func notesOf(t *testing.T, s *db.Store, inv *db.Invoice) []db.Note {
	t.Helper()
	n, err := s.ListNotes(context.Background(), inv.CustomerID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLogCallChecksEverythingFirst(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		inv := seed(t, f.store, "open", false)
		seed(t, f.store, "closed", true)
		a, svc := callFixture(t, f)
		for _, tc := range []struct {
			name  string
			cmd   collect.LogCall
			kind  collect.Kind
			field string
		}{
			{"no outcome", collect.LogCall{}, collect.Invalid, "outcome"},
			{"unknown outcome", collect.LogCall{Outcome: "<script>"}, collect.Invalid, "outcome"},
			{"a note too long", collect.LogCall{Outcome: "reached", Note: strings.Repeat("x", 10001)}, collect.Invalid, "note"},
			{"promise and dispute", collect.LogCall{Outcome: "reached", PromiseAmount: "10.00", PromiseDate: "2026-12-01T00:00:00Z",
				DisputeReason: "quality"}, collect.Invalid, "dispute_reason"},
			{"promise without reaching anyone", collect.LogCall{Outcome: "no_answer", PromiseAmount: "10.00",
				PromiseDate: "2026-12-01T00:00:00Z"}, collect.Invalid, "outcome"},
			{"promise of a bad amount", collect.LogCall{Outcome: "reached", PromiseAmount: "ten", PromiseDate: "2026-12-01T00:00:00Z"},
				collect.Invalid, "promise_amount"},
			{"promise of too many decimals", collect.LogCall{Outcome: "reached", PromiseAmount: "10.001", PromiseDate: "2026-12-01T00:00:00Z"},
				collect.Invalid, "promise_amount"},
			{"promise without a date", collect.LogCall{Outcome: "reached", PromiseAmount: "10.00"}, collect.Invalid, "promise_date"},
			{"promise on a bad date", collect.LogCall{Outcome: "reached", PromiseAmount: "10.00", PromiseDate: "2026-02-30"},
				collect.Invalid, "promise_date"},
			{"unknown dispute reason", collect.LogCall{Outcome: "reached", DisputeReason: "bored"}, collect.Invalid, "dispute_reason"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.cmd.InvoiceCommand = on("open")
				_, err := svc.LogCall(ctx, tc.cmd)
				wantKind(t, err, tc.kind, tc.field)
			})
		}
		_, err := svc.LogCall(ctx, collect.LogCall{InvoiceCommand: on("closed"), Outcome: "reached"})
		wantKind(t, err, collect.Closed, "")
		_, err = svc.LogCall(ctx, collect.LogCall{InvoiceCommand: on("nope"), Outcome: "reached"})
		wantKind(t, err, collect.NotFound, "")
		if len(a.updates) != 0 || len(notesOf(t, f.store, inv)) != 0 {
			t.Fatalf("a refused call wrote something: %d updates, notes %v", len(a.updates), notesOf(t, f.store, inv))
		}

		// The workflow refuses the promise: nothing is written, and the
		// error names the call's field.
		a.refuse = sdktemporal.NewApplicationError("amount: exceeds the balance of 100.00", workflows.ErrInvalidArgument, "amount")
		_, err = svc.LogCall(ctx, collect.LogCall{InvoiceCommand: on("open"), Outcome: "reached", Note: "will pay",
			PromiseAmount: "500.00", PromiseDate: "2026-12-01T00:00:00Z"})
		wantKind(t, err, collect.Refused, "promise_amount")
		if !strings.HasPrefix(err.Error(), "promise_amount: exceeds the balance") {
			t.Errorf("refusal message: %q", err)
		}
		if n := notesOf(t, f.store, inv); len(n) != 0 {
			t.Fatalf("a refused promise left a note: %v", n)
		}
		if tasks, _ := f.store.ListTasks(ctx, db.TaskFilter{InvoiceID: inv.ID}); len(tasks) != 0 {
			t.Fatalf("a refused promise left a task: %v", tasks)
		}
	})
}

func TestLogCallRecords(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		inv := seed(t, f.store, "open", false)
		a, svc := callFixture(t, f)
		actor := collect.Actor{Kind: collect.ActorKey, Name: "mia's desk", KeyID: "k1", Role: db.RoleReadWrite}

		// Reached, with a promise: one promise update, one call note.
		res, err := svc.LogCall(ctx, collect.LogCall{InvoiceCommand: collect.InvoiceCommand{InvoiceID: "open", Actor: actor, IdempotencyKey: "c1"},
			Outcome: "reached", Note: "Pays <b>Friday</b>", PromiseAmount: "50.00", PromiseDate: "2026-12-15T00:00:00Z"})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Promised || res.Disputed || res.Task != nil || res.Note == nil {
			t.Fatalf("result %+v", res)
		}
		if len(a.updates) != 1 || a.updates[0].UpdateName != workflows.UpdatePromise || a.updates[0].UpdateID != workflows.UpdatePromise+":call:c1" {
			t.Fatalf("updates %+v", a.updates)
		}
		req := a.updates[0].Args[0].(workflows.PromiseRequest)
		if req.AmountMinor != 5000 || req.Note != "On a call by mia's desk: Pays <b>Friday</b>" {
			t.Fatalf("promise %+v", req)
		}
		notes := notesOf(t, f.store, inv)
		if len(notes) != 1 || notes[0].Kind != "call" || notes[0].Author != "mia's desk" ||
			notes[0].Body != "Call: reached. Promised EUR 50.00 by 2026-12-15.\n\nPays <b>Friday</b>" {
			t.Fatalf("notes %+v", notes)
		}

		// Reached, with a dispute.
		res, err = svc.LogCall(ctx, collect.LogCall{InvoiceCommand: collect.InvoiceCommand{InvoiceID: "open", Actor: actor},
			Outcome: "reached", DisputeReason: "quality"})
		if err != nil || !res.Disputed || a.updates[1].UpdateName != workflows.UpdateOpenDispute {
			t.Fatalf("dispute: %+v %v", res, err)
		}

		// No answer: a note only.
		if _, err := svc.LogCall(ctx, collect.LogCall{InvoiceCommand: collect.InvoiceCommand{InvoiceID: "open", Actor: actor},
			Outcome: "no_answer"}); err != nil || len(a.updates) != 2 {
			t.Fatalf("no answer: %v, %d updates", err, len(a.updates))
		}

		// A wrong number: a locate_debtor task, once per call.
		wrong := collect.LogCall{InvoiceCommand: collect.InvoiceCommand{InvoiceID: "open", Actor: actor, IdempotencyKey: "c9"},
			Outcome: "wrong_number", Note: "a bakery answered"}
		res, err = svc.LogCall(ctx, wrong)
		if err != nil || res.Task == nil || res.Task.Kind != "locate_debtor" || res.Task.Status != db.TaskOpen {
			t.Fatalf("wrong number: %+v %v", res, err)
		}
		again, err := svc.LogCall(ctx, wrong)
		if err != nil || again.Task.ID != res.Task.ID {
			t.Fatalf("the same call again made another task: %v %v", again.Task, err)
		}
		tasks, err := f.store.ListTasks(ctx, db.TaskFilter{InvoiceID: inv.ID})
		if err != nil || len(tasks) != 1 {
			t.Fatalf("tasks %v %v", tasks, err)
		}
		if len(a.updates) != 2 {
			t.Fatalf("a wrong number reached the workflow: %d updates", len(a.updates))
		}
	})
}
