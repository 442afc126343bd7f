package credit

import (
	"context"
	"time"

	"github.com/collections-engine/collections/db"
)

// History is what InternalScorer reads of a customer (*db.Store has it).
type History interface {
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	CustomerInvoices(ctx context.Context, customerID string) ([]db.Invoice, error)
	CustomerPayments(ctx context.Context, customerID string) ([]db.Payment, error)
}

// InternalScorer scores an application from our own data: the customer's
// payment history, what they owe now, and how long they have been a
// customer.
type InternalScorer struct {
	Store History
	Model Model // zero: DefaultModel
	Clock func() time.Time
}

// Score implements Scorer.
func (s InternalScorer) Score(ctx context.Context, app Application) (Result, error) {
	in, err := s.Inputs(ctx, app)
	if err != nil {
		return Result{}, err
	}
	m := s.Model
	if m.OnTimePoints == 0 && len(m.AgeBands) == 0 {
		m = DefaultModel
	}
	return m.Score(in), nil
}

// Inputs gathers the model's inputs for an application.
//
// An invoice counts as settled when its payments (refunds subtracted)
// reached its amount; it was settled when the payment that got there
// arrived, on time when that was not after its due date, and its days late
// are the whole days between the due date and then. Exposure is the balance
// of the customer's open invoices in the application's currency.
func (s InternalScorer) Inputs(ctx context.Context, app Application) (Inputs, error) {
	now := time.Now().UTC()
	if s.Clock != nil {
		now = s.Clock().UTC()
	}
	in := Inputs{TradeReferences: app.TradeReferences, NewApplicant: app.NewCustomer}
	cust, err := s.Store.GetCustomer(ctx, app.CustomerID)
	if err != nil {
		return in, err
	}
	invoices, err := s.Store.CustomerInvoices(ctx, app.CustomerID)
	if err != nil {
		return in, err
	}
	payments, err := s.Store.CustomerPayments(ctx, app.CustomerID)
	if err != nil {
		return in, err
	}
	byInvoice := map[string][]db.Payment{}
	for _, p := range payments {
		byInvoice[p.InvoiceID] = append(byInvoice[p.InvoiceID], p)
	}
	onTime, daysLate := 0, 0
	for _, inv := range invoices {
		if inv.ClosedAt == nil && inv.BalanceMinor > 0 && inv.Currency == app.Currency {
			in.ExposureMinor += inv.BalanceMinor
		}
		if settled, ok := SettledAt(inv.AmountMinor, byInvoice[inv.ID]); ok {
			in.SettledInvoices++
			if !settled.After(inv.DueAt) {
				onTime++
			} else {
				daysLate += int(settled.Sub(inv.DueAt) / (24 * time.Hour))
			}
		}
	}
	if in.SettledInvoices > 0 {
		in.OnTimePercent = onTime * 100 / in.SettledInvoices
		in.AvgDaysLate = daysLate / in.SettledInvoices
	}
	if app.RequestedLimitMinor > 0 {
		in.ExposurePercent = (in.ExposureMinor*100 + app.RequestedLimitMinor - 1) / app.RequestedLimitMinor
	}
	in.MonthsAsCustomer = MonthsBetween(cust.CreatedAt, now)
	if in.MonthsAsCustomer < 1 {
		in.NewApplicant = true
	}
	return in, nil
}

// SettledAt returns when payments, taken in order, first reached amount.
func SettledAt(amount int64, payments []db.Payment) (time.Time, bool) {
	var paid int64
	for _, p := range payments {
		paid += p.AmountMinor
		if amount > 0 && paid >= amount {
			return p.ReceivedAt, true
		}
	}
	return time.Time{}, false
}

// MonthsBetween is the whole calendar months from a to b (UTC).
func MonthsBetween(a, b time.Time) int {
	a, b = a.UTC(), b.UTC()
	if b.Before(a) {
		return 0
	}
	m := (b.Year()-a.Year())*12 + int(b.Month()-a.Month())
	if b.Day() < a.Day() || (b.Day() == a.Day() && clock(b) < clock(a)) {
		m--
	}
	return max(0, m)
}

func clock(t time.Time) time.Duration {
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
}
