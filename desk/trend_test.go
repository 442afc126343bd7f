package desk

import (
	"fmt"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// history builds paid invoices, one a month, each due 30 days after issue
// and paid the given number of days after its due date.
func history(daysLate ...int) []PaidInvoice {
	var out []PaidInvoice
	for i, d := range daysLate {
		issued := t0.AddDate(0, i, 0)
		due := issued.AddDate(0, 0, 30)
		paid := due.AddDate(0, 0, d)
		out = append(out, PaidInvoice{InvoiceID: fmt.Sprintf("inv-%02d", i), Number: fmt.Sprintf("N-%02d", i),
			IssuedAt: issued, DueAt: due, PaidAt: paid, DaysToPay: 30 + d, DaysLate: d})
	}
	return out
}

func TestTrend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		daysLate []int
		want     Trend
		recent   float64
		prior    float64
	}{
		{"worsening: on time, then later and later", []int{0, 1, -1, 0, 2, 0, 8, 12, 20}, TrendWorsening, 13.3, 0.3},
		{"steady: always a few days late", []int{3, 4, 2, 3, 5, 3, 4, 3, 5}, TrendSteady, 4, 3.3},
		{"steady: later but within the threshold", []int{0, 0, 0, 0, 0, 0, 5, 5, 5}, TrendSteady, 5, 0},
		{"improving: used to be late, now on time", []int{25, 30, 20, 28, 22, 26, 2, 0, -3}, TrendImproving, -0.3, 25.2},
		{"only the six before count", []int{25, 25, 25, 0, 0, 0, 0, 0, 0, 1, 0, 2}, TrendSteady, 1, 0},
		{"three prior are enough", []int{0, 0, 0, 10, 10, 10}, TrendWorsening, 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Analyse(history(tc.daysLate...), DefaultTrendRule)
			if b.Trend != tc.want {
				t.Fatalf("trend %s, want %s (%+v)", b.Trend, tc.want, b)
			}
			if *b.RecentMeanDaysLate != tc.recent || *b.PriorMeanDaysLate != tc.prior {
				t.Fatalf("means recent %v prior %v, want %v %v", *b.RecentMeanDaysLate, *b.PriorMeanDaysLate, tc.recent, tc.prior)
			}
		})
	}
	t.Run("too few to tell", func(t *testing.T) {
		for _, late := range [][]int{nil, {30}, {0, 40}, {0, 0, 0, 30, 30}} {
			b := Analyse(history(late...), DefaultTrendRule)
			if b.Trend != TrendInsufficient || b.PriorMeanDaysLate != nil || b.ChangeDays != nil {
				t.Errorf("%v: %+v, want insufficient without a baseline", late, b)
			}
		}
	})
	t.Run("ordered by payment date, not by input order", func(t *testing.T) {
		h := history(0, 0, 0, 20, 20, 20)
		h[0], h[5] = h[5], h[0]
		if b := Analyse(h, DefaultTrendRule); b.Trend != TrendWorsening || b.Paid[0].InvoiceID != "inv-00" {
			t.Fatalf("%+v", b)
		}
	})
	t.Run("the rule is configurable", func(t *testing.T) {
		rule := TrendRule{Recent: 2, Prior: 2, MinPrior: 2, ThresholdDays: 1}
		if b := Analyse(history(0, 0, 0, 0, 3, 3), rule); b.Trend != TrendWorsening {
			t.Fatalf("%+v", b)
		}
	})
}

func TestTurnedWorse(t *testing.T) {
	late := []int{0, 0, 0, 0, 0, 0, 0, 3, 3}
	before := Analyse(history(late...), DefaultTrendRule)
	after := Analyse(history(append(late, 30)...), DefaultTrendRule)
	if before.Trend != TrendSteady || after.Trend != TrendWorsening || !TurnedWorse(before, after) {
		t.Fatalf("before %s after %s", before.Trend, after.Trend)
	}
	more := Analyse(history(append(late, 30, 40)...), DefaultTrendRule)
	if TurnedWorse(after, more) {
		t.Fatal("staying worse is not a new change")
	}
}

func TestPaidAt(t *testing.T) {
	issued, due := t0, t0.AddDate(0, 0, 30)
	inv := db.Invoice{ID: "i", Number: "N", AmountMinor: 10000, Stage: invoice.StagePaid, IssuedAt: issued, DueAt: due}
	pay := func(id string, amount int64, at time.Time) db.Payment {
		return db.Payment{ID: id, InvoiceID: "i", AmountMinor: amount, ReceivedAt: at}
	}
	// Part paid before the due date, refunded, then paid in full late: the
	// payment that last completed the amount counts.
	ps := []db.Payment{
		pay("p3", 4000, due.AddDate(0, 0, 12)),
		pay("p1", 10000, due.AddDate(0, 0, -2)),
		pay("p2", -4000, due.AddDate(0, 0, 5)),
	}
	p, ok := Paid(inv, ps)
	if !ok || p.DaysLate != 12 || p.DaysToPay != 42 {
		t.Fatalf("%+v %v", p, ok)
	}
	open := inv
	open.Stage = invoice.StagePressing
	if _, ok := Paid(open, ps); ok {
		t.Fatal("an open invoice is not paid")
	}
	closed := due.AddDate(0, 0, 3)
	credited := inv
	credited.ClosedAt = &closed
	if p, ok := Paid(credited, nil); !ok || p.DaysLate != 3 {
		t.Fatalf("paid without payments falls back to closed_at: %+v %v", p, ok)
	}
}
