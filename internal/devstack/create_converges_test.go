package devstack_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/workflows"
)

// lossyStarts is a Temporal client whose invoice starts go wrong: lost
// starts the workflow and then answers a timeout (the answer was lost);
// down fails without starting anything.
type lossyStarts struct {
	sdkclient.Client
	down bool
}

func (l lossyStarts) ExecuteWorkflow(ctx context.Context, opts sdkclient.StartWorkflowOptions, wf any, args ...any) (sdkclient.WorkflowRun, error) {
	if l.down {
		return nil, errors.New("temporal unreachable")
	}
	if _, err := l.Client.ExecuteWorkflow(ctx, opts, wf, args...); err != nil {
		return nil, err
	}
	return nil, context.DeadlineExceeded
}

// TestInvoiceCreationConverges runs against a real Temporal: an invoice
// whose start answer was lost is kept and answered 503; the same POST again
// answers it (200) with one workflow. An invoice whose start never happened
// gets its workflow from StartMissingWorkflows, which starts nothing more
// on a second pass.
func TestInvoiceCreationConverges(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	ctx := context.Background()
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	store := db.NewStore(s.DB)
	cases := func(temporal sdkclient.Client) *collect.Service {
		return &collect.Service{Store: store, Workflows: &workflows.Client{Temporal: temporal}}
	}
	now := time.Now()
	cmd := func(number string) collect.CreateInvoice {
		return collect.CreateInvoice{Actor: collect.Actor{Kind: collect.ActorKey, Name: "test"}, Number: number, CustomerID: "acme",
			Amount: "100.00", Currency: "EUR", IssuedAt: rfc3339(now), DueAt: rfc3339(now.Add(30 * 24 * time.Hour))}
	}
	runs := func(workflowID string) int64 {
		res, err := s.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", workflowID)})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetCount()
	}

	// The start's answer is lost.
	if _, err := cases(lossyStarts{Client: s.Client}).CreateInvoice(ctx, cmd("LOST-1")); err == nil {
		t.Fatal("a lost start answered success")
	} else if k, _ := collect.KindOf(err); k != collect.Unavailable {
		t.Fatalf("a lost start: %v, want unavailable", err)
	}
	lost, err := store.GetInvoiceByNumber(ctx, "LOST-1")
	if err != nil {
		t.Fatalf("the invoice was not kept: %v", err)
	}
	body := map[string]string{"number": "LOST-1", "customer_id": "acme", "amount": "100.00", "currency": "EUR",
		"issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour))}
	if got := c.must("POST", "/v1/invoices", body, 200); got["id"] != lost.ID {
		t.Fatalf("retry answered %v, want invoice %s", got["id"], lost.ID)
	}
	eventually(t, 30*time.Second, "the lost start's workflow in visibility", func() bool { return runs(lost.WorkflowID) >= 1 })
	if n := runs(lost.WorkflowID); n != 1 {
		t.Errorf("LOST-1 has %d workflow runs, want 1", n)
	}

	// The start never happened, and nobody retries.
	if _, err := cases(lossyStarts{Client: s.Client, down: true}).CreateInvoice(ctx, cmd("MISSING-1")); err == nil {
		t.Fatal("a failed start answered success")
	}
	missing, err := store.GetInvoiceByNumber(ctx, "MISSING-1")
	if err != nil {
		t.Fatalf("the invoice was not kept: %v", err)
	}
	sweep := cases(s.Client)
	started, err := sweep.StartMissingWorkflows(ctx)
	if err != nil || started != 1 {
		t.Fatalf("sweep: started %d, %v; want 1", started, err)
	}
	if _, err := s.Client.DescribeWorkflowExecution(ctx, missing.WorkflowID, ""); err != nil {
		t.Fatalf("MISSING-1's workflow: %v", err)
	}
	if started, err := sweep.StartMissingWorkflows(ctx); err != nil || started != 0 {
		t.Errorf("second sweep: started %d, %v; want 0", started, err)
	}
	eventually(t, 30*time.Second, "MISSING-1's live status", func() bool {
		return c.must("GET", "/v1/invoices/"+missing.ID, nil, 200)["status_source"] == "workflow"
	})
}
