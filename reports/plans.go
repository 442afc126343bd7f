package reports

import (
	"context"
	"time"

	"github.com/collections-engine/collections/db"
)

// PlanKept is the payment plans' report (issue 17). It is computed by the
// database from the payment_plans table (db.PaymentPlans.PlanOutcomes),
// not from the loaded Data the other reports read, so it is listed apart
// (SQLNames) and run by RunPlanKept, not Run.
const PlanKept = "plan-kept"

// SQLNames lists the reports the database computes whole.
var SQLNames = []string{PlanKept}

func init() {
	Definitions[PlanKept] = "Payment-plan-kept rate over plans that ended in the period, by currency: completed ÷ (completed + broken) × 100, " +
		"rounded to 0.1 (null with none). A plan is completed when its last instalment was paid, broken when an instalment stayed " +
		"unpaid past the policy's grace; plans declined, cancelled (by a person, a dispute, the agency or the invoice closing otherwise) " +
		"or still pending or active count neither way. kept_amount and broken_amount are the balances those plans covered."
}

// PlanSource is what the plan-kept report reads.
type PlanSource interface {
	PlanOutcomes(ctx context.Context, from, to time.Time, currency string) ([]db.PlanOutcomes, error)
}

// RunPlanKept computes the plan-kept report for the period.
func RunPlanKept(ctx context.Context, src PlanSource, p Params) (Report, error) {
	r := Report{Name: PlanKept, Definition: Definitions[PlanKept], From: p.start().Format(time.DateOnly), To: day(p.To).Format(time.DateOnly),
		AsOf: day(p.AsOf).Format(time.DateOnly), Currency: p.Currency, Rows: []map[string]any{},
		Columns: []string{"currency", "kept", "broken", "kept_rate", "kept_amount", "broken_amount"}}
	rows, err := src.PlanOutcomes(ctx, p.start(), p.end(), p.Currency)
	if err != nil {
		return r, err
	}
	for _, o := range rows {
		var rate any
		if n := o.Kept + o.Broken; n > 0 {
			rate = round1(float64(o.Kept) / float64(n) * 100)
		}
		r.Rows = append(r.Rows, map[string]any{"currency": o.Currency, "kept": o.Kept, "broken": o.Broken, "kept_rate": rate,
			"kept_amount": amount(o.KeptMinor, o.Currency), "broken_amount": amount(o.BrokenMinor, o.Currency)})
	}
	return r, nil
}
