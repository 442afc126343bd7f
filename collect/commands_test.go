package collect_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

// The checks a business action makes before its workflow is asked, against
// a real store. Temporal is a recording stand-in: where the workflow is not
// the point, a command that must fail first never reaches it.

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// temporal records what reached it and answers as told; every call not
// overridden panics (the embedded interface is nil).
type temporal struct {
	client.Client
	updates  []client.UpdateWorkflowOptions
	starts   []client.StartWorkflowOptions
	signals  []string
	updateFn func() error
	startErr error
}

func (f *temporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.updates = append(f.updates, o)
	if f.updateFn != nil {
		return nil, f.updateFn()
	}
	return nil, errors.New("no answer configured")
}

func (f *temporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.starts = append(f.starts, o)
	return nil, f.startErr
}

func (f *temporal) SignalWorkflow(_ context.Context, workflowID, _, name string, _ any) error {
	f.signals = append(f.signals, name+" "+workflowID)
	return nil
}

type fixture struct {
	svc   *collect.Service
	store *db.Store
	tc    *temporal
}

func forEachDB(t *testing.T, fn func(t *testing.T, f fixture)) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			store := db.NewStore(d.DB)
			tc := &temporal{}
			svc := &collect.Service{Store: store, Workflows: &workflows.Client{Temporal: tc}, Clock: func() time.Time { return t0 }}
			fn(t, fixture{svc: svc, store: store, tc: tc})
		})
	}
}

// seed stores a customer and an invoice of 100.00 EUR; closed closes it.
func seed(t *testing.T, s *db.Store, id string, closed bool) *db.Invoice {
	t.Helper()
	ctx := context.Background()
	c := &db.Customer{ID: "cus-" + id, Name: "Acme", Email: "ap@acme.test", Timezone: "Europe/Berlin", CreatedAt: t0, UpdatedAt: t0}
	if _, err := s.InsertCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	inv := &db.Invoice{ID: id, Number: "N-" + id, CustomerID: c.ID, AmountMinor: 10000, BalanceMinor: 10000,
		Currency: "EUR", IssuedAt: t0, DueAt: t0.AddDate(0, 0, 30), Stage: invoice.StageIssued,
		PolicyName: "standard", PolicyVersion: 1, WorkflowID: workflows.WorkflowID(id), CreatedAt: t0, UpdatedAt: t0}
	if closed {
		inv.Stage, inv.ClosedAt = invoice.StageCancelled, &t0
	}
	if ok, err := s.InsertInvoice(ctx, inv); err != nil || !ok {
		t.Fatalf("insert invoice: inserted=%v err=%v", ok, err)
	}
	return inv
}

// wantKind fails unless err is a *collect.Error of kind (and, when field
// is given, naming it).
func wantKind(t *testing.T, err error, kind collect.Kind, field string) {
	t.Helper()
	var e *collect.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a %s error, got %v", kind, err)
	}
	if e.Kind != kind || (field != "" && e.Field != field) {
		t.Fatalf("want %s on %q, got %s on %q: %s", kind, field, e.Kind, e.Field, e.Message)
	}
}

func on(id string) collect.InvoiceCommand {
	return collect.InvoiceCommand{InvoiceID: id, Actor: collect.Actor{Kind: collect.ActorKey, Name: "test"}}
}

func TestCommandsCheckBeforeTheWorkflow(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		seed(t, f.store, "open", false)
		seed(t, f.store, "closed", true)

		_, err := f.svc.Pause(ctx, collect.Pause{InvoiceCommand: on("nope")})
		wantKind(t, err, collect.NotFound, "")

		_, err = f.svc.OpenDispute(ctx, collect.OpenDispute{InvoiceCommand: on("closed"), Reason: "quality"})
		wantKind(t, err, collect.Closed, "")

		for _, tc := range []struct {
			name  string
			run   func() error
			field string
		}{
			{"promise without an amount", func() error {
				_, err := f.svc.PromiseToPay(ctx, collect.PromiseToPay{InvoiceCommand: on("open"), Date: "2026-12-01T00:00:00Z"})
				return err
			}, "amount"},
			{"promise of a badly written amount", func() error {
				_, err := f.svc.PromiseToPay(ctx, collect.PromiseToPay{InvoiceCommand: on("open"), Amount: "12,5", Date: "2026-12-01T00:00:00Z"})
				return err
			}, "amount"},
			{"promise of nothing", func() error {
				_, err := f.svc.PromiseToPay(ctx, collect.PromiseToPay{InvoiceCommand: on("open"), Amount: "0.00", Date: "2026-12-01T00:00:00Z"})
				return err
			}, "amount"},
			{"promise without a date", func() error {
				_, err := f.svc.PromiseToPay(ctx, collect.PromiseToPay{InvoiceCommand: on("open"), Amount: "10.00", Date: "next week"})
				return err
			}, "date"},
			{"adjusted dispute without an amount", func() error {
				_, err := f.svc.ResolveDispute(ctx, collect.ResolveDispute{InvoiceCommand: on("open"), Resolution: "adjusted"})
				return err
			}, "amount"},
			{"unknown resolution", func() error {
				_, err := f.svc.ResolveDispute(ctx, collect.ResolveDispute{InvoiceCommand: on("open"), Resolution: "maybe"})
				return err
			}, "resolution"},
			{"dispute without a reason", func() error {
				_, err := f.svc.OpenDispute(ctx, collect.OpenDispute{InvoiceCommand: on("open"), Reason: "  "})
				return err
			}, "reason"},
			{"pause until a bad time", func() error {
				_, err := f.svc.Pause(ctx, collect.Pause{InvoiceCommand: on("open"), Until: "2026-13-01"})
				return err
			}, "until"},
			{"write-off without a reason", func() error {
				_, err := f.svc.WriteOff(ctx, collect.CloseInvoice{InvoiceCommand: on("open")})
				return err
			}, "reason"},
			{"due date missing", func() error {
				_, err := f.svc.ChangeDueDate(ctx, collect.ChangeDueDate{InvoiceCommand: on("open")})
				return err
			}, "due_at"},
			{"unknown decision", func() error {
				_, err := f.svc.DecideEscalation(ctx, collect.DecideEscalation{InvoiceCommand: on("open"), Decision: "forgive"})
				return err
			}, "decision"},
			{"agency outcome without a reference", func() error {
				_, err := f.svc.ReportAgencyOutcome(ctx, collect.AgencyOutcome{InvoiceCommand: on("open"), Outcome: "collected"})
				return err
			}, "reference"},
		} {
			t.Run(tc.name, func(t *testing.T) { wantKind(t, tc.run(), collect.Invalid, tc.field) })
		}
		if len(f.tc.updates)+len(f.tc.signals) != 0 {
			t.Fatalf("commands refused before the workflow reached Temporal: %v %v", f.tc.updates, f.tc.signals)
		}
	})
}

func TestCommandsReachTheWorkflowOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		inv := seed(t, f.store, "open", false)

		// The idempotency key is the update id; the workflow having ended
		// (Temporal: not found) says the invoice is closed.
		f.tc.updateFn = func() error { return serviceerror.NewNotFound("workflow not found") }
		cmd := on("open")
		cmd.IdempotencyKey = "k-1"
		_, err := f.svc.PromiseToPay(ctx, collect.PromiseToPay{InvoiceCommand: cmd, Amount: "25.00", Date: "2026-12-01T00:00:00Z"})
		wantKind(t, err, collect.Closed, "")
		if len(f.tc.updates) != 1 {
			t.Fatalf("updates sent: %d", len(f.tc.updates))
		}
		u := f.tc.updates[0]
		if u.WorkflowID != inv.WorkflowID || u.UpdateName != workflows.UpdatePromise || u.UpdateID != workflows.UpdatePromise+":k-1" {
			t.Fatalf("update %+v", u)
		}
		if arg, ok := u.Args[0].(workflows.PromiseRequest); !ok || arg.AmountMinor != 2500 || !arg.Date.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("the workflow was asked %#v", u.Args[0])
		}

		// Temporal not answering is worth retrying.
		f.tc.updateFn = func() error { return errors.New("connection refused") }
		_, err = f.svc.Resume(ctx, collect.Resume{InvoiceCommand: on("open")})
		wantKind(t, err, collect.Unavailable, "")
	})
}

func TestNotes(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		inv := seed(t, f.store, "inv-1", false)

		_, err := f.svc.AddNote(ctx, collect.AddNote{InvoiceID: "nope", Kind: "call", Body: "rang"})
		wantKind(t, err, collect.NotFound, "")
		_, err = f.svc.AddNote(ctx, collect.AddNote{CustomerID: "nope", Kind: "call", Body: "rang"})
		wantKind(t, err, collect.NotFound, "")
		_, err = f.svc.AddNote(ctx, collect.AddNote{InvoiceID: inv.ID, Kind: "gossip", Body: "rang"})
		wantKind(t, err, collect.Invalid, "kind")
		_, err = f.svc.AddNote(ctx, collect.AddNote{InvoiceID: inv.ID, Kind: "call", Body: " \n"})
		wantKind(t, err, collect.Invalid, "body")

		n, err := f.svc.AddNote(ctx, collect.AddNote{InvoiceID: inv.ID, Kind: "call", Body: "promised Friday", Author: " mia "})
		if err != nil {
			t.Fatal(err)
		}
		if n.CustomerID != inv.CustomerID || n.InvoiceID != inv.ID || n.Author != "mia" || !n.CreatedAt.Equal(t0) {
			t.Fatalf("note %+v", n)
		}
		notes, err := f.store.ListNotes(ctx, inv.CustomerID, inv.ID)
		if err != nil || len(notes) != 1 || notes[0].Body != "promised Friday" {
			t.Fatalf("stored notes %+v, %v", notes, err)
		}
		// The open invoice's workflow is told, for its timeline; a closed
		// invoice's is not (its workflow has finished), and neither is
		// anyone for a note on the customer.
		closed := seed(t, f.store, "inv-2", true)
		if _, err := f.svc.AddNote(ctx, collect.AddNote{InvoiceID: closed.ID, Kind: "letter", Body: "receipt sent"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddNote(ctx, collect.AddNote{CustomerID: inv.CustomerID, Kind: "meeting", Body: "met AP"}); err != nil {
			t.Fatal(err)
		}
		if want := workflows.SignalNoted + " " + inv.WorkflowID; len(f.tc.signals) != 1 || f.tc.signals[0] != want {
			t.Fatalf("signals %v, want [%s]", f.tc.signals, want)
		}
	})
}

func TestTasks(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		inv := seed(t, f.store, "inv-1", false)
		task := &db.Task{ID: "task-1", InvoiceID: inv.ID, CustomerID: inv.CustomerID, Key: "call", Kind: "call",
			Assignee: "mia", Title: "Call Acme", Status: db.TaskOpen, DueAt: t0, CreatedAt: t0}
		if _, _, err := f.store.ClaimTask(ctx, task); err != nil {
			t.Fatal(err)
		}

		_, err := f.svc.CompleteTask(ctx, collect.CompleteTask{TaskID: "task-1", Outcome: " "})
		wantKind(t, err, collect.Invalid, "outcome")
		_, err = f.svc.CompleteTask(ctx, collect.CompleteTask{TaskID: "nope", Outcome: "reached"})
		wantKind(t, err, collect.NotFound, "")
		_, err = f.svc.ReassignTask(ctx, collect.ReassignTask{TaskID: "task-1"})
		wantKind(t, err, collect.Invalid, "assignee")
		_, err = f.svc.ReassignTask(ctx, collect.ReassignTask{TaskID: "nope", Assignee: "sam"})
		wantKind(t, err, collect.NotFound, "")

		moved, err := f.svc.ReassignTask(ctx, collect.ReassignTask{TaskID: "task-1", Assignee: " sam ", Note: "on leave", By: "lead"})
		if err != nil || moved.Assignee != "sam" {
			t.Fatalf("reassigned %+v, %v", moved, err)
		}
		notes, err := f.store.ListNotes(ctx, inv.CustomerID, inv.ID)
		if err != nil || len(notes) != 1 || notes[0].Body != `Task "Call Acme" reassigned from mia to sam: on leave` || notes[0].Author != "lead" {
			t.Fatalf("reassignment note %+v, %v", notes, err)
		}

		done, err := f.svc.CompleteTask(ctx, collect.CompleteTask{TaskID: "task-1", Outcome: "reached", By: "sam"})
		if err != nil || done.Status != db.TaskDone || done.Outcome != "reached" {
			t.Fatalf("completed %+v, %v", done, err)
		}
		// Completing it again changes nothing and tells the workflow once.
		if _, err := f.svc.CompleteTask(ctx, collect.CompleteTask{TaskID: "task-1", Outcome: "no_answer"}); err != nil {
			t.Fatal(err)
		}
		if want := workflows.SignalTaskCompleted + " " + inv.WorkflowID; len(f.tc.signals) != 1 || f.tc.signals[0] != want {
			t.Fatalf("signals %v, want [%s]", f.tc.signals, want)
		}
		_, err = f.svc.ReassignTask(ctx, collect.ReassignTask{TaskID: "task-1", Assignee: "kim"})
		wantKind(t, err, collect.Conflict, "id")
	})
}

func TestCredit(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		inv := seed(t, f.store, "inv-1", false)
		apply := collect.ApplyForCredit{CustomerID: inv.CustomerID, Company: collect.Company{Name: "Acme GmbH"},
			RequestedLimit: "5000.00", Currency: "EUR", RequestedTermsDays: 30}

		bad := apply
		bad.CustomerID = "nope"
		_, err := f.svc.ApplyForCredit(ctx, bad)
		wantKind(t, err, collect.Invalid, "customer_id")
		bad = apply
		bad.NewCustomer = &db.Customer{ID: "new"}
		_, err = f.svc.ApplyForCredit(ctx, bad)
		wantKind(t, err, collect.Invalid, "customer")
		bad = apply
		bad.RequestedLimit = "-5"
		_, err = f.svc.ApplyForCredit(ctx, bad)
		wantKind(t, err, collect.Invalid, "requested_limit")
		if len(f.tc.starts) != 0 {
			t.Fatalf("refused applications started workflows: %v", f.tc.starts)
		}

		// A workflow that cannot be started leaves nothing behind, not even
		// the new customer.
		f.tc.startErr = errors.New("connection refused")
		fresh := apply
		fresh.CustomerID = ""
		fresh.NewCustomer = &db.Customer{ID: "new", Name: "New Co", Email: "ap@new.test", Timezone: "UTC", CreatedAt: t0, UpdatedAt: t0}
		_, err = f.svc.ApplyForCredit(ctx, fresh)
		wantKind(t, err, collect.Unavailable, "")
		if _, err := f.store.GetCustomer(ctx, "new"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("the new customer was kept: %v", err)
		}
		if list, err := f.store.ListCreditApplications(ctx, "", 10); err != nil || len(list) != 0 {
			t.Fatalf("applications kept: %+v, %v", list, err)
		}

		f.tc.startErr = nil
		app, err := f.svc.ApplyForCredit(ctx, apply)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.tc.starts) != 2 || f.tc.starts[1].ID != workflows.CreditWorkflowID(app.ID) || app.Status != db.CreditSubmitted {
			t.Fatalf("application %+v, starts %v", app, f.tc.starts)
		}

		_, err = f.svc.DecideCredit(ctx, collect.DecideCredit{ApplicationID: "nope", Decision: "decline", Reason: "no"})
		wantKind(t, err, collect.NotFound, "")
		_, err = f.svc.DecideCredit(ctx, collect.DecideCredit{ApplicationID: app.ID, Decision: "approve", Limit: "abc"})
		wantKind(t, err, collect.Invalid, "limit")
		_, err = f.svc.DecideCredit(ctx, collect.DecideCredit{ApplicationID: app.ID, Decision: "decline"})
		wantKind(t, err, collect.Invalid, "reason")
		// Still being scored: nothing for a person to decide yet.
		_, err = f.svc.DecideCredit(ctx, collect.DecideCredit{ApplicationID: app.ID, Decision: "decline", Reason: "thin file"})
		wantKind(t, err, collect.Conflict, "")
		if len(f.tc.updates) != 0 {
			t.Fatalf("refused decisions reached the workflow: %v", f.tc.updates)
		}
	})
}
