package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/workflows"
)

// Histories of real runs, one per lifecycle path, recorded from the real
// server by `go test ./internal/devstack -run TestLifecycleThroughTheAPI
// -update`. Each must replay against the current code: a change that would
// break running invoices fails here, and needs workflow.GetVersion.
// testdata/before-local-bookkeeping keeps the histories recorded before
// the change of that name (see changeLocalBookkeeping), and
// testdata/before-bounded-policy those recorded before the workflow checked
// its policy's bounds (see changeBoundedPolicy): invoices started then must
// still replay on the old path.
func TestSavedHistoriesReplay(t *testing.T) {
	for _, dir := range []string{"testdata", filepath.Join("testdata", "before-local-bookkeeping"), filepath.Join("testdata", "before-bounded-policy")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) < 4 {
			t.Fatalf("want the saved histories of at least four paths in %s, found %d", dir, len(files))
		}
		for _, f := range files {
			t.Run(f, func(t *testing.T) {
				r := worker.NewWorkflowReplayer()
				r.RegisterWorkflowWithOptions(workflows.Invoice, workflow.RegisterOptions{Name: workflows.InvoiceWorkflowName})
				if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
					t.Fatalf("%s no longer replays: %v", f, err)
				}
			})
		}
	}
}

// Histories of credit decisions (auto-approved, auto-declined, decided by
// management), recorded by `go test ./internal/devstack -run
// TestCreditApplicationsThroughTheAPI -update`.
func TestSavedCreditHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "credit", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("want the saved histories of three credit paths in testdata/credit, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.CreditDecision, workflow.RegisterOptions{Name: workflows.CreditDecisionWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("%s no longer replays: %v", f, err)
			}
		})
	}
}
