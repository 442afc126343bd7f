package devstack_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// continueOnce continues as new once, the way the invoice workflow carries
// a long history into a new run (workflow.NewContinueAsNewError with its
// input only), then waits.
func continueOnce(ctx workflow.Context, runs int) error {
	if runs == 0 {
		return workflow.NewContinueAsNewError(ctx, continueOnce, 1)
	}
	return workflow.Await(ctx, func() bool { return false })
}

// The invoice number, set at start, is still on the run that continued as
// new: a collector's `InvoiceNumber = "..."` finds an invoice after any
// number of runs.
func TestInvoiceNumberSurvivesContinueAsNew(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false)
	defer s.Stop()
	const queue = "search-attribute-test"
	w := sdkworker.New(s.Client, queue, sdkworker.Options{})
	w.RegisterWorkflow(continueOnce)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := workflows.InvoiceInput{Number: "INV-CAN-1", CustomerID: "acme", Currency: "EUR", AccountManager: "mia@ar.test", Policy: policy.Standard()}
	run, err := s.Client.ExecuteWorkflow(ctx, sdkclient.StartWorkflowOptions{ID: "can-test", TaskQueue: queue,
		TypedSearchAttributes: workflows.StartSearchAttributes(in, invoice.StageIssued, 100, time.Now())}, continueOnce, 0)
	if err != nil {
		t.Fatal(err)
	}
	var second string
	eventually(t, 30*time.Second, "the second run to be listed by its invoice number", func() bool {
		list, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `InvoiceNumber = "INV-CAN-1" AND ExecutionStatus = "Running"`})
		if err != nil || len(list.GetExecutions()) != 1 {
			return false
		}
		second = list.GetExecutions()[0].GetExecution().GetRunId()
		return second != run.GetRunID()
	})
	first, err := s.Client.DescribeWorkflowExecution(ctx, "can-test", run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if st := first.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		t.Fatalf("first run: %s, want continued as new", st)
	}
	d, err := s.Client.DescribeWorkflowExecution(ctx, "can-test", second)
	if err != nil {
		t.Fatal(err)
	}
	if f := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields(); f[workflows.SAInvoiceNumber.GetName()] == nil ||
		f[workflows.SACustomerID.GetName()] == nil {
		t.Fatalf("the second run's search attributes: %v", f)
	}
	_ = s.Client.TerminateWorkflow(ctx, "can-test", "", "test done")
}
