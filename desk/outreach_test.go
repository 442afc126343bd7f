package desk

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

func TestAfterPaidCreatesOneReachOutTask(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			if _, err := s.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", Timezone: "UTC",
				Locale: "en", AccountManager: "mia@ar.test", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			// pay records invoice i as paid daysLate days after its due date
			// and runs the hook as SaveStatus does.
			pay := func(i, daysLate int) (*db.Task, bool) {
				t.Helper()
				issued := now.AddDate(0, -12+i, 0)
				due := issued.AddDate(0, 0, 30)
				paid := due.AddDate(0, 0, daysLate)
				id := fmt.Sprintf("inv-%02d", i)
				if _, err := s.InsertInvoice(ctx, &db.Invoice{ID: id, Number: "N-" + id, CustomerID: "acme", AmountMinor: 1000, BalanceMinor: 1000,
					Currency: "EUR", IssuedAt: issued, DueAt: due, Stage: invoice.StageIssued, WorkflowID: "invoice:" + id,
					CreatedAt: issued, UpdatedAt: issued}); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "p-" + id, InvoiceID: id, Reference: "r", AmountMinor: 1000,
					Currency: "EUR", ReceivedAt: paid}, paid); err != nil {
					t.Fatal(err)
				}
				if err := s.SaveStatus(ctx, invoice.Status{InvoiceID: id, Stage: invoice.StagePaid, ClosedAt: &paid}, paid); err != nil {
					t.Fatal(err)
				}
				task, created, err := AfterPaid(ctx, s, id, DefaultTrendRule, paid)
				if err != nil {
					t.Fatal(err)
				}
				return task, created
			}
			for i, late := range []int{0, 1, 0, 0, 2} { // on time: nothing to do
				if _, created := pay(i, late); created {
					t.Fatalf("invoice %d: task while paying on time", i)
				}
			}
			task, created := pay(5, 30) // recent 0, 2, 30 against 0, 1, 0, 0: worsening
			if !created || task.Kind != TaskPaymentTrend || task.Assignee != "mia@ar.test" || task.InvoiceID != "inv-05" {
				t.Fatalf("task %+v created %v", task, created)
			}
			// The same status saved again (a retried activity): the same task.
			again, created, err := AfterPaid(ctx, s, "inv-05", DefaultTrendRule, now)
			if err != nil || created || again.ID != task.ID {
				t.Fatalf("retry: %+v %v %v", again, created, err)
			}
			// Still worsening: no new task for the same trend.
			if _, created := pay(6, 35); created {
				t.Fatal("a second task while the trend stays worsening")
			}
			open, err := s.CustomerTasks(ctx, "acme", db.TaskOpen)
			if err != nil || len(open) != 1 {
				t.Fatalf("open tasks %v %v", open, err)
			}
			// An invoice that is not paid does nothing.
			if _, created, err := AfterPaid(ctx, s, "missing", DefaultTrendRule, time.Now()); err == nil || created {
				t.Fatal("an unknown invoice is an error")
			}
		})
	}
}
