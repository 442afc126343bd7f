package desk

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func daysAgo(d int) time.Time { return now.AddDate(0, 0, -d) }

type itemOpt func(*Item)

func item(number string, balance int64, currency string, overdueDays int, stage invoice.Stage, opts ...itemOpt) Item {
	it := Item{
		Invoice: db.Invoice{ID: "id-" + number, Number: number, CustomerID: "c-" + number, AmountMinor: balance,
			BalanceMinor: balance, Currency: currency, IssuedAt: daysAgo(overdueDays + 30), DueAt: daysAgo(overdueDays),
			Stage: stage, Status: &invoice.Status{Stage: stage}},
		Customer: db.Customer{ID: "c-" + number, Name: "Customer " + number, AccountManager: "mia"},
		Trend:    TrendSteady, Chase: true,
	}
	for _, o := range opts {
		o(&it)
	}
	return it
}

func brokenOn(at time.Time) itemOpt {
	return func(it *Item) {
		it.Invoice.Status.Timeline = append(it.Invoice.Status.Timeline, invoice.Event{At: at, Kind: invoice.EventPromiseBroken})
	}
}

func withTask(kind string, due time.Time) itemOpt {
	return func(it *Item) {
		it.Tasks = append(it.Tasks, db.Task{ID: "t-" + it.Invoice.Number + "-" + kind, InvoiceID: it.Invoice.ID, Kind: kind,
			Title: kind + " " + it.Invoice.Number, Status: db.TaskOpen, DueAt: due})
	}
}

func trend(tr Trend) itemOpt { return func(it *Item) { it.Trend = tr } }

func TestWorklistOrdering(t *testing.T) {
	paidAt := daysAgo(1)
	promised := now.AddDate(0, 0, 5)
	items := []Item{
		item("A", 420000, "EUR", 46, invoice.StagePressing, brokenOn(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))),
		item("B", 5000000, "EUR", 10, invoice.StageInquired),
		item("C", 50000, "EUR", 120, invoice.StageEscalated),
		item("D", 80000, "EUR", 20, invoice.StagePressing, trend(TrendWorsening)),
		item("E", 900000, "EUR", 30, invoice.StageDisputed, withTask("dispute_review", now.Add(-2*time.Hour))),
		item("F", 0, "EUR", 60, invoice.StagePaid, func(it *Item) { it.Invoice.ClosedAt = &paidAt }),
		item("G", 70000, "EUR", 40, invoice.StagePromised, func(it *Item) {
			it.Invoice.Status.Promise = &invoice.Promise{AmountMinor: 70000, Date: promised}
		}),
		item("H", 990000, "EUR", -3, invoice.StageReminded),
		item("I", 990000, "EUR", 70, invoice.StagePaused),
		item("J-2", 100000, "EUR", 5, invoice.StageInquired),
		item("J-1", 100000, "EUR", 5, invoice.StageInquired),
		item("L", 10000, "EUR", 35, invoice.StagePressing),
		item("M", 10000, "EUR", 3, invoice.StageInquired, withTask("payment_trend", now.Add(3*time.Hour))),
		item("N", 5000000, "EUR", 50, invoice.StageAgency),
	}
	want := []struct {
		number string
		score  float64
		action string
	}{
		{"C", 184, ActionDecideEscalation}, // 54.0 + 120 days + 10 escalated
		{"A", 138.5, ActionCall},           // 72.5 + 46 days + 15 broken promise + 5 pressing
		{"B", 104, ActionCall},             // 94.0 (ten times A's debt) + 10 days
		{"D", 98.1, ActionCall},            // 58.1 + 20 days + 15 worsening trend + 5 pressing
		{"L", 80.1, ActionSendFinalNotice}, // 40.1 + 35 days + 5 pressing
		{"J-1", 65, ActionCall},            // tied with J-2: the number decides
		{"J-2", 65, ActionCall},            //
		{"M", 53.1, ActionReachOut},        // 40.1 + 3 days + 10 for a task due today
		{"E", 25, ActionReviewDispute},     // disputed: there for its overdue task only
		// F paid, G promised for later, H not yet due, I paused, N with the agency: not listed.
	}
	for _, order := range [][]Item{items, reversed(items)} {
		rows := Worklist(order, now, DefaultWeights)
		var got []string
		for _, r := range rows {
			got = append(got, r.Number)
		}
		var wantNumbers []string
		for _, w := range want {
			wantNumbers = append(wantNumbers, w.number)
		}
		if !slices.Equal(got, wantNumbers) {
			t.Fatalf("order %v, want %v", got, wantNumbers)
		}
		for i, w := range want {
			if rows[i].Score != w.score || rows[i].Action != w.action {
				t.Errorf("%s: score %v action %s (%v), want %v %s", w.number, rows[i].Score, rows[i].Action, rows[i].Parts, w.score, w.action)
			}
		}
	}
	rows := Worklist(items, now, DefaultWeights)
	a := rows[slices.IndexFunc(rows, func(r Row) bool { return r.Number == "A" })]
	if a.Reason != "EUR 4,200.00 is 46 days overdue; promise broken on 2026-11-02" || a.BrokenPromises != 1 || a.DaysOverdue != 46 {
		t.Errorf("A: reason %q, %d broken, %d days", a.Reason, a.BrokenPromises, a.DaysOverdue)
	}
	e := rows[len(rows)-1]
	if e.Chase || e.OverdueMinor != 0 || e.NextTaskDue == nil || !strings.Contains(e.Reason, `task "dispute_review E" overdue since`) {
		t.Errorf("E: %+v", e)
	}
}

func reversed(items []Item) []Item {
	out := slices.Clone(items)
	slices.Reverse(out)
	return out
}

func TestExcluded(t *testing.T) {
	for _, tc := range []struct {
		it   Item
		want string
	}{
		{item("x", 100, "EUR", 5, invoice.StageInquired), ""},
		{item("x", 100, "EUR", 0, invoice.StageReminded), "not yet due"},
		{item("x", 100, "EUR", 5, invoice.StageDisputed), "disputed: waiting for the decision"},
		{item("x", 100, "EUR", 5, invoice.StagePaused), "paused"},
		{item("x", 100, "EUR", 5, invoice.StageAgency), "with the agency"},
		{item("x", 100, "EUR", 5, invoice.StageCancelled), "closed"},
		{item("x", 0, "EUR", 5, invoice.StagePressing), "nothing owed"},
		// A promise whose date has passed (the workflow has not yet marked it broken) is chased.
		{item("x", 100, "EUR", 5, invoice.StagePromised, func(it *Item) {
			it.Invoice.Status.Promise = &invoice.Promise{Date: now.Add(-time.Hour)}
		}), ""},
		// On a payment plan: left alone while it is kept, chased once an
		// instalment is missed.
		{item("x", 100, "EUR", 5, invoice.StageOnPlan, func(it *Item) {
			it.Invoice.Status.Plan = &invoice.Plan{State: invoice.PlanActive, Instalments: []invoice.Instalment{{State: invoice.InstalmentPaid}, {State: invoice.InstalmentUpcoming}}}
		}), "on a payment plan"},
		{item("x", 100, "EUR", 5, invoice.StageOnPlan, func(it *Item) {
			it.Invoice.Status.Plan = &invoice.Plan{State: invoice.PlanActive, Instalments: []invoice.Instalment{{State: invoice.InstalmentMissed}, {State: invoice.InstalmentUpcoming}}}
		}), ""},
	} {
		if got := Excluded(tc.it.Invoice, now); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.it.Invoice.Stage, got, tc.want)
		}
	}
}

func TestScoreAcrossCurrencies(t *testing.T) {
	// JPY has no minor unit: JPY 10,000 and EUR 10,000 weigh the same at
	// face value (no exchange rates are applied).
	jpy := Score(item("Y", 10000, "JPY", 1, invoice.StageInquired), now, DefaultWeights)
	eur := Score(item("E", 1000000, "EUR", 1, invoice.StageInquired), now, DefaultWeights)
	if jpy.Score != 81 || eur.Score != 81 || !strings.HasPrefix(jpy.Reason, "JPY 10,000 is 1 days overdue") {
		t.Fatalf("JPY %v %q, EUR %v", jpy.Score, jpy.Reason, eur.Score)
	}
	// Equal scores: currency decides, so the order never depends on input order.
	rows := Worklist([]Item{item("Y", 10000, "JPY", 1, invoice.StageInquired), item("E", 1000000, "EUR", 1, invoice.StageInquired)}, now, DefaultWeights)
	if rows[0].Currency != "EUR" || rows[1].Currency != "JPY" {
		t.Fatalf("%s then %s", rows[0].Currency, rows[1].Currency)
	}
}

// A paid invoice leaves the worklist with its leftover tasks: nobody calls
// a customer who already paid. An open, not-yet-due invoice with a task stays.
func TestPaidInvoicesLeaveTheWorklistTasksAndAll(t *testing.T) {
	paid := item("P", 0, "EUR", 10, invoice.StagePaid, withTask("management_contact", now.Add(-time.Hour)))
	paid.Invoice.ClosedAt = &now
	waiting := item("W", 500, "EUR", 0, invoice.StageReminded, withTask("call", now.Add(time.Hour)))
	rows := Worklist([]Item{paid, waiting}, now, DefaultWeights)
	if len(rows) != 1 || rows[0].Number != "W" || rows[0].Chase {
		t.Fatalf("rows %+v, want only W's task", rows)
	}
}
