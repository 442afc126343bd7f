package activities_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

// TestSavingAPaidStatusChecksThePaymentTrend: the paid status that turns a
// customer's payment trend to worsening gives the account manager one
// reach-out task, however often the status save is retried.
func TestSavingAPaidStatusChecksThePaymentTrend(t *testing.T) {
	a, store, _ := setup(t)
	ctx := context.Background()
	paidInvoice := func(i, daysLate int) invoice.Status {
		t.Helper()
		issued := now.AddDate(0, -12+i, 0)
		due := issued.AddDate(0, 0, 30)
		paid := due.AddDate(0, 0, daysLate)
		id := fmt.Sprintf("old-%d", i)
		if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: id, Number: "N-" + id, CustomerID: "acme", AmountMinor: 100, BalanceMinor: 100,
			Currency: "EUR", IssuedAt: issued, DueAt: due, Stage: invoice.StageIssued, WorkflowID: "invoice:" + id,
			CreatedAt: issued, UpdatedAt: issued}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.RecordPayment(ctx, &db.Payment{ID: "p-" + id, InvoiceID: id, Reference: "r", AmountMinor: 100,
			Currency: "EUR", ReceivedAt: paid}, paid); err != nil {
			t.Fatal(err)
		}
		return invoice.Status{InvoiceID: id, Stage: invoice.StagePaid, ClosedAt: &paid}
	}
	for i, late := range []int{0, 0, 1, 0, 10, 12} { // the last one tips it: 7.3 days late against 0.3
		st := paidInvoice(i, late)
		for range 2 { // a retried activity saves the same status twice
			if err := a.SaveStatus(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
	}
	tasks, err := store.CustomerTasks(ctx, "acme", db.TaskOpen)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Kind != "payment_trend" || tasks[0].InvoiceID != "old-5" {
		t.Fatalf("tasks: %+v", tasks)
	}
}
