package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/workflows"
)

// fakeTemporal starts invoice workflows the way Temporal does under the
// options StartInvoice sets: one workflow per id, a second start answered
// WorkflowExecutionAlreadyStarted. Other methods panic (nil embedded
// interface).
type fakeTemporal struct {
	client.Client

	mu      sync.Mutex
	started map[string]int // workflow id -> starts that started it (at most 1)
	// down: starts fail without starting (Temporal unreachable).
	down bool
	// timeouts: this many starts start the workflow and then fail as if
	// the answer was lost.
	timeouts int
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if wf != workflows.InvoiceWorkflowName || len(args) != 1 {
		return nil, fmt.Errorf("unexpected start of %v", wf)
	}
	if in := args[0].(workflows.InvoiceInput); workflows.WorkflowID(in.InvoiceID) != opts.ID {
		return nil, fmt.Errorf("workflow id %q for invoice %s", opts.ID, in.InvoiceID)
	}
	if f.down {
		return nil, errors.New("temporal unreachable")
	}
	if f.started[opts.ID] > 0 {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run")
	}
	f.started[opts.ID]++
	if f.timeouts > 0 {
		f.timeouts--
		return nil, context.DeadlineExceeded
	}
	return nil, nil
}

func (f *fakeTemporal) workflows(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started[id]
}

func newService(t *testing.T) (*Service, *fakeTemporal) {
	t.Helper()
	ft := &fakeTemporal{started: map[string]int{}}
	s := &Service{Store: db.NewStore(dbtest.SQLite(t).DB), Workflows: &workflows.Client{Temporal: ft}, Log: slog.New(slog.DiscardHandler),
		Clock: func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }}
	if _, err := s.CreateCustomer(context.Background(), CreateCustomer{Customer: Customer{ID: "C-1", Name: "One", Email: "ap@one.example", Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	return s, ft
}

func invoiceCmd(number string) CreateInvoice {
	return CreateInvoice{Actor: Actor{Kind: ActorKey, Name: "test"}, Number: number, CustomerID: "C-1", Amount: "10.00", Currency: "EUR",
		IssuedAt: "2026-11-01T00:00:00Z", DueAt: "2026-12-01T00:00:00Z"}
}

// A start whose answer is lost keeps the invoice and says to retry; the
// retry answers the stored invoice, and there is one workflow.
func TestCreateInvoiceConvergesAfterAStartTimeout(t *testing.T) {
	ctx := context.Background()
	s, ft := newService(t)
	ft.timeouts = 1
	_, err := s.CreateInvoice(ctx, invoiceCmd("INV-1"))
	if k, _ := KindOf(err); k != Unavailable {
		t.Fatalf("create with a lost answer: %v (%s), want unavailable", err, k)
	}
	stored, err := s.Store.GetInvoiceByNumber(ctx, "INV-1")
	if err != nil {
		t.Fatalf("invoice not kept: %v", err)
	}
	res, err := s.CreateInvoice(ctx, invoiceCmd("INV-1"))
	if err != nil || res.Created || res.Invoice.ID != stored.ID {
		t.Fatalf("retry: %+v, %v; want the stored invoice %s", res, err, stored.ID)
	}
	if n := ft.workflows(stored.WorkflowID); n != 1 {
		t.Errorf("%d workflows, want 1", n)
	}
}

// The sweep starts the workflow of an open invoice whose start never
// happened, leaves those that run alone, and starts nothing the second
// time.
func TestStartMissingWorkflows(t *testing.T) {
	ctx := context.Background()
	s, ft := newService(t)
	running, err := s.CreateInvoice(ctx, invoiceCmd("INV-RUNNING"))
	if err != nil {
		t.Fatal(err)
	}
	ft.timeouts = 1 // started, answer lost
	if _, err := s.CreateInvoice(ctx, invoiceCmd("INV-LOST")); err == nil {
		t.Fatal("create with a lost answer succeeded")
	}
	ft.down = true // not started at all
	if _, err := s.CreateInvoice(ctx, invoiceCmd("INV-MISSING")); err == nil {
		t.Fatal("create with Temporal down succeeded")
	}
	if _, err := s.StartMissingWorkflows(ctx); err == nil {
		t.Error("sweep with Temporal down: no error")
	}
	ft.down = false
	started, err := s.StartMissingWorkflows(ctx)
	if err != nil || started != 1 {
		t.Fatalf("sweep: started %d, %v; want 1", started, err)
	}
	for _, number := range []string{"INV-RUNNING", "INV-LOST", "INV-MISSING"} {
		inv, err := s.Store.GetInvoiceByNumber(ctx, number)
		if err != nil {
			t.Fatal(err)
		}
		if n := ft.workflows(inv.WorkflowID); n != 1 {
			t.Errorf("%s: %d workflows, want 1", number, n)
		}
	}
	if started, err := s.StartMissingWorkflows(ctx); err != nil || started != 0 {
		t.Errorf("second sweep: started %d, %v; want 0", started, err)
	}
	if running.Invoice.WorkflowID != workflows.WorkflowID(running.Invoice.ID) {
		t.Errorf("workflow id %q", running.Invoice.WorkflowID)
	}
}
