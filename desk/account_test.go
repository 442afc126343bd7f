package desk

import (
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

func TestAgingAndCredit(t *testing.T) {
	closed := daysAgo(2)
	inv := func(number string, balance int64, currency string, overdueDays int) db.Invoice {
		return db.Invoice{ID: number, Number: number, BalanceMinor: balance, AmountMinor: balance, Currency: currency,
			DueAt: daysAgo(overdueDays), Stage: invoice.StageInquired}
	}
	invs := []db.Invoice{
		inv("cur", 100, "EUR", -10), inv("d1", 200, "EUR", 1), inv("d30", 300, "EUR", 30), inv("d31", 400, "EUR", 31),
		inv("d60", 500, "EUR", 60), inv("d75", 600, "EUR", 75), inv("d91", 700, "EUR", 91), inv("usd", 5000, "USD", 200),
		{ID: "paid", Number: "paid", BalanceMinor: 0, AmountMinor: 9999, Currency: "EUR", DueAt: daysAgo(100), Stage: invoice.StagePaid, ClosedAt: &closed},
	}
	got := AgingSplit(invs, now)
	want := []Aging{
		{Currency: "EUR", OpenMinor: 2800, Current: 100, Days1To30: 500, Days31To60: 900, Days61To90: 600, Over90: 700},
		{Currency: "USD", OpenMinor: 5000, Over90: 5000},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("aging %+v, want %+v", got, want)
	}
	limit := int64(2500)
	cust := db.Customer{CreditLimitMinor: &limit, CreditCurrency: "EUR"}
	cr, ok := CreditUsage(cust, invs)
	if !ok || cr.UsedMinor != 2800 || cr.AvailableMinor != -300 || !cr.OverLimit || len(cr.OtherCurrencies) != 1 || cr.OtherCurrencies[0] != "USD" {
		t.Fatalf("credit %+v", cr)
	}
	if _, ok := CreditUsage(db.Customer{}, invs); ok {
		t.Fatal("no limit, no credit view")
	}
	if !OverLimit(cust, "EUR", 2000, 501) || OverLimit(cust, "EUR", 2000, 500) || OverLimit(cust, "USD", 2000, 99999) {
		t.Fatal("over limit: strictly above the limit, in the limit's currency only")
	}
}

func TestPromisesAndDisputes(t *testing.T) {
	d1, d2 := now.AddDate(0, 0, -20), now.AddDate(0, 0, 3)
	resolved := now.AddDate(0, 0, -1)
	inv := db.Invoice{ID: "i", Number: "N-1", Currency: "EUR", Status: &invoice.Status{
		Timeline: []invoice.Event{
			{At: now.AddDate(0, 0, -30), Kind: invoice.EventPromise, AmountMinor: 5000, Until: &d1},
			{At: d1.Add(time.Hour), Kind: invoice.EventPromiseBroken},
			{At: now.AddDate(0, 0, -5), Kind: invoice.EventDisputeOpened},
			{At: resolved, Kind: invoice.EventDisputeResolved, Outcome: "rejected"},
			{At: now.AddDate(0, 0, -1), Kind: invoice.EventPromise, AmountMinor: 7000, Until: &d2},
		},
		Dispute: &invoice.Dispute{Reason: "wrong_amount", OpenedAt: now.AddDate(0, 0, -5), Deadline: now, Resolved: &resolved},
	}}
	ps := Promises([]db.Invoice{inv})
	if len(ps) != 2 || ps[0].Outcome != "open" || ps[0].AmountMinor != 7000 || ps[1].Outcome != "broken" || !ps[1].Date.Equal(d1) {
		t.Fatalf("promises %+v", ps)
	}
	ds := Disputes([]db.Invoice{inv})
	if len(ds) != 1 || ds[0].Resolution != "rejected" || ds[0].Reason != "wrong_amount" {
		t.Fatalf("disputes %+v", ds)
	}
}
