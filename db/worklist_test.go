package db_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// rule is desk.DefaultWeights in tenths (desk's tests check Weights.Rule).
var rule = db.WorklistRule{AmountPerTenfold: 200, PerDay: 10, MaxDays: 180, PerBrokenPromise: 150, MaxBrokenPromises: 3,
	WorseningTrend: 150, Stage: map[invoice.Stage]int64{invoice.StagePressing: 50, invoice.StageEscalated: 100},
	TaskOverdue: 250, TaskDue: 100, TaskDueWithin: 24 * time.Hour}

var wlNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

type book struct {
	t *testing.T
	s *db.Store
}

func newBook(t *testing.T, d dbtest.Database, customers ...[2]string) *book {
	b := &book{t: t, s: db.NewStore(d.DB)}
	for _, c := range customers {
		if _, err := b.s.InsertCustomer(context.Background(), &db.Customer{ID: c[0], Name: "Customer " + c[0], Email: c[0] + "@x.test",
			Timezone: "UTC", Locale: "en", AccountManager: c[1], CreatedAt: wlNow, UpdatedAt: wlNow}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func mkInvoice(id, customer string, minor int64, currency string, daysOverdue int, stage invoice.Stage) db.Invoice {
	due := wlNow.AddDate(0, 0, -daysOverdue)
	return db.Invoice{ID: id, Number: "N-" + id, CustomerID: customer, AmountMinor: minor, BalanceMinor: minor, Currency: currency,
		IssuedAt: due.AddDate(0, 0, -30), DueAt: due, Stage: stage, PolicyName: "standard", PolicyVersion: 1,
		WorkflowID: "invoice:" + id, CreatedAt: wlNow, UpdatedAt: wlNow}
}

func (b *book) add(invs ...db.Invoice) {
	b.t.Helper()
	ctx := context.Background()
	for i := range invs {
		if _, err := b.s.InsertInvoice(ctx, &invs[i]); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *book) task(id, invoiceID, customer, assignee string, due time.Time) {
	b.t.Helper()
	if _, _, err := b.s.ClaimTask(context.Background(), &db.Task{ID: id, InvoiceID: invoiceID, CustomerID: customer, Key: id,
		Kind: "call", Assignee: assignee, Title: "Call", Status: db.TaskOpen, DueAt: due, CreatedAt: wlNow}); err != nil {
		b.t.Fatal(err)
	}
}

// all walks every page of the worklist, size n, checking each page's
// order and that no row comes twice.
func (b *book) all(f db.WorklistFilter, n int) []db.WorklistRow {
	b.t.Helper()
	var out []db.WorklistRow
	var after *db.WorklistKey
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			b.t.Fatal("the cursor does not end")
		}
		if after != nil { // the cursor goes through its opaque form
			k, err := db.DecodeWorklistCursor(after.Encode())
			if err != nil {
				b.t.Fatal(err)
			}
			after = &k
		}
		p, err := b.s.Worklist(context.Background(), f, rule, wlNow, after, n)
		if err != nil {
			b.t.Fatal(err)
		}
		if !p.AsOf.Equal(wlNow) {
			b.t.Fatalf("as of %v, want %v", p.AsOf, wlNow)
		}
		for _, r := range p.Rows {
			if seen[r.InvoiceID] {
				b.t.Fatalf("%s on two pages", r.InvoiceID)
			}
			seen[r.InvoiceID] = true
		}
		out = append(out, p.Rows...)
		if p.Next == nil {
			if len(out) != p.Total {
				b.t.Fatalf("%d rows over the pages, total says %d", len(out), p.Total)
			}
			break
		}
		after = p.Next
	}
	for i := 1; i < len(out); i++ {
		if !before(out[i-1], out[i]) {
			b.t.Fatalf("row %d (%+v) ranks after row %d (%+v)", i-1, out[i-1], i, out[i])
		}
	}
	return out
}

// before is the documented order, in Go.
func before(a, b db.WorklistRow) bool {
	switch {
	case a.ScoreTenths != b.ScoreTenths:
		return a.ScoreTenths > b.ScoreTenths
	case a.DaysOverdue != b.DaysOverdue:
		return a.DaysOverdue > b.DaysOverdue
	case !a.NextTaskDue.Equal(b.NextTaskDue):
		return a.NextTaskDue.Before(b.NextTaskDue)
	case a.Currency != b.Currency:
		return a.Currency < b.Currency
	case a.OverdueMinor != b.OverdueMinor:
		return a.OverdueMinor > b.OverdueMinor
	case a.Number != b.Number:
		return a.Number < b.Number
	}
	return a.InvoiceID < b.InvoiceID
}

func rowIDs(rows []db.WorklistRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.InvoiceID
	}
	return out
}

func sorted(rows []db.WorklistRow) string {
	s := rowIDs(rows)
	sort.Strings(s)
	return fmt.Sprint(s)
}

// The case: a book larger than the old 10,000-row bound, every
// invoice the same days overdue, and one of 1,000,000.00 among them, due
// last: it ranks first, and the total counts the whole book.
func TestWorklistRanksTheWholeBook(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			b := newBook(t, d, [2]string{"c1", "mia"})
			ctx := context.Background()
			const n = 10050
			invs := make([]db.Invoice, 0, 500)
			flush := func() {
				if len(invs) > 0 {
					if _, err := d.DB.NewInsert().Model(&invs).Exec(ctx); err != nil {
						t.Fatal(err)
					}
					invs = invs[:0]
				}
			}
			for i := range n {
				invs = append(invs, mkInvoice(fmt.Sprintf("inv-%05d", i), "c1", 10000, "EUR", 30, invoice.StageInquired))
				if len(invs) == cap(invs) {
					flush()
				}
			}
			big := mkInvoice("inv-zbig", "c1", 100000000, "EUR", 30, invoice.StageInquired)
			big.Number = "N-zzzz" // last by number, last by id, last inserted
			invs = append(invs, big)
			flush()
			p, err := b.s.Worklist(ctx, db.WorklistFilter{}, rule, wlNow, nil, 5)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != n+1 || len(p.Rows) != 5 || p.Rows[0].InvoiceID != "inv-zbig" || p.Next == nil {
				t.Fatalf("total %d, first page %v", p.Total, rowIDs(p.Rows))
			}
			// 1,000,000.00 EUR 30 days overdue: 20 × log10(1,000,001) + 30 = 150.0 points.
			if r := p.Rows[0]; r.ScoreTenths != 1500 || r.DaysOverdue != 30 || !r.Chase || r.OverdueMinor != 100000000 {
				t.Fatalf("first row: %+v", r)
			}
			// 100.00 EUR: 20 × log10(101) = 40.1, + 30 days.
			if r := p.Rows[1]; r.ScoreTenths != 701 || r.InvoiceID != "inv-00000" {
				t.Fatalf("second row: %+v", r)
			}
			// The aging counts the whole book too.
			ag, err := b.s.Aging(ctx, db.AgingFilter{}, wlNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(ag) != 1 || ag[0].OpenMinor != n*10000+100000000 || ag[0].Days1To30 != ag[0].OpenMinor {
				t.Fatalf("aging: %+v", ag)
			}
			// Deep pages: the last page holds the last rows, none lost.
			last := db.WorklistKey{}
			for after := p.Next; after != nil; {
				q, err := b.s.Worklist(ctx, db.WorklistFilter{}, rule, wlNow, after, 500)
				if err != nil {
					t.Fatal(err)
				}
				if len(q.Rows) > 0 {
					last = q.Rows[len(q.Rows)-1].Key(wlNow.Unix())
				}
				after = q.Next
			}
			if last.InvoiceID != fmt.Sprintf("inv-%05d", n-1) {
				t.Fatalf("last row %+v", last)
			}
		})
	}
}

func TestWorklistFiltersAndCursor(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			b := newBook(t, d, [2]string{"acme", "mia"}, [2]string{"beta", "leo"}, [2]string{"gamma", "mia"})
			ctx := context.Background()
			promised := mkInvoice("p1", "acme", 5000, "EUR", 20, invoice.StagePromised)
			until := wlNow.AddDate(0, 0, 3)
			promised.Status = &invoice.Status{InvoiceID: "p1", Stage: invoice.StagePromised,
				Promise: &invoice.Promise{AmountMinor: 5000, Date: until}}
			broken := mkInvoice("bp", "gamma", 20000, "EUR", 45, invoice.StagePressing)
			broken.Status = &invoice.Status{InvoiceID: "bp", Stage: invoice.StagePressing, Timeline: []invoice.Event{
				{Kind: invoice.EventPromiseBroken, At: wlNow.AddDate(0, 0, -10)}, {Kind: invoice.EventPromiseBroken, At: wlNow.AddDate(0, 0, -5)}}}
			b.add(
				mkInvoice("a1", "acme", 10000, "EUR", 10, invoice.StageInquired),
				mkInvoice("a2", "acme", 250000, "EUR", 40, invoice.StagePressing),
				mkInvoice("a3", "acme", 5000, "USD", 5, invoice.StageInquired),
				mkInvoice("a4", "acme", 900000, "EUR", 120, invoice.StageEscalated),
				mkInvoice("a5", "acme", 7000, "EUR", 70, invoice.StagePressing),
				mkInvoice("f1", "acme", 3000, "EUR", -5, invoice.StageReminded), // not yet due, with a task
				mkInvoice("d1", "acme", 8000, "EUR", 30, invoice.StageDisputed), // not chased, no task: absent
				mkInvoice("b1", "beta", 9000, "EUR", 20, invoice.StageInquired),
				mkInvoice("b2", "beta", 4000, "GBP", 95, invoice.StageEscalated),
				promised, broken,
			)
			paid := mkInvoice("x1", "acme", 99999999, "EUR", 100, invoice.StagePaid)
			closed := wlNow.AddDate(0, 0, -1)
			paid.ClosedAt = &closed
			b.add(paid)
			b.task("t1", "b1", "beta", "mia", wlNow.Add(time.Hour))    // Leo's invoice, Mia's task, due soon
			b.task("t2", "f1", "acme", "mia", wlNow.Add(-2*time.Hour)) // overdue task on an invoice not yet due
			b.task("t3", "a1", "acme", "leo", wlNow.Add(72*time.Hour)) // due later: no points
			b.task("t4", "x1", "acme", "mia", wlNow.Add(-time.Hour))   // on a closed invoice: never listed
			if err := b.s.SetPaymentTrend(ctx, "gamma", "worsening"); err != nil {
				t.Fatal(err)
			}

			everything := b.all(db.WorklistFilter{}, 2)
			if got := sorted(everything); got != "[a1 a2 a3 a4 a5 b1 b2 bp f1]" {
				t.Fatalf("every row: %s", got)
			}
			byID := map[string]db.WorklistRow{}
			for _, r := range everything {
				byID[r.InvoiceID] = r
			}
			// Hand-computed scores (tenths): amount + days + promises + trend + stage + tasks.
			for id, want := range map[string]int64{
				"a1": 401 + 100,                  // 100.00, 10 days; t3 due in 3 days adds nothing
				"a4": 791 + 1200 + 100,           // 9,000.00, 120 days, escalated
				"bp": 461 + 450 + 300 + 150 + 50, // 200.00, 45 days, 2 broken, worsening, pressing
				"b1": 392 + 200 + 100,            // 90.00, 20 days, Mia's task due within a day
				"f1": 250,                        // not yet due: its overdue task only
			} {
				if got := byID[id].ScoreTenths; got != want {
					t.Errorf("%s scored %d tenths, want %d (%+v)", id, got, want, byID[id])
				}
			}
			if r := byID["f1"]; r.Chase || r.DaysOverdue != 0 || r.OverdueMinor != 0 || r.Tasks != 1 {
				t.Errorf("f1: %+v", r)
			}
			if r := byID["bp"]; r.BrokenPromises != 2 || r.PaymentTrend != "worsening" {
				t.Errorf("bp: %+v", r)
			}
			// Every page size gives the same order.
			for _, n := range []int{1, 3, 500} {
				if got, want := fmt.Sprint(rowIDs(b.all(db.WorklistFilter{}, n))), fmt.Sprint(rowIDs(everything)); got != want {
					t.Errorf("pages of %d: %s, want %s", n, got, want)
				}
			}

			yes, no := true, false
			for name, c := range map[string]struct {
				f    db.WorklistFilter
				want string
			}{
				// Mia's customers are chased; Leo's b1 is there for her task.
				"manager":              {db.WorklistFilter{Manager: "mia"}, "[a1 a2 a3 a4 a5 b1 bp f1]"},
				"leo":                  {db.WorklistFilter{Manager: "leo"}, "[a1 b1 b2]"},
				"currency":             {db.WorklistFilter{Currency: "EUR"}, "[a1 a2 a4 a5 b1 bp f1]"},
				"stage":                {db.WorklistFilter{Stage: invoice.StagePressing}, "[a2 a5 bp]"},
				"current":              {db.WorklistFilter{Bucket: db.BucketCurrent}, "[f1]"},
				"1-30":                 {db.WorklistFilter{Bucket: db.Bucket1To30}, "[a1 a3 b1]"},
				"31-60":                {db.WorklistFilter{Bucket: db.Bucket31To60}, "[a2 bp]"},
				"61-90":                {db.WorklistFilter{Bucket: db.Bucket61To90}, "[a5]"},
				"90+":                  {db.WorklistFilter{Bucket: db.BucketOver90}, "[a4 b2]"},
				"min amount":           {db.WorklistFilter{Currency: "EUR", MinBalanceMinor: 10000}, "[a1 a2 a4 bp]"},
				"has task":             {db.WorklistFilter{HasTask: &yes}, "[a1 b1 f1]"},
				"no task":              {db.WorklistFilter{HasTask: &no}, "[a2 a3 a4 a5 b2 bp]"},
				"mia, EUR, 1-30, task": {db.WorklistFilter{Manager: "mia", Currency: "EUR", Bucket: db.Bucket1To30, HasTask: &yes}, "[b1]"},
			} {
				if got := sorted(b.all(c.f, 2)); got != c.want {
					t.Errorf("%s: %s, want %s", name, got, c.want)
				}
			}
			// Leo's task on a1 counts for Leo only.
			for _, r := range b.all(db.WorklistFilter{Manager: "mia"}, 10) {
				if r.InvoiceID == "a1" && r.Tasks != 0 {
					t.Errorf("Leo's task counted in Mia's list: %+v", r)
				}
				if r.InvoiceID == "b1" && (r.Chase || r.Tasks != 1) {
					t.Errorf("b1 in Mia's list: %+v", r)
				}
			}
			if _, err := b.s.Worklist(ctx, db.WorklistFilter{Bucket: "100+"}, rule, wlNow, nil, 5); err == nil {
				t.Error("an unknown bucket was accepted")
			}
			if _, err := db.DecodeWorklistCursor("not-a-cursor"); err == nil {
				t.Error("a forged cursor was accepted")
			}

			// Facts stay current: a payment lowers the amount, a new due date
			// the days, a saved status the promises.
			if _, _, err := b.s.RecordPayment(ctx, &db.Payment{ID: "pay1", InvoiceID: "a4", Reference: "r1", AmountMinor: 899000,
				Currency: "EUR", ReceivedAt: wlNow}, wlNow); err != nil {
				t.Fatal(err)
			}
			if err := b.s.ChangeDueDate(ctx, "a1", wlNow.AddDate(0, 0, -2), wlNow); err != nil {
				t.Fatal(err)
			}
			if err := b.s.SaveStatus(ctx, invoice.Status{InvoiceID: "bp", Stage: invoice.StagePressing}, wlNow); err != nil {
				t.Fatal(err)
			}
			byID = map[string]db.WorklistRow{}
			for _, r := range b.all(db.WorklistFilter{}, 4) {
				byID[r.InvoiceID] = r
			}
			if r := byID["a4"]; r.BalanceMinor != 1000 || r.ScoreTenths != 208+1200+100 {
				t.Errorf("a4 after a payment: %+v", r)
			}
			if r := byID["a1"]; r.DaysOverdue != 2 || r.ScoreTenths != 401+20 {
				t.Errorf("a1 after a new due date: %+v", r)
			}
			if r := byID["bp"]; r.BrokenPromises != 0 || r.ScoreTenths != 461+450+150+50 {
				t.Errorf("bp after its status: %+v", r)
			}
			// A promise date passed: the promised invoice is chased again.
			later := wlNow.AddDate(0, 0, 4)
			p, err := b.s.Worklist(ctx, db.WorklistFilter{Stage: invoice.StagePromised}, rule, later, nil, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rows) != 1 || p.Rows[0].InvoiceID != "p1" || p.Rows[0].DaysOverdue != 24 {
				t.Errorf("promised, after its date: %+v", p.Rows)
			}
			if !slices.Contains(db.Buckets, db.BucketOver90) {
				t.Error("buckets")
			}
		})
	}
}

// Rows written before the worklist's columns existed get them at the next
// migration.
func TestWorklistBackfill(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			b := newBook(t, d, [2]string{"acme", "mia"})
			ctx := context.Background()
			b.add(mkInvoice("a1", "acme", 10000, "EUR", 10, invoice.StageInquired))
			if _, err := d.DB.NewUpdate().Table("invoices").Set("due_unix = NULL").Set("amount_log = NULL").Where("id = 'a1'").Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx, d.DB, nil); err != nil {
				t.Fatal(err)
			}
			inv, err := b.s.GetInvoice(ctx, "a1")
			if err != nil {
				t.Fatal(err)
			}
			if inv.DueUnix != wlNow.AddDate(0, 0, -10).Unix() || inv.AmountLog != db.AmountLog(10000, "EUR") || inv.AmountLog != 20043 {
				t.Fatalf("backfilled: due_unix %d amount_log %d", inv.DueUnix, inv.AmountLog)
			}
		})
	}
}
