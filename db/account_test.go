package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// walk pages a list of the account through its cursors (the opaque form)
// and returns every id, failing on a repeat.
func walk(t *testing.T, page func(after *db.PageKey) ([]string, *db.PageKey, error)) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	var after *db.PageKey
	for n := 0; n < 1000; n++ {
		ids, next, err := page(after)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s on two pages", id)
			}
			seen[id] = true
		}
		out = append(out, ids...)
		if next == nil {
			return out
		}
		if after, err = db.DecodePageKey(next.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the cursor does not end")
	return nil
}

func TestAccountPages(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			b := newBook(t, d, [2]string{"acme", "mia"}, [2]string{"beta", "leo"})
			ctx := context.Background()
			s := b.s
			// Open invoices due 50, 10 (two: numbers order them), -5 days;
			// closed ones due 40 and 20 days ago; one of another customer.
			closed := wlNow.AddDate(0, 0, -1)
			c1 := mkInvoice("c1", "acme", 1000, "EUR", 40, invoice.StagePaid)
			c1.ClosedAt = &closed
			c2 := mkInvoice("c2", "acme", 1000, "EUR", 20, invoice.StageCancelled)
			c2.ClosedAt = &closed
			o2 := mkInvoice("o2", "acme", 2000, "USD", 10, invoice.StageInquired)
			o2.Number = "A-o2" // before N-o3 at the same due date
			b.add(mkInvoice("o1", "acme", 5000, "EUR", 50, invoice.StagePressing), o2,
				mkInvoice("o3", "acme", 3000, "EUR", 10, invoice.StageInquired),
				mkInvoice("o4", "acme", 7000, "EUR", -5, invoice.StageNotified), c1, c2,
				mkInvoice("x1", "beta", 9999, "EUR", 10, invoice.StageInquired))
			for _, n := range []int{1, 2, 3, 100} {
				got := walk(t, func(after *db.PageKey) ([]string, *db.PageKey, error) {
					invs, next, err := s.AccountInvoices(ctx, "acme", after, n)
					ids := make([]string, len(invs))
					for i, inv := range invs {
						ids[i] = inv.ID
					}
					return ids, next, err
				})
				if fmt.Sprint(got) != "[o1 o2 o3 o4 c2 c1]" {
					t.Fatalf("invoices in pages of %d: %v", n, got)
				}
			}
			// Payments, newest first, two at the same moment ordered by id.
			for i, at := range []time.Time{wlNow.Add(-3 * time.Hour), wlNow.Add(-time.Hour), wlNow.Add(-time.Hour), wlNow} {
				if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: fmt.Sprintf("p%d", i), InvoiceID: "o1", Reference: fmt.Sprint(i),
					AmountMinor: 100, Currency: "EUR", ReceivedAt: at}, wlNow); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "px", InvoiceID: "x1", Reference: "x", AmountMinor: 1, Currency: "EUR",
				ReceivedAt: wlNow}, wlNow); err != nil {
				t.Fatal(err)
			}
			got := walk(t, func(after *db.PageKey) ([]string, *db.PageKey, error) {
				ps, next, err := s.AccountPayments(ctx, "acme", after, 1)
				ids := make([]string, len(ps))
				for i, p := range ps {
					ids[i] = p.ID + "/" + p.Number
				}
				return ids, next, err
			})
			if fmt.Sprint(got) != "[p3/N-o1 p2/N-o1 p1/N-o1 p0/N-o1]" {
				t.Fatalf("payments: %v", got)
			}
			// Notes and messages newest first, tasks soonest due first.
			for i := range 5 {
				at := wlNow.Add(time.Duration(i) * time.Minute)
				if err := s.InsertNote(ctx, &db.Note{ID: fmt.Sprintf("n%d", i), CustomerID: "acme", Kind: "call", Body: "b", CreatedAt: at}); err != nil {
					t.Fatal(err)
				}
				b.task(fmt.Sprintf("t%d", i), "o1", "acme", "mia", wlNow.Add(-time.Duration(i)*time.Hour))
			}
			got = walk(t, func(after *db.PageKey) ([]string, *db.PageKey, error) {
				ns, next, err := s.AccountNotes(ctx, "acme", after, 2)
				ids := make([]string, len(ns))
				for i, n := range ns {
					ids[i] = n.ID
				}
				return ids, next, err
			})
			if fmt.Sprint(got) != "[n4 n3 n2 n1 n0]" {
				t.Fatalf("notes: %v", got)
			}
			got = walk(t, func(after *db.PageKey) ([]string, *db.PageKey, error) {
				ts, next, err := s.AccountTasks(ctx, "acme", after, 2)
				ids := make([]string, len(ts))
				for i, tk := range ts {
					ids[i] = tk.ID
				}
				return ids, next, err
			})
			if fmt.Sprint(got) != "[t4 t3 t2 t1 t0]" {
				t.Fatalf("tasks: %v", got)
			}
			cnt, err := s.CountAccount(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			if cnt != (db.AccountCounts{Invoices: 6, OpenInvoices: 4, Payments: 4, Messages: 0, Notes: 5, OpenTasks: 5, PaidInvoices: 1}) {
				t.Fatalf("counts: %+v", cnt)
			}
			ag, err := s.Aging(ctx, db.AgingFilter{CustomerID: "acme"}, wlNow)
			if err != nil {
				t.Fatal(err)
			}
			// EUR: o1 50 days (5000 less 400 paid), o3 10 days, o4 not yet due; USD: o2 10 days.
			if fmt.Sprintf("%+v", ag) != "[{Currency:EUR OpenMinor:14600 Current:7000 Days1To30:3000 Days31To60:4600 Days61To90:0 Over90:0 Invoices:3} "+
				"{Currency:USD OpenMinor:2000 Current:0 Days1To30:2000 Days31To60:0 Days61To90:0 Over90:0 Invoices:1}]" {
				t.Fatalf("aging: %+v", ag)
			}
			if _, err := db.DecodePageKey("%%%"); err == nil || !strings.Contains(err.Error(), "cursor") {
				t.Fatalf("a forged cursor: %v", err)
			}
		})
	}
}
