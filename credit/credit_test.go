package credit

import (
	"testing"
	"time"
)

func TestModelScore(t *testing.T) {
	for _, c := range []struct {
		name string
		in   Inputs
		want int
	}{
		// 40×100% + exposure ≤25% 20 + 24+ months 25 + 3 refs 15 = 100.
		{"best", Inputs{SettledInvoices: 10, OnTimePercent: 100, ExposurePercent: 0, MonthsAsCustomer: 30, TradeReferences: 5}, 100},
		// no history 15 + exposure 20 + new 0 + 0 refs = 35.
		{"new applicant", Inputs{NewApplicant: true}, 35},
		// 40×50% = 20, −min(20, 45) = −20, exposure 101% → 0, 12 months 18, 1 ref 5 = 23.
		{"late payer", Inputs{SettledInvoices: 4, OnTimePercent: 50, AvgDaysLate: 45, ExposurePercent: 101, MonthsAsCustomer: 12, TradeReferences: 1}, 23},
		// 40×0% = 0, −20, exposure 0, months 0 (not marked new), 0 refs: −20 clamped to 0.
		{"clamped", Inputs{SettledInvoices: 1, AvgDaysLate: 90, ExposurePercent: 500}, 0},
		// 40×75% = 30, −3, exposure 50% → 15, 6 months 12, 2 refs 10 = 64.
		{"middle", Inputs{SettledInvoices: 4, OnTimePercent: 75, AvgDaysLate: 3, ExposurePercent: 50, MonthsAsCustomer: 6, TradeReferences: 2}, 64},
	} {
		if got := DefaultModel.Score(c.in); got.Score != c.want {
			t.Errorf("%s: score %d, want %d (%q)", c.name, got.Score, c.want, got.Reasons)
		}
	}
}

func TestBoundsDecide(t *testing.T) {
	b := DefaultBounds()
	app := Application{RequestedLimitMinor: 1000000, Currency: "EUR", TermsDays: 60}
	for _, c := range []struct {
		name  string
		score int
		mod   func(*Application)
		want  string
	}{
		{"at the approve threshold, at the limit", 75, nil, Approve},
		{"just below approve", 74, nil, Review},
		{"at the decline threshold", 40, nil, Review},
		{"below decline", 39, nil, Decline},
		{"limit above the currency's bound", 90, func(a *Application) { a.RequestedLimitMinor = 1000001 }, Review},
		{"currency without a bound", 90, func(a *Application) { a.Currency = "CHF" }, Review},
		{"terms too long", 90, func(a *Application) { a.TermsDays = 61 }, Review},
		{"low score declines whatever the limit", 10, func(a *Application) { a.Currency = "CHF" }, Decline},
	} {
		a := app
		if c.mod != nil {
			c.mod(&a)
		}
		if got := b.Decide(c.score, a); got.Kind != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, got.Kind, got.Reason, c.want)
		}
	}
}

func TestBoundsFromEnv(t *testing.T) {
	env := map[string]string{EnvAutoApproveScore: "80", EnvAutoDeclineScore: "30", EnvAutoApproveLimits: "eur:2500.50, JPY:100000",
		EnvAutoApproveTerms: "45", EnvReviewWithin: "24h", EnvReviewer: "credit@ar.test"}
	b, err := BoundsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if b.AutoApproveScore != 80 || b.AutoDeclineScore != 30 || b.AutoApproveMaxTermsDays != 45 || b.ReviewWithin != 24*time.Hour ||
		b.Reviewer != "credit@ar.test" || FormatLimits(b.AutoApproveLimits) != "EUR:2500.50,JPY:100000" {
		t.Errorf("bounds %+v", b)
	}
	for name, v := range map[string]string{EnvAutoApproveScore: "high", EnvAutoApproveLimits: "EUR", EnvReviewWithin: "-1h", EnvAutoDeclineScore: "90"} {
		if _, err := BoundsFromEnv(func(k string) string {
			if k == name {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%q accepted", name, v)
		}
	}
	if _, err := BoundsFromEnv(func(string) string { return "" }); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestMonthsBetween(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		a, b time.Time
		want int
	}{
		{d(2024, 9, 1), d(2026, 11, 2), 26},
		{d(2026, 1, 31), d(2026, 2, 28), 0},
		{d(2026, 1, 31), d(2026, 3, 1), 1},
		{d(2026, 5, 2), d(2026, 5, 1), 0},
	} {
		if got := MonthsBetween(c.a, c.b); got != c.want {
			t.Errorf("%s → %s: %d, want %d", c.a.Format(time.DateOnly), c.b.Format(time.DateOnly), got, c.want)
		}
	}
}
