package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/reports"
)

// The plan-kept rate counts plans completed and broken in the period, per
// currency, as the database aggregates them from payment_plans; plans
// declined, cancelled, still running or ended outside the period count
// neither way, and a plan saved again is one plan.
func TestPlanKeptRate(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			store := db.NewStore(d.DB)
			at := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v.Add(12 * time.Hour) }
			if _, err := store.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", Timezone: "UTC", CreatedAt: at("2026-01-01"), UpdatedAt: at("2026-01-01")}); err != nil {
				t.Fatal(err)
			}
			n := 0
			plan := func(currency, state string, total int64, ended string) {
				n++
				id := fmt.Sprintf("i%d", n)
				if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: id, Number: id, CustomerID: "acme", AmountMinor: total, BalanceMinor: total,
					Currency: currency, IssuedAt: at("2026-09-01"), DueAt: at("2026-10-01"), Stage: invoice.StageOnPlan, PolicyName: "standard",
					PolicyVersion: 1, WorkflowID: "invoice:" + id, CreatedAt: at("2026-09-01"), UpdatedAt: at("2026-09-01")}); err != nil {
					t.Fatal(err)
				}
				p := &invoice.Plan{Number: 1, State: invoice.PlanActive, TotalMinor: total, ProposedAt: at("2026-09-05"),
					Instalments: []invoice.Instalment{{AmountMinor: total / 2}, {AmountMinor: total - total/2}}}
				st := invoice.Status{InvoiceID: id, Currency: currency, Plan: p}
				if err := store.SavePaymentPlan(ctx, st, at("2026-09-05")); err != nil {
					t.Fatal(err)
				}
				if ended != "" {
					e := at(ended)
					p.State, p.EndedAt = state, &e
					if err := store.SavePaymentPlan(ctx, st, e); err != nil { // saved again: brought up to date
						t.Fatal(err)
					}
				}
			}
			plan("EUR", invoice.PlanCompleted, 100000, "2026-10-03")
			plan("EUR", invoice.PlanCompleted, 50000, "2026-10-31")
			plan("EUR", invoice.PlanBroken, 30000, "2026-10-15")
			plan("EUR", invoice.PlanBroken, 99900, "2026-11-01") // after the period
			plan("EUR", invoice.PlanCancelled, 12300, "2026-10-10")
			plan("EUR", invoice.PlanDeclined, 45600, "2026-10-11")
			plan("EUR", invoice.PlanActive, 78900, "")
			plan("USD", invoice.PlanBroken, 20000, "2026-10-20")
			october := reports.Params{From: at("2026-10-01"), To: at("2026-10-31"), AsOf: at("2026-10-31")}
			r, _, err := reports.Run(ctx, store, reports.PlanKept, october)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, row := range r.Rows {
				got += fmt.Sprintf("%v %v %v %v %v %v\n", row["currency"], row["kept"], row["broken"], row["kept_rate"], row["kept_amount"], row["broken_amount"])
			}
			if want := "EUR 2 1 66.7 1500.00 300.00\nUSD 0 1 0 0.00 200.00\n"; got != want {
				t.Fatalf("rows:\n%s\nwant:\n%s", got, want)
			}
			r, _, err = reports.Run(ctx, store, reports.PlanKept, reports.Params{From: october.From, To: october.To, AsOf: october.AsOf, Currency: "USD"})
			if err != nil || len(r.Rows) != 1 || r.Rows[0]["currency"] != "USD" || r.Definition == "" || r.Name != reports.PlanKept {
				t.Fatalf("USD only: %+v %v", r, err)
			}
			none, _, err := reports.Run(ctx, store, reports.PlanKept, reports.Params{From: at("2025-01-01"), To: at("2025-01-31"), AsOf: at("2025-01-31")})
			if err != nil || len(none.Rows) != 0 {
				t.Fatalf("no plans ended: %+v %v", none, err)
			}
		})
	}
}
