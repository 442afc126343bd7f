package desk

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

type readEnv struct {
	t     *testing.T
	store *db.Store
	now   time.Time
}

func newReadEnv(t *testing.T, d dbtest.Database) *readEnv {
	env := &readEnv{t: t, store: db.NewStore(d.DB), now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	limit := int64(200000)
	for _, c := range []*db.Customer{
		{ID: "acme", Name: "Acme", Email: "ap@acme.test", Timezone: "UTC", Locale: "en", AccountManager: "mia",
			CreditLimitMinor: &limit, CreditCurrency: "EUR"},
		{ID: "beta", Name: "Beta", Email: "ap@beta.test", Timezone: "UTC", Locale: "en", AccountManager: "leo"},
	} {
		c.CreatedAt, c.UpdatedAt = env.now, env.now
		if _, err := env.store.InsertCustomer(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// invoice stores an open invoice due days ago (negative: in the future).
func (env *readEnv) invoice(id, customerID string, minor int64, currency string, overdueDays int) {
	env.t.Helper()
	due := env.now.AddDate(0, 0, -overdueDays)
	if _, err := env.store.InsertInvoice(context.Background(), &db.Invoice{ID: id, Number: "N-" + id, CustomerID: customerID,
		AmountMinor: minor, BalanceMinor: minor, Currency: currency, IssuedAt: due.AddDate(0, 0, -30), DueAt: due,
		Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1, WorkflowID: "invoice:" + id,
		CreatedAt: env.now, UpdatedAt: env.now}); err != nil {
		env.t.Fatal(err)
	}
}

func TestLoadWorklist(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			env := newReadEnv(t, d)
			ctx := context.Background()
			env.invoice("a1", "acme", 10000, "EUR", 10)
			env.invoice("a2", "acme", 100000, "EUR", 40)
			env.invoice("a3", "acme", 5000, "USD", 5)
			env.invoice("b1", "beta", 9000, "EUR", 20)
			// Leo's invoice, with a task reassigned to Mia.
			if _, _, err := env.store.ClaimTask(ctx, &db.Task{ID: "t1", InvoiceID: "b1", CustomerID: "beta", Key: "k", Kind: "call",
				Assignee: "mia", Title: "Call Beta", Status: db.TaskOpen, DueAt: env.now.Add(time.Hour), CreatedAt: env.now}); err != nil {
				t.Fatal(err)
			}

			l, err := LoadWorklist(ctx, env.store, Query{Manager: "mia", Limit: 2}, env.now)
			if err != nil {
				t.Fatal(err)
			}
			if l.Total != 4 || len(l.Rows) != 2 || l.Rows[0].InvoiceID != "a2" || !l.AsOf.Equal(env.now) {
				t.Fatalf("mia's first two of %d rows: %+v", l.Total, l.Rows)
			}
			// The aging is Mia's book: Acme's EUR and USD, not Beta's invoice.
			if len(l.Aging) != 2 || l.Aging[0].Currency != "EUR" || l.Aging[0].OpenMinor != 110000 || l.Aging[1].OpenMinor != 5000 {
				t.Fatalf("aging: %+v", l.Aging)
			}

			l, err = LoadWorklist(ctx, env.store, Query{Manager: "mia", Currency: "EUR", Limit: 10}, env.now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range l.Rows {
				got = append(got, fmt.Sprintf("%s chase=%v tasks=%d", r.InvoiceID, r.Chase, len(r.Tasks)))
			}
			// Beta's invoice is there for Mia's task only, not chased.
			if fmt.Sprint(got) != "[a2 chase=true tasks=0 a1 chase=true tasks=0 b1 chase=false tasks=1]" {
				t.Fatalf("mia's EUR rows: %v", got)
			}
		})
	}
}

func TestLoadAccount(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			env := newReadEnv(t, d)
			ctx := context.Background()
			env.invoice("a1", "acme", 150000, "EUR", 10)
			env.invoice("a2", "acme", 30000, "EUR", -5)
			env.invoice("a3", "acme", 20000, "EUR", 60)
			paid := env.now.AddDate(0, 0, -3)
			if err := env.store.SaveStatus(ctx, invoice.Status{InvoiceID: "a3", Stage: invoice.StagePaid, ClosedAt: &paid}, paid); err != nil {
				t.Fatal(err)
			}
			for i, p := range []db.Payment{
				{ID: "p1", InvoiceID: "a1", Reference: "r1", AmountMinor: 50000, Currency: "EUR", ReceivedAt: env.now.AddDate(0, 0, -5)},
				{ID: "p2", InvoiceID: "a3", Reference: "r2", AmountMinor: 20000, Currency: "EUR", ReceivedAt: paid},
			} {
				if _, _, err := env.store.RecordPayment(ctx, &p, env.now); err != nil {
					t.Fatalf("payment %d: %v", i, err)
				}
			}
			if _, err := env.store.RecordRefund(ctx, db.Refund{InvoiceID: "a1", Reference: "re", AmountMinor: 1000, Currency: "EUR",
				ReceivedAt: env.now.AddDate(0, 0, -1)}, env.now); err != nil {
				t.Fatal(err)
			}
			for i := range AccountItems + 5 {
				if err := env.store.InsertNote(ctx, &db.Note{ID: fmt.Sprintf("n%02d", i), CustomerID: "acme", Kind: "call", Body: "b",
					CreatedAt: env.now.Add(time.Duration(i) * time.Minute)}); err != nil {
					t.Fatal(err)
				}
			}
			cust, err := env.store.GetCustomer(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			a, err := LoadAccount(ctx, env.store, cust, env.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Invoices) != 3 || len(a.Open) != 2 || a.Open[0].ID != "a1" || a.Open[1].ID != "a2" {
				t.Fatalf("invoices %d, open %+v", len(a.Invoices), a.Open)
			}
			var pays []string
			for _, p := range a.Payments {
				pays = append(pays, fmt.Sprintf("%s %s %d", p.Number, p.Kind, p.AmountMinor))
			}
			if fmt.Sprint(pays) != "[N-a1 refund -1000 N-a3 payment 20000 N-a1 payment 50000]" {
				t.Fatalf("payments, newest first: %v", pays)
			}
			// a1's balance is 1,010.00 after the payment and the refund, a2's 300.00.
			if a.Credit == nil || a.Credit.UsedMinor != 131000 || a.Credit.AvailableMinor != 69000 {
				t.Fatalf("credit: %+v", a.Credit)
			}
			if len(a.Notes) != AccountItems || a.Notes[0].ID != fmt.Sprintf("n%02d", AccountItems+4) {
				t.Fatalf("notes: %d, newest %s", len(a.Notes), a.Notes[0].ID)
			}

			beta, err := env.store.GetCustomer(ctx, "beta")
			if err != nil {
				t.Fatal(err)
			}
			if b, err := LoadAccount(ctx, env.store, beta, env.now); err != nil || b.Credit != nil || len(b.Invoices) != 0 {
				t.Fatalf("beta: %+v, %v", b, err)
			}
		})
	}
}

// The score the database ranks by is the score the rule gives the loaded
// invoice (Score), for every kind of row: amounts across currencies and
// scales, days past the cap, broken promises, a worsening trend, stages,
// tasks overdue and due soon; and the order is the rule's order.
func TestDatabaseRanksByTheRule(t *testing.T) {
	if r := DefaultWeights.Rule(); r.AmountPerTenfold != 200 || r.PerDay != 10 || r.MaxDays != 180 || r.PerBrokenPromise != 150 ||
		r.WorseningTrend != 150 || r.Stage[invoice.StageEscalated] != 100 || r.TaskOverdue != 250 || r.TaskDue != 100 {
		t.Fatalf("rule in tenths: %+v", r)
	}
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			env := newReadEnv(t, d)
			ctx := context.Background()
			amounts := []int64{1, 999, 10000, 123456, 99999999, 100000000}
			currencies := []string{"EUR", "JPY", "KWD", "USD"}
			stages := []invoice.Stage{invoice.StageInquired, invoice.StagePressing, invoice.StageEscalated, invoice.StagePromised}
			for i := range 40 {
				id := fmt.Sprintf("i%02d", i)
				cust := []string{"acme", "beta"}[i%2]
				env.invoice(id, cust, amounts[i%len(amounts)], currencies[i%len(currencies)], []int{3, 45, 200, 31, 1}[i%5])
				st := invoice.Status{InvoiceID: id, Stage: stages[i%len(stages)]}
				for range i % 5 {
					st.Timeline = append(st.Timeline, invoice.Event{Kind: invoice.EventPromiseBroken, At: env.now.AddDate(0, 0, -i)})
				}
				if st.Stage == invoice.StagePromised && i%3 == 0 {
					st.Promise = &invoice.Promise{Date: env.now.AddDate(0, 0, 2)}
				}
				if err := env.store.SaveStatus(ctx, st, env.now); err != nil {
					t.Fatal(err)
				}
				if i%6 == 0 {
					due := env.now.Add(time.Duration(i-20) * time.Hour)
					if _, _, err := env.store.ClaimTask(ctx, &db.Task{ID: "t" + id, InvoiceID: id, CustomerID: cust, Key: "k", Kind: "call",
						Assignee: "mia", Title: "Call", Status: db.TaskOpen, DueAt: due, CreatedAt: env.now}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := env.store.SetPaymentTrend(ctx, "beta", string(TrendWorsening)); err != nil {
				t.Fatal(err)
			}
			l, err := LoadWorklist(ctx, env.store, Query{Limit: 500}, env.now)
			if err != nil {
				t.Fatal(err)
			}
			// The same book through the rule in Go.
			var items []Item
			for i := range 40 {
				inv, err := env.store.GetInvoice(ctx, fmt.Sprintf("i%02d", i))
				if err != nil {
					t.Fatal(err)
				}
				cust, err := env.store.GetCustomer(ctx, inv.CustomerID)
				if err != nil {
					t.Fatal(err)
				}
				tasks, err := env.store.OpenTasksOf(ctx, []string{inv.ID}, "")
				if err != nil {
					t.Fatal(err)
				}
				trend := TrendInsufficient
				if cust.ID == "beta" {
					trend = TrendWorsening
				}
				items = append(items, Item{Invoice: *inv, Customer: *cust, Trend: trend, Tasks: tasks, Chase: true})
			}
			want := Worklist(items, env.now, DefaultWeights)
			if len(l.Rows) != len(want) || l.Total != len(want) {
				t.Fatalf("%d rows (total %d), the rule in Go gives %d", len(l.Rows), l.Total, len(want))
			}
			for i := range want {
				g, w := l.Rows[i], want[i]
				if g.InvoiceID != w.InvoiceID || g.Score != w.Score || fmt.Sprint(g.Parts) != fmt.Sprint(w.Parts) || g.Reason != w.Reason ||
					g.Action != w.Action || g.DaysOverdue != w.DaysOverdue || g.Chase != w.Chase {
					t.Fatalf("row %d: database %+v\nrule %+v", i, g, w)
				}
			}
		})
	}
}

// Customers from before the stored trend get it at start; the worklist
// ranks by it.
func TestBackfillTrends(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			env := newReadEnv(t, d)
			ctx := context.Background()
			// Beta paid on time, then later and later: worsening.
			for i, late := range []int{0, 1, 0, 9, 14, 20} {
				id := fmt.Sprintf("p%d", i)
				env.invoice(id, "beta", 10000, "EUR", 400-30*i)
				inv, err := env.store.GetInvoice(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				paid := inv.DueAt.AddDate(0, 0, late)
				if _, _, err := env.store.RecordPayment(ctx, &db.Payment{ID: "pay-" + id, InvoiceID: id, Reference: id, AmountMinor: 10000,
					Currency: "EUR", ReceivedAt: paid}, paid); err != nil {
					t.Fatal(err)
				}
				if err := env.store.SaveStatus(ctx, invoice.Status{InvoiceID: id, Stage: invoice.StagePaid, ClosedAt: &paid}, paid); err != nil {
					t.Fatal(err)
				}
			}
			env.invoice("b1", "beta", 10000, "EUR", 10)
			l, err := LoadWorklist(ctx, env.store, Query{Limit: 5}, env.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Rows) != 1 || l.Rows[0].Trend != TrendInsufficient {
				t.Fatalf("before the backfill: %+v", l.Rows)
			}
			if err := BackfillTrends(ctx, env.store); err != nil {
				t.Fatal(err)
			}
			l, err = LoadWorklist(ctx, env.store, Query{Limit: 5}, env.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Rows) != 1 || l.Rows[0].Trend != TrendWorsening || !strings.Contains(l.Rows[0].Reason, "later and later") {
				t.Fatalf("after the backfill: %+v", l.Rows)
			}
			// Acme has no paid invoice: nothing to compute, nothing stored.
			if ids, err := env.store.CustomersWithoutTrend(ctx, "", 10); err != nil || len(ids) != 0 {
				t.Fatalf("left to backfill: %v %v", ids, err)
			}
		})
	}
}
