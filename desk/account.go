package desk

import (
	"cmp"
	"slices"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

// Aging is the open balance of one currency split by days past due:
// current (not yet due), 1–30, 31–60, 61–90 and over 90 days.
type Aging struct {
	Currency   string `json:"currency"`
	OpenMinor  int64  `json:"open_minor"`
	Current    int64  `json:"current"`
	Days1To30  int64  `json:"days_1_30"`
	Days31To60 int64  `json:"days_31_60"`
	Days61To90 int64  `json:"days_61_90"`
	Over90     int64  `json:"days_over_90"`
}

// AgingSplit splits the balances of open invoices per currency (sorted by
// currency code); currencies are never added together.
func AgingSplit(invs []db.Invoice, now time.Time) []Aging {
	by := map[string]*Aging{}
	var codes []string
	for _, inv := range invs {
		if inv.ClosedAt != nil || inv.Stage.Closed() {
			continue
		}
		a := by[inv.Currency]
		if a == nil {
			a = &Aging{Currency: inv.Currency}
			by[inv.Currency] = a
			codes = append(codes, inv.Currency)
		}
		a.OpenMinor += inv.BalanceMinor
		switch d := DaysOverdue(inv.DueAt, now); {
		case d == 0 && !inv.DueAt.Before(now):
			a.Current += inv.BalanceMinor
		case d <= 30:
			a.Days1To30 += inv.BalanceMinor
		case d <= 60:
			a.Days31To60 += inv.BalanceMinor
		case d <= 90:
			a.Days61To90 += inv.BalanceMinor
		default:
			a.Over90 += inv.BalanceMinor
		}
	}
	slices.Sort(codes)
	out := make([]Aging, 0, len(codes))
	for _, c := range codes {
		out = append(out, *by[c])
	}
	return out
}

// Credit is a customer's credit limit and how much of it open invoices use.
type Credit struct {
	LimitMinor     int64  `json:"limit_minor"`
	Currency       string `json:"currency"`
	UsedMinor      int64  `json:"used_minor"`      // open balance in the limit's currency
	AvailableMinor int64  `json:"available_minor"` // limit less used; negative when over
	OverLimit      bool   `json:"over_limit"`
	// OtherCurrencies lists currencies with open balances the limit does
	// not cover (they are not converted).
	OtherCurrencies []string `json:"other_currencies"`
}

// CreditUsage is the customer's credit position; false when no limit is set.
func CreditUsage(c db.Customer, invs []db.Invoice) (Credit, bool) {
	if c.CreditLimitMinor == nil {
		return Credit{}, false
	}
	cr := Credit{LimitMinor: *c.CreditLimitMinor, Currency: c.CreditCurrency, OtherCurrencies: []string{}}
	for _, inv := range invs {
		if inv.ClosedAt != nil || inv.Stage.Closed() {
			continue
		}
		if inv.Currency == c.CreditCurrency {
			cr.UsedMinor += inv.BalanceMinor
		} else if !slices.Contains(cr.OtherCurrencies, inv.Currency) {
			cr.OtherCurrencies = append(cr.OtherCurrencies, inv.Currency)
		}
	}
	slices.Sort(cr.OtherCurrencies)
	cr.AvailableMinor = cr.LimitMinor - cr.UsedMinor
	cr.OverLimit = cr.UsedMinor > cr.LimitMinor
	return cr, true
}

// OverLimit reports whether adding an invoice of amount in currency to an
// open balance (in the limit's currency) exceeds the customer's limit. An
// invoice in another currency than the limit's is never flagged.
func OverLimit(c db.Customer, currency string, openMinor, amountMinor int64) bool {
	return c.CreditLimitMinor != nil && currency == c.CreditCurrency && openMinor+amountMinor > *c.CreditLimitMinor
}

// BehaviourOf is a customer's payment behaviour from their invoices and
// those invoices' payments (keyed by invoice id).
func BehaviourOf(invs []db.Invoice, payments map[string][]db.Payment, rule TrendRule) Behaviour {
	var paid []PaidInvoice
	for _, inv := range invs {
		if p, ok := Paid(inv, payments[inv.ID]); ok {
			paid = append(paid, p)
		}
	}
	return Analyse(paid, rule)
}

// sortedByDue orders invoices by due date, then number.
func sortedByDue(invs []db.Invoice) []db.Invoice {
	out := slices.Clone(invs)
	slices.SortFunc(out, func(a, b db.Invoice) int { return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.Number, b.Number)) })
	return out
}

// OpenInvoices returns the open invoices, oldest due date first.
func OpenInvoices(invs []db.Invoice) []db.Invoice {
	var open []db.Invoice
	for _, inv := range invs {
		if inv.ClosedAt == nil && !inv.Stage.Closed() {
			open = append(open, inv)
		}
	}
	return sortedByDue(open)
}

// PromiseRecord is one promise to pay, from an invoice's saved timeline.
type PromiseRecord struct {
	InvoiceID   string    `json:"invoice_id"`
	Number      string    `json:"number"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	Date        time.Time `json:"date"`    // the promised date
	MadeAt      time.Time `json:"made_at"` // when it was recorded
	Outcome     string    `json:"outcome"` // open, kept or broken
}

// DisputeRecord is an invoice's latest dispute, from its saved status.
type DisputeRecord struct {
	InvoiceID  string     `json:"invoice_id"`
	Number     string     `json:"number"`
	Reason     string     `json:"reason"`
	Note       string     `json:"note"`
	OpenedAt   time.Time  `json:"opened_at"`
	Deadline   time.Time  `json:"deadline"`
	Overdue    bool       `json:"overdue"`
	ResolvedAt *time.Time `json:"resolved_at"`
	Resolution string     `json:"resolution"` // e.g. upheld, rejected, adjusted; empty while open
}

// Promises lists every promise of the invoices, newest first, each with
// what became of it.
func Promises(invs []db.Invoice) []PromiseRecord {
	out := []PromiseRecord{}
	for _, inv := range invs {
		if inv.Status == nil {
			continue
		}
		open := -1
		for _, e := range inv.Status.Timeline {
			switch e.Kind {
			case invoice.EventPromise:
				p := PromiseRecord{InvoiceID: inv.ID, Number: inv.Number, AmountMinor: e.AmountMinor, Currency: inv.Currency,
					MadeAt: e.At.UTC(), Outcome: "open"}
				if e.Until != nil {
					p.Date = e.Until.UTC()
				}
				out = append(out, p)
				open = len(out) - 1
			case invoice.EventPromiseKept, invoice.EventPromiseBroken:
				if open >= 0 {
					out[open].Outcome = map[string]string{invoice.EventPromiseKept: "kept", invoice.EventPromiseBroken: "broken"}[e.Kind]
					open = -1
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b PromiseRecord) int {
		return cmp.Or(b.MadeAt.Compare(a.MadeAt), cmp.Compare(a.Number, b.Number))
	})
	return out
}

// Disputes lists the invoices' latest disputes, newest first.
func Disputes(invs []db.Invoice) []DisputeRecord {
	out := []DisputeRecord{}
	for _, inv := range invs {
		if inv.Status == nil || inv.Status.Dispute == nil {
			continue
		}
		d := inv.Status.Dispute
		r := DisputeRecord{InvoiceID: inv.ID, Number: inv.Number, Reason: d.Reason, Note: d.Note, OpenedAt: d.OpenedAt.UTC(),
			Deadline: d.Deadline.UTC(), Overdue: d.Overdue, ResolvedAt: d.Resolved}
		if d.Resolved != nil {
			for _, e := range inv.Status.Timeline {
				if e.Kind == invoice.EventDisputeResolved {
					r.Resolution = e.Outcome
				}
			}
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b DisputeRecord) int {
		return cmp.Or(b.OpenedAt.Compare(a.OpenedAt), cmp.Compare(a.Number, b.Number))
	})
	return out
}
