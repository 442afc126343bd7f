package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// A statement is read by the database: the aging buckets by days past due
// per currency, bounded lists with their full counts, only this customer's
// open invoices, and payments within the window.
func TestStatementsAgeAndCountInTheDatabase(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			day := 24 * time.Hour
			for _, id := range []string{"cus-a", "cus-b"} {
				if _, err := s.InsertCustomer(ctx, &db.Customer{ID: id, Name: id, Timezone: "UTC", CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			add := func(id, cust, cur string, balance int64, due time.Time, closed bool) {
				t.Helper()
				inv := &db.Invoice{ID: id, Number: "N-" + id, CustomerID: cust, AmountMinor: balance + 100, BalanceMinor: balance,
					Currency: cur, IssuedAt: due.Add(-30 * day), DueAt: due, Stage: invoice.StageIssued, CreatedAt: now, UpdatedAt: now}
				if closed {
					inv.ClosedAt = &now
				}
				if _, err := s.InsertInvoice(ctx, inv); err != nil {
					t.Fatal(err)
				}
			}
			add("cur", "cus-a", "EUR", 1000, now.Add(time.Hour), false) // not yet due
			add("d1", "cus-a", "EUR", 200, now.Add(-time.Hour), false)  // 1 day past due
			add("d30", "cus-a", "EUR", 30, now.Add(-30*day), false)     // 30 days: still 1-30
			add("d31", "cus-a", "EUR", 31, now.Add(-31*day), false)     // 31 days
			add("d61", "cus-a", "EUR", 61, now.Add(-61*day), false)
			add("d91", "cus-a", "EUR", 91, now.Add(-91*day), false)
			add("usd", "cus-a", "USD", 5000, now.Add(-45*day), false)
			add("paid", "cus-a", "EUR", 0, now.Add(-10*day), true)    // closed: not on the statement
			add("other", "cus-b", "EUR", 777, now.Add(-5*day), false) // another customer's

			aging, err := s.Aging(ctx, db.AgingFilter{CustomerID: "cus-a"}, now)
			if err != nil {
				t.Fatal(err)
			}
			want := []db.OpenAging{
				{Currency: "EUR", Invoices: 6, OpenMinor: 1413, Current: 1000, Days1To30: 230, Days31To60: 31, Days61To90: 61, Over90: 91},
				{Currency: "USD", Invoices: 1, OpenMinor: 5000, Days31To60: 5000},
			}
			if fmt.Sprint(aging) != fmt.Sprint(want) {
				t.Errorf("aging:\n got %+v\nwant %+v", aging, want)
			}

			rows, total, err := s.StatementInvoices(ctx, "cus-a", 3)
			if err != nil {
				t.Fatal(err)
			}
			if total != 7 || len(rows) != 3 || rows[0].ID != "d91" || rows[1].ID != "d61" || rows[2].ID != "usd" {
				t.Errorf("invoices: total %d, rows %v", total, ids(rows))
			}

			pay := func(id, inv string, amount int64, at time.Time) {
				t.Helper()
				if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: id, InvoiceID: inv, Reference: id, AmountMinor: amount, Currency: "EUR", ReceivedAt: at}, now); err != nil {
					t.Fatal(err)
				}
			}
			pay("p-old", "d1", 5, now.Add(-100*day))
			pay("p1", "d1", 10, now.Add(-2*day))
			pay("p2", "d30", 20, now.Add(-1*day))
			pay("p3", "d31", 1, now.Add(-3*day))
			pay("p-other", "other", 7, now.Add(-1*day))
			ps, total, err := s.StatementPayments(ctx, "cus-a", now.Add(-90*day), 2)
			if err != nil {
				t.Fatal(err)
			}
			if total != 3 || len(ps) != 2 || ps[0].ID != "p2" || ps[0].InvoiceNumber != "N-d30" || ps[1].ID != "p1" || ps[1].AmountMinor != 10 {
				t.Errorf("payments: total %d, rows %+v", total, ps)
			}
			ip, total, err := s.InvoicePaymentsPage(ctx, "d1", 1)
			if err != nil {
				t.Fatal(err)
			}
			if total != 2 || len(ip) != 1 || ip[0].ID != "p1" {
				t.Errorf("invoice payments: total %d, rows %+v", total, ip)
			}
		})
	}
}

func ids(invs []db.Invoice) []string {
	var out []string
	for _, i := range invs {
		out = append(out, i.ID)
	}
	return out
}
