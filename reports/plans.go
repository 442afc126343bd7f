package reports

// PlanKept is the payment plans' report, counted from the payment_plans
// table the SaveStatus activity keeps (db.PaymentPlans.PlanOutcomes).
const PlanKept = "plan-kept"

const planKeptDefinition = "Payment-plan-kept rate over plans that ended in the period, by currency: completed ÷ (completed + broken) × 100, " +
	"rounded to 0.1 (null with none). A plan is completed when its last instalment was paid, broken when an instalment stayed " +
	"unpaid past the policy's grace; plans declined, cancelled (by a person, a dispute, the agency or the invoice closing otherwise) " +
	"or still pending or active count neither way. kept_amount and broken_amount are the balances those plans covered."

// planKept counts the plans that ended in the period, by currency.
func (q query) planKept() ([]string, []map[string]any, error) {
	cols := []string{"currency", "kept", "broken", "kept_rate", "kept_amount", "broken_amount"}
	rows, err := q.src.PlanOutcomes(q.ctx, q.p.start(), q.p.end(), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	out := []map[string]any{}
	for _, o := range rows {
		var rate any
		if n := o.Kept + o.Broken; n > 0 {
			rate = round1(float64(o.Kept) / float64(n) * 100)
		}
		out = append(out, map[string]any{"currency": o.Currency, "kept": o.Kept, "broken": o.Broken, "kept_rate": rate,
			"kept_amount": amount(o.KeptMinor, o.Currency), "broken_amount": amount(o.BrokenMinor, o.Currency)})
	}
	return cols, out, nil
}
