package reports_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/reports"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(9 * time.Hour) // everything happens at 09:00 UTC
}

func sent(at, step, channel string) invoice.Event {
	return invoice.Event{At: d(at), Kind: invoice.EventMessage, Step: step, Channel: channel, Outcome: db.MessageSent}
}

func ev(at, kind string) invoice.Event { return invoice.Event{At: d(at), Kind: kind} }

func paid(at string, minor int64) invoice.Event {
	return invoice.Event{At: d(at), Kind: invoice.EventPayment, AmountMinor: minor}
}

func dispute(at, reason string) invoice.Event {
	return invoice.Event{At: d(at), Kind: invoice.EventDisputeOpened, Outcome: reason}
}

type crafted struct {
	id, customer, currency string
	issued, due            string
	amount                 int64
	payments               map[string]int64 // received day → amount
	stage                  invoice.Stage
	closed                 string
	timeline               []invoice.Event
}

// The dataset, on the standard policy (notify → notified, remind → reminded,
// inquire → inquired, overdue-15/30 → pressing, escalate → escalated).
// Customers: acme and beta (manager mia), gamma (no manager), yen (manager tom, JPY).
var dataset = []crafted{
	{id: "I1", customer: "acme", currency: "EUR", issued: "2026-08-01", due: "2026-08-31", amount: 100000,
		payments: map[string]int64{"2026-10-16": 10000}, stage: invoice.StageEscalated,
		timeline: []invoice.Event{sent("2026-08-01", "notify", "email"), sent("2026-08-24", "remind", "email"), sent("2026-09-01", "inquire", "email"),
			sent("2026-09-15", "overdue-15", "email"), sent("2026-09-15", "overdue-15", "sms"), sent("2026-09-30", "overdue-30", "email"),
			sent("2026-10-15", "escalate", "email"), sent("2026-10-15", "escalate:management", "manager"), ev("2026-10-15", invoice.EventEscalated),
			paid("2026-10-16", 10000)}},
	{id: "I2", customer: "acme", currency: "EUR", issued: "2026-09-10", due: "2026-10-10", amount: 50000,
		payments: map[string]int64{"2026-10-20": 20000}, stage: invoice.StageReminded,
		timeline: []invoice.Event{sent("2026-09-10", "notify", "email"), sent("2026-10-03", "remind", "email"), ev("2026-10-12", invoice.EventPromise),
			paid("2026-10-20", 20000), sent("2026-10-22", "promise-1:reminder", "email"), ev("2026-10-25", invoice.EventPromiseBroken)}},
	{id: "I3", customer: "beta", currency: "EUR", issued: "2026-09-01", due: "2026-10-01", amount: 200000,
		payments: map[string]int64{"2026-10-05": 200000}, stage: invoice.StagePaid, closed: "2026-10-05",
		timeline: []invoice.Event{sent("2026-09-01", "notify", "email"), sent("2026-09-24", "remind", "email"),
			sent("2026-10-02", "inquire", "email"), sent("2026-10-02", "inquire", "sms"), paid("2026-10-05", 200000), ev("2026-10-05", invoice.EventPaid)}},
	{id: "I4", customer: "beta", currency: "EUR", issued: "2026-10-05", due: "2026-11-04", amount: 80000, stage: invoice.StageDisputed,
		timeline: []invoice.Event{sent("2026-10-05", "notify", "email"), dispute("2026-10-20", "quality"),
			{At: d("2026-10-28"), Kind: invoice.EventMessage, Step: "remind", Channel: "email", Outcome: db.MessageSkipped}}},
	{id: "I5", customer: "gamma", currency: "EUR", issued: "2026-06-01", due: "2026-07-01", amount: 30000,
		payments: map[string]int64{"2026-07-15": 10000}, stage: invoice.StageDisputed,
		timeline: []invoice.Event{paid("2026-07-15", 10000), dispute("2026-10-08", "quality")}},
	{id: "I6", customer: "gamma", currency: "EUR", issued: "2026-10-10", due: "2026-10-20", amount: 40000,
		payments: map[string]int64{"2026-10-28": 40000}, stage: invoice.StagePaid, closed: "2026-10-28",
		timeline: []invoice.Event{ev("2026-10-21", invoice.EventPromise), paid("2026-10-28", 40000), ev("2026-10-28", invoice.EventPaid)}},
	{id: "I7", customer: "gamma", currency: "EUR", issued: "2026-10-02", due: "2026-11-01", amount: 99900, stage: invoice.StageCancelled, closed: "2026-10-03",
		timeline: []invoice.Event{ev("2026-10-03", invoice.EventCancelled)}},
	{id: "I8", customer: "acme", currency: "EUR", issued: "2026-09-05", due: "2026-10-05", amount: 60000,
		payments: map[string]int64{"2026-10-09": 30000}, stage: invoice.StageNotified,
		timeline: []invoice.Event{sent("2026-09-05", "notify", "email"), ev("2026-10-06", invoice.EventPromise), paid("2026-10-09", 30000),
			ev("2026-10-09", invoice.EventPromiseKept)}},
	{id: "I9", customer: "yen", currency: "JPY", issued: "2026-10-01", due: "2026-10-31", amount: 10000, stage: invoice.StageDisputed,
		timeline: []invoice.Event{sent("2026-10-01", "notify", "email"), dispute("2026-10-30", "pricing")}},
}

// seed writes the dataset. saved: each invoice's status is saved as its
// workflow saves it (the invoice events are written then); otherwise the
// invoices are inserted with their statuses and the events backfilled, as
// the migration does for statuses saved before the table existed.
func seed(t *testing.T, database dbtest.Database, saved bool) *db.Store {
	t.Helper()
	ctx := context.Background()
	store := db.NewStore(database.DB)
	for id, manager := range map[string]string{"acme": "mia@ar.test", "beta": "mia@ar.test", "gamma": "", "yen": "tom@ar.test"} {
		if _, err := store.InsertCustomer(ctx, &db.Customer{ID: id, Name: id, Email: "ap@" + id + ".test", Timezone: "UTC",
			AccountManager: manager, CreatedAt: d("2026-01-01"), UpdatedAt: d("2026-01-01")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range dataset {
		inv := &db.Invoice{ID: c.id, Number: c.id, CustomerID: c.customer, AmountMinor: c.amount, BalanceMinor: c.amount, Currency: c.currency,
			IssuedAt: d(c.issued), DueAt: d(c.due), Stage: c.stage, PolicyName: "standard", PolicyVersion: 1, WorkflowID: "invoice:" + c.id,
			CreatedAt: d(c.issued), UpdatedAt: d(c.issued)}
		st := &invoice.Status{InvoiceID: c.id, Stage: c.stage, Currency: c.currency, Timeline: c.timeline}
		if c.closed != "" {
			closed := d(c.closed)
			inv.ClosedAt, st.ClosedAt = &closed, &closed
		}
		if !saved {
			inv.Status = st
		}
		if _, err := store.InsertInvoice(ctx, inv); err != nil {
			t.Fatal(err)
		}
		for day, minor := range c.payments {
			if _, _, err := store.RecordPayment(ctx, &db.Payment{ID: c.id + "-" + day, InvoiceID: c.id, Reference: day,
				AmountMinor: minor, Currency: c.currency, ReceivedAt: d(day)}, d(day)); err != nil {
				t.Fatal(err)
			}
		}
		if saved {
			// Twice, and a shorter (older) status in between, as retries
			// do: the rows are written once.
			for _, tl := range [][]invoice.Event{c.timeline, c.timeline[:len(c.timeline)/2], c.timeline} {
				s := *st
				s.Timeline = tl
				if err := store.SaveStatus(ctx, s, d("2026-11-01")); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if !saved {
		if _, err := db.BackfillInvoiceEvents(ctx, database.DB, 4); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

// October 2026, as of its last day.
var october = reports.Params{From: d("2026-10-01"), To: d("2026-10-31"), AsOf: d("2026-10-31")}

func rows(t *testing.T, src reports.Source, name string, p reports.Params) string {
	t.Helper()
	r, ok, err := reports.Run(context.Background(), src, name, p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !ok {
		t.Fatalf("no report %s", name)
	}
	var out string
	for _, row := range r.Rows {
		line := ""
		for i, c := range r.Columns {
			if i > 0 {
				line += " "
			}
			b, _ := json.Marshal(row[c])
			line += string(b)
		}
		out += line + "\n"
	}
	return out
}

func TestReportsAgainstHandComputedNumbers(t *testing.T) {
	for _, saved := range []bool{false, true} {
		for _, database := range dbtest.All(t) {
			name := database.Name + "/backfilled"
			if saved {
				name = database.Name + "/saved"
			}
			t.Run(name, func(t *testing.T) { testReports(t, seed(t, database, saved)) })
		}
	}
}

func testReports(t *testing.T, store *db.Store) {
	for _, c := range []struct {
		name string
		p    reports.Params
		want string
	}{
		// Receivable at the end of 2026-10-31, days past due from the due date:
		// I1 1000.00 − 100.00 = 900.00, due 08-31: 61 days → 61-90 (acme, mia)
		// I2 500.00 − 200.00 = 300.00, due 10-10: 21 days → 1-30 (acme, mia)
		// I8 600.00 − 300.00 = 300.00, due 10-05: 26 days → 1-30 (acme, mia)
		// I4 800.00, due 11-04: not yet due → current (beta, mia)
		// I5 300.00 − 100.00 = 200.00, due 07-01: 122 days → 90+ (gamma, no manager)
		// I9 10000 JPY, due 10-31: 0 days → current (yen, tom)
		// I3 and I6 are paid; I7 is cancelled.
		{reports.Aging, october, `"customer" "acme" "EUR" "0.00" "600.00" "0.00" "900.00" "0.00" "1500.00"
"customer" "beta" "EUR" "800.00" "0.00" "0.00" "0.00" "0.00" "800.00"
"customer" "gamma" "EUR" "0.00" "0.00" "0.00" "0.00" "200.00" "200.00"
"customer" "yen" "JPY" "10000" "0" "0" "0" "0" "10000"
"manager" "(none)" "EUR" "0.00" "0.00" "0.00" "0.00" "200.00" "200.00"
"manager" "mia@ar.test" "EUR" "800.00" "600.00" "0.00" "900.00" "0.00" "2300.00"
"manager" "tom@ar.test" "JPY" "10000" "0" "0" "0" "0" "10000"
"currency" "EUR" "EUR" "800.00" "600.00" "0.00" "900.00" "200.00" "2500.00"
"currency" "JPY" "JPY" "10000" "0" "0" "0" "0" "10000"
`},
		// The same on 2026-09-30: I1 1000.00 30 days → 1-30; I5 200.00 91 days → 90+;
		// I2 500.00, I3 2000.00, I8 600.00 not yet due → current; the rest not issued yet.
		{reports.Aging, reports.Params{From: october.From, To: october.To, AsOf: d("2026-09-30"), Currency: "EUR"}, `"customer" "acme" "EUR" "1100.00" "1000.00" "0.00" "0.00" "0.00" "2100.00"
"customer" "beta" "EUR" "2000.00" "0.00" "0.00" "0.00" "0.00" "2000.00"
"customer" "gamma" "EUR" "0.00" "0.00" "0.00" "0.00" "200.00" "200.00"
"manager" "(none)" "EUR" "0.00" "0.00" "0.00" "0.00" "200.00" "200.00"
"manager" "mia@ar.test" "EUR" "3100.00" "1000.00" "0.00" "0.00" "0.00" "4100.00"
"currency" "EUR" "EUR" "3100.00" "1000.00" "0.00" "0.00" "200.00" "4300.00"
`},
		// EUR: receivables 2500.00. October's sales 1200.00 (I4 800 + I6 400; I7 cancelled):
		// 31 days, 1300.00 left. September's sales 3100.00 (I2 500 + I3 2000 + I8 600) cover it:
		// 1300/3100 × 30 = 12.58 days. 31 + 12.58 = 43.6.
		// JPY: 10000 left, October's sales 10000 cover it: 31 × 1 = 31.0.
		{reports.DSO, october, `"EUR" "2500.00" 2 43.6
"JPY" "10000" 1 31
`},
		// EUR: beginning (start of 10-01) I1 1000 + I2 500 + I3 2000 + I5 200 + I8 600 = 4300.00;
		// sales 1200.00; ending 2500.00; ending current I4 800.00.
		// (4300 + 1200 − 2500) / (4300 + 1200 − 800) = 3000 / 4700 = 63.8%.
		// JPY: (0 + 10000 − 10000) / (0 + 10000 − 10000): divisor 0 → null.
		{reports.CEI, october, `"EUR" "4300.00" "1200.00" "2500.00" "800.00" 63.8
"JPY" "0" "10000" "10000" "10000" null
`},
		// Kept: I8 (promise_kept 10-09), I6 (paid in full 10-28 while the promise stood);
		// broken: I2 (10-25). 2 / 3 = 66.7%.
		{reports.Promises, october, "2 1 66.7\n"},
		// Opened in October: I9 pricing 10000 JPY; I5 quality at 200.00 (300 − 100 paid in July),
		// I4 quality at 800.00.
		{reports.Disputes, october, `"pricing" "JPY" 1 "10000"
"quality" "EUR" 2 "1000.00"
`},
		// October payments: I1 100.00 after escalation → escalated; I3 2000.00 after the inquiry
		// → inquired; I2 200.00, I6 400.00, I8 300.00 under a promise → promised (900.00).
		// I5's July payment is outside the period.
		{reports.CollectedByStage, october, `"escalated" "EUR" 1 "100.00"
"inquired" "EUR" 1 "2000.00"
"promised" "EUR" 3 "900.00"
`},
		// Last message sent before each: I1 the final notice by email (the manager's notice
		// that followed does not count), I2 the reminder email, I8 the invoice email → email
		// 600.00; I3 the inquiry, email then SMS → sms 2000.00; I6 nothing → none 400.00.
		{reports.CollectedByChannel, october, `"email" "EUR" 3 "600.00"
"none" "EUR" 1 "400.00"
"sms" "EUR" 1 "2000.00"
`},
		// Sent in October: I1 escalate email + escalate:management → escalated 2; I3 inquire
		// email + sms → inquired 2; I4 and I9 notify → notified 2; I2's promise reminder while
		// promised → promised 1; I2 remind → reminded 1. I4's skipped remind does not count.
		{reports.MessagesByStage, october, `"escalated" 2
"inquired" 2
"notified" 2
"promised" 1
"reminded" 1
`},
		// One currency: only the JPY invoice.
		{reports.Aging, reports.Params{From: october.From, To: october.To, AsOf: october.AsOf, Currency: "JPY"}, `"customer" "yen" "JPY" "10000" "0" "0" "0" "0" "10000"
"manager" "tom@ar.test" "JPY" "10000" "0" "0" "0" "0" "10000"
"currency" "JPY" "JPY" "10000" "0" "0" "0" "0" "10000"
`},
		// One day only (10-02): the two inquiry messages.
		{reports.MessagesByStage, reports.Params{From: d("2026-10-02"), To: d("2026-10-02"), AsOf: d("2026-10-02")}, "\"inquired\" 2\n"},
	} {
		if got := rows(t, store, c.name, c.p); got != c.want {
			t.Errorf("%s (%s..%s as of %s %s):\n got\n%s\nwant\n%s", c.name, c.p.From.Format(time.DateOnly), c.p.To.Format(time.DateOnly),
				c.p.AsOf.Format(time.DateOnly), c.p.Currency, got, c.want)
		}
	}
}

func TestEveryReportHasADefinition(t *testing.T) {
	store := db.NewStore(dbtest.SQLite(t).DB)
	for _, n := range reports.Names {
		if reports.Definitions[n] == "" {
			t.Errorf("%s has no definition", n)
		}
		// On an empty book every report runs, with rows an empty list or
		// zeros (promises: one row, rate null).
		r, ok, err := reports.Run(context.Background(), store, n, october)
		if !ok || err != nil || r.Rows == nil {
			t.Errorf("%s does not run: %v", n, err)
		}
	}
	if _, ok, _ := reports.Run(context.Background(), store, "nope", october); ok {
		t.Error("an unknown report ran")
	}
}
