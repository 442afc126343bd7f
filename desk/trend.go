// Package desk is the collector's desk: who to call next and why (the
// worklist and its priority rule), what a customer's account looks like
// (aging, credit usage) and how they pay (days to pay and its trend). The
// rules are data and pure functions, unit-tested on crafted histories; the
// API and the activities feed them rows from the database.
package desk

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

// Trend says whether a customer pays later or earlier than they used to.
type Trend string

// The trends.
const (
	TrendImproving    Trend = "improving"    // paying earlier than before
	TrendSteady       Trend = "steady"       // within the threshold of before
	TrendWorsening    Trend = "worsening"    // paying later than before
	TrendInsufficient Trend = "insufficient" // too few paid invoices to tell
)

// TrendRule compares the mean days late of the most recent paid invoices
// with the mean of the ones before them.
type TrendRule struct {
	Recent int // how many of the latest paid invoices form the recent window (3)
	Prior  int // how many before them form the baseline (6)
	// MinPrior is how many baseline invoices are needed at least (3): with
	// fewer there is no "used to" to compare with.
	MinPrior int
	// ThresholdDays is how far the means must move apart (in days) before
	// the trend counts as improving or worsening (5).
	ThresholdDays float64
}

// DefaultTrendRule: the last three invoices against the six before, five days apart.
var DefaultTrendRule = TrendRule{Recent: 3, Prior: 6, MinPrior: 3, ThresholdDays: 5}

// PaidInvoice is one invoice paid in full, with when the money arrived.
type PaidInvoice struct {
	InvoiceID string    `json:"invoice_id"`
	Number    string    `json:"number"`
	IssuedAt  time.Time `json:"issued_at"`
	DueAt     time.Time `json:"due_at"`
	PaidAt    time.Time `json:"paid_at"`
	// DaysToPay is issue to payment; DaysLate is due date to payment
	// (negative when paid early). Both are whole days, rounded.
	DaysToPay int `json:"days_to_pay"`
	DaysLate  int `json:"days_late"`
}

// Behaviour is how a customer pays: each paid invoice, and the trend.
type Behaviour struct {
	Paid               []PaidInvoice `json:"paid"` // oldest payment first
	RecentMeanDaysLate *float64      `json:"recent_mean_days_late"`
	PriorMeanDaysLate  *float64      `json:"prior_mean_days_late"`
	// ChangeDays is recent minus prior: positive means paying later.
	ChangeDays *float64 `json:"change_days"`
	Trend      Trend    `json:"trend"`
}

func days(d time.Duration) int { return int(math.Round(d.Hours() / 24)) }

// Paid returns the paid-in-full moment of an invoice from its payments
// (refunds are negative payments): when the running total last reached the
// amount. Invoices not in the paid stage, or without such a payment, give
// false. An invoice paid by a credit note alone falls back to ClosedAt.
func Paid(inv db.Invoice, payments []db.Payment) (PaidInvoice, bool) {
	if inv.Stage != invoice.StagePaid {
		return PaidInvoice{}, false
	}
	ps := slices.Clone(payments)
	slices.SortStableFunc(ps, func(a, b db.Payment) int {
		return cmp.Or(a.ReceivedAt.Compare(b.ReceivedAt), cmp.Compare(a.ID, b.ID))
	})
	var sum int64
	var at time.Time
	for _, p := range ps {
		before := sum
		sum += p.AmountMinor
		if before < inv.AmountMinor && sum >= inv.AmountMinor {
			at = p.ReceivedAt
		}
	}
	if at.IsZero() {
		if inv.ClosedAt == nil {
			return PaidInvoice{}, false
		}
		at = *inv.ClosedAt
	}
	return PaidInvoice{InvoiceID: inv.ID, Number: inv.Number, IssuedAt: inv.IssuedAt.UTC(), DueAt: inv.DueAt.UTC(),
		PaidAt: at.UTC(), DaysToPay: days(at.Sub(inv.IssuedAt)), DaysLate: days(at.Sub(inv.DueAt))}, true
}

// Analyse orders paid invoices by payment date and classifies the trend of
// days late: the mean of the last rule.Recent against the mean of the
// rule.Prior before them.
func Analyse(paid []PaidInvoice, rule TrendRule) Behaviour {
	ps := slices.Clone(paid)
	slices.SortStableFunc(ps, func(a, b PaidInvoice) int {
		return cmp.Or(a.PaidAt.Compare(b.PaidAt), cmp.Compare(a.InvoiceID, b.InvoiceID))
	})
	b := Behaviour{Paid: ps, Trend: TrendInsufficient}
	if b.Paid == nil {
		b.Paid = []PaidInvoice{}
	}
	if rule.Recent <= 0 || len(ps) < rule.Recent {
		return b
	}
	recent := ps[len(ps)-rule.Recent:]
	prior := ps[max(0, len(ps)-rule.Recent-rule.Prior) : len(ps)-rule.Recent]
	r := mean(recent)
	b.RecentMeanDaysLate = &r
	if len(prior) == 0 || len(prior) < rule.MinPrior {
		return b
	}
	p := mean(prior)
	change := math.Round((r-p)*10) / 10
	b.PriorMeanDaysLate, b.ChangeDays = &p, &change
	switch {
	case change > rule.ThresholdDays:
		b.Trend = TrendWorsening
	case change < -rule.ThresholdDays:
		b.Trend = TrendImproving
	default:
		b.Trend = TrendSteady
	}
	return b
}

func mean(ps []PaidInvoice) float64 {
	var sum float64
	for _, p := range ps {
		sum += float64(p.DaysLate)
	}
	return math.Round(sum/float64(len(ps))*10) / 10
}

// TurnedWorse reports whether paying one more invoice turned a customer's
// trend to worsening: the moment to ask the account manager to reach out.
func TurnedWorse(before, after Behaviour) bool {
	return after.Trend == TrendWorsening && before.Trend != TrendWorsening
}
