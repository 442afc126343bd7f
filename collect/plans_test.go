package collect_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/workflows"
)

// A plan command badly written is refused naming the field before the
// workflow is asked; one well written becomes one update per idempotency
// key (the workflow checks the balance, the dates and the policy's bounds:
// workflows/plans_test.go).
func TestPlanCommandsCheckBeforeTheWorkflow(t *testing.T) {
	forEachDB(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		seed(t, f.store, "open", false)
		seed(t, f.store, "closed", true)
		key := collect.Actor{Kind: collect.ActorKey, Name: "test"}
		day := 24 * time.Hour
		two := []collect.PlanInstalment{{DueAt: t0.Add(10 * day), AmountMinor: 5000}, {DueAt: t0.Add(40 * day), AmountMinor: 5000}}

		_, err := f.svc.ProposePaymentPlan(ctx, collect.ProposePlan{Actor: key, InvoiceID: "nope", Instalments: two})
		wantKind(t, err, collect.NotFound, "")
		_, err = f.svc.ProposePaymentPlan(ctx, collect.ProposePlan{Actor: key, InvoiceID: "closed", Instalments: two})
		wantKind(t, err, collect.Closed, "")

		for _, tc := range []struct {
			name  string
			cmd   collect.ProposePlan
			field string
		}{
			{"nothing", collect.ProposePlan{}, "instalments"},
			{"one instalment", collect.ProposePlan{Instalments: two[:1]}, "instalments"},
			{"both forms", collect.ProposePlan{Instalments: two, Count: 2}, "instalments"},
			{"a zero amount", collect.ProposePlan{Instalments: []collect.PlanInstalment{two[0], {DueAt: t0.Add(40 * day)}}}, "instalments[1].amount"},
			{"a missing date", collect.ProposePlan{Instalments: []collect.PlanInstalment{{AmountMinor: 5000}, two[1]}}, "instalments[0].due_at"},
			{"a count of one", collect.ProposePlan{Count: 1, Every: "1 month", FirstDueAt: t0.Add(day)}, "count"},
			{"a count of a thousand", collect.ProposePlan{Count: 1000, Every: "1 month", FirstDueAt: t0.Add(day)}, "count"},
			{"no period", collect.ProposePlan{Count: 2, FirstDueAt: t0.Add(day)}, "every"},
			{"a fortnight spelt wrong", collect.ProposePlan{Count: 2, Every: "2 fortnights", FirstDueAt: t0.Add(day)}, "every"},
			{"a negative period", collect.ProposePlan{Count: 2, Every: "-7d", FirstDueAt: t0.Add(day)}, "every"},
			{"no first date", collect.ProposePlan{Count: 2, Every: "2 weeks"}, "first_due_at"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.cmd.Actor, tc.cmd.InvoiceID = key, "open"
				_, err := f.svc.ProposePaymentPlan(ctx, tc.cmd)
				wantKind(t, err, collect.Invalid, tc.field)
			})
		}
		_, err = f.svc.DecidePaymentPlan(ctx, collect.DecidePlan{Actor: key, InvoiceID: "open", Decision: "maybe"})
		wantKind(t, err, collect.Invalid, "decision")
		_, err = f.svc.CancelPaymentPlan(ctx, collect.CancelPlan{Actor: key, InvoiceID: "open", Reason: " "})
		wantKind(t, err, collect.Invalid, "reason")
		if len(f.tc.updates) != 0 {
			t.Fatalf("refused commands reached the workflow: %+v", f.tc.updates)
		}

		// Well written: one update, named for its idempotency key.
		f.tc.updateFn = func() error { return workflows.ErrEnded }
		_, err = f.svc.ProposePaymentPlan(ctx, collect.ProposePlan{Actor: key, InvoiceID: "open", IdempotencyKey: "k1",
			Count: 3, Every: "1 month", FirstDueAt: t0.Add(day)})
		wantKind(t, err, collect.Closed, "")
		if len(f.tc.updates) != 1 || f.tc.updates[0].UpdateID != workflows.UpdateProposePlan+":k1" {
			t.Fatalf("updates: %+v", f.tc.updates)
		}
		req, ok := f.tc.updates[0].Args[0].(workflows.ProposePlanRequest)
		if !ok || req.Count != 3 || req.Every.Months != 1 || req.Actor != "key:test" || f.tc.updates[0].WaitForStage != client.WorkflowUpdateStageCompleted {
			t.Fatalf("update argument: %+v", f.tc.updates[0].Args)
		}
	})
}
