package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/collections-engine/collections/workflows"
)

// Histories of real runs, one per lifecycle path, recorded from the real
// server by `go test ./internal/devstack -run TestLifecycleThroughTheAPI
// -update`. Each must replay against the current code: a change that would
// break running invoices fails here, and needs workflow.GetVersion.
// The histories in testdata are of runs started on the current revision
// (workflows.CurrentRevision: no version markers); the directories keep
// those recorded before, which must replay on the paths they took:
// testdata/before-revision the runs from before revisions (revision 0,
// every change behind workflow.GetVersion), testdata/before-bounded-policy
// those from before the workflow checked its policy's bounds (see
// changeBoundedPolicy) and testdata/before-local-bookkeeping those from
// before the change of that name (see changeLocalBookkeeping). When
// CurrentRevision is bumped, move the histories in testdata to
// testdata/before-revision-N and record them again.
func TestSavedHistoriesReplay(t *testing.T) {
	for _, dir := range []string{"testdata", filepath.Join("testdata", "before-revision"),
		filepath.Join("testdata", "before-local-bookkeeping"), filepath.Join("testdata", "before-bounded-policy")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) < 4 {
			t.Fatalf("want the saved histories of at least four paths in %s, found %d", dir, len(files))
		}
		for _, f := range files {
			t.Run(f, func(t *testing.T) {
				if dir == "testdata" {
					// A run of the current revision takes its changes
					// without a version marker (and its upsert).
					raw, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					if strings.Contains(string(raw), `"markerName": "Version"`) {
						t.Fatalf("%s holds a version marker: not a run of the current revision", f)
					}
				}
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
